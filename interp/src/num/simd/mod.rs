//! Exact WebAssembly semantics of the vector operators (SIMD, 2.0) and of
//! relaxed SIMD (3.0) in its deterministic profile, on raw `v128` values.
//!
//! This is the vector counterpart of [`crate::num`]: every tier that
//! interprets or constant-folds a vector operator calls these functions, so
//! they all get the same answer on every host.
//!
//! # Value encoding
//! A `v128` is a `u128` with lane 0 in the least significant bits: the
//! `u128::from_le_bytes` of its 16 bytes in memory. A scalar operand (a
//! splat's value, a shift count, a lane to replace) arrives as a `u128` whose
//! low 64 bits are an interpreter slot (see [`crate::num`]: an `i32`/`f32` in
//! the low 32 bits, anything above ignored). A scalar result (`any_true`,
//! `all_true`, `bitmask`, `extract_lane`) is a slot zero-extended: an `i32`
//! result has every bit above the low 32 zero.
//!
//! # NaNs
//! Float lanes follow the scalar rules lane by lane (see [`crate::num`] and
//! [`float`]). In Kiln's deterministic mode the caller then rewrites the NaN
//! lanes of the operators [`nan_lanes`] names to the canonical NaN with
//! [`canonicalize`]; the bit operators (`abs`, `neg`, `pmin`/`pmax`, lane
//! moves) and conversions from integers are left alone.
//!
//! # Relaxed SIMD
//! Each relaxed operator gives the first result of the spec's list, as the
//! deterministic profile prescribes; [`relaxed`] tabulates them.
//!
//! # Layout
//! [`unary`], [`binary`] and [`ternary`] match on the operator once, listing
//! every vector operator explicitly, and call one `#[inline]` function of its
//! family: lane plumbing in [`repr`], integer lanes in [`int`], comparisons of
//! every shape in [`compare`], float lanes in [`float`], conversions in
//! [`convert`], lane moves and memory lanes in [`lanes`], relaxed operators
//! in [`relaxed`]. The family functions work on arrays of lanes with
//! straight-line closures, which LLVM turns into the host's vector
//! instructions where it has them. Nothing allocates and nothing panics; lane
//! indices are masked to the lane count.

use kiln_parser::{LaneShape, LaneWidth, LoadOp, NumOp};

pub mod compare;
pub mod convert;
pub mod float;
pub mod int;
pub mod lanes;
pub mod relaxed;
pub mod repr;

use int::Half::{High, Low};
use repr::splat;

