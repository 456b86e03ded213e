//! Exact WebAssembly semantics of the scalar numeric operators (the spec's
//! "Numerics" chapter), on raw value slots.
//!
//! Every scalar [`NumOp`] (2.0 core, sign extension, non-trapping
//! float-to-int) is evaluated here by [`unary`] or [`binary`], so that every
//! tier that needs a constant folded or an operator interpreted gets the same
//! answer. The vector (SIMD and relaxed SIMD) operators are in [`simd`].
//!
//! # Value encoding
//! A value lives in a `u64` slot:
//! - `i32`: the low 32 bits. Results have the upper 32 bits zero; the upper
//!   bits of operands are ignored.
//! - `i64`: the whole word.
//! - `f32`: its IEEE 754 bits in the low 32 bits (same rules as `i32`).
//! - `f64`: its IEEE 754 bits.
//!
//! # NaNs
//! The spec lets an arithmetic operator return any NaN as long as it is
//! canonical when all NaN inputs are, and arithmetic (quiet bit set)
//! otherwise. Rust's float operators follow exactly that rule, so their
//! natural result is kept, except for the rounding operators, which Rust may
//! leave to a libm that returns a signalling NaN as is. `abs`, `neg`,
//! `copysign` and the reinterpret casts, on the other hand, are bit
//! operations that must keep a NaN's payload. Both are handled in [`float`].
//!
//! # Layout
//! [`unary`] and [`binary`] match on the operator once and call small
//! `#[inline]` helpers: integer division and sign extension in [`int`],
//! float `min`/`max`/`nearest`/sign operations in [`float`], float-to-int
//! truncation in [`convert`]. Nothing allocates and nothing panics.

use kiln_parser::{NumOp, ValType};
use kiln_runtime::TrapCode;

pub mod convert;
pub mod float;
pub mod int;
pub mod simd;

/// How many operands a scalar operator pops: `Some(1)` for [`unary`],
/// `Some(2)` for [`binary`], `None` for a SIMD operator (which neither
/// function evaluates).
#[inline]
pub fn arity(op: NumOp) -> Option<usize> {
    let params = op.params();
    if op.result() == ValType::V128 || params.contains(&ValType::V128) {
        return None;
    }
    Some(params.len())
}

// Slot <-> typed value moves. Every scalar result goes through one of the
// `from_*` functions, which is what keeps the upper half of a 32-bit slot zero.

#[inline(always)]
fn u32_of(x: u64) -> u32 {
    x as u32
}

#[inline(always)]
fn i32_of(x: u64) -> i32 {
    x as u32 as i32
}

#[inline(always)]
fn i64_of(x: u64) -> i64 {
    x as i64
}

#[inline(always)]
fn f32_of(x: u64) -> f32 {
    f32::from_bits(x as u32)
}

#[inline(always)]
fn f64_of(x: u64) -> f64 {
    f64::from_bits(x)
}

#[inline(always)]
fn from_u32(v: u32) -> u64 {
    u64::from(v)
}

#[inline(always)]
fn from_i32(v: i32) -> u64 {
    u64::from(v as u32)
}

#[inline(always)]
fn from_i64(v: i64) -> u64 {
    v as u64
}

#[inline(always)]
fn from_f32(v: f32) -> u64 {
    u64::from(v.to_bits())
}

#[inline(always)]
fn from_f64(v: f64) -> u64 {
    v.to_bits()
}

#[inline(always)]
fn from_bool(b: bool) -> u64 {
    u64::from(b)
}

