//! Tests of exception unwinding: hand-built Cranelift functions (shapes the
//! translation of WebAssembly may not produce, and a toy exception encoding)
//! made with the helpers of `translate/exceptions.rs`, compiled with Kiln's settings, linked and
//! tabled by the compiler's own path (`compile_functions_for_test`), and run
//! through the real entry (`signals::enter`, the trampolines, the throw stubs
//! and the signal handler); then exceptions from host functions crossing
//! compiled frames and entries through `invoke` and the libcalls.
//!
//! A module of its own rather than `unwind::tests`: it uses the compiler and
//! the entry code, which use `unwind`.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, AbiParam, Block, ExtFuncData, ExternalName, FuncRef, InstBuilder, MemFlagsData,
    Signature, UserExternalName, UserFuncName, Value, types,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use kiln_parser::{FuncType, ValType};
use kiln_runtime::{Store, StoreLimits, Trap, TrapCode, Val};

use crate::compiled_module::CompiledModule;
use crate::compiler::compile_functions_for_test;
use crate::libcalls::Libcall;
use crate::signals::{self, EntryOutcome, Trampoline};
use crate::translate::exceptions::{
    self, CatchClause, ExceptionEnv, Rethrow, TryScope, check_pending_in_scope, emit_landing,
    emit_throw, try_call, try_call_indirect,
};
use crate::translate::{FUNC_NAMESPACE, wasm_signature};
use crate::vmctx::{self, VmContext};

// The test module's functions, by index. Unless noted, each has type
// `[i32] -> [i32]`: Cranelift signature `(vmctx, depth, x) -> i32`.

/// `y = 3x`; `try_call MIDDLE(x)`, returning its result plus `y`; catches
/// anything: `ADD_ONE(exn) + y + 1000 * depth`.
const CATCHER: u32 = 0;
/// `call THROWER(x + 1)`.
const MIDDLE: u32 = 1;
/// Throws `10x` (the `throw` libcall).
const THROWER: u32 = 2;
/// `x + 1`.
const ADD_ONE: u32 = 3;
/// `call MIDDLE(x)`, no handler.
const UNCAUGHT: u32 = 4;
/// `try_call TRAPPER`, catching anything (99).
const TRAP_IN_SCOPE: u32 = 5;
/// Traps (`unreachable`).
const TRAPPER: u32 = 6;
/// Checks the depth as every compiled function does, then `try_call`s itself,
/// catching anything (99): recursion until `call stack exhausted`.
const RECURSE: u32 = 7;
/// `try_call VIA_HOST(x)`, catching anything: `exn + 1000`.
const HOST_CALLER_IN_SCOPE: u32 = 8;
/// Calls [`host`] (a Rust function that enters compiled code again), then
/// checks `pending` as after a libcall outside any scope: `PENDING_TRAP`.
const VIA_HOST: u32 = 9;
/// Calls [`host`] inside a scope and checks `pending` with
/// `check_pending_in_scope`, catching anything: `exn + 2000`.
const HOST_IN_SCOPE: u32 = 10;
/// `try_call RAW_THROWER(x)` with clauses `catch 1` (`v + 100`),
/// `catch_ref 2` (`exn - v`), else rethrown to the caller.
const TAGGED: u32 = 11;
/// Throws `x` itself.
const RAW_THROWER: u32 = 12;
/// An inner scope (`catch 1`: `v + 100`) rethrowing into an outer one of the
/// same function (`catch_all_ref`: `exn + 5000`) around `try_call RAW_THROWER`.
const NESTED_SCOPES: u32 = 13;
/// `try_call`s the `throw` libcall itself with `x`, catching anything:
/// `exn + 3000`.
const SELF_THROW: u32 = 14;
/// `y = 7x`; `try_call MANY_ARGS_THROWER(x, x + 1, ..., x + 11)` (arguments on
/// the stack), catching anything: `ADD_ONE(exn) + y`.
const MANY_ARGS_CATCHER: u32 = 15;
/// Type `[i64; 12] -> [i32]`: throws the sum of its arguments.
const MANY_ARGS_THROWER: u32 = 16;
/// Catches `x` throws in a loop (`RAW_THROWER(i)` for `i` below `x`) and
/// returns the sum of the exceptions.
const LOOP_CATCH: u32 = 17;
/// `try_call_indirect MIDDLE(x)` through its address, catching anything:
/// `exn + 4000`.
const INDIRECT: u32 = 18;
/// The last test function.
const LAST: u32 = INDIRECT;

