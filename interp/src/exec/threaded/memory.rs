//! Handlers for loads and stores of memory 0 (32-bit memories only: the
//! executor passes a length of 0 for a 64-bit memory, which sends every access
//! to the slow path, as does any access out of bounds, which the slow path
//! then reports as the trap).
//!
//! Each kind of access has three handlers, one per address mode: for
//! `Op::Load`/`Op::Store`, at `addr + offset` (without wrapping, as the spec
//! computes it); for `Op::LoadWrapped`/`Op::StoreWrapped`, at
//! `(addr + imm) mod 2^32`, the `i32.add` of a constant that fed an access
//! with offset 0; for `Op::LoadScaled`/`Op::StoreScaled`, at
//! `(base + (index << shift)) mod 2^32`, an `I32AddShl` that fed one, with
//! one more handler for each of the common shifts 1, 2 and 3.

use std::hint::unreachable_unchecked;

use kiln_parser::{LoadOp, StoreOp};

use super::{Ctx, EXIT, Handler, Threaded};
use crate::bytecode::{Op, sem};

/// Address mode of `Op::Load`/`Op::Store`: `addr + offset`, without wrapping.
pub(super) const OFFSET: u8 = 0;
/// Address mode of `Op::LoadWrapped`/`Op::StoreWrapped`: `(addr + imm) mod 2^32`.
pub(super) const WRAPPED: u8 = 1;
/// Address mode of `Op::LoadScaled`/`Op::StoreScaled`:
/// `(base + (index << shift)) mod 2^32`.
pub(super) const SCALED: u8 = 2;
/// The same with `shift` 1, 2 or 3 (arrays of 2-, 4- and 8-byte elements),
/// fixed in the handler: a shift by a constant is one instruction, a shift by
/// a register three on x86-64.
const SCALED_1: u8 = 3;
const SCALED_2: u8 = 4;
const SCALED_3: u8 = 5;

/// The address mode of a scaled access by `shift`.
pub(super) fn scaled_mode(shift: u8) -> u8 {
    match shift {
        1 => SCALED_1,
        2 => SCALED_2,
        3 => SCALED_3,
        _ => SCALED,
    }
}

/// Where a store takes its value from: its register...
pub(super) const FROM_NONE: u8 = 0;
/// ...the integer accumulator...
pub(super) const FROM_INT: u8 = 1;
/// ...or the float accumulator (see `thread`).
pub(super) const FROM_FLOAT: u8 = 2;

/// The address `(base + (index << shift)) mod 2^32` of a scaled access.
#[inline(always)]
fn scaled(base: u64, index: u64, shift: u8) -> u64 {
    sem::i32_add_shl(base, index, shift)
}

/// Reads `N` bytes at `at`.
///
/// With debug assertions on, the standard library checks the copy's
/// preconditions in a call that takes the address of the handler's local copy,
/// and a handler whose locals' addresses escape cannot jump to the next one
/// (its frame must outlive the call). Such builds keep the copy out of line so
/// that the handler has no such local; optimised builds inline it.
///
/// # Safety
///
/// `[at, at + N)` is readable.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
unsafe fn read_bytes<const N: usize>(at: *const u8) -> [u8; N] {
    // SAFETY: the caller's guarantee.
    unsafe { at.cast::<[u8; N]>().read_unaligned() }
}

/// Writes `bytes` at `at` (out of line with debug assertions, as [`read_bytes`]).
///
/// # Safety
///
/// `[at, at + N)` is writable.
#[cfg_attr(debug_assertions, inline(never))]
#[cfg_attr(not(debug_assertions), inline(always))]
unsafe fn write_bytes<const N: usize>(at: *mut u8, bytes: [u8; N]) {
    // SAFETY: the caller's guarantee.
    unsafe { at.cast::<[u8; N]>().write_unaligned(bytes) }
}

/// Leaves a loaded value in the accumulator a load row names (see `thread`).
macro_rules! load_into {
    (int, $value:expr, $iacc:ident, $acc:ident) => {
        $iacc = $value
    };
    (float, $value:expr, $iacc:ident, $acc:ident) => {
        $acc = f64::from_bits($value)
    };
}

