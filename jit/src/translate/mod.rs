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
//!   return area: `enable_multi_ret_implicit_sret`).
//! - Traps are explicit, with no signal handler: a trap site branches to a
//!   cold block that stores the trap's number in `VmContext::trap` and returns
//!   zeros. After every call the caller loads `VmContext::trap` and, if set,
//!   returns the same way, so a trap unwinds every frame by ordinary returns
//!   until the entry trampoline, whose Rust caller turns it into `Err(Trap)`.
//! - On entry a function checks the call depth and the stack pointer against
//!   the `VmContext`'s limits and traps with `call stack exhausted`, then
//!   increments the depth; every return decrements it. A trap leaves it
//!   incremented: the entry path restores the store's depth itself.
//!
//! # Unreachable code
//! After `br`, `br_table`, `return` and `unreachable` the rest of the
//! enclosing block is dead. The translator then emits nothing and only counts
//! nested `block`/`loop`/`if`s (`dead_depth`) to find the `else` or `end`
//! that makes code reachable again.
//!
//! The family files are `impl` blocks on [`FuncState`]: `control.rs`
//! (blocks, branches, calls), `numeric.rs` (`NumOp`s), `memory.rs` (loads,
//! stores, `memory.size`/`memory.grow`).

mod control;
mod memory;
mod numeric;

use std::collections::HashMap;

use cranelift_codegen::ir::{
    self, AbiParam, AliasRegion, AliasRegionData, Block, BlockArg, ExtFuncData, ExternalName,
    FuncRef, InstBuilder, MemFlagsData, Signature, Type, UserExternalName, Value, types,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use kiln_parser::{FuncType, Instr, Module, TypeIdx, ValType};
use kiln_runtime::TrapCode;
use kiln_validator::{FuncInfo, ModuleInfo};

use crate::CompileError;
use crate::vmctx;

use control::ControlFrame;

/// Namespace of [`UserExternalName`]s naming the module's own functions (index:
/// the function index).
pub(crate) const FUNC_NAMESPACE: u32 = 0;
/// Namespace of [`UserExternalName`]s naming Kiln's libcalls (index: a
/// [`crate::libcalls::Libcall`]).
pub(crate) const LIBCALL_NAMESPACE: u32 = 1;

/// The Cranelift type of a value type the JIT supports.
///
/// # Errors
///
/// [`CompileError::Unsupported`] for `v128` and the reference types.
pub(crate) fn clif_type(t: ValType) -> Result<Type, CompileError> {
    match t {
        ValType::I32 => Ok(types::I32),
        ValType::I64 => Ok(types::I64),
        ValType::F32 => Ok(types::F32),
        ValType::F64 => Ok(types::F64),
        ValType::V128 => Err(CompileError::Unsupported("SIMD (v128 values)".into())),
        ValType::FuncRef | ValType::ExternRef => Err(CompileError::Unsupported(
            "reference types (funcref and externref values)".into(),
        )),
    }
}

/// The Cranelift signature of a WebAssembly function type: the `VmContext`
/// pointer, then the parameters; the results.
pub(crate) fn wasm_signature(
    ty: &FuncType,
    call_conv: CallConv,
    pointer: Type,
) -> Result<Signature, CompileError> {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(pointer));
    for &p in ty.params.iter() {
        sig.params.push(AbiParam::new(clif_type(p)?));
    }
    for &r in ty.results.iter() {
        sig.returns.push(AbiParam::new(clif_type(r)?));
    }
    Ok(sig)
}

/// What translating a function needs to know about its module.
pub(crate) struct ModuleEnv<'m> {
    /// The module's IR.
    pub module: &'m Module,
    /// The validator's facts, one per defined function.
    pub info: &'m ModuleInfo,
    /// Calling convention of every compiled function.
    pub call_conv: CallConv,
    /// What `FunctionBuilder::finalize` needs of the target.
    pub frontend: TargetFrontendConfig,
}

