//! `kiln-jit` will translate validated functions into Cranelift IR, compile
//! them for the host, and manage code memory, trampolines and trap handling.
//!
//! It depends on the parser's IR, the validator's per-function facts and the
//! runtime, never on the interpreter. Nothing is here yet: the JIT issue builds it.
