//! Integer lane operators: wrapping and saturating arithmetic, `min`/`max`,
//! `avgr_u`, `abs`/`neg`/`popcnt`, shifts, and the operators that change the
//! lane width (`narrow`, `extend`, `extmul`, `extadd_pairwise`, `dot`,
//! `q15mulr_sat_s`).
//!
//! Signedness is the lane type's: `min::<i8, 16>` is `i8x16.min_s`,
//! `min::<u8, 16>` is `i8x16.min_u`, `shr::<i16, 8>` is the arithmetic
//! `i16x8.shr_s`. Operators that read pairs of adjacent lanes
//! (`extadd_pairwise`, `dot`) work on the double-width lanes instead and take
//! their halves apart with shifts (`x << 8 >> 8` is the low `i8` of an `i16`,
//! sign-extended; `x >> 8` the high one), so there is no cross-lane shuffling.

use super::repr::{Lane, join, map, split, zip};

/// An integer lane type, with the Rust operations the operators map to.
pub(crate) trait IntLane: Lane + Ord + Default {
    fn wrapping_add(self, y: Self) -> Self;
    fn wrapping_sub(self, y: Self) -> Self;
    fn wrapping_mul(self, y: Self) -> Self;
    fn saturating_add(self, y: Self) -> Self;
    fn saturating_sub(self, y: Self) -> Self;
    fn wrapping_neg(self) -> Self;
    /// Shifts by `n` modulo the lane width, as the spec's shifts do.
    fn wrapping_shl(self, n: u32) -> Self;
    /// Arithmetic for a signed type, logical for an unsigned one; `n` modulo
    /// the lane width.
    fn wrapping_shr(self, n: u32) -> Self;
}

/// Expands to `impl IntLane for $int` for each type, each method forwarding
/// to the inherent method of the same name.
macro_rules! int_lane {
    ($($int:ty),*) => {$(
        impl IntLane for $int {
            #[inline(always)]
            fn wrapping_add(self, y: Self) -> Self { <$int>::wrapping_add(self, y) }
            #[inline(always)]
            fn wrapping_sub(self, y: Self) -> Self { <$int>::wrapping_sub(self, y) }
            #[inline(always)]
            fn wrapping_mul(self, y: Self) -> Self { <$int>::wrapping_mul(self, y) }
            #[inline(always)]
            fn saturating_add(self, y: Self) -> Self { <$int>::saturating_add(self, y) }
            #[inline(always)]
            fn saturating_sub(self, y: Self) -> Self { <$int>::saturating_sub(self, y) }
            #[inline(always)]
            fn wrapping_neg(self) -> Self { <$int>::wrapping_neg(self) }
            #[inline(always)]
            fn wrapping_shl(self, n: u32) -> Self { <$int>::wrapping_shl(self, n) }
            #[inline(always)]
            fn wrapping_shr(self, n: u32) -> Self { <$int>::wrapping_shr(self, n) }
        }
    )*};
}

int_lane!(i8, u8, i16, u16, i32, u32, i64, u64);

/// `add`: lane-wise, wrapping.
#[inline]
pub(crate) fn add<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, T::wrapping_add)
}

/// `sub`: lane-wise, wrapping.
#[inline]
pub(crate) fn sub<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, T::wrapping_sub)
}

/// `mul`: lane-wise, wrapping (the low half of the product).
#[inline]
pub(crate) fn mul<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, T::wrapping_mul)
}

/// `add_sat_s`/`add_sat_u`: the sum clamped to `T`'s range.
#[inline]
pub(crate) fn add_sat<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, T::saturating_add)
}

/// `sub_sat_s`/`sub_sat_u`: the difference clamped to `T`'s range.
#[inline]
pub(crate) fn sub_sat<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, T::saturating_sub)
}

/// `min_s`/`min_u`.
#[inline]
pub(crate) fn min<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, Ord::min)
}

