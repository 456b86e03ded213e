//! Tests across the families: every vector operator is evaluated by exactly
//! the dispatcher of its arity, and the NaN canonicalisation helpers.

use super::*;
use crate::num::simd::repr::{join, split};
use NumOp::*;
use kiln_parser::ValType;

/// Every vector operator of the parser's table (those with a `V128` operand
/// or result), in table order. [`list_is_complete`] keeps it in step with the
/// table.
const VECTOR_OPS: &[NumOp] = &[
    I8x16Swizzle,
    I8x16Splat,
    I16x8Splat,
    I32x4Splat,
    I64x2Splat,
    F32x4Splat,
    F64x2Splat,
    I8x16Eq,
    I8x16Ne,
    I8x16LtS,
    I8x16LtU,
    I8x16GtS,
    I8x16GtU,
    I8x16LeS,
    I8x16LeU,
    I8x16GeS,
    I8x16GeU,
    I16x8Eq,
    I16x8Ne,
    I16x8LtS,
    I16x8LtU,
    I16x8GtS,
    I16x8GtU,
    I16x8LeS,
    I16x8LeU,
    I16x8GeS,
    I16x8GeU,
    I32x4Eq,
    I32x4Ne,
    I32x4LtS,
    I32x4LtU,
    I32x4GtS,
    I32x4GtU,
    I32x4LeS,
    I32x4LeU,
    I32x4GeS,
    I32x4GeU,
    I64x2Eq,
    I64x2Ne,
    I64x2LtS,
    I64x2GtS,
    I64x2LeS,
    I64x2GeS,
    F32x4Eq,
    F32x4Ne,
    F32x4Lt,
    F32x4Gt,
    F32x4Le,
    F32x4Ge,
    F64x2Eq,
    F64x2Ne,
    F64x2Lt,
    F64x2Gt,
    F64x2Le,
    F64x2Ge,
    V128Not,
    V128And,
    V128AndNot,
    V128Or,
    V128Xor,
    V128Bitselect,
    V128AnyTrue,
    I8x16Abs,
    I8x16Neg,
    I8x16Popcnt,
    I8x16AllTrue,
    I8x16Bitmask,
    I8x16NarrowI16x8S,
    I8x16NarrowI16x8U,
    I8x16Shl,
    I8x16ShrS,
    I8x16ShrU,
    I8x16Add,
    I8x16AddSatS,
    I8x16AddSatU,
    I8x16Sub,
    I8x16SubSatS,
    I8x16SubSatU,
    I8x16MinS,
    I8x16MinU,
    I8x16MaxS,
    I8x16MaxU,
    I8x16AvgrU,
    I16x8ExtAddPairwiseI8x16S,
    I16x8ExtAddPairwiseI8x16U,
    I16x8Abs,
    I16x8Neg,
    I16x8Q15MulrSatS,
    I16x8AllTrue,
    I16x8Bitmask,
    I16x8NarrowI32x4S,
    I16x8NarrowI32x4U,
    I16x8ExtendLowI8x16S,
    I16x8ExtendHighI8x16S,
    I16x8ExtendLowI8x16U,
    I16x8ExtendHighI8x16U,
    I16x8Shl,
    I16x8ShrS,
    I16x8ShrU,
    I16x8Add,
    I16x8AddSatS,
    I16x8AddSatU,
    I16x8Sub,
    I16x8SubSatS,
    I16x8SubSatU,
    I16x8Mul,
    I16x8MinS,
    I16x8MinU,
    I16x8MaxS,
    I16x8MaxU,
    I16x8AvgrU,
    I16x8ExtMulLowI8x16S,
    I16x8ExtMulHighI8x16S,
    I16x8ExtMulLowI8x16U,
    I16x8ExtMulHighI8x16U,
    I32x4ExtAddPairwiseI16x8S,
    I32x4ExtAddPairwiseI16x8U,
    I32x4Abs,
    I32x4Neg,
    I32x4AllTrue,
    I32x4Bitmask,
    I32x4ExtendLowI16x8S,
    I32x4ExtendHighI16x8S,
    I32x4ExtendLowI16x8U,
    I32x4ExtendHighI16x8U,
    I32x4Shl,
    I32x4ShrS,
    I32x4ShrU,
    I32x4Add,
    I32x4Sub,
    I32x4Mul,
    I32x4MinS,
    I32x4MinU,
    I32x4MaxS,
    I32x4MaxU,
    I32x4DotI16x8S,
    I32x4ExtMulLowI16x8S,
    I32x4ExtMulHighI16x8S,
    I32x4ExtMulLowI16x8U,
    I32x4ExtMulHighI16x8U,
    I64x2Abs,
    I64x2Neg,
    I64x2AllTrue,
    I64x2Bitmask,
    I64x2ExtendLowI32x4S,
    I64x2ExtendHighI32x4S,
    I64x2ExtendLowI32x4U,
    I64x2ExtendHighI32x4U,
    I64x2Shl,
    I64x2ShrS,
    I64x2ShrU,
    I64x2Add,
    I64x2Sub,
    I64x2Mul,
    I64x2ExtMulLowI32x4S,
    I64x2ExtMulHighI32x4S,
    I64x2ExtMulLowI32x4U,
    I64x2ExtMulHighI32x4U,
    F32x4Ceil,
    F32x4Floor,
    F32x4Trunc,
    F32x4Nearest,
    F32x4Abs,
    F32x4Neg,
    F32x4Sqrt,
    F32x4Add,
    F32x4Sub,
    F32x4Mul,
    F32x4Div,
    F32x4Min,
    F32x4Max,
    F32x4PMin,
    F32x4PMax,
    F64x2Ceil,
    F64x2Floor,
    F64x2Trunc,
    F64x2Nearest,
    F64x2Abs,
    F64x2Neg,
    F64x2Sqrt,
    F64x2Add,
    F64x2Sub,
    F64x2Mul,
    F64x2Div,
    F64x2Min,
    F64x2Max,
    F64x2PMin,
    F64x2PMax,
    I32x4TruncSatF32x4S,
    I32x4TruncSatF32x4U,
    F32x4ConvertI32x4S,
    F32x4ConvertI32x4U,
    I32x4TruncSatF64x2SZero,
    I32x4TruncSatF64x2UZero,
    F64x2ConvertLowI32x4S,
    F64x2ConvertLowI32x4U,
    F32x4DemoteF64x2Zero,
    F64x2PromoteLowF32x4,
    I8x16RelaxedSwizzle,
    I32x4RelaxedTruncF32x4S,
    I32x4RelaxedTruncF32x4U,
    I32x4RelaxedTruncF64x2SZero,
    I32x4RelaxedTruncF64x2UZero,
    F32x4RelaxedMadd,
    F32x4RelaxedNmadd,
    F64x2RelaxedMadd,
    F64x2RelaxedNmadd,
    I8x16RelaxedLaneselect,
    I16x8RelaxedLaneselect,
    I32x4RelaxedLaneselect,
    I64x2RelaxedLaneselect,
    F32x4RelaxedMin,
    F32x4RelaxedMax,
    F64x2RelaxedMin,
    F64x2RelaxedMax,
    I16x8RelaxedQ15mulrS,
    I16x8RelaxedDotI8x16I7x16S,
    I32x4RelaxedDotI8x16I7x16AddS,
];

