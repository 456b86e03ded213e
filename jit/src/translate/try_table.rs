//! The translation of `try_table`, `throw` and `throw_ref`, on the helpers of
//! `exceptions.rs` (which say what each is to emit) and the unwinder of
//! `unwind.rs`.
//!
//! Each `try_table` is a block (`FrameKind::TryTable`) with an [`OpenScope`] on
//! `Scratch::scopes`, innermost last. While it is open, every call that may
//! throw goes through the innermost scope ([`FuncState::catching_scope`]): a
//! direct call becomes a `try_call`, `call_indirect`'s and `call_ref`'s inline
//! path a `try_call_indirect`, and a libcall that may end with an exception is
//! followed by `check_pending_in_scope` ([`FuncState::check_call_pending`]).
//! Tail calls never do: the frame, and with it the scope, is gone when the
//! callee runs. A scope nothing can throw into gets no landing code.
//!
//! At the `try_table`'s `end` the landing block is filled
//! ([`FuncState::end_try_table`]): the catch clauses' labels are relative to
//! the block around the `try_table`, so they are resolved once its frame is
//! popped, and each target is marked branched to like any branch's. An
//! exception no clause matches goes on to the enclosing scope of the function,
//! or out of it through the `throw` libcall.
//!
//! Exceptions are the store's (`Store::exns`); their tag and payload are read
//! by libcalls ([`StoreExceptions`]), and tags compared by store address
//! against the instance's tag index space (`VmContext::tags`).

use cranelift_codegen::ir::{
    FuncRef, InstBuilder, MemFlagsData, StackSlotData, StackSlotKind, Type, Value, types,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use kiln_parser::{Catch, Module, TagIdx, TryTable, ValType};
use kiln_runtime::TrapCode;

use super::exceptions::{
    CatchClause, ExceptionEnv, Rethrow, TryScope, check_pending_in_scope, emit_landing, emit_throw,
};
use super::{FuncState, SLOT_SIZE, clif_type};
use crate::CompileError;
use crate::libcalls::Libcall;
use crate::vmctx;

/// A `try_table` being translated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenScope {
    /// Its landing block.
    pub scope: TryScope,
    /// Whether anything may throw into it (a call, a `throw`, an inner scope's
    /// rethrow): only then is its landing block filled.
    pub used: bool,
    /// Where its catch clauses start in `Scratch::catches`.
    pub catches_at: usize,
}

/// The parameter types of tag `tag`'s type.
fn tag_params(module: &Module, tag: u32) -> &[ValType] {
    module
        .tag_type(TagIdx(tag))
        .map_or(&[], |t| &module.types[t.index()].func().params)
}

impl FuncState<'_, '_> {
    /// The innermost open `try_table`, which catches what a call made here
    /// throws (marked used), or `None` outside every one.
    pub(super) fn catching_scope(&mut self) -> Option<TryScope> {
        let open = self.s.scopes.last_mut()?;
        open.used = true;
        Some(open.scope)
    }

    /// After a libcall that may fail with a trap or end with an exception: raises
    /// the pending trap, or, for a call inside a `try_table` (`tail` false),
    /// throws a pending exception into it.
    pub(super) fn check_call_pending(&mut self, tail: bool) {
        let scope = if tail { None } else { self.catching_scope() };
        match scope {
            Some(scope) => {
                let throw_pending = self.libcall(Libcall::ThrowPending, &[], &[]);
                check_pending_in_scope(&mut self.b, scope, self.vmctx, throw_pending);
            }
            None => self.check_pending(),
        }
    }

    /// `try_table`: a block, and a scope for the calls inside it.
    pub(super) fn visit_try_table(&mut self, tt: &TryTable) -> Result<(), CompileError> {
        self.open_try_table(tt.ty)?;
        let scope = TryScope::new(&mut self.b);
        let catches_at = self.s.catches.len();
        self.s.catches.extend_from_slice(&tt.catches);
        self.s.scopes.push(OpenScope {
            scope,
            used: false,
            catches_at,
        });
        Ok(())
    }

    /// The `end` of a `try_table`, its frame already popped: fills its landing
    /// block, if anything can reach it. Leaves the builder in an ended block.
    pub(super) fn end_try_table(&mut self) -> Result<(), CompileError> {
        let Some(open) = self.s.scopes.pop() else {
            return Ok(());
        };
        let catches: Vec<Catch> = self.s.catches.drain(open.catches_at..).collect();
        if !open.used {
            return Ok(());
        }
        let clauses: Vec<CatchClause> = catches
            .iter()
            .map(|c| CatchClause {
                tag: c.tag.map(|t| t.0),
                with_ref: c.with_ref,
                target: self.catch_target(c.label.0),
            })
            .collect();
        let rethrow = match self.catching_scope() {
            Some(outer) => Rethrow::Scope(outer),
            None => Rethrow::Caller {
                vmctx: self.vmctx,
                throw: self.libcall(Libcall::Throw, &[types::I32], &[]),
            },
        };
        let mut env = StoreExceptions {
            module: self.env.module,
            vmctx: self.vmctx,
            pointer: self.env.pointer(),
            tag_of: self.libcall(Libcall::ExceptionTag, &[types::I32], &[types::I32]),
            payload_of: self.libcall(
                Libcall::ExceptionPayload,
                &[types::I32, self.env.pointer()],
                &[],
            ),
            keep: self.libcall(Libcall::KeepException, &[types::I32], &[]),
            fuel: self.fuel.map(|var| (var, self.vmctx_flags())),
        };
        // The payload types are checked here, where an error can be returned.
        for c in &catches {
            if let Some(t) = c.tag {
                for &p in tag_params(self.env.module, t.0) {
                    clif_type(p)?;
                }
            }
        }
        emit_landing(&mut self.b, open.scope, &clauses, &mut env, rethrow);
        Ok(())
    }

