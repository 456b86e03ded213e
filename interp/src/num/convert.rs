//! The trapping float-to-integer truncations (`iNN.trunc_fMM_s/u`).
//!
//! A NaN traps with "invalid conversion to integer"; a value whose truncation
//! toward zero is outside the integer type traps with "integer overflow".
//! The range test compares the float against two exact bounds in the float's
//! own type, so that no rounding happens in the test itself: `lo < x < hi`,
//! where `lo` is the greatest float whose truncation is below the integer
//! minimum and `hi` the least float whose truncation is above the maximum.
//!
//! For example `i32.trunc_f32_s` accepts `-2147483904.0 < x < 2147483648.0`:
//! -2^31 - 1 is not an `f32`, and the `f32` just below -2^31 is
//! -2^31 - 2^8. For the unsigned ones `lo` is -1.0, so `-0.9` truncates to 0.
//!
//! Inside the range, Rust's `as` truncates toward zero exactly. The other
//! conversions (`trunc_sat`, `convert`, `demote`, `promote`) are plain `as`
//! casts, written in [`super::unary`].

use kiln_runtime::TrapCode;

/// Expands to `pub fn $name(x: $float) -> Result<$int, TrapCode>` for one
/// trapping truncation, with `$lo` and `$hi` the exclusive bounds described
/// in the module docs (written as exact literals of `$float`).
macro_rules! trunc {
    ($(#[$doc:meta])* $name:ident: $float:ty => $int:ty, $lo:literal < x < $hi:literal) => {
        $(#[$doc])*
        #[inline]
        pub fn $name(x: $float) -> Result<$int, TrapCode> {
            if x.is_nan() {
                return Err(TrapCode::InvalidConversionToInteger);
            }
            if $lo < x && x < $hi {
                Ok(x as $int)
            } else {
                Err(TrapCode::IntegerOverflow)
            }
        }
    };
}

trunc! {
    /// `i32.trunc_f32_s`; -2147483904 = -2^31 - 2^8.
    i32_trunc_f32_s: f32 => i32, -2147483904.0 < x < 2147483648.0
}
trunc! {
    /// `i32.trunc_f32_u`.
    i32_trunc_f32_u: f32 => u32, -1.0 < x < 4294967296.0
}
trunc! {
    /// `i32.trunc_f64_s`; -2^31 - 1 is an exact `f64`.
    i32_trunc_f64_s: f64 => i32, -2147483649.0 < x < 2147483648.0
}
trunc! {
    /// `i32.trunc_f64_u`.
    i32_trunc_f64_u: f64 => u32, -1.0 < x < 4294967296.0
}
trunc! {
    /// `i64.trunc_f32_s`; the lower bound is -2^63 - 2^40.
    i64_trunc_f32_s: f32 => i64, -9223373136366403584.0 < x < 9223372036854775808.0
}
trunc! {
    /// `i64.trunc_f32_u`; the upper bound is 2^64.
    i64_trunc_f32_u: f32 => u64, -1.0 < x < 18446744073709551616.0
}
trunc! {
    /// `i64.trunc_f64_s`; the lower bound is -2^63 - 2^11.
    i64_trunc_f64_s: f64 => i64, -9223372036854777856.0 < x < 9223372036854775808.0
}
trunc! {
    /// `i64.trunc_f64_u`; the upper bound is 2^64.
    i64_trunc_f64_u: f64 => u64, -1.0 < x < 18446744073709551616.0
}

#[cfg(test)]
mod tests {
    use super::super::unary;
    use kiln_parser::NumOp::{self, *};
    use kiln_runtime::TrapCode::{self, *};

    fn s(v: f32) -> u64 {
        u64::from(v.to_bits())
    }

    fn t(v: f64) -> u64 {
        v.to_bits()
    }

    fn w(v: i32) -> u64 {
        u64::from(v as u32)
    }

    fn d(v: i64) -> u64 {
        v as u64
    }

    const NAN32: u64 = 0x7fc0_0000;
    const NEG_SNAN32: u64 = 0xffa0_0000;
    const NAN64: u64 = 0x7ff8_0000_0000_0000;

    fn check(cases: &[(NumOp, u64, Result<u64, TrapCode>)]) {
        for &(op, x, want) in cases {
            assert_eq!(unary(op, x), want, "{}({x:#x})", op.name());
        }
    }

    #[test]
    fn trapping_truncation() {
        check(&[
            (I32TruncF32S, s(2147483520.0), Ok(w(2147483520))),
            (I32TruncF32S, s(2147483648.0), Err(IntegerOverflow)),
            (I32TruncF32S, s(-2147483648.0), Ok(w(i32::MIN))),
            (I32TruncF32S, s(-2147483904.0), Err(IntegerOverflow)),
            (I32TruncF32S, s(-1.9), Ok(w(-1))),
            (I32TruncF32S, s(-0.0), Ok(0)),
            (I32TruncF32S, s(f32::INFINITY), Err(IntegerOverflow)),
            (I32TruncF32S, NAN32, Err(InvalidConversionToInteger)),
            (I32TruncF32S, NEG_SNAN32, Err(InvalidConversionToInteger)),
            (I32TruncF32U, s(4294967040.0), Ok(w(-256))),
            (I32TruncF32U, s(4294967296.0), Err(IntegerOverflow)),
            (I32TruncF32U, s(-0.9), Ok(0)),
            (I32TruncF32U, s(-1.0), Err(IntegerOverflow)),
            (I32TruncF64S, t(2147483647.9), Ok(w(i32::MAX))),
            (I32TruncF64S, t(2147483648.0), Err(IntegerOverflow)),
            (I32TruncF64S, t(-2147483648.9), Ok(w(i32::MIN))),
            (I32TruncF64S, t(-2147483649.0), Err(IntegerOverflow)),
            (I32TruncF64S, NAN64, Err(InvalidConversionToInteger)),
            (I32TruncF64U, t(4294967295.9), Ok(0xffff_ffff)),
            (I32TruncF64U, t(4294967296.0), Err(IntegerOverflow)),
            (I32TruncF64U, t(-0.9), Ok(0)),
            (I32TruncF64U, t(-1.0), Err(IntegerOverflow)),
            (I32TruncF64U, t(1e16), Err(IntegerOverflow)),
            (I64TruncF32S, s(-9223372036854775808.0), Ok(d(i64::MIN))),
            (I64TruncF32S, s(9223372036854775808.0), Err(IntegerOverflow)),
            (
                I64TruncF32S,
                s(-9223373136366403584.0),
                Err(IntegerOverflow),
            ),
            (
                I64TruncF32S,
                s(9223371487098961920.0),
                Ok(9223371487098961920),
            ),
            (
                I64TruncF32U,
                s(18446742974197923840.0),
                Ok(18446742974197923840),
            ),
            (
                I64TruncF32U,
                s(18446744073709551616.0),
                Err(IntegerOverflow),
            ),
            (I64TruncF32U, s(-0.9), Ok(0)),
            (I64TruncF32U, NAN32, Err(InvalidConversionToInteger)),
            (I64TruncF64S, t(9223372036854775807.0), Err(IntegerOverflow)),
            (
                I64TruncF64S,
                t(9223372036854774784.0),
                Ok(9223372036854774784),
            ),
            (I64TruncF64S, t(-9223372036854775808.0), Ok(d(i64::MIN))),
            (
                I64TruncF64S,
                t(-9223372036854777856.0),
                Err(IntegerOverflow),
            ),
            (I64TruncF64S, t(-1.5), Ok(d(-1))),
            (
                I64TruncF64U,
                t(18446744073709549568.0),
                Ok(18446744073709549568),
            ),
            (
                I64TruncF64U,
                t(18446744073709551616.0),
                Err(IntegerOverflow),
            ),
            (I64TruncF64U, t(-0.9), Ok(0)),
            (I64TruncF64U, t(-1.0), Err(IntegerOverflow)),
            (I64TruncF64U, NAN64, Err(InvalidConversionToInteger)),
        ]);
    }

    /// Each bound rejects itself and accepts its neighbour inside the range,
    /// so the literals in the `trunc!` rows are exact and tight.
    #[test]
    fn truncation_bounds_are_tight() {
        let f32_ops = [
            (I32TruncF32S, -2147483904.0f32, 2147483648.0f32),
            (I32TruncF32U, -1.0, 4294967296.0),
            (I64TruncF32S, -9223373136366403584.0, 9223372036854775808.0),
            (I64TruncF32U, -1.0, 18446744073709551616.0),
        ];
        for (op, lo, hi) in f32_ops {
            assert_eq!(unary(op, s(lo)), Err(IntegerOverflow), "{} lo", op.name());
            assert_eq!(unary(op, s(hi)), Err(IntegerOverflow), "{} hi", op.name());
            assert!(unary(op, s(lo.next_up())).is_ok(), "{} lo+", op.name());
            assert!(unary(op, s(hi.next_down())).is_ok(), "{} hi-", op.name());
        }
        let f64_ops = [
            (I32TruncF64S, -2147483649.0f64, 2147483648.0f64),
            (I32TruncF64U, -1.0, 4294967296.0),
            (I64TruncF64S, -9223372036854777856.0, 9223372036854775808.0),
            (I64TruncF64U, -1.0, 18446744073709551616.0),
        ];
        for (op, lo, hi) in f64_ops {
            assert_eq!(unary(op, t(lo)), Err(IntegerOverflow), "{} lo", op.name());
            assert_eq!(unary(op, t(hi)), Err(IntegerOverflow), "{} hi", op.name());
            assert!(unary(op, t(lo.next_up())).is_ok(), "{} lo+", op.name());
            assert!(unary(op, t(hi.next_down())).is_ok(), "{} hi-", op.name());
        }
    }

    #[test]
    fn saturating_truncation() {
        check(&[
            (I32TruncSatF32S, NAN32, Ok(0)),
            (I32TruncSatF32S, NEG_SNAN32, Ok(0)),
            (I32TruncSatF32S, s(2147483648.0), Ok(w(i32::MAX))),
            (I32TruncSatF32S, s(-2147483904.0), Ok(w(i32::MIN))),
            (I32TruncSatF32S, s(f32::NEG_INFINITY), Ok(w(i32::MIN))),
            (I32TruncSatF32S, s(-1.9), Ok(w(-1))),
            (I32TruncSatF32U, s(-1.0), Ok(0)),
            (I32TruncSatF32U, s(-0.9), Ok(0)),
            (I32TruncSatF32U, s(4294967296.0), Ok(0xffff_ffff)),
            (I32TruncSatF64S, t(1e100), Ok(w(i32::MAX))),
            (I32TruncSatF64S, t(-2147483648.9), Ok(w(i32::MIN))),
            (I32TruncSatF64S, NAN64, Ok(0)),
            (I32TruncSatF64U, t(4294967295.9), Ok(0xffff_ffff)),
            (I32TruncSatF64U, t(f64::INFINITY), Ok(0xffff_ffff)),
            (I64TruncSatF32S, s(f32::INFINITY), Ok(d(i64::MAX))),
            (I64TruncSatF32S, s(-1e30), Ok(d(i64::MIN))),
            (I64TruncSatF32U, s(1e30), Ok(u64::MAX)),
            (I64TruncSatF32U, NAN32, Ok(0)),
            (I64TruncSatF64S, t(9223372036854775807.0), Ok(d(i64::MAX))),
            (I64TruncSatF64S, t(-1e300), Ok(d(i64::MIN))),
            (I64TruncSatF64S, NAN64, Ok(0)),
            (I64TruncSatF64U, t(18446744073709551616.0), Ok(u64::MAX)),
            (I64TruncSatF64U, t(-5.0), Ok(0)),
            (I64TruncSatF64U, t(1.9), Ok(1)),
        ]);
    }

    #[test]
    fn int_to_float_rounds_to_nearest_even() {
        check(&[
            (F32ConvertI32S, w(16777217), Ok(s(16777216.0))),
            (F32ConvertI32S, w(16777219), Ok(s(16777220.0))),
            (F32ConvertI32S, w(i32::MIN), Ok(s(-2147483648.0))),
            (F32ConvertI32U, w(-1), Ok(s(4294967296.0))),
            (F32ConvertI32U, w(i32::MIN), Ok(s(2147483648.0))),
            (F32ConvertI64S, d(i64::MIN), Ok(s(-9223372036854775808.0))),
            // 2^53 + 2^29 + 1: rounding through f64 first would give 2^53.
            (F32ConvertI64S, 9007199791611905, Ok(s(9007200328482816.0))),
            (
                F32ConvertI64S,
                d(-9007199791611905),
                Ok(s(-9007200328482816.0)),
            ),
            (F32ConvertI64U, u64::MAX, Ok(s(18446744073709551616.0))),
            // 2^63 + 2^39 + 1: above the halfway point, so rounds up.
            (
                F32ConvertI64U,
                0x8000_0080_0000_0001,
                Ok(s(9223373136366403584.0)),
            ),
            (
                F32ConvertI64U,
                0x8000_0080_0000_0000,
                Ok(s(9223372036854775808.0)),
            ),
            (F64ConvertI32S, w(-1), Ok(t(-1.0))),
            (F64ConvertI32U, w(-1), Ok(t(4294967295.0))),
            (F64ConvertI64S, 9007199254740993, Ok(t(9007199254740992.0))),
            (F64ConvertI64S, 9007199254740995, Ok(t(9007199254740996.0))),
            (F64ConvertI64U, u64::MAX, Ok(t(18446744073709551616.0))),
            (
                F64ConvertI64U,
                0x8000_0000_0000_0401,
                Ok(t(9223372036854777856.0)),
            ),
            (
                F64ConvertI64U,
                0x8000_0000_0000_0400,
                Ok(t(9223372036854775808.0)),
            ),
        ]);
    }

    #[test]
    fn demote_promote_and_reinterpret() {
        let one_plus_half_ulp = 1.0 + f64::from(f32::EPSILON) / 2.0;
        check(&[
            (F32DemoteF64, t(0.1), Ok(s(0.1))),
            (F32DemoteF64, t(-0.0), Ok(s(-0.0))),
            (F32DemoteF64, t(f64::MAX), Ok(s(f32::INFINITY))),
            (F32DemoteF64, t(-1e-50), Ok(s(-0.0))),
            (F32DemoteF64, t(one_plus_half_ulp), Ok(s(1.0))),
            (
                F32DemoteF64,
                t(one_plus_half_ulp + f64::EPSILON),
                Ok(s(1.0 + f32::EPSILON)),
            ),
            (
                F32DemoteF64,
                t(f64::from(f32::MIN_POSITIVE) / 4.0),
                Ok(s(f32::MIN_POSITIVE / 4.0)),
            ),
            (F64PromoteF32, s(1.5), Ok(t(1.5))),
            (F64PromoteF32, s(-0.0), Ok(t(-0.0))),
            (
                F64PromoteF32,
                s(f32::NEG_INFINITY),
                Ok(t(f64::NEG_INFINITY)),
            ),
            (F64PromoteF32, 1, Ok(t(f64::from(f32::from_bits(1))))),
            // Reinterpretation moves bits, signalling NaNs included.
            (I32ReinterpretF32, 0xff80_0001, Ok(0xff80_0001)),
            (F32ReinterpretI32, 0xffff_ffff_7f80_0001, Ok(0x7f80_0001)),
            (
                I64ReinterpretF64,
                0xfff0_0000_0000_0001,
                Ok(0xfff0_0000_0000_0001),
            ),
            (
                F64ReinterpretI64,
                0x7ff0_0000_0000_0001,
                Ok(0x7ff0_0000_0000_0001),
            ),
        ]);
        let nan = unary(F32DemoteF64, 0xfff4_0000_0000_0000);
        assert!(nan.is_ok_and(|b| b >> 32 == 0 && b & 0x7fc0_0000 == 0x7fc0_0000));
        let nan = unary(F64PromoteF32, NEG_SNAN32);
        assert!(nan.is_ok_and(|b| b & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000));
    }
}
