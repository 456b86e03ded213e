//! Float operators whose WebAssembly meaning differs from the nearest Rust
//! method: `min`/`max` (NaN-propagating, and -0 below +0, where Rust's
//! `f32::min` returns the non-NaN operand) and the sign operations `abs`,
//! `neg` and `copysign`, which the spec defines on the bits so that a NaN's
//! payload survives them.
//!
//! The rounding operators `ceil`, `floor`, `trunc` and `nearest` are Rust's
//! (`round_ties_even` for `nearest`) behind [`round32`]/[`round64`], which
//! quiet a NaN operand themselves: the spec wants an arithmetic (quiet) NaN
//! back from a signalling one, and the libm routines Rust may call return a
//! signalling NaN unchanged. The other float operators are Rust's own IEEE 754
//! operations, written inline in [`super::unary`] and [`super::binary`]:
//! `+ - * /` and `sqrt`, which quiet NaNs in hardware.

const SIGN32: u32 = 1 << 31;
const SIGN64: u64 = 1 << 63;
const QUIET32: u32 = 1 << 22;
const QUIET64: u64 = 1 << 51;

/// A rounding operator on `f32`: `round(x)`, except that a NaN comes back
/// with its quiet bit set and its sign and payload kept (canonical stays
/// canonical).
#[inline]
pub fn round32(x: f32, round: impl FnOnce(f32) -> f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(x.to_bits() | QUIET32)
    } else {
        round(x)
    }
}

/// [`round32`] for `f64`.
#[inline]
pub fn round64(x: f64, round: impl FnOnce(f64) -> f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(x.to_bits() | QUIET64)
    } else {
        round(x)
    }
}

/// `f32.abs`: clears the sign bit, nothing else (a NaN keeps its payload).
#[inline]
pub fn abs32(bits: u32) -> u32 {
    bits & !SIGN32
}

/// `f64.abs`, as [`abs32`].
#[inline]
pub fn abs64(bits: u64) -> u64 {
    bits & !SIGN64
}

/// `f32.neg`: flips the sign bit, nothing else.
#[inline]
pub fn neg32(bits: u32) -> u32 {
    bits ^ SIGN32
}

/// `f64.neg`, as [`neg32`].
#[inline]
pub fn neg64(bits: u64) -> u64 {
    bits ^ SIGN64
}

/// `f32.copysign`: the magnitude bits of `x` with the sign bit of `y`, even
/// when either is a NaN.
#[inline]
pub fn copysign32(x: u32, y: u32) -> u32 {
    (x & !SIGN32) | (y & SIGN32)
}

/// `f64.copysign`, as [`copysign32`].
#[inline]
pub fn copysign64(x: u64, y: u64) -> u64 {
    (x & !SIGN64) | (y & SIGN64)
}

/// Expands to `min`/`max` for one float type: `$min(a, b)` and `$max(a, b)`
/// with the spec's rules (a NaN operand gives a NaN; -0 is below +0).
macro_rules! min_max {
    ($float:ident, $quiet:ident, $min:ident, $max:ident) => {
        #[doc = concat!("`", stringify!($float), ".min`: NaN if either operand is, else the smaller, ")]
        /// with -0 below +0.
        #[inline]
        pub fn $min(a: $float, b: $float) -> $float {
            if a.is_nan() || b.is_nan() {
                // An arithmetic operation propagates the NaN the way the spec
                // allows for `min` (canonical if the inputs are). The quiet bit
                // is set explicitly: hardware sets it, but the optimiser may fold
                // `a + b` of constants and keep a signalling NaN as it is.
                return $float::from_bits((a + b).to_bits() | $quiet);
            }
            if a == b {
                // Equal non-NaN values have equal bits, except ±0, where the
                // result is -0: OR-ing keeps a set sign bit.
                return $float::from_bits(a.to_bits() | b.to_bits());
            }
            if a < b { a } else { b }
        }

        #[doc = concat!("`", stringify!($float), ".max`: NaN if either operand is, else the larger, ")]
        /// with +0 above -0.
        #[inline]
        pub fn $max(a: $float, b: $float) -> $float {
            if a.is_nan() || b.is_nan() {
                return $float::from_bits((a + b).to_bits() | $quiet);
            }
            if a == b {
                // ±0: the result is +0, so AND-ing keeps a sign bit only if
                // both have it.
                return $float::from_bits(a.to_bits() & b.to_bits());
            }
            if a > b { a } else { b }
        }
    };
}

