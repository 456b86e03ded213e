//! Translation of calls: `call`, `call_indirect` and their tail-call forms.
//! Arguments are the topmost stack slots, which become the callee's first
//! registers; results come back in the same slots.

use kiln_parser::{FuncIdx, Module, TableIdx, TypeIdx};

use super::Translator;
use crate::bytecode::Op;

impl Translator {
    /// `call` of function `f`.
    pub(super) fn call(&mut self, module: &Module, f: FuncIdx) {
        let ty = module
            .func_type_idx(f)
            .map(|t| module.types[t.index()].func());
        let (np, nr) = ty.map_or((0, 0), |t| (t.params.len() as u32, t.results.len() as u32));
        let args = self.reg(self.h - np);
        self.emit(Op::Call { func: f.0, args });
        self.h = self.h - np + nr;
        self.boundary = self.code.len();
    }

    /// `call_indirect` (or, with `tail`, `return_call_indirect`) through `table`
    /// with expected type `ty`.
    pub(super) fn call_indirect(
        &mut self,
        module: &Module,
        ty: TypeIdx,
        table: TableIdx,
        tail: bool,
    ) {
        let sig = module.types[ty.index()].func();
        let (np, nr) = (sig.params.len() as u32, sig.results.len() as u32);
        self.h -= 1;
        let index = self.reg(self.h);
        let args = self.reg(self.h - np);
        let site = self.indirect.len() as u32;
        self.indirect.push((table.0, ty.0));
        if tail {
            self.move_high_halves(args, np);
            self.emit(Op::ReturnCallIndirect { index, args, site });
            self.reachable = false;
        } else {
            self.emit(Op::CallIndirect { index, args, site });
            self.h = self.h - np + nr;
            self.boundary = self.code.len();
        }
    }

    /// `call_ref` (or, with `tail`, `return_call_ref`) of type `ty`: the
    /// function reference is on top of the arguments.
    pub(super) fn call_ref(&mut self, module: &Module, ty: TypeIdx, tail: bool) {
        let sig = module.types[ty.index()].func();
        let (np, nr) = (sig.params.len() as u32, sig.results.len() as u32);
        self.h -= 1;
        let func = self.reg(self.h);
        let args = self.reg(self.h - np);
        if tail {
            self.move_high_halves(args, np);
            self.emit(Op::ReturnCallRef { func, args });
            self.reachable = false;
        } else {
            self.emit(Op::CallRef { func, args });
            self.h = self.h - np + nr;
            self.boundary = self.code.len();
        }
    }

    /// `return_call` of function `f`.
    pub(super) fn return_call(&mut self, module: &Module, f: FuncIdx) {
        let ty = module
            .func_type_idx(f)
            .map(|t| module.types[t.index()].func());
        let np = ty.map_or(0, |t| t.params.len() as u32);
        let args = self.reg(self.h - np);
        self.move_high_halves(args, np);
        self.emit(Op::ReturnCall { func: f.0, args });
        self.reachable = false;
    }
}