/// Builds test function `index`.
fn build_function(index: u32, ty: &FuncType) -> ir::Function {
    let sig = wasm_signature(ty, CallConv::Tail, types::I64).expect("supported type");
    let mut func =
        ir::Function::with_name_signature(UserFuncName::user(FUNC_NAMESPACE, index), sig);
    let mut ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let params = b.block_params(entry).to_vec();
    let f = Body {
        vmctx: params[0],
        depth: params[1],
        args: params[2..].to_vec(),
    };
    f.body(&mut b, index);
    b.seal_all_blocks();
    b.finalize(isa_frontend());
    func
}

/// The frontend configuration of the host (x86-64 System V).
fn isa_frontend() -> cranelift_codegen::isa::TargetFrontendConfig {
    cranelift_codegen::isa::TargetFrontendConfig {
        default_call_conv: CallConv::SystemV,
        pointer_width: target_lexicon::PointerWidth::U64,
        page_size_align_log2: 12,
    }
}

/// The values a test function starts with.
struct Body {
    vmctx: Value,
    depth: Value,
    args: Vec<Value>,
}

impl Body {
    fn x(&self) -> Value {
        self.args[0]
    }

    /// The body of test function `index` (see the constants).
    fn body(&self, b: &mut FunctionBuilder<'_>, index: u32) {
        let (vmctx, x) = (self.vmctx, self.args[0]);
        let d1 = b.ins().iadd_imm_s(self.depth, 1);
        match index {
            CATCHER => {
                let y = b.ins().imul_imm_s(x, 3);
                let scope = TryScope::new(b);
                let middle = callee(b, MIDDLE, &i32_to_i32());
                let r = try_call(b, scope, middle, &[vmctx, d1, x])[0];
                let sum = b.ins().iadd(r, y);
                b.ins().return_(&[sum]);
                let caught = block_with(b, &[types::I32]);
                self.landing(b, scope, &[catch_all_ref(caught)]);
                b.switch_to_block(caught);
                let exn = b.block_params(caught)[0];
                let add_one = callee(b, ADD_ONE, &i32_to_i32());
                let call = b.ins().call(add_one, &[vmctx, d1, exn]);
                let z = b.func.dfg.inst_results(call)[0];
                let d = b.ins().imul_imm_s(self.depth, 1000);
                let t = b.ins().iadd(z, y);
                let t = b.ins().iadd(t, d);
                b.ins().return_(&[t]);
            }
            MIDDLE | UNCAUGHT => {
                let arg = if index == MIDDLE {
                    b.ins().iadd_imm_s(x, 1)
                } else {
                    x
                };
                let target = if index == MIDDLE { THROWER } else { MIDDLE };
                let f = callee(b, target, &i32_to_i32());
                let call = b.ins().call(f, &[vmctx, d1, arg]);
                let r = b.func.dfg.inst_results(call)[0];
                b.ins().return_(&[r]);
            }
            THROWER | RAW_THROWER => {
                let exn = if index == THROWER {
                    b.ins().imul_imm_s(x, 10)
                } else {
                    x
                };
                let throw = throw_libcall(b);
                emit_throw(b, None, vmctx, exn, throw);
            }
            ADD_ONE => {
                let r = b.ins().iadd_imm_s(x, 1);
                b.ins().return_(&[r]);
            }
            TRAP_IN_SCOPE => self.catch_all_around(b, TRAPPER, d1),
            TRAPPER => {
                b.ins().trap(vmctx::clif_trap(TrapCode::Unreachable));
            }
            RECURSE => {
                let max = b.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    vmctx,
                    vmctx::MAX_DEPTH_OFFSET,
                );
                let too_deep = b
                    .ins()
                    .icmp(IntCC::UnsignedGreaterThanOrEqual, self.depth, max);
                b.ins()
                    .trapnz(too_deep, vmctx::clif_trap(TrapCode::CallStackExhausted));
                self.catch_all_around(b, RECURSE, d1);
            }
            HOST_CALLER_IN_SCOPE => {
                let scope = TryScope::new(b);
                let f = callee(b, VIA_HOST, &i32_to_i32());
                let r = try_call(b, scope, f, &[vmctx, d1, x])[0];
                b.ins().return_(&[r]);
                self.catch_returning_exn_plus(b, scope, 1000);
            }
            VIA_HOST => {
                let r = call_host(b, vmctx, x);
                let pending = b.ins().load(
                    types::I32,
                    MemFlagsData::trusted(),
                    vmctx,
                    vmctx::PENDING_OFFSET,
                );
                b.ins().trapnz(pending, vmctx::PENDING_TRAP);
                b.ins().return_(&[r]);
            }
            HOST_IN_SCOPE => {
                let scope = TryScope::new(b);
                let r = call_host(b, vmctx, x);
                let throw_pending = exceptions::import_libcall(
                    b,
                    Libcall::ThrowPending,
                    CallConv::SystemV,
                    types::I64,
                    &[],
                    &[],
                );
                check_pending_in_scope(b, scope, vmctx, throw_pending);
                b.ins().return_(&[r]);
                self.catch_returning_exn_plus(b, scope, 2000);
            }
            TAGGED => self.tagged(b, d1),
            NESTED_SCOPES => self.nested_scopes(b, d1),
            SELF_THROW => {
                let scope = TryScope::new(b);
                let throw = throw_libcall(b);
                try_call(b, scope, throw, &[vmctx, x]);
                b.ins().trap(vmctx::clif_trap(TrapCode::Unreachable));
                self.catch_returning_exn_plus(b, scope, 3000);
            }
            MANY_ARGS_CATCHER => self.many_args_catcher(b, d1),
            MANY_ARGS_THROWER => {
                let mut sum = self.args[0];
                for &a in &self.args[1..] {
                    sum = b.ins().iadd(sum, a);
                }
                let exn = b.ins().ireduce(types::I32, sum);
                let throw = throw_libcall(b);
                emit_throw(b, None, vmctx, exn, throw);
            }
            LOOP_CATCH => self.loop_catch(b, d1),
            INDIRECT => {
                let scope = TryScope::new(b);
                let middle = callee(b, MIDDLE, &i32_to_i32());
                let address = b.ins().func_addr(types::I64, middle);
                let sig = b.func.dfg.ext_funcs[middle].signature;
                let r = try_call_indirect(b, scope, sig, address, &[vmctx, d1, x])[0];
                b.ins().return_(&[r]);
                self.catch_returning_exn_plus(b, scope, 4000);
            }
            _ => unreachable!("no test function {index}"),
        }
    }

    /// Fills `scope`'s landing block with `clauses` (tags as [`ToyExceptions`]
    /// encodes them), rethrowing to the caller.
    fn landing(&self, b: &mut FunctionBuilder<'_>, scope: TryScope, clauses: &[CatchClause]) {
        let throw = throw_libcall(b);
        let rethrow = Rethrow::Caller {
            vmctx: self.vmctx,
            throw,
        };
        emit_landing(b, scope, clauses, &mut ToyExceptions, rethrow);
    }

    /// `try_call target(x)` returning its result, catching anything: 99.
    fn catch_all_around(&self, b: &mut FunctionBuilder<'_>, target: u32, d1: Value) {
        let scope = TryScope::new(b);
        let f = callee(b, target, &i32_to_i32());
        let r = try_call(b, scope, f, &[self.vmctx, d1, self.x()])[0];
        b.ins().return_(&[r]);
        let caught = b.create_block();
        self.landing(
            b,
            scope,
            &[CatchClause {
                tag: None,
                with_ref: false,
                target: caught,
            }],
        );
        b.switch_to_block(caught);
        let v = b.ins().iconst(types::I32, 99);
        b.ins().return_(&[v]);
    }

    /// Fills `scope`'s landing block with a `catch_all_ref` returning `exn + k`.
    fn catch_returning_exn_plus(&self, b: &mut FunctionBuilder<'_>, scope: TryScope, k: i64) {
        let caught = block_with(b, &[types::I32]);
        self.landing(b, scope, &[catch_all_ref(caught)]);
        b.switch_to_block(caught);
        let exn = b.block_params(caught)[0];
        let r = b.ins().iadd_imm_s(exn, k);
        b.ins().return_(&[r]);
    }

    fn tagged(&self, b: &mut FunctionBuilder<'_>, d1: Value) {
        let scope = TryScope::new(b);
        let f = callee(b, RAW_THROWER, &i32_to_i32());
        let r = try_call(b, scope, f, &[self.vmctx, d1, self.x()])[0];
        b.ins().return_(&[r]);
        let one = block_with(b, &[types::I32]);
        let two = block_with(b, &[types::I32, types::I32]);
        let clauses = [
            CatchClause {
                tag: Some(1),
                with_ref: false,
                target: one,
            },
            CatchClause {
                tag: Some(2),
                with_ref: true,
                target: two,
            },
        ];
        self.landing(b, scope, &clauses);
        b.switch_to_block(one);
        let v = b.block_params(one)[0];
        let r = b.ins().iadd_imm_s(v, 100);
        b.ins().return_(&[r]);
        b.switch_to_block(two);
        let (v, exn) = (b.block_params(two)[0], b.block_params(two)[1]);
        let r = b.ins().isub(exn, v);
        b.ins().return_(&[r]);
    }

    fn nested_scopes(&self, b: &mut FunctionBuilder<'_>, d1: Value) {
        let outer = TryScope::new(b);
        let inner = TryScope::new(b);
        let f = callee(b, RAW_THROWER, &i32_to_i32());
        let r = try_call(b, inner, f, &[self.vmctx, d1, self.x()])[0];
        b.ins().return_(&[r]);
        let one = block_with(b, &[types::I32]);
        let clause = CatchClause {
            tag: Some(1),
            with_ref: false,
            target: one,
        };
        emit_landing(
            b,
            inner,
            &[clause],
            &mut ToyExceptions,
            Rethrow::Scope(outer),
        );
        b.switch_to_block(one);
        let v = b.block_params(one)[0];
        let r = b.ins().iadd_imm_s(v, 100);
        b.ins().return_(&[r]);
        self.catch_returning_exn_plus(b, outer, 5000);
    }

    fn many_args_catcher(&self, b: &mut FunctionBuilder<'_>, d1: Value) {
        let x = self.x();
        let y = b.ins().imul_imm_s(x, 7);
        let wide = b.ins().sextend(types::I64, x);
        let mut args = vec![self.vmctx, d1];
        for i in 0..12 {
            args.push(b.ins().iadd_imm_s(wide, i));
        }
        let scope = TryScope::new(b);
        let f = callee(b, MANY_ARGS_THROWER, &many_args_type());
        let r = try_call(b, scope, f, &args)[0];
        b.ins().return_(&[r]);
        let caught = block_with(b, &[types::I32]);
        self.landing(b, scope, &[catch_all_ref(caught)]);
        b.switch_to_block(caught);
        let exn = b.block_params(caught)[0];
        let add_one = callee(b, ADD_ONE, &i32_to_i32());
        let call = b.ins().call(add_one, &[self.vmctx, d1, exn]);
        let z = b.func.dfg.inst_results(call)[0];
        let t = b.ins().iadd(z, y);
        b.ins().return_(&[t]);
    }

    fn loop_catch(&self, b: &mut FunctionBuilder<'_>, d1: Value) {
        let header = block_with(b, &[types::I32, types::I32]);
        let body = b.create_block();
        let exit = block_with(b, &[types::I32]);
        let zero = b.ins().iconst(types::I32, 0);
        jump(b, header, &[zero, zero]);
        b.switch_to_block(header);
        let (i, sum) = (b.block_params(header)[0], b.block_params(header)[1]);
        let done = b.ins().icmp(IntCC::Equal, i, self.x());
        b.ins()
            .brif(done, exit, &[ir::BlockArg::Value(sum)], body, &[]);
        b.switch_to_block(body);
        let scope = TryScope::new(b);
        let f = callee(b, RAW_THROWER, &i32_to_i32());
        let r = try_call(b, scope, f, &[self.vmctx, d1, i])[0];
        let next = b.ins().iadd_imm_s(i, 1);
        let s = b.ins().iadd(sum, r);
        jump(b, header, &[next, s]);
        let caught = block_with(b, &[types::I32]);
        self.landing(b, scope, &[catch_all_ref(caught)]);
        b.switch_to_block(caught);
        let exn = b.block_params(caught)[0];
        let next = b.ins().iadd_imm_s(i, 1);
        let s = b.ins().iadd(sum, exn);
        jump(b, header, &[next, s]);
        b.switch_to_block(exit);
        let r = b.block_params(exit)[0];
        b.ins().return_(&[r]);
    }
}