min_max!(f32, QUIET32, min32, max32);
min_max!(f64, QUIET64, min64, max64);

#[cfg(test)]
mod tests {
    use super::super::{binary, unary};
    use kiln_parser::NumOp::{self, *};

    /// An f32 in its slot.
    fn s(v: f32) -> u64 {
        u64::from(v.to_bits())
    }

    /// An f64 in its slot.
    fn t(v: f64) -> u64 {
        v.to_bits()
    }

    /// Canonical NaNs; signalling NaNs with a payload and the sign set
    /// (`-nan:0x200000`, `-nan:0x4000000000000`); a quiet NaN with a payload.
    const NAN32: u64 = 0x7fc0_0000;
    const NEG_SNAN32: u64 = 0xffa0_0000;
    const NAN64: u64 = 0x7ff8_0000_0000_0000;
    const NEG_SNAN64: u64 = 0xfff4_0000_0000_0000;
    const NEG_QNAN32_PAYLOAD: u64 = 0xffe0_0001;

    fn check_binary(cases: &[(NumOp, u64, u64, u64)]) {
        for &(op, x, y, want) in cases {
            assert_eq!(binary(op, x, y), Ok(want), "{}({x:#x}, {y:#x})", op.name());
        }
    }

    fn check_unary(cases: &[(NumOp, u64, u64)]) {
        for &(op, x, want) in cases {
            assert_eq!(unary(op, x), Ok(want), "{}({x:#x})", op.name());
        }
    }

    /// The result of `op` is a NaN with the quiet bit set (an "arithmetic
    /// NaN", all the spec asks when a NaN operand is not canonical).
    fn assert_arithmetic_nan(op: NumOp, result: Result<u64, kiln_runtime::TrapCode>) {
        let is_f32 = op.result() == kiln_parser::ValType::F32;
        let ok = match result {
            Ok(bits) if is_f32 => bits >> 32 == 0 && bits & 0x7fc0_0000 == 0x7fc0_0000,
            Ok(bits) => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            Err(_) => false,
        };
        assert!(ok, "{}: {result:x?} is not an arithmetic NaN", op.name());
    }

    #[test]
    fn min_max_signed_zeros_and_order() {
        check_binary(&[
            (F32Min, s(-0.0), s(0.0), s(-0.0)),
            (F32Min, s(0.0), s(-0.0), s(-0.0)),
            (F32Max, s(-0.0), s(0.0), s(0.0)),
            (F32Max, s(0.0), s(-0.0), s(0.0)),
            (F32Min, s(-0.0), s(-0.0), s(-0.0)),
            (F32Max, s(-0.0), s(-0.0), s(-0.0)),
            (F32Min, s(1.0), s(-2.0), s(-2.0)),
            (F32Max, s(1.0), s(-2.0), s(1.0)),
            (
                F32Min,
                s(f32::NEG_INFINITY),
                s(f32::MIN),
                s(f32::NEG_INFINITY),
            ),
            (F32Max, s(f32::INFINITY), s(f32::MAX), s(f32::INFINITY)),
            (F64Min, t(-0.0), t(0.0), t(-0.0)),
            (F64Min, t(0.0), t(-0.0), t(-0.0)),
            (F64Max, t(-0.0), t(0.0), t(0.0)),
            (F64Max, t(0.0), t(-0.0), t(0.0)),
            (F64Min, t(3.5), t(3.25), t(3.25)),
            (F64Max, t(3.5), t(3.25), t(3.5)),
        ]);
    }