impl ModuleEnv<'_> {
    fn pointer(&self) -> Type {
        self.frontend.pointer_type()
    }

    /// The type of function `f` (the module has no imported functions).
    fn func_type(&self, f: u32) -> &FuncType {
        &self.module.types[self.module.funcs[f as usize].index()]
    }

    /// Signature of type `t`.
    fn signature(&self, t: TypeIdx) -> Result<Signature, CompileError> {
        wasm_signature(
            &self.module.types[t.index()],
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
    args: Vec<BlockArg>,
    /// Call arguments being assembled.
    call_args: Vec<Value>,
    /// Callees already imported into the current function.
    callees: HashMap<u32, FuncRef>,
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
        let body = &env.module.code[def as usize];
        let info = &env.info.funcs[def as usize];
        let builder = FunctionBuilder::new(func, &mut self.builder_ctx);
        let scratch = &mut self.scratch;
        scratch.stack.clear();
        scratch.controls.clear();
        scratch.if_params.clear();
        scratch.callees.clear();
        let mut state = FuncState {
            b: builder,
            env,
            vmctx: Value::from_u32(0),
            vmctx_region: AliasRegion::from_u32(0),
            heap_region: AliasRegion::from_u32(0),
            s: scratch,
            reachable: true,
            dead_depth: 0,
            trap_blocks: [None; 6],
            abort: None,
            grow: None,
            results: &env.func_type(def).results,
        };
        state.prologue(info)?;
        for instr in body.instrs.iter() {
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
    /// The cold block raising each trap code (by `trap_code_to_raw - 1`), once used.
    trap_blocks: [Option<Block>; 6],
    /// The cold block returning zeros after a trap was recorded, once used.
    abort: Option<Block>,
    /// The `memory.grow` libcall, once imported.
    grow: Option<FuncRef>,
    /// The function's result types.
    results: &'e [ValType],
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
            description: "memory 0".into(),
        });
        let num_params = self.b.block_params(entry).len() - 1;

        let mut zeros: [Option<Value>; 4] = [None; 4];
        for (i, &ty) in info.locals.iter().enumerate() {
            let clif = clif_type(ty)?;
            let var = self.b.declare_var(clif);
            debug_assert_eq!(var, Variable::from_u32(i as u32));
            let value = if i < num_params {
                self.b.block_params(entry)[i + 1]
            } else {
                let slot = &mut zeros[ty as usize];
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

        // Enter: trap if the call depth or the stack is exhausted, else count the frame.
        let flags = self.vmctx_flags();
        let depth = self
            .b
            .ins()
            .load(types::I32, flags, self.vmctx, vmctx::DEPTH_OFFSET);
        let max = self
            .b
            .ins()
            .load(types::I32, flags, self.vmctx, vmctx::MAX_DEPTH_OFFSET);
        let too_deep =
            self.b
                .ins()
                .icmp(ir::condcodes::IntCC::UnsignedGreaterThanOrEqual, depth, max);
        let pointer = self.env.pointer();
        let sp = self.b.ins().get_stack_pointer(pointer);
        let limit = self
            .b
            .ins()
            .load(pointer, flags, self.vmctx, vmctx::STACK_LIMIT_OFFSET);
        let too_low = self
            .b
            .ins()
            .icmp(ir::condcodes::IntCC::UnsignedLessThan, sp, limit);
        let exhausted = self.b.ins().bor(too_deep, too_low);
        self.trap_if(exhausted, TrapCode::CallStackExhausted);
        let depth = self.b.ins().iadd_imm_s(depth, 1);
        self.b
            .ins()
            .store(flags, depth, self.vmctx, vmctx::DEPTH_OFFSET);

        let exit = self.b.create_block();
        for &r in self.results {
            self.b.append_block_param(exit, clif_type(r)?);
        }
        self.s
            .controls
            .push(ControlFrame::function(exit, self.results.len()));
        Ok(())
    }

    /// Fills the trap blocks, seals everything and finishes the builder.
    fn finish(mut self) {
        let flags = self.vmctx_flags();
        for (i, block) in self.trap_blocks.into_iter().enumerate() {
            if let Some(block) = block {
                self.b.switch_to_block(block);
                let code = self.b.ins().iconst(types::I32, i as i64 + 1);
                self.b
                    .ins()
                    .store(flags, code, self.vmctx, vmctx::TRAP_OFFSET);
                let abort = self.abort_block();
                self.b.ins().jump(abort, &[]);
            }
        }
        if let Some(abort) = self.abort {
            self.b.switch_to_block(abort);
            let zeros: Vec<Value> = self.results.iter().map(|&r| self.zero(r)).collect();
            self.b.ins().return_(&zeros);
        }
        self.b.seal_all_blocks();
        self.b.finalize(self.env.frontend);
    }

    /// Translates one instruction.
    fn visit(&mut self, instr: &Instr) -> Result<(), CompileError> {
        if !self.reachable {
            self.visit_unreachable(instr);
            return Ok(());
        }
        match instr {
            Instr::Unreachable => {
                let block = self.trap_block(TrapCode::Unreachable);
                self.b.ins().jump(block, &[]);
                self.reachable = false;
            }
            Instr::Nop => {}
            Instr::Block(bt) => self.visit_block(*bt)?,
            Instr::Loop(bt) => self.visit_loop(*bt)?,
            Instr::If(bt) => self.visit_if(*bt)?,
            Instr::Else => self.visit_else(),
            Instr::End => self.visit_end(),
            Instr::Br(l) => self.visit_br(l.0),
            Instr::BrIf(l) => self.visit_br_if(l.0),
            Instr::BrTable(t) => self.visit_br_table(t),
            Instr::Return => self.visit_br(self.s.controls.len() as u32 - 1),
            Instr::Call(f) => self.visit_call(f.0)?,
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
            Instr::MemorySize(m) => self.visit_memory_size(m.0)?,
            Instr::MemoryGrow(m) => self.visit_memory_grow(m.0)?,
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
            Instr::Num(op) => self.visit_num(*op)?,
            other => return Err(unsupported_instr(other)),
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

    /// The content type of global `g` (the module has no imported globals).
    fn global_type(&self, g: u32) -> ValType {
        self.env.module.globals[g as usize].ty.content
    }

    /// Loads the address of global `g`'s bits: `VmContext::globals[g]`. Both loads
    /// read memory that does not change while WebAssembly runs.
    fn global_ptr(&mut self, g: u32) -> Value {
        let pointer = self.env.pointer();
        let flags = self.vmctx_flags().with_readonly().with_can_move();
        let table = self
            .b
            .ins()
            .load(pointer, flags, self.vmctx, vmctx::GLOBALS_OFFSET);
        let offset = i32::try_from(u64::from(g) * u64::from(pointer.bytes())).unwrap_or(i32::MAX);
        self.b.ins().load(
            pointer,
            MemFlagsData::trusted().with_readonly().with_can_move(),
            table,
            offset,
        )
    }

    /// Flags of loads and stores of `VmContext` fields: never trap, aligned, and
    /// disjoint from linear memory (so alias analysis may keep them across stores to it).
    fn vmctx_flags(&self) -> MemFlagsData {
        MemFlagsData::trusted().with_alias_region(Some(self.vmctx_region))
    }

    /// The zero of a supported value type.
    fn zero(&mut self, ty: ValType) -> Value {
        match ty {
            ValType::I64 => self.b.ins().iconst(types::I64, 0),
            ValType::F32 => self.b.ins().f32const(0.0),
            ValType::F64 => self.b.ins().f64const(0.0),
            _ => self.b.ins().iconst(types::I32, 0),
        }
    }

    /// The cold block that raises `code`.
    fn trap_block(&mut self, code: TrapCode) -> Block {
        let i = vmctx::trap_code_to_raw(code) as usize - 1;
        match self.trap_blocks[i] {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.b.set_cold_block(b);
                self.trap_blocks[i] = Some(b);
                b
            }
        }
    }

    /// The cold block that returns zeros once a trap has been recorded.
    fn abort_block(&mut self) -> Block {
        match self.abort {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.b.set_cold_block(b);
                self.abort = Some(b);
                b
            }
        }
    }

    /// Raises `code` if `cond` is nonzero; code after it runs in a new block.
    fn trap_if(&mut self, cond: Value, code: TrapCode) {
        let trap = self.trap_block(code);
        self.branch_unless(cond, trap);
    }

    /// Branches to `target` (no arguments) if `cond` is nonzero, else continues in a
    /// fresh block.
    fn branch_unless(&mut self, cond: Value, target: Block) {
        let cont = self.b.create_block();
        self.b.ins().brif(cond, target, &[], cont, &[]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
    }

    /// Imports function `f` of the module as a direct, colocated callee.
    fn callee(&mut self, f: u32) -> Result<FuncRef, CompileError> {
        if let Some(&r) = self.s.callees.get(&f) {
            return Ok(r);
        }
        let sig = self.env.signature(self.env.module.funcs[f as usize])?;
        let sig = self.b.import_signature(sig);
        let name = self
            .b
            .func
            .declare_imported_user_function(UserExternalName::new(FUNC_NAMESPACE, f));
        let r = self.b.import_function(ExtFuncData {
            name: ExternalName::user(name),
            signature: sig,
            colocated: true,
            patchable: false,
        });
        self.s.callees.insert(f, r);
        Ok(r)
    }

    /// After a call: returns at once if the callee trapped.
    fn check_trap(&mut self) {
        let flags = self.vmctx_flags();
        let flag = self
            .b
            .ins()
            .load(types::I32, flags, self.vmctx, vmctx::TRAP_OFFSET);
        let abort = self.abort_block();
        self.branch_unless(flag, abort);
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

/// The error for an instruction outside the slice, naming its proposal.
fn unsupported_instr(instr: &Instr) -> CompileError {
    let what = match instr {
        Instr::CallIndirect { .. } => "call_indirect (tables)",
        Instr::ReturnCall(_) | Instr::ReturnCallIndirect { .. } => "tail calls",
        Instr::TableGet(_)
        | Instr::TableSet(_)
        | Instr::TableSize(_)
        | Instr::TableGrow(_)
        | Instr::TableFill(_)
        | Instr::TableCopy { .. }
        | Instr::TableInit { .. }
        | Instr::ElemDrop(_) => "table instructions",
        Instr::MemoryFill(_)
        | Instr::MemoryCopy { .. }
        | Instr::MemoryInit { .. }
        | Instr::DataDrop(_) => "bulk memory instructions",
        Instr::RefNull(_) | Instr::RefIsNull | Instr::RefFunc(_) => "reference types",
        Instr::V128Const(_)
        | Instr::Shuffle(_)
        | Instr::ExtractLane(..)
        | Instr::ReplaceLane(..)
        | Instr::LoadLane(..)
        | Instr::StoreLane(..) => "SIMD",
        _ => "this instruction",
    };
    CompileError::Unsupported(what.into())
}