/// A toy exception representation for the tag tests: an exception's bits are
/// its tag in the high 16 bits and its one value in the low 16.
struct ToyExceptions;

impl ExceptionEnv for ToyExceptions {
    fn exception_tag(&mut self, b: &mut FunctionBuilder<'_>, exn: Value) -> Value {
        b.ins().ushr_imm_u(exn, 16)
    }

    fn tag_identity(&mut self, b: &mut FunctionBuilder<'_>, tag: u32) -> Value {
        b.ins().iconst(types::I32, i64::from(tag))
    }

    fn exception_values(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        exn: Value,
        _tag: u32,
        out: &mut Vec<Value>,
    ) {
        out.push(b.ins().band_imm_u(exn, 0xffff));
    }

    // The toy exceptions are values, kept by nothing.
    fn keep_exception(&mut self, _: &mut FunctionBuilder<'_>, _: Value) {}
}

fn i32_to_i32() -> FuncType {
    FuncType {
        params: [ValType::I32].into(),
        results: [ValType::I32].into(),
    }
}

fn many_args_type() -> FuncType {
    FuncType {
        params: [ValType::I64; 12].into(),
        results: [ValType::I32].into(),
    }
}

/// The type of test function `index`.
fn type_of(index: u32) -> FuncType {
    if index == MANY_ARGS_THROWER {
        many_args_type()
    } else {
        i32_to_i32()
    }
}

/// Imports test function `index` (of type `ty`) as a direct callee.
fn callee(b: &mut FunctionBuilder<'_>, index: u32, ty: &FuncType) -> FuncRef {
    let sig = wasm_signature(ty, CallConv::Tail, types::I64).expect("supported type");
    let sig = b.import_signature(sig);
    let name = b
        .func
        .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, index));
    b.import_function(ExtFuncData {
        name: ExternalName::user(name),
        signature: sig,
        colocated: true,
        patchable: false,
    })
}

