//! Which instructions NaN canonicalisation (Kiln's deterministic mode)
//! rewrites: the list the interpreter and `kiln::instrument` share (the
//! JIT has Cranelift's canonicalisation pass rewrite the same operators).
//!
//! The float arithmetic whose NaN results the spec leaves
//! non-deterministic has its NaN results replaced by the positive canonical
//! NaN ([`CANONICAL_F32`], [`CANONICAL_F64`]), lane by lane for vectors. Sign operations (`abs`, `neg`, `copysign`),
//! reinterpretations, conversions from integers, `pmin`/`pmax`, comparisons
//! and bit operators move or test bits exactly and are left alone.

use kiln_parser::NumOp;

/// The canonical `f32` NaN: positive, quiet, no payload.
pub const CANONICAL_F32: u32 = 0x7fc0_0000;
/// The canonical `f64` NaN: positive, quiet, no payload.
pub const CANONICAL_F64: u64 = 0x7ff8_0000_0000_0000;

/// The shape of a result that canonicalisation rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NanResult {
    /// An `f32`.
    F32,
    /// An `f64`.
    F64,
    /// A `v128` of four `f32` lanes.
    F32x4,
    /// A `v128` of two `f64` lanes.
    F64x2,
}

/// Whether `op`'s result is canonicalised, and its shape.
pub fn nan_result(op: NumOp) -> Option<NanResult> {
    use NumOp::*;
    match op {
        F32Add | F32Sub | F32Mul | F32Div | F32Sqrt | F32Min | F32Max | F32Ceil | F32Floor
        | F32Trunc | F32Nearest | F32DemoteF64 => Some(NanResult::F32),
        F64Add | F64Sub | F64Mul | F64Div | F64Sqrt | F64Min | F64Max | F64Ceil | F64Floor
        | F64Trunc | F64Nearest | F64PromoteF32 => Some(NanResult::F64),
        F32x4Add | F32x4Sub | F32x4Mul | F32x4Div | F32x4Sqrt | F32x4Min | F32x4Max | F32x4Ceil
        | F32x4Floor | F32x4Trunc | F32x4Nearest | F32x4DemoteF64x2Zero | F32x4RelaxedMadd
        | F32x4RelaxedNmadd | F32x4RelaxedMin | F32x4RelaxedMax => Some(NanResult::F32x4),
        F64x2Add | F64x2Sub | F64x2Mul | F64x2Div | F64x2Sqrt | F64x2Min | F64x2Max | F64x2Ceil
        | F64x2Floor | F64x2Trunc | F64x2Nearest | F64x2PromoteLowF32x4 | F64x2RelaxedMadd
        | F64x2RelaxedNmadd | F64x2RelaxedMin | F64x2RelaxedMax => Some(NanResult::F64x2),
        _ => None,
    }
}
