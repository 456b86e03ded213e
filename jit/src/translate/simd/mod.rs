//! SIMD: `v128` values and every vector instruction, through Cranelift's vector
//! types.
//!
//! # One type where values meet
//! A `v128` is an `I8X16` wherever values meet: on the operand stack, in locals
//! (Cranelift `Variable`s), block parameters, call arguments and results,
//! globals and value buffers. An instruction that sees its operands as other
//! lanes (`f32x4.add` as `F32X4`) bitcasts them ([`FuncState::vec_as`]: a
//! `bitcast` with little-endian flags, no code on x86) and bitcasts its result
//! back ([`FuncState::push_vec`]). So a block parameter or a local never needs
//! reconciling between lane types at a join (wasmtime instead keeps values
//! typed and bitcasts at every branch; here the bitcast pairs between two
//! vector instructions are left to Cranelift, and cost no instruction).
//!
//! # NaN canonicalisation
//! With `CompileOptions::canonicalize_nans`, Cranelift's
//! `enable_nan_canonicalization` pass rewrites every NaN produced by `fadd`,
//! `fsub`, `fmul`, `fdiv`, `sqrt`, `fmin`, `fmax`, `ceil`, `floor`, `trunc`,
//! `nearest`, `fvdemote` and `fvpromote_low` into the canonical NaN, lane by
//! lane for `F32X4`/`F64X2` (`0x7fc00000`, `0x7ff8000000000000`: the bits it
//! uses for scalars). So vector float arithmetic is translated to exactly those
//! instructions, relaxed `madd`/`nmadd`/`min`/`max` included, and nothing else
//! is needed. `pmin`/`pmax` are `bitselect`s (they return one operand, bits and
//! all, as the interpreter does), and `abs`, `neg` and the bitwise operators
//! only touch bits: none of them is canonicalised.
//!
//! # Relaxed SIMD
//! Every relaxed operator gives the result of the deterministic profile (the
//! first alternative the spec lists), so the tiers and every host agree bit for
//! bit: see `relaxed.rs`.
//!
//! # Files
//! This file: the representation, the dispatch, `v128.const`, `i8x16.shuffle`
//! and lane access. `int.rs`: integer lane operators and bitwise operators;
//! `float.rs`: float lane operators and conversions; `relaxed.rs`: relaxed
//! SIMD; `memory.rs`: vector loads and stores.

mod float;
mod int;
mod memory;
mod relaxed;

use cranelift_codegen::ir::types::{F32X4, F64X2, I8, I8X16, I16, I16X8, I32, I32X4, I64X2};
use cranelift_codegen::ir::{ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value};
use kiln_parser::{Instr, LaneShape, NumOp};
use kiln_runtime::TierName;

use super::FuncState;
use crate::CompileError;