/// Imports the `throw` libcall.
fn throw_libcall(b: &mut FunctionBuilder<'_>) -> FuncRef {
    exceptions::import_libcall(
        b,
        Libcall::Throw,
        CallConv::SystemV,
        types::I64,
        &[types::I32],
        &[],
    )
}

/// Calls [`host`]`(vmctx, x)` through its address (a plain `system_v` call).
fn call_host(b: &mut FunctionBuilder<'_>, vmctx: Value, x: Value) -> Value {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I32));
    sig.returns.push(AbiParam::new(types::I32));
    let sig = b.import_signature(sig);
    let address = b
        .ins()
        .iconst(types::I64, host as *const () as usize as i64);
    let call = b.ins().call_indirect(sig, address, &[vmctx, x]);
    b.func.dfg.inst_results(call)[0]
}

fn block_with(b: &mut FunctionBuilder<'_>, params: &[ir::Type]) -> Block {
    let block = b.create_block();
    for &t in params {
        b.append_block_param(block, t);
    }
    block
}

fn catch_all_ref(target: Block) -> CatchClause {
    CatchClause {
        tag: None,
        with_ref: true,
        target,
    }
}

fn jump(b: &mut FunctionBuilder<'_>, target: Block, args: &[Value]) {
    let args: Vec<ir::BlockArg> = args.iter().map(|&v| ir::BlockArg::Value(v)).collect();
    b.ins().jump(target, &args);
}