    #[test]
    fn min_max_propagate_nan() {
        for (x, y) in [(NAN32, s(1.0)), (s(1.0), NAN32), (NEG_SNAN32, s(-0.0))] {
            for op in [F32Min, F32Max] {
                assert_arithmetic_nan(op, binary(op, x, y));
            }
        }
        for (x, y) in [
            (NAN64, t(1.0)),
            (t(f64::INFINITY), NAN64),
            (t(0.0), NEG_SNAN64),
        ] {
            for op in [F64Min, F64Max] {
                assert_arithmetic_nan(op, binary(op, x, y));
            }
        }
        // A signalling NaN operand still gives a quiet NaN.
        assert_arithmetic_nan(F32Min, binary(F32Min, 0x7fa0_0000, s(1.0)));
        assert_arithmetic_nan(F64Max, binary(F64Max, t(1.0), 0x7ff4_0000_0000_0000));
    }

    #[test]
    fn sign_operations_are_bit_operations() {
        check_unary(&[
            (F32Abs, s(-1.5), s(1.5)),
            (F32Abs, s(-0.0), s(0.0)),
            (F32Abs, NEG_SNAN32, 0x7fa0_0000),
            (F32Abs, NEG_QNAN32_PAYLOAD, 0x7fe0_0001),
            (F32Abs, 0xff80_0001, 0x7f80_0001), // signalling NaN stays signalling
            (F32Neg, s(0.0), s(-0.0)),
            (F32Neg, NAN32, 0xffc0_0000),
            (F32Neg, 0x7f80_0001, 0xff80_0001),
            (F64Abs, NEG_SNAN64, 0x7ff4_0000_0000_0000),
            (F64Abs, t(-0.0), t(0.0)),
            (F64Neg, t(f64::INFINITY), t(f64::NEG_INFINITY)),
            (F64Neg, 0x7ff0_0000_0000_0001, 0xfff0_0000_0000_0001),
        ]);
        check_binary(&[
            (F32Copysign, s(1.0), s(-0.0), s(-1.0)),
            (F32Copysign, s(-1.0), s(0.0), s(1.0)),
            (F32Copysign, s(2.0), NEG_SNAN32, s(-2.0)),
            (F32Copysign, s(2.0), NAN32, s(2.0)),
            (F32Copysign, NEG_SNAN32, s(1.0), 0x7fa0_0000),
            (F32Copysign, 0x7f80_0001, s(-1.0), 0xff80_0001),
            (F64Copysign, t(1.0), t(-0.0), t(-1.0)),
            (F64Copysign, t(3.0), NEG_SNAN64, t(-3.0)),
            (F64Copysign, NEG_SNAN64, t(0.0), 0x7ff4_0000_0000_0000),
        ]);
    }

    #[test]
    fn rounding() {
        check_unary(&[
            (F32Nearest, s(2.5), s(2.0)),
            (F32Nearest, s(3.5), s(4.0)),
            (F32Nearest, s(-0.5), s(-0.0)),
            (F32Nearest, s(0.5), s(0.0)),
            (F32Nearest, s(-1.5), s(-2.0)),
            (F32Nearest, s(4_194_304.5), s(4_194_304.0)),
            (F32Nearest, s(8_388_609.0), s(8_388_609.0)),
            (F32Nearest, s(f32::NEG_INFINITY), s(f32::NEG_INFINITY)),
            (F64Nearest, t(2.5), t(2.0)),
            (F64Nearest, t(-0.5), t(-0.0)),
            (F64Nearest, t(-3.5), t(-4.0)),
            (
                F64Nearest,
                t(4_503_599_627_370_497.0),
                t(4_503_599_627_370_497.0),
            ),
            (F32Ceil, s(-0.5), s(-0.0)),
            (F32Ceil, s(1.1), s(2.0)),
            (F32Floor, s(-0.5), s(-1.0)),
            (F32Floor, s(0.5), s(0.0)),
            (F32Trunc, s(-1.9), s(-1.0)),
            (F32Trunc, s(-0.9), s(-0.0)),
            (F64Ceil, t(-0.5), t(-0.0)),
            (F64Floor, t(-0.0), t(-0.0)),
            (F64Floor, t(1.9), t(1.0)),
            (F64Trunc, t(-2.7), t(-2.0)),
        ]);
        for op in [F32Nearest, F32Ceil, F32Floor, F32Trunc, F32Sqrt] {
            for nan in [NAN32, NEG_SNAN32, NEG_QNAN32_PAYLOAD, 0x7f80_0001] {
                assert_arithmetic_nan(op, unary(op, nan));
            }
            // A canonical NaN stays canonical.
            assert_eq!(
                unary(op, NAN32).map(|b| b & 0x7fff_ffff),
                Ok(NAN32),
                "{}",
                op.name()
            );
        }
        for op in [F64Nearest, F64Ceil, F64Floor, F64Trunc, F64Sqrt] {
            for nan in [NAN64, NEG_SNAN64, 0x7ff0_0000_0000_0001] {
                assert_arithmetic_nan(op, unary(op, nan));
            }
            let canonical = unary(op, NAN64).map(|b| b & !(1 << 63));
            assert_eq!(canonical, Ok(NAN64), "{}", op.name());
        }
    }

