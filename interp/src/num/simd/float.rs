//! Float lane operators: arithmetic, `sqrt`, the rounding operators,
//! `min`/`max`, `pmin`/`pmax`, and the sign operations `abs`/`neg`.
//!
//! The NaN rules are the scalar ones (see [`crate::num::float`]): `+ - * /`
//! and `sqrt` are Rust's IEEE operations, whose NaN results are arithmetic,
//! and canonical when the NaN inputs are; the rounding operators quiet a NaN
//! operand themselves; `min`/`max` propagate a NaN and order -0 below +0;
//! `abs`/`neg` are bit operations that keep a NaN's payload; and
//! `pmin`/`pmax` return one of their operands, bit for bit.
//!
//! The lane functions below compute every candidate result and select among
//! them, rather than branching, so that a lane-wise loop over them stays a
//! straight line of vector instructions.

use core::ops::{Add, Div, Mul, Sub};

use super::repr::{Lane, map, split, zip};

/// A float lane type and the operations the operators use.
pub(crate) trait FloatLane:
    Lane
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    /// The quiet bit of a NaN, in the low bits.
    const QUIET: u128;
    /// The sign bit, in the low bits.
    const SIGN: u128;
    fn sqrt(self) -> Self;
    fn is_nan(self) -> bool;
}

/// Expands to `impl FloatLane for $float`, the methods forwarding to the
/// inherent ones of the same name.
macro_rules! float_lane {
    ($float:ty, $quiet:expr, $sign:expr) => {
        impl FloatLane for $float {
            const QUIET: u128 = $quiet;
            const SIGN: u128 = $sign;
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$float>::sqrt(self)
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$float>::is_nan(self)
            }
        }
    };
}

float_lane!(f32, 1 << 22, 1 << 31);
float_lane!(f64, 1 << 51, 1 << 63);

/// `x` with its quiet bit set (a NaN stays a NaN with the same sign and
/// payload; only used on NaNs).
#[inline(always)]
fn quiet<T: FloatLane>(x: T) -> T {
    T::from_low(x.to_low() | T::QUIET)
}

/// `add`.
#[inline]
pub(crate) fn add<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, |x, y| x + y)
}

/// `sub`.
#[inline]
pub(crate) fn sub<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, |x, y| x - y)
}

/// `mul`.
#[inline]
pub(crate) fn mul<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, |x, y| x * y)
}

/// `div`.
#[inline]
pub(crate) fn div<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, |x, y| x / y)
}

/// `sqrt`.
#[inline]
pub(crate) fn sqrt<T: FloatLane, const N: usize>(v: u128) -> u128 {
    map::<T, N>(v, T::sqrt)
}

/// A rounding operator (`ceil`, `floor`, `trunc`, `nearest` with
/// `round_ties_even`): `round(x)`, but a NaN lane comes back quieted with its
/// sign and payload kept, whatever the routine behind `round` does with a
/// signalling NaN.
#[inline]
pub(crate) fn round<T: FloatLane, const N: usize>(v: u128, round: impl Fn(T) -> T) -> u128 {
    map::<T, N>(v, |x| {
        let r = round(x);
        if x.is_nan() { quiet(x) } else { r }
    })
}

/// The lane `min`: a NaN (quiet) if either operand is one, -0 for ±0, else
/// the smaller. The NaN comes from `x + y`, which propagates an input NaN as
/// the spec allows (canonical if the inputs are); its quiet bit is set
/// explicitly in case the addition was folded at compile time.
#[inline(always)]
pub(crate) fn min_lane<T: FloatLane>(x: T, y: T) -> T {
    let nan = quiet(x + y);
    let zeros = T::from_low(x.to_low() | y.to_low());
    let smaller = if x < y { x } else { y };
    let ordered = if x == y { zeros } else { smaller };
    if x.is_nan() | y.is_nan() {
        nan
    } else {
        ordered
    }
}

/// The lane `max`: as [`min_lane`], with +0 for ±0.
#[inline(always)]
pub(crate) fn max_lane<T: FloatLane>(x: T, y: T) -> T {
    let nan = quiet(x + y);
    let zeros = T::from_low(x.to_low() & y.to_low());
    let larger = if x > y { x } else { y };
    let ordered = if x == y { zeros } else { larger };
    if x.is_nan() | y.is_nan() {
        nan
    } else {
        ordered
    }
}