/// `max_s`/`max_u`.
#[inline]
pub(crate) fn max<T: IntLane, const N: usize>(a: u128, b: u128) -> u128 {
    zip::<T, N>(a, b, Ord::max)
}

/// `neg`: wrapping (the minimum stays the minimum).
#[inline]
pub(crate) fn neg<T: IntLane, const N: usize>(v: u128) -> u128 {
    map::<T, N>(v, T::wrapping_neg)
}

/// `abs` of a signed lane type: wrapping, so -128 stays -128 in an `i8`
/// (whose negation wraps to itself, and `max(x, -x)` is then `x`).
#[inline]
pub(crate) fn abs<T: IntLane, const N: usize>(v: u128) -> u128 {
    map::<T, N>(v, |x| x.max(x.wrapping_neg()))
}

/// `shl`: every lane shifted left by `count` modulo the lane width.
#[inline]
pub(crate) fn shl<T: IntLane, const N: usize>(v: u128, count: u32) -> u128 {
    map::<T, N>(v, |x| x.wrapping_shl(count))
}

/// `shr_s` (signed `T`) or `shr_u` (unsigned `T`), by `count` modulo the
/// lane width.
#[inline]
pub(crate) fn shr<T: IntLane, const N: usize>(v: u128, count: u32) -> u128 {
    map::<T, N>(v, |x| x.wrapping_shr(count))
}

/// `i8x16.avgr_u`: `(a + b + 1) / 2` without overflow.
#[inline]
pub(crate) fn avgr_u8(a: u128, b: u128) -> u128 {
    zip::<u8, 16>(a, b, |x, y| ((u16::from(x) + u16::from(y) + 1) >> 1) as u8)
}

/// `i16x8.avgr_u`, as [`avgr_u8`].
#[inline]
pub(crate) fn avgr_u16(a: u128, b: u128) -> u128 {
    zip::<u16, 8>(a, b, |x, y| ((u32::from(x) + u32::from(y) + 1) >> 1) as u16)
}

/// `i8x16.popcnt`: the number of set bits of each byte.
#[inline]
pub(crate) fn popcnt(v: u128) -> u128 {
    map::<u8, 16>(v, |x| x.count_ones() as u8)
}

/// `i16x8.q15mulr_sat_s`: `(a * b + 2^14) >> 15`, saturated. Only
/// `-32768 * -32768` overflows (to 32768); the lowest result is -32767.
#[inline]
pub(crate) fn q15mulr_sat_s(a: u128, b: u128) -> u128 {
    zip::<i16, 8>(a, b, |x, y| {
        let r = (i32::from(x) * i32::from(y) + (1 << 14)) >> 15;
        r.min(i32::from(i16::MAX)) as i16
    })
}

/// Which half of the input lanes a `_low`/`_high` operator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Half {
    /// The lower-numbered lanes (the low 64 bits).
    Low,
    /// The higher-numbered lanes (the high 64 bits).
    High,
}

impl Half {
    /// The 64 bits of `v` this half names, in the low bits.
    #[inline(always)]
    fn of(self, v: u128) -> u128 {
        match self {
            Half::Low => v,
            Half::High => v >> 64,
        }
    }
}

/// `extend_low`/`extend_high` (and the widening loads): the `M` lanes of `T`
/// in `half` of `v`, each sign- or zero-extended (by `T`'s signedness) to `W`.
#[inline]
pub(crate) fn extend<T, W, const M: usize>(v: u128, half: Half) -> u128
where
    T: IntLane,
    W: IntLane + From<T>,
{
    join(split::<T, M>(half.of(v)).map(W::from))
}

/// `extmul_low`/`extmul_high`: `extend` both operands, then multiply in the
/// wide type, where the product of two extended lanes is exact.
#[inline]
pub(crate) fn extmul<T, W, const M: usize>(a: u128, b: u128, half: Half) -> u128
where
    T: IntLane,
    W: IntLane + From<T>,
{
    let (x, y) = (extend::<T, W, M>(a, half), extend::<T, W, M>(b, half));
    mul::<W, M>(x, y)
}

