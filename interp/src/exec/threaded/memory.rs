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

use kiln_parser::{LaneWidth, LoadOp, StoreOp, ValType};

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

/// The destination register and effective address of the load at `$ip`, in
/// address mode `$mode` (its address or index from the integer accumulator
/// if `$from_acc`).
macro_rules! load_address {
    ($mode:expr, $from_acc:expr, $ip:ident, $regs:ident, $iacc:ident) => {
        match $mode {
            WRAPPED => {
                operands!($ip, Op::LoadWrapped { dst, addr, imm, .. });
                let addr = int_operand!($from_acc, $iacc, $regs, addr);
                (dst, sem::i32_add_imm(addr, imm))
            }
            SCALED => {
                operands!(
                    $ip,
                    Op::LoadScaled {
                        dst,
                        base,
                        index,
                        shift,
                        ..
                    }
                );
                let index = int_operand!($from_acc, $iacc, $regs, index);
                (dst, scaled(reg!($regs, base), index, shift))
            }
            SCALED_1 | SCALED_2 | SCALED_3 => {
                operands!(
                    $ip,
                    Op::LoadScaled {
                        dst,
                        base,
                        index,
                        ..
                    }
                );
                let index = int_operand!($from_acc, $iacc, $regs, index);
                (dst, scaled(reg!($regs, base), index, $mode - SCALED_1 + 1))
            }
            _ => {
                operands!(
                    $ip,
                    Op::Load {
                        dst,
                        addr,
                        offset,
                        ..
                    }
                );
                let addr = int_operand!($from_acc, $iacc, $regs, addr);
                (dst, u64::from(addr as u32) + u64::from(offset))
            }
        }
    };
}

