//! Relaxed SIMD (WebAssembly 3.0) in the deterministic profile.
//!
//! The spec gives each relaxed operator a list of allowed results,
//! `relaxed(R)[A0, ..., An]`, and the deterministic profile fixes every
//! choice to the first, `A0`. Kiln implements exactly that on every host, so
//! that all tiers and platforms agree:
//!
//! | operator | `A0` |
//! |---|---|
//! | `relaxed_swizzle` | `swizzle` (an index of 16 or more gives 0) |
//! | `relaxed_trunc_*` | the `trunc_sat_*` forms |
//! | `relaxed_madd(a, b, c)` | `a * b + c`, rounded twice (not fused) |
//! | `relaxed_nmadd(a, b, c)` | `relaxed_madd(-a, b, c)` |
//! | `relaxed_min`/`relaxed_max` | `min`/`max` |
//! | `relaxed_laneselect` | `bitselect` |
//! | `relaxed_q15mulr_s` | `q15mulr_sat_s` |
//! | `relaxed_dot_i8x16_i7x16_s` | signed × signed products, pairs added with signed saturation to `i16` |
//! | `relaxed_dot_i8x16_i7x16_add_s` | that dot, then `extadd_pairwise_s` to `i32`, then a wrapping `add` of `c` |
//!
//! The operators that are the same as a 2.0 operator are routed there by the
//! dispatchers; this file holds the ones with their own arithmetic.

use super::float::FloatLane;
use super::int;
use super::repr::{join, split};

/// `relaxed_madd(a, b, c)`: `a * b + c` per lane with two roundings. Rust
/// never contracts a multiply and an add into a fused one on its own.
#[inline]
pub(crate) fn madd<T: FloatLane, const N: usize>(a: u128, b: u128, c: u128) -> u128 {
    let (x, y, z) = (split::<T, N>(a), split::<T, N>(b), split::<T, N>(c));
    let mut out = x;
    for ((o, y), z) in out.iter_mut().zip(y).zip(z) {
        *o = *o * y + z;
    }
    join(out)
}

/// `relaxed_nmadd(a, b, c)`: `relaxed_madd(-a, b, c)`, the negation being the
/// sign-bit flip of `neg`.
#[inline]
pub(crate) fn nmadd<T: FloatLane, const N: usize>(a: u128, b: u128, c: u128) -> u128 {
    madd::<T, N>(super::float::neg::<T, N>(a), b, c)
}

/// `i16x8.relaxed_dot_i8x16_i7x16_s`: for each pair of adjacent `i8` lanes,
/// `a0 * b0 + a1 * b1` with both operands signed. Each product fits an `i16`
/// (at most 128 * 128); their sum saturates, which only
/// `-128 * -128 + -128 * -128` = 32768 needs.
#[inline]
pub(crate) fn dot_i8_s(a: u128, b: u128) -> u128 {
    let (x, y) = (split::<i16, 8>(a), split::<i16, 8>(b));
    let mut out = x;
    for (o, y) in out.iter_mut().zip(y) {
        let x = *o;
        let lo = (x << 8 >> 8) * (y << 8 >> 8);
        let hi = (x >> 8) * (y >> 8);
        *o = lo.saturating_add(hi);
    }
    join(out)
}

/// `i32x4.relaxed_dot_i8x16_i7x16_add_s`: [`dot_i8_s`], its adjacent `i16`
/// lanes added into `i32` lanes (exact), then `c` added, wrapping.
#[inline]
pub(crate) fn dot_i8_add_s(a: u128, b: u128, c: u128) -> u128 {
    let sums = int::extadd_pairwise_i16_s(dot_i8_s(a, b));
    int::add::<i32, 4>(sums, c)
}

#[cfg(test)]
mod tests {
    use crate::num::simd::repr::{join, split};
    use crate::num::simd::{binary, ternary, unary};
    use kiln_parser::NumOp::*;

    fn i8s(l: [i8; 16]) -> u128 {
        join(l)
    }

    #[test]
    fn madd_rounds_twice() {
        // 1 + 2^-23 squared is 1 + 2^-22 + 2^-46; the product rounds to
        // 1 + 2^-22, so adding -(1 + 2^-22) gives exactly 0. A fused
        // multiply-add would give 2^-46.
        let x = 1.0 + f32::EPSILON;
        let a = join([x, 2.0, f32::INFINITY, -0.0]);
        let c = join([-(1.0 + 2.0 * f32::EPSILON), 1.0, f32::NEG_INFINITY, -0.0]);
        let r = split::<f32, 4>(ternary(F32x4RelaxedMadd, a, a, c));
        assert_eq!(r[0].to_bits(), 0);
        assert_eq!(r[1], 5.0);
        assert!(r[2].is_nan() && r[2].to_bits() & 0x0040_0000 != 0);
        // -0 * -0 = +0; +0 + -0 = +0.
        assert_eq!(r[3].to_bits(), 0);
        // nmadd: -(a * b) + c.
        let r = split::<f32, 4>(ternary(F32x4RelaxedNmadd, a, a, c));
        assert_eq!(r[1], -3.0);
        // -(-0) * -0 = -0; -0 + -0 = -0.
        assert_eq!(r[3].to_bits(), 0x8000_0000);
        let y = 1.0 + f64::EPSILON;
        let d = join([y, 3.0]);
        let e = join([-(1.0 + 2.0 * f64::EPSILON), 0.5]);
        assert_eq!(ternary(F64x2RelaxedMadd, d, d, e), join([0.0f64, 9.5]));
        assert_eq!(
            split::<f64, 2>(ternary(F64x2RelaxedNmadd, d, d, e))[1],
            -8.5
        );
    }

