//! Loads, stores and the bounds checks of memory accesses.

use kiln_parser::{LaneWidth, LoadOp, StoreOp};
use kiln_runtime::TrapCode;

/// The bytes `[ea, ea + N)` of `mem`, or `out of bounds memory access`.
#[inline(always)]
fn bytes<const N: usize>(mem: &[u8], ea: u64) -> Result<[u8; N], TrapCode> {
    let start = usize::try_from(ea).map_err(|_| TrapCode::MemoryOutOfBounds)?;
    let end = start.checked_add(N).ok_or(TrapCode::MemoryOutOfBounds)?;
    match mem.get(start..end) {
        Some(b) => {
            let mut out = [0; N];
            out.copy_from_slice(b);
            Ok(out)
        }
        None => Err(TrapCode::MemoryOutOfBounds),
    }
}

#[inline(always)]
fn put<const N: usize>(mem: &mut [u8], ea: u64, val: [u8; N]) -> Result<(), TrapCode> {
    let start = usize::try_from(ea).map_err(|_| TrapCode::MemoryOutOfBounds)?;
    let end = start.checked_add(N).ok_or(TrapCode::MemoryOutOfBounds)?;
    match mem.get_mut(start..end) {
        Some(b) => {
            b.copy_from_slice(&val);
            Ok(())
        }
        None => Err(TrapCode::MemoryOutOfBounds),
    }
}

/// The one list of the scalar loads: for each handler the fast path has,
/// the load kinds it serves, how many bytes they read, which accumulator the
/// fast path leaves the value in (`int` or `float`, see `exec::threaded`), and
/// the slot they give from the little-endian bytes `b`. `for_each_load!(m)`
/// expands to `m! { rows }`: [`load`] here and the fast path's load handlers
/// (`exec/threaded/memory.rs`) are both generated from it.
macro_rules! for_each_load {
    ($m:ident) => {
        $m! {
            load32: I32Load | F32Load => 4 into int as |b| u64::from(u32::from_le_bytes(b));
            load64: I64Load => 8 into int as |b| u64::from_le_bytes(b);
            loadf64: F64Load => 8 into float as |b| u64::from_le_bytes(b);
            load8s32: I32Load8S => 1 into int as |b| u64::from(i8::from_le_bytes(b) as i32 as u32);
            load8u: I32Load8U | I64Load8U => 1 into int as |b| u64::from(b[0]);
            load16s32: I32Load16S => 2 into int as |b| u64::from(i16::from_le_bytes(b) as i32 as u32);
            load16u: I32Load16U | I64Load16U => 2 into int as |b| u64::from(u16::from_le_bytes(b));
            load8s64: I64Load8S => 1 into int as |b| i8::from_le_bytes(b) as i64 as u64;
            load16s64: I64Load16S => 2 into int as |b| i16::from_le_bytes(b) as i64 as u64;
            load32s64: I64Load32S => 4 into int as |b| i32::from_le_bytes(b) as i64 as u64;
            load32u64: I64Load32U => 4 into int as |b| u64::from(u32::from_le_bytes(b));
        }
    };
}

/// The one list of the scalar stores: for each handler, the store kinds it
/// serves, how many bytes they write, and those bytes from the slot `v`;
/// generating [`store`] here and the fast path's store handlers.
macro_rules! for_each_store {
    ($m:ident) => {
        $m! {
            store32: I32Store | F32Store | I64Store32 => 4 as |v| (v as u32).to_le_bytes();
            store64: I64Store | F64Store => 8 as |v| v.to_le_bytes();
            store8: I32Store8 | I64Store8 => 1 as |v| [v as u8];
            store16: I32Store16 | I64Store16 => 2 as |v| (v as u16).to_le_bytes();
        }
    };
}

