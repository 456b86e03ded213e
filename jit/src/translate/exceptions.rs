//! What the translation of `try_table`, `throw` and `throw_ref` emits: the
//! generated half of exception handling, over the unwinder of `unwind.rs`.
//!
//! These helpers are the contract the translation (`try_table.rs`) follows,
//! and the unwinder's tests build their functions with them. They work on a
//! bare [`FunctionBuilder`], so `FuncState` calls them with its own builder.
//!
//! # What to emit
//! - **`try_table`**: open a [`TryScope`] ([`TryScope::new`], which creates the
//!   scope's landing block) and push it on a stack of scopes beside the control
//!   stack. Inside it, every call that may throw goes through the innermost
//!   scope:
//!   - a direct call to a function of the module: [`try_call`] instead of
//!     `call`; `call_indirect`'s direct path: [`try_call_indirect`];
//!   - a libcall that may end with an exception (`call_func`,
//!     `call_indirect_slow`): the plain call, then [`check_pending_in_scope`]
//!     instead of `check_pending`;
//!   - `return_call*` stays a tail call: the frame, and with it the scope, is
//!     gone when the callee runs (the spec's semantics).
//!
//!   Calls outside every scope stay exactly as today (`call`, then
//!   `check_pending` after a libcall): the unwinder passes over them.
//! - **At `try_table`'s `end`**: pop the scope and fill its landing block with
//!   [`emit_landing`]: the catch clauses in order, each a tag test (through
//!   [`ExceptionEnv`], which knows how the store represents exceptions) and a
//!   branch to the clause's label with the exception's values (and its
//!   `exnref` for the `_ref` forms), then a rethrow to the enclosing scope's
//!   landing block, or out of the function when there is none
//!   ([`Rethrow`]).
//! - **`throw`**: allocate the exception object (a libcall of the runtime's),
//!   then [`emit_throw`] with the innermost scope, if any: inside a scope that
//!   is a jump to its landing block, outside one a call of the `throw` libcall.
//!   **`throw_ref`**: trap on null (`null exception reference`), then the same.
//!
//! The payload that reaches a landing block is the exception's `exnref` bits
//! (an `i32`, the runtime's reference encoding, never null), carried in a
//! machine word ([`PAYLOAD`]); [`emit_landing`] narrows it.
//!
//! The throw libcalls take the `tail` calling convention ([`import_libcall`]
//! gives it to them): a `try_call` of a `tail` callee treats every register as
//! clobbered on the exceptional edge, which is what lets the unwinder restore
//! nothing but the stack and frame pointers.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, BlockArg, BlockCall, ExceptionTableData, ExceptionTableItem,
    ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData, SigRef, Signature, Type,
    UserExternalName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use kiln_runtime::TrapCode;

use super::LIBCALL_NAMESPACE;
use crate::libcalls::Libcall;
use crate::vmctx;

/// The type of the value a landing block receives: the exception payload
/// register's, a machine word (Cranelift's payload type on x86-64).
pub(crate) const PAYLOAD: Type = types::I64;

/// Imports libcall `call` into the function, with parameters `params` after the
/// context pointer and results `returns`, in the convention compiled code calls
/// it with: `tail` for the throw stubs ([`Libcall::uses_tail_conv`]),
/// `preserve_all` for the epoch check's slow path
/// ([`Libcall::uses_preserve_all_conv`]), else `host_conv`.
pub(crate) fn import_libcall(
    b: &mut FunctionBuilder<'_>,
    call: Libcall,
    host_conv: CallConv,
    pointer: Type,
    params: &[Type],
    returns: &[Type],
) -> FuncRef {
    let conv = if call.uses_tail_conv() {
        CallConv::Tail
    } else if call.uses_preserve_all_conv() {
        CallConv::PreserveAll
    } else {
        host_conv
    };
    let mut sig = Signature::new(conv);
    sig.params.push(AbiParam::new(pointer));
    sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
    sig.returns
        .extend(returns.iter().map(|&t| AbiParam::new(t)));
    let sig = b.import_signature(sig);
    let name = b
        .func
        .declare_imported_user_function(UserExternalName::new(LIBCALL_NAMESPACE, call as u32));
    b.import_function(ExtFuncData {
        name: ExternalName::user(name),
        signature: sig,
        colocated: false,
        patchable: false,
    })
}

/// One `try_table` open in the function being translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TryScope {
    /// Where every exception thrown inside the scope arrives, with one
    /// [`PAYLOAD`] parameter; filled by [`emit_landing`] at the scope's end.
    pub landing: Block,
}

impl TryScope {
    /// A new scope with an empty, cold landing block.
    pub(crate) fn new(b: &mut FunctionBuilder<'_>) -> TryScope {
        let landing = b.create_block();
        b.append_block_param(landing, PAYLOAD);
        b.set_cold_block(landing);
        TryScope { landing }
    }