/// Compiles every test function into one module.
fn module() -> CompiledModule {
    let types: Vec<FuncType> = (0..=LAST).map(type_of).collect();
    let funcs = (0..=LAST)
        .map(|i| build_function(i, &types[i as usize]))
        .collect();
    compile_functions_for_test(funcs, &types).expect("the test functions compile")
}

/// A context for running test code: no memories, tables or globals; the entry's
/// depth is `depth`.
fn context(code: &CompiledModule, depth: u32) -> VmContext {
    VmContext {
        memories: std::ptr::null(),
        globals: std::ptr::null(),
        func_addrs: std::ptr::null(),
        tables: std::ptr::null(),
        sigs: std::ptr::null(),
        tags: std::ptr::null(),
        func_entries: std::ptr::null(),
        num_func_entries: 0,
        instance: 0,
        stack_limit: AtomicUsize::new(signals::stack_limit(code.max_frame_size())),
        fuel: 0,
        epoch_poll: std::ptr::null(),
        depth,
        max_depth: 1000,
        pending: 0,
        activation: std::ptr::null_mut(),
    }
}

/// How a run ended, its `i32` result, and the context's `pending` afterwards.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    outcome: EntryOutcome,
    result: i32,
    pending: u32,
}

/// Runs function `index` of `code` (of type `[i32] -> [i32]`) on `x`, as an entry
/// at depth `depth`.
fn run(code: &CompiledModule, index: u32, x: i32, depth: u32) -> Run {
    let mut vm = context(code, depth);
    let mut values = [u128::from(x as u32)];
    let (body, trampoline) = code.entry(index);
    // SAFETY: `trampoline` is the array-call trampoline compiled for the function's
    // type, with the `Trampoline` signature.
    let trampoline: Trampoline = unsafe { std::mem::transmute(trampoline) };
    let mut state = code.entry_state();
    // SAFETY: `vm` is a context the test functions can run with (they read only
    // `depth`, `max_depth`, `stack_limit` and `pending`); `values` has the one slot
    // the type needs; `code` outlives the call.
    let outcome =
        unsafe { signals::enter(&mut state, trampoline, &mut vm, body, values.as_mut_ptr()) };
    Run {
        outcome,
        result: values[0] as u32 as i32,
        pending: vm.pending,
    }
}

