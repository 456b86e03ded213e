//! Operators that move lanes rather than compute on them: `splat`,
//! `shuffle`, `swizzle`, `extract_lane`/`replace_lane`, `bitmask`,
//! `any_true`/`all_true`, `bitselect`, and the lane-moving parts of the
//! memory operators (widening and splatting loads, lane loads and stores).
//!
//! Lane indices are validated before they reach here; they are masked to the
//! lane count anyway, so that an index can never be out of range.

use kiln_parser::{LaneShape, LaneWidth, LoadOp};

use super::int::{self, Half};
use super::repr::{Lane, ones, splat, split};

/// `i8x16.shuffle`: lane `i` of the result is byte `lanes[i]` of the 32
/// bytes of `a` then `b`.
#[inline]
pub(crate) fn shuffle(lanes: &[u8; 16], a: u128, b: u128) -> u128 {
    let (x, y) = (a.to_le_bytes(), b.to_le_bytes());
    let out = lanes.map(|l| {
        let i = usize::from(l & 15);
        if l & 16 == 0 { x[i] } else { y[i] }
    });
    u128::from_le_bytes(out)
}

/// `i8x16.swizzle` (and the deterministic `relaxed_swizzle`): byte `b[i]` of
/// `a`, or 0 where that index is 16 or more.
#[inline]
pub(crate) fn swizzle(a: u128, b: u128) -> u128 {
    let x = a.to_le_bytes();
    let out = b.to_le_bytes().map(|j| {
        let byte = x[usize::from(j & 15)];
        if j < 16 { byte } else { 0 }
    });
    u128::from_le_bytes(out)
}

/// `bitmask`: bit `i` of the `i32` result is the sign bit of lane `i`.
#[inline]
pub(crate) fn bitmask<T: Lane, const N: usize>(v: u128) -> u128 {
    let lanes = split::<T, N>(v);
    lanes
        .into_iter()
        .enumerate()
        .fold(0, |acc, (i, x)| acc | (x.to_low() >> (T::BITS - 1)) << i)
}

/// `all_true`: 1 if no lane is zero, else 0.
#[inline]
pub(crate) fn all_true<T: Lane, const N: usize>(v: u128) -> u128 {
    let lanes = split::<T, N>(v);
    let all = lanes
        .into_iter()
        .fold(true, |acc, x| acc & (x.to_low() != 0));
    u128::from(all)
}

/// `v128.any_true`: 1 if any bit is set.
#[inline]
pub(crate) fn any_true(v: u128) -> u128 {
    u128::from(v != 0)
}

/// `v128.bitselect(a, b, c)` (and the deterministic `relaxed_laneselect`):
/// the bits of `a` where `c` has a 1, those of `b` where it has a 0.
#[inline]
pub(crate) fn bitselect(a: u128, b: u128, c: u128) -> u128 {
    (a & c) | (b & !c)
}

/// The width in bits and the lane count of `shape`'s lanes.
#[inline(always)]
fn shape_bits(shape: LaneShape) -> (u32, u8) {
    match shape {
        LaneShape::I8x16S | LaneShape::I8x16U => (8, 16),
        LaneShape::I16x8S | LaneShape::I16x8U => (16, 8),
        LaneShape::I32x4 | LaneShape::F32x4 => (32, 4),
        LaneShape::I64x2 | LaneShape::F64x2 => (64, 2),
    }
}

/// The width in bits and the lane count of lanes of `width`.
#[inline(always)]
fn width_bits(width: LaneWidth) -> (u32, u8) {
    match width {
        LaneWidth::B8 => (8, 16),
        LaneWidth::B16 => (16, 8),
        LaneWidth::B32 => (32, 4),
        LaneWidth::B64 => (64, 2),
    }
}

/// The low bits of lane `lane` (masked to `count` lanes) of `bits`-bit
/// lanes of `v`, zero-extended.
#[inline(always)]
fn get(bits: u32, count: u8, lane: u8, v: u128) -> u64 {
    let shift = bits * u32::from(lane & (count - 1));
    ((v >> shift) & (u128::MAX >> (128 - bits))) as u64
}

