//! The embedding API end to end on the interpreter (the cases are in `api/cases.rs`).

const STRATEGY: kiln::Strategy = kiln::Strategy::Interpreter;

include!("api/cases.rs");
