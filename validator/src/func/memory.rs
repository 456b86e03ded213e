//! Memory and table instructions, including bulk operations and SIMD lane accesses.

use kiln_parser::{
    DataIdx, ElemIdx, IndexType, LaneWidth, LoadOp, MemArg, MemIdx, MemoryType, StoreOp, TableIdx,
    TableType, ValType,
};

use crate::error::{IndexSpace, ValidationErrorKind};

use super::{FuncValidator, Result};

impl FuncValidator<'_, '_> {
    #[inline]
    fn memory_type(&self, m: MemIdx) -> Result<MemoryType> {
        match self.cx.memories.get(m.index()) {
            Some(t) => Ok(*t),
            None => Err(self.unknown(IndexSpace::Memory, m.0)),
        }
    }

    fn table_type(&self, t: TableIdx) -> Result<TableType> {
        match self.cx.tables.get(t.index()) {
            Some(t) => Ok(*t),
            None => Err(self.unknown(IndexSpace::Table, t.0)),
        }
    }

    /// Checks a memarg against its memory and the access width; returns the address type.
    #[inline]
    fn memarg(&self, m: &MemArg, max_align: u8) -> Result<ValType> {
        let mem = self.memory_type(m.memory)?;
        if m.align > max_align {
            return Err(self.error(ValidationErrorKind::AlignmentTooLarge));
        }
        if mem.index == IndexType::I32 && m.offset > u64::from(u32::MAX) {
            return Err(self.error(ValidationErrorKind::OffsetOutOfRange));
        }
        Ok(mem.index.val_type())
    }

    pub(super) fn check_data(&self, d: DataIdx) -> Result<()> {
        if d.0 >= self.cx.datas {
            return Err(self.unknown(IndexSpace::DataSegment, d.0));
        }
        Ok(())
    }

    fn elem_type(&self, e: ElemIdx) -> Result<ValType> {
        match self.cx.elems.get(e.index()) {
            Some(t) => Ok((*t).into()),
            None => Err(self.unknown(IndexSpace::ElemSegment, e.0)),
        }
    }

    #[inline]
    pub(super) fn load(&mut self, op: LoadOp, m: &MemArg) -> Result<()> {
        let addr = self.memarg(m, op.max_align())?;
        self.pop_expect(addr)?;
        self.push(op.val_type());
        Ok(())
    }

    #[inline]
    pub(super) fn store(&mut self, op: StoreOp, m: &MemArg) -> Result<()> {
        let addr = self.memarg(m, op.max_align())?;
        self.pop_expect(op.val_type())?;
        self.pop_expect(addr)?;
        Ok(())
    }

    pub(super) fn load_lane(&mut self, width: LaneWidth, m: &MemArg, lane: u8) -> Result<()> {
        let addr = self.memarg(m, width.max_align())?;
        if lane >= width.lanes() {
            return Err(self.error(ValidationErrorKind::InvalidLaneIndex));
        }
        self.pop_expect(ValType::V128)?;
        self.pop_expect(addr)?;
        self.push(ValType::V128);
        Ok(())
    }

    pub(super) fn store_lane(&mut self, width: LaneWidth, m: &MemArg, lane: u8) -> Result<()> {
        let addr = self.memarg(m, width.max_align())?;
        if lane >= width.lanes() {
            return Err(self.error(ValidationErrorKind::InvalidLaneIndex));
        }
        self.pop_expect(ValType::V128)?;
        self.pop_expect(addr)?;
        Ok(())
    }

    pub(super) fn memory_size(&mut self, m: MemIdx) -> Result<()> {
        let t = self.memory_type(m)?.index.val_type();
        self.push(t);
        Ok(())
    }

    pub(super) fn memory_grow(&mut self, m: MemIdx) -> Result<()> {
        let t = self.memory_type(m)?.index.val_type();
        self.pop_expect(t)?;
        self.push(t);
        Ok(())
    }

    pub(super) fn memory_fill(&mut self, m: MemIdx) -> Result<()> {
        let t = self.memory_type(m)?.index.val_type();
        self.pop_expect(t)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(t)?;
        Ok(())
    }

    pub(super) fn memory_copy(&mut self, dst: MemIdx, src: MemIdx) -> Result<()> {
        let d = self.memory_type(dst)?.index;
        let s = self.memory_type(src)?.index;
        self.pop_expect(d.narrower(s).val_type())?;
        self.pop_expect(s.val_type())?;
        self.pop_expect(d.val_type())?;
        Ok(())
    }

    pub(super) fn memory_init(&mut self, memory: MemIdx, data: DataIdx) -> Result<()> {
        let t = self.memory_type(memory)?.index.val_type();
        self.check_data(data)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(t)?;
        Ok(())
    }

    pub(super) fn table_get(&mut self, t: TableIdx) -> Result<()> {
        let ty = self.table_type(t)?;
        self.pop_expect(ty.index.val_type())?;
        self.push(ty.element.into());
        Ok(())
    }

    pub(super) fn table_set(&mut self, t: TableIdx) -> Result<()> {
        let ty = self.table_type(t)?;
        self.pop_expect(ty.element.into())?;
        self.pop_expect(ty.index.val_type())?;
        Ok(())
    }

    pub(super) fn table_size(&mut self, t: TableIdx) -> Result<()> {
        let ty = self.table_type(t)?;
        self.push(ty.index.val_type());
        Ok(())
    }

    pub(super) fn table_grow(&mut self, t: TableIdx) -> Result<()> {
        let ty = self.table_type(t)?;
        self.pop_expect(ty.index.val_type())?;
        self.pop_expect(ty.element.into())?;
        self.push(ty.index.val_type());
        Ok(())
    }

    pub(super) fn table_fill(&mut self, t: TableIdx) -> Result<()> {
        let ty = self.table_type(t)?;
        self.pop_expect(ty.index.val_type())?;
        self.pop_expect(ty.element.into())?;
        self.pop_expect(ty.index.val_type())?;
        Ok(())
    }

    pub(super) fn table_copy(&mut self, dst: TableIdx, src: TableIdx) -> Result<()> {
        let d = self.table_type(dst)?;
        let s = self.table_type(src)?;
        if !self.cx.ref_matches(s.element, d.element) {
            return Err(self.mismatch());
        }
        self.pop_expect(d.index.narrower(s.index).val_type())?;
        self.pop_expect(s.index.val_type())?;
        self.pop_expect(d.index.val_type())?;
        Ok(())
    }

    pub(super) fn table_init(&mut self, table: TableIdx, elem: ElemIdx) -> Result<()> {
        let t = self.table_type(table)?;
        let e = self.elem_type(elem)?;
        if !self.cx.matches(e, t.element.into()) {
            return Err(self.mismatch());
        }
        self.pop_expect(ValType::I32)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(t.index.val_type())?;
        Ok(())
    }

    pub(super) fn elem_drop(&mut self, e: ElemIdx) -> Result<()> {
        self.elem_type(e)?;
        Ok(())
    }
}
