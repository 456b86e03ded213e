//! Translation of one validated function into Cranelift IR.
//!
//! The translator walks the function's `Instr` sequence once, keeping the
//! WebAssembly operand stack as a stack of Cranelift SSA [`Value`]s and the
//! control stack as [`ControlFrame`]s (`control.rs`). Locals are Cranelift
//! `Variable`s declared in index order (parameters first), so `local.get n`
//! is one `use_var(n)` and `cranelift-frontend` builds the SSA form.
//!
//! # Conventions of the generated code
//! - Every function's first parameter is the `VmContext` pointer
//!   ([`crate::vmctx`]); the WebAssembly parameters follow and the results are
//!   the Cranelift results (more than fit in registers go through a hidden
//!   return area: `enable_multi_ret_implicit_sret`). WebAssembly functions use
//!   Cranelift's `tail` calling convention, so `return_call` is a real tail call.
//! - Traps are Cranelift traps (`trap`, `trapnz`, and loads and stores of
//!   guarded memories, which fault): the signal handler ([`crate::signals`])
//!   leaves the compiled frames at once. A libcall that fails sets
//!   `VmContext::pending`; the code checks it after such a call and raises
//!   `PENDING_TRAP`.
//! - The call depth travels as the second parameter: the WebAssembly frames
//!   active before the function (the interpreter's `Store::depth` at its
//!   entry). On entry a function checks it and the stack pointer against the
//!   `VmContext`'s limits and traps with `call stack exhausted`; its callees
//!   get one more, and a tail call passes the function's own depth on (the
//!   callee replaces its frame). Nothing is stored, so nothing needs undoing
//!   on return or trap.
//! - With fuel on, the first costly instruction of each metered run (see
//!   `kiln_runtime::fuel`) is preceded by a charge of the run's whole cost
//!   against `VmContext::fuel`, trapping with `out of fuel` (and charging
//!   nothing) when less is left: the interpreter's `Fuel` op, at the same place.
//! - With epoch interruption on, the stack-limit check at the entry of a
//!   function that calls anything reads `VmContext::stack_limit` with an
//!   atomic load (another thread pokes it when the epoch reaches the store's
//!   deadline) and, when the stack pointer is below it, calls the
//!   `epoch_reached` libcall from a cold block, which tells a poke from a real
//!   overflow; every loop header reads a byte of the store's poll page, which
//!   faults once poked (`vmctx::EPOCH_POLL`): the interpreter's `Epoch` op,
//!   at the same places and, like it, before the run's fuel charge.
//! - Reference values (`funcref`, `externref`, `exnref`, typed references) are
//!   `i32`s holding the runtime's `RawRef` encoding (0 is null, otherwise the
//!   store address plus one).
//! - Inside a `try_table`, calls that may throw are `try_call`s to the scope's
//!   landing block (`try_table.rs`); elsewhere they are plain calls.
//!
//! # Unreachable code
//! After `br`, `br_table`, `return`, `unreachable`, `throw` and `throw_ref`
//! the rest of the enclosing block is dead. The translator then emits nothing
//! and only counts nested `block`/`loop`/`if`/`try_table`s (`dead_depth`) to
//! find the `else` or `end` that makes code reachable again.
//!
//! The family files are `impl` blocks on [`FuncState`]: `control.rs`
//! (blocks, branches, calls), `typed_refs.rs` (`call_ref`, `return_call_ref`,
//! `ref.as_non_null`, `br_on_null`, `br_on_non_null`), `try_table.rs`
//! (`try_table`, `throw`, `throw_ref`), `numeric.rs` (scalar `NumOp`s),
//! `memory.rs` (loads, stores, memory and table management through the `bulk`
//! libcall), `simd/` (every instruction on `v128` values, by family), and
//! `metering.rs` (fuel charges and epoch checks). `exceptions.rs` holds what `try_table`, `throw` and `throw_ref` emit
//! (functions on the bare builder, which `try_table.rs` and the unwinder's
//! tests call).