/// Evaluates a one-operand scalar operator on the raw bits of its operand.
///
/// # Errors
/// The trap the operator raises: only the trapping float-to-int truncations
/// trap ([`TrapCode::InvalidConversionToInteger`] for NaN,
/// [`TrapCode::IntegerOverflow`] out of range).
///
/// An operator that does not take exactly one scalar operand (see [`arity`])
/// is not this function's job: it returns `Ok(0)`, never panics.
#[inline(always)]
pub fn unary(op: NumOp, x: u64) -> Result<u64, TrapCode> {
    use NumOp::*;
    Ok(match op {
        I32Eqz => from_bool(u32_of(x) == 0),
        I64Eqz => from_bool(x == 0),

        I32Clz => from_u32(u32_of(x).leading_zeros()),
        I32Ctz => from_u32(u32_of(x).trailing_zeros()),
        I32Popcnt => from_u32(u32_of(x).count_ones()),
        I64Clz => u64::from(x.leading_zeros()),
        I64Ctz => u64::from(x.trailing_zeros()),
        I64Popcnt => u64::from(x.count_ones()),

        I32Extend8S => from_i32(int::extend8_32(i32_of(x))),
        I32Extend16S => from_i32(int::extend16_32(i32_of(x))),
        I64Extend8S => from_i64(int::extend8_64(i64_of(x))),
        I64Extend16S => from_i64(int::extend16_64(i64_of(x))),
        I64Extend32S => from_i64(int::extend32_64(i64_of(x))),

        F32Abs => from_u32(float::abs32(u32_of(x))),
        F32Neg => from_u32(float::neg32(u32_of(x))),
        F32Ceil => from_f32(float::round32(f32_of(x), f32::ceil)),
        F32Floor => from_f32(float::round32(f32_of(x), f32::floor)),
        F32Trunc => from_f32(float::round32(f32_of(x), f32::trunc)),
        F32Nearest => from_f32(float::round32(f32_of(x), f32::round_ties_even)),
        F32Sqrt => from_f32(f32_of(x).sqrt()),
        F64Abs => float::abs64(x),
        F64Neg => float::neg64(x),
        F64Ceil => from_f64(float::round64(f64_of(x), f64::ceil)),
        F64Floor => from_f64(float::round64(f64_of(x), f64::floor)),
        F64Trunc => from_f64(float::round64(f64_of(x), f64::trunc)),
        F64Nearest => from_f64(float::round64(f64_of(x), f64::round_ties_even)),
        F64Sqrt => from_f64(f64_of(x).sqrt()),

        I32WrapI64 => from_u32(x as u32),
        I64ExtendI32S => from_i64(i64::from(i32_of(x))),
        I64ExtendI32U => u64::from(u32_of(x)),

        I32TruncF32S => from_i32(convert::i32_trunc_f32_s(f32_of(x))?),
        I32TruncF32U => from_u32(convert::i32_trunc_f32_u(f32_of(x))?),
        I32TruncF64S => from_i32(convert::i32_trunc_f64_s(f64_of(x))?),
        I32TruncF64U => from_u32(convert::i32_trunc_f64_u(f64_of(x))?),
        I64TruncF32S => from_i64(convert::i64_trunc_f32_s(f32_of(x))?),
        I64TruncF32U => convert::i64_trunc_f32_u(f32_of(x))?,
        I64TruncF64S => from_i64(convert::i64_trunc_f64_s(f64_of(x))?),
        I64TruncF64U => convert::i64_trunc_f64_u(f64_of(x))?,

        // Rust's float-to-int `as` truncates toward zero, saturates at the
        // integer type's bounds and maps NaN to 0: exactly `trunc_sat`.
        I32TruncSatF32S => from_i32(f32_of(x) as i32),
        I32TruncSatF32U => from_u32(f32_of(x) as u32),
        I32TruncSatF64S => from_i32(f64_of(x) as i32),
        I32TruncSatF64U => from_u32(f64_of(x) as u32),
        I64TruncSatF32S => from_i64(f32_of(x) as i64),
        I64TruncSatF32U => f32_of(x) as u64,
        I64TruncSatF64S => from_i64(f64_of(x) as i64),
        I64TruncSatF64U => f64_of(x) as u64,

        // Rust's int-to-float `as` rounds to nearest, ties to even, in one
        // step (no double rounding through f64 for 64-bit integers to f32).
        F32ConvertI32S => from_f32(i32_of(x) as f32),
        F32ConvertI32U => from_f32(u32_of(x) as f32),
        F32ConvertI64S => from_f32(i64_of(x) as f32),
        F32ConvertI64U => from_f32(x as f32),
        F64ConvertI32S => from_f64(f64::from(i32_of(x))),
        F64ConvertI32U => from_f64(f64::from(u32_of(x))),
        F64ConvertI64S => from_f64(i64_of(x) as f64),
        F64ConvertI64U => from_f64(x as f64),
        F32DemoteF64 => from_f32(f64_of(x) as f32),
        F64PromoteF32 => from_f64(f64::from(f32_of(x))),

        // The slot already holds the bits; only the upper half of a 32-bit
        // slot is cleared.
        I32ReinterpretF32 | F32ReinterpretI32 => from_u32(u32_of(x)),
        I64ReinterpretF64 | F64ReinterpretI64 => x,

        _ => 0,
    })
}

