//! C programs built with wasi-libc, run on the interpreter (the cases are in
//! `programs/cases.rs`).

mod common;

const STRATEGY: kiln::Strategy = kiln::Strategy::Interpreter;

include!("programs/cases.rs");
