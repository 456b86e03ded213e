//! `kiln-interp` will translate validated functions into Kiln's internal
//! bytecode and execute it.
//!
//! It depends on the parser's IR, the validator's per-function facts and the
//! runtime, never on the JIT. Nothing is here yet: the interpreter issue builds it.

pub mod num;
