//! Vector ops on the slow path: the `v128` registers' high halves, vector
//! constants and operators (semantics in [`num::simd`]), lanes, lane loads
//! and stores, `v128` globals and NaN canonicalisation of float lanes.

use kiln_runtime::{Trap, TrapCode};

use super::Executor;
use crate::bytecode::{Op, Reg, sem};
use crate::exec::memory::{load_lane, store_lane};
use crate::num::simd::{self, FloatLanes};

impl Executor<'_> {
    /// Register `r` as a `v128` (both halves).
    #[inline(always)]
    pub(super) fn wide(&self, r: Reg) -> u128 {
        u128::from(reg!(self.regs, r)) | u128::from(hi!(self.regs, self.half, r)) << 64
    }

    /// Sets register `r` to the `v128` `v` (both halves).
    #[inline(always)]
    pub(super) fn set_wide(&mut self, r: Reg, v: u128) {
        reg!(self.regs, r) = v as u64;
        hi!(self.regs, self.half, r) = (v >> 64) as u64;
    }

    /// Runs vector op `op`; lane loads and stores may trap.
    pub(super) fn vector(&mut self, op: Op) -> Result<(), Trap> {
        let (regs, half) = (self.regs, self.half);
        match op {
            Op::CopyHi { dst, src } => hi!(regs, half, dst) = hi!(regs, half, src),
            Op::CopyWide { dst, src } => {
                reg!(regs, dst) = reg!(regs, src);
                hi!(regs, half, dst) = hi!(regs, half, src);
            }
            Op::SelectHi { a, b, cond } => {
                let (x, y) = (hi!(regs, half, a), hi!(regs, half, b));
                hi!(regs, half, a) = sem::select(reg!(regs, cond), x, y);
            }
            Op::V128Const { dst, idx } => {
                let v = self.ctx.frame.func().vconsts[idx as usize];
                self.set_wide(dst, v);
            }
            Op::VUnary { op, dst, src } => self.set_wide(dst, simd::unary(op, self.wide(src))),
            Op::VBinary { op, dst, a, b } => {
                let v = simd::binary(op, self.wide(a), self.wide(b));
                self.set_wide(dst, v);
            }
            Op::VTernary { op, dst, a, b } => {
                let v = simd::ternary(op, self.wide(a), self.wide(b), self.wide(dst + 2));
                self.set_wide(dst, v);
            }
            Op::Shuffle { dst, a, idx } => {
                let lanes = self.ctx.frame.func().vconsts[idx as usize].to_le_bytes();
                let v = simd::shuffle(&lanes, self.wide(a), self.wide(dst + 1));
                self.set_wide(dst, v);
            }
            Op::ExtractLane {
                shape,
                lane,
                dst,
                src,
            } => reg!(regs, dst) = simd::extract_lane(shape, lane, self.wide(src)),
            Op::ReplaceLane {
                shape,
                lane,
                dst,
                v,
                x,
            } => {
                let v = simd::replace_lane(shape, lane, self.wide(v), reg!(regs, x));
                self.set_wide(dst, v);
            }
            Op::LoadLane {
                width,
                lane,
                dst,
                addr,
                memarg,
            } => {
                let (m, ea) = self.ext_address(memarg, addr)?;
                let raw = load_lane(width, self.store.memories[m].data(), ea)?;
                let v = simd::load_lane(width, lane, self.wide(dst + 1), raw);
                self.set_wide(dst, v);
            }
            Op::StoreLane {
                width,
                lane,
                addr,
                v,
                memarg,
            } => {
                let (m, ea) = self.ext_address(memarg, addr)?;
                let bits = simd::store_lane(width, lane, self.wide(v));
                store_lane(width, self.store.memories[m].data_mut(), ea, bits)?;
            }
            Op::GlobalGetV128 { dst, global } => {
                let inst = &self.store.instances[self.ctx.frame.instance.index()];
                let g = inst.globals[global as usize];
                let v = self.store.globals[g.index()].bits;
                self.set_wide(dst, v);
            }
            Op::GlobalSetV128 { global, src } => {
                let v = self.wide(src);
                let inst = &self.store.instances[self.ctx.frame.instance.index()];
                let g = inst.globals[global as usize];
                self.store.globals[g.index()].bits = v;
            }
            Op::CanonF32x4 { reg } => {
                let v = simd::canonicalize(FloatLanes::F32x4, self.wide(reg));
                self.set_wide(reg, v);
            }
            Op::CanonF64x2 { reg } => {
                let v = simd::canonicalize(FloatLanes::F64x2, self.wide(reg));
                self.set_wide(reg, v);
            }
            // `Executor::step` sends only the ops above here.
            _ => return Err(TrapCode::Unreachable.into()),
        }
        Ok(())
    }
}