/// `v` with lane `lane` (masked to `count` lanes) of `bits`-bit lanes
/// replaced by the low `bits` bits of `x`.
#[inline(always)]
fn set(bits: u32, count: u8, lane: u8, v: u128, x: u64) -> u128 {
    let shift = bits * u32::from(lane & (count - 1));
    let field = u128::MAX >> (128 - bits);
    (v & !(field << shift)) | ((u128::from(x) & field) << shift)
}

/// `*.extract_lane`: the lane as a slot. `_s` sign-extends an 8- or 16-bit
/// lane to 32 bits; 32-bit results leave the upper half of the slot zero.
#[inline]
pub(crate) fn extract_lane(shape: LaneShape, lane: u8, v: u128) -> u64 {
    let (bits, count) = shape_bits(shape);
    let x = get(bits, count, lane, v);
    match shape {
        LaneShape::I8x16S => u64::from(i32::from(x as i8) as u32),
        LaneShape::I16x8S => u64::from(i32::from(x as i16) as u32),
        _ => x,
    }
}

/// `*.replace_lane`: `v` with lane `lane` replaced by the low bits of `x`.
#[inline]
pub(crate) fn replace_lane(shape: LaneShape, lane: u8, v: u128, x: u64) -> u128 {
    let (bits, count) = shape_bits(shape);
    set(bits, count, lane, v, x)
}

/// `v128.loadN_lane`: `v` with lane `lane` replaced by the low bits of `raw`.
#[inline]
pub(crate) fn load_lane(width: LaneWidth, lane: u8, v: u128, raw: u64) -> u128 {
    let (bits, count) = width_bits(width);
    set(bits, count, lane, v, raw)
}

/// `v128.storeN_lane`: lane `lane` of `v`, in the low bits.
#[inline]
pub(crate) fn store_lane(width: LaneWidth, lane: u8, v: u128) -> u64 {
    let (bits, count) = width_bits(width);
    get(bits, count, lane, v)
}

