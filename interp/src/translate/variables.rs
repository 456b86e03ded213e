//! Translation of variable instructions: `local.get` (which emits nothing, see
//! the module documentation of `translate`), `local.set`, `local.tee`,
//! `global.get` and `global.set`.

use kiln_parser::{GlobalIdx, Module, ValType};

use super::Translator;
use crate::bytecode::{Op, Reg};

impl Translator {
    /// `local.get` of `local`: the new stack slot stands for it (lazy).
    pub(super) fn local_get(&mut self, local: Reg) {
        self.set_lazy(self.h, Some(local));
        self.h += 1;
    }

    /// `local.set` of `local`.
    pub(super) fn local_set(&mut self, local: Reg) {
        self.h -= 1;
        if let Some(from) = self.lazy_at(self.h) {
            self.set_lazy(self.h, None);
            self.materialize_local(local);
            if from != local {
                self.emit_copy(local, from);
            }
            return;
        }
        let src = self.reg(self.h);
        self.write_local(local, src);
    }

    /// `local.tee` of `local`.
    pub(super) fn local_tee(&mut self, local: Reg) {
        let top = self.h - 1;
        if let Some(from) = self.lazy_at(top) {
            if from != local {
                self.set_lazy(top, None);
                self.materialize_local(local);
                self.emit_copy(local, from);
                // The slot now reads the local it was copied to.
                self.set_lazy(top, Some(local));
            }
            return;
        }
        let src = self.reg(top);
        if self.write_local(local, src) {
            // The producer now writes the local: let the slot read it there.
            self.set_lazy(top, Some(local));
        }
    }

    /// Writes register `src` (a stack slot's own register) to `local`, after
    /// materialising the slots that stand for the local: by redirecting the op
    /// that just produced `src` when it can (returns `true`), else by a copy.
    /// No redirect when slots were materialised after the producer: they must
    /// read the local's old value.
    fn write_local(&mut self, local: Reg, src: Reg) -> bool {
        let pending = self.nlazy;
        self.materialize_local(local);
        match self.last_rewritable() {
            Some(op) if op.pure_dst() == Some(src) && self.nlazy == pending => {
                if let Some(last) = self.code.last_mut() {
                    last.set_dst(local);
                }
                true
            }
            _ => {
                self.emit_copy(local, src);
                false
            }
        }
    }

    /// `global.get` of `global`.
    pub(super) fn global_get(&mut self, module: &Module, global: u32) {
        let dst = self.reg(self.h);
        if is_vector(module, global) {
            self.emit(Op::GlobalGetV128 { dst, global });
        } else {
            self.emit(Op::GlobalGet { dst, global });
        }
        self.h += 1;
    }

    /// `global.set` of `global`.
    pub(super) fn global_set(&mut self, module: &Module, global: u32) {
        self.h -= 1;
        let src = self.operand(self.h);
        if is_vector(module, global) {
            self.emit(Op::GlobalSetV128 { global, src });
        } else {
            self.emit(Op::GlobalSet { global, src });
        }
    }
}

/// Whether global `global` of `module` holds a `v128`.
fn is_vector(module: &Module, global: u32) -> bool {
    module.global_type(GlobalIdx(global)).map(|g| g.content) == Some(ValType::V128)
}
