//! Handlers for the vector ops: the same semantics as the slow path's
//! (`exec/slow/vector.rs`, both through [`num::simd`]), on the fast path so
//! that a loop of vector code does not leave it at every op. Lane loads and
//! stores, and `v128` globals, stay on the slow path.
//!
//! A register's high half is `ctx.stack_len` slots above its low half
//! (`frames::half`); the vector handlers read that distance from the context.
//!
//! The handlers call the lane semantics through the `#[inline(never)]`
//! wrappers at the end of this file. Inlined, those functions keep lane arrays
//! on the handler's own stack frame, and a frame whose locals' addresses
//! escape cannot end in a jump to the next handler: every vector op would
//! then leave a native frame behind (see the fast path's module
//! documentation), and deep recursion through vector code would overflow the
//! native stack.

use std::hint::unreachable_unchecked;

use kiln_parser::NumOp;

use super::{Ctx, Handler, Threaded};
use crate::bytecode::{Op, sem};
use crate::num::simd::{self, FloatLanes};

/// The high half of register `$r`, as a place.
macro_rules! hi {
    ($regs:ident, $ctx:ident, $r:expr) => {
        // SAFETY: `ctx` is valid for the run, and the value stack holds the high
        // half of each register `stack_len` slots above it (`frames::half`);
        // registers are below the frame size (`crate::verify`).
        *unsafe { &mut *$regs.add((*$ctx).stack_len + $r as usize) }
    };
}

/// Register `$r` as a `v128`.
macro_rules! wide {
    ($regs:ident, $ctx:ident, $r:expr) => {{
        let r = $r;
        u128::from(reg!($regs, r)) | u128::from(hi!($regs, $ctx, r)) << 64
    }};
}

/// Sets register `$r` to the `v128` `$v`.
macro_rules! set_wide {
    ($regs:ident, $ctx:ident, $r:expr, $v:expr) => {{
        let (r, v): (_, u128) = ($r, $v);
        reg!($regs, r) = v as u64;
        hi!($regs, $ctx, r) = (v >> 64) as u64;
    }};
}

