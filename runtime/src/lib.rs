//! `kiln-runtime` will hold what both execution tiers share at run time:
//! values, trap codes, linear memories, tables, globals, instance layout,
//! the host-function ABI, fuel and limits.
//!
//! It must not depend on either tier; the interpreter and the JIT depend on it.
//! Nothing is here yet: the interpreter issue builds it.
