//! Lane conversions: `trunc_sat` (float to integer, saturating), `convert`
//! (integer to float), `demote`/`promote`.
//!
//! As for the scalar operators, Rust's `as` casts are the spec's operations:
//! float-to-int `as` truncates toward zero, saturates and maps NaN to 0
//! (`trunc_sat`); int-to-float `as` rounds to nearest, ties to even. The
//! `_zero` forms fill lanes 2 and 3 with zeros, the `_low` forms read lanes 0
//! and 1: `join` of two lanes leaves the upper half zero and `split` of
//! two lanes reads the lower half.

use super::repr::{join, split};

/// `i32x4.trunc_sat_f32x4_s`.
#[inline]
pub(crate) fn trunc_sat_f32_s(v: u128) -> u128 {
    join(split::<f32, 4>(v).map(|x| x as i32))
}

/// `i32x4.trunc_sat_f32x4_u`.
#[inline]
pub(crate) fn trunc_sat_f32_u(v: u128) -> u128 {
    join(split::<f32, 4>(v).map(|x| x as u32))
}

/// `i32x4.trunc_sat_f64x2_s_zero`.
#[inline]
pub(crate) fn trunc_sat_f64_s_zero(v: u128) -> u128 {
    join(split::<f64, 2>(v).map(|x| x as i32))
}

/// `i32x4.trunc_sat_f64x2_u_zero`.
#[inline]
pub(crate) fn trunc_sat_f64_u_zero(v: u128) -> u128 {
    join(split::<f64, 2>(v).map(|x| x as u32))
}

/// `f32x4.convert_i32x4_s`.
#[inline]
pub(crate) fn convert_i32_s(v: u128) -> u128 {
    join(split::<i32, 4>(v).map(|x| x as f32))
}

/// `f32x4.convert_i32x4_u`.
#[inline]
pub(crate) fn convert_i32_u(v: u128) -> u128 {
    join(split::<u32, 4>(v).map(|x| x as f32))
}

/// `f64x2.convert_low_i32x4_s` (exact).
#[inline]
pub(crate) fn convert_low_i32_s(v: u128) -> u128 {
    join(split::<i32, 2>(v).map(f64::from))
}

/// `f64x2.convert_low_i32x4_u` (exact).
#[inline]
pub(crate) fn convert_low_i32_u(v: u128) -> u128 {
    join(split::<u32, 2>(v).map(f64::from))
}

/// `f32x4.demote_f64x2_zero`: each `f64` rounded to nearest `f32`; a NaN
/// comes back quiet (its quiet bit set explicitly, as the spec asks for an
/// arithmetic NaN and a folded cast might keep a signalling one).
#[inline]
pub(crate) fn demote_zero(v: u128) -> u128 {
    join(split::<f64, 2>(v).map(|x| {
        let r = x as f32;
        let quieted = f32::from_bits(r.to_bits() | 1 << 22);
        if r.is_nan() { quieted } else { r }
    }))
}

/// `f64x2.promote_low_f32x4`: exact; a NaN comes back quiet, as in
/// [`demote_zero`].
#[inline]
pub(crate) fn promote_low(v: u128) -> u128 {
    join(split::<f32, 2>(v).map(|x| {
        let r = f64::from(x);
        let quieted = f64::from_bits(r.to_bits() | 1 << 51);
        if r.is_nan() { quieted } else { r }
    }))
}

#[cfg(test)]
mod tests {
    use crate::num::simd::repr::{join, split};
    use crate::num::simd::unary;
    use kiln_parser::NumOp::*;

    #[test]
    fn trunc_sat_saturates_and_zeroes_nan() {
        let v = join([f32::NAN, -2.9f32, 3e9, f32::NEG_INFINITY]);
        assert_eq!(
            unary(I32x4TruncSatF32x4S, v),
            join([0, -2, i32::MAX, i32::MIN])
        );
        assert_eq!(
            unary(I32x4TruncSatF32x4U, v),
            join([0u32, 0, 3_000_000_000, 0])
        );
        let w = join([f32::INFINITY, -0.9f32, 4_294_967_296.0, 2_147_483_520.0]);
        assert_eq!(
            unary(I32x4TruncSatF32x4S, w),
            join([i32::MAX, 0, i32::MAX, 2_147_483_520])
        );
        assert_eq!(
            unary(I32x4TruncSatF32x4U, w),
            join([u32::MAX, 0, u32::MAX, 2_147_483_520])
        );
        // _zero: two lanes, the upper half zero.
        let d = join([-2_147_483_649.0f64, f64::NAN]);
        assert_eq!(unary(I32x4TruncSatF64x2SZero, d), join([i32::MIN, 0, 0, 0]));
        let e = join([4_294_967_295.9f64, -1.0]);
        assert_eq!(unary(I32x4TruncSatF64x2UZero, e), join([u32::MAX, 0, 0, 0]));
        assert_eq!(
            unary(I32x4TruncSatF64x2SZero, e),
            join([i32::MAX, -1, 0, 0])
        );
    }

    #[test]
    fn int_to_float_rounds_to_nearest_even() {
        let v = join([16_777_217i32, -1, i32::MIN, 0x7fff_ffc0]);
        // 2^24 + 1 is a tie between 2^24 and 2^24 + 2: even wins.
        assert_eq!(
            unary(F32x4ConvertI32x4S, v),
            join([16_777_216.0f32, -1.0, -2_147_483_648.0, 2_147_483_648.0])
        );
        assert_eq!(
            unary(F32x4ConvertI32x4U, v),
            join([
                16_777_216.0f32,
                4_294_967_296.0,
                2_147_483_648.0,
                2_147_483_648.0
            ])
        );
        let w = join([-1i32, i32::MIN, 99, 99]);
        assert_eq!(
            unary(F64x2ConvertLowI32x4S, w),
            join([-1.0f64, -2_147_483_648.0])
        );
        assert_eq!(
            unary(F64x2ConvertLowI32x4U, w),
            join([4_294_967_295.0f64, 2_147_483_648.0])
        );
    }

    #[test]
    fn demote_promote() {
        let v = join([f64::MAX, 1.0 + f64::EPSILON]);
        assert_eq!(
            unary(F32x4DemoteF64x2Zero, v),
            join([f32::INFINITY, 1.0, 0.0, 0.0])
        );
        let v = join([-0.0f64, 1e-50]);
        assert_eq!(
            unary(F32x4DemoteF64x2Zero, v),
            join([-0.0f32, 0.0, 0.0, 0.0])
        );
        // A signalling NaN comes back quiet; canonical stays canonical.
        let n = join([0x7ff4_0000_0000_0000u64, 0x7ff8_0000_0000_0000]);
        let r = split::<u32, 4>(unary(F32x4DemoteF64x2Zero, n));
        assert_eq!(r[0] & 0x7fc0_0000, 0x7fc0_0000, "{:#x}", r[0]);
        assert_eq!(r[1] & 0x7fff_ffff, 0x7fc0_0000);
        assert_eq!(r[2..], [0, 0]);
        let p = join([1.5f32, -0.0, 7.0, 7.0]);
        assert_eq!(unary(F64x2PromoteLowF32x4, p), join([1.5f64, -0.0]));
        let q = join([0x7fa0_0000u32, 0x7fc0_0000, 0, 0]);
        let r = split::<u64, 2>(unary(F64x2PromoteLowF32x4, q));
        assert_eq!(r[0] & 0x7ff8_0000_0000_0000, 0x7ff8_0000_0000_0000);
        assert_eq!(r[1] & !(1 << 63), 0x7ff8_0000_0000_0000);
    }
}
