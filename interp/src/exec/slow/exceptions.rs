//! Exceptions on the slow path: `throw` and `throw_ref` raise one, and the
//! executor's loop hands every exception in flight (thrown here, or coming
//! out of a host function as `Trap::exception`) to [`Executor::unwind`],
//! which looks for a catching `try_table` in the running frame, then in its
//! callers, and runs the clause's landing pad. An exception no frame of this
//! execution catches leaves it as the error; a trap is never caught.

use kiln_runtime::{ExnAddr, ExnEntity, RawRef, Trap, TrapCode};

use super::Executor;
use crate::bytecode::Reg;
use crate::exec::frames::{get_val, put_val};

impl Executor<'_> {
    /// `throw` of the running instance's tag `tag` with the payload in the
    /// registers from `args`: the new exception, as the error to unwind with
    /// (or the trap if the store may keep no more exceptions).
    #[inline(never)]
    pub(super) fn throw(&mut self, tag: u32, args: Reg) -> Trap {
        let inst = &self.store.instances[self.ctx.frame.instance.index()];
        let tag = inst.tags[tag as usize];
        let sig = self.store.tags[tag.index()].sig;
        let at = self.base + args as usize;
        let payload = self
            .store
            .sig(sig)
            .params
            .iter()
            .enumerate()
            .map(|(i, &t)| get_val(self.store, self.stack, at + i, t).to_bits())
            .collect();
        match self.store.add_thrown_exn(ExnEntity { tag, payload }) {
            Ok(exn) => Trap::exception(exn),
            Err(trap) => trap,
        }
    }

    /// `throw_ref` of the exnref in register `src`.
    #[inline(never)]
    pub(super) fn throw_ref(&self, src: Reg) -> Trap {
        match RawRef(reg!(self.regs, src) as u32).addr() {
            Some(a) => Trap::exception(ExnAddr(a)),
            None => TrapCode::NullExceptionReference.into(),
        }
    }

    /// Unwinds to the innermost handler of `exn`: the op before `pc` threw it
    /// (or called out of which it came). Leaves the catching frame running at
    /// its clause's landing pad with the payload in place; returns `exn`
    /// as the error if no frame of this execution catches it.
    #[inline(never)]
    pub(super) fn unwind(&mut self, exn: ExnAddr) -> Result<(), Trap> {
        let mut pc = self.pc.wrapping_sub(1);
        loop {
            if let Some(pad) = self.catch(pc, exn) {
                self.pc = pad as usize;
                self.refresh();
                return Ok(());
            }
            let Some(caller) = self.ctx.frames.pop() else {
                return Err(Trap::exception(exn));
            };
            self.ctx.frame = caller;
            self.base = caller.base;
            self.store.depth -= 1;
            // A caller's `pc` is its return address: the call is the op before.
            pc = caller.pc.wrapping_sub(1);
            self.refresh();
        }
    }

    /// The landing pad of the first clause of the running frame's handlers
    /// around op `pc` that catches `exn`, with the payload (and the exnref)
    /// written where the pad expects them.
    fn catch(&mut self, pc: usize, exn: ExnAddr) -> Option<u32> {
        let entity = &self.store.exns[exn.index()];
        let inst = &self.store.instances[self.ctx.frame.instance.index()];
        let func = self.ctx.frame.func();
        let pc = u32::try_from(pc).ok()?;
        let (payload_reg, clause) = func
            .handlers
            .iter()
            .filter(|h| h.start <= pc && pc < h.end)
            .find_map(|h| {
                let clause = h.clauses.iter().find(|c| {
                    c.tag
                        .is_none_or(|t| inst.tags.get(t as usize) == Some(&entity.tag))
                })?;
                Some((h.payload, *clause))
            })?;
        let at = self.base + payload_reg as usize;
        let mut n = 0;
        if clause.tag.is_some() {
            let sig = self.store.tags[entity.tag.index()].sig;
            for (i, (&t, &bits)) in self
                .store
                .sig(sig)
                .params
                .iter()
                .zip(entity.payload.iter())
                .enumerate()
            {
                put_val(self.stack, at + i, &kiln_runtime::Val::from_bits(t, bits));
                n = i + 1;
            }
        }
        if clause.with_ref {
            // An `exnref` now: kept (see `Store::add_thrown_exn`).
            self.store.keep_exn(exn);
            put_val(self.stack, at + n, &kiln_runtime::Val::ExnRef(Some(exn)));
        }
        Some(clause.pad)
    }
}