mod control;
pub(crate) mod exceptions;
mod memory;
mod metering;
mod numeric;
mod simd;
mod try_table;
mod typed_refs;

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, AbiParam, AliasRegion, AliasRegionData, ExtFuncData, ExternalName, FuncRef, InstBuilder,
    MemFlagsData, Signature, StackSlotData, StackSlotKind, Type, UserExternalName, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_parser::{FuncType, ImportKind, IndexType, Instr, Module, TypeIdx, ValType};
use kiln_runtime::TrapCode;
use kiln_validator::{FuncInfo, ModuleInfo};

use crate::libcalls::Libcall;
use crate::vmctx;
use crate::{CompileError, CompileOptions};

use control::ControlFrame;

/// Namespace of [`UserExternalName`]s naming the module's own functions (index:
/// the defined function's index, imports not counted).
pub(crate) const FUNC_NAMESPACE: u32 = 0;
/// Namespace of [`UserExternalName`]s naming Kiln's libcalls (index: a
/// [`crate::libcalls::Libcall`]).
pub(crate) const LIBCALL_NAMESPACE: u32 = 1;

/// Bytes per slot of the buffers arguments and results pass through to libcalls
/// (and trampolines): one `Val::to_bits` each.
pub(crate) const SLOT_SIZE: i32 = 16;

/// The Cranelift type of a value type: `v128` is always `I8X16` where values
/// meet (see `simd/mod.rs`).
///
/// # Errors
///
/// None today; kept fallible for value types the JIT may not support.
pub(crate) fn clif_type(t: ValType) -> Result<Type, CompileError> {
    Ok(match t {
        ValType::I32 | ValType::Ref(_) => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
    })
}

/// The Cranelift signature of a WebAssembly function type: the `VmContext`
/// pointer, the call depth (WebAssembly frames active before this one), then the
/// parameters; the results.
pub(crate) fn wasm_signature(
    ty: &FuncType,
    call_conv: CallConv,
    pointer: Type,
) -> Result<Signature, CompileError> {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(pointer));
    sig.params.push(AbiParam::new(types::I32));
    for &p in ty.params.iter() {
        sig.params.push(AbiParam::new(clif_type(p)?));
    }
    for &r in ty.results.iter() {
        sig.returns.push(AbiParam::new(clif_type(r)?));
    }
    Ok(sig)
}

/// A memory of the module, as the code for its accesses needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemoryInfo {
    /// 64-bit addresses.
    pub is64: bool,
    /// Accesses need no bounds check: the memory's guard region faults instead.
    pub guarded: bool,
}

/// What translating a function needs to know about its module.
pub(crate) struct ModuleEnv<'m> {
    /// The module's IR.
    pub module: &'m Module,
    /// The validator's facts, one per defined function.
    pub info: &'m ModuleInfo,
    /// Calling convention of every compiled WebAssembly function.
    pub call_conv: CallConv,
    /// Calling convention of libcalls (the host's C convention).
    pub host_conv: CallConv,
    /// What `FunctionBuilder::finalize` needs of the target.
    pub frontend: TargetFrontendConfig,
    /// How the module is compiled.
    pub options: CompileOptions,
    /// Type of every function of the index space (imports first).
    pub func_types: Vec<TypeIdx>,
    /// Content type of every global of the index space.
    pub global_types: Vec<ValType>,
    /// Every memory of the index space.
    pub memories: Vec<MemoryInfo>,
    /// Every table of the index space.
    pub tables: Vec<TableInfo>,
}

/// What the translator knows of a table.
#[derive(Debug, Clone, Copy)]
pub struct TableInfo {
    /// Whether its indices are 64-bit.
    pub is64: bool,
    /// Its size, when its type fixes it (maximum equal to minimum): such a table
    /// never grows, so its length is a constant and its elements never move.
    /// (An imported table matches a type only if its size lies between the type's
    /// limits, so the same holds for imports.)
    pub fixed_len: Option<u64>,
}

