//! Register-to-register ops on the slow path: copies, constants, numeric
//! operators (the specialised ones written out here, the others through [`num`]),
//! `select`, NaN canonicalisation and `ref.is_null`.

use kiln_runtime::{Trap, TrapCode};

use super::Executor;
use crate::bytecode::Op;
use crate::num;

impl Executor<'_> {
    /// Runs register op `op`; a numeric operator may trap.
    #[inline(always)]
    pub(super) fn numeric(&mut self, op: Op) -> Result<(), Trap> {
        let regs = self.regs;
        match op {
            Op::Nop => {}
            Op::Copy { dst, src } => reg!(regs, dst) = reg!(regs, src),
            Op::Copy2 { dst, a, b } => {
                reg!(regs, dst) = reg!(regs, a);
                reg!(regs, dst + 1) = reg!(regs, b);
            }
            Op::Const32 { dst, val } => reg!(regs, dst) = u64::from(val),
            Op::Const64 { dst, val } => reg!(regs, dst) = val,
            Op::I32AddImm { dst, a, imm } => {
                reg!(regs, dst) = u64::from((reg!(regs, a) as u32).wrapping_add(imm))
            }
            Op::I64AddImm { dst, a, imm } => {
                reg!(regs, dst) = reg!(regs, a).wrapping_add(imm as i64 as u64)
            }
            Op::I32AddShl { dst, a, b, shift } => {
                reg!(regs, dst) = u64::from(
                    (reg!(regs, a) as u32).wrapping_add((reg!(regs, b) as u32) << (shift & 31)),
                )
            }
            Op::Unary { op, dst, src } => reg!(regs, dst) = num::unary(op, reg!(regs, src))?,
            Op::Binary { op, dst, a, b } => {
                reg!(regs, dst) = num::binary(op, reg!(regs, a), reg!(regs, b))?
            }
            Op::Select { a, b, cond } => {
                if reg!(regs, cond) as u32 == 0 {
                    reg!(regs, a) = reg!(regs, b);
                }
            }
            Op::CanonF32 { reg } => {
                if f32::from_bits(reg!(regs, reg) as u32).is_nan() {
                    reg!(regs, reg) = 0x7fc0_0000;
                }
            }
            Op::CanonF64 { reg } => {
                if f64::from_bits(reg!(regs, reg)).is_nan() {
                    reg!(regs, reg) = 0x7ff8_0000_0000_0000;
                }
            }
            Op::RefIsNull { dst, src } => reg!(regs, dst) = u64::from(reg!(regs, src) as u32 == 0),
            _ => return self.binary(op),
        }
        Ok(())
    }

    /// Runs specialised binary operator `op` (see [`for_each_binary_op!`]).
    #[inline(always)]
    fn binary(&mut self, op: Op) -> Result<(), Trap> {
        let regs = self.regs;
        let Some((dst, a, b)) = op.binary_parts() else {
            // Every other op is dispatched elsewhere (see `Executor::step`).
            return Err(TrapCode::Unreachable.into());
        };
        let value = op.eval_binary(reg!(regs, a), reg!(regs, b));
        reg!(regs, dst) = value.ok_or(TrapCode::Unreachable)?;
        Ok(())
    }
}
