//! Integer lane operators, bitwise operators and integer splats.
//!
//! Each function handles one group of [`NumOp`]s and returns `None` for the
//! others, so [`FuncState::visit_simd_num`] tries the groups in turn. Vector
//! results may have any lane type; the caller stores them back as `I8X16`.
//! Cranelift's vector instructions have WebAssembly's semantics where they
//! share a name: shifts take the count modulo the lane width, `snarrow` and
//! `unarrow` saturate, `sqmul_round_sat` is `q15mulr_sat_s`, `avg_round` rounds
//! up, and `iabs` of the minimum is the minimum.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I8, I8X16, I16, I16X8, I32, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type, Value};
use kiln_parser::NumOp;

use super::super::FuncState;

impl FuncState<'_, '_> {
    /// The integer and bitwise operators (see the module docs).
    pub(super) fn simd_int_op(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        self.simd_bitwise(op, args)
            .or_else(|| self.simd_int_compare(op, args))
            .or_else(|| self.simd_int_arith(op, args))
            .or_else(|| self.simd_int_widen(op, args))
    }

    /// The first two operands as vectors of type `ty`.
    pub(super) fn vec_pair(&mut self, args: &[Value], ty: Type) -> (Value, Value) {
        let a = self.vec_as(args[0], ty);
        let b = self.vec_as(args[1], ty);
        (a, b)
    }

    /// Bitwise operators, `any_true`, and the integer splats.
    fn simd_bitwise(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        Some(match op {
            V128Not => self.b.ins().bnot(args[0]),
            V128And => self.b.ins().band(args[0], args[1]),
            // `band_not(a, b)` is `a & !b`, as `v128.andnot`.
            V128AndNot => self.b.ins().band_not(args[0], args[1]),
            V128Or => self.b.ins().bor(args[0], args[1]),
            V128Xor => self.b.ins().bxor(args[0], args[1]),
            // Cranelift's `bitselect(c, x, y)` takes the mask first.
            V128Bitselect => self.b.ins().bitselect(args[2], args[0], args[1]),
            V128AnyTrue => {
                let t = self.b.ins().vany_true(args[0]);
                self.b.ins().uextend(I32, t)
            }
            I8x16Splat => {
                let x = self.b.ins().ireduce(I8, args[0]);
                self.b.ins().splat(I8X16, x)
            }
            I16x8Splat => {
                let x = self.b.ins().ireduce(I16, args[0]);
                self.b.ins().splat(I16X8, x)
            }
            I32x4Splat => self.b.ins().splat(I32X4, args[0]),
            I64x2Splat => self.b.ins().splat(I64X2, args[0]),
            // Out-of-range indices select 0, as WebAssembly's swizzle.
            I8x16Swizzle => self.b.ins().swizzle(args[0], args[1]),
            _ => return None,
        })
    }

    /// Integer lane comparisons: all-ones lanes for true.
    fn simd_int_compare(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use IntCC::*;
        use NumOp::*;
        let (ty, cc) = match op {
            I8x16Eq => (I8X16, Equal),
            I8x16Ne => (I8X16, NotEqual),
            I8x16LtS => (I8X16, SignedLessThan),
            I8x16LtU => (I8X16, UnsignedLessThan),
            I8x16GtS => (I8X16, SignedGreaterThan),
            I8x16GtU => (I8X16, UnsignedGreaterThan),
            I8x16LeS => (I8X16, SignedLessThanOrEqual),
            I8x16LeU => (I8X16, UnsignedLessThanOrEqual),
            I8x16GeS => (I8X16, SignedGreaterThanOrEqual),
            I8x16GeU => (I8X16, UnsignedGreaterThanOrEqual),
            I16x8Eq => (I16X8, Equal),
            I16x8Ne => (I16X8, NotEqual),
            I16x8LtS => (I16X8, SignedLessThan),
            I16x8LtU => (I16X8, UnsignedLessThan),
            I16x8GtS => (I16X8, SignedGreaterThan),
            I16x8GtU => (I16X8, UnsignedGreaterThan),
            I16x8LeS => (I16X8, SignedLessThanOrEqual),
            I16x8LeU => (I16X8, UnsignedLessThanOrEqual),
            I16x8GeS => (I16X8, SignedGreaterThanOrEqual),
            I16x8GeU => (I16X8, UnsignedGreaterThanOrEqual),
            I32x4Eq => (I32X4, Equal),
            I32x4Ne => (I32X4, NotEqual),
            I32x4LtS => (I32X4, SignedLessThan),
            I32x4LtU => (I32X4, UnsignedLessThan),
            I32x4GtS => (I32X4, SignedGreaterThan),
            I32x4GtU => (I32X4, UnsignedGreaterThan),
            I32x4LeS => (I32X4, SignedLessThanOrEqual),
            I32x4LeU => (I32X4, UnsignedLessThanOrEqual),
            I32x4GeS => (I32X4, SignedGreaterThanOrEqual),
            I32x4GeU => (I32X4, UnsignedGreaterThanOrEqual),
            I64x2Eq => (I64X2, Equal),
            I64x2Ne => (I64X2, NotEqual),
            I64x2LtS => (I64X2, SignedLessThan),
            I64x2GtS => (I64X2, SignedGreaterThan),
            I64x2LeS => (I64X2, SignedLessThanOrEqual),
            I64x2GeS => (I64X2, SignedGreaterThanOrEqual),
            _ => return None,
        };
        let (a, b) = self.vec_pair(args, ty);
        Some(self.b.ins().icmp(cc, a, b))
    }