/// `min`.
#[inline]
pub(crate) fn min<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, min_lane)
}

/// `max`.
#[inline]
pub(crate) fn max<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, max_lane)
}

/// Per lane, `y`'s bits where `pick_y(x, y)` holds on the float values,
/// else `x`'s: the chosen operand bit for bit (a NaN is never touched).
#[inline(always)]
fn select_operand<T: FloatLane, const N: usize>(
    a: u128,
    b: u128,
    pick_y: impl Fn(T, T) -> bool,
) -> u128 {
    let (fx, fy) = (split::<T, N>(a), split::<T, N>(b));
    fx.into_iter()
        .zip(fy)
        .enumerate()
        .fold(0, |acc, (i, (x, y))| {
            let bits = if pick_y(x, y) { y.to_low() } else { x.to_low() };
            acc | bits << (i as u32 * T::BITS)
        })
}

/// `pmin(a, b)`: `b < a ? b : a` per lane (so `a` when either is a NaN).
#[inline]
pub(crate) fn pmin<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    select_operand::<T, N>(a, b, |x, y| y < x)
}

/// `pmax(a, b)`: `a < b ? b : a` per lane (so `a` when either is a NaN).
#[inline]
pub(crate) fn pmax<T: FloatLane, const N: usize>(a: u128, b: u128) -> u128 {
    select_operand::<T, N>(a, b, |x, y| x < y)
}

/// `abs`: every lane's sign bit cleared; nothing else changes.
#[inline]
pub(crate) fn abs<T: FloatLane, const N: usize>(v: u128) -> u128 {
    v & !super::repr::splat::<T, N>(T::SIGN)
}

/// `neg`: every lane's sign bit flipped; nothing else changes.
#[inline]
pub(crate) fn neg<T: FloatLane, const N: usize>(v: u128) -> u128 {
    v ^ super::repr::splat::<T, N>(T::SIGN)
}

#[cfg(test)]
mod tests {
    use crate::num::simd::repr::{join, split};
    use kiln_parser::NumOp::{self, *};
    use std::hint::black_box;

    // The operations on operands the optimiser cannot see, as the
    // interpreter's are: folded with a constant operand, `x * 1.0` may keep
    // a signaling NaN that the hardware's multiplication quiets (seen in a
    // build without incremental compilation, which inlines more).
    fn unary(op: NumOp, a: u128) -> u128 {
        crate::num::simd::unary(black_box(op), black_box(a))
    }
    fn binary(op: NumOp, a: u128, b: u128) -> u128 {
        crate::num::simd::binary(black_box(op), black_box(a), black_box(b))
    }

    const NAN32: u32 = 0x7fc0_0000;
    const SNAN32: u32 = 0x7fa0_0000;
    const NEG_SNAN32: u32 = 0xffa0_0000;
    const NAN64: u64 = 0x7ff8_0000_0000_0000;
    const SNAN64: u64 = 0x7ff4_0000_0000_0000;

    fn f32s(l: [f32; 4]) -> u128 {
        join(l)
    }
    fn f64s(l: [f64; 2]) -> u128 {
        join(l)
    }
    fn bits32(l: [u32; 4]) -> u128 {
        join(l)
    }
    fn bits64(l: [u64; 2]) -> u128 {
        join(l)
    }

    /// Every lane of the f32x4 `v` is an arithmetic (quiet) NaN.
    fn all_arithmetic_nan32(v: u128) -> bool {
        split::<u32, 4>(v)
            .iter()
            .all(|&x| x & 0x7fc0_0000 == 0x7fc0_0000)
    }