/// Evaluates a two-operand scalar operator on raw bits; `x` is the first
/// operand (deeper on the stack), `y` the second.
///
/// # Errors
/// [`TrapCode::IntegerDivisionByZero`] for `div`/`rem` by zero and
/// [`TrapCode::IntegerOverflow`] for `div_s` of the minimum by -1.
///
/// An operator that does not take exactly two scalar operands (see
/// [`arity`]) is not this function's job: it returns `Ok(0)`, never panics.
#[inline(always)]
pub fn binary(op: NumOp, x: u64, y: u64) -> Result<u64, TrapCode> {
    use NumOp::*;
    // The operators with an op of their own: their one definition is
    // `for_each_binary_op!` (`bytecode.rs`). With `op` a constant, this
    // folds away.
    if let Some(v) =
        crate::bytecode::Op::specialised_binary(op, 0, 0, 0).and_then(|o| o.eval_binary(x, y))
    {
        return Ok(v);
    }
    // The float comparisons: defined once, as the comparisons fused branches
    // test (`FloatCmp`, `bytecode.rs`).
    if let Some(cmp) = crate::bytecode::FloatCmp::of(op, false) {
        return Ok(from_bool(cmp.holds(x, y)));
    }
    Ok(match op {
        I32DivS => from_i32(int::div_s32(i32_of(x), i32_of(y))?),
        I32DivU => from_u32(int::div_u32(u32_of(x), u32_of(y))?),
        I32RemS => from_i32(int::rem_s32(i32_of(x), i32_of(y))?),
        I32RemU => from_u32(int::rem_u32(u32_of(x), u32_of(y))?),
        // `rotate_*` takes the count modulo the bit width, as the spec does.
        I32Rotl => from_u32(u32_of(x).rotate_left(u32_of(y))),
        I32Rotr => from_u32(u32_of(x).rotate_right(u32_of(y))),

        I64DivS => from_i64(int::div_s64(i64_of(x), i64_of(y))?),
        I64DivU => int::div_u64(x, y)?,
        I64RemS => from_i64(int::rem_s64(i64_of(x), i64_of(y))?),
        I64RemU => int::rem_u64(x, y)?,
        // The count is an i64; only its low 6 bits matter, so truncating it
        // to u32 first keeps the modulo right.
        I64Rotl => x.rotate_left(y as u32),
        I64Rotr => x.rotate_right(y as u32),

        F32Min => from_f32(float::min32(f32_of(x), f32_of(y))),
        F32Max => from_f32(float::max32(f32_of(x), f32_of(y))),
        F32Copysign => from_u32(float::copysign32(u32_of(x), u32_of(y))),
        F64Min => from_f64(float::min64(f64_of(x), f64_of(y))),
        F64Max => from_f64(float::max64(f64_of(x), f64_of(y))),
        F64Copysign => float::copysign64(x, y),

        _ => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operator of the table: SIMD ones have no arity, scalar ones the
    /// length of their signature; neither function panics on any of them.
    #[test]
    fn arity_and_no_panic_on_foreign_ops() {
        let ops = [
            NumOp::I32Eqz,
            NumOp::I32Add,
            NumOp::F64Copysign,
            NumOp::I64TruncSatF64U,
            NumOp::I8x16Swizzle,
            NumOp::I8x16Splat,
            NumOp::V128AnyTrue,
            NumOp::V128Bitselect,
        ];
        let expected = [Some(1), Some(2), Some(2), Some(1), None, None, None, None];
        for (op, want) in ops.into_iter().zip(expected) {
            assert_eq!(arity(op), want, "{}", op.name());
            // Wrong-arity and SIMD calls are not an error, just meaningless.
            let _ = unary(op, u64::MAX);
            let _ = binary(op, u64::MAX, 0);
        }
        assert_eq!(unary(NumOp::I32Add, 7), Ok(0));
        assert_eq!(binary(NumOp::I32Eqz, 7, 7), Ok(0));
        assert_eq!(binary(NumOp::I8x16Swizzle, 7, 7), Ok(0));
    }

    /// 32-bit results never leak into the upper half of the slot, and 32-bit
    /// operands ignore it.
    #[test]
    fn upper_half_ignored_and_cleared() {
        let dirty = 0xDEAD_BEEF_0000_0000;
        assert_eq!(binary(NumOp::I32Add, dirty | 1, dirty | 2), Ok(3));
        assert_eq!(binary(NumOp::I32Sub, dirty, dirty | 1), Ok(0xFFFF_FFFF));
        assert_eq!(unary(NumOp::I32Eqz, dirty), Ok(1));
        assert_eq!(unary(NumOp::I32Extend8S, dirty | 0x80), Ok(0xFFFF_FF80));
        assert_eq!(unary(NumOp::I32ReinterpretF32, dirty | 5), Ok(5));
        let one = u64::from(1.0f32.to_bits());
        assert_eq!(
            binary(NumOp::F32Add, dirty | one, one),
            Ok(u64::from(2.0f32.to_bits()))
        );
        assert_eq!(
            unary(NumOp::F32Neg, dirty | one),
            Ok(u64::from((-1.0f32).to_bits()))
        );
    }
}
