//! The per-instruction part of the translator: which translation each
//! instruction gets, by family (control instructions in `control`, calls in
//! `calls`, locals and globals in `variables`, numeric instructions in
//! `numeric`, memory and table instructions in `memory`), and the few small
//! ones translated here (`drop`, `select`, references).

use kiln_parser::{Instr, Module};

use super::{Kind, Translator};
use crate::bytecode::Op;

impl Translator {
    /// Translates `instr`, the next instruction of the body.
    pub(super) fn instr(&mut self, module: &Module, instr: &Instr) {
        if !self.reachable {
            self.dead_instr(module, instr);
            return;
        }
        if self.returns_lazy_local(instr) {
            return;
        }
        if !knows_lazy_slots(instr) {
            self.materialize_all();
        }
        match instr {
            Instr::Nop => {}
            Instr::Unreachable => {
                self.emit(Op::Unreachable);
                self.reachable = false;
            }
            Instr::Block(bt) => self.block(module, *bt, Kind::Block),
            Instr::Loop(bt) => self.block(module, *bt, Kind::Loop),
            Instr::If(bt) => self.if_(module, *bt),
            Instr::Else => self.else_(),
            Instr::End => self.end(),
            Instr::Br(depth) => self.br(depth.0),
            Instr::BrIf(depth) => self.br_if(depth.0),
            Instr::BrTable(table) => self.br_table(table),
            Instr::Return => {
                self.branch_jump(0);
                self.reachable = false;
            }
            Instr::Call(f) => self.call(module, *f),
            Instr::CallIndirect { ty, table } => self.call_indirect(module, *ty, *table, false),
            Instr::ReturnCall(f) => self.return_call(module, *f),
            Instr::ReturnCallIndirect { ty, table } => {
                self.call_indirect(module, *ty, *table, true)
            }
            Instr::Drop => {
                self.h -= 1;
                self.set_lazy(self.h, None);
            }
            Instr::Select(_) => {
                self.h -= 2;
                let (a, b, cond) = (self.reg(self.h - 1), self.reg(self.h), self.reg(self.h + 1));
                self.emit(Op::Select { a, b, cond });
                if self.wide {
                    self.emit(Op::SelectHi { a, b, cond });
                }
            }
            Instr::LocalGet(x) => self.local_get(x.0),
            Instr::LocalSet(x) => self.local_set(x.0),
            Instr::LocalTee(x) => self.local_tee(x.0),
            Instr::GlobalGet(g) => self.global_get(module, g.0),
            Instr::GlobalSet(g) => self.global_set(module, g.0),
            Instr::I32Const(v) => self.push_const32(*v as u32),
            Instr::F32Const(v) => self.push_const32(*v),
            Instr::I64Const(v) => self.push_const64(*v as u64),
            Instr::F64Const(v) => self.push_const64(*v),
            Instr::RefNull(_) => self.push_const32(0),
            Instr::RefFunc(f) => {
                let dst = self.reg(self.h);
                self.emit(Op::RefFunc { dst, func: f.0 });
                self.h += 1;
            }
            Instr::RefIsNull => {
                let r = self.reg(self.h - 1);
                self.emit(Op::RefIsNull { dst: r, src: r });
            }
            Instr::Num(op) => self.numeric(*op),
            Instr::V128Const(_)
            | Instr::Shuffle(_)
            | Instr::ExtractLane(..)
            | Instr::ReplaceLane(..)
            | Instr::LoadLane(..)
            | Instr::StoreLane(..) => self.vector_instr(instr),
            Instr::Load(..)
            | Instr::Store(..)
            | Instr::MemorySize(_)
            | Instr::MemoryGrow(_)
            | Instr::MemoryFill(_)
            | Instr::MemoryCopy { .. }
            | Instr::MemoryInit { .. }
            | Instr::DataDrop(_)
            | Instr::TableGet(_)
            | Instr::TableSet(_)
            | Instr::TableSize(_)
            | Instr::TableGrow(_)
            | Instr::TableFill(_)
            | Instr::TableCopy { .. }
            | Instr::TableInit { .. }
            | Instr::ElemDrop(_) => self.memory(instr),
            Instr::CallRef(ty) => self.call_ref(module, *ty, false),
            Instr::ReturnCallRef(ty) => self.call_ref(module, *ty, true),
            Instr::RefAsNonNull => {
                let src = self.reg(self.h - 1);
                self.emit(Op::RefAsNonNull { src });
            }
            Instr::BrOnNull(depth) => self.br_on_null(depth.0),
            Instr::BrOnNonNull(depth) => self.br_on_non_null(depth.0),
            Instr::Throw(tag) => self.throw(module, *tag),
            Instr::ThrowRef => {
                self.h -= 1;
                let src = self.reg(self.h);
                self.emit(Op::ThrowRef { src });
                self.reachable = false;
            }
            Instr::TryTable(t) => self.try_table(module, t),
            Instr::Gc(gc) => self.gc(module, gc),
        }
    }
}

/// Whether the translator of `instr` handles lazy stack slots itself (see the
/// module documentation of `translate`); before any other instruction, every
/// lazy slot is materialised.
fn knows_lazy_slots(instr: &Instr) -> bool {
    matches!(
        instr,
        Instr::LocalGet(_)
            | Instr::LocalSet(_)
            | Instr::LocalTee(_)
            | Instr::Drop
            | Instr::If(_)
            | Instr::BrIf(_)
            | Instr::BrTable(_)
            | Instr::Num(_)
            | Instr::Load(..)
            | Instr::Store(..)
            | Instr::I32Const(_)
            | Instr::I64Const(_)
            | Instr::F32Const(_)
            | Instr::F64Const(_)
            | Instr::GlobalGet(_)
            | Instr::GlobalSet(_)
            | Instr::V128Const(_)
            | Instr::Shuffle(_)
            | Instr::ExtractLane(..)
            | Instr::ReplaceLane(..)
            | Instr::LoadLane(..)
            | Instr::StoreLane(..)
    )
}