impl<'m> ModuleEnv<'m> {
    /// The environment of `module`'s functions.
    pub(crate) fn new(
        module: &'m Module,
        info: &'m ModuleInfo,
        options: CompileOptions,
        frontend: TargetFrontendConfig,
    ) -> ModuleEnv<'m> {
        let mut func_types = Vec::with_capacity(module.num_funcs());
        let mut global_types = Vec::with_capacity(module.num_globals());
        let mut mem_types = Vec::with_capacity(module.num_memories());
        let mut table_types = Vec::with_capacity(module.num_tables());
        for import in &module.imports {
            match import.kind {
                ImportKind::Func(t) => func_types.push(t),
                ImportKind::Global(g) => global_types.push(g.content),
                ImportKind::Memory(m) => mem_types.push(m),
                ImportKind::Table(t) => table_types.push(t),
                ImportKind::Tag(_) => {}
            }
        }
        func_types.extend_from_slice(&module.funcs);
        global_types.extend(module.globals.iter().map(|g| g.ty.content));
        mem_types.extend_from_slice(&module.memories);
        table_types.extend(module.tables.iter().map(|t| t.ty));
        let memories = mem_types
            .iter()
            .map(|m| {
                let is64 = m.index == IndexType::I64;
                MemoryInfo {
                    is64,
                    guarded: options.memory_guard && !is64,
                }
            })
            .collect();
        ModuleEnv {
            module,
            info,
            call_conv: CallConv::Tail,
            host_conv: CallConv::SystemV,
            frontend,
            options,
            func_types,
            global_types,
            memories,
            tables: table_types
                .iter()
                .map(|t| TableInfo {
                    is64: t.index == IndexType::I64,
                    fixed_len: (t.limits.max == Some(t.limits.min)).then_some(t.limits.min),
                })
                .collect(),
        }
    }

    fn pointer(&self) -> Type {
        self.frontend.pointer_type()
    }

    /// The type of function `f` of the index space.
    fn func_type(&self, f: u32) -> &'m FuncType {
        let module: &'m Module = self.module;
        module.types[self.func_types[f as usize].index()].func()
    }

    /// Number of imported functions.
    fn num_imported_funcs(&self) -> u32 {
        self.module.num_imported_funcs
    }

    /// Signature of type `t`.
    fn signature(&self, t: TypeIdx) -> Result<Signature, CompileError> {
        wasm_signature(
            self.module.types[t.index()].func(),
            self.call_conv,
            self.pointer(),
        )
    }
}

/// Translates functions one after another, reusing its allocations.
#[derive(Default)]
pub(crate) struct FuncTranslator {
    builder_ctx: FunctionBuilderContext,
    scratch: Scratch,
    /// The body being translated, decoded (reused across functions).
    instrs: Vec<kiln_parser::Instr>,
    /// Decodes bodies (its frame stack is reused across functions).
    decoder: kiln_parser::BodyDecoder,
}

impl std::fmt::Debug for FuncTranslator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FuncTranslator").finish_non_exhaustive()
    }
}

/// Per-function state kept between functions only for its allocations.
#[derive(Default)]
struct Scratch {
    /// The operand stack.
    stack: Vec<Value>,
    /// The control stack; entry 0 is the function's own frame.
    controls: Vec<ControlFrame>,
    /// Parameters of each open `if`, for its `else` branch (frames index into it).
    if_params: Vec<Value>,
    /// Branch arguments being assembled.
    args: Vec<ir::BlockArg>,
    /// Call arguments being assembled.
    call_args: Vec<Value>,
    /// Callees already imported into the current function.
    callees: HashMap<u32, FuncRef>,
    /// Signatures already imported into the current function, by type index.
    sigs: HashMap<u32, ir::SigRef>,
    /// The fuel each instruction charges before it runs (0: none), with fuel on.
    charges: Vec<u64>,
    /// The open `try_table`s, innermost last (`try_table.rs`).
    scopes: Vec<try_table::OpenScope>,
    /// The catch clauses of the open `try_table`s (each scope knows where its own
    /// start).
    catches: Vec<kiln_parser::Catch>,
}

