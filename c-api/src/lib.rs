//! `kiln-c-api` is Kiln's implementation of the standard WebAssembly C API:
//! the `wasm.h` of the wasm-c-api project (engine, store, module, instance,
//! func, global, table, memory, extern, trap, reference, the type objects and
//! the vectors), plus `kiln.h` for what `wasm.h` lacks (strategy, fuel,
//! epochs, trap codes, WASI). The headers are in `c-api/include/`; the crate
//! builds as a `cdylib` and a `staticlib` for C programs to link.
//!
//! It owns the translation between C's objects and Kiln's: ownership as
//! `wasm.h` defines it (`own` pointers freed by the matching `_delete`,
//! vectors owning their elements), store access from inside host functions
//! (`store.rs`), and the checks at the boundary: every entry point accepts
//! NULL where a pointer is required and returns NULL, false, an empty vector
//! or a trap instead of dereferencing it, rejects vectors with NULL data and
//! a nonzero size, and runs inside [`ffi::guard`] so that a Rust panic never
//! unwinds into C. (The only exceptions are pointer casts such as
//! `wasm_func_as_extern`, which cannot panic, and functions that only call
//! another, guarded entry point, such as `wasm_global_set`.)
//!
//! Architecture Invariant: this crate uses only the public API of `kiln`
//! and `kiln-wasi`; it must not reach into Kiln's internal crates, and it
//! adds no behaviour of its own beyond the C binding (what Kiln cannot do
//! through its Rust API, the C API does not do either).

// The C API's names are C's (`wasm_engine_t`, ...), not Rust's.
#![allow(non_camel_case_types)]

mod engine;
mod externs;
mod ffi;
mod foreign;
mod func;
mod global;
mod instance;
mod kiln_ext;
mod memory;
mod module;
mod store;
mod table;
mod trap;
mod types;
mod val;
mod vec;
mod wasi;