    #[test]
    fn min_max_trunc_q15_are_the_deterministic_choice() {
        let a = join([-0.0f32, 0.0, f32::NAN, 1.0]);
        let b = join([0.0f32, -0.0, 1.0, f32::NAN]);
        assert_eq!(binary(F32x4RelaxedMin, a, b), binary(F32x4Min, a, b));
        assert_eq!(binary(F32x4RelaxedMax, a, b), binary(F32x4Max, a, b));
        let r = split::<f32, 4>(binary(F32x4RelaxedMin, a, b));
        assert_eq!(r[0].to_bits(), 0x8000_0000);
        assert_eq!(r[1].to_bits(), 0x8000_0000);
        assert!(r[2].is_nan() && r[3].is_nan());
        let c = join([-0.0f64, f64::NAN]);
        let d = join([0.0f64, -1.0]);
        let r = split::<f64, 2>(binary(F64x2RelaxedMax, c, d));
        assert_eq!(r[0].to_bits(), 0);
        assert!(r[1].is_nan());
        assert_eq!(binary(F64x2RelaxedMin, c, d), binary(F64x2Min, c, d));
        let f = join([f32::NAN, -1.5, 5e9, -5e9]);
        assert_eq!(
            unary(I32x4RelaxedTruncF32x4S, f),
            join([0, -1, i32::MAX, i32::MIN])
        );
        assert_eq!(
            unary(I32x4RelaxedTruncF32x4U, f),
            join([0u32, 0, u32::MAX, 0])
        );
        let g = join([f64::NAN, 5e9]);
        assert_eq!(
            unary(I32x4RelaxedTruncF64x2SZero, g),
            join([0, i32::MAX, 0, 0])
        );
        assert_eq!(
            unary(I32x4RelaxedTruncF64x2UZero, g),
            join([0u32, u32::MAX, 0, 0])
        );
        let q = join([i16::MIN, i16::MIN, 0x4000, 0, 0, 0, 0, 0]);
        let r = join([i16::MIN, i16::MAX, 0x4000, 0, 0, 0, 0, 0]);
        assert_eq!(
            binary(I16x8RelaxedQ15mulrS, q, r),
            join([i16::MAX, -32767, 0x2000, 0, 0, 0, 0, 0])
        );
    }

    /// The values of the spec's `relaxed_dot_product.wast`, deterministic
    /// choice.
    #[test]
    fn dot_products() {
        let iota = i8s(core::array::from_fn(|i| i as i8));
        assert_eq!(
            binary(I16x8RelaxedDotI8x16I7x16S, iota, iota),
            join([1i16, 13, 41, 85, 145, 221, 313, 421])
        );
        let a = i8s([-128, -128, 127, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let b = i8s([127, 127, 127, 127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            binary(I16x8RelaxedDotI8x16I7x16S, a, b),
            join([-32512i16, 32258, 0, 0, 0, 0, 0, 0])
        );
        // Signed * signed: -128 * -127 * 2 = 32512.
        let c = i8s([-128, -128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let d = i8s([-127, -127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            binary(I16x8RelaxedDotI8x16I7x16S, c, d),
            join([32512i16, 0, 0, 0, 0, 0, 0, 0])
        );
        // -128 * -128 * 2 = 32768 saturates.
        assert_eq!(
            binary(I16x8RelaxedDotI8x16I7x16S, c, c),
            join([i16::MAX, 0, 0, 0, 0, 0, 0, 0])
        );
        let n = join([0i32, 1, 2, 3]);
        assert_eq!(
            ternary(I32x4RelaxedDotI8x16I7x16AddS, iota, iota, n),
            join([14i32, 127, 368, 737])
        );
        let e = i8s([
            -128, -128, -128, -128, 127, 127, 127, 127, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let f = i8s([
            127, 127, 127, 127, 127, 127, 127, 127, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        let m = join([1i32, 2, 3, 4]);
        assert_eq!(
            ternary(I32x4RelaxedDotI8x16I7x16AddS, e, f, m),
            join([-65023i32, 64518, 3, 4])
        );
        let g = i8s([-128, -128, -128, -128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let h = i8s([-127, -127, -127, -127, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            ternary(I32x4RelaxedDotI8x16I7x16AddS, g, h, m),
            join([65025i32, 2, 3, 4])
        );
        // The add wraps.
        let big = join([i32::MAX, 0, 0, 0]);
        assert_eq!(
            ternary(I32x4RelaxedDotI8x16I7x16AddS, g, h, big),
            join([i32::MAX.wrapping_add(65024), 0, 0, 0])
        );
    }
}
