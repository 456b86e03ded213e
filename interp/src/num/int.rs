//! Integer operators that are more than one Rust operator: division and
//! remainder (which trap) and sign extension.
//!
//! The rest of integer arithmetic is a single wrapping Rust operation and is
//! written inline in [`super::binary`] and [`super::unary`].

use kiln_runtime::TrapCode;

/// `i32.div_s`: truncating division; traps on a zero divisor and on
/// `INT_MIN / -1`, whose quotient 2^31 is not representable.
#[inline]
pub fn div_s32(x: i32, y: i32) -> Result<i32, TrapCode> {
    if y == 0 {
        return Err(TrapCode::IntegerDivisionByZero);
    }
    x.checked_div(y).ok_or(TrapCode::IntegerOverflow)
}

/// `i64.div_s`, as [`div_s32`].
#[inline]
pub fn div_s64(x: i64, y: i64) -> Result<i64, TrapCode> {
    if y == 0 {
        return Err(TrapCode::IntegerDivisionByZero);
    }
    x.checked_div(y).ok_or(TrapCode::IntegerOverflow)
}

/// `i32.div_u`: traps only on a zero divisor.
#[inline]
pub fn div_u32(x: u32, y: u32) -> Result<u32, TrapCode> {
    x.checked_div(y).ok_or(TrapCode::IntegerDivisionByZero)
}

/// `i64.div_u`, as [`div_u32`].
#[inline]
pub fn div_u64(x: u64, y: u64) -> Result<u64, TrapCode> {
    x.checked_div(y).ok_or(TrapCode::IntegerDivisionByZero)
}

/// `i32.rem_s`: the remainder takes the dividend's sign; traps only on a
/// zero divisor. `INT_MIN rem_s -1` is 0 (the spec defines it; it is not an
/// overflow), which `wrapping_rem` gives.
#[inline]
pub fn rem_s32(x: i32, y: i32) -> Result<i32, TrapCode> {
    if y == 0 {
        return Err(TrapCode::IntegerDivisionByZero);
    }
    Ok(x.wrapping_rem(y))
}

/// `i64.rem_s`, as [`rem_s32`].
#[inline]
pub fn rem_s64(x: i64, y: i64) -> Result<i64, TrapCode> {
    if y == 0 {
        return Err(TrapCode::IntegerDivisionByZero);
    }
    Ok(x.wrapping_rem(y))
}

/// `i32.rem_u`: traps only on a zero divisor.
#[inline]
pub fn rem_u32(x: u32, y: u32) -> Result<u32, TrapCode> {
    x.checked_rem(y).ok_or(TrapCode::IntegerDivisionByZero)
}

/// `i64.rem_u`, as [`rem_u32`].
#[inline]
pub fn rem_u64(x: u64, y: u64) -> Result<u64, TrapCode> {
    x.checked_rem(y).ok_or(TrapCode::IntegerDivisionByZero)
}

/// `i32.extend8_s`: sign-extends the low 8 bits.
#[inline]
pub fn extend8_32(x: i32) -> i32 {
    i32::from(x as i8)
}

/// `i32.extend16_s`: sign-extends the low 16 bits.
#[inline]
pub fn extend16_32(x: i32) -> i32 {
    i32::from(x as i16)
}

/// `i64.extend8_s`: sign-extends the low 8 bits.
#[inline]
pub fn extend8_64(x: i64) -> i64 {
    i64::from(x as i8)
}

/// `i64.extend16_s`: sign-extends the low 16 bits.
#[inline]
pub fn extend16_64(x: i64) -> i64 {
    i64::from(x as i16)
}

/// `i64.extend32_s`: sign-extends the low 32 bits.
#[inline]
pub fn extend32_64(x: i64) -> i64 {
    i64::from(x as i32)
}

#[cfg(test)]
mod tests {
    use super::super::{binary, unary};
    use kiln_parser::NumOp::{self, *};
    use kiln_runtime::TrapCode::{self, *};

    type Case = (NumOp, u64, u64, Result<u64, TrapCode>);

    /// An i32 operand or result in its slot.
    fn w(v: i32) -> u64 {
        u64::from(v as u32)
    }

    /// An i64 operand or result in its slot.
    fn d(v: i64) -> u64 {
        v as u64
    }

    fn check_binary(cases: &[Case]) {
        for &(op, x, y, want) in cases {
            assert_eq!(binary(op, x, y), want, "{}({x:#x}, {y:#x})", op.name());
        }
    }

    fn check_unary(cases: &[(NumOp, u64, u64)]) {
        for &(op, x, want) in cases {
            assert_eq!(unary(op, x), Ok(want), "{}({x:#x})", op.name());
        }
    }

