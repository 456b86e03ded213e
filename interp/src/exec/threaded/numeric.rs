//! Handlers for the numeric operators that reach the executor as the generic
//! `Op::Unary` and `Op::Binary`: one handler per operator, chosen when the
//! function is threaded, so that running one costs no `match` on the operator.
//!
//! Each handler evaluates [`num::unary`] or [`num::binary`] with its operator
//! as a constant; both are inlined, so each handler compiles to that one
//! operator's arm, with the same semantics as every other caller of `num`. A
//! trapping operator (division by zero, an invalid conversion) exits, and the
//! slow path raises the trap.

use std::hint::unreachable_unchecked;

use kiln_parser::NumOp;

use super::{ACC_A, ACC_B, ACC_NONE, Ctx, EXIT, Handler, Threaded};
use crate::bytecode::Op;
use crate::num;

/// Expands each listed unary `NumOp` name into a handler of that name for
/// `Op::Unary { op: NumOp::Name, .. }`, plus the `unary_handler` lookup.
macro_rules! unary_handlers {
    ($($name:ident)*) => {
        $(handler! {
            #[allow(non_snake_case)]
            fn $name<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::Unary { dst, src, .. });
                match num::unary(NumOp::$name, int_operand!(FROM_ACC, iacc, regs, src)) {
                    Ok(v) => {
                        reg!(regs, dst) = v;
                        iacc = v;
                    }
                    Err(_) => exit!(ip),
                }
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        })*

        /// The handler of unary operator `op`, if it has its own, taking its
        /// operand from the integer accumulator if `from_acc`; it leaves its
        /// result there (see `thread`).
        pub(super) fn unary_handler(op: NumOp, from_acc: bool) -> Option<Handler> {
            match op {
                $(NumOp::$name => Some(pick_from_acc!($name; from_acc)),)*
                _ => None,
            }
        }
    };
}

/// Expands each listed binary `NumOp` name into a handler of that name for
/// `Op::Binary { op: NumOp::Name, .. }`, plus the `binary_handler` lookup.
macro_rules! binary_handlers {
    ($($name:ident)*) => {
        $(handler! {
            #[allow(non_snake_case)]
            fn $name<const ACC: u8>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::Binary { dst, a, b, .. });
                let a = int_operand!(ACC == ACC_A, iacc, regs, a);
                let b = int_operand!(ACC == ACC_B, iacc, regs, b);
                match num::binary(NumOp::$name, a, b) {
                    Ok(v) => {
                        reg!(regs, dst) = v;
                        iacc = v;
                    }
                    Err(_) => exit!(ip),
                }
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        })*

        /// The handler of binary operator `op`, if it has its own, taking
        /// operand `which` (an `ACC_*`) from the integer accumulator; it
        /// leaves its result there (see `thread`).
        pub(super) fn binary_handler(op: NumOp, which: u8) -> Option<Handler> {
            match op {
                $(NumOp::$name => Some(pick_operand!($name, which)),)*
                _ => None,
            }
        }
    };
}

/// Expands each listed unary `NumOp` name, an operator from `f64` to `f64`,
/// into a handler `Name::<FROM_ACC>` for `Op::Unary { op: NumOp::Name, .. }`
/// that also leaves its result in the accumulator, taking its operand from it
/// if `FROM_ACC` (see `thread`); plus the `f64_unary_handler` lookup.
macro_rules! f64_unary_handlers {
    ($($name:ident)*) => {
        $(handler! {
            #[allow(non_snake_case)]
            fn $name<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::Unary { dst, src, .. });
                let x = f64_operand!(FROM_ACC, acc, regs, src);
                match num::unary(NumOp::$name, x.to_bits()) {
                    Ok(v) => {
                        reg!(regs, dst) = v;
                        acc = f64::from_bits(v);
                    }
                    Err(_) => exit!(ip),
                }
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        })*

        /// The handler of unary operator `op`, if it is one from `f64` to `f64`,
        /// with its operand from the accumulator if `from_acc`.
        pub(super) fn f64_unary_handler(op: NumOp, from_acc: bool) -> Option<Handler> {
            match (op, from_acc) {
                $(
                    (NumOp::$name, false) => Some($name::<false>),
                    (NumOp::$name, true) => Some($name::<true>),
                )*
                _ => None,
            }
        }
    };
}

f64_unary_handlers! {
    F64Abs F64Neg F64Ceil F64Floor F64Trunc F64Nearest F64Sqrt
}

unary_handlers! {
    I32Eqz I64Eqz I32Clz I32Ctz I32Popcnt I64Clz I64Ctz I64Popcnt
    F32Abs F32Neg F32Ceil F32Floor F32Trunc F32Nearest F32Sqrt
    I32WrapI64 I32TruncF32S I32TruncF32U I32TruncF64S I32TruncF64U
    I64ExtendI32S I64ExtendI32U I64TruncF32S I64TruncF32U I64TruncF64S I64TruncF64U
    F32ConvertI32S F32ConvertI32U F32ConvertI64S F32ConvertI64U F32DemoteF64
    F64ConvertI32S F64ConvertI32U F64ConvertI64S F64ConvertI64U F64PromoteF32
    I32ReinterpretF32 I64ReinterpretF64 F32ReinterpretI32 F64ReinterpretI64
    I32Extend8S I32Extend16S I64Extend8S I64Extend16S I64Extend32S
    I32TruncSatF32S I32TruncSatF32U I32TruncSatF64S I32TruncSatF64U
    I64TruncSatF32S I64TruncSatF32U I64TruncSatF64S I64TruncSatF64U
}

// The binary operators without an `Op` of their own (see `bytecode.rs`).
binary_handlers! {
    F32Eq F32Ne F32Lt F32Gt F32Le F32Ge F64Eq F64Ne F64Lt F64Gt F64Le F64Ge
    I32DivS I32DivU I32RemS I32RemU I32Rotl I32Rotr
    I64DivS I64DivU I64RemS I64RemU I64Rotl I64Rotr
    F32Min F32Max F32Copysign F64Min F64Max F64Copysign
}
