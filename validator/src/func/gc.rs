//! The GC proposal's instructions: structs, arrays, `i31`, casts and the
//! conversions between `any` and `extern`.
//!
//! A struct or array instruction names its type; the operand is popped as
//! `(ref null $t)`, so that any subtype (and the null reference) is accepted.
//! Packed fields (`i8`, `i16`) are read and written as `i32`, and must be
//! read with `_s` or `_u`; a field that is not packed must be read without.

use kiln_parser::{
    BrOnCast, DataIdx, ElemIdx, FieldRead, FieldType, GcInstr, HeapType, LabelIdx, RefType,
    StorageType, TypeIdx, ValType,
};

use super::{FuncValidator, Result};
use crate::error::{IndexSpace, ValidationErrorKind};

impl<'m> FuncValidator<'_, 'm> {
    /// Checks one GC instruction.
    pub(super) fn gc(&mut self, instr: &GcInstr) -> Result<()> {
        match *instr {
            GcInstr::RefEq => {
                let eqref = ValType::Ref(RefType::null(HeapType::Eq));
                self.pop_expect(eqref)?;
                self.pop_expect(eqref)?;
                self.push_ok(ValType::I32)
            }
            GcInstr::StructNew(t) => {
                let fields = self.struct_type(t)?;
                for f in fields.iter().rev() {
                    self.pop_expect(f.storage.unpacked())?;
                }
                self.push_ok(RefType::non_null(HeapType::Concrete(t)).into())
            }
            GcInstr::StructNewDefault(t) => {
                let fields = self.struct_type(t)?;
                if !fields.iter().all(|f| f.is_defaultable()) {
                    return Err(self.mismatch());
                }
                self.push_ok(RefType::non_null(HeapType::Concrete(t)).into())
            }
            GcInstr::StructGet { ty, field, read } => {
                let f = self.struct_field(ty, field)?;
                self.check_read(f, read)?;
                self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
                self.push_ok(f.storage.unpacked())
            }
            GcInstr::StructSet { ty, field } => {
                let f = self.struct_field(ty, field)?;
                if !f.mutable {
                    return Err(self.error(ValidationErrorKind::ImmutableField));
                }
                self.pop_expect(f.storage.unpacked())?;
                self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
                Ok(())
            }
            GcInstr::ArrayNew(_)
            | GcInstr::ArrayNewDefault(_)
            | GcInstr::ArrayNewFixed { .. }
            | GcInstr::ArrayNewData { .. }
            | GcInstr::ArrayNewElem { .. }
            | GcInstr::ArrayGet { .. }
            | GcInstr::ArraySet(_)
            | GcInstr::ArrayLen
            | GcInstr::ArrayFill(_)
            | GcInstr::ArrayCopy { .. }
            | GcInstr::ArrayInitData { .. }
            | GcInstr::ArrayInitElem { .. } => self.gc_array(instr),
            GcInstr::RefTest(rt) => {
                self.cast_operand(rt)?;
                self.push_ok(ValType::I32)
            }
            GcInstr::RefCast(rt) => {
                self.cast_operand(rt)?;
                self.push_ok(rt.into())
            }
            GcInstr::BrOnCast(ref b) => self.br_on_cast(b),
            GcInstr::AnyConvertExtern => {
                let r = self.pop_ref_in(HeapType::Extern)?;
                self.push_ok(RefType::new(r.nullable, HeapType::Any).into())
            }
            GcInstr::ExternConvertAny => {
                let r = self.pop_ref_in(HeapType::Any)?;
                self.push_ok(RefType::new(r.nullable, HeapType::Extern).into())
            }
            GcInstr::RefI31 => {
                self.pop_expect(ValType::I32)?;
                self.push_ok(RefType::non_null(HeapType::I31).into())
            }
            GcInstr::I31Get(_) => {
                self.pop_expect(RefType::null(HeapType::I31).into())?;
                self.push_ok(ValType::I32)
            }
        }
    }

    /// Checks one array instruction of GC.
    fn gc_array(&mut self, instr: &GcInstr) -> Result<()> {
        match *instr {
            GcInstr::ArrayNew(t) => {
                let elem = self.array_type(t)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(elem.storage.unpacked())?;
                self.push_ok(RefType::non_null(HeapType::Concrete(t)).into())
            }
            GcInstr::ArrayNewDefault(t) => {
                let elem = self.array_type(t)?;
                if !elem.is_defaultable() {
                    return Err(self.mismatch());
                }
                self.pop_expect(ValType::I32)?;
                self.push_ok(RefType::non_null(HeapType::Concrete(t)).into())
            }
            GcInstr::ArrayNewFixed { ty, len } => {
                let elem = self.array_type(ty)?;
                // Only the operands above the frame are popped one by one:
                // in unreachable code the rest are unknown, however many the
                // immediate says (up to 2^32, so never looped over).
                let above = self.operands.len() - self.frame_height;
                let len = len as usize;
                if len > above && !self.ctrls.last().is_some_and(|f| f.unreachable) {
                    return Err(self.mismatch());
                }
                for _ in 0..len.min(above) {
                    self.pop_expect(elem.storage.unpacked())?;
                }
                self.push_ok(RefType::non_null(HeapType::Concrete(ty)).into())
            }
            GcInstr::ArrayNewData { ty, data } => {
                self.array_data(ty, data, false)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(ValType::I32)?;
                self.push_ok(RefType::non_null(HeapType::Concrete(ty)).into())
            }
            GcInstr::ArrayNewElem { ty, elem } => {
                self.array_elem(ty, elem, false)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(ValType::I32)?;
                self.push_ok(RefType::non_null(HeapType::Concrete(ty)).into())
            }
            GcInstr::ArrayGet { ty, read } => {
                let elem = self.array_type(ty)?;
                self.check_read(elem, read)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
                self.push_ok(elem.storage.unpacked())
            }
            GcInstr::ArraySet(ty) => {
                let elem = self.mutable_array(ty)?;
                self.pop_expect(elem.storage.unpacked())?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
                Ok(())
            }
            GcInstr::ArrayLen => {
                self.pop_expect(RefType::null(HeapType::Array).into())?;
                self.push_ok(ValType::I32)
            }
            GcInstr::ArrayFill(ty) => {
                let elem = self.mutable_array(ty)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(elem.storage.unpacked())?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
                Ok(())
            }
            GcInstr::ArrayCopy { dst, src } => {
                let to = self.mutable_array(dst)?;
                let from = self.array_type(src)?;
                if !self.cx.storage_matches(from.storage, to.storage) {
                    return Err(self.error(ValidationErrorKind::ArrayTypesDiffer));
                }
                self.pop_expect(ValType::I32)?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(RefType::null(HeapType::Concrete(src)).into())?;
                self.pop_expect(ValType::I32)?;
                self.pop_expect(RefType::null(HeapType::Concrete(dst)).into())?;
                Ok(())
            }
            GcInstr::ArrayInitData { ty, data } => {
                self.array_data(ty, data, true)?;
                self.pop_bulk_init(ty)
            }
            GcInstr::ArrayInitElem { ty, elem } => {
                self.array_elem(ty, elem, true)?;
                self.pop_bulk_init(ty)
            }
            _ => Ok(()),
        }
    }

    /// The fields of struct type `t`: "unknown type" if there is no type
    /// `t`, "type mismatch" if it is not a struct type.
    fn struct_type(&self, t: TypeIdx) -> Result<&'m [FieldType]> {
        self.type_exists(t)?;
        self.cx.struct_fields(t).ok_or_else(|| self.mismatch())
    }

    /// Field `field` of struct type `t`, or "unknown field".
    fn struct_field(&self, t: TypeIdx, field: u32) -> Result<FieldType> {
        let fields = self.struct_type(t)?;
        fields
            .get(field as usize)
            .copied()
            .ok_or_else(|| self.unknown(IndexSpace::Field, field))
    }

    /// The element type of array type `t`.
    fn array_type(&self, t: TypeIdx) -> Result<FieldType> {
        self.type_exists(t)?;
        self.cx.array_elem(t).ok_or_else(|| self.mismatch())
    }

    /// The element type of array type `t`, which must be mutable: "immutable
    /// array" if it is not.
    fn mutable_array(&self, t: TypeIdx) -> Result<FieldType> {
        let elem = self.array_type(t)?;
        if !elem.mutable {
            return Err(self.error(ValidationErrorKind::ImmutableArray));
        }
        Ok(elem)
    }

    /// "unknown type" if there is no type `t`.
    fn type_exists(&self, t: TypeIdx) -> Result<()> {
        if t.index() >= self.cx.types.len() {
            return Err(self.unknown(IndexSpace::Type, t.0));
        }
        Ok(())
    }

    /// A packed field is read with `_s` or `_u`, any other without.
    fn check_read(&self, f: FieldType, read: FieldRead) -> Result<()> {
        if f.storage.is_packed() == (read == FieldRead::Plain) {
            return Err(self.mismatch());
        }
        Ok(())
    }

    /// `array.new_data`, `array.init_data`: the array's elements are numbers
    /// or vectors (read from bytes), mutable for `init`, and the data
    /// segment exists.
    fn array_data(&self, ty: TypeIdx, data: DataIdx, init: bool) -> Result<()> {
        let elem = if init {
            self.mutable_array(ty)?
        } else {
            self.array_type(ty)?
        };
        if matches!(elem.storage, StorageType::Val(ValType::Ref(_))) {
            return Err(self.error(ValidationErrorKind::ArrayNotNumeric));
        }
        self.check_data(data)
    }

    /// `array.new_elem`, `array.init_elem`: the element segment's references
    /// fit the array's elements, mutable for `init`.
    fn array_elem(&self, ty: TypeIdx, elem: ElemIdx, init: bool) -> Result<()> {
        let field = if init {
            self.mutable_array(ty)?
        } else {
            self.array_type(ty)?
        };
        let Some(&seg) = self.cx.elems.get(elem.index()) else {
            return Err(self.unknown(IndexSpace::ElemSegment, elem.0));
        };
        if !self
            .cx
            .storage_matches(StorageType::Val(seg.into()), field.storage)
        {
            return Err(self.mismatch());
        }
        Ok(())
    }

    /// The operands of `array.init_data` and `array.init_elem`: the array,
    /// the destination offset, the source offset and the count.
    fn pop_bulk_init(&mut self, ty: TypeIdx) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(ValType::I32)?;
        self.pop_expect(RefType::null(HeapType::Concrete(ty)).into())?;
        Ok(())
    }

    /// Checks that `rt` names existing types, then pops a reference of the
    /// same hierarchy (`ref.test`, `ref.cast`).
    fn cast_operand(&mut self, rt: RefType) -> Result<()> {
        self.ref_type_exists(rt)?;
        let top = self.cx.top_of(rt.heap);
        self.pop_expect(RefType::null(top).into())?;
        Ok(())
    }

    /// "unknown type" if `rt` names a type that does not exist.
    fn ref_type_exists(&self, rt: RefType) -> Result<()> {
        if let HeapType::Concrete(t) = rt.heap {
            self.type_exists(t)?;
        }
        Ok(())
    }

    /// Pops a reference that must be in the hierarchy whose top is `top`
    /// (`any.convert_extern`, `extern.convert_any`).
    fn pop_ref_in(&mut self, top: HeapType) -> Result<RefType> {
        let r = self.pop_ref()?;
        if r.heap != HeapType::Bot && self.cx.top_of(r.heap) != top {
            return Err(self.mismatch());
        }
        Ok(r)
    }

    /// `br_on_cast l rt1 rt2` and `br_on_cast_fail l rt1 rt2`: `rt2` must
    /// match `rt1`; the operand is popped as `rt1`. The branch carries `rt2`
    /// (on success) or `rt1` without what `rt2` covers (on failure), and the
    /// instruction leaves the other.
    fn br_on_cast(&mut self, b: &BrOnCast) -> Result<()> {
        let BrOnCast {
            label,
            from,
            to,
            on_fail,
        } = *b;
        self.ref_type_exists(from)?;
        self.ref_type_exists(to)?;
        if !self.cx.ref_matches(to, from) {
            return Err(self.mismatch());
        }
        // What fails the test: `from`, nullable only if `to` is not.
        let rest = RefType::new(from.nullable && !to.nullable, from.heap);
        let (branched, kept) = if on_fail { (rest, to) } else { (to, rest) };
        self.pop_expect(from.into())?;
        self.branch_with(label, branched)?;
        self.push_ok(kept.into())
    }

    /// Checks that label `l`'s types end with a type `r` matches, and that
    /// the operands below hold the rest.
    fn branch_with(&mut self, l: LabelIdx, r: RefType) -> Result<()> {
        let frame = self.label(l.0)?;
        let Some((&last, rest)) = frame.label_types().split_last() else {
            return Err(self.mismatch());
        };
        if !self.cx.matches(r.into(), last) {
            return Err(self.mismatch());
        }
        self.pop_vals(rest)?;
        self.push_vals(rest);
        Ok(())
    }
}
