//! The embedding API end to end on the JIT (the cases are in `api/cases.rs`).

const STRATEGY: kiln::Strategy = kiln::Strategy::Jit;

include!("api/cases.rs");