/// Evaluates every vector operator with one operand: splats (a scalar slot
/// in), lane-wise unary operators, `extend`, `extadd_pairwise`, conversions,
/// and `any_true`/`all_true`/`bitmask` (an `i32` slot out).
///
/// An operator with another arity, or a scalar one, is not this function's
/// job: it returns 0, never panics.
#[inline]
pub fn unary(op: NumOp, a: u128) -> u128 {
    use NumOp::*;
    match op {
        I8x16Splat => splat::<u8, 16>(a),
        I16x8Splat => splat::<u16, 8>(a),
        I32x4Splat => splat::<u32, 4>(a),
        I64x2Splat => splat::<u64, 2>(a),
        // Float splats copy the bits (a NaN's payload included).
        F32x4Splat => splat::<u32, 4>(a),
        F64x2Splat => splat::<u64, 2>(a),

        V128Not => !a,
        V128AnyTrue => lanes::any_true(a),
        I8x16AllTrue => lanes::all_true::<u8, 16>(a),
        I16x8AllTrue => lanes::all_true::<u16, 8>(a),
        I32x4AllTrue => lanes::all_true::<u32, 4>(a),
        I64x2AllTrue => lanes::all_true::<u64, 2>(a),
        I8x16Bitmask => lanes::bitmask::<u8, 16>(a),
        I16x8Bitmask => lanes::bitmask::<u16, 8>(a),
        I32x4Bitmask => lanes::bitmask::<u32, 4>(a),
        I64x2Bitmask => lanes::bitmask::<u64, 2>(a),

        I8x16Abs => int::abs::<i8, 16>(a),
        I16x8Abs => int::abs::<i16, 8>(a),
        I32x4Abs => int::abs::<i32, 4>(a),
        I64x2Abs => int::abs::<i64, 2>(a),
        I8x16Neg => int::neg::<u8, 16>(a),
        I16x8Neg => int::neg::<u16, 8>(a),
        I32x4Neg => int::neg::<u32, 4>(a),
        I64x2Neg => int::neg::<u64, 2>(a),
        I8x16Popcnt => int::popcnt(a),

        I16x8ExtAddPairwiseI8x16S => int::extadd_pairwise_i8_s(a),
        I16x8ExtAddPairwiseI8x16U => int::extadd_pairwise_i8_u(a),
        I32x4ExtAddPairwiseI16x8S => int::extadd_pairwise_i16_s(a),
        I32x4ExtAddPairwiseI16x8U => int::extadd_pairwise_i16_u(a),
        I16x8ExtendLowI8x16S => int::extend::<i8, i16, 8>(a, Low),
        I16x8ExtendHighI8x16S => int::extend::<i8, i16, 8>(a, High),
        I16x8ExtendLowI8x16U => int::extend::<u8, u16, 8>(a, Low),
        I16x8ExtendHighI8x16U => int::extend::<u8, u16, 8>(a, High),
        I32x4ExtendLowI16x8S => int::extend::<i16, i32, 4>(a, Low),
        I32x4ExtendHighI16x8S => int::extend::<i16, i32, 4>(a, High),
        I32x4ExtendLowI16x8U => int::extend::<u16, u32, 4>(a, Low),
        I32x4ExtendHighI16x8U => int::extend::<u16, u32, 4>(a, High),
        I64x2ExtendLowI32x4S => int::extend::<i32, i64, 2>(a, Low),
        I64x2ExtendHighI32x4S => int::extend::<i32, i64, 2>(a, High),
        I64x2ExtendLowI32x4U => int::extend::<u32, u64, 2>(a, Low),
        I64x2ExtendHighI32x4U => int::extend::<u32, u64, 2>(a, High),

        F32x4Abs => float::abs::<f32, 4>(a),
        F64x2Abs => float::abs::<f64, 2>(a),
        F32x4Neg => float::neg::<f32, 4>(a),
        F64x2Neg => float::neg::<f64, 2>(a),
        F32x4Sqrt => float::sqrt::<f32, 4>(a),
        F64x2Sqrt => float::sqrt::<f64, 2>(a),
        F32x4Ceil => float::round::<f32, 4>(a, f32::ceil),
        F32x4Floor => float::round::<f32, 4>(a, f32::floor),
        F32x4Trunc => float::round::<f32, 4>(a, f32::trunc),
        F32x4Nearest => float::round::<f32, 4>(a, f32::round_ties_even),
        F64x2Ceil => float::round::<f64, 2>(a, f64::ceil),
        F64x2Floor => float::round::<f64, 2>(a, f64::floor),
        F64x2Trunc => float::round::<f64, 2>(a, f64::trunc),
        F64x2Nearest => float::round::<f64, 2>(a, f64::round_ties_even),

        // The relaxed truncations are `trunc_sat` in the deterministic profile.
        I32x4TruncSatF32x4S | I32x4RelaxedTruncF32x4S => convert::trunc_sat_f32_s(a),
        I32x4TruncSatF32x4U | I32x4RelaxedTruncF32x4U => convert::trunc_sat_f32_u(a),
        I32x4TruncSatF64x2SZero | I32x4RelaxedTruncF64x2SZero => convert::trunc_sat_f64_s_zero(a),
        I32x4TruncSatF64x2UZero | I32x4RelaxedTruncF64x2UZero => convert::trunc_sat_f64_u_zero(a),
        F32x4ConvertI32x4S => convert::convert_i32_s(a),
        F32x4ConvertI32x4U => convert::convert_i32_u(a),
        F64x2ConvertLowI32x4S => convert::convert_low_i32_s(a),
        F64x2ConvertLowI32x4U => convert::convert_low_i32_u(a),
        F32x4DemoteF64x2Zero => convert::demote_zero(a),
        F64x2PromoteLowF32x4 => convert::promote_low(a),

        // Scalar operators and vector operators of another arity.
        _ => 0,
    }
}

