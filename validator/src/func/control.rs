//! Structured control, branches and calls.

use kiln_parser::{
    BlockType, BrTable, FuncIdx, FuncType, LabelIdx, RefType, TableIdx, TypeIdx, ValType,
};

use crate::error::{IndexSpace, ValidationErrorKind};

use super::{FrameKind, FuncValidator, Result};

impl<'m> FuncValidator<'_, 'm> {
    #[inline]
    pub(super) fn block(&mut self, kind: FrameKind, bt: BlockType) -> Result<()> {
        let (params, results) = self.block_type(bt)?;
        if kind == FrameKind::If {
            self.pop_expect(ValType::I32)?;
        }
        self.pop_vals(params)?;
        self.push_ctrl(kind, params, results);
        Ok(())
    }

    pub(super) fn else_(&mut self) -> Result<()> {
        let frame = self.pop_ctrl()?;
        if frame.kind != FrameKind::If {
            return Err(self.error(ValidationErrorKind::ElseOutsideIf));
        }
        self.blocks[frame.shape].else_ = Some(self.pc);
        // The else arm keeps the `if`'s shape entry.
        self.frame_height = self.operands.len();
        self.ctrls.push(super::Frame {
            kind: FrameKind::Else,
            height: self.frame_height,
            unreachable: false,
            ..frame
        });
        self.push_vals(frame.params);
        Ok(())
    }

    #[inline]
    pub(super) fn end(&mut self) -> Result<()> {
        let frame = self.pop_ctrl()?;
        if frame.kind == FrameKind::If && frame.params != frame.results {
            // An `if` without `else` passes its parameters through as results.
            return Err(self.mismatch());
        }
        if frame.kind != FrameKind::Func {
            self.blocks[frame.shape].end = self.pc;
        }
        self.push_vals(frame.results);
        Ok(())
    }

    #[inline]
    pub(super) fn br(&mut self, l: LabelIdx) -> Result<()> {
        let types = self.label(l.0)?.label_types();
        self.pop_vals(types)?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    pub(super) fn br_if(&mut self, l: LabelIdx) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        let types = self.label(l.0)?.label_types();
        self.pop_vals(types)?;
        self.push_vals(types);
        Ok(())
    }

    pub(super) fn br_table(&mut self, table: &BrTable) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        let default = self.label(table.default.0)?.label_types();
        for target in table.targets.iter() {
            let types = self.label(target.0)?.label_types();
            if types.len() != default.len() {
                return Err(self.mismatch());
            }
            // Check the operands against this label without consuming them.
            self.scratch.clear();
            for &t in types.iter().rev() {
                let v = self.pop_expect(t)?;
                self.scratch.push(v);
            }
            while let Some(v) = self.scratch.pop() {
                self.push_maybe(v);
            }
        }
        self.pop_vals(default)?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    pub(super) fn return_(&mut self) -> Result<()> {
        let results = self.ctrls[0].results;
        self.pop_vals(results)?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    pub(super) fn call(&mut self, f: FuncIdx) -> Result<()> {
        let ty = self.callee(f)?;
        self.pop_vals(&ty.params)?;
        self.push_vals(&ty.results);
        Ok(())
    }

    pub(super) fn call_indirect(&mut self, ty: TypeIdx, table: TableIdx) -> Result<()> {
        let ty = self.indirect_callee(ty, table)?;
        self.pop_vals(&ty.params)?;
        self.push_vals(&ty.results);
        Ok(())
    }

    pub(super) fn return_call(&mut self, f: FuncIdx) -> Result<()> {
        let ty = self.callee(f)?;
        self.check_tail_results(ty)?;
        self.pop_vals(&ty.params)?;
        self.set_unreachable();
        Ok(())
    }

    pub(super) fn return_call_indirect(&mut self, ty: TypeIdx, table: TableIdx) -> Result<()> {
        let ty = self.indirect_callee(ty, table)?;
        self.check_tail_results(ty)?;
        self.pop_vals(&ty.params)?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    fn callee(&self, f: FuncIdx) -> Result<&'m FuncType> {
        let cx: &super::Context<'m> = self.cx;
        let types: &'m [FuncType] = cx.types;
        match cx.funcs.get(f.index()).and_then(|t| types.get(t.index())) {
            Some(ty) => Ok(ty),
            None => Err(self.unknown(IndexSpace::Function, f.0)),
        }
    }

    /// Checks `call_indirect`'s table and type, and pops the table index.
    fn indirect_callee(&mut self, ty: TypeIdx, table: TableIdx) -> Result<&'m FuncType> {
        let Some(t) = self.cx.tables.get(table.index()).copied() else {
            return Err(self.unknown(IndexSpace::Table, table.0));
        };
        if t.element != RefType::FuncRef {
            return Err(self.mismatch());
        }
        let types: &'m [FuncType] = self.cx.types;
        let Some(sig) = types.get(ty.index()) else {
            return Err(self.unknown(IndexSpace::Type, ty.0));
        };
        self.pop_expect(t.index.val_type())?;
        Ok(sig)
    }

    /// A tail call returns the callee's results as the caller's own.
    fn check_tail_results(&self, callee: &FuncType) -> Result<()> {
        if *callee.results != *self.ctrls[0].results {
            return Err(self.mismatch());
        }
        Ok(())
    }
}
