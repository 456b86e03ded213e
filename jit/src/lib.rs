//! `kiln-jit` is Kiln's Cranelift JIT tier: it translates validated functions
//! (Kiln's IR plus the validator's per-function facts) into Cranelift IR with
//! `cranelift-frontend`, compiles them for the host with `cranelift-codegen`,
//! places the code in executable memory, and runs it through per-signature
//! trampolines ([`invoke`], the counterpart of `kiln_interp::invoke`).
//!
//! It depends on the parser's IR, the validator's facts and the runtime's
//! store, never on the interpreter; it must behave exactly like the
//! interpreter (results, traps with the spec's messages, memory, globals, the
//! call-depth limit). It is not wired into the public `kiln` API yet.
//!
//! # What this first slice compiles
//! - Modules without imports, with at most one 32-bit memory; tables and
//!   element segments may be declared (instantiation is the runtime's), but no
//!   instruction may use them.
//! - Values of type `i32`, `i64`, `f32` and `f64` in parameters, results,
//!   locals, globals and blocks, including multi-value blocks and functions.
//! - Control: `block`, `loop`, `if`/`else`, `br`, `br_if`, `br_table`,
//!   `return`, `unreachable`, `nop`, direct `call`s between the module's
//!   functions.
//! - `drop`, `select` (typed or not), `local.get/set/tee`, `global.get/set`,
//!   constants, and every scalar numeric operator of WebAssembly 2.0 (integer
//!   and float arithmetic, comparisons, conversions, sign extension,
//!   saturating truncation), with traps on division by zero, signed division
//!   overflow and invalid or overflowing float-to-integer truncation.
//! - Loads and stores of every scalar width on memory 0, bounds-checked
//!   explicitly; `memory.size` (inline) and `memory.grow` (a call into Rust).
//! - The call-depth limit (`StoreLimits::max_call_depth`, counted like the
//!   interpreter: the entry call is depth 1) and a native stack limit, both
//!   trapping with `call stack exhausted`.
//! - NaN canonicalisation ([`Options::canonicalize_nans`]), the same set of
//!   operators as the interpreter.
//!
//! # What it rejects
//! [`CompiledModule::new`] returns [`CompileError::Unsupported`], naming the
//! feature, for: imports of any kind, `call_indirect` and every table
//! instruction, bulk memory (`memory.fill/copy/init`, `data.drop`), reference
//! types (`funcref`/`externref` values and `ref.*`), SIMD (`v128` values and
//! operators), tail calls, multi-memory, memory64, and fuel metering
//! ([`Options::fuel`]).
//!
//! # How traps work here
//! Without signal handlers: a trap site stores its code in the `VmContext`
//! and returns; callers check it after every call, and [`invoke`] turns it
//! into `Err(Trap)`. Bounds checks are explicit compares. Signal-based traps
//! with guard-page bounds elimination are the next step (see `RATIONALE.md`).

mod code_memory;
mod compiler;
mod invoke;
mod libcalls;
mod trampoline;
mod translate;
mod vmctx;

pub use compiler::CompiledModule;
pub use invoke::invoke;

/// Why the JIT cannot compile a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The module uses something this tier does not compile yet; names what.
    Unsupported(String),
    /// Cranelift failed (a bug in the translation, or one of its implementation limits).
    Codegen(String),
    /// Executable memory could not be mapped or protected.
    CodeMemory(String),
}

impl std::fmt::Display for CompileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompileError::Unsupported(what) => {
                write!(f, "the JIT does not support {what} yet")
            }
            CompileError::Codegen(e) => write!(f, "code generation failed: {e}"),
            CompileError::CodeMemory(e) => write!(f, "executable memory: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// How the JIT compiles a module (the interpreter's options, field for field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// Charge fuel per metered run. Not supported yet: `CompiledModule::new` rejects it.
    pub fuel: bool,
    /// Replace every NaN produced by float arithmetic by the canonical NaN.
    pub canonicalize_nans: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_error_stays_small() {
        assert!(std::mem::size_of::<CompileError>() <= 32);
    }
}
