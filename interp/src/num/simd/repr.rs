//! How a `v128` holds its lanes, and the lane-wise plumbing every family uses.
//!
//! A `v128` is a `u128` with lane 0 in the least significant bits, which is
//! the order of its 16 little-endian bytes in memory. `split` turns it into
//! an array of lanes and `join` back; both are shifts and truncations that
//! LLVM sees through, so a lane-wise closure over the array compiles to the
//! host's vector instructions where it has them, and to straight-line code
//! elsewhere. Nothing here branches or indexes.
//!
//! `split`/`join` also take fewer lanes than fill 128 bits (`N * BITS <= 128`,
//! checked at compile time): `split::<i8, 8>(v)` is the low half of an
//! `i8x16`, and `join::<i32, 2>` leaves the upper 64 bits zero, which is what
//! the `_low`/`_high`/`_zero` operators need.

/// A lane type: an integer or float of 8 to 64 bits.
pub(crate) trait Lane: Copy {
    /// The lane's width in bits.
    const BITS: u32;
    /// The lane held in the low [`Lane::BITS`] bits of `v`; higher bits are
    /// ignored.
    fn from_low(v: u128) -> Self;
    /// The lane's bits, zero-extended.
    fn to_low(self) -> u128;
}

/// Expands to `impl Lane for $int` for each `$int => $unsigned` pair: a
/// truncating cast in, a cast to the same-width unsigned type and a
/// zero-extension out.
macro_rules! int_lane {
    ($($int:ty => $unsigned:ty),*) => {$(
        impl Lane for $int {
            const BITS: u32 = <$int>::BITS;
            #[inline(always)]
            fn from_low(v: u128) -> Self {
                v as $int
            }
            #[inline(always)]
            fn to_low(self) -> u128 {
                u128::from(self as $unsigned)
            }
        }
    )*};
}

int_lane!(i8 => u8, u8 => u8, i16 => u16, u16 => u16, i32 => u32, u32 => u32, i64 => u64, u64 => u64);

impl Lane for f32 {
    const BITS: u32 = 32;
    #[inline(always)]
    fn from_low(v: u128) -> Self {
        f32::from_bits(v as u32)
    }
    #[inline(always)]
    fn to_low(self) -> u128 {
        u128::from(self.to_bits())
    }
}

impl Lane for f64 {
    const BITS: u32 = 64;
    #[inline(always)]
    fn from_low(v: u128) -> Self {
        f64::from_bits(v as u64)
    }
    #[inline(always)]
    fn to_low(self) -> u128 {
        u128::from(self.to_bits())
    }
}

/// All ones in the low `T::BITS` bits.
#[inline(always)]
pub(crate) fn ones<T: Lane>() -> u128 {
    u128::MAX >> (128 - T::BITS)
}

/// The first `N` lanes of type `T` of `v`, lane 0 first.
#[inline(always)]
pub(crate) fn split<T: Lane, const N: usize>(v: u128) -> [T; N] {
    const { assert!(N * T::BITS as usize <= 128) };
    core::array::from_fn(|i| T::from_low(v >> (i as u32 * T::BITS)))
}

/// The vector whose first `N` lanes of type `T` are `lanes` (lane 0 first)
/// and whose remaining bits, if any, are zero.
#[inline(always)]
pub(crate) fn join<T: Lane, const N: usize>(lanes: [T; N]) -> u128 {
    const { assert!(N * T::BITS as usize <= 128) };
    lanes
        .into_iter()
        .enumerate()
        .fold(0, |acc, (i, x)| acc | (x.to_low() << (i as u32 * T::BITS)))
}

/// `f` applied to each lane of `v`.
#[inline(always)]
pub(crate) fn map<T: Lane, const N: usize>(v: u128, f: impl Fn(T) -> T) -> u128 {
    join(split::<T, N>(v).map(f))
}

/// `f` applied to each pair of corresponding lanes of `a` and `b`.
#[inline(always)]
pub(crate) fn zip<T: Lane, const N: usize>(a: u128, b: u128, f: impl Fn(T, T) -> T) -> u128 {
    let mut x = split::<T, N>(a);
    for (x, y) in x.iter_mut().zip(split::<T, N>(b)) {
        *x = f(*x, y);
    }
    join(x)
}

/// A lane of `T`'s width with every bit equal to `b`: the result lane of a
/// comparison.
#[inline(always)]
pub(crate) fn mask<T: Lane>(b: bool) -> u128 {
    ones::<T>() & 0u128.wrapping_sub(u128::from(b))
}

/// The vector of `N` copies of the lane in the low bits of `x`.
#[inline(always)]
pub(crate) fn splat<T: Lane, const N: usize>(x: u128) -> u128 {
    join([T::from_low(x); N])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_order_is_little_endian() {
        let bytes: [u8; 16] = core::array::from_fn(|i| i as u8);
        let v = u128::from_le_bytes(bytes);
        assert_eq!(split::<u8, 16>(v), bytes);
        assert_eq!(split::<u16, 8>(v)[1], 0x0302);
        assert_eq!(split::<u32, 4>(v)[3], 0x0f0e_0d0c);
        assert_eq!(split::<i64, 2>(v)[0], 0x0706_0504_0302_0100);
        assert_eq!(join(split::<i16, 8>(v)), v);
        assert_eq!(join(split::<f32, 4>(v)), v);
        // Fewer lanes: the low part, the rest zero.
        assert_eq!(split::<u8, 4>(v), [0, 1, 2, 3]);
        assert_eq!(join([0x0102_u16, 0x0304]), 0x0304_0102);
        assert_eq!(join([-1i8; 8]), u128::from(u64::MAX));
    }

    #[test]
    fn masks_and_splats() {
        assert_eq!(mask::<i8>(true), 0xff);
        assert_eq!(mask::<f64>(true), u128::from(u64::MAX));
        assert_eq!(mask::<u16>(false), 0);
        assert_eq!(
            splat::<u16, 8>(0xdead_1234),
            0x1234_1234_1234_1234_1234_1234_1234_1234
        );
        assert_eq!(ones::<u64>(), u128::from(u64::MAX));
    }
}
