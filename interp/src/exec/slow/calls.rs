//! Calls, tail calls and returns on the slow path: to any function (another
//! instance's, the host's, one not yet translated), with the call depth
//! checked and the frames switched here.

use std::ops::ControlFlow;

use kiln_runtime::{FuncAddr, Trap, TrapCode};

use super::Executor;
use crate::bytecode::Reg;
use crate::exec::frames::{
    Callee, call_host, call_native, enter, finish_return, indirect_target, leaves_wasm, resolve,
    tail_call,
};

impl Executor<'_> {
    /// The store address of the running instance's function `func`.
    #[inline(always)]
    pub(super) fn func_addr(&self, func: u32) -> FuncAddr {
        self.store.instances[self.ctx.frame.instance.index()].funcs[func as usize]
    }

    /// The function that `call_indirect` site `site` selects with the table
    /// index in register `index`, or the trap the selection raises.
    #[inline(always)]
    pub(super) fn indirect_target(&self, site: u32, index: Reg) -> Result<FuncAddr, Trap> {
        indirect_target(self.store, &self.ctx.frame, site, reg!(self.regs, index))
    }

    /// The function the reference in register `func` names, or the trap
    /// `call_ref` of null raises.
    #[inline(always)]
    pub(super) fn func_ref(&self, func: Reg) -> Result<FuncAddr, Trap> {
        match kiln_runtime::RawRef(reg!(self.regs, func) as u32).addr() {
            Some(a) => Ok(FuncAddr(a)),
            None => Err(TrapCode::NullFunctionReference.into()),
        }
    }

    /// Calls function `addr` with arguments from register `args`: a WebAssembly
    /// callee becomes the current frame, a host callee runs to completion.
    #[inline(always)]
    pub(super) fn call(&mut self, addr: FuncAddr, args: Reg) -> Result<(), Trap> {
        let callee_base = self.base + args as usize;
        match resolve(self.store, &self.ctx.frame, addr, callee_base, self.modules)? {
            Callee::Wasm(callee) => {
                if self.store.depth >= self.store.limits.max_call_depth {
                    return Err(TrapCode::CallStackExhausted.into());
                }
                self.store.depth += 1;
                enter(self.stack, &callee)?;
                self.ctx.frame.pc = self.pc;
                let caller = std::mem::replace(&mut self.ctx.frame, callee);
                self.ctx.frames.push(caller);
                self.pc = 0;
                self.base = callee_base;
            }
            Callee::Host(host, sig) => {
                let instance = self.ctx.frame.instance;
                let frozen = self.freeze_roots();
                let called = call_host(
                    self.store,
                    self.data,
                    instance,
                    &host,
                    sig,
                    self.stack,
                    callee_base,
                );
                self.store.gc_frozen.truncate(frozen);
                called?;
            }
            Callee::Native(addr) => {
                let frozen = self.freeze_roots();
                let called = call_native(self.store, self.data, addr, self.stack, callee_base);
                self.store.gc_frozen.truncate(frozen);
                called?;
            }
        }
        self.refresh();
        Ok(())
    }

    /// Replaces the current frame by a call to `addr` with arguments from
    /// register `args`; a host callee's results are returned at once. Breaks
    /// when that return leaves the frame the execution started with.
    #[inline(always)]
    pub(super) fn return_call(
        &mut self,
        addr: FuncAddr,
        args: Reg,
    ) -> Result<ControlFlow<()>, Trap> {
        // A host (or native) callee runs from inside `tail_call`, while this
        // execution's frames wait: their roots are frozen for it. A
        // WebAssembly callee just replaces the frame.
        let frozen = if leaves_wasm(self.store, addr) {
            self.freeze_roots()
        } else {
            self.store.gc_frozen.len()
        };
        let called = tail_call(
            self.store,
            self.data,
            self.stack,
            &mut self.ctx.frame,
            addr,
            args,
            self.modules,
        );
        self.store.gc_frozen.truncate(frozen);
        if let Err(trap) = called {
            if trap.as_exception().is_some() {
                self.leave_frame_for_exception();
            }
            return Err(trap);
        }
        self.pc = self.ctx.frame.pc;
        self.refresh();
        if self.pc == usize::MAX {
            // The callee was a host function: return its results.
            if finish_return(self.store, &mut self.ctx.frames, &mut self.ctx.frame).is_none() {
                return Ok(ControlFlow::Break(()));
            }
            self.pc = self.ctx.frame.pc;
            self.base = self.ctx.frame.base;
            self.refresh();
        }
        Ok(ControlFlow::Continue(()))
    }

    /// After a tail call to a host function threw: the tail call left the
    /// frame, so its handlers do not apply, and the exception comes out of
    /// the caller's call. Makes the caller the running frame, at its call;
    /// with no caller, leaves no op for [`Executor::unwind`] to look at.
    #[cold]
    fn leave_frame_for_exception(&mut self) {
        match self.ctx.frames.pop() {
            Some(caller) => {
                self.ctx.frame = caller;
                self.pc = caller.pc;
                self.base = caller.base;
                self.store.depth -= 1;
                self.refresh();
            }
            None => self.pc = 0,
        }
    }

    /// Returns the `count` values from register `start` to the caller, or,
    /// from the frame the execution started with, breaks.
    #[inline(always)]
    pub(super) fn ret(&mut self, start: Reg, count: u32) -> ControlFlow<()> {
        let base = self.base;
        let (start, count) = (base + start as usize, count as usize);
        if start != base {
            if count == 1 {
                self.stack[base] = self.stack[start];
            } else {
                self.stack.copy_within(start..start + count, base);
            }
        }
        let Some(caller) = self.ctx.frames.pop() else {
            return ControlFlow::Break(());
        };
        self.ctx.frame = caller;
        self.pc = self.ctx.frame.pc;
        self.base = self.ctx.frame.base;
        self.store.depth -= 1;
        self.refresh();
        ControlFlow::Continue(())
    }
}
