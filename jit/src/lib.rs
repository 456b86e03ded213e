//! `kiln-jit` is Kiln's Cranelift JIT tier: it translates validated functions
//! (Kiln's IR plus the validator's per-function facts) into Cranelift IR with
//! `cranelift-frontend`, compiles them for the host with `cranelift-codegen`,
//! places the code in executable memory, and runs it through per-signature
//! trampolines ([`invoke`], the counterpart of `kiln_interp::invoke`).
//!
//! It depends on the parser's IR, the validator's facts and the runtime's
//! store, never on the interpreter; it must behave exactly like the
//! interpreter: results, traps with the spec's messages, memory, globals, the
//! call-depth limit, and the fuel consumed (the same metered runs, charged at
//! the same places).
//!
//! # What it compiles
//! WebAssembly 2.0 without SIMD, plus the tail-call, extended-const,
//! multi-memory and memory64 proposals: every scalar and reference-typed
//! instruction, imports of every kind (functions are called through a
//! libcall, host functions included, and may call back into WebAssembly),
//! `call_indirect` with its checks, `return_call*` as real tail calls, bulk
//! memory and table instructions (through the runtime's shared
//! implementation, [`kiln_runtime::ops`]), fuel metering and NaN
//! canonicalisation ([`Options`]). Functions using `v128` are refused with
//! [`CompileError::Unsupported`]. The JIT runs on x86-64 Linux.
//!
//! # How traps work
//! By signal (see `signals.rs`): 32-bit memories with guard regions need no
//! bounds checks (an access past the end faults), and every other trap is a
//! Cranelift trap instruction. The handler maps the faulting instruction to
//! its trap code through the compiled code's trap table and resumes the
//! innermost entry from Rust, which returns `Err(Trap)`.

mod activation;
mod code_memory;
mod compiled_module;
mod compiler;
mod invoke;
mod libcalls;
mod signals;
mod trampoline;
mod translate;
mod vmctx;

pub use compiled_module::CompiledModule;
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

/// How the JIT compiles a module (the interpreter's options, plus how memories
/// are bounds-checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Charge fuel per metered run (`kiln_runtime::fuel`).
    pub fuel: bool,
    /// Replace every NaN produced by float arithmetic by the canonical NaN.
    pub canonicalize_nans: bool,
    /// Rely on the guard regions of 32-bit memories instead of bounds checks (the
    /// store's memories must have them: `MemoryConfig::guard`). 64-bit memories
    /// are always checked.
    pub memory_guard: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            fuel: false,
            canonicalize_nans: false,
            memory_guard: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_error_stays_small() {
        assert!(std::mem::size_of::<CompileError>() <= 32);
    }
}
