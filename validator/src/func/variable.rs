//! Locals, globals, parametric instructions and references.

use kiln_parser::{FuncIdx, GlobalIdx, HeapType, LocalIdx, RefType, ValType};

use crate::error::{IndexSpace, ValidationErrorKind};

use super::{FuncValidator, Result};

impl FuncValidator<'_, '_> {
    #[inline]
    fn local(&self, idx: LocalIdx) -> Result<ValType> {
        match self.locals.get(idx.index()) {
            Some(&t) => Ok(t),
            None => Err(self.unknown(IndexSpace::Local, idx.0)),
        }
    }

    #[inline]
    pub(super) fn local_get(&mut self, l: LocalIdx) -> Result<()> {
        let t = self.local(l)?;
        if !self.inits[l.index()] {
            return Err(self.error(ValidationErrorKind::UninitializedLocal));
        }
        self.push(t);
        Ok(())
    }

    /// Notes that local `l` holds a value from here to the end of the
    /// current frame.
    #[inline]
    fn set_init(&mut self, l: LocalIdx) {
        if !self.inits[l.index()] {
            self.inits[l.index()] = true;
            self.inits_set.push(l.0);
        }
    }

    #[inline]
    pub(super) fn local_set(&mut self, l: LocalIdx) -> Result<()> {
        let t = self.local(l)?;
        self.pop_expect(t)?;
        self.set_init(l);
        Ok(())
    }

    #[inline]
    pub(super) fn local_tee(&mut self, l: LocalIdx) -> Result<()> {
        let t = self.local(l)?;
        self.pop_expect(t)?;
        self.set_init(l);
        self.push(t);
        Ok(())
    }

    #[inline]
    pub(super) fn global_get(&mut self, g: GlobalIdx) -> Result<()> {
        let Some(ty) = self.cx.globals.get(g.index()) else {
            return Err(self.unknown(IndexSpace::Global, g.0));
        };
        self.push(ty.content);
        Ok(())
    }

    #[inline]
    pub(super) fn global_set(&mut self, g: GlobalIdx) -> Result<()> {
        let Some(ty) = self.cx.globals.get(g.index()).copied() else {
            return Err(self.unknown(IndexSpace::Global, g.0));
        };
        if !ty.mutable {
            return Err(self.error(ValidationErrorKind::ImmutableGlobal));
        }
        self.pop_expect(ty.content)?;
        Ok(())
    }

    #[inline]
    pub(super) fn drop_operand(&mut self) -> Result<()> {
        self.pop()?;
        Ok(())
    }

    pub(super) fn select(&mut self, ty: Option<ValType>) -> Result<()> {
        self.pop_expect(ValType::I32)?;
        let Some(t) = ty else {
            let t1 = self.pop()?;
            let t2 = self.pop()?;
            // Untyped `select` only takes numbers and vectors.
            if t1.is_some_and(ValType::is_ref) || t2.is_some_and(ValType::is_ref) {
                return Err(self.mismatch());
            }
            match (t1, t2) {
                (Some(a), Some(b)) if a != b => return Err(self.mismatch()),
                (Some(a), _) | (None, Some(a)) => self.push(a),
                (None, None) => self.push_maybe(None),
            }
            return Ok(());
        };
        if !self.cx.val_type_ok(t, usize::MAX) {
            return Err(self.unknown(IndexSpace::Type, 0));
        }
        self.pop_expect(t)?;
        self.pop_expect(t)?;
        self.push(t);
        Ok(())
    }

    #[inline]
    pub(super) fn ref_null(&mut self, h: HeapType) -> Result<()> {
        if !self.cx.heap_type_ok(h, usize::MAX) {
            let index = match h {
                HeapType::Concrete(t) => t.0,
                _ => 0,
            };
            return Err(self.unknown(IndexSpace::Type, index));
        }
        self.push(RefType::null(h).into());
        Ok(())
    }

    pub(super) fn ref_is_null(&mut self) -> Result<()> {
        self.pop_ref()?;
        self.push(ValType::I32);
        Ok(())
    }

    pub(super) fn ref_as_non_null(&mut self) -> Result<()> {
        let r = self.pop_ref()?;
        self.push(RefType::non_null(r.heap).into());
        Ok(())
    }

    pub(super) fn ref_func(&mut self, f: FuncIdx) -> Result<()> {
        if f.index() >= self.cx.num_funcs() {
            return Err(self.unknown(IndexSpace::Function, f.0));
        }
        if !self.cx.refs.contains(&f.0) {
            return Err(self.error(ValidationErrorKind::UndeclaredFunctionReference));
        }
        let ty = self.cx.funcs[f.index()];
        self.push(RefType::non_null(HeapType::Concrete(ty)).into());
        Ok(())
    }
}