/// Evaluates every vector operator with two operands; `a` is the first
/// (deeper on the stack). For the shifts `b` is the `i32` count slot.
///
/// This function holds the integer-lane and bitwise operators and hands the
/// float-lane and relaxed ones to `binary_float`, so that neither match
/// grows past a screen of arms.
#[inline]
pub fn binary(op: NumOp, a: u128, b: u128) -> u128 {
    use NumOp::*;
    match op {
        V128And => a & b,
        V128AndNot => a & !b,
        V128Or => a | b,
        V128Xor => a ^ b,
        I8x16Swizzle => lanes::swizzle(a, b),

        I8x16Eq => compare::eq::<u8, 16>(a, b),
        I8x16Ne => compare::ne::<u8, 16>(a, b),
        I8x16LtS => compare::lt::<i8, 16>(a, b),
        I8x16LtU => compare::lt::<u8, 16>(a, b),
        I8x16GtS => compare::gt::<i8, 16>(a, b),
        I8x16GtU => compare::gt::<u8, 16>(a, b),
        I8x16LeS => compare::le::<i8, 16>(a, b),
        I8x16LeU => compare::le::<u8, 16>(a, b),
        I8x16GeS => compare::ge::<i8, 16>(a, b),
        I8x16GeU => compare::ge::<u8, 16>(a, b),
        I16x8Eq => compare::eq::<u16, 8>(a, b),
        I16x8Ne => compare::ne::<u16, 8>(a, b),
        I16x8LtS => compare::lt::<i16, 8>(a, b),
        I16x8LtU => compare::lt::<u16, 8>(a, b),
        I16x8GtS => compare::gt::<i16, 8>(a, b),
        I16x8GtU => compare::gt::<u16, 8>(a, b),
        I16x8LeS => compare::le::<i16, 8>(a, b),
        I16x8LeU => compare::le::<u16, 8>(a, b),
        I16x8GeS => compare::ge::<i16, 8>(a, b),
        I16x8GeU => compare::ge::<u16, 8>(a, b),
        I32x4Eq => compare::eq::<u32, 4>(a, b),
        I32x4Ne => compare::ne::<u32, 4>(a, b),
        I32x4LtS => compare::lt::<i32, 4>(a, b),
        I32x4LtU => compare::lt::<u32, 4>(a, b),
        I32x4GtS => compare::gt::<i32, 4>(a, b),
        I32x4GtU => compare::gt::<u32, 4>(a, b),
        I32x4LeS => compare::le::<i32, 4>(a, b),
        I32x4LeU => compare::le::<u32, 4>(a, b),
        I32x4GeS => compare::ge::<i32, 4>(a, b),
        I32x4GeU => compare::ge::<u32, 4>(a, b),
        I64x2Eq => compare::eq::<u64, 2>(a, b),
        I64x2Ne => compare::ne::<u64, 2>(a, b),
        I64x2LtS => compare::lt::<i64, 2>(a, b),
        I64x2GtS => compare::gt::<i64, 2>(a, b),
        I64x2LeS => compare::le::<i64, 2>(a, b),
        I64x2GeS => compare::ge::<i64, 2>(a, b),

        // The shift count is an `i32` slot; its low 32 bits are the count.
        I8x16Shl => int::shl::<u8, 16>(a, b as u32),
        I8x16ShrS => int::shr::<i8, 16>(a, b as u32),
        I8x16ShrU => int::shr::<u8, 16>(a, b as u32),
        I16x8Shl => int::shl::<u16, 8>(a, b as u32),
        I16x8ShrS => int::shr::<i16, 8>(a, b as u32),
        I16x8ShrU => int::shr::<u16, 8>(a, b as u32),
        I32x4Shl => int::shl::<u32, 4>(a, b as u32),
        I32x4ShrS => int::shr::<i32, 4>(a, b as u32),
        I32x4ShrU => int::shr::<u32, 4>(a, b as u32),
        I64x2Shl => int::shl::<u64, 2>(a, b as u32),
        I64x2ShrS => int::shr::<i64, 2>(a, b as u32),
        I64x2ShrU => int::shr::<u64, 2>(a, b as u32),

        I8x16Add => int::add::<u8, 16>(a, b),
        I16x8Add => int::add::<u16, 8>(a, b),
        I32x4Add => int::add::<u32, 4>(a, b),
        I64x2Add => int::add::<u64, 2>(a, b),
        I8x16Sub => int::sub::<u8, 16>(a, b),
        I16x8Sub => int::sub::<u16, 8>(a, b),
        I32x4Sub => int::sub::<u32, 4>(a, b),
        I64x2Sub => int::sub::<u64, 2>(a, b),
        I16x8Mul => int::mul::<u16, 8>(a, b),
        I32x4Mul => int::mul::<u32, 4>(a, b),
        I64x2Mul => int::mul::<u64, 2>(a, b),
        I8x16AddSatS => int::add_sat::<i8, 16>(a, b),
        I8x16AddSatU => int::add_sat::<u8, 16>(a, b),
        I16x8AddSatS => int::add_sat::<i16, 8>(a, b),
        I16x8AddSatU => int::add_sat::<u16, 8>(a, b),
        I8x16SubSatS => int::sub_sat::<i8, 16>(a, b),
        I8x16SubSatU => int::sub_sat::<u8, 16>(a, b),
        I16x8SubSatS => int::sub_sat::<i16, 8>(a, b),
        I16x8SubSatU => int::sub_sat::<u16, 8>(a, b),
        I8x16MinS => int::min::<i8, 16>(a, b),
        I8x16MinU => int::min::<u8, 16>(a, b),
        I16x8MinS => int::min::<i16, 8>(a, b),
        I16x8MinU => int::min::<u16, 8>(a, b),
        I32x4MinS => int::min::<i32, 4>(a, b),
        I32x4MinU => int::min::<u32, 4>(a, b),
        I8x16MaxS => int::max::<i8, 16>(a, b),
        I8x16MaxU => int::max::<u8, 16>(a, b),
        I16x8MaxS => int::max::<i16, 8>(a, b),
        I16x8MaxU => int::max::<u16, 8>(a, b),
        I32x4MaxS => int::max::<i32, 4>(a, b),
        I32x4MaxU => int::max::<u32, 4>(a, b),
        I8x16AvgrU => int::avgr_u8(a, b),
        I16x8AvgrU => int::avgr_u16(a, b),
        I16x8Q15MulrSatS => int::q15mulr_sat_s(a, b),
        I32x4DotI16x8S => int::dot_i16_s(a, b),

        I8x16NarrowI16x8S => int::narrow_i16_s(a, b),
        I8x16NarrowI16x8U => int::narrow_i16_u(a, b),
        I16x8NarrowI32x4S => int::narrow_i32_s(a, b),
        I16x8NarrowI32x4U => int::narrow_i32_u(a, b),
        I16x8ExtMulLowI8x16S => int::extmul::<i8, i16, 8>(a, b, Low),
        I16x8ExtMulHighI8x16S => int::extmul::<i8, i16, 8>(a, b, High),
        I16x8ExtMulLowI8x16U => int::extmul::<u8, u16, 8>(a, b, Low),
        I16x8ExtMulHighI8x16U => int::extmul::<u8, u16, 8>(a, b, High),
        I32x4ExtMulLowI16x8S => int::extmul::<i16, i32, 4>(a, b, Low),
        I32x4ExtMulHighI16x8S => int::extmul::<i16, i32, 4>(a, b, High),
        I32x4ExtMulLowI16x8U => int::extmul::<u16, u32, 4>(a, b, Low),
        I32x4ExtMulHighI16x8U => int::extmul::<u16, u32, 4>(a, b, High),
        I64x2ExtMulLowI32x4S => int::extmul::<i32, i64, 2>(a, b, Low),
        I64x2ExtMulHighI32x4S => int::extmul::<i32, i64, 2>(a, b, High),
        I64x2ExtMulLowI32x4U => int::extmul::<u32, u64, 2>(a, b, Low),
        I64x2ExtMulHighI32x4U => int::extmul::<u32, u64, 2>(a, b, High),

        _ => binary_float(op, a, b),
    }
}

