//! C programs built with wasi-libc, run on the JIT (the cases are in
//! `programs/cases.rs`).

mod common;

const STRATEGY: kiln::Strategy = kiln::Strategy::Jit;

include!("programs/cases.rs");