    /// The exception table of a `try_call` in this scope with signature `sig`:
    /// normal return to `cont` with the call's results, a default handler (the only
    /// one, as the unwinder requires) to the landing block with the payload.
    fn table(
        &self,
        b: &mut FunctionBuilder<'_>,
        sig: SigRef,
        cont: Block,
        num_results: usize,
    ) -> ir::ExceptionTable {
        let pool = &mut b.func.dfg.value_lists;
        let normal = BlockCall::new(
            cont,
            (0..num_results as u32).map(BlockArg::TryCallRet),
            pool,
        );
        let landing = BlockCall::new(self.landing, [BlockArg::TryCallExn(0)], pool);
        b.func.dfg.exception_tables.push(ExceptionTableData::new(
            sig,
            normal,
            [ExceptionTableItem::Default(landing)],
        ))
    }

    /// A block to continue in after a `try_call` of signature `sig`, with one
    /// parameter per result.
    fn continuation(&self, b: &mut FunctionBuilder<'_>, sig: SigRef) -> (Block, usize) {
        let cont = b.create_block();
        let returns: Vec<Type> = b.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|r| r.value_type)
            .collect();
        for &t in &returns {
            b.append_block_param(cont, t);
        }
        (cont, returns.len())
    }
}

/// `try_call callee(args)` in `scope`, continuing in a new block; returns the
/// call's results (that block's parameters).
pub(crate) fn try_call(
    b: &mut FunctionBuilder<'_>,
    scope: TryScope,
    callee: FuncRef,
    args: &[Value],
) -> Vec<Value> {
    let sig = b.func.dfg.ext_funcs[callee].signature;
    let (cont, n) = scope.continuation(b, sig);
    let table = scope.table(b, sig, cont, n);
    b.ins().try_call(callee, args, table);
    b.seal_block(cont);
    b.switch_to_block(cont);
    b.block_params(cont).to_vec()
}

/// `try_call_indirect callee(args)` with signature `sig` in `scope`, continuing in
/// a new block; returns the call's results.
pub(crate) fn try_call_indirect(
    b: &mut FunctionBuilder<'_>,
    scope: TryScope,
    sig: SigRef,
    callee: Value,
    args: &[Value],
) -> Vec<Value> {
    let (cont, n) = scope.continuation(b, sig);
    let table = scope.table(b, sig, cont, n);
    b.ins().try_call_indirect(callee, args, table);
    b.seal_block(cont);
    b.switch_to_block(cont);
    b.block_params(cont).to_vec()
}

/// After a libcall that may fail with an exception, inside `scope`: when it set
/// `VmContext::pending`, `try_call`s `throw_pending` (imported with
/// [`import_libcall`]), which throws the exception into the scope's landing
/// block, or ends the entry with the libcall's trap. Continues in a new block.
pub(crate) fn check_pending_in_scope(
    b: &mut FunctionBuilder<'_>,
    scope: TryScope,
    vmctx: Value,
    throw_pending: FuncRef,
) {
    let pending = b.ins().load(
        types::I32,
        MemFlagsData::trusted(),
        vmctx,
        vmctx::PENDING_OFFSET,
    );
    let cold = b.create_block();
    let cont = b.create_block();
    b.set_cold_block(cold);
    b.ins().brif(pending, cold, &[], cont, &[]);
    b.seal_block(cold);
    b.switch_to_block(cold);
    let sig = b.func.dfg.ext_funcs[throw_pending].signature;
    // `throw_pending` never returns; its normal-return target is never reached.
    let never = b.create_block();
    let table = scope.table(b, sig, never, 0);
    b.ins().try_call(throw_pending, &[vmctx], table);
    b.seal_block(never);
    b.switch_to_block(never);
    b.ins().trap(vmctx::clif_trap(TrapCode::Unreachable));
    b.seal_block(cont);
    b.switch_to_block(cont);
}

/// Throws exception `exn` (an `i32`, non-null `exnref` bits): a jump to the
/// innermost scope's landing block when the throw is inside one, else a call of
/// the `throw` libcall (imported with [`import_libcall`], parameters
/// `[I32]`). Either way the current block ends; the caller marks what follows
/// unreachable.
pub(crate) fn emit_throw(
    b: &mut FunctionBuilder<'_>,
    scope: Option<TryScope>,
    vmctx: Value,
    exn: Value,
    throw: FuncRef,
) {
    match scope {
        Some(scope) => {
            let payload = b.ins().uextend(PAYLOAD, exn);
            b.ins().jump(scope.landing, &[BlockArg::Value(payload)]);
        }
        None => {
            b.ins().call(throw, &[vmctx, exn]);
            // Never reached: `throw` does not return.
            b.ins().trap(vmctx::clif_trap(TrapCode::Unreachable));
        }
    }
}

