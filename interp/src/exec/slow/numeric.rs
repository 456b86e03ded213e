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

    /// Runs specialised binary operator `op` (see [`Op::specialised_binary`]).
    #[inline(always)]
    fn binary(&mut self, op: Op) -> Result<(), Trap> {
        let regs = self.regs;
        let Some((dst, a, b)) = op.binary_parts() else {
            // Every other op is dispatched elsewhere (see `Executor::step`).
            return Err(TrapCode::Unreachable.into());
        };
        let (a, b) = (reg!(regs, a), reg!(regs, b));
        reg!(regs, dst) = match op {
            Op::I32Add { .. } => u64::from((a as u32).wrapping_add(b as u32)),
            Op::I32Sub { .. } => u64::from((a as u32).wrapping_sub(b as u32)),
            Op::I32Mul { .. } => u64::from((a as u32).wrapping_mul(b as u32)),
            Op::I32And { .. } => u64::from(a as u32 & b as u32),
            Op::I32Or { .. } => u64::from(a as u32 | b as u32),
            Op::I32Xor { .. } => u64::from(a as u32 ^ b as u32),
            Op::I32Shl { .. } => u64::from((a as u32).wrapping_shl(b as u32)),
            Op::I32ShrS { .. } => u64::from((a as i32).wrapping_shr(b as u32) as u32),
            Op::I32ShrU { .. } => u64::from((a as u32).wrapping_shr(b as u32)),
            Op::I32Eq { .. } => u64::from(a as u32 == b as u32),
            Op::I32Ne { .. } => u64::from(a as u32 != b as u32),
            Op::I32LtS { .. } => u64::from((a as i32) < (b as i32)),
            Op::I32LtU { .. } => u64::from((a as u32) < (b as u32)),
            Op::I32GtS { .. } => u64::from((a as i32) > (b as i32)),
            Op::I32GtU { .. } => u64::from((a as u32) > (b as u32)),
            Op::I32LeS { .. } => u64::from((a as i32) <= (b as i32)),
            Op::I32LeU { .. } => u64::from((a as u32) <= (b as u32)),
            Op::I32GeS { .. } => u64::from((a as i32) >= (b as i32)),
            Op::I32GeU { .. } => u64::from((a as u32) >= (b as u32)),
            Op::I64Add { .. } => a.wrapping_add(b),
            Op::I64Sub { .. } => a.wrapping_sub(b),
            Op::I64Mul { .. } => a.wrapping_mul(b),
            Op::I64And { .. } => a & b,
            Op::I64Or { .. } => a | b,
            Op::I64Xor { .. } => a ^ b,
            Op::I64Shl { .. } => a.wrapping_shl(b as u32),
            Op::I64ShrS { .. } => (a as i64).wrapping_shr(b as u32) as u64,
            Op::I64ShrU { .. } => a.wrapping_shr(b as u32),
            Op::I64Eq { .. } => u64::from(a == b),
            Op::I64Ne { .. } => u64::from(a != b),
            Op::I64LtS { .. } => u64::from((a as i64) < (b as i64)),
            Op::I64LtU { .. } => u64::from(a < b),
            Op::I64GtS { .. } => u64::from((a as i64) > (b as i64)),
            Op::I64GtU { .. } => u64::from(a > b),
            Op::I64LeS { .. } => u64::from((a as i64) <= (b as i64)),
            Op::I64LeU { .. } => u64::from(a <= b),
            Op::I64GeS { .. } => u64::from((a as i64) >= (b as i64)),
            Op::I64GeU { .. } => u64::from(a >= b),
            Op::F32Add { .. } => f32_op(a, b, |x, y| x + y),
            Op::F32Sub { .. } => f32_op(a, b, |x, y| x - y),
            Op::F32Mul { .. } => f32_op(a, b, |x, y| x * y),
            Op::F32Div { .. } => f32_op(a, b, |x, y| x / y),
            Op::F64Add { .. } => f64_op(a, b, |x, y| x + y),
            Op::F64Sub { .. } => f64_op(a, b, |x, y| x - y),
            Op::F64Mul { .. } => f64_op(a, b, |x, y| x * y),
            Op::F64Div { .. } => f64_op(a, b, |x, y| x / y),
            _ => return Err(TrapCode::Unreachable.into()),
        };
        Ok(())
    }
}

#[inline(always)]
fn f32_op(a: u64, b: u64, f: impl Fn(f32, f32) -> f32) -> u64 {
    u64::from(f(f32::from_bits(a as u32), f32::from_bits(b as u32)).to_bits())
}

#[inline(always)]
fn f64_op(a: u64, b: u64, f: impl Fn(f64, f64) -> f64) -> u64 {
    f(f64::from_bits(a), f64::from_bits(b)).to_bits()
}
