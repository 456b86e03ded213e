//! Relaxed SIMD, in the spec's deterministic profile.
//!
//! The spec gives each relaxed operator a list of allowed results,
//! `relaxed(R)[A0, ..., An]`, and the deterministic profile fixes the first,
//! `A0` (numerics.rst, "Relaxed operations"). Kiln always computes `A0`, so
//! both tiers and every host agree bit for bit:
//! - `relaxed_swizzle` = `swizzle` (an index of 16 or more selects 0);
//! - `relaxed_trunc*` = the `trunc_sat` forms (translated with them, in
//!   `float.rs`);
//! - `relaxed_madd(a, b, c)` = `fadd(fmul(a, b), c)`: two roundings, never a fused
//!   `fma` (the second alternative); `relaxed_nmadd(a, b, c)` =
//!   `relaxed_madd(-a, b, c)`;
//! - `relaxed_min`/`relaxed_max` = `fmin`/`fmax` (WebAssembly's `min`/`max`);
//! - `relaxed_laneselect` = `bitselect`, whatever the lane width;
//! - `relaxed_q15mulr_s` = `q15mulr_sat_s` (`0x8000 * 0x8000` saturates to
//!   `0x7fff`);
//! - `relaxed_dot_i8x16_i7x16_s` = `ivdotsat` with both operands signed: the
//!   sixteen `i8 * i8` products at 16 bits (exact), added in adjacent pairs with
//!   signed saturation (`-128 * -128 * 2` gives `0x7fff`);
//! - `relaxed_dot_i8x16_i7x16_add_s(a, b, c)` = the same saturated `i16x8` dot
//!   product, its adjacent lanes added into `i32`s (`extadd_pairwise_s`), plus
//!   `c` (wrapping).

use cranelift_codegen::ir::types::{I8X16, I16X8, I32X4};
use cranelift_codegen::ir::{InstBuilder, Value};
use kiln_parser::NumOp;

use super::super::FuncState;
use super::float::float_lanes;
use super::int::Half;

impl FuncState<'_, '_> {
    /// The relaxed operators other than the truncations (see the module docs).
    pub(super) fn simd_relaxed_op(&mut self, op: NumOp, args: &[Value]) -> Option<Value> {
        use NumOp::*;
        Some(match op {
            I8x16RelaxedSwizzle => self.b.ins().swizzle(args[0], args[1]),
            F32x4RelaxedMadd | F64x2RelaxedMadd | F32x4RelaxedNmadd | F64x2RelaxedNmadd => {
                let ty = float_lanes(op)?;
                let (a, b) = self.vec_pair(args, ty);
                let c = self.vec_as(args[2], ty);
                let a = if matches!(op, F32x4RelaxedNmadd | F64x2RelaxedNmadd) {
                    self.b.ins().fneg(a)
                } else {
                    a
                };
                let product = self.b.ins().fmul(a, b);
                self.b.ins().fadd(product, c)
            }
            F32x4RelaxedMin | F64x2RelaxedMin => {
                let (a, b) = self.vec_pair(args, float_lanes(op)?);
                self.b.ins().fmin(a, b)
            }
            F32x4RelaxedMax | F64x2RelaxedMax => {
                let (a, b) = self.vec_pair(args, float_lanes(op)?);
                self.b.ins().fmax(a, b)
            }
            // Bitwise, so the lane width does not matter.
            I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect => self.b.ins().bitselect(args[2], args[0], args[1]),
            I16x8RelaxedQ15mulrS => {
                let (a, b) = self.vec_pair(args, I16X8);
                self.b.ins().sqmul_round_sat(a, b)
            }
            I16x8RelaxedDotI8x16I7x16S => self.relaxed_dot(args[0], args[1]),
            I32x4RelaxedDotI8x16I7x16AddS => {
                let dot = self.relaxed_dot(args[0], args[1]);
                let low = self.widen(dot, Half::Low, true);
                let high = self.widen(dot, Half::High, true);
                let sums = self.b.ins().iadd_pairwise(low, high);
                let c = self.vec_as(args[2], I32X4);
                self.b.ins().iadd(sums, c)
            }
            _ => return None,
        })
    }

    /// `relaxed_dot_i8x16_i7x16_s`, deterministic: signed products, adjacent pairs
    /// added with signed saturation to 16 bits (an `I16X8`).
    fn relaxed_dot(&mut self, a: Value, b: Value) -> Value {
        let (a, b) = (self.vec_as(a, I8X16), self.vec_as(b, I8X16));
        // Products of lanes 0..8 and 8..16, exact at 16 bits.
        let low = self.extmul(a, b, Half::Low, true);
        let high = self.extmul(a, b, Half::High, true);
        // Each adjacent pair summed exactly at 32 bits, then narrowed with
        // signed saturation: lanes 0..4 from `low`, 4..8 from `high`.
        let mut sums = [low, high];
        for s in &mut sums {
            let l = self.widen(*s, Half::Low, true);
            let h = self.widen(*s, Half::High, true);
            *s = self.b.ins().iadd_pairwise(l, h);
        }
        self.b.ins().snarrow(sums[0], sums[1])
    }
}