fn returned(result: i32) -> Run {
    Run {
        outcome: EntryOutcome::Returned,
        result,
        pending: 0,
    }
}

/// What [`host`] does after its own entry into compiled code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostMode {
    /// Returns 77.
    Swallow,
    /// Passes the inner entry's exception on to its caller (as `call_func` does
    /// with an error carrying an exception).
    Rethrow,
    /// Fails with a trap (as a libcall whose callee trapped).
    Trap,
}

thread_local! {
    /// The module [`host`] enters, and what it does afterwards.
    static HOST: Cell<(*const CompiledModule, HostMode)> =
        const { Cell::new((std::ptr::null(), HostMode::Swallow)) };
    /// How [`host`]'s own entry ended.
    static INNER: Cell<Option<EntryOutcome>> = const { Cell::new(None) };
}

/// A host function called from compiled code: enters `UNCAUGHT(x)` of the module
/// again (which throws `10(x + 1)` and has no handler), records how that ended,
/// then acts as [`HOST`] says.
extern "C" fn host(vmctx: *mut VmContext, x: i32) -> i32 {
    let (code, mode) = HOST.with(Cell::get);
    // SAFETY: the test keeps the module alive while its code runs.
    let code = unsafe { &*code };
    let inner = run(code, UNCAUGHT, x, 0);
    INNER.with(|c| c.set(Some(inner.outcome)));
    match mode {
        HostMode::Swallow => 77,
        HostMode::Rethrow => {
            if let EntryOutcome::Threw(exn) = inner.outcome {
                signals::throw_after_libcall(exn);
            }
            // SAFETY: the calling entry's live context.
            unsafe { (*vmctx).pending = 1 };
            0
        }
        HostMode::Trap => {
            // SAFETY: as above.
            unsafe { (*vmctx).pending = 1 };
            0
        }
    }
}

/// Runs `index` on `x` with [`host`] in `mode`; returns the run and how the host's
/// own entry ended.
fn run_with_host(code: &CompiledModule, mode: HostMode, index: u32, x: i32) -> (Run, EntryOutcome) {
    HOST.with(|c| c.set((code, mode)));
    INNER.with(|c| c.set(None));
    let run = run(code, index, x, 0);
    let inner = INNER.with(Cell::get).expect("the host function ran");
    (run, inner)
}

