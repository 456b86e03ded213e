//! Structured control, branches, calls and exceptions.

use kiln_parser::{
    BlockType, BrTable, FuncIdx, FuncType, HeapType, LabelIdx, RefType, TableIdx, TagIdx, TryTable,
    TypeIdx, ValType,
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
        self.pop_vals(params.as_slice())?;
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
            init_height: self.inits_set.len(),
            unreachable: false,
            ..frame
        });
        self.push_vals(frame.params.as_slice());
        Ok(())
    }

    #[inline]
    pub(super) fn end(&mut self) -> Result<()> {
        let frame = self.pop_ctrl()?;
        if frame.kind == FrameKind::If
            && !self
                .cx
                .all_match(frame.params.as_slice(), frame.results.as_slice())
        {
            // An `if` without `else` passes its parameters through as results.
            return Err(self.mismatch());
        }
        if frame.kind != FrameKind::Func {
            self.blocks[frame.shape].end = self.pc;
        }
        self.push_vals(frame.results.as_slice());
        Ok(())
    }

    #[inline]
    pub(super) fn br(&mut self, l: LabelIdx) -> Result<()> {
        let frame = self.label(l.0)?;
        self.pop_vals(frame.label_types())?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    pub(super) fn br_if(&mut self, l: LabelIdx) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        let frame = self.label(l.0)?;
        self.pop_vals(frame.label_types())?;
        self.push_vals(frame.label_types());
        Ok(())
    }

    pub(super) fn br_table(&mut self, table: &BrTable) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        let default = self.label(table.default.0)?;
        let arity = default.label_types().len();
        for target in table.targets.iter() {
            let frame = self.label(target.0)?;
            let types = frame.label_types();
            if types.len() != arity {
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
        self.pop_vals(default.label_types())?;
        self.set_unreachable();
        Ok(())
    }

    #[inline]
    pub(super) fn return_(&mut self) -> Result<()> {
        let results = self.ctrls[0].results;
        self.pop_vals(results.as_slice())?;
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

    pub(super) fn call_ref(&mut self, ty: TypeIdx) -> Result<()> {
        let sig = self.ref_callee(ty)?;
        self.pop_vals(&sig.params)?;
        self.push_vals(&sig.results);
        Ok(())
    }

    pub(super) fn return_call_ref(&mut self, ty: TypeIdx) -> Result<()> {
        let sig = self.ref_callee(ty)?;
        self.check_tail_results(sig)?;
        self.pop_vals(&sig.params)?;
        self.set_unreachable();
        Ok(())
    }

    /// `br_on_null l`: the label takes the operands below the reference,
    /// which stays, non-null, when there is no branch.
    pub(super) fn br_on_null(&mut self, l: LabelIdx) -> Result<()> {
        let r = self.pop_ref()?;
        let frame = self.label(l.0)?;
        self.pop_vals(frame.label_types())?;
        self.push_vals(frame.label_types());
        self.push(RefType::non_null(r.heap).into());
        Ok(())
    }

    /// `br_on_non_null l`: the label's last type takes the reference,
    /// non-null; without a branch it is dropped.
    pub(super) fn br_on_non_null(&mut self, l: LabelIdx) -> Result<()> {
        let r = self.pop_ref()?;
        let frame = self.label(l.0)?;
        let Some((&last, rest)) = frame.label_types().split_last() else {
            return Err(self.mismatch());
        };
        if !self.cx.matches(RefType::non_null(r.heap).into(), last) {
            return Err(self.mismatch());
        }
        self.pop_vals(rest)?;
        self.push_vals(rest);
        Ok(())
    }

    pub(super) fn throw(&mut self, tag: TagIdx) -> Result<()> {
        let ty = self.tag_type(tag)?;
        self.pop_vals(&ty.params)?;
        self.set_unreachable();
        Ok(())
    }

    pub(super) fn throw_ref(&mut self) -> Result<()> {
        self.pop_expect(ValType::EXNREF)?;
        self.set_unreachable();
        Ok(())
    }

    /// `try_table`: each clause's label must take what it passes on; then
    /// the body is an ordinary block.
    pub(super) fn try_table(&mut self, t: &TryTable) -> Result<()> {
        let (params, results) = self.block_type(t.ty)?;
        self.pop_vals(params.as_slice())?;
        let exn = ValType::Ref(RefType::non_null(HeapType::Exn));
        for c in t.catches.iter() {
            let payload: &[ValType] = match c.tag {
                Some(tag) => &self.tag_type(tag)?.params,
                None => &[],
            };
            let frame = self.label(c.label.0)?;
            let label = frame.label_types();
            let n = payload.len() + usize::from(c.with_ref);
            let carried = payload
                .iter()
                .copied()
                .chain(c.with_ref.then_some(exn))
                .collect::<Vec<_>>();
            if label.len() != n || !self.cx.all_match(&carried, label) {
                return Err(self.mismatch());
            }
        }
        self.push_ctrl(FrameKind::Block, params, results);
        Ok(())
    }

    #[inline]
    fn callee(&self, f: FuncIdx) -> Result<&'m FuncType> {
        let cx: &super::Context<'m> = self.cx;
        match cx.funcs.get(f.index()).and_then(|&t| cx.func_sig(t)) {
            Some(ty) => Ok(ty),
            None => Err(self.unknown(IndexSpace::Function, f.0)),
        }
    }

    fn tag_type(&self, tag: TagIdx) -> Result<&'m FuncType> {
        let cx: &super::Context<'m> = self.cx;
        match cx.tags.get(tag.index()).and_then(|&t| cx.func_sig(t)) {
            Some(ty) => Ok(ty),
            None => Err(self.unknown(IndexSpace::Tag, tag.0)),
        }
    }

    /// Checks `call_indirect`'s table and type, and pops the table index.
    fn indirect_callee(&mut self, ty: TypeIdx, table: TableIdx) -> Result<&'m FuncType> {
        let Some(t) = self.cx.tables.get(table.index()).copied() else {
            return Err(self.unknown(IndexSpace::Table, table.0));
        };
        if !self.cx.ref_matches(t.element, RefType::FUNCREF) {
            return Err(self.mismatch());
        }
        let sig = self.sig(ty)?;
        self.pop_expect(t.index.val_type())?;
        Ok(sig)
    }

    /// Checks `call_ref`'s type, and pops the function reference.
    fn ref_callee(&mut self, ty: TypeIdx) -> Result<&'m FuncType> {
        let sig = self.sig(ty)?;
        self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
        Ok(sig)
    }

    /// A tail call returns the callee's results as the caller's own.
    fn check_tail_results(&self, callee: &FuncType) -> Result<()> {
        if !self
            .cx
            .all_match(&callee.results, self.ctrls[0].results.as_slice())
        {
            return Err(self.mismatch());
        }
        Ok(())
    }
}
