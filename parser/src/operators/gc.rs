//! The decoder's GC operators: each is an [`Instr::Gc`] when GC is on,
//! else refused by name (the rules in `convert!` call these).

use crate::convert_ref_type;
use crate::error::ParseError;
use crate::instr::{BrOnCast, GcInstr, Instr};
use crate::types::{LabelIdx, RefType};

use super::{InstrBuilder, InstrSink};

impl<S: InstrSink> InstrBuilder<S> {
    /// `instr`, an operator of GC, if it is on.
    pub(super) fn gc(&self, op: &'static str, instr: GcInstr) -> Result<Instr, ParseError> {
        if self.features.gc {
            Ok(Instr::Gc(instr))
        } else {
            self.unsupported("gc", op)
        }
    }

    /// `instr`, a GC operator that names a data segment, if GC is on.
    pub(super) fn gc_data(
        &mut self,
        op: &'static str,
        instr: GcInstr,
    ) -> Result<Instr, ParseError> {
        self.uses_data_count |= !self.reading_const;
        self.gc(op, instr)
    }

    /// A reference type of a GC operator's immediate (`ref.test`, ...).
    pub(super) fn gc_ref_type(
        &self,
        nullable: bool,
        h: wasmparser::HeapType,
    ) -> Result<RefType, ParseError> {
        let r = wasmparser::RefType::new(nullable, h)
            .ok_or_else(|| ParseError::unsupported("gc", "this heap type", self.offset))?;
        convert_ref_type(r, self.features, self.offset)
    }

    /// `br_on_cast` or `br_on_cast_fail`.
    pub(super) fn br_on_cast(
        &self,
        op: &'static str,
        label: u32,
        from: wasmparser::RefType,
        to: wasmparser::RefType,
        on_fail: bool,
    ) -> Result<Instr, ParseError> {
        if !self.features.gc {
            return self.unsupported("gc", op);
        }
        Ok(Instr::Gc(GcInstr::BrOnCast(Box::new(BrOnCast {
            label: LabelIdx(label),
            from: convert_ref_type(from, self.features, self.offset)?,
            to: convert_ref_type(to, self.features, self.offset)?,
            on_fail,
        }))))
    }
}