    #[test]
    fn arithmetic_is_ieee() {
        check_binary(&[
            (F32Add, s(0.1), s(0.2), s(0.1 + 0.2)),
            (F32Add, s(-0.0), s(0.0), s(0.0)),
            (F32Add, s(-0.0), s(-0.0), s(-0.0)),
            (F32Sub, s(0.0), s(0.0), s(0.0)),
            (F32Sub, s(-0.0), s(0.0), s(-0.0)),
            (F32Mul, s(-0.0), s(5.0), s(-0.0)),
            (F32Mul, s(f32::MAX), s(2.0), s(f32::INFINITY)),
            (F32Div, s(1.0), s(-0.0), s(f32::NEG_INFINITY)),
            (F32Div, s(1.0), s(3.0), s(1.0 / 3.0)),
            (F64Add, t(0.1), t(0.2), t(0.300_000_000_000_000_04)),
            (
                F64Sub,
                t(1.0),
                t(f64::EPSILON / 2.0),
                t(1.0 - f64::EPSILON / 2.0),
            ),
            (F64Mul, t(1e308), t(10.0), t(f64::INFINITY)),
            (F64Div, t(-1.0), t(0.0), t(f64::NEG_INFINITY)),
        ]);
        check_unary(&[
            (F32Sqrt, s(4.0), s(2.0)),
            (F32Sqrt, s(-0.0), s(-0.0)),
            (F64Sqrt, t(2.0), t(std::f64::consts::SQRT_2)),
            (F64Sqrt, t(f64::INFINITY), t(f64::INFINITY)),
        ]);
        assert_arithmetic_nan(F32Sqrt, unary(F32Sqrt, s(-1.0)));
        assert_arithmetic_nan(F32Div, binary(F32Div, s(0.0), s(0.0)));
        assert_arithmetic_nan(F32Sub, binary(F32Sub, s(f32::INFINITY), s(f32::INFINITY)));
        assert_arithmetic_nan(F64Mul, binary(F64Mul, t(0.0), t(f64::INFINITY)));
        assert_arithmetic_nan(F64Add, binary(F64Add, NEG_SNAN64, t(1.0)));
    }

    #[test]
    fn comparisons_with_nan_and_zeros() {
        check_binary(&[
            (F32Eq, s(0.0), s(-0.0), 1),
            (F32Eq, NAN32, NAN32, 0),
            (F32Ne, NAN32, NAN32, 1),
            (F32Ne, s(1.0), s(1.0), 0),
            (F32Lt, s(-0.0), s(0.0), 0),
            (F32Lt, NAN32, s(1.0), 0),
            (F32Lt, s(-1.0), s(1.0), 1),
            (F32Gt, s(1.0), NAN32, 0),
            (F32Le, s(-0.0), s(0.0), 1),
            (F32Le, NAN32, NAN32, 0),
            (F32Ge, s(f32::INFINITY), s(f32::MAX), 1),
            (F32Ge, NEG_SNAN32, s(0.0), 0),
            (F64Eq, t(-0.0), t(0.0), 1),
            (F64Eq, NAN64, NAN64, 0),
            (F64Ne, NAN64, t(1.0), 1),
            (F64Lt, t(1.0), NAN64, 0),
            (F64Gt, t(2.0), t(1.0), 1),
            (F64Le, NAN64, t(1.0), 0),
            (F64Ge, t(0.0), t(-0.0), 1),
        ]);
    }
}