impl FuncState<'_, '_> {
    /// `v` (a vector of any lane type) as a vector of type `ty`.
    pub(super) fn vec_as(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            let flags = MemFlagsData::new().with_endianness(Endianness::Little);
            self.b.ins().bitcast(ty, flags, v)
        }
    }

    /// Pushes vector `v` as a `v128` (`I8X16`).
    fn push_vec(&mut self, v: Value) {
        let v = self.vec_as(v, I8X16);
        self.push(v);
    }

    /// A `v128` constant from its little-endian bytes.
    pub(super) fn v128_const(&mut self, bytes: &[u8; 16]) -> Value {
        let data = ConstantData::from(&bytes[..]);
        let c = self.b.func.dfg.constants.insert(data);
        self.b.ins().vconst(I8X16, c)
    }

    /// A vector `NumOp` (one whose operands or result include `v128`).
    ///
    /// # Errors
    ///
    /// [`CompileError::Unsupported`] for an operator no family translates (none
    /// of the table's, which the families cover exhaustively).
    pub(super) fn visit_simd_num(&mut self, op: NumOp) -> Result<(), CompileError> {
        let n = op.params().len();
        let mut args = [Value::from_u32(0); 3];
        for slot in args[..n].iter_mut().rev() {
            *slot = self.pop();
        }
        let args = &args[..n];
        let v = self
            .simd_int_op(op, args)
            .or_else(|| self.simd_float_op(op, args))
            .or_else(|| self.simd_relaxed_op(op, args))
            .ok_or_else(|| {
                CompileError::unsupported(TierName::Jit, format!("the operator {}", op.name()))
            })?;
        if self.b.func.dfg.value_type(v).is_vector() {
            self.push_vec(v);
        } else {
            self.push(v);
        }
        Ok(())
    }

    /// The vector instructions outside [`NumOp`], loads and stores: shuffle, lane
    /// access, and lane loads and stores.
    pub(super) fn visit_simd(&mut self, instr: &Instr) -> Result<(), CompileError> {
        match instr {
            Instr::Shuffle(lanes) => {
                let b = self.pop();
                let a = self.pop();
                let mask = self
                    .b
                    .func
                    .dfg
                    .immediates
                    .push(ConstantData::from(&lanes[..]));
                let v = self.b.ins().shuffle(a, b, mask);
                self.push_vec(v);
            }
            Instr::ExtractLane(shape, lane) => {
                let v = self.pop();
                let x = self.extract_lane(*shape, *lane, v);
                self.push(x);
            }
            Instr::ReplaceLane(shape, lane) => {
                let x = self.pop();
                let v = self.pop();
                let (ty, narrow) = lane_types(*shape);
                let v = self.vec_as(v, ty);
                let x = match narrow {
                    Some(n) => self.b.ins().ireduce(n, x),
                    None => x,
                };
                let v = self.b.ins().insertlane(v, x, *lane);
                self.push_vec(v);
            }
            Instr::LoadLane(width, memarg, lane) => self.visit_load_lane(*width, memarg, *lane)?,
            Instr::StoreLane(width, memarg, lane) => {
                self.visit_store_lane(*width, memarg, *lane)?
            }
            other => {
                return Err(CompileError::unsupported(
                    TierName::Jit,
                    format!("{other:?} as a SIMD instruction"),
                ));
            }
        }
        Ok(())
    }

    /// `*.extract_lane`: lanes narrower than 32 bits extended to an `i32`.
    fn extract_lane(&mut self, shape: LaneShape, lane: u8, v: Value) -> Value {
        let (ty, _) = lane_types(shape);
        let v = self.vec_as(v, ty);
        let x = self.b.ins().extractlane(v, lane);
        match shape {
            LaneShape::I8x16S | LaneShape::I16x8S => self.b.ins().sextend(I32, x),
            LaneShape::I8x16U | LaneShape::I16x8U => self.b.ins().uextend(I32, x),
            _ => x,
        }
    }

    /// A zero vector of type `ty`, as a constant of that type: Cranelift's x86
    /// backend lowers `snarrow`/`uunarrow` of a saturating conversion against
    /// zero (`trunc_sat_f64x2_*_zero`) only when it sees the zero `vconst` itself.
    fn vec_zero(&mut self, ty: Type) -> Value {
        let c = self
            .b
            .func
            .dfg
            .constants
            .insert(ConstantData::from(&[0u8; 16][..]));
        self.b.ins().vconst(ty, c)
    }
}

/// The vector type of a lane shape, and the lane type its scalar operand is
/// narrowed to (`i8x16` and `i16x8` lanes come from an `i32`).
fn lane_types(shape: LaneShape) -> (Type, Option<Type>) {
    match shape {
        LaneShape::I8x16S | LaneShape::I8x16U => (I8X16, Some(I8)),
        LaneShape::I16x8S | LaneShape::I16x8U => (I16X8, Some(I16)),
        LaneShape::I32x4 => (I32X4, None),
        LaneShape::I64x2 => (I64X2, None),
        LaneShape::F32x4 => (F32X4, None),
        LaneShape::F64x2 => (F64X2, None),
    }
}
