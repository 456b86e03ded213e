//! Translation of numeric instructions: constants and operators, with the
//! rewrites that fold a constant or a shift into the op that consumes it.

use kiln_parser::NumOp;

use super::Translator;
use crate::bytecode::{Op, Reg};

impl Translator {
    /// `i32.const` or `f32.const` (bits `val`), or `ref.null` (0).
    pub(super) fn push_const32(&mut self, val: u32) {
        let dst = self.reg(self.h);
        self.emit(Op::Const32 { dst, val });
        self.h += 1;
    }

    /// `i64.const` or `f64.const` (bits `val`).
    pub(super) fn push_const64(&mut self, val: u64) {
        let dst = self.reg(self.h);
        self.emit(Op::Const64 { dst, val });
        self.h += 1;
    }

    /// Numeric operator `op`, followed by NaN canonicalisation when it is on
    /// and `op` may produce a NaN.
    pub(super) fn numeric(&mut self, op: NumOp) {
        if crate::num::arity(op).is_none() {
            self.vector_numeric(op);
            return;
        }
        self.numeric_op(op);
        if self.canonicalize && produces_nan(op) {
            let reg = self.reg(self.h - 1);
            self.emit(if op.result() == kiln_parser::ValType::F32 {
                Op::CanonF32 { reg }
            } else {
                Op::CanonF64 { reg }
            });
        }
    }

    /// Numeric operator `op` as one op: a specialised one where there is one,
    /// an addition of a constant with the constant folded in (`I32AddImm`,
    /// `I64AddImm`), an `i32.add` of a shift by a constant fused with the shift
    /// (`I32AddShl`).
    fn numeric_op(&mut self, op: NumOp) {
        if op.params().len() == 1 {
            let dst = self.reg(self.h - 1);
            let src = self.operand(self.h - 1);
            self.emit(Op::Unary { op, dst, src });
            return;
        }
        self.h -= 1;
        let (dst, b) = (self.reg(self.h - 1), self.reg(self.h));
        // `x + constant`: fold the constant into the instruction.
        let b_lazy = self.lazy_at(self.h).is_some();
        match (op, self.last_rewritable()) {
            (NumOp::I32Add, Some(Op::Const32 { dst: d, val })) if d == b && !b_lazy => {
                self.code.pop();
                let a = self.operand(self.h - 1);
                self.emit(Op::I32AddImm { dst, a, imm: val });
                return;
            }
            (NumOp::I64Add, Some(Op::Const64 { dst: d, val })) if d == b && !b_lazy => {
                if let Ok(imm) = i32::try_from(val as i64) {
                    self.code.pop();
                    let a = self.operand(self.h - 1);
                    self.emit(Op::I64AddImm { dst, a, imm });
                    return;
                }
            }
            _ => {}
        }
        if op == NumOp::I32Add
            && let Some(fused) = self.add_shifted(dst)
        {
            self.emit(fused);
            return;
        }
        let b = self.operand(self.h);
        let a = self.operand(self.h - 1);
        let op = Op::specialised_binary(op, dst, a, b).unwrap_or(Op::Binary { op, dst, a, b });
        self.emit(op);
    }

    /// `x + (y << c)` (either operand order) for an `i32.add` whose operands are
    /// at `self.h - 1` and `self.h`, when the shift by a constant was the last op
    /// and wrote the stack slot of one operand: the shift is removed and the
    /// fused op returned.
    fn add_shifted(&mut self, dst: Reg) -> Option<Op> {
        let Some(Op::I32Shl { dst: d, a: x, b: c }) = self.last_rewritable() else {
            return None;
        };
        let shift = (self.const_value(c)? as u32 & 31) as u8;
        let (top, below) = (self.h, self.h - 1);
        if self.lazy_at(top).is_none() && d == self.reg(top) {
            // `base; (y << c); add`: the shift produced the top operand.
            self.code.pop();
            let a = self.operand(below);
            return Some(Op::I32AddShl {
                dst,
                a,
                b: x,
                shift,
            });
        }
        if self.lazy_at(below).is_none() && d == self.reg(below) && self.lazy_at(top).is_some() {
            // `(y << c); local.get base; add`: the local emitted nothing after the shift.
            self.code.pop();
            let a = self.operand(top);
            return Some(Op::I32AddShl {
                dst,
                a,
                b: x,
                shift,
            });
        }
        None
    }
}

/// Whether `op` is scalar float arithmetic whose NaN results are
/// canonicalised (`kiln_runtime::nan`).
fn produces_nan(op: NumOp) -> bool {
    use kiln_runtime::nan::{NanResult, nan_result};
    matches!(nan_result(op), Some(NanResult::F32 | NanResult::F64))
}