/// Expands to `pub(crate) fn $name(v: u128) -> u128`, the
/// `extadd_pairwise` whose input lane pairs are the halves of the `$wide`
/// lanes: `$lo(x) + $hi(x)` in `$wide`, which cannot overflow.
macro_rules! extadd_pairwise {
    ($(#[$doc:meta])* $name:ident: $wide:ty, $n:literal, $lo:expr, $hi:expr) => {
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name(v: u128) -> u128 {
            map::<$wide, $n>(v, |x| $lo(x) + $hi(x))
        }
    };
}

extadd_pairwise! {
    /// `i16x8.extadd_pairwise_i8x16_s`.
    extadd_pairwise_i8_s: i16, 8, |x: i16| x << 8 >> 8, |x: i16| x >> 8
}
extadd_pairwise! {
    /// `i16x8.extadd_pairwise_i8x16_u`.
    extadd_pairwise_i8_u: u16, 8, |x: u16| x & 0xff, |x: u16| x >> 8
}
extadd_pairwise! {
    /// `i32x4.extadd_pairwise_i16x8_s`.
    extadd_pairwise_i16_s: i32, 4, |x: i32| x << 16 >> 16, |x: i32| x >> 16
}
extadd_pairwise! {
    /// `i32x4.extadd_pairwise_i16x8_u`.
    extadd_pairwise_i16_u: u32, 4, |x: u32| x & 0xffff, |x: u32| x >> 16
}

/// `i32x4.dot_i16x8_s`: the sum of the products of each pair of adjacent
/// `i16` lanes. The sum wraps: `2 * (-32768 * -32768)` is 2^31, which becomes
/// `i32::MIN`.
#[inline]
pub(crate) fn dot_i16_s(a: u128, b: u128) -> u128 {
    zip::<i32, 4>(a, b, |x, y| {
        let lo = (x << 16 >> 16) * (y << 16 >> 16);
        let hi = (x >> 16) * (y >> 16);
        lo.wrapping_add(hi)
    })
}

/// Expands to `pub(crate) fn $name(a: u128, b: u128) -> u128`, a `narrow`
/// from signed `$wide` lanes to `$narrow` lanes clamped to `$narrow`'s range:
/// the lanes of `a` fill the low half of the result, those of `b` the high.
macro_rules! narrow {
    ($(#[$doc:meta])* $name:ident: $wide:ty, $n:literal => $narrow:ty) => {
        $(#[$doc])*
        #[inline]
        pub(crate) fn $name(a: u128, b: u128) -> u128 {
            let sat = |x: $wide| x.clamp(<$narrow>::MIN as $wide, <$narrow>::MAX as $wide) as $narrow;
            let lo = join(split::<$wide, $n>(a).map(sat));
            let hi = join(split::<$wide, $n>(b).map(sat));
            lo | hi << 64
        }
    };
}

narrow! {
    /// `i8x16.narrow_i16x8_s`.
    narrow_i16_s: i16, 8 => i8
}
narrow! {
    /// `i8x16.narrow_i16x8_u`: the signed input clamped to 0..=255.
    narrow_i16_u: i16, 8 => u8
}
narrow! {
    /// `i16x8.narrow_i32x4_s`.
    narrow_i32_s: i32, 4 => i16
}
narrow! {
    /// `i16x8.narrow_i32x4_u`: the signed input clamped to 0..=65535.
    narrow_i32_u: i32, 4 => u16
}

#[cfg(test)]
mod tests {
    use super::super::repr::{join, split};
    use super::super::{binary, unary};
    use kiln_parser::NumOp::*;

    fn i8s(l: [i8; 16]) -> u128 {
        join(l)
    }
    fn i16s(l: [i16; 8]) -> u128 {
        join(l)
    }
    fn i32s(l: [i32; 4]) -> u128 {
        join(l)
    }
    fn i64s(l: [i64; 2]) -> u128 {
        join(l)
    }

    /// `[x, y, x, y, ...]` as `i8x16`.
    fn i8p(x: i8, y: i8) -> u128 {
        i8s(core::array::from_fn(|i| if i % 2 == 0 { x } else { y }))
    }

    #[test]
    fn wrapping_and_saturating_arithmetic() {
        let a = i8p(127, -128);
        let b = i8p(1, -1);
        assert_eq!(binary(I8x16Add, a, b), i8p(-128, 127));
        assert_eq!(binary(I8x16AddSatS, a, b), i8p(127, -128));
        assert_eq!(binary(I8x16SubSatS, a, b), i8p(126, -127));
        // Unsigned: 127 + 1 = 128; 0x80 + 0xff saturates to 0xff.
        assert_eq!(binary(I8x16AddSatU, a, b), i8p(-128, -1));
        assert_eq!(binary(I8x16SubSatU, b, a), i8p(0, 127));
        assert_eq!(binary(I8x16SubSatU, a, b), i8p(126, 0));
        let h = i16s([i16::MAX, i16::MIN, -1, 0, 1, 2, 3, 4]);
        assert_eq!(
            binary(I16x8AddSatS, h, i16s([1, -1, -1, 0, 0, 0, 0, 0])),
            i16s([i16::MAX, i16::MIN, -2, 0, 1, 2, 3, 4])
        );
        assert_eq!(
            binary(I16x8Mul, h, i16s([2; 8])),
            i16s([-2, 0, -2, 0, 2, 4, 6, 8])
        );
        assert_eq!(
            binary(
                I32x4Mul,
                i32s([0x1000_0000, -3, 7, i32::MIN]),
                i32s([16, 3, -7, -1])
            ),
            i32s([0, -9, -49, i32::MIN])
        );
        assert_eq!(
            binary(I64x2Sub, i64s([i64::MIN, 5]), i64s([1, 7])),
            i64s([i64::MAX, -2])
        );
        assert_eq!(
            binary(I64x2Mul, i64s([i64::MAX, -4]), i64s([2, -4])),
            i64s([-2, 16])
        );
    }

    #[test]
    fn min_max_avgr_abs_neg_popcnt() {
        let a = i8p(-1, 5);
        let b = i8p(1, 6);
        assert_eq!(binary(I8x16MinS, a, b), i8p(-1, 5));
        assert_eq!(binary(I8x16MinU, a, b), i8p(1, 5));
        assert_eq!(binary(I8x16MaxS, a, b), i8p(1, 6));
        assert_eq!(binary(I8x16MaxU, a, b), i8p(-1, 6));
        assert_eq!(
            binary(I32x4MinU, i32s([-1, 0, 3, 4]), i32s([1, 1, 3, -4])),
            i32s([1, 0, 3, 4])
        );
        // avgr_u rounds up: (255 + 0 + 1) / 2 = 128, (5 + 6 + 1) / 2 = 6.
        assert_eq!(binary(I8x16AvgrU, i8p(-1, 5), i8p(0, 6)), i8p(-128, 6));
        assert_eq!(
            binary(
                I16x8AvgrU,
                i16s([-1, -1, 1, 0, 0, 0, 0, 3]),
                i16s([-1, 0, 2, 0, 0, 0, 0, 4])
            ),
            i16s([-1, -0x8000, 2, 0, 0, 0, 0, 4])
        );
        assert_eq!(unary(I8x16Abs, i8p(-128, -5)), i8p(-128, 5));
        assert_eq!(unary(I8x16Neg, i8p(-128, -5)), i8p(-128, 5));
        assert_eq!(
            unary(I16x8Abs, i16s([i16::MIN, -1, 1, 0, 0, 0, 0, -7])),
            i16s([i16::MIN, 1, 1, 0, 0, 0, 0, 7])
        );
        assert_eq!(
            unary(I32x4Abs, i32s([i32::MIN, -1, 2, 0])),
            i32s([i32::MIN, 1, 2, 0])
        );
        assert_eq!(unary(I64x2Abs, i64s([i64::MIN, -9])), i64s([i64::MIN, 9]));
        assert_eq!(unary(I64x2Neg, i64s([i64::MIN, -9])), i64s([i64::MIN, 9]));
        assert_eq!(unary(I8x16Popcnt, i8p(-1, 0x55)), i8p(8, 4));
        assert_eq!(unary(I8x16Popcnt, 0), 0);
    }

    #[test]
    fn shifts_take_count_modulo_width() {
        let v = i8p(-128, 1);
        assert_eq!(binary(I8x16Shl, v, 1), i8p(0, 2));
        assert_eq!(binary(I8x16Shl, v, 9), i8p(0, 2));
        assert_eq!(binary(I8x16ShrS, v, 7), i8p(-1, 0));
        assert_eq!(binary(I8x16ShrS, v, 8), v);
        assert_eq!(binary(I8x16ShrU, v, 15), i8p(1, 0));
        // The count is an i32 slot: -1 is 31 mod 32, 15 mod 16, 63 mod 64.
        assert_eq!(
            binary(I16x8ShrU, i16s([i16::MIN; 8]), u128::from(u32::MAX)),
            i16s([1; 8])
        );
        assert_eq!(binary(I32x4Shl, i32s([1; 4]), 32), i32s([1; 4]));
        assert_eq!(
            binary(I32x4ShrS, i32s([i32::MIN; 4]), 33),
            i32s([-0x4000_0000; 4])
        );
        assert_eq!(binary(I64x2Shl, i64s([1, 3]), 65), i64s([2, 6]));
        assert_eq!(binary(I64x2ShrS, i64s([i64::MIN, -1]), 63), i64s([-1, -1]));
        assert_eq!(binary(I64x2ShrU, i64s([i64::MIN, -1]), 127), i64s([1, 1]));
        // Bits of the slot above 32 are not part of the count.
        assert_eq!(binary(I32x4Shl, i32s([1; 4]), (1 << 40) | 1), i32s([2; 4]));
    }

    #[test]
    fn narrow_saturates() {
        let a = i16s([-129, -128, 127, 128, 255, 256, -1, 0]);
        let b = i16s([i16::MIN, i16::MAX, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            binary(I8x16NarrowI16x8S, a, b),
            i8s([
                -128, -128, 127, 127, 127, 127, -1, 0, -128, 127, 1, 2, 3, 4, 5, 6
            ])
        );
        assert_eq!(
            split::<u8, 16>(binary(I8x16NarrowI16x8U, a, b)),
            [0, 0, 127, 128, 255, 255, 0, 0, 0, 255, 1, 2, 3, 4, 5, 6]
        );
        let c = i32s([-32769, 32768, 65536, -1]);
        assert_eq!(
            binary(I16x8NarrowI32x4S, c, i32s([1, 2, 3, 4])),
            i16s([i16::MIN, i16::MAX, i16::MAX, -1, 1, 2, 3, 4])
        );
        assert_eq!(
            split::<u16, 8>(binary(I16x8NarrowI32x4U, c, i32s([65535, 0, -5, 7]))),
            [0, 32768, 65535, 0, 65535, 0, 0, 7]
        );
    }

    #[test]
    fn extend_extmul_extadd() {
        let v = i8s([
            -1, 2, -3, 4, -128, 127, 0, 1, 10, -10, 20, -20, 30, -30, 40, -40,
        ]);
        assert_eq!(
            unary(I16x8ExtendLowI8x16S, v),
            i16s([-1, 2, -3, 4, -128, 127, 0, 1])
        );
        assert_eq!(
            unary(I16x8ExtendHighI8x16S, v),
            i16s([10, -10, 20, -20, 30, -30, 40, -40])
        );
        assert_eq!(
            unary(I16x8ExtendLowI8x16U, v),
            i16s([255, 2, 253, 4, 128, 127, 0, 1])
        );
        assert_eq!(
            unary(I64x2ExtendHighI32x4U, i32s([0, 0, -1, 5])),
            i64s([0xffff_ffff, 5])
        );
        assert_eq!(
            unary(I64x2ExtendLowI32x4S, i32s([-1, 5, 0, 0])),
            i64s([-1, 5])
        );
        assert_eq!(
            unary(
                I32x4ExtendHighI16x8S,
                i16s([0, 0, 0, 0, -1, 2, i16::MIN, 4])
            ),
            i32s([-1, 2, -32768, 4])
        );
        // extmul: exact products in the wide type.
        let m = i8s([-128; 16]);
        assert_eq!(binary(I16x8ExtMulLowI8x16S, m, m), i16s([16384; 8]));
        assert_eq!(
            binary(I16x8ExtMulHighI8x16U, m, i8s([-1; 16])),
            i16s([128 * 255; 8])
        );
        assert_eq!(
            binary(I32x4ExtMulLowI16x8U, i16s([-1; 8]), i16s([-1; 8])),
            i32s([-131_071; 4]) // 65535^2 = 0xfffe_0001
        );
        assert_eq!(
            binary(
                I64x2ExtMulHighI32x4S,
                i32s([0, 0, i32::MIN, -1]),
                i32s([0, 0, i32::MIN, 3])
            ),
            i64s([1 << 62, -3])
        );
        assert_eq!(
            binary(
                I64x2ExtMulLowI32x4U,
                i32s([-1, 2, 0, 0]),
                i32s([-1, 3, 0, 0])
            ),
            i64s([-0x1_ffff_ffff, 6]) // 0xffff_fffe_0000_0001
        );
        // extadd_pairwise: adjacent lanes.
        assert_eq!(
            unary(I16x8ExtAddPairwiseI8x16S, v),
            i16s([1, 1, -1, 1, 0, 0, 0, 0])
        );
        assert_eq!(
            unary(I16x8ExtAddPairwiseI8x16S, i8s([-128; 16])),
            i16s([-256; 8])
        );
        assert_eq!(
            unary(I16x8ExtAddPairwiseI8x16U, i8s([-1; 16])),
            i16s([510; 8])
        );
        assert_eq!(
            unary(
                I32x4ExtAddPairwiseI16x8S,
                i16s([i16::MIN, i16::MIN, 1, -2, 0, 0, i16::MAX, i16::MAX])
            ),
            i32s([-65536, -1, 0, 65534])
        );
        assert_eq!(
            unary(I32x4ExtAddPairwiseI16x8U, i16s([-1; 8])),
            i32s([131_070; 4])
        );
    }

    #[test]
    fn dot_and_q15mulr() {
        let a = i16s([1, 2, 3, 4, i16::MIN, i16::MIN, i16::MAX, i16::MAX]);
        let b = i16s([5, 6, -7, 8, i16::MIN, i16::MIN, i16::MAX, i16::MAX]);
        // 2^31 wraps to i32::MIN; 2 * 32767^2 = 2147352578 fits.
        assert_eq!(
            binary(I32x4DotI16x8S, a, b),
            i32s([17, 11, i32::MIN, 2_147_352_578])
        );
        let q = i16s([i16::MIN, i16::MIN, 0x4000, -0x4000, 1, -1, i16::MAX, 0x2000]);
        let r = i16s([
            i16::MIN,
            i16::MAX,
            0x4000,
            0x4000,
            0x4000,
            0x4000,
            i16::MAX,
            3,
        ]);
        // 0x4000 * 0x4000 = 2^28, >> 15 = 0x2000; 1 * 0x4000 + 0x4000 = 2^15,
        // rounds to 1; -1 * 0x4000 + 0x4000 = 0.
        assert_eq!(
            binary(I16x8Q15MulrSatS, q, r),
            i16s([i16::MAX, -32767, 0x2000, -0x2000, 1, 0, 32766, 1])
        );
    }
}
