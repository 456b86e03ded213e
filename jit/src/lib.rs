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
//! WebAssembly 2.0, plus the tail-call, extended-const, multi-memory,
//! memory64 and relaxed-SIMD proposals (relaxed operators in the spec's
//! deterministic profile): every scalar, reference-typed and vector
//! instruction (`v128` through Cranelift's vector types), imports of every
//! kind (functions are called through a libcall, host functions included,
//! and may call back into WebAssembly),
//! `call_indirect` with its checks, `return_call*` as real tail calls, bulk
//! memory and table instructions (through the runtime's shared
//! implementation, [`kiln_runtime::ops`]), fuel metering and NaN
//! canonicalisation ([`CompileOptions`]), vector lanes included. The JIT runs
//! on x86-64 Linux; a module using `v128` also needs SSSE3 (`cpu.rs`), and
//! is refused with [`CompileError::Unsupported`] without it.
//!
//! # How traps work
//! By signal (see `signals.rs`): 32-bit memories with guard regions need no
//! bounds checks (an access past the end faults), and every other trap is a
//! Cranelift trap instruction. The handler maps the faulting instruction to
//! its trap code through the compiled code's trap table and resumes the
//! innermost entry from Rust, which returns `Err(Trap)`.
//!
//! # How exceptions work
//! The unwinding mechanism for the exception-handling proposal is in place
//! (`unwind.rs`, with the helpers the translation emits through in
//! `translate/exceptions.rs`); the instructions themselves are not compiled
//! yet. A call inside a `try_table` becomes a Cranelift `try_call` whose one
//! handler matches tags in generated code; a throw walks the frame-pointer
//! chain to the innermost such call, or leaves the entry, and the caller gets
//! `Err(Trap)` carrying the exception ([`kiln_runtime::Trap::thrown`]).
//! Traps are never caught.

mod activation;
mod artifact;
mod code_memory;
mod compiled_module;
mod compiler;
mod cpu;
mod epoch;
mod invoke;
mod libcalls;
mod link;
mod reloc;
mod signals;
mod stubs;
mod trampoline;
mod translate;
mod unwind;
#[cfg(test)]
mod unwind_tests;
mod vmctx;

pub use artifact::{CODE_FORMAT, CODE_SOURCE, host_fingerprint};
pub use compiled_module::CompiledModule;
pub use invoke::invoke;

pub use kiln_runtime::{CompileError, CompileOptions};