/// The vector a widening, splatting or zero-filling `v128` load gives from
/// the little-endian bytes in the low bits of `raw`; 0 for any other load
/// (which is not this function's job).
#[inline]
pub(crate) fn widen_load(op: LoadOp, raw: u64) -> u128 {
    let raw = u128::from(raw);
    match op {
        LoadOp::V128Load8x8S => int::extend::<i8, i16, 8>(raw, Half::Low),
        LoadOp::V128Load8x8U => int::extend::<u8, u16, 8>(raw, Half::Low),
        LoadOp::V128Load16x4S => int::extend::<i16, i32, 4>(raw, Half::Low),
        LoadOp::V128Load16x4U => int::extend::<u16, u32, 4>(raw, Half::Low),
        LoadOp::V128Load32x2S => int::extend::<i32, i64, 2>(raw, Half::Low),
        LoadOp::V128Load32x2U => int::extend::<u32, u64, 2>(raw, Half::Low),
        LoadOp::V128Load8Splat => splat::<u8, 16>(raw),
        LoadOp::V128Load16Splat => splat::<u16, 8>(raw),
        LoadOp::V128Load32Splat => splat::<u32, 4>(raw),
        LoadOp::V128Load64Splat => splat::<u64, 2>(raw),
        LoadOp::V128Load32Zero => raw & ones::<u32>(),
        LoadOp::V128Load64Zero => raw,
        // Plain `v128.load` and the scalar loads.
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use crate::num::simd::repr::join;
    use crate::num::simd::{
        binary, extract_lane, load_lane, replace_lane, shuffle, store_lane, ternary, unary,
        widen_load,
    };
    use kiln_parser::NumOp::*;
    use kiln_parser::{LaneShape, LaneWidth, LoadOp};

    fn bytes(l: [u8; 16]) -> u128 {
        u128::from_le_bytes(l)
    }

    fn iota() -> u128 {
        bytes(core::array::from_fn(|i| i as u8))
    }

    #[test]
    fn shuffle_and_swizzle() {
        let a = iota();
        let b = bytes(core::array::from_fn(|i| 0x10 + i as u8));
        let rev: [u8; 16] = core::array::from_fn(|i| 31 - i as u8);
        assert_eq!(shuffle(&rev, a, b), bytes(rev));
        let mix = [0, 16, 1, 17, 15, 31, 2, 2, 30, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(shuffle(&mix, a, b), bytes(mix));
        // Indices 16 and above give 0; so does a "negative" one.
        let idx = bytes([15, 16, 0, 255, 128, 3, 17, 14, 1, 1, 1, 1, 1, 1, 1, 0x7f]);
        let want = bytes([15, 0, 0, 0, 0, 3, 0, 14, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert_eq!(binary(I8x16Swizzle, a, idx), want);
        assert_eq!(binary(I8x16RelaxedSwizzle, a, idx), want);
    }

    #[test]
    fn splats() {
        assert_eq!(unary(I8x16Splat, 0xffff_ff80), bytes([0x80; 16]));
        assert_eq!(unary(I16x8Splat, 0x1_2345), join([0x2345u16; 8]));
        assert_eq!(unary(I32x4Splat, (7 << 32) | 5), join([5u32; 4]));
        assert_eq!(unary(I64x2Splat, u128::MAX), u128::MAX);
        // Float splats keep a NaN's bits.
        assert_eq!(unary(F32x4Splat, 0x7fa0_0001), join([0x7fa0_0001u32; 4]));
        assert_eq!(
            unary(F64x2Splat, 0xfff4_0000_0000_0000),
            join([0xfff4_0000_0000_0000u64; 2])
        );
    }

    #[test]
    fn bitmask_any_all() {
        let v = bytes([0x80, 0, 0x7f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert_eq!(unary(I8x16Bitmask, v), 0b1000_0000_0000_1001);
        assert_eq!(unary(I16x8Bitmask, v), 0b1000_0010);
        assert_eq!(unary(I32x4Bitmask, v), 0b1001);
        assert_eq!(unary(I64x2Bitmask, v), 0b10);
        assert_eq!(unary(I32x4Bitmask, join([-1i32, 1, i32::MIN, 0])), 0b0101);
        assert_eq!(unary(V128AnyTrue, v), 1);
        assert_eq!(unary(V128AnyTrue, 0), 0);
        assert_eq!(unary(V128AnyTrue, 1 << 127), 1);
        assert_eq!(unary(I8x16AllTrue, v), 0);
        assert_eq!(unary(I8x16AllTrue, bytes([1; 16])), 1);
        assert_eq!(
            unary(
                I16x8AllTrue,
                bytes([0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0])
            ),
            1
        );
        assert_eq!(unary(I16x8AllTrue, join([1u16, 1, 1, 1, 1, 1, 1, 0])), 0);
        assert_eq!(unary(I32x4AllTrue, join([1u32 << 31, 1, 1, 1])), 1);
        assert_eq!(unary(I64x2AllTrue, join([1u64 << 32, 0])), 0);
        assert_eq!(unary(I64x2AllTrue, join([1u64 << 32, 1])), 1);
    }

    #[test]
    fn bitwise() {
        let a = 0xff00_ff00_u128 | 1 << 127;
        let b = 0x0ff0_0ff0_u128;
        assert_eq!(unary(V128Not, 0), u128::MAX);
        assert_eq!(binary(V128And, a, b), 0x0f00_0f00);
        assert_eq!(binary(V128AndNot, a, b), 0xf000_f000 | 1 << 127);
        assert_eq!(binary(V128Or, a, b), 0xfff0_fff0 | 1 << 127);
        assert_eq!(binary(V128Xor, a, b), 0xf0f0_f0f0 | 1 << 127);
        let c = 0xffff_0000_u128;
        assert_eq!(ternary(V128Bitselect, a, b, c), 0xff00_0ff0);
        for op in [
            I8x16RelaxedLaneselect,
            I16x8RelaxedLaneselect,
            I32x4RelaxedLaneselect,
            I64x2RelaxedLaneselect,
        ] {
            assert_eq!(ternary(op, a, b, c), 0xff00_0ff0, "{}", op.name());
        }
    }

    #[test]
    fn extract_and_replace() {
        let v = bytes([
            0x80, 0x7f, 0xfe, 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x90,
        ]);
        assert_eq!(extract_lane(LaneShape::I8x16S, 0, v), 0xffff_ff80);
        assert_eq!(extract_lane(LaneShape::I8x16U, 0, v), 0x80);
        assert_eq!(extract_lane(LaneShape::I8x16S, 15, v), 0xffff_ff90);
        assert_eq!(extract_lane(LaneShape::I16x8S, 1, v), 0xffff_fffe);
        assert_eq!(extract_lane(LaneShape::I16x8U, 1, v), 0xfffe);
        assert_eq!(extract_lane(LaneShape::I32x4, 1, v), 0x0403_0201);
        assert_eq!(extract_lane(LaneShape::F32x4, 0, v), 0xfffe_7f80);
        assert_eq!(extract_lane(LaneShape::I64x2, 1, v), 0x900b_0a09_0807_0605);
        assert_eq!(extract_lane(LaneShape::F64x2, 0, v), 0x0403_0201_fffe_7f80);
        // An index out of range is masked, never a panic.
        assert_eq!(extract_lane(LaneShape::I64x2, 3, v), 0x900b_0a09_0807_0605);
        let r = replace_lane(LaneShape::I8x16U, 15, v, 0xabcd);
        assert_eq!(r, (v & !(0xff << 120)) | 0xcd << 120);
        let r = replace_lane(LaneShape::I16x8U, 0, 0, 0xffff_1234);
        assert_eq!(r, 0x1234);
        let r = replace_lane(LaneShape::F32x4, 2, u128::MAX, 0xdead_beef_7fa0_0000);
        assert_eq!(r, !(0xffff_ffff << 64) | 0x7fa0_0000 << 64);
        let r = replace_lane(LaneShape::F64x2, 1, 7, 0x7ff4_0000_0000_0000);
        assert_eq!(r, 7 | 0x7ff4_0000_0000_0000 << 64);
        assert_eq!(
            replace_lane(LaneShape::I32x4, 3, 0, u64::MAX),
            0xffff_ffff << 96
        );
    }

    #[test]
    fn memory_lanes() {
        let raw = 0x8081_7f00_fffe_0201;
        assert_eq!(
            widen_load(LoadOp::V128Load8x8S, raw),
            join([1i16, 2, -2, -1, 0, 127, -127, -128])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load8x8U, raw),
            join([1u16, 2, 254, 255, 0, 127, 129, 128])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load16x4S, raw),
            join([0x0201i32, -2, 0x7f00, -32639])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load16x4U, raw),
            join([0x0201u32, 0xfffe, 0x7f00, 0x8081])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load32x2S, raw),
            join([0xfffe_0201u32 as i32 as i64, 0x8081_7f00u32 as i32 as i64])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load32x2U, raw),
            join([0xfffe_0201u64, 0x8081_7f00])
        );
        assert_eq!(widen_load(LoadOp::V128Load8Splat, raw), bytes([1; 16]));
        assert_eq!(
            widen_load(LoadOp::V128Load16Splat, raw),
            join([0x0201u16; 8])
        );
        assert_eq!(
            widen_load(LoadOp::V128Load32Splat, raw),
            join([0xfffe_0201u32; 4])
        );
        assert_eq!(widen_load(LoadOp::V128Load64Splat, raw), join([raw; 2]));
        assert_eq!(widen_load(LoadOp::V128Load32Zero, raw), 0xfffe_0201);
        assert_eq!(widen_load(LoadOp::V128Load64Zero, raw), u128::from(raw));
        assert_eq!(widen_load(LoadOp::V128Load, raw), 0);
        assert_eq!(widen_load(LoadOp::I32Load, raw), 0);
        let v = iota();
        assert_eq!(
            load_lane(LaneWidth::B8, 3, v, 0xffaa),
            (v & !(0xff << 24)) | 0xaa << 24
        );
        assert_eq!(load_lane(LaneWidth::B16, 7, 0, 0xbbaa), 0xbbaa << 112);
        assert_eq!(load_lane(LaneWidth::B32, 1, 0, 0x1_0000_0002), 2 << 32);
        assert_eq!(
            load_lane(LaneWidth::B64, 0, u128::MAX, 5),
            (u128::MAX << 64) | 5
        );
        assert_eq!(store_lane(LaneWidth::B8, 15, v), 15);
        assert_eq!(store_lane(LaneWidth::B16, 1, v), 0x0302);
        assert_eq!(store_lane(LaneWidth::B32, 3, v), 0x0f0e_0d0c);
        assert_eq!(store_lane(LaneWidth::B64, 1, v), 0x0f0e_0d0c_0b0a_0908);
    }
}