/// One catch clause of a `try_table`, as [`emit_landing`] tests it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CatchClause {
    /// The tag it catches (its index in the module's tag space), or `None` for
    /// `catch_all` and `catch_all_ref`.
    pub tag: Option<u32>,
    /// Whether the label also receives the `exnref` (`catch_ref`, `catch_all_ref`).
    pub with_ref: bool,
    /// The block a match branches to: the label's target, whose parameters are
    /// the tag's parameter types (none for `catch_all`), then the `exnref` if
    /// `with_ref`.
    pub target: Block,
}

/// What [`emit_landing`] needs to know of the store's exceptions: code that
/// reads an exception, supplied by the translation (`try_table.rs`'s
/// `StoreExceptions`) or by a test.
pub(crate) trait ExceptionEnv {
    /// Emits code giving exception `exn`'s tag as a value comparable for
    /// equality with [`ExceptionEnv::tag_identity`].
    fn exception_tag(&mut self, b: &mut FunctionBuilder<'_>, exn: Value) -> Value;

    /// Emits code giving the identity of tag `tag` of this instance (an imported
    /// tag is the exporter's: tags are compared by identity, not index).
    fn tag_identity(&mut self, b: &mut FunctionBuilder<'_>, tag: u32) -> Value;

    /// Emits code loading the values exception `exn` carries, known to be of tag
    /// `tag`, into `out`, in the tag's parameter order.
    fn exception_values(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        exn: Value,
        tag: u32,
        out: &mut Vec<Value>,
    );

    /// Emits code keeping exception `exn` for good, before a clause hands it
    /// out as an `exnref`.
    fn keep_exception(&mut self, b: &mut FunctionBuilder<'_>, exn: Value);

    /// Emits what the landing block does first, before any clause is tested
    /// (the translation reloads what a call that threw may have changed).
    fn landed(&mut self, _b: &mut FunctionBuilder<'_>) {}
}

/// Where a landing block sends an exception no clause caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rethrow {
    /// To the enclosing scope of the same function: a jump to its landing block.
    Scope(TryScope),
    /// Out of the function: a call of the `throw` libcall with the context.
    Caller {
        /// The function's `VmContext` pointer.
        vmctx: Value,
        /// The `throw` libcall, imported with [`import_libcall`].
        throw: FuncRef,
    },
}

/// Fills `scope`'s landing block: the clauses tested in order, the first match
/// branching to its target, and `rethrow` when none matches. Leaves the builder
/// in the landing block's last block (ended), so the caller switches away.
pub(crate) fn emit_landing(
    b: &mut FunctionBuilder<'_>,
    scope: TryScope,
    clauses: &[CatchClause],
    env: &mut impl ExceptionEnv,
    rethrow: Rethrow,
) {
    b.switch_to_block(scope.landing);
    // Every predecessor is known by now: the scope's calls and throws, and inner
    // scopes' rethrows.
    b.seal_block(scope.landing);
    env.landed(b);
    let payload = b.block_params(scope.landing)[0];
    let exn = b.ins().ireduce(types::I32, payload);
    // Kept before any clause runs if one may hand it out: more often than
    // needed (another clause may catch it), never less.
    if clauses.iter().any(|c| c.with_ref) {
        env.keep_exception(b, exn);
    }
    let tag = clauses
        .iter()
        .any(|c| c.tag.is_some())
        .then(|| env.exception_tag(b, exn));
    let mut args: Vec<Value> = Vec::new();
    for clause in clauses {
        args.clear();
        if let (Some(want), Some(tag)) = (clause.tag, tag) {
            let identity = env.tag_identity(b, want);
            let hit = b.ins().icmp(IntCC::Equal, tag, identity);
            let matched = b.create_block();
            let next = b.create_block();
            b.ins().brif(hit, matched, &[], next, &[]);
            b.seal_block(matched);
            b.seal_block(next);
            b.switch_to_block(matched);
            env.exception_values(b, exn, want, &mut args);
            if clause.with_ref {
                args.push(exn);
            }
            jump(b, clause.target, &args);
            b.switch_to_block(next);
        } else {
            // `catch_all`: everything matches; later clauses are dead.
            if clause.with_ref {
                args.push(exn);
            }
            jump(b, clause.target, &args);
            return;
        }
    }
    match rethrow {
        Rethrow::Scope(outer) => {
            b.ins().jump(outer.landing, &[BlockArg::Value(payload)]);
        }
        Rethrow::Caller { vmctx, throw } => emit_throw(b, None, vmctx, exn, throw),
    }
}

/// Jumps to `target` with `args`.
fn jump(b: &mut FunctionBuilder<'_>, target: Block, args: &[Value]) {
    let args: Vec<BlockArg> = args.iter().map(|&v| BlockArg::Value(v)).collect();
    b.ins().jump(target, &args);
}