#[test]
fn a_throw_two_frames_deep_lands_in_the_outer_handler() {
    let code = module();
    // One handler site per `try_call` of the test functions; plain calls have none.
    assert_eq!(code.call_sites().len(), 11);
    // THROWER throws 10 * 8; CATCHER adds one to it, then y = 21 and 1000 * depth.
    assert_eq!(run(&code, CATCHER, 7, 5), returned(81 + 21 + 5000));
    // Again, from the same thread: nothing of the first throw is left behind.
    assert_eq!(run(&code, CATCHER, 1, 0), returned(21 + 3));
}

#[test]
fn an_indirect_try_call_has_a_handler_too() {
    let code = module();
    assert_eq!(run(&code, INDIRECT, 1, 0), returned(4020));
}

#[test]
fn an_uncaught_throw_ends_the_entry_with_the_exception() {
    let code = module();
    let run = run(&code, UNCAUGHT, 4, 0);
    assert_eq!(run.outcome, EntryOutcome::Threw(50));
}

#[test]
fn traps_inside_a_try_call_are_not_caught() {
    let code = module();
    let r = run(&code, TRAP_IN_SCOPE, 0, 0);
    assert_eq!(
        r.outcome,
        EntryOutcome::Trapped(Some(vmctx::clif_trap(TrapCode::Unreachable)))
    );
    // A thousand frames, each in a `try_call`, and then `call stack exhausted`.
    let r = run(&code, RECURSE, 0, 0);
    assert_eq!(
        r.outcome,
        EntryOutcome::Trapped(Some(vmctx::clif_trap(TrapCode::CallStackExhausted)))
    );
}

#[test]
fn a_nested_entry_unwinds_only_to_itself() {
    let code = module();
    // The inner entry's exception ends the inner entry; the outer handler is not run.
    let (r, inner) = run_with_host(&code, HostMode::Swallow, HOST_CALLER_IN_SCOPE, 2);
    assert_eq!(inner, EntryOutcome::Threw(30));
    assert_eq!(r, returned(77));
}

#[test]
fn an_exception_a_libcall_leaves_is_thrown_on_from_its_caller() {
    let code = module();
    // Outside a scope: `PENDING_TRAP`, then the signal handler unwinds to the caller's
    // handler, and `pending` is clear again.
    let (r, inner) = run_with_host(&code, HostMode::Rethrow, HOST_CALLER_IN_SCOPE, 2);
    assert_eq!(inner, EntryOutcome::Threw(30));
    assert_eq!(r, returned(1030));
    // Inside a scope: `throw_pending` lands in the function's own handler.
    let (r, _) = run_with_host(&code, HostMode::Rethrow, HOST_IN_SCOPE, 3);
    assert_eq!(r, returned(2040));
    // With no handler at all, the outer entry ends with it.
    let (r, _) = run_with_host(&code, HostMode::Rethrow, VIA_HOST, 4);
    assert_eq!(r.outcome, EntryOutcome::Threw(50));
}

#[test]
fn a_trap_a_libcall_leaves_is_not_caught() {
    let code = module();
    let pending = EntryOutcome::Trapped(Some(vmctx::PENDING_TRAP));
    let (r, _) = run_with_host(&code, HostMode::Trap, HOST_CALLER_IN_SCOPE, 2);
    assert_eq!(r.outcome, pending);
    let (r, _) = run_with_host(&code, HostMode::Trap, HOST_IN_SCOPE, 2);
    assert_eq!(r.outcome, pending);
}

#[test]
fn landing_blocks_match_tags_in_order_and_rethrow_the_rest() {
    let code = module();
    assert_eq!(run(&code, TAGGED, 0x1_0005, 0), returned(105));
    assert_eq!(run(&code, TAGGED, 0x2_0007, 0), returned(0x2_0000));
    assert_eq!(
        run(&code, TAGGED, 0x3_0001, 0).outcome,
        EntryOutcome::Threw(0x3_0001)
    );
    // An inner scope rethrows what it does not catch to the outer one.
    assert_eq!(run(&code, NESTED_SCOPES, 0x1_0005, 0), returned(105));
    assert_eq!(
        run(&code, NESTED_SCOPES, 0x3_0001, 0),
        returned(0x3_0001 + 5000)
    );
}

#[test]
fn a_handler_in_the_throwing_frame_is_found() {
    let code = module();
    assert_eq!(run(&code, SELF_THROW, 9, 0), returned(3009));
}