    /// `throw tag`: the exception allocated in the store from the tag's
    /// parameters on the stack, then thrown.
    pub(super) fn visit_throw(&mut self, tag: u32) -> Result<(), CompileError> {
        let n = tag_params(self.env.module, tag).len();
        let buf = self.value_buffer(n);
        let start = self.s.stack.len() - n;
        for i in start..self.s.stack.len() {
            let v = self.s.stack[i];
            let offset = (i - start) as i32 * SLOT_SIZE;
            self.b.ins().store(MemFlagsData::trusted(), v, buf, offset);
        }
        self.s.stack.truncate(start);
        let new_exception = self.libcall(
            Libcall::NewException,
            &[types::I32, self.env.pointer()],
            &[types::I32],
        );
        let tag = self.b.ins().iconst(types::I32, i64::from(tag));
        let call = self.b.ins().call(new_exception, &[self.vmctx, tag, buf]);
        let exn = self.b.func.dfg.inst_results(call)[0];
        // The store may keep no more exceptions: a trap, never caught.
        self.check_pending();
        self.throw_exception(exn);
        Ok(())
    }

    /// `throw_ref`: traps on null, else throws the exception again.
    pub(super) fn visit_throw_ref(&mut self) {
        let exn = self.pop();
        self.b
            .ins()
            .trapz(exn, vmctx::clif_trap(TrapCode::NullExceptionReference));
        self.throw_exception(exn);
    }

    /// Throws `exn` (non-null `exnref` bits) to the innermost scope, or out of the
    /// function; what follows is unreachable.
    fn throw_exception(&mut self, exn: Value) {
        let scope = self.catching_scope();
        let throw = self.libcall(Libcall::Throw, &[types::I32], &[]);
        emit_throw(&mut self.b, scope, self.vmctx, exn, throw);
        self.reachable = false;
    }
}

/// The store's exceptions, as a landing block reads them: tag and payload by
/// libcall, tag identities from `VmContext::tags`.
struct StoreExceptions<'m> {
    module: &'m Module,
    vmctx: Value,
    pointer: Type,
    /// [`Libcall::ExceptionTag`], imported.
    tag_of: FuncRef,
    /// [`Libcall::ExceptionPayload`], imported.
    payload_of: FuncRef,
    /// [`Libcall::KeepException`], imported.
    keep: FuncRef,
    /// With fuel on, the fuel variable and the flags of a context field: the
    /// call that threw charged fuel, so the landing reloads it.
    fuel: Option<(Variable, MemFlagsData)>,
}

impl ExceptionEnv for StoreExceptions<'_> {
    fn landed(&mut self, b: &mut FunctionBuilder<'_>) {
        if let Some((var, flags)) = self.fuel {
            let fuel = b
                .ins()
                .load(types::I64, flags, self.vmctx, vmctx::FUEL_OFFSET);
            b.def_var(var, fuel);
        }
    }

    fn keep_exception(&mut self, b: &mut FunctionBuilder<'_>, exn: Value) {
        b.ins().call(self.keep, &[self.vmctx, exn]);
    }

    fn exception_tag(&mut self, b: &mut FunctionBuilder<'_>, exn: Value) -> Value {
        let call = b.ins().call(self.tag_of, &[self.vmctx, exn]);
        b.func.dfg.inst_results(call)[0]
    }

    fn tag_identity(&mut self, b: &mut FunctionBuilder<'_>, tag: u32) -> Value {
        let fixed = MemFlagsData::trusted().with_readonly().with_can_move();
        let tags = b
            .ins()
            .load(self.pointer, fixed, self.vmctx, vmctx::TAGS_OFFSET);
        let offset = i32::try_from(u64::from(tag) * 4).unwrap_or(i32::MAX);
        b.ins().load(types::I32, fixed, tags, offset)
    }

    fn exception_values(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        exn: Value,
        tag: u32,
        out: &mut Vec<Value>,
    ) {
        let params = tag_params(self.module, tag);
        if params.is_empty() {
            return;
        }
        let size = params.len() as u32 * SLOT_SIZE as u32;
        let slot =
            b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, size, 4));
        let buf = b.ins().stack_addr(self.pointer, slot, 0);
        b.ins().call(self.payload_of, &[self.vmctx, exn, buf]);
        for (i, &p) in params.iter().enumerate() {
            // Checked by `end_try_table`.
            let ty = clif_type(p).unwrap_or(types::I32);
            let v = b
                .ins()
                .load(ty, MemFlagsData::trusted(), buf, i as i32 * SLOT_SIZE);
            out.push(v);
        }
    }
}