handler! {
    fn copy_hi(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CopyHi { dst, src });
        hi!(regs, ctx, dst) = hi!(regs, ctx, src);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// A `Copy` of both halves, leaving the low one in the integer accumulator
    /// like `copy`.
    pub(super) fn copy_wide<const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CopyWide { dst, src });
        iacc = int_operand!(FROM_ACC, iacc, regs, src);
        reg!(regs, dst) = iacc;
        hi!(regs, ctx, dst) = hi!(regs, ctx, src);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn select_hi(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::SelectHi { a, b, cond });
        let (x, y) = (hi!(regs, ctx, a), hi!(regs, ctx, b));
        hi!(regs, ctx, a) = sem::select(reg!(regs, cond), x, y);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn v128_const(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::V128Const { dst, idx });
        // SAFETY: `ctx.frame` is the running frame, whose function holds the
        // constant (`crate::verify`).
        let v = unsafe { (*ctx).frame.func() }.vconsts[idx as usize];
        set_wide!(regs, ctx, dst, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn vunary(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::VUnary { op, dst, src });
        set_wide!(regs, ctx, dst, lanes::unary(op, wide!(regs, ctx, src)));
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn vbinary(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::VBinary { op, dst, a, b });
        let v = lanes::binary(op, wide!(regs, ctx, a), wide!(regs, ctx, b));
        set_wide!(regs, ctx, dst, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn vternary(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::VTernary { op, dst, a, b });
        let c = wide!(regs, ctx, dst + 2);
        let v = lanes::ternary(op, wide!(regs, ctx, a), wide!(regs, ctx, b), c);
        set_wide!(regs, ctx, dst, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn shuffle(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::Shuffle { dst, a, idx });
        // SAFETY: as in `v128_const`.
        let indices = unsafe { (*ctx).frame.func() }.vconsts[idx as usize];
        let v = lanes::shuffle(indices, wide!(regs, ctx, a), wide!(regs, ctx, dst + 1));
        set_wide!(regs, ctx, dst, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn extract_lane(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::ExtractLane { shape, lane, dst, src });
        reg!(regs, dst) = simd::extract_lane(shape, lane, wide!(regs, ctx, src));
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn replace_lane(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::ReplaceLane { shape, lane, dst, v, x });
        let v = simd::replace_lane(shape, lane, wide!(regs, ctx, v), reg!(regs, x));
        set_wide!(regs, ctx, dst, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn canon_f32x4(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CanonF32x4 { reg });
        let v = lanes::canonicalize(FloatLanes::F32x4, wide!(regs, ctx, reg));
        set_wide!(regs, ctx, reg, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    fn canon_f64x2(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::CanonF64x2 { reg });
        let v = lanes::canonicalize(FloatLanes::F64x2, wide!(regs, ctx, reg));
        set_wide!(regs, ctx, reg, v);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

/// The handler of vector op `op`, if the fast path runs it.
pub(super) fn vector_handler(op: &Op) -> Option<Handler> {
    Some(match *op {
        Op::CopyHi { .. } => copy_hi,
        Op::SelectHi { .. } => select_hi,
        Op::V128Const { .. } => v128_const,
        Op::VUnary { op, .. } => operator_handler(op).unwrap_or(vunary),
        Op::VBinary { op, .. } => inline_handler(op)
            .or_else(|| operator_handler(op))
            .unwrap_or(vbinary),
        Op::VTernary { op, .. } => operator_handler(op).unwrap_or(vternary),
        Op::Shuffle { .. } => shuffle,
        Op::ExtractLane { .. } => extract_lane,
        Op::ReplaceLane { .. } => replace_lane,
        Op::CanonF32x4 { .. } => canon_f32x4,
        Op::CanonF64x2 { .. } => canon_f64x2,
        _ => return None,
    })
}

/// Expands the rows of the parser's operator table (`for_each_num_op!`) into
/// one handler per vector operator, named after it, which runs
/// `Op::VUnary`/`VBinary`/`VTernary` of that operator through its own
/// out-of-line lane function in `per_op` (so no handler matches on the
/// operator at run time), plus the `operator_handler` lookup. Rows of scalar
/// operators expand to nothing ([`operator_handler!`]).
macro_rules! operator_handlers {
    ($($name:ident : [$($p:ident),*] -> $r:ident;)*) => {
        $(operator_handler!($name [$($p)*] $r);)*

        /// The handler of vector operator `op`; `None` for a scalar one.
        fn operator_handler(op: NumOp) -> Option<Handler> {
            match op {
                $(NumOp::$name => operator_handler!(@lookup $name [$($p)*] $r),)*
            }
        }

        /// Each vector operator's lane function with the operator fixed, out of
        /// line (see the module documentation).
        #[allow(non_snake_case)]
        mod per_op {
            use kiln_parser::NumOp;

            use crate::num::simd;

            $(operator_handler!(@lanes $name [$($p)*] $r);)*
        }
    };
}

/// One row of [`operator_handlers!`], by the operator's signature: a handler
/// (or, with `@lookup`, the expression naming it; with `@lanes`, its lane
/// function) for a vector operator with one, two or three operands, and
/// nothing (`None`) for a scalar operator.
macro_rules! operator_handler {
    ($name:ident [V128] $r:ident) => { operator_handler!(@unary $name); };
    ($name:ident [$p:ident] V128) => { operator_handler!(@unary $name); };
    ($name:ident [V128 $q:ident] V128) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::VBinary { dst, a, b, .. });
                let v = per_op::$name(wide!(regs, ctx, a), wide!(regs, ctx, b));
                set_wide!(regs, ctx, dst, v);
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    ($name:ident [V128 V128 V128] V128) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::VTernary { dst, a, b, .. });
                let c = wide!(regs, ctx, dst + 2);
                let v = per_op::$name(wide!(regs, ctx, a), wide!(regs, ctx, b), c);
                set_wide!(regs, ctx, dst, v);
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    ($name:ident [$($p:ident)*] $r:ident) => {};
    (@unary $name:ident) => {
        handler! {
            #[allow(non_snake_case)]
            fn $name(ip, regs, mem, len, ctx, iacc, acc) {
                operands!(ip, Op::VUnary { dst, src, .. });
                set_wide!(regs, ctx, dst, per_op::$name(wide!(regs, ctx, src)));
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        }
    };
    (@lookup $name:ident [V128] $r:ident) => { Some($name as Handler) };
    (@lookup $name:ident [$p:ident] V128) => { Some($name as Handler) };
    (@lookup $name:ident [V128 $q:ident] V128) => { Some($name as Handler) };
    (@lookup $name:ident [V128 V128 V128] V128) => { Some($name as Handler) };
    (@lookup $name:ident [$($p:ident)*] $r:ident) => { None };
    (@lanes $name:ident [V128] $r:ident) => {
        #[inline(never)]
        pub(super) fn $name(a: u128) -> u128 {
            simd::unary(NumOp::$name, a)
        }
    };
    (@lanes $name:ident [$p:ident] V128) => {
        #[inline(never)]
        pub(super) fn $name(a: u128) -> u128 {
            simd::unary(NumOp::$name, a)
        }
    };
    (@lanes $name:ident [V128 $q:ident] V128) => {
        #[inline(never)]
        pub(super) fn $name(a: u128, b: u128) -> u128 {
            simd::binary(NumOp::$name, a, b)
        }
    };
    (@lanes $name:ident [V128 V128 V128] V128) => {
        #[inline(never)]
        pub(super) fn $name(a: u128, b: u128, c: u128) -> u128 {
            simd::ternary(NumOp::$name, a, b, c)
        }
    };
    (@lanes $name:ident [$($p:ident)*] $r:ident) => {};
}

kiln_parser::for_each_num_op!(operator_handlers);

/// Expands to a module `inline` with one handler per listed two-operand
/// vector operator that computes it in the handler itself
/// (`num::simd::binary` with the operator fixed, inlined), plus the
/// `inline_handler` lookup.
///
/// Only operators whose lane work compiles to a few instructions on
/// registers are listed: their handlers then need no stack frame and still
/// jump to the next op (the tier suite's `common_vector_ops_keep_the_native_stack_flat`
/// runs each in a loop and checks it). Calling the out-of-line lane function
/// costs such a handler more than the work does: the call makes it save and
/// restore every callee-saved register.
macro_rules! inline_handlers {
    ($($name:ident)*) => {
        #[allow(non_snake_case)]
        mod inline {
            use std::hint::unreachable_unchecked;

            use kiln_parser::NumOp;

            use super::super::{Ctx, Threaded};
            use crate::bytecode::Op;
            use crate::num::simd;

            $(handler! {
                pub(super) fn $name(ip, regs, mem, len, ctx, iacc, acc) {
                    operands!(ip, Op::VBinary { dst, a, b, .. });
                    let v = simd::binary(NumOp::$name, wide!(regs, ctx, a), wide!(regs, ctx, b));
                    set_wide!(regs, ctx, dst, v);
                    advance!(ip, regs, mem, len, ctx, iacc, acc)
                }
            })*
        }

        /// The handler of `op` that computes it inline, if it has one.
        fn inline_handler(op: NumOp) -> Option<Handler> {
            Some(match op {
                $(NumOp::$name => inline::$name,)*
                _ => return None,
            })
        }
    };
}

inline_handlers! {
    V128And V128AndNot V128Or V128Xor
    I8x16Add I8x16Sub I16x8Add I16x8Sub I16x8Mul
    I32x4Add I32x4Sub I32x4Mul I64x2Add I64x2Sub
    F32x4Add F32x4Sub F32x4Mul F32x4Div
    F64x2Add F64x2Sub F64x2Mul F64x2Div
}

/// The lane semantics, kept out of the handlers (see the module documentation).
mod lanes {
    use kiln_parser::NumOp;

    use crate::num::simd::{self, FloatLanes};

    #[inline(never)]
    pub(super) fn unary(op: NumOp, a: u128) -> u128 {
        simd::unary(op, a)
    }

    #[inline(never)]
    pub(super) fn binary(op: NumOp, a: u128, b: u128) -> u128 {
        simd::binary(op, a, b)
    }

    #[inline(never)]
    pub(super) fn ternary(op: NumOp, a: u128, b: u128, c: u128) -> u128 {
        simd::ternary(op, a, b, c)
    }

    #[inline(never)]
    pub(super) fn shuffle(lanes: u128, a: u128, b: u128) -> u128 {
        simd::shuffle(&lanes.to_le_bytes(), a, b)
    }

    #[inline(never)]
    pub(super) fn canonicalize(lanes: FloatLanes, v: u128) -> u128 {
        simd::canonicalize(lanes, v)
    }
}
