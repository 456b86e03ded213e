//! The tier under test as the runner sees it: one [`Engine`] trait, so that
//! the runner is written once.
//!
//! Every tier of Kiln is a [`TierEngine`](crate::TierEngine); the runner's
//! own tests add engines that accept, reject or panic on everything. An
//! engine validates modules, and an engine that executes hands the runner an
//! [`Executor`] per `.wast` file; one that does not makes the runner count
//! every execution directive as skipped.

use kiln_parser::Features;

use crate::exec::Executor;
use crate::rejection::Rejection;

/// A Kiln tier as the spec runner sees it.
///
/// `Send + Sync` because the test harness runs files on several threads with
/// one engine value per file.
pub trait Engine: Send + Sync {
    /// The tier's name as it appears in test names and summaries
    /// (`validate::wasm-v2::binary.wast`).
    fn name(&self) -> &'static str;

    /// Decodes and validates `bytes` under `features`.
    ///
    /// # Errors
    ///
    /// The first reason the module is malformed or invalid.
    fn validate(&self, bytes: &[u8], features: Features) -> Result<(), Rejection>;

    /// A fresh execution context for one `.wast` file under `features`, or
    /// `None` if the tier does not execute.
    ///
    /// # Errors
    ///
    /// Why the tier could not set one up (the whole file then fails).
    fn executor(&self, features: Features) -> Result<Option<Box<dyn Executor>>, String> {
        let _ = features;
        Ok(None)
    }
}