/// The parser's table has as many vector operators as [`VECTOR_OPS`], so an
/// operator added there without a case here (and in the dispatchers) fails.
#[test]
fn list_is_complete() {
    let table = include_str!("../../../../parser/src/num_ops.rs");
    let rows = table
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(": [") && l.contains("] -> ") && l.ends_with(';'))
        .filter(|l| !l.starts_with("//") && l.contains("V128"))
        .count();
    assert_eq!(rows, VECTOR_OPS.len());
    for op in VECTOR_OPS {
        let vector = op.result() == ValType::V128 || op.params().contains(&ValType::V128);
        assert!(vector, "{}", op.name());
        assert_eq!(crate::num::arity(*op), None, "{}", op.name());
    }
}

/// Each vector operator gives a non-zero result from the dispatcher of its
/// arity for at least one of a few operand sets, and 0 (the "not mine" answer)
/// from the other two; so none is missing from its match or listed in the
/// wrong one.
#[test]
fn every_vector_op_is_dispatched_by_its_arity() {
    let floats = join([1.5f32, 2.5, -3.0, 100.0]);
    let pattern = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
    let sets = [
        (floats, floats, floats),
        (pattern, floats, pattern),
        (u128::MAX, u128::MAX, u128::MAX),
        (floats, pattern, u128::MAX),
    ];
    for &op in VECTOR_OPS {
        let arity = op.params().len();
        let mut hit = false;
        for (a, b, c) in sets {
            let (u, bi, t) = (unary(op, a), binary(op, a, b), ternary(op, a, b, c));
            let (mine, others) = match arity {
                1 => (u, [bi, t]),
                2 => (bi, [u, t]),
                _ => (t, [u, bi]),
            };
            hit |= mine != 0;
            assert_eq!(others, [0, 0], "{} answered by another arity", op.name());
        }
        assert!(hit, "{} gives 0 for every operand set", op.name());
    }
}