impl FuncTranslator {
    /// Translates defined function `def` of `env`'s module into `func`, whose
    /// signature must already be the function's [`wasm_signature`].
    ///
    /// # Errors
    ///
    /// [`CompileError::Unsupported`] for an instruction or type outside the slice.
    pub(crate) fn translate(
        &mut self,
        env: &ModuleEnv<'_>,
        def: u32,
        func: &mut ir::Function,
    ) -> Result<(), CompileError> {
        let mut instrs = std::mem::take(&mut self.instrs);
        instrs.clear();
        let result = match self.decoder.decode(env.module, def as usize, &mut instrs) {
            // The body decoded when it was validated; this fails only if the
            // module was changed since.
            Err(e) => Err(CompileError::Codegen(format!("function body: {e}"))),
            Ok(_) => self.translate_instrs(env, def, &instrs, func),
        };
        self.instrs = instrs;
        result
    }

    fn translate_instrs(
        &mut self,
        env: &ModuleEnv<'_>,
        def: u32,
        instrs: &[kiln_parser::Instr],
        func: &mut ir::Function,
    ) -> Result<(), CompileError> {
        let info = &env.info.funcs[def as usize];
        let builder = FunctionBuilder::new(func, &mut self.builder_ctx);
        let scratch = &mut self.scratch;
        scratch.stack.clear();
        scratch.controls.clear();
        scratch.if_params.clear();
        scratch.callees.clear();
        scratch.sigs.clear();
        scratch.charges.clear();
        scratch.scopes.clear();
        scratch.catches.clear();
        if env.options.fuel {
            scratch.charges.resize(instrs.len(), 0);
            kiln_runtime::fuel::for_each_run(instrs, |start, end, cost| {
                if let Some(first) =
                    (start..end).find(|&i| kiln_runtime::fuel::static_cost(&instrs[i]) > 0)
                {
                    scratch.charges[first] = cost;
                }
            });
        }
        let mut state = FuncState {
            b: builder,
            env,
            vmctx: Value::from_u32(0),
            vmctx_region: AliasRegion::from_u32(0),
            heap_region: AliasRegion::from_u32(0),
            s: scratch,
            reachable: true,
            dead_depth: 0,
            libcalls: [None; Libcall::ALL.len()],
            depth_in: Value::from_u32(0),
            depth_out: Value::from_u32(0),
            results: &env.func_type(env.num_imported_funcs() + def).results,
            calls: info.calls,
            body: instrs,
            pos: 0,
            fuel: None,
        };
        state.prologue(info)?;
        for (i, instr) in instrs.iter().enumerate() {
            state.pos = i;
            if state.reachable
                && let Some(&cost) = state.s.charges.get(i)
                && cost > 0
            {
                state.charge_fuel(cost);
            }
            state.visit(instr)?;
        }
        state.finish();
        Ok(())
    }
}

/// The translation of one function in progress.
pub(crate) struct FuncState<'a, 'e> {
    /// The SSA builder over the function being built.
    b: FunctionBuilder<'a>,
    env: &'e ModuleEnv<'e>,
    /// The `VmContext` pointer (the entry block's first parameter).
    vmctx: Value,
    /// Alias region of `VmContext` fields.
    vmctx_region: AliasRegion,
    /// Alias region of linear memory.
    heap_region: AliasRegion,
    s: &'a mut Scratch,
    /// Whether the current position can execute (see the module docs).
    reachable: bool,
    /// While unreachable: `block`/`loop`/`if`s opened since, not yet ended.
    dead_depth: u32,
    /// Each libcall, once imported into the function (by `Libcall` number).
    libcalls: [Option<FuncRef>; Libcall::ALL.len()],
    /// The function's depth parameter: WebAssembly frames active before it.
    depth_in: Value,
    /// The depth its callees get: `depth_in + 1`.
    depth_out: Value,
    /// Whether the function calls anything: only such a function checks the
    /// stack at its entry, and with it the epoch (one without calls ends, or
    /// loops, and its loop headers check).
    calls: bool,
    /// The body being translated, and the index in it of the instruction
    /// being translated (for a loop's look ahead: `metering.rs`).
    body: &'a [kiln_parser::Instr],
    pos: usize,
    /// The function's result types.
    results: &'e [ValType],
    /// With fuel on, the variable holding the fuel left (`metering.rs`).
    fuel: Option<Variable>,
}

