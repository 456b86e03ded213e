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

/// Loads a value of `kind` at effective address `ea`: a `v128`, or a scalar
/// as a slot (zero-extended).
#[inline(always)]
pub(crate) fn load(kind: LoadOp, mem: &[u8], ea: u64) -> Result<u128, TrapCode> {
    let widen = |raw: u64| crate::num::simd::widen_load(kind, raw);
    Ok(u128::from(match kind {
        LoadOp::I32Load | LoadOp::F32Load => u64::from(u32::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::I64Load | LoadOp::F64Load => u64::from_le_bytes(bytes(mem, ea)?),
        LoadOp::I32Load8S => u64::from(i8::from_le_bytes(bytes(mem, ea)?) as i32 as u32),
        LoadOp::I32Load8U => u64::from(u8::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::I32Load16S => u64::from(i16::from_le_bytes(bytes(mem, ea)?) as i32 as u32),
        LoadOp::I32Load16U => u64::from(u16::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::I64Load8S => i8::from_le_bytes(bytes(mem, ea)?) as i64 as u64,
        LoadOp::I64Load8U => u64::from(u8::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::I64Load16S => i16::from_le_bytes(bytes(mem, ea)?) as i64 as u64,
        LoadOp::I64Load16U => u64::from(u16::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::I64Load32S => i32::from_le_bytes(bytes(mem, ea)?) as i64 as u64,
        LoadOp::I64Load32U => u64::from(u32::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::V128Load => return Ok(u128::from_le_bytes(bytes(mem, ea)?)),
        LoadOp::V128Load8x8S
        | LoadOp::V128Load8x8U
        | LoadOp::V128Load16x4S
        | LoadOp::V128Load16x4U
        | LoadOp::V128Load32x2S
        | LoadOp::V128Load32x2U
        | LoadOp::V128Load64Splat
        | LoadOp::V128Load64Zero => return Ok(widen(u64::from_le_bytes(bytes(mem, ea)?))),
        LoadOp::V128Load8Splat => return Ok(widen(u64::from(u8::from_le_bytes(bytes(mem, ea)?)))),
        LoadOp::V128Load16Splat => {
            return Ok(widen(u64::from(u16::from_le_bytes(bytes(mem, ea)?))));
        }
        LoadOp::V128Load32Splat | LoadOp::V128Load32Zero => {
            return Ok(widen(u64::from(u32::from_le_bytes(bytes(mem, ea)?))));
        }
    }))
}

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

/// Stores `val` (a `v128`, or a scalar slot in the low bits) as `kind` at
/// effective address `ea`.
#[inline(always)]
pub(crate) fn store(kind: StoreOp, mem: &mut [u8], ea: u64, val: u128) -> Result<(), TrapCode> {
    let (wide, val) = (val, val as u64);
    match kind {
        StoreOp::I32Store | StoreOp::F32Store => put(mem, ea, (val as u32).to_le_bytes()),
        StoreOp::I64Store | StoreOp::F64Store => put(mem, ea, val.to_le_bytes()),
        StoreOp::I32Store8 | StoreOp::I64Store8 => put(mem, ea, (val as u8).to_le_bytes()),
        StoreOp::I32Store16 | StoreOp::I64Store16 => put(mem, ea, (val as u16).to_le_bytes()),
        StoreOp::I64Store32 => put(mem, ea, (val as u32).to_le_bytes()),
        StoreOp::V128Store => put(mem, ea, wide.to_le_bytes()),
    }
}
