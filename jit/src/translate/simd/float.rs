//! Float lane operators, float splats, and the conversions between integer and
//! float vectors.
//!
//! Cranelift's `fmin`/`fmax` are WebAssembly's `min`/`max` (NaN-propagating,
//! `-0 < +0`), `nearest` rounds ties to even, and the `*_sat` conversions
//! saturate and map NaN to 0, as WebAssembly's `trunc_sat`. NaN
//! canonicalisation is Cranelift's (see `mod.rs`).

use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::types::{F32X4, F64X2, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use kiln_parser::NumOp;

use super::super::FuncState;

impl FuncState<'_, '_> {
    /// The float operators and conversions (see the module docs).
    pub(super) fn simd_float_op(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        self.simd_float_compare(op, args)
            .or_else(|| self.simd_float_arith(op, args))
            .or_else(|| self.simd_convert(op, args))
    }

    /// Float lane comparisons: all-ones lanes for true (false with a NaN, except `ne`).
    fn simd_float_compare(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use FloatCC::*;
        use NumOp::*;
        let (ty, cc) = match op {
            F32x4Eq => (F32X4, Equal),
            F32x4Ne => (F32X4, NotEqual),
            F32x4Lt => (F32X4, LessThan),
            F32x4Gt => (F32X4, GreaterThan),
            F32x4Le => (F32X4, LessThanOrEqual),
            F32x4Ge => (F32X4, GreaterThanOrEqual),
            F64x2Eq => (F64X2, Equal),
            F64x2Ne => (F64X2, NotEqual),
            F64x2Lt => (F64X2, LessThan),
            F64x2Gt => (F64X2, GreaterThan),
            F64x2Le => (F64X2, LessThanOrEqual),
            F64x2Ge => (F64X2, GreaterThanOrEqual),
            _ => return None,
        };
        let (a, b) = self.vec_pair(args, ty);
        Some(self.b.ins().fcmp(cc, a, b))
    }

    /// Lane-wise float arithmetic and the float splats.
    fn simd_float_arith(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        match op {
            F32x4Splat => return Some(self.b.ins().splat(F32X4, args[0])),
            F64x2Splat => return Some(self.b.ins().splat(F64X2, args[0])),
            _ => {}
        }
        let ty = float_lanes(op)?;
        if args.len() == 1 {
            let a = self.vec_as(args[0], ty);
            let ins = self.b.ins();
            return Some(match op {
                F32x4Ceil | F64x2Ceil => ins.ceil(a),
                F32x4Floor | F64x2Floor => ins.floor(a),
                F32x4Trunc | F64x2Trunc => ins.trunc(a),
                F32x4Nearest | F64x2Nearest => ins.nearest(a),
                F32x4Abs | F64x2Abs => ins.fabs(a),
                F32x4Neg | F64x2Neg => ins.fneg(a),
                F32x4Sqrt | F64x2Sqrt => ins.sqrt(a),
                _ => return None,
            });
        }
        let (a, b) = self.vec_pair(args, ty);
        Some(match op {
            F32x4Add | F64x2Add => self.b.ins().fadd(a, b),
            F32x4Sub | F64x2Sub => self.b.ins().fsub(a, b),
            F32x4Mul | F64x2Mul => self.b.ins().fmul(a, b),
            F32x4Div | F64x2Div => self.b.ins().fdiv(a, b),
            F32x4Min | F64x2Min => self.b.ins().fmin(a, b),
            F32x4Max | F64x2Max => self.b.ins().fmax(a, b),
            // pmin(a, b) = b < a ? b : a, and pmax(a, b) = a < b ? b : a: one operand,
            // bits and all. The operand order is the one Cranelift's x86 backend
            // lowers to a single `minps`/`maxps`.
            F32x4PMin | F64x2PMin => {
                let lt = self.b.ins().fcmp(FloatCC::LessThan, b, a);
                let mask = self.vec_as(lt, ty);
                self.b.ins().bitselect(mask, b, a)
            }
            F32x4PMax | F64x2PMax => {
                let lt = self.b.ins().fcmp(FloatCC::LessThan, a, b);
                let mask = self.vec_as(lt, ty);
                self.b.ins().bitselect(mask, b, a)
            }
            _ => return None,
        })
    }

    /// Conversions between integer and float lanes, and between float widths.
    pub(super) fn simd_convert(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        let a = args.first().copied()?;
        Some(match op {
            I32x4TruncSatF32x4S | I32x4RelaxedTruncF32x4S => {
                let a = self.vec_as(a, F32X4);
                self.b.ins().fcvt_to_sint_sat(I32X4, a)
            }
            I32x4TruncSatF32x4U | I32x4RelaxedTruncF32x4U => {
                let a = self.vec_as(a, F32X4);
                self.b.ins().fcvt_to_uint_sat(I32X4, a)
            }
            // The two results in lanes 0 and 1, zeros above: the 64-bit saturated
            // results narrowed (saturating again, which changes nothing) against zero.
            I32x4TruncSatF64x2SZero | I32x4RelaxedTruncF64x2SZero => {
                let a = self.vec_as(a, F64X2);
                let wide = self.b.ins().fcvt_to_sint_sat(I64X2, a);
                let zero = self.vec_zero(I64X2);
                self.b.ins().snarrow(wide, zero)
            }
            I32x4TruncSatF64x2UZero | I32x4RelaxedTruncF64x2UZero => {
                let a = self.vec_as(a, F64X2);
                let wide = self.b.ins().fcvt_to_uint_sat(I64X2, a);
                let zero = self.vec_zero(I64X2);
                self.b.ins().uunarrow(wide, zero)
            }
            F32x4ConvertI32x4S => {
                let a = self.vec_as(a, I32X4);
                self.b.ins().fcvt_from_sint(F32X4, a)
            }
            F32x4ConvertI32x4U => {
                let a = self.vec_as(a, I32X4);
                self.b.ins().fcvt_from_uint(F32X4, a)
            }
            F64x2ConvertLowI32x4S => {
                let a = self.vec_as(a, I32X4);
                let wide = self.b.ins().swiden_low(a);
                self.b.ins().fcvt_from_sint(F64X2, wide)
            }
            F64x2ConvertLowI32x4U => {
                let a = self.vec_as(a, I32X4);
                let wide = self.b.ins().uwiden_low(a);
                self.b.ins().fcvt_from_uint(F64X2, wide)
            }
            // Lanes 2 and 3 of the result are zero.
            F32x4DemoteF64x2Zero => {
                let a = self.vec_as(a, F64X2);
                self.b.ins().fvdemote(a)
            }
            F64x2PromoteLowF32x4 => {
                let a = self.vec_as(a, F32X4);
                self.b.ins().fvpromote_low(a)
            }
            _ => return None,
        })
    }
}

/// The lane type of a float lane operator (its name's shape).
pub(super) fn float_lanes(op: NumOp) -> Option<Type> {
    let name = op.name();
    if name.starts_with("F32x4") {
        Some(F32X4)
    } else if name.starts_with("F64x2") {
        Some(F64X2)
    } else {
        None
    }
}