/// Scalar operators are not the vector dispatchers' job: 0, no panic.
#[test]
fn scalar_ops_give_zero() {
    for op in [I32Add, F64Sqrt, I64TruncSatF64U, I32Eqz, F32Copysign] {
        assert_eq!(unary(op, u128::MAX), 0);
        assert_eq!(binary(op, u128::MAX, 1), 0);
        assert_eq!(ternary(op, u128::MAX, 1, 2), 0);
    }
}

#[test]
fn nan_lanes_names_exactly_the_arithmetic_float_ops() {
    let f32x4 = [
        F32x4Add,
        F32x4Sub,
        F32x4Mul,
        F32x4Div,
        F32x4Sqrt,
        F32x4Min,
        F32x4Max,
        F32x4Ceil,
        F32x4Floor,
        F32x4Trunc,
        F32x4Nearest,
        F32x4DemoteF64x2Zero,
        F32x4RelaxedMadd,
        F32x4RelaxedNmadd,
        F32x4RelaxedMin,
        F32x4RelaxedMax,
    ];
    let f64x2 = [
        F64x2Add,
        F64x2Sub,
        F64x2Mul,
        F64x2Div,
        F64x2Sqrt,
        F64x2Min,
        F64x2Max,
        F64x2Ceil,
        F64x2Floor,
        F64x2Trunc,
        F64x2Nearest,
        F64x2PromoteLowF32x4,
        F64x2RelaxedMadd,
        F64x2RelaxedNmadd,
        F64x2RelaxedMin,
        F64x2RelaxedMax,
    ];
    for &op in VECTOR_OPS {
        let want = if f32x4.contains(&op) {
            Some(FloatLanes::F32x4)
        } else if f64x2.contains(&op) {
            Some(FloatLanes::F64x2)
        } else {
            None
        };
        assert_eq!(nan_lanes(op), want, "{}", op.name());
    }
    assert_eq!(nan_lanes(F32Add), None);
}

#[test]
fn canonicalize_rewrites_only_nan_lanes() {
    let v = join([0xffa0_0001u32, 0x7f80_0000, 0x7fc0_0001, 0xff80_0000]);
    assert_eq!(
        canonicalize(FloatLanes::F32x4, v),
        join([0x7fc0_0000u32, 0x7f80_0000, 0x7fc0_0000, 0xff80_0000])
    );
    let w = join([0xfff0_0000_0000_0001u64, 0x8000_0000_0000_0000]);
    assert_eq!(
        canonicalize(FloatLanes::F64x2, w),
        join([0x7ff8_0000_0000_0000u64, 0x8000_0000_0000_0000])
    );
    // Read as f64x2, an f32x4 NaN pattern may not be a NaN at all.
    let x = join([0u32, 0x7fc0_0000, 0, 0]);
    assert_eq!(canonicalize(FloatLanes::F64x2, x), x);
    assert_eq!(
        split::<u64, 2>(canonicalize(FloatLanes::F32x4, x))[0],
        0x7fc0_0000 << 32
    );
}
