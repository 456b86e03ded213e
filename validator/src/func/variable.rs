//! Locals, globals, parametric instructions and references.

use kiln_parser::{Instr, ValType};

use super::{FuncValidator, Result};

impl FuncValidator<'_, '_> {
    fn local(&self, idx: u32) -> Result<ValType> {
        match self.locals.get(idx as usize) {
            Some(&t) => Ok(t),
            None => Err(self.error(format!("unknown local {idx}"))),
        }
    }

    pub(super) fn variable(&mut self, instr: &Instr) -> Result<()> {
        match instr {
            Instr::LocalGet(l) => {
                let t = self.local(l.0)?;
                self.push(t);
            }
            Instr::LocalSet(l) => {
                let t = self.local(l.0)?;
                self.pop_expect(t)?;
            }
            Instr::LocalTee(l) => {
                let t = self.local(l.0)?;
                self.pop_expect(t)?;
                self.push(t);
            }
            Instr::GlobalGet(g) => {
                let Some(ty) = self.cx.globals.get(g.index()) else {
                    return Err(self.error(format!("unknown global {g}")));
                };
                self.push(ty.content);
            }
            Instr::GlobalSet(g) => {
                let Some(ty) = self.cx.globals.get(g.index()).copied() else {
                    return Err(self.error(format!("unknown global {g}")));
                };
                if !ty.mutable {
                    return Err(self.error("global is immutable"));
                }
                self.pop_expect(ty.content)?;
            }
            Instr::Drop => {
                self.pop()?;
            }
            Instr::Select(None) => {
                self.pop_expect(ValType::I32)?;
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
            }
            Instr::Select(Some(t)) => {
                self.pop_expect(ValType::I32)?;
                self.pop_expect(*t)?;
                self.pop_expect(*t)?;
                self.push(*t);
            }
            Instr::RefNull(t) => self.push((*t).into()),
            Instr::RefIsNull => {
                if let Some(t) = self.pop()?
                    && !t.is_ref()
                {
                    return Err(self.mismatch());
                }
                self.push(ValType::I32);
            }
            Instr::RefFunc(f) => {
                if f.index() >= self.cx.num_funcs() {
                    return Err(self.error(format!("unknown function {f}")));
                }
                if !self.cx.refs.contains(&f.0) {
                    return Err(self.error("undeclared function reference"));
                }
                self.push(ValType::FuncRef);
            }
            other => return Err(self.error(format!("unexpected instruction {other:?}"))),
        }
        Ok(())
    }
}