/// The float-lane and relaxed two-operand operators, for [`binary`].
#[inline(always)]
fn binary_float(op: NumOp, a: u128, b: u128) -> u128 {
    use NumOp::*;
    match op {
        F32x4Eq => compare::eq::<f32, 4>(a, b),
        F32x4Ne => compare::ne::<f32, 4>(a, b),
        F32x4Lt => compare::lt::<f32, 4>(a, b),
        F32x4Gt => compare::gt::<f32, 4>(a, b),
        F32x4Le => compare::le::<f32, 4>(a, b),
        F32x4Ge => compare::ge::<f32, 4>(a, b),
        F64x2Eq => compare::eq::<f64, 2>(a, b),
        F64x2Ne => compare::ne::<f64, 2>(a, b),
        F64x2Lt => compare::lt::<f64, 2>(a, b),
        F64x2Gt => compare::gt::<f64, 2>(a, b),
        F64x2Le => compare::le::<f64, 2>(a, b),
        F64x2Ge => compare::ge::<f64, 2>(a, b),

        F32x4Add => float::add::<f32, 4>(a, b),
        F32x4Sub => float::sub::<f32, 4>(a, b),
        F32x4Mul => float::mul::<f32, 4>(a, b),
        F32x4Div => float::div::<f32, 4>(a, b),
        F64x2Add => float::add::<f64, 2>(a, b),
        F64x2Sub => float::sub::<f64, 2>(a, b),
        F64x2Mul => float::mul::<f64, 2>(a, b),
        F64x2Div => float::div::<f64, 2>(a, b),
        F32x4PMin => float::pmin::<f32, 4>(a, b),
        F32x4PMax => float::pmax::<f32, 4>(a, b),
        F64x2PMin => float::pmin::<f64, 2>(a, b),
        F64x2PMax => float::pmax::<f64, 2>(a, b),
        // Relaxed min/max are min/max in the deterministic profile.
        F32x4Min | F32x4RelaxedMin => float::min::<f32, 4>(a, b),
        F32x4Max | F32x4RelaxedMax => float::max::<f32, 4>(a, b),
        F64x2Min | F64x2RelaxedMin => float::min::<f64, 2>(a, b),
        F64x2Max | F64x2RelaxedMax => float::max::<f64, 2>(a, b),

        I8x16RelaxedSwizzle => lanes::swizzle(a, b),
        I16x8RelaxedQ15mulrS => int::q15mulr_sat_s(a, b),
        I16x8RelaxedDotI8x16I7x16S => relaxed::dot_i8_s(a, b),

        // Scalar operators and vector operators of another arity.
        _ => 0,
    }
}