    /// Lane-wise integer arithmetic, shifts, and the lane reductions
    /// (`all_true`, `bitmask`).
    fn simd_int_arith(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        let ty = int_lanes(op)?;
        // Unary operators and reductions.
        if args.len() == 1 {
            let a = self.vec_as(args[0], ty);
            let ins = self.b.ins();
            return Some(match op {
                I8x16Abs | I16x8Abs | I32x4Abs | I64x2Abs => ins.iabs(a),
                I8x16Neg | I16x8Neg | I32x4Neg | I64x2Neg => ins.ineg(a),
                I8x16Popcnt => ins.popcnt(a),
                I8x16AllTrue | I16x8AllTrue | I32x4AllTrue | I64x2AllTrue => {
                    let t = ins.vall_true(a);
                    self.b.ins().uextend(I32, t)
                }
                I8x16Bitmask | I16x8Bitmask | I32x4Bitmask | I64x2Bitmask => ins.vhigh_bits(I32, a),
                _ => return None,
            });
        }
        // Shifts: the count is an `i32`, taken modulo the lane width.
        if let I8x16Shl | I16x8Shl | I32x4Shl | I64x2Shl | I8x16ShrS | I16x8ShrS | I32x4ShrS
        | I64x2ShrS | I8x16ShrU | I16x8ShrU | I32x4ShrU | I64x2ShrU = op
        {
            let a = self.vec_as(args[0], ty);
            let n = args[1];
            let ins = self.b.ins();
            return Some(match op {
                I8x16Shl | I16x8Shl | I32x4Shl | I64x2Shl => ins.ishl(a, n),
                I8x16ShrS | I16x8ShrS | I32x4ShrS | I64x2ShrS => ins.sshr(a, n),
                _ => ins.ushr(a, n),
            });
        }
        let (a, b) = self.vec_pair(args, ty);
        let ins = self.b.ins();
        Some(match op {
            I8x16Add | I16x8Add | I32x4Add | I64x2Add => ins.iadd(a, b),
            I8x16Sub | I16x8Sub | I32x4Sub | I64x2Sub => ins.isub(a, b),
            I16x8Mul | I32x4Mul | I64x2Mul => ins.imul(a, b),
            I8x16AddSatS | I16x8AddSatS => ins.sadd_sat(a, b),
            I8x16AddSatU | I16x8AddSatU => ins.uadd_sat(a, b),
            I8x16SubSatS | I16x8SubSatS => ins.ssub_sat(a, b),
            I8x16SubSatU | I16x8SubSatU => ins.usub_sat(a, b),
            I8x16MinS | I16x8MinS | I32x4MinS => ins.smin(a, b),
            I8x16MinU | I16x8MinU | I32x4MinU => ins.umin(a, b),
            I8x16MaxS | I16x8MaxS | I32x4MaxS => ins.smax(a, b),
            I8x16MaxU | I16x8MaxU | I32x4MaxU => ins.umax(a, b),
            I8x16AvgrU | I16x8AvgrU => ins.avg_round(a, b),
            I16x8Q15MulrSatS => ins.sqmul_round_sat(a, b),
            _ => return None,
        })
    }

