//! Translation of GC instructions: each is one `Op::Gc` on its operands'
//! registers, its instruction kept in the function's `gc` table, executed by
//! the runtime's `gc_ops` on the slow path. `br_on_cast` and
//! `br_on_cast_fail` test a copy of the reference into the register above
//! it, then branch on the outcome as `br_if` does, the reference staying
//! where it was.

use kiln_parser::{GcInstr, LabelIdx, Module};

use super::Translator;
use crate::GcSite;
use crate::bytecode::Op;

impl Translator {
    pub(super) fn gc(&mut self, module: &Module, gc: &GcInstr) {
        let (operands, has_result) = kiln_runtime::gc_ops::arity(module, gc);
        let site = self.gc.len() as u32;
        self.gc.push(GcSite {
            instr: gc.clone(),
            operands: operands as u32,
            result: has_result,
        });
        if let GcInstr::BrOnCast(b) = gc {
            self.br_on_cast(site, b.label);
            return;
        }
        let args = self.pop_args(operands as u32);
        self.emit(Op::Gc { args, site });
        if has_result {
            self.h += 1;
        }
    }

    /// `br_on_cast` (or `br_on_cast_fail`) of the GC table's entry `site`.
    fn br_on_cast(&mut self, site: u32, label: LabelIdx) {
        let src = self.reg(self.h - 1);
        let cond = self.reg(self.h);
        self.emit(Op::Copy { dst: cond, src });
        self.emit(Op::Gc { args: cond, site });
        self.h += 1;
        self.br_if(label.0);
    }
}

impl Translator {
    /// Records the safepoint of the instruction whose ops start at
    /// `code[from..]`: its call or allocating `Gc` op (the last one), with
    /// the registers of `locals` and of the operand `slots` that may hold GC
    /// objects there (see `kiln_validator::GcRoots`).
    pub(super) fn record_safepoint(&mut self, from: usize, locals: &[u32], slots: &[u32]) {
        let Some(op) = (from..self.code.len())
            .rev()
            .find(|&k| self.code[k].is_gc_safepoint())
        else {
            // Unreachable code emits nothing.
            return;
        };
        let regs = locals
            .iter()
            .copied()
            .chain(slots.iter().map(|&pos| self.reg(pos)))
            .collect();
        self.safepoints.push(crate::Safepoint {
            op: op as u32,
            regs,
        });
    }
}