/// The value register and effective address of the store at `$ip`, in
/// address mode `$mode`.
macro_rules! store_address {
    ($mode:expr, $ip:ident, $regs:ident) => {
        match $mode {
            WRAPPED => {
                operands!($ip, Op::StoreWrapped { addr, val, imm, .. });
                (val, sem::i32_add_imm(reg!($regs, addr), imm))
            }
            SCALED => {
                operands!(
                    $ip,
                    Op::StoreScaled {
                        base,
                        index,
                        val,
                        shift,
                        ..
                    }
                );
                (val, scaled(reg!($regs, base), reg!($regs, index), shift))
            }
            SCALED_1 | SCALED_2 | SCALED_3 => {
                operands!(
                    $ip,
                    Op::StoreScaled {
                        base,
                        index,
                        val,
                        ..
                    }
                );
                (
                    val,
                    scaled(reg!($regs, base), reg!($regs, index), $mode - SCALED_1 + 1),
                )
            }
            _ => {
                operands!(
                    $ip,
                    Op::Store {
                        addr,
                        val,
                        offset,
                        ..
                    }
                );
                (val, u64::from(reg!($regs, addr) as u32) + u64::from(offset))
            }
        }
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
                let (dst, ea) = load_address!(MODE, FROM_ACC, ip, regs, iacc);
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
                let (val, ea) = store_address!(MODE, ip, regs);
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

/// The high half of register `$r` (see `frames::half`), as a place.
macro_rules! high {
    ($regs:ident, $ctx:ident, $r:expr) => {
        // SAFETY: `ctx` is valid for the run, and the value stack holds the high
        // half of each register `stack_len` slots above it (`frames::half`);
        // registers are below the frame size (`crate::verify`).
        *unsafe { &mut *$regs.add((*$ctx).stack_len + $r as usize) }
    };
}

handler! {
    /// `v128.load` of memory 0, both halves to `dst`.
    fn load_v128<const MODE: u8, const FROM_ACC: bool>(ip, regs, mem, len, ctx, iacc, acc) {
        let (dst, ea) = load_address!(MODE, FROM_ACC, ip, regs, iacc);
        if ea + 16 > len as u64 {
            exit!(ip);
        }
        // SAFETY: `[ea, ea + 16)` is inside memory 0's `len` accessible bytes.
        let (lo, hi): ([u8; 8], [u8; 8]) = unsafe {
            let at = mem.add(ea as usize);
            (read_bytes(at), read_bytes(at.add(8)))
        };
        reg!(regs, dst) = u64::from_le_bytes(lo);
        high!(regs, ctx, dst) = u64::from_le_bytes(hi);
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// A widening, splatting or zero-extending vector load of memory 0 that
    /// reads `N` bytes (`v128.load64_splat`, `v128.load8x8_s`, ...); the lane
    /// work is out of line, like the vector operators'.
    fn load_v128_widen<const MODE: u8, const FROM_ACC: bool, const N: usize>(ip, regs, mem, len, ctx, iacc, acc) {
        let (dst, ea) = load_address!(MODE, FROM_ACC, ip, regs, iacc);
        if ea + N as u64 > len as u64 {
            exit!(ip);
        }
        // SAFETY: `ip` points to a live op.
        let kind = match unsafe { *ip }.op {
            Op::Load { kind, .. } | Op::LoadWrapped { kind, .. } | Op::LoadScaled { kind, .. } => kind,
            // SAFETY: installed only for loads (`load_handler`).
            _ => unsafe { unreachable_unchecked() },
        };
        // SAFETY: `[ea, ea + N)` is inside memory 0's `len` accessible bytes.
        let raw = unsafe { read_raw::<N>(mem.add(ea as usize)) };
        let v = widen(kind, raw);
        reg!(regs, dst) = v as u64;
        high!(regs, ctx, dst) = (v >> 64) as u64;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// `v128.store` to memory 0.
    fn store_v128<const MODE: u8>(ip, regs, mem, len, ctx, iacc, acc) {
        let (val, ea) = store_address!(MODE, ip, regs);
        if ea + 16 > len as u64 {
            exit!(ip);
        }
        let (lo, hi) = (reg!(regs, val), high!(regs, ctx, val));
        // SAFETY: `[ea, ea + 16)` is inside memory 0's `len` accessible bytes.
        unsafe {
            let at = mem.add(ea as usize);
            write_bytes(at, lo.to_le_bytes());
            write_bytes(at.add(8), hi.to_le_bytes());
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

/// The effective address of a lane access with memarg side-table entry
/// `$memarg` at register `$addr`, or an exit if it is not an access to memory
/// 0 the fast path can make (`len` is 0 for a 64-bit memory 0).
macro_rules! lane_address {
    ($ip:ident, $ctx:ident, $regs:ident, $addr:expr, $memarg:expr, $n:expr, $len:ident) => {{
        // SAFETY: `ctx.frame` is the running frame, whose function holds the
        // memarg (`crate::verify`).
        let (m, offset) = unsafe { (*$ctx).frame.func() }.memargs[$memarg as usize];
        let ea = u64::from(reg!($regs, $addr) as u32).wrapping_add(offset);
        if m != 0 || offset > u64::from(u32::MAX) || ea + $n > $len as u64 {
            exit!($ip);
        }
        ea
    }};
}

handler! {
    /// `v128.loadN_lane` on memory 0.
    fn load_lane(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::LoadLane { width, lane, dst, addr, memarg });
        let ea = lane_address!(ip, ctx, regs, addr, memarg, 1u64 << width.max_align(), len);
        // SAFETY: `[ea, ea + width)` is inside memory 0's `len` accessible bytes.
        let raw = unsafe {
            let at = mem.add(ea as usize);
            match width {
                LaneWidth::B8 => read_raw::<1>(at),
                LaneWidth::B16 => read_raw::<2>(at),
                LaneWidth::B32 => read_raw::<4>(at),
                LaneWidth::B64 => read_raw::<8>(at),
            }
        };
        let v = u128::from(reg!(regs, dst + 1)) | u128::from(high!(regs, ctx, dst + 1)) << 64;
        let v = crate::num::simd::load_lane(width, lane, v, raw);
        reg!(regs, dst) = v as u64;
        high!(regs, ctx, dst) = (v >> 64) as u64;
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

handler! {
    /// `v128.storeN_lane` on memory 0.
    fn store_lane(ip, regs, mem, len, ctx, iacc, acc) {
        operands!(ip, Op::StoreLane { width, lane, addr, v, memarg });
        let ea = lane_address!(ip, ctx, regs, addr, memarg, 1u64 << width.max_align(), len);
        let v = u128::from(reg!(regs, v)) | u128::from(high!(regs, ctx, v)) << 64;
        let bits = crate::num::simd::store_lane(width, lane, v);
        // SAFETY: `[ea, ea + width)` is inside memory 0's `len` accessible bytes.
        unsafe {
            let at = mem.add(ea as usize);
            match width {
                LaneWidth::B8 => *at = bits as u8,
                LaneWidth::B16 => write_bytes(at, (bits as u16).to_le_bytes()),
                LaneWidth::B32 => write_bytes(at, (bits as u32).to_le_bytes()),
                LaneWidth::B64 => write_bytes(at, bits.to_le_bytes()),
            }
        }
        advance!(ip, regs, mem, len, ctx, iacc, acc)
    }
}

/// The handler of a lane load or store.
pub(super) fn lane_handler(op: &Op) -> Handler {
    match op {
        Op::LoadLane { .. } => load_lane,
        _ => store_lane,
    }
}

/// The `N` (1, 2, 4 or 8) little-endian bytes at `at`, zero-extended.
///
/// # Safety
///
/// `[at, at + N)` is readable.
#[inline(always)]
unsafe fn read_raw<const N: usize>(at: *const u8) -> u64 {
    // SAFETY: the caller's guarantee, for each width.
    unsafe {
        match N {
            1 => u64::from(*at),
            2 => u64::from(u16::from_le_bytes(read_bytes(at))),
            4 => u64::from(u32::from_le_bytes(read_bytes(at))),
            _ => u64::from_le_bytes(read_bytes(at)),
        }
    }
}

/// The lane work of a widening load, out of line (see `threaded/vector.rs`).
#[inline(never)]
fn widen(kind: LoadOp, raw: u64) -> u128 {
    crate::num::simd::widen_load(kind, raw)
}

/// The handler of vector load `kind` in address mode `mode`.
pub(super) fn load_v128_handler(kind: LoadOp, mode: u8, from_acc: bool) -> Option<Handler> {
    /// The instance of `$f` (with the const parameters `$c`) for `mode` and `from_acc`.
    macro_rules! modes {
        ($f:ident $(, $c:expr)*) => {
            match (mode, from_acc) {
                (OFFSET, false) => $f::<OFFSET, false $(, $c)*>,
                (OFFSET, true) => $f::<OFFSET, true $(, $c)*>,
                (WRAPPED, false) => $f::<WRAPPED, false $(, $c)*>,
                (WRAPPED, true) => $f::<WRAPPED, true $(, $c)*>,
                (SCALED, false) => $f::<SCALED, false $(, $c)*>,
                (SCALED, true) => $f::<SCALED, true $(, $c)*>,
                (SCALED_1, false) => $f::<SCALED_1, false $(, $c)*>,
                (SCALED_1, true) => $f::<SCALED_1, true $(, $c)*>,
                (SCALED_2, false) => $f::<SCALED_2, false $(, $c)*>,
                (SCALED_2, true) => $f::<SCALED_2, true $(, $c)*>,
                (SCALED_3, false) => $f::<SCALED_3, false $(, $c)*>,
                (SCALED_3, true) => $f::<SCALED_3, true $(, $c)*>,
                _ => return None,
            }
        };
    }
    if kind.val_type() != ValType::V128 {
        return None;
    }
    // The other vector loads read `1 << max_align()` bytes.
    Some(match (kind, kind.max_align()) {
        (LoadOp::V128Load, _) => modes!(load_v128),
        (_, 0) => modes!(load_v128_widen, 1),
        (_, 1) => modes!(load_v128_widen, 2),
        (_, 2) => modes!(load_v128_widen, 4),
        _ => modes!(load_v128_widen, 8),
    })
}

/// The handler of `v128.store` in address mode `mode`.
pub(super) fn store_v128_handler(mode: u8) -> Handler {
    match mode {
        WRAPPED => store_v128::<WRAPPED>,
        SCALED => store_v128::<SCALED>,
        SCALED_1 => store_v128::<SCALED_1>,
        SCALED_2 => store_v128::<SCALED_2>,
        SCALED_3 => store_v128::<SCALED_3>,
        _ => store_v128::<OFFSET>,
    }
}