/// Evaluates every vector operator with three operands, `a` the deepest on
/// the stack: `v128.bitselect` and the relaxed `madd`/`nmadd`/`laneselect`/
/// `dot_add`.
///
/// Any other operator is not this function's job: it returns 0.
#[inline]
pub fn ternary(op: NumOp, a: u128, b: u128, c: u128) -> u128 {
    use NumOp::*;
    match op {
        // `relaxed_laneselect` is `bitselect` in the deterministic profile.
        V128Bitselect
        | I8x16RelaxedLaneselect
        | I16x8RelaxedLaneselect
        | I32x4RelaxedLaneselect
        | I64x2RelaxedLaneselect => lanes::bitselect(a, b, c),
        F32x4RelaxedMadd => relaxed::madd::<f32, 4>(a, b, c),
        F32x4RelaxedNmadd => relaxed::nmadd::<f32, 4>(a, b, c),
        F64x2RelaxedMadd => relaxed::madd::<f64, 2>(a, b, c),
        F64x2RelaxedNmadd => relaxed::nmadd::<f64, 2>(a, b, c),
        I32x4RelaxedDotI8x16I7x16AddS => relaxed::dot_i8_add_s(a, b, c),
        // Scalar operators and vector operators of another arity.
        _ => 0,
    }
}