#[test]
fn a_handler_gets_its_frame_back_after_stack_arguments() {
    let code = module();
    // The thrower's arguments x..x+11 sum to 12x + 66; the handler adds one and 7x.
    assert_eq!(
        run(&code, MANY_ARGS_CATCHER, 2, 0),
        returned(24 + 66 + 1 + 14)
    );
}

#[test]
fn many_throws_in_one_entry_keep_the_stack_balanced() {
    let code = module();
    assert_eq!(run(&code, LOOP_CATCH, 1000, 0), returned(999 * 1000 / 2));
}

/// A store with a host function `throw(i32)` that throws `exnref` `x + 1`.
fn store_with_throwing_host() -> (Store, kiln_runtime::FuncAddr) {
    let mut store = Store::new(StoreLimits::default());
    let ty = FuncType {
        params: [ValType::I32].into(),
        results: [].into(),
    };
    let throw = store.add_host_func(
        &ty,
        Arc::new(|_caller, args: &[Val], _results: &mut [Val]| match args {
            [Val::I32(x)] => Err(Trap::from_thrown(*x as u32 + 1)),
            _ => Err(Trap::host("bad arguments")),
        }),
    );
    (store, throw)
}

/// Compiles `wat` with the JIT and instantiates it with `imports`.
fn instantiate(
    store: &mut Store,
    wat: &str,
    imports: &[kiln_runtime::Extern],
) -> kiln_runtime::InstanceAddr {
    let bytes = wat::parse_str(wat).expect("test module should be well-formed text");
    let module = kiln_parser::parse(&bytes, kiln_parser::Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, kiln_parser::Features::ALL).expect("valid");
    let module = Arc::new(module);
    let options = crate::CompileOptions {
        fuel: false,
        epoch_interruption: false,
        canonicalize_nans: false,
        memory_guard: true,
    };
    let code = CompiledModule::new(Arc::clone(&module), Arc::new(info), options).expect("compile");
    let (instance, _) =
        kiln_runtime::instantiate::instantiate(store, &module, imports, Arc::new(code))
            .expect("instantiate");
    instance
}

/// Export `name` of `instance`, a function.
fn export(
    store: &Store,
    instance: kiln_runtime::InstanceAddr,
    name: &str,
) -> kiln_runtime::FuncAddr {
    match store.instances[instance.index()].exports.get(name) {
        Some(kiln_runtime::Extern::Func(f)) => *f,
        _ => panic!("no function export {name}"),
    }
}

#[test]
fn a_host_exception_leaves_every_entry_as_an_error() {
    let (mut store, throw) = store_with_throwing_host();
    // Host -> B -> host throws.
    let b = instantiate(
        &mut store,
        r#"(module
             (import "env" "throw" (func $t (param i32)))
             (func (export "inner") (param i32) (call $t (local.get 0))))"#,
        &[kiln_runtime::Extern::Func(throw)],
    );
    let inner = export(&store, b, "inner");
    // Host -> A -> B (another instance: a new entry) -> host throws.
    let a = instantiate(
        &mut store,
        r#"(module
             (import "b" "inner" (func $i (param i32)))
             (func (export "outer") (param i32)
               (call $i (i32.add (local.get 0) (i32.const 1))))
             (func (export "ok") (result i32) (i32.const 7)))"#,
        &[kiln_runtime::Extern::Func(inner)],
    );
    let err = crate::invoke(&mut store, &mut (), inner, &[Val::I32(41)], &mut [])
        .expect_err("the exception escapes");
    assert_eq!(err.thrown(), Some(42));
    assert_eq!(err.code(), None);
    let outer = export(&store, a, "outer");
    let err = crate::invoke(&mut store, &mut (), outer, &[Val::I32(41)], &mut [])
        .expect_err("the exception escapes both entries");
    assert_eq!(err.thrown(), Some(43));
    assert_eq!(err.to_string(), "uncaught exception");
    assert_eq!(store.depth, 0);
    // The store and the thread's entries are usable again.
    let mut result = [Val::I32(0)];
    let ok = export(&store, a, "ok");
    crate::invoke(&mut store, &mut (), ok, &[], &mut result).expect("a normal call");
    assert_eq!(result, [Val::I32(7)]);
}