/// Expands each `handler: OpKind => N bytes into ACC as |bytes| value` row
/// into a load handler that reads N bytes of memory 0 and writes `value` to
/// `dst` and to accumulator `ACC` (`int` or `float`), plus the `load_handler`
/// lookup from a load kind to its handler.
macro_rules! load_handlers {
    ($($name:ident: $($kind:ident)|+ => $n:literal into $into:ident as |$b:ident| $value:expr;)*) => {
        $(handler! {
            fn $name<const MODE: u8, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
                let (dst, ea) = match MODE {
                    WRAPPED => {
                        operands!(ip, Op::LoadWrapped { dst, addr, imm, .. });
                        let addr = int_operand!(FROM_ACC, iacc, regs, addr);
                        (dst, sem::i32_add_imm(addr, imm))
                    }
                    SCALED => {
                        operands!(ip, Op::LoadScaled { dst, base, index, shift, .. });
                        let index = int_operand!(FROM_ACC, iacc, regs, index);
                        (dst, scaled(reg!(regs, base), index, shift))
                    }
                    SCALED_1 | SCALED_2 | SCALED_3 => {
                        operands!(ip, Op::LoadScaled { dst, base, index, .. });
                        let index = int_operand!(FROM_ACC, iacc, regs, index);
                        (dst, scaled(reg!(regs, base), index, MODE - SCALED_1 + 1))
                    }
                    _ => {
                        operands!(ip, Op::Load { dst, addr, offset, .. });
                        let addr = int_operand!(FROM_ACC, iacc, regs, addr);
                        (dst, u64::from(addr as u32) + u64::from(offset))
                    }
                };
                if ea + $n > len as u64 {
                    exit!(ip);
                }
                // SAFETY: `[ea, ea + N)` is inside memory 0's `len` accessible bytes.
                let $b: [u8; $n] = unsafe { read_bytes(mem.add(ea as usize)) };
                let value = $value;
                reg!(regs, dst) = value;
                load_into!($into, value, iacc, acc);
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        })*

        /// The handler of a load of `kind` in address mode `mode`, taking its
        /// address (`Op::LoadScaled`: its index) from the integer accumulator
        /// if `from_acc`. It leaves the value in the float accumulator for an
        /// `f64.load`, else in the integer one (see `thread`).
        pub(super) fn load_handler(kind: LoadOp, mode: u8, from_acc: bool) -> Option<Handler> {
            match (kind, mode) {
                $(
                    ($(LoadOp::$kind)|+, OFFSET) => Some(pick_from_acc!($name, OFFSET; from_acc)),
                    ($(LoadOp::$kind)|+, WRAPPED) => Some(pick_from_acc!($name, WRAPPED; from_acc)),
                    ($(LoadOp::$kind)|+, SCALED) => Some(pick_from_acc!($name, SCALED; from_acc)),
                    ($(LoadOp::$kind)|+, SCALED_1) => Some(pick_from_acc!($name, SCALED_1; from_acc)),
                    ($(LoadOp::$kind)|+, SCALED_2) => Some(pick_from_acc!($name, SCALED_2; from_acc)),
                    ($(LoadOp::$kind)|+, SCALED_3) => Some(pick_from_acc!($name, SCALED_3; from_acc)),
                )*
                _ => None,
            }
        }
    };
}

for_each_load!(load_handlers);

/// Expands each `handler: OpKind => N bytes as |v| bytes` row into a store
/// handler that writes `bytes` (N of them, from the value `v`) to memory 0,
/// plus the `store_handler` lookup.
macro_rules! store_handlers {
    ($($name:ident: $($kind:ident)|+ => $n:literal as |$v:ident| $bytes:expr;)*) => {
        $(handler! {
            fn $name<const MODE: u8, const FROM: u8>(ip, regs, mem, len, ctx, iacc, acc) {
                let (val, ea) = match MODE {
                    WRAPPED => {
                        operands!(ip, Op::StoreWrapped { addr, val, imm, .. });
                        (val, sem::i32_add_imm(reg!(regs, addr), imm))
                    }
                    SCALED => {
                        operands!(ip, Op::StoreScaled { base, index, val, shift, .. });
                        (val, scaled(reg!(regs, base), reg!(regs, index), shift))
                    }
                    SCALED_1 | SCALED_2 | SCALED_3 => {
                        operands!(ip, Op::StoreScaled { base, index, val, .. });
                        (val, scaled(reg!(regs, base), reg!(regs, index), MODE - SCALED_1 + 1))
                    }
                    _ => {
                        operands!(ip, Op::Store { addr, val, offset, .. });
                        (val, u64::from(reg!(regs, addr) as u32) + u64::from(offset))
                    }
                };
                if ea + $n > len as u64 {
                    exit!(ip);
                }
                let $v = if cfg!(kiln_tail_dispatch) && FROM == FROM_FLOAT {
                    acc.to_bits()
                } else {
                    int_operand!(FROM == FROM_INT, iacc, regs, val)
                };
                let bytes: [u8; $n] = $bytes;
                // SAFETY: `[ea, ea + N)` is inside memory 0's `len` accessible bytes.
                unsafe { write_bytes(mem.add(ea as usize), bytes) };
                advance!(ip, regs, mem, len, ctx, iacc, acc)
            }
        })*

        /// The handler of a store of `kind` in address mode `mode`, taking the
        /// value from the accumulator `from` says (see `thread`).
        pub(super) fn store_handler(kind: StoreOp, mode: u8, from: u8) -> Option<Handler> {
            /// The instance of `$name` for mode `$m` and the runtime `from`.
            macro_rules! with_from {
                ($f:ident, $m:expr) => {
                    match from {
                        FROM_INT => $f::<$m, FROM_INT>,
                        FROM_FLOAT => $f::<$m, FROM_FLOAT>,
                        _ => $f::<$m, FROM_NONE>,
                    }
                };
            }
            match (kind, mode) {
                $(
                    ($(StoreOp::$kind)|+, OFFSET) => Some(with_from!($name, OFFSET)),
                    ($(StoreOp::$kind)|+, WRAPPED) => Some(with_from!($name, WRAPPED)),
                    ($(StoreOp::$kind)|+, SCALED) => Some(with_from!($name, SCALED)),
                    ($(StoreOp::$kind)|+, SCALED_1) => Some(with_from!($name, SCALED_1)),
                    ($(StoreOp::$kind)|+, SCALED_2) => Some(with_from!($name, SCALED_2)),
                    ($(StoreOp::$kind)|+, SCALED_3) => Some(with_from!($name, SCALED_3)),
                )*
                _ => None,
            }
        }
    };
}

for_each_store!(store_handlers);