/// `i8x16.shuffle` with its 16 lane indices (each below 32 once validated;
/// masked to 5 bits here regardless).
#[inline]
pub fn shuffle(lanes: &[u8; 16], a: u128, b: u128) -> u128 {
    lanes::shuffle(lanes, a, b)
}

/// `*.extract_lane`: the lane as a slot. `i8x16`/`i16x8` `_s` sign-extend to
/// 32 bits and `_u` zero-extend, both then an `i32` slot (upper 32 bits
/// zero); `i32x4`/`f32x4` likewise; `i64x2`/`f64x2` the whole word.
#[inline]
pub fn extract_lane(shape: LaneShape, lane: u8, v: u128) -> u64 {
    lanes::extract_lane(shape, lane, v)
}

/// `*.replace_lane`: `v` with lane `lane` replaced by the low bits of slot
/// `x`.
#[inline]
pub fn replace_lane(shape: LaneShape, lane: u8, v: u128, x: u64) -> u128 {
    lanes::replace_lane(shape, lane, v, x)
}

/// The vector a widening load gives from the little-endian bytes read (`raw`
/// holds them in its low bits): `v128.load8x8_s/u`, `16x4_s/u`, `32x2_s/u`
/// (8 bytes read), `load8/16/32/64_splat` (1/2/4/8 bytes),
/// `load32_zero`/`load64_zero` (4/8 bytes). Any other [`LoadOp`] (plain
/// `v128.load` included) is not this function's job: it returns 0.
#[inline]
pub fn widen_load(op: LoadOp, raw: u64) -> u128 {
    lanes::widen_load(op, raw)
}

/// `v128.loadN_lane`: `v` with lane `lane` of width `width` replaced by the
/// low bits of `raw`.
#[inline]
pub fn load_lane(width: LaneWidth, lane: u8, v: u128, raw: u64) -> u128 {
    lanes::load_lane(width, lane, v, raw)
}

/// `v128.storeN_lane`: the bits to store, in the low bits.
#[inline]
pub fn store_lane(width: LaneWidth, lane: u8, v: u128) -> u64 {
    lanes::store_lane(width, lane, v)
}

/// The float lane layout of a vector result, for [`canonicalize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatLanes {
    /// Four `f32` lanes.
    F32x4,
    /// Two `f64` lanes.
    F64x2,
}

/// Which float lanes of `op`'s result NaN canonicalisation (the deterministic
/// mode) rewrites; `None` for every operator whose NaNs are kept
/// (`kiln_runtime::nan` has the list).
#[inline]
pub fn nan_lanes(op: NumOp) -> Option<FloatLanes> {
    use kiln_runtime::nan::{NanResult, nan_result};
    match nan_result(op)? {
        NanResult::F32x4 => Some(FloatLanes::F32x4),
        NanResult::F64x2 => Some(FloatLanes::F64x2),
        NanResult::F32 | NanResult::F64 => None,
    }
}

/// `v` with every NaN lane (of the layout `lanes`) replaced by the positive
/// canonical NaN the scalar path uses (`kiln_runtime::nan::CANONICAL_F32`,
/// `CANONICAL_F64`). Other lanes keep their bits.
#[inline]
pub fn canonicalize(lanes: FloatLanes, v: u128) -> u128 {
    // A NaN is a value whose bits, sign cleared, exceed infinity's.
    match lanes {
        FloatLanes::F32x4 => repr::map::<u32, 4>(v, |x| {
            if x & 0x7fff_ffff > 0x7f80_0000 {
                kiln_runtime::nan::CANONICAL_F32
            } else {
                x
            }
        }),
        FloatLanes::F64x2 => repr::map::<u64, 2>(v, |x| {
            let nan = x & !(1 << 63) > 0x7ff0_0000_0000_0000;
            if nan {
                kiln_runtime::nan::CANONICAL_F64
            } else {
                x
            }
        }),
    }
}

#[cfg(test)]
mod tests;
