//! `kiln-interp` is Kiln's interpreter tier: it translates each validated
//! function into Kiln's register bytecode ([`bytecode`]) on its first call,
//! verifies the translation against the executor's memory-safety contract
//! (`verify.rs`; a function that fails never runs), and executes it.
//!
//! It depends on the parser's IR, the validator's per-function facts and the
//! runtime's store, never on the JIT. Traps come back as `Err(Trap)`; the
//! interpreter never recurses on the native stack for WebAssembly calls, so
//! deep recursion ends in `call stack exhausted` at the configured depth.
//! Vector (`v128`) values take two slots of the value stack, a low and a high
//! one, so that scalar code pays nothing for them (see [`bytecode`]).

#[macro_use]
pub mod bytecode;
mod exec;
pub mod num;
mod translate;
mod verify;

use std::sync::{Arc, Mutex, OnceLock};

use kiln_parser::Module;
use kiln_validator::ModuleInfo;

pub use exec::{invoke, stack_rescues};

/// One translated function.
#[derive(Debug, Clone)]
pub struct CompiledFunc {
    /// The instructions.
    pub code: Box<[bytecode::Op]>,
    /// `(memory, offset)` of memory accesses that do not fit `Op::Load`/`Op::Store`.
    pub memargs: Box<[(u32, u64)]>,
    /// `(table, type)` of each `call_indirect` site.
    pub indirect: Box<[(u32, u32)]>,
    /// The `v128.const` values and `i8x16.shuffle` lane indices of `code`.
    pub vconsts: Box<[u128]>,
    /// The GC instructions of `code`'s `Gc` ops.
    pub gc: Box<[GcSite]>,
    /// The ops at which the heap may be collected (calls, allocations), in
    /// order, with the registers that may then hold GC objects: the roots
    /// the frame gives (empty without GC).
    pub safepoints: Box<[Safepoint]>,
    /// Number of parameters.
    pub num_params: u32,
    /// Number of locals, parameters included.
    pub num_locals: u32,
    /// Slots the frame needs: locals plus the deepest operand stack. Every register
    /// an op of `code` names is below it, and every jump target is inside `code`:
    /// the executor relies on both to skip bounds checks, and the bytecode
    /// verifier (`verify.rs`) checks both, with the rest of the function's
    /// contract, before the function can run.
    pub frame_size: u32,
    /// Number of results.
    pub num_results: u32,
    /// What a call writes to the callee's registers after its parameters
    /// (`num_params..`): a zero for each declared local, then the values of the
    /// constant registers, which follow the locals. One copy sets up both.
    pub init: Box<[u64]>,
    /// `code` with each op's handler, for the executor's fast path: made
    /// from `code` once the verifier has accepted it (empty until then).
    pub(crate) threaded: Box<[exec::Threaded]>,
    /// The `try_table` blocks of `code`, innermost first wherever they nest:
    /// the first whose range holds a throwing op (or a call an exception
    /// came out of) and has a matching clause catches.
    pub handlers: Box<[Handler]>,
}

/// One GC instruction of a compiled function (an `Op::Gc`'s `site`).
#[derive(Debug, Clone, PartialEq)]
pub struct GcSite {
    /// The instruction.
    pub instr: kiln_parser::GcInstr,
    /// How many operands it reads from its op's `args`.
    pub operands: u32,
    /// Whether it writes a result to `args`.
    pub result: bool,
}

impl GcSite {
    /// The registers from `args` it reads or writes.
    pub fn regs(&self) -> u32 {
        self.operands.max(u32::from(self.result))
    }
}

/// A point of a compiled function where the heap may be collected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Safepoint {
    /// The op: a call, or a `Gc` op that allocates.
    pub op: u32,
    /// The registers that may hold GC objects there: locals, and operand
    /// slots (a call's arguments included, which a caller frame skips: they
    /// are the callee's).
    pub regs: Box<[bytecode::Reg]>,
}

impl CompiledFunc {
    /// The registers that may hold GC objects at op `op`, if it is a
    /// safepoint.
    pub fn roots_at(&self, op: usize) -> Option<&[bytecode::Reg]> {
        let i = self
            .safepoints
            .binary_search_by_key(&(op as u32), |s| s.op)
            .ok()?;
        Some(&self.safepoints[i].regs)
    }
}

/// One `try_table` of a compiled function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handler {
    /// The ops of its body: `code[start..end]`.
    pub start: u32,
    /// See `start`.
    pub end: u32,
    /// Where a caught exception's payload goes (then the exnref, for the
    /// `_ref` clauses): the first register of the block's operand height.
    pub payload: bytecode::Reg,
    /// Its catch clauses, in order.
    pub clauses: Box<[Clause]>,
}