    #[test]
    fn arithmetic_per_lane() {
        assert_eq!(
            binary(
                F32x4Add,
                f32s([1.0, -0.0, 0.1, f32::MAX]),
                f32s([2.0, 0.0, 0.2, f32::MAX])
            ),
            f32s([3.0, 0.0, 0.1 + 0.2, f32::INFINITY])
        );
        assert_eq!(
            binary(
                F32x4Sub,
                f32s([1.0, -0.0, 0.0, 5.0]),
                f32s([2.0, 0.0, 0.0, -5.0])
            ),
            f32s([-1.0, -0.0, 0.0, 10.0])
        );
        assert_eq!(
            binary(
                F32x4Div,
                f32s([1.0, -1.0, 1.0, 6.0]),
                f32s([0.0, 0.0, 3.0, -2.0])
            ),
            f32s([f32::INFINITY, f32::NEG_INFINITY, 1.0 / 3.0, -3.0])
        );
        assert_eq!(
            binary(F64x2Mul, f64s([-0.0, 1e308]), f64s([5.0, 10.0])),
            f64s([-0.0, f64::INFINITY])
        );
        assert_eq!(
            unary(F64x2Sqrt, f64s([2.0, -0.0])),
            f64s([core::f64::consts::SQRT_2, -0.0])
        );
        assert_eq!(
            unary(F32x4Sqrt, f32s([4.0, 0.25, f32::INFINITY, 0.0])),
            f32s([2.0, 0.5, f32::INFINITY, 0.0])
        );
        // NaN results are arithmetic NaNs, from NaN operands or not.
        let r = binary(
            F32x4Add,
            bits32([SNAN32, NEG_SNAN32, NAN32, 0x7f80_0000]),
            f32s([1.0, 1.0, 0.0, f32::NEG_INFINITY]),
        );
        assert!(all_arithmetic_nan32(r), "{r:#x}");
        let r = binary(
            F32x4Mul,
            bits32([SNAN32, NEG_SNAN32, 0, 0x7f80_0000]),
            f32s([1.0, 1.0, f32::INFINITY, 0.0]),
        );
        assert!(all_arithmetic_nan32(r), "{r:#x}");
        assert!(all_arithmetic_nan32(unary(F32x4Sqrt, f32s([-1.0; 4]))));
    }

    #[test]
    fn rounding_ties_to_even_and_quiets_nan() {
        assert_eq!(
            unary(F32x4Nearest, f32s([2.5, 3.5, -0.5, -1.5])),
            f32s([2.0, 4.0, -0.0, -2.0])
        );
        assert_eq!(
            unary(F64x2Nearest, f64s([0.5, 4_503_599_627_370_497.0])),
            f64s([0.0, 4_503_599_627_370_497.0])
        );
        assert_eq!(
            unary(F32x4Ceil, f32s([-0.5, 1.1, -1.1, 0.0])),
            f32s([-0.0, 2.0, -1.0, 0.0])
        );
        assert_eq!(
            unary(F32x4Floor, f32s([-0.5, 1.1, -1.1, -0.0])),
            f32s([-1.0, 1.0, -2.0, -0.0])
        );
        assert_eq!(unary(F64x2Trunc, f64s([-1.9, 2.7])), f64s([-1.0, 2.0]));
        assert_eq!(
            unary(F64x2Floor, f64s([-0.0, f64::NEG_INFINITY])),
            f64s([-0.0, f64::NEG_INFINITY])
        );
        for op in [F32x4Ceil, F32x4Floor, F32x4Trunc, F32x4Nearest] {
            let r = unary(op, bits32([SNAN32, NEG_SNAN32, NAN32, 0xff80_0001]));
            // Quieted, sign and payload kept; canonical stays canonical.
            assert_eq!(
                r,
                bits32([NAN32 | SNAN32, 0xffe0_0000, NAN32, 0xffc0_0001]),
                "{}",
                op.name()
            );
        }
        for op in [F64x2Ceil, F64x2Floor, F64x2Trunc, F64x2Nearest] {
            let r = unary(op, bits64([SNAN64, NAN64]));
            assert_eq!(r, bits64([NAN64 | SNAN64, NAN64]), "{}", op.name());
        }
    }

