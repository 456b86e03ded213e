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
            Op::BrTable { index, len } => {
                // On to the selected one of the `Br` ops that follow.
                self.pc += (reg!(regs, index) as u32).min(len) as usize;
                return true;
            }
            // The fused comparisons (`for_each_binary_op!`).
            _ => {
                let Some((a, b, target)) = op.compare_branch_parts() else {
                    return false;
                };
                let taken = op.branch_taken(reg!(regs, a), reg!(regs, b));
                (taken == Some(true), target)
            }
        };
        if taken {
            self.pc = target as usize;
        }
        true
    }
}