/// One catch clause of a [`Handler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    /// The tag caught (the module's tag index space), or `None` for all.
    pub tag: Option<u32>,
    /// Whether the exnref follows the payload.
    pub with_ref: bool,
    /// The landing pad: code that carries the payload to the clause's label.
    pub pad: u32,
}

impl CompiledFunc {
    /// The values of the constant registers (`num_locals..`).
    pub fn consts(&self) -> &[u64] {
        &self.init[(self.num_locals - self.num_params) as usize..]
    }
}

pub use kiln_runtime::{CompileError, CompileOptions};

/// A module prepared for the interpreter: functions are translated lazily, once each.
#[derive(Debug)]
pub struct CompiledModule {
    module: Arc<Module>,
    info: Arc<ModuleInfo>,
    options: CompileOptions,
    /// The functions translated and verified so far.
    funcs: Box<[OnceLock<Arc<CompiledFunc>>]>,
    translator: Mutex<translate::Translator>,
    /// What the verifier checks module indices against, from the first translation on.
    shape: OnceLock<verify::ModuleShape>,
}

impl CompiledModule {
    /// Prepares a validated module.
    ///
    /// # Errors
    ///
    /// None today: the interpreter runs every instruction the validator
    /// accepts. The `Result` is the interface both tiers share.
    pub fn new(
        module: Arc<Module>,
        info: Arc<ModuleInfo>,
        options: CompileOptions,
    ) -> Result<CompiledModule, CompileError> {
        let funcs = (0..module.code.len()).map(|_| OnceLock::new()).collect();
        Ok(CompiledModule {
            module,
            info,
            options,
            funcs,
            translator: Mutex::new(translate::Translator::default()),
            shape: OnceLock::new(),
        })
    }

    /// The module's IR.
    pub fn module(&self) -> &Arc<Module> {
        &self.module
    }

    /// Function `def_index` (among the module's own functions), translated
    /// and verified on first use.
    ///
    /// # Errors
    ///
    /// [`CompileError::InvalidBytecode`] if the bytecode verifier rejects the
    /// translation (a bug of the interpreter's; the function never runs).
    ///
    /// # Panics
    ///
    /// If the module has no function `def_index`.
    pub fn func(&self, def_index: u32) -> Result<Arc<CompiledFunc>, CompileError> {
        self.func_ref(def_index).cloned()
    }

    /// [`CompiledModule::func`], pointing into the module: valid while it lives.
    pub(crate) fn func_ptr(
        &self,
        def_index: u32,
    ) -> Result<std::ptr::NonNull<CompiledFunc>, CompileError> {
        Ok(std::ptr::NonNull::from(&**self.func_ref(def_index)?))
    }

    /// The module's own functions, each set once translated.
    pub(crate) fn own_funcs(&self) -> &[OnceLock<Arc<CompiledFunc>>] {
        &self.funcs
    }

    /// How many functions the module imports: the index of its first own one.
    pub(crate) fn num_imported_funcs(&self) -> u32 {
        self.module.num_imported_funcs
    }

    fn func_ref(&self, def_index: u32) -> Result<&Arc<CompiledFunc>, CompileError> {
        match self.funcs[def_index as usize].get() {
            Some(f) => Ok(f),
            None => self.translate(def_index),
        }
    }

    /// Translates function `def_index`, verifies the translation and, if it
    /// passes, publishes it (under the translator's lock, once).
    #[cold]
    fn translate(&self, def_index: u32) -> Result<&Arc<CompiledFunc>, CompileError> {
        let i = def_index as usize;
        let mut t = self
            .translator
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another thread may have translated it while this one waited.
        if let Some(f) = self.funcs[i].get() {
            return Ok(f);
        }
        let mut func = t.translate(
            &self.module,
            i,
            self.module.funcs[i],
            &self.info.funcs[i],
            self.options,
        );
        let shape = self
            .shape
            .get_or_init(|| verify::ModuleShape::of(&self.module));
        verify::verify(&func, self.module.num_imported_funcs + def_index, shape)?;
        // The fast path's code is made from the verified code only.
        func.threaded = exec::thread(&func.code);
        Ok(self.funcs[i].get_or_init(|| Arc::new(func)))
    }

    /// Translates every function now (for measuring, or to move the cost out of first calls).
    ///
    /// # Errors
    ///
    /// The first function the verifier rejects (see [`CompiledModule::func`]).
    pub fn translate_all(&self) -> Result<(), CompileError> {
        for i in 0..self.funcs.len() {
            self.func_ref(i as u32)?;
        }
        Ok(())
    }
}