    #[test]
    fn min_max_propagate_nan_and_order_zeros() {
        let a = f32s([-0.0, 0.0, 1.0, -2.0]);
        let b = f32s([0.0, -0.0, -2.0, -2.0]);
        assert_eq!(binary(F32x4Min, a, b), f32s([-0.0, -0.0, -2.0, -2.0]));
        assert_eq!(binary(F32x4Max, a, b), f32s([0.0, 0.0, 1.0, -2.0]));
        let n = bits32([NAN32, SNAN32, 0, NEG_SNAN32]);
        let m = f32s([1.0, 1.0, f32::NAN, -0.0]);
        for op in [F32x4Min, F32x4Max] {
            assert!(all_arithmetic_nan32(binary(op, n, m)), "{}", op.name());
            assert!(all_arithmetic_nan32(binary(op, m, n)), "{}", op.name());
        }
        // Canonical in, canonical out (either sign).
        let r = binary(F32x4Min, bits32([NAN32; 4]), f32s([1.0; 4]));
        assert_eq!(r & !bits32([1 << 31; 4]), bits32([NAN32; 4]));
        assert_eq!(
            binary(
                F64x2Min,
                f64s([f64::NEG_INFINITY, 0.0]),
                f64s([f64::MIN, -0.0])
            ),
            f64s([f64::NEG_INFINITY, -0.0])
        );
        assert_eq!(
            binary(F64x2Max, f64s([-0.0, 3.5]), f64s([0.0, 3.25])),
            f64s([0.0, 3.5])
        );
        let r = binary(F64x2Max, bits64([SNAN64, 0]), f64s([1.0, f64::NAN]));
        for x in split::<u64, 2>(r) {
            assert_eq!(x & NAN64, NAN64, "{x:#x}");
        }
    }

    /// The lane helpers agree with the scalar `min`/`max` on every pair of a
    /// set of awkward values (NaN payloads are compared only as "is NaN").
    #[test]
    fn min_max_match_scalar() {
        let vals = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            f32::MAX,
        ];
        for x in vals {
            for y in vals {
                for (lane, scalar) in [
                    (super::min_lane(x, y), crate::num::float::min32(x, y)),
                    (super::max_lane(x, y), crate::num::float::max32(x, y)),
                ] {
                    let same =
                        lane.to_bits() == scalar.to_bits() || (lane.is_nan() && scalar.is_nan());
                    assert!(same, "{x} {y}: {lane} vs {scalar}");
                }
            }
        }
    }

    #[test]
    fn pmin_pmax_return_an_operand_bit_for_bit() {
        let a = bits32([SNAN32, 0x8000_0000, 1.0f32.to_bits(), 2.0f32.to_bits()]);
        let b = bits32([1.0f32.to_bits(), 0, NEG_SNAN32, 1.0f32.to_bits()]);
        // pmin = b < a ? b : a; any comparison with a NaN is false.
        assert_eq!(
            binary(F32x4PMin, a, b),
            bits32([SNAN32, 0x8000_0000, 1.0f32.to_bits(), 1.0f32.to_bits()])
        );
        assert_eq!(
            binary(F32x4PMin, b, a),
            bits32([1.0f32.to_bits(), 0, NEG_SNAN32, 1.0f32.to_bits()])
        );
        // pmax = a < b ? b : a.
        assert_eq!(
            binary(F32x4PMax, a, b),
            bits32([SNAN32, 0x8000_0000, 1.0f32.to_bits(), 2.0f32.to_bits()])
        );
        assert_eq!(
            binary(F64x2PMin, f64s([-0.0, 3.0]), f64s([0.0, 2.0])),
            f64s([-0.0, 2.0])
        );
        assert_eq!(
            binary(F64x2PMax, f64s([-0.0, 3.0]), f64s([0.0, 2.0])),
            f64s([-0.0, 3.0])
        );
        assert_eq!(
            binary(F64x2PMax, bits64([SNAN64, 0]), f64s([1.0, f64::INFINITY])),
            join([SNAN64, f64::INFINITY.to_bits()])
        );
    }

    #[test]
    fn abs_neg_are_bit_operations() {
        let v = bits32([NEG_SNAN32, 0x8000_0000, (-1.5f32).to_bits(), NAN32]);
        assert_eq!(
            unary(F32x4Abs, v),
            bits32([SNAN32, 0, 1.5f32.to_bits(), NAN32])
        );
        assert_eq!(
            unary(F32x4Neg, v),
            bits32([SNAN32, 0, 1.5f32.to_bits(), 0xffc0_0000])
        );
        let w = bits64([SNAN64, (-0.0f64).to_bits()]);
        assert_eq!(unary(F64x2Abs, w), bits64([SNAN64, 0]));
        assert_eq!(unary(F64x2Neg, w), bits64([SNAN64 | 1 << 63, 0]));
    }
}