    #[test]
    fn arithmetic_wraps() {
        check_binary(&[
            (I32Add, w(i32::MAX), w(1), Ok(w(i32::MIN))),
            (I32Add, w(-1), w(-1), Ok(w(-2))),
            (I32Sub, w(i32::MIN), w(1), Ok(w(i32::MAX))),
            (I32Mul, w(0x1000_0000), w(0x10), Ok(0)),
            (I32Mul, w(0x0123_4567), w(0x7654_3210), Ok(w(0x358e_7470))),
            (I64Add, d(i64::MAX), 1, Ok(d(i64::MIN))),
            (I64Sub, d(i64::MIN), 1, Ok(d(i64::MAX))),
            (
                I64Mul,
                0x0123_4567_89ab_cdef,
                0xfedc_ba98_7654_3210,
                Ok(0x2236_d88f_e561_8cf0),
            ),
            (I32And, w(0xF0F0), w(0xFF00), Ok(w(0xF000))),
            (I32Or, w(0xF0F0), w(0x0F0F), Ok(w(0xFFFF))),
            (I32Xor, w(-1), w(0x0F0F_0F0F), Ok(w(0xF0F0_F0F0_u32 as i32))),
            (I64Xor, u64::MAX, 1, Ok(u64::MAX - 1)),
        ]);
    }

    #[test]
    fn division_and_remainder() {
        check_binary(&[
            (I32DivS, w(7), w(-2), Ok(w(-3))),
            (I32DivS, w(-7), w(2), Ok(w(-3))),
            (I32DivS, w(1), w(0), Err(IntegerDivisionByZero)),
            (I32DivS, w(0), w(0), Err(IntegerDivisionByZero)),
            (I32DivS, w(i32::MIN), w(-1), Err(IntegerOverflow)),
            (I32DivS, w(i32::MIN), w(2), Ok(w(-0x4000_0000))),
            (I32DivU, w(-1), w(2), Ok(w(0x7FFF_FFFF))),
            (I32DivU, w(i32::MIN), w(-1), Ok(0)),
            (I32DivU, w(1), w(0), Err(IntegerDivisionByZero)),
            (I32RemS, w(i32::MIN), w(-1), Ok(0)),
            (I32RemS, w(-7), w(2), Ok(w(-1))),
            (I32RemS, w(7), w(-2), Ok(w(1))),
            (I32RemS, w(1), w(0), Err(IntegerDivisionByZero)),
            (I32RemU, w(-1), w(10), Ok(w(5))),
            (I32RemU, w(1), w(0), Err(IntegerDivisionByZero)),
            (I64DivS, d(i64::MIN), d(-1), Err(IntegerOverflow)),
            (I64DivS, d(-7), d(2), Ok(d(-3))),
            (I64DivS, 1, 0, Err(IntegerDivisionByZero)),
            (I64DivU, u64::MAX, 2, Ok(d(i64::MAX))),
            (I64DivU, 1, 0, Err(IntegerDivisionByZero)),
            (I64RemS, d(i64::MIN), d(-1), Ok(0)),
            (I64RemS, d(-7), d(2), Ok(d(-1))),
            (I64RemS, 1, 0, Err(IntegerDivisionByZero)),
            (I64RemU, u64::MAX, 10, Ok(5)),
            (I64RemU, 1, 0, Err(IntegerDivisionByZero)),
        ]);
    }

    #[test]
    fn shifts_and_rotates_take_count_modulo_width() {
        check_binary(&[
            (I32Shl, w(1), w(31), Ok(w(i32::MIN))),
            (I32Shl, w(1), w(32), Ok(w(1))),
            (I32Shl, w(1), w(33), Ok(w(2))),
            (I32Shl, w(1), w(-1), Ok(w(i32::MIN))),
            (I32ShrS, w(i32::MIN), w(31), Ok(w(-1))),
            (I32ShrS, w(i32::MIN), w(32), Ok(w(i32::MIN))),
            (I32ShrS, w(-2), w(33), Ok(w(-1))),
            (I32ShrS, w(i32::MIN), w(-1), Ok(w(-1))),
            (I32ShrU, w(i32::MIN), w(31), Ok(w(1))),
            (I32ShrU, w(-1), w(32), Ok(w(-1))),
            (I32ShrU, w(-1), w(33), Ok(w(0x7FFF_FFFF))),
            (I32ShrU, w(-1), w(-1), Ok(w(1))),
            (
                I32Rotl,
                w(0xfe00_dc00_u32 as i32),
                w(4),
                Ok(w(0xe00d_c00f_u32 as i32)),
            ),
            (I32Rotl, w(0xabcd_9876_u32 as i32), w(1), Ok(w(0x579b_30ed))),
            (I32Rotl, w(1), w(32), Ok(w(1))),
            (I32Rotl, w(1), w(-1), Ok(w(i32::MIN))),
            (I32Rotr, w(1), w(1), Ok(w(i32::MIN))),
            (
                I32Rotr,
                w(0xb0c1_d2e3_u32 as i32),
                w(0x0005),
                Ok(w(0x1d86_0e97)),
            ),
            (I32Rotr, w(1), w(33), Ok(w(i32::MIN))),
            (I64Shl, 1, 63, Ok(d(i64::MIN))),
            (I64Shl, 1, 64, Ok(1)),
            (I64Shl, 1, 65, Ok(2)),
            (I64Shl, 1, d(-1), Ok(d(i64::MIN))),
            // A count with bits above 32 set: only the low 6 bits count.
            (I64Shl, 1, 0x1_0000_0001, Ok(2)),
            (I64ShrS, d(i64::MIN), 64, Ok(d(i64::MIN))),
            (I64ShrS, d(i64::MIN), d(-1), Ok(d(-1))),
            (I64ShrU, u64::MAX, 65, Ok(d(i64::MAX))),
            (I64ShrU, u64::MAX, d(-1), Ok(1)),
            (I64Rotl, 1, 64, Ok(1)),
            (I64Rotl, 1, d(-1), Ok(d(i64::MIN))),
            (
                I64Rotl,
                0xabd1_234e_f567_809c,
                63,
                Ok(0x55e8_91a7_7ab3_c04e),
            ),
            (I64Rotr, 1, 1, Ok(d(i64::MIN))),
            (I64Rotr, 1, 65, Ok(d(i64::MIN))),
        ]);
    }

