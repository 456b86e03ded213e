//! Branches on the slow path: unconditional, on a register, on a fused
//! comparison, and `br_table`. Jump targets are op indices of the running
//! function's code.

use super::Executor;
use crate::bytecode::Op;

impl Executor<'_> {
    /// Runs `op` if it is a branch, moving `pc` if it jumps; returns whether it was one.
    #[inline(always)]
    pub(super) fn branch(&mut self, op: Op) -> bool {
        let regs = self.regs;
        let (taken, target) = match op {
            Op::Br { target } => (true, target),
            Op::BrIfFloat { cmp, a, b, target } => {
                (cmp.holds(reg!(regs, a), reg!(regs, b)), target)
            }
            Op::BrIfNez { cond, target } => (reg!(regs, cond) as u32 != 0, target),
            Op::BrIfEqz { cond, target } => (reg!(regs, cond) as u32 == 0, target),
            Op::BrIfI32And { a, b, target } => {
                ((reg!(regs, a) as u32) & (reg!(regs, b) as u32) != 0, target)
            }
            Op::BrIfI32NotAnd { a, b, target } => {
                ((reg!(regs, a) as u32) & (reg!(regs, b) as u32) == 0, target)
            }
            Op::BrIfI32Eq { a, b, target } => {
                ((reg!(regs, a) as u32) == (reg!(regs, b) as u32), target)
            }
            Op::BrIfI32Ne { a, b, target } => {
                ((reg!(regs, a) as u32) != (reg!(regs, b) as u32), target)
            }
            Op::BrIfI32LtS { a, b, target } => {
                ((reg!(regs, a) as i32) < (reg!(regs, b) as i32), target)
            }
            Op::BrIfI32LtU { a, b, target } => {
                ((reg!(regs, a) as u32) < (reg!(regs, b) as u32), target)
            }
            Op::BrIfI32GtS { a, b, target } => {
                ((reg!(regs, a) as i32) > (reg!(regs, b) as i32), target)
            }
            Op::BrIfI32GtU { a, b, target } => {
                ((reg!(regs, a) as u32) > (reg!(regs, b) as u32), target)
            }
            Op::BrIfI32LeS { a, b, target } => {
                ((reg!(regs, a) as i32) <= (reg!(regs, b) as i32), target)
            }
            Op::BrIfI32LeU { a, b, target } => {
                ((reg!(regs, a) as u32) <= (reg!(regs, b) as u32), target)
            }
            Op::BrIfI32GeS { a, b, target } => {
                ((reg!(regs, a) as i32) >= (reg!(regs, b) as i32), target)
            }
            Op::BrIfI32GeU { a, b, target } => {
                ((reg!(regs, a) as u32) >= (reg!(regs, b) as u32), target)
            }
            Op::BrIfI64Eq { a, b, target } => (reg!(regs, a) == reg!(regs, b), target),
            Op::BrIfI64Ne { a, b, target } => (reg!(regs, a) != reg!(regs, b), target),
            Op::BrIfI64LtS { a, b, target } => {
                ((reg!(regs, a) as i64) < (reg!(regs, b) as i64), target)
            }
            Op::BrIfI64LtU { a, b, target } => (reg!(regs, a) < reg!(regs, b), target),
            Op::BrIfI64GtS { a, b, target } => {
                ((reg!(regs, a) as i64) > (reg!(regs, b) as i64), target)
            }
            Op::BrIfI64GtU { a, b, target } => (reg!(regs, a) > reg!(regs, b), target),
            Op::BrIfI64LeS { a, b, target } => {
                ((reg!(regs, a) as i64) <= (reg!(regs, b) as i64), target)
            }
            Op::BrIfI64LeU { a, b, target } => (reg!(regs, a) <= reg!(regs, b), target),
            Op::BrIfI64GeS { a, b, target } => {
                ((reg!(regs, a) as i64) >= (reg!(regs, b) as i64), target)
            }
            Op::BrIfI64GeU { a, b, target } => (reg!(regs, a) >= reg!(regs, b), target),
            Op::BrTable { index, len } => {
                // On to the selected one of the `Br` ops that follow.
                self.pc += (reg!(regs, index) as u32).min(len) as usize;
                return true;
            }
            _ => return false,
        };
        if taken {
            self.pc = target as usize;
        }
        true
    }
}