/// Expands the rows of [`for_each_load!`] into [`load`].
macro_rules! define_load {
    ($($name:ident: $($kind:ident)|+ => $n:literal into $into:ident as |$b:ident| $value:expr;)*) => {
        /// Loads a value of `kind` at effective address `ea`: a `v128`, or a
        /// scalar as a slot (zero-extended).
        #[inline(always)]
        pub(crate) fn load(kind: LoadOp, mem: &[u8], ea: u64) -> Result<u128, TrapCode> {
            let widen = |raw: u64| crate::num::simd::widen_load(kind, raw);
            Ok(match kind {
                $($(LoadOp::$kind)|+ => {
                    let $b: [u8; $n] = bytes(mem, ea)?;
                    u128::from($value)
                })*
                LoadOp::V128Load => u128::from_le_bytes(bytes(mem, ea)?),
                // The widening, splatting and zero-filling loads read
                // `1 << max_align()` bytes (the parser's table says how many).
                LoadOp::V128Load8x8S
                | LoadOp::V128Load8x8U
                | LoadOp::V128Load16x4S
                | LoadOp::V128Load16x4U
                | LoadOp::V128Load32x2S
                | LoadOp::V128Load32x2U
                | LoadOp::V128Load8Splat
                | LoadOp::V128Load16Splat
                | LoadOp::V128Load32Splat
                | LoadOp::V128Load64Splat
                | LoadOp::V128Load32Zero
                | LoadOp::V128Load64Zero => widen(match kind.max_align() {
                    0 => u64::from(u8::from_le_bytes(bytes(mem, ea)?)),
                    1 => u64::from(u16::from_le_bytes(bytes(mem, ea)?)),
                    2 => u64::from(u32::from_le_bytes(bytes(mem, ea)?)),
                    _ => u64::from_le_bytes(bytes(mem, ea)?),
                }),
            })
        }
    };
}

for_each_load!(define_load);

/// Expands the rows of [`for_each_store!`] into [`store`].
macro_rules! define_store {
    ($($name:ident: $($kind:ident)|+ => $n:literal as |$v:ident| $bytes:expr;)*) => {
        /// Stores `val` (a `v128`, or a scalar slot in the low bits) as `kind`
        /// at effective address `ea`.
        #[inline(always)]
        pub(crate) fn store(
            kind: StoreOp,
            mem: &mut [u8],
            ea: u64,
            val: u128,
        ) -> Result<(), TrapCode> {
            match kind {
                $($(StoreOp::$kind)|+ => {
                    let $v = val as u64;
                    let bytes: [u8; $n] = $bytes;
                    put(mem, ea, bytes)
                })*
                StoreOp::V128Store => put(mem, ea, val.to_le_bytes()),
            }
        }
    };
}

for_each_store!(define_store);

/// The `N`-byte lane at `ea`, zero-extended.
#[inline(always)]
pub(crate) fn load_lane(width: LaneWidth, mem: &[u8], ea: u64) -> Result<u64, TrapCode> {
    Ok(match width {
        LaneWidth::B8 => u64::from(u8::from_le_bytes(bytes(mem, ea)?)),
        LaneWidth::B16 => u64::from(u16::from_le_bytes(bytes(mem, ea)?)),
        LaneWidth::B32 => u64::from(u32::from_le_bytes(bytes(mem, ea)?)),
        LaneWidth::B64 => u64::from_le_bytes(bytes(mem, ea)?),
    })
}

/// Stores the low bytes of `val` as a lane of `width` at `ea`.
#[inline(always)]
pub(crate) fn store_lane(
    width: LaneWidth,
    mem: &mut [u8],
    ea: u64,
    val: u64,
) -> Result<(), TrapCode> {
    match width {
        LaneWidth::B8 => put(mem, ea, (val as u8).to_le_bytes()),
        LaneWidth::B16 => put(mem, ea, (val as u16).to_le_bytes()),
        LaneWidth::B32 => put(mem, ea, (val as u32).to_le_bytes()),
        LaneWidth::B64 => put(mem, ea, val.to_le_bytes()),
    }
}