    /// Operators whose lanes change width: narrowing, extension, extending
    /// multiplication, pairwise addition and the dot product.
    fn simd_int_widen(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        match op {
            I8x16NarrowI16x8S | I8x16NarrowI16x8U | I16x8NarrowI32x4S | I16x8NarrowI32x4U => {
                let from = if matches!(op, I8x16NarrowI16x8S | I8x16NarrowI16x8U) {
                    I16X8
                } else {
                    I32X4
                };
                let (a, b) = self.vec_pair(args, from);
                Some(if matches!(op, I8x16NarrowI16x8S | I16x8NarrowI32x4S) {
                    self.b.ins().snarrow(a, b)
                } else {
                    self.b.ins().unarrow(a, b)
                })
            }
            I32x4DotI16x8S => {
                let (a, b) = self.vec_pair(args, I16X8);
                let low = self.extmul(a, b, Half::Low, true);
                let high = self.extmul(a, b, Half::High, true);
                Some(self.b.ins().iadd_pairwise(low, high))
            }
            _ => {
                let (from, half, signed) = widening(op)?;
                let a = self.vec_as(args[0], from);
                Some(match (args.len(), half) {
                    (2, Some(half)) => {
                        let b = self.vec_as(args[1], from);
                        self.extmul(a, b, half, signed)
                    }
                    (_, Some(half)) => self.widen(a, half, signed),
                    // Pairwise addition: the widened lanes, added in pairs.
                    (_, None) => {
                        let low = self.widen(a, Half::Low, signed);
                        let high = self.widen(a, Half::High, signed);
                        self.b.ins().iadd_pairwise(low, high)
                    }
                })
            }
        }
    }

    /// The `half` of `a`'s lanes, extended to twice their width.
    pub(super) fn widen(&mut self, a: Value, half: Half, signed: bool) -> Value {
        let ins = self.b.ins();
        match (half, signed) {
            (Half::Low, true) => ins.swiden_low(a),
            (Half::High, true) => ins.swiden_high(a),
            (Half::Low, false) => ins.uwiden_low(a),
            (Half::High, false) => ins.uwiden_high(a),
        }
    }

    /// The products of the `half` lanes of `a` and `b`, at twice their width
    /// (exact).
    pub(super) fn extmul(&mut self, a: Value, b: Value, half: Half, signed: bool) -> Value {
        let a = self.widen(a, half, signed);
        let b = self.widen(b, half, signed);
        self.b.ins().imul(a, b)
    }
}

/// Which half of a vector's lanes a widening operator reads.
#[derive(Debug, Clone, Copy)]
pub(super) enum Half {
    /// Lanes 0 to n/2 - 1.
    Low,
    /// Lanes n/2 to n - 1.
    High,
}

/// The lane type of a same-width integer operator (its name's shape).
fn int_lanes(op: NumOp) -> Option<Type> {
    let name = op.name();
    if name.starts_with("I8x16") {
        Some(I8X16)
    } else if name.starts_with("I16x8") {
        Some(I16X8)
    } else if name.starts_with("I32x4") {
        Some(I32X4)
    } else if name.starts_with("I64x2") {
        Some(I64X2)
    } else {
        None
    }
}

/// For an extension, extending multiplication (half given) or pairwise addition
/// (no half): the operand's lane type, the half it reads, and whether it is
/// signed.
fn widening(op: NumOp) -> Option<(Type, Option<Half>, bool)> {
    use Half::{High, Low};
    use NumOp::*;
    Some(match op {
        I16x8ExtendLowI8x16S | I16x8ExtMulLowI8x16S => (I8X16, Some(Low), true),
        I16x8ExtendHighI8x16S | I16x8ExtMulHighI8x16S => (I8X16, Some(High), true),
        I16x8ExtendLowI8x16U | I16x8ExtMulLowI8x16U => (I8X16, Some(Low), false),
        I16x8ExtendHighI8x16U | I16x8ExtMulHighI8x16U => (I8X16, Some(High), false),
        I32x4ExtendLowI16x8S | I32x4ExtMulLowI16x8S => (I16X8, Some(Low), true),
        I32x4ExtendHighI16x8S | I32x4ExtMulHighI16x8S => (I16X8, Some(High), true),
        I32x4ExtendLowI16x8U | I32x4ExtMulLowI16x8U => (I16X8, Some(Low), false),
        I32x4ExtendHighI16x8U | I32x4ExtMulHighI16x8U => (I16X8, Some(High), false),
        I64x2ExtendLowI32x4S | I64x2ExtMulLowI32x4S => (I32X4, Some(Low), true),
        I64x2ExtendHighI32x4S | I64x2ExtMulHighI32x4S => (I32X4, Some(High), true),
        I64x2ExtendLowI32x4U | I64x2ExtMulLowI32x4U => (I32X4, Some(Low), false),
        I64x2ExtendHighI32x4U | I64x2ExtMulHighI32x4U => (I32X4, Some(High), false),
        I16x8ExtAddPairwiseI8x16S => (I8X16, None, true),
        I16x8ExtAddPairwiseI8x16U => (I8X16, None, false),
        I32x4ExtAddPairwiseI16x8S => (I16X8, None, true),
        I32x4ExtAddPairwiseI16x8U => (I16X8, None, false),
        _ => return None,
    })
}