impl FuncState<'_, '_> {
    /// Declares the locals, checks the call depth and the stack, and opens the
    /// function's own control frame.
    fn prologue(&mut self, info: &FuncInfo) -> Result<(), CompileError> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        self.b.seal_block(entry);
        self.vmctx = self.b.block_params(entry)[0];
        let regions = &mut self.b.func.dfg.alias_regions;
        self.vmctx_region = regions.insert(AliasRegionData {
            user_id: 0,
            description: "vmctx".into(),
        });
        self.heap_region = regions.insert(AliasRegionData {
            user_id: 1,
            description: "linear memory".into(),
        });
        self.depth_in = self.b.block_params(entry)[1];
        let num_params = self.b.block_params(entry).len() - 2;

        let mut zeros: [Option<Value>; 5] = [None; 5];
        for (i, &ty) in info.locals.iter().enumerate() {
            let clif = clif_type(ty)?;
            let var = self.b.declare_var(clif);
            debug_assert_eq!(var, Variable::from_u32(i as u32));
            let value = if i < num_params {
                self.b.block_params(entry)[i + 2]
            } else {
                let slot = &mut zeros[zero_slot(ty)];
                match *slot {
                    Some(z) => z,
                    None => {
                        let z = self.zero(ty);
                        *slot = Some(z);
                        z
                    }
                }
            };
            self.b.def_var(var, value);
        }

        // Enter: trap if the call depth or (in a function that calls) the stack is
        // exhausted; callees run one deeper.
        // Two separate checks, each a compare-and-branch the processor fuses (one
        // check on the two conditions or-ed together costs two `set` instructions).
        let flags = self.vmctx_flags().with_readonly().with_can_move();
        let depth = self.depth_in;
        let max = self
            .b
            .ins()
            .load(types::I32, flags, self.vmctx, vmctx::MAX_DEPTH_OFFSET);
        let too_deep =
            self.b
                .ins()
                .icmp(ir::condcodes::IntCC::UnsignedGreaterThanOrEqual, depth, max);
        self.trap_if(too_deep, TrapCode::CallStackExhausted);
        self.depth_out = self.b.ins().iadd_imm_s(depth, 1);
        // A function that calls nothing needs no stack check: its caller's check
        // left room for one more frame of any size the module has, and the red
        // zone below covers the libcalls it may make (see `signals::stack_limit`).
        if self.calls {
            let pointer = self.env.pointer();
            let sp = self.b.ins().get_stack_pointer(pointer);
            if self.env.options.epoch_interruption {
                // The same compare, which an epoch poke also fails (`metering.rs`).
                self.check_stack_and_epoch(sp);
            } else {
                let limit =
                    self.b
                        .ins()
                        .load(pointer, flags, self.vmctx, vmctx::STACK_LIMIT_OFFSET);
                let too_low = self
                    .b
                    .ins()
                    .icmp(ir::condcodes::IntCC::UnsignedLessThan, sp, limit);
                self.trap_if(too_low, TrapCode::CallStackExhausted);
            }
        }

        if self.env.options.fuel {
            let fuel = self.b.declare_var(types::I64);
            self.fuel = Some(fuel);
            self.reload_fuel();
        }