    #[test]
    fn comparisons_produce_zero_or_one() {
        check_binary(&[
            (I32Eq, w(-1), w(-1), Ok(1)),
            (I32Ne, w(-1), w(-1), Ok(0)),
            (I32LtS, w(-1), w(0), Ok(1)),
            (I32LtU, w(-1), w(0), Ok(0)),
            (I32GtS, w(-1), w(0), Ok(0)),
            (I32GtU, w(-1), w(0), Ok(1)),
            (I32LeS, w(i32::MIN), w(i32::MIN), Ok(1)),
            (I32LeU, w(i32::MIN), w(1), Ok(0)),
            (I32GeS, w(i32::MIN), w(1), Ok(0)),
            (I32GeU, w(i32::MIN), w(1), Ok(1)),
            (I64Eq, u64::MAX, u64::MAX, Ok(1)),
            (I64Ne, 0, 1, Ok(1)),
            (I64LtS, d(-1), 0, Ok(1)),
            (I64LtU, d(-1), 0, Ok(0)),
            (I64GtS, d(i64::MIN), d(i64::MAX), Ok(0)),
            (I64GtU, d(i64::MIN), d(i64::MAX), Ok(1)),
            (I64LeS, d(-1), d(-1), Ok(1)),
            (I64LeU, 2, 1, Ok(0)),
            (I64GeS, d(-2), d(-1), Ok(0)),
            (I64GeU, d(-2), d(-1), Ok(0)),
        ]);
    }

    #[test]
    fn bit_counts_eqz_and_extensions() {
        check_unary(&[
            (I32Eqz, 0, 1),
            (I32Eqz, w(i32::MIN), 0),
            (I64Eqz, 0, 1),
            (I64Eqz, 1 << 63, 0),
            (I32Clz, 0, 32),
            (I32Clz, 1, 31),
            (I32Clz, w(-1), 0),
            (I32Ctz, 0, 32),
            (I32Ctz, w(i32::MIN), 31),
            (I32Popcnt, w(-1), 32),
            (I32Popcnt, w(0x5555_5555), 16),
            (I64Clz, 0, 64),
            (I64Clz, 1, 63),
            (I64Ctz, 0, 64),
            (I64Ctz, 1 << 63, 63),
            (I64Popcnt, u64::MAX, 64),
            (I32Extend8S, w(0x7f), w(0x7f)),
            (I32Extend8S, w(0x80), w(-128)),
            (I32Extend8S, w(0x1234_56ff), w(-1)),
            (I32Extend16S, w(0x8000), w(-0x8000)),
            (I32Extend16S, w(0x0123_7fff), w(0x7fff)),
            (I64Extend8S, 0x80, d(-128)),
            (I64Extend8S, 0x0123_4567_89ab_cd7f, 0x7f),
            (I64Extend16S, 0xffff, d(-1)),
            (I64Extend32S, 0x8000_0000, d(-0x8000_0000)),
            (I64Extend32S, 0xffff_ffff_7fff_ffff, 0x7fff_ffff),
            (I32WrapI64, 0x1234_5678_9abc_def0, 0x9abc_def0),
            (I64ExtendI32S, w(-1), d(-1)),
            (I64ExtendI32S, 0xffff_ffff_7fff_ffff, 0x7fff_ffff),
            (I64ExtendI32U, w(-1), 0xffff_ffff),
            (I64ExtendI32U, 0xffff_ffff_8000_0000, 0x8000_0000),
        ]);
    }
}
