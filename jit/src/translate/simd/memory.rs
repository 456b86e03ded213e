//! Vector loads and stores: `v128.load` and its widening, splatting and zeroing
//! forms, and the lane loads and stores (`v128.store` is a plain store of the
//! `I8X16`, in `../memory.rs`).
//!
//! Every access goes through `heap_addr` with its own width (16 bytes, 8 for
//! the widening loads, the lane's size for the others), so it has exactly the
//! bounds checks of a scalar access of that width: explicit ones for 64-bit or
//! unguarded memories, the guard region's fault otherwise.

use cranelift_codegen::ir::types::{self, I8X16, I16X8, I32X4, I64X2};
use cranelift_codegen::ir::{InstBuilder, Type};
use kiln_parser::{LaneWidth, LoadOp, MemArg};
use kiln_runtime::TierName;

use super::super::FuncState;
use crate::CompileError;

impl FuncState<'_, '_> {
    /// A vector load: pops the address, pushes the `v128`.
    ///
    /// # Errors
    ///
    /// [`CompileError::Unsupported`] if `op` is not a vector load.
    pub(in super::super) fn visit_v128_load(
        &mut self,
        op: LoadOp,
        memarg: &MemArg,
    ) -> Result<(), CompileError> {
        use LoadOp::*;
        let size = 1u64 << op.max_align();
        let addr = self.heap_addr(memarg, size)?;
        let f = self.heap_flags();
        let ins = self.b.ins();
        let v = match op {
            V128Load => ins.load(I8X16, f, addr, 0),
            V128Load8x8S => ins.sload8x8(f, addr, 0),
            V128Load8x8U => ins.uload8x8(f, addr, 0),
            V128Load16x4S => ins.sload16x4(f, addr, 0),
            V128Load16x4U => ins.uload16x4(f, addr, 0),
            V128Load32x2S => ins.sload32x2(f, addr, 0),
            V128Load32x2U => ins.uload32x2(f, addr, 0),
            V128Load8Splat | V128Load16Splat | V128Load32Splat | V128Load64Splat => {
                let ty = splat_type(op);
                let x = ins.load(ty.lane_type(), f, addr, 0);
                self.b.ins().splat(ty, x)
            }
            // The lane in lane 0, zeros above.
            V128Load32Zero | V128Load64Zero => {
                let ty = if op == V128Load32Zero { I32X4 } else { I64X2 };
                let x = ins.load(ty.lane_type(), f, addr, 0);
                self.b.ins().scalar_to_vector(ty, x)
            }
            other => {
                return Err(CompileError::unsupported(
                    TierName::Jit,
                    format!("{} as a vector load", other.name()),
                ));
            }
        };
        self.push_vec(v);
        Ok(())
    }

    /// `v128.loadN_lane`: pops the vector and the address, pushes the vector with
    /// lane `lane` loaded.
    pub(super) fn visit_load_lane(
        &mut self,
        width: LaneWidth,
        memarg: &MemArg,
        lane: u8,
    ) -> Result<(), CompileError> {
        let ty = lane_vector(width);
        let v = self.pop();
        let v = self.vec_as(v, ty);
        let addr = self.heap_addr(memarg, 1 << width.max_align())?;
        let f = self.heap_flags();
        let x = self.b.ins().load(ty.lane_type(), f, addr, 0);
        let v = self.b.ins().insertlane(v, x, lane);
        self.push_vec(v);
        Ok(())
    }

    /// `v128.storeN_lane`: pops the vector and the address, stores lane `lane`.
    pub(super) fn visit_store_lane(
        &mut self,
        width: LaneWidth,
        memarg: &MemArg,
        lane: u8,
    ) -> Result<(), CompileError> {
        let ty = lane_vector(width);
        let v = self.pop();
        let v = self.vec_as(v, ty);
        let x = self.b.ins().extractlane(v, lane);
        let addr = self.heap_addr(memarg, 1 << width.max_align())?;
        let f = self.heap_flags();
        self.b.ins().store(f, x, addr, 0);
        Ok(())
    }
}

/// The vector type whose lanes have `width`.
fn lane_vector(width: LaneWidth) -> Type {
    match width {
        LaneWidth::B8 => I8X16,
        LaneWidth::B16 => I16X8,
        LaneWidth::B32 => I32X4,
        LaneWidth::B64 => I64X2,
    }
}

/// The vector type a `load*_splat` fills.
fn splat_type(op: LoadOp) -> Type {
    match op {
        LoadOp::V128Load8Splat => I8X16,
        LoadOp::V128Load16Splat => I16X8,
        LoadOp::V128Load32Splat => I32X4,
        _ => types::I64X2,
    }
}