        let exit = self.b.create_block();
        for &r in self.results {
            self.b.append_block_param(exit, clif_type(r)?);
        }
        self.s
            .controls
            .push(ControlFrame::function(exit, self.results.len()));
        Ok(())
    }

    /// Seals everything and finishes the builder.
    fn finish(mut self) {
        self.b.seal_all_blocks();
        self.b.finalize(self.env.frontend);
    }

    /// Translates one instruction.
    fn visit(&mut self, instr: &Instr) -> Result<(), CompileError> {
        if !self.reachable {
            return self.visit_unreachable(instr);
        }
        match instr {
            Instr::Unreachable => {
                self.b.ins().trap(vmctx::clif_trap(TrapCode::Unreachable));
                self.reachable = false;
            }
            Instr::Nop => {}
            Instr::Block(bt) => self.visit_block(*bt)?,
            Instr::Loop(bt) => self.visit_loop(*bt)?,
            Instr::If(bt) => self.visit_if(*bt)?,
            Instr::Else => self.visit_else(),
            Instr::End => self.visit_end()?,
            Instr::Br(l) => self.visit_br(l.0),
            Instr::BrIf(l) => self.visit_br_if(l.0),
            Instr::BrTable(t) => self.visit_br_table(t),
            Instr::Return => self.visit_br(self.s.controls.len() as u32 - 1),
            Instr::Call(f) => self.visit_call(f.0)?,
            Instr::CallIndirect { ty, table } => self.visit_call_indirect(ty.0, table.0, false)?,
            Instr::ReturnCall(f) => self.visit_return_call(f.0)?,
            Instr::ReturnCallIndirect { ty, table } => {
                self.visit_call_indirect(ty.0, table.0, true)?
            }
            Instr::Drop => {
                self.pop();
            }
            Instr::Select(ty) => {
                if let Some(t) = ty {
                    clif_type(*t)?;
                }
                let cond = self.pop();
                let b = self.pop();
                let a = self.pop();
                let v = self.b.ins().select(cond, a, b);
                self.push(v);
            }
            Instr::LocalGet(l) => {
                let v = self.b.use_var(Variable::from_u32(l.0));
                self.push(v);
            }
            Instr::LocalSet(l) => {
                let v = self.pop();
                self.b.def_var(Variable::from_u32(l.0), v);
            }
            Instr::LocalTee(l) => {
                let v = self.peek();
                self.b.def_var(Variable::from_u32(l.0), v);
            }
            Instr::GlobalGet(g) => self.visit_global_get(g.0)?,
            Instr::GlobalSet(g) => self.visit_global_set(g.0)?,
            Instr::Load(op, memarg) => self.visit_load(*op, memarg)?,
            Instr::Store(op, memarg) => self.visit_store(*op, memarg)?,
            Instr::MemorySize(_)
            | Instr::MemoryGrow(_)
            | Instr::MemoryFill(_)
            | Instr::MemoryCopy { .. }
            | Instr::MemoryInit { .. }
            | Instr::DataDrop(_)
            | Instr::TableGet(_)
            | Instr::TableSet(_)
            | Instr::TableSize(_)
            | Instr::TableGrow(_)
            | Instr::TableFill(_)
            | Instr::TableCopy { .. }
            | Instr::TableInit { .. }
            | Instr::ElemDrop(_) => self.visit_bulk(instr)?,
            Instr::CallRef(ty) => self.visit_call_ref(ty.0, false)?,
            Instr::ReturnCallRef(ty) => self.visit_call_ref(ty.0, true)?,
            Instr::RefAsNonNull => self.visit_ref_as_non_null(),
            Instr::BrOnNull(l) => self.visit_br_on_null(l.0),
            Instr::BrOnNonNull(l) => self.visit_br_on_non_null(l.0),
            Instr::Throw(tag) => self.visit_throw(tag.0)?,
            Instr::ThrowRef => self.visit_throw_ref(),
            Instr::TryTable(tt) => self.visit_try_table(tt)?,
            Instr::I32Const(v) => {
                let v = self.b.ins().iconst(types::I32, i64::from(*v));
                self.push(v);
            }
            Instr::I64Const(v) => {
                let v = self.b.ins().iconst(types::I64, *v);
                self.push(v);
            }
            Instr::F32Const(bits) => {
                let v = self
                    .b
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(*bits));
                self.push(v);
            }
            Instr::F64Const(bits) => {
                let v = self
                    .b
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(*bits));
                self.push(v);
            }
            Instr::RefNull(_) => {
                let v = self.b.ins().iconst(types::I32, 0);
                self.push(v);
            }
            Instr::RefIsNull => {
                let r = self.pop();
                let v = self.b.ins().icmp_imm_u(ir::condcodes::IntCC::Equal, r, 0);
                let v = self.b.ins().uextend(types::I32, v);
                self.push(v);
            }
            Instr::RefFunc(f) => {
                // The store address of function f, plus one (`RawRef`).
                let addrs = self.load_vmctx_table(vmctx::FUNC_ADDRS_OFFSET);
                let addr = self.b.ins().load(
                    types::I32,
                    MemFlagsData::trusted().with_readonly().with_can_move(),
                    addrs,
                    i32::try_from(u64::from(f.0) * 4).unwrap_or(i32::MAX),
                );
                let v = self.b.ins().iadd_imm_s(addr, 1);
                self.push(v);
            }
            Instr::Num(op) => self.visit_num(*op)?,
            Instr::V128Const(bytes) => {
                let v = self.v128_const(bytes);
                self.push(v);
            }
            Instr::Shuffle(_)
            | Instr::ExtractLane(..)
            | Instr::ReplaceLane(..)
            | Instr::LoadLane(..)
            | Instr::StoreLane(..) => self.visit_simd(instr)?,
            Instr::Gc(_) => {
                return Err(CompileError::unsupported(
                    kiln_runtime::TierName::Jit,
                    "GC instructions".into(),
                ));
            }
        }
        Ok(())
    }

    /// `global.get`: loads through the global's pointer with its own width.
    fn visit_global_get(&mut self, g: u32) -> Result<(), CompileError> {
        let ty = clif_type(self.global_type(g))?;
        let ptr = self.global_ptr(g);
        let v = self.b.ins().load(ty, MemFlagsData::trusted(), ptr, 0);
        self.push(v);
        Ok(())
    }

    /// `global.set`: stores through the global's pointer with its own width; the
    /// bits above it stay zero, as the store keeps them.
    fn visit_global_set(&mut self, g: u32) -> Result<(), CompileError> {
        clif_type(self.global_type(g))?;
        let ptr = self.global_ptr(g);
        let v = self.pop();
        self.b.ins().store(MemFlagsData::trusted(), v, ptr, 0);
        Ok(())
    }

    /// The content type of global `g` of the index space.
    fn global_type(&self, g: u32) -> ValType {
        self.env.global_types[g as usize]
    }

    /// Loads one of the `VmContext`'s table pointers (fixed for the whole entry).
    fn load_vmctx_table(&mut self, offset: i32) -> Value {
        let flags = self.vmctx_flags().with_readonly().with_can_move();
        self.b
            .ins()
            .load(self.env.pointer(), flags, self.vmctx, offset)
    }

    /// The [`vmctx::FuncEntry`] key of a function of type `ty` that this instance's
    /// compiled code can call directly: on a little-endian host the signature in the
    /// low half and the instance in the high half, matching the entry's layout. Both halves
    /// are fixed for the activation, so Cranelift computes the key once per function.
    fn expected_entry_key(&mut self, ty: u32) -> Value {
        let fixed = self.vmctx_flags().with_readonly().with_can_move();
        let sigs = self.load_vmctx_table(vmctx::SIGS_OFFSET);
        let sig = self.b.ins().load(
            types::I32,
            fixed,
            sigs,
            i32::try_from(u64::from(ty) * 4).unwrap_or(i32::MAX),
        );
        let instance = self
            .b
            .ins()
            .load(types::I32, fixed, self.vmctx, vmctx::INSTANCE_OFFSET);
        let sig = self.b.ins().uextend(types::I64, sig);
        let instance = self.b.ins().uextend(types::I64, instance);
        let (low, high) = if cfg!(target_endian = "little") {
            (sig, instance)
        } else {
            (instance, sig)
        };
        let high = self.b.ins().ishl_imm_u(high, 32);
        self.b.ins().bor(low, high)
    }

    /// Loads the address of global `g`'s bits: `VmContext::globals[g]`. It changes
    /// only across calls that may run host code (which may add globals to the store).
    fn global_ptr(&mut self, g: u32) -> Value {
        let pointer = self.env.pointer();
        let table = self.load_vmctx_table(vmctx::GLOBALS_OFFSET);
        let offset = i32::try_from(u64::from(g) * u64::from(pointer.bytes())).unwrap_or(i32::MAX);
        self.b.ins().load(
            pointer,
            MemFlagsData::trusted().with_alias_region(Some(self.vmctx_region)),
            table,
            offset,
        )
    }

    /// Flags of loads and stores of `VmContext` fields and the tables it points to:
    /// never trap, aligned, and disjoint from linear memory (so alias analysis may
    /// keep them across stores to it).
    fn vmctx_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.vmctx_region))
    }

    /// The zero of a supported value type.
    fn zero(&mut self, ty: ValType) -> Value {
        match ty {
            ValType::I64 => self.b.ins().iconst(types::I64, 0),
            ValType::F32 => self.b.ins().f32const(0.0),
            ValType::F64 => self.b.ins().f64const(0.0),
            ValType::V128 => self.v128_const(&[0; 16]),
            _ => self.b.ins().iconst(types::I32, 0),
        }
    }

    /// Raises `code` if `cond` is nonzero.
    fn trap_if(&mut self, cond: Value, code: TrapCode) {
        self.b.ins().trapnz(cond, vmctx::clif_trap(code));
    }

    /// After a libcall that may fail: raises its pending trap.
    fn check_pending(&mut self) {
        let flags = self.vmctx_flags();
        let pending = self
            .b
            .ins()
            .load(types::I32, flags, self.vmctx, vmctx::PENDING_OFFSET);
        self.b.ins().trapnz(pending, vmctx::PENDING_TRAP);
    }

    /// Imports libcall `call` with parameters `params` (after the context pointer)
    /// and results `returns`, once per function.
    fn libcall(&mut self, call: Libcall, params: &[Type], returns: &[Type]) -> FuncRef {
        if let Some(f) = self.libcalls[call as usize] {
            return f;
        }
        let f = exceptions::import_libcall(
            &mut self.b,
            call,
            self.env.host_conv,
            self.env.pointer(),
            params,
            returns,
        );
        self.libcalls[call as usize] = Some(f);
        f
    }

    /// Imports defined function `def` of the module as a direct, colocated callee.
    fn callee(&mut self, def: u32) -> Result<FuncRef, CompileError> {
        if let Some(&r) = self.s.callees.get(&def) {
            return Ok(r);
        }
        let sig = self.env.signature(self.env.module.funcs[def as usize])?;
        let sig = self.b.import_signature(sig);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, def));
        let r = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.s.callees.insert(def, r);
        Ok(r)
    }

    /// The signature of type `t`, imported once per function (for indirect calls).
    fn sig_ref(&mut self, t: u32) -> Result<ir::SigRef, CompileError> {
        if let Some(&r) = self.s.sigs.get(&t) {
            return Ok(r);
        }
        let sig = self.env.signature(TypeIdx(t))?;
        let r = self.b.import_signature(sig);
        self.s.sigs.insert(t, r);
        Ok(r)
    }

    /// A stack buffer of `slots` 16-byte value slots and its address.
    fn value_buffer(&mut self, slots: usize) -> Value {
        let size = (slots.max(1) as u32) * SLOT_SIZE as u32;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            size,
            4,
        ));
        self.b.ins().stack_addr(self.env.pointer(), slot, 0)
    }

    fn push(&mut self, v: Value) {
        self.s.stack.push(v);
    }

    /// Pops an operand; validation guarantees one is there.
    fn pop(&mut self) -> Value {
        self.s.stack.pop().unwrap_or(Value::from_u32(0))
    }

    fn peek(&self) -> Value {
        self.s.stack.last().copied().unwrap_or(Value::from_u32(0))
    }
}

/// Which of the prologue's shared zero constants a local of type `ty` uses.
fn zero_slot(ty: ValType) -> usize {
    match ty {
        ValType::I64 => 1,
        ValType::F32 => 2,
        ValType::F64 => 3,
        ValType::V128 => 4,
        _ => 0,
    }
}
