//! Lane comparisons of every shape: each result lane is all ones where the
//! comparison holds and all zeros where it does not.
//!
//! One generic function per relation serves integer and float lanes alike:
//! signedness is the lane type's (`lt::<i8, 16>` is `i8x16.lt_s`,
//! `lt::<u8, 16>` is `i8x16.lt_u`), and for `f32`/`f64` Rust's `PartialOrd`
//! is IEEE 754's: every relation but `ne` is false when either lane is a NaN,
//! and -0 equals +0.

use super::repr::{Lane, mask, split};

/// The mask vector of `f` over corresponding lanes of `a` and `b`.
#[inline(always)]
fn compare<T: Lane, const N: usize>(a: u128, b: u128, f: impl Fn(T, T) -> bool) -> u128 {
    let (x, y) = (split::<T, N>(a), split::<T, N>(b));
    x.into_iter()
        .zip(y)
        .enumerate()
        .fold(0, |acc, (i, (x, y))| {
            acc | (mask::<T>(f(x, y)) << (i as u32 * T::BITS))
        })
}

/// `eq`.
#[inline]
pub(crate) fn eq<T: Lane + PartialEq, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x == y)
}

/// `ne`: true for a NaN lane.
#[inline]
pub(crate) fn ne<T: Lane + PartialEq, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x != y)
}

/// `lt` (`lt_s`/`lt_u` for integers).
#[inline]
pub(crate) fn lt<T: Lane + PartialOrd, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x < y)
}

/// `gt` (`gt_s`/`gt_u` for integers).
#[inline]
pub(crate) fn gt<T: Lane + PartialOrd, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x > y)
}

/// `le` (`le_s`/`le_u` for integers).
#[inline]
pub(crate) fn le<T: Lane + PartialOrd, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x <= y)
}

/// `ge` (`ge_s`/`ge_u` for integers).
#[inline]
pub(crate) fn ge<T: Lane + PartialOrd, const N: usize>(a: u128, b: u128) -> u128 {
    compare::<T, N>(a, b, |x, y| x >= y)
}

#[cfg(test)]
mod tests {
    use crate::num::simd::binary;
    use crate::num::simd::repr::{Lane, join, mask};
    use kiln_parser::NumOp::*;

    /// The comparison result with lane `i` set where `bits[i]` is.
    fn masks<T: Lane, const N: usize>(bits: [bool; N]) -> u128 {
        bits.into_iter().enumerate().fold(0, |acc, (i, b)| {
            acc | (mask::<T>(b) << (i as u32 * T::BITS))
        })
    }

    const T: bool = true;
    const F: bool = false;

    #[test]
    fn integer_comparisons_by_signedness() {
        let a = join([-1i8, 0, 5, i8::MIN, 7, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let b = join([1i8, 0, 4, i8::MAX, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let rest = [T; 10];
        let with = |head: [bool; 6], tail: [bool; 10]| {
            let mut all = [F; 16];
            for (o, x) in all.iter_mut().zip(head.into_iter().chain(tail)) {
                *o = x;
            }
            masks::<i8, 16>(all)
        };
        assert_eq!(binary(I8x16Eq, a, b), with([F, T, F, F, T, F], rest));
        assert_eq!(binary(I8x16Ne, a, b), with([T, F, T, T, F, T], [F; 10]));
        assert_eq!(binary(I8x16LtS, a, b), with([T, F, F, T, F, T], [F; 10]));
        assert_eq!(binary(I8x16LtU, a, b), with([F, F, F, F, F, T], [F; 10]));
        assert_eq!(binary(I8x16GtU, a, b), with([T, F, T, T, F, F], [F; 10]));
        assert_eq!(binary(I8x16GeS, a, b), with([F, T, T, F, T, F], rest));
        assert_eq!(binary(I8x16LeU, a, b), with([F, T, F, F, T, T], rest));
        let c = join([-1i16, 1, i16::MIN, 0, 0, 0, 0, 0]);
        let d = join([1i16, 1, i16::MAX, 0, 0, 0, 0, 1]);
        assert_eq!(
            binary(I16x8LtS, c, d),
            masks::<i16, 8>([T, F, T, F, F, F, F, T])
        );
        assert_eq!(
            binary(I16x8LtU, c, d),
            masks::<i16, 8>([F, F, F, F, F, F, F, T])
        );
        assert_eq!(
            binary(I16x8GeU, c, d),
            masks::<i16, 8>([T, T, T, T, T, T, T, F])
        );
        let e = join([-1i32, 3, i32::MIN, 9]);
        let f = join([0i32, 3, 0, 8]);
        assert_eq!(binary(I32x4GtS, e, f), masks::<i32, 4>([F, F, F, T]));
        assert_eq!(binary(I32x4GtU, e, f), masks::<i32, 4>([T, F, T, T]));
        assert_eq!(binary(I32x4LeS, e, f), masks::<i32, 4>([T, T, T, F]));
        let g = join([-1i64, i64::MAX]);
        let h = join([0i64, i64::MAX]);
        assert_eq!(binary(I64x2LtS, g, h), masks::<i64, 2>([T, F]));
        assert_eq!(binary(I64x2GeS, g, h), masks::<i64, 2>([F, T]));
        assert_eq!(binary(I64x2Ne, g, h), masks::<i64, 2>([T, F]));
    }

    #[test]
    fn float_comparisons_are_ieee() {
        let nan = f32::NAN;
        let a = join([nan, -0.0f32, 1.0, f32::NEG_INFINITY]);
        let b = join([nan, 0.0f32, 2.0, f32::MIN]);
        assert_eq!(binary(F32x4Eq, a, b), masks::<f32, 4>([F, T, F, F]));
        assert_eq!(binary(F32x4Ne, a, b), masks::<f32, 4>([T, F, T, T]));
        assert_eq!(binary(F32x4Lt, a, b), masks::<f32, 4>([F, F, T, T]));
        assert_eq!(binary(F32x4Le, a, b), masks::<f32, 4>([F, T, T, T]));
        assert_eq!(binary(F32x4Gt, a, b), masks::<f32, 4>([F, F, F, F]));
        assert_eq!(binary(F32x4Ge, a, b), masks::<f32, 4>([F, T, F, F]));
        let c = join([f64::NAN, 0.0f64]);
        let d = join([1.0f64, -0.0f64]);
        assert_eq!(binary(F64x2Eq, c, d), masks::<f64, 2>([F, T]));
        assert_eq!(binary(F64x2Ne, c, d), masks::<f64, 2>([T, F]));
        assert_eq!(binary(F64x2Ge, c, d), masks::<f64, 2>([F, T]));
        assert_eq!(binary(F64x2Lt, d, c), masks::<f64, 2>([F, F]));
        assert_eq!(binary(F64x2Gt, c, d), masks::<f64, 2>([F, F]));
        assert_eq!(binary(F64x2Le, c, d), masks::<f64, 2>([F, T]));
    }
}
