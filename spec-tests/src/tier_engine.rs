//! Kiln's tiers as the runner's [`Engine`]: one [`TierEngine`] per [`Tier`].
//!
//! The validate tier is `kiln-parser` followed by `kiln-validator` and
//! executes nothing. The execution tiers (interpreter and JIT, with and
//! without fuel, the JIT also without guard regions) validate and execute
//! through the public `kiln` API, configured as their [`Tier`] says, and hand
//! the runner an [`ApiExecutor`] per file: the same rules run on every tier.

use kiln_parser::Features;

use crate::api_executor::ApiExecutor;
use crate::engine::Engine;
use crate::exec::Executor;
use crate::rejection::Rejection;
use crate::tier::Tier;

/// One of Kiln's tiers as an [`Engine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierEngine {
    tier: Tier,
}

impl TierEngine {
    /// The engine of `tier`.
    pub const fn new(tier: Tier) -> TierEngine {
        TierEngine { tier }
    }

    /// The tier it runs.
    pub const fn tier(&self) -> Tier {
        self.tier
    }
}

impl Engine for TierEngine {
    fn name(&self) -> &'static str {
        self.tier.name()
    }

    fn validate(&self, bytes: &[u8], features: Features) -> Result<(), Rejection> {
        if !self.tier.executes() {
            let module = kiln_parser::parse(bytes, features).map_err(Rejection::Parse)?;
            kiln_validator::validate(&module, features).map_err(|e| match e {
                kiln_validator::ModuleError::Malformed(e) => Rejection::Parse(e),
                kiln_validator::ModuleError::Invalid(e) => Rejection::Validate(e),
            })?;
            return Ok(());
        }
        kiln::validate(bytes, features).map_err(|e| match e {
            kiln::Error::Parse(e) => Rejection::Parse(e),
            kiln::Error::Invalid(e) => Rejection::Validate(e),
            other => Rejection::Api(other.to_string()),
        })
    }

    fn executor(&self, features: Features) -> Result<Option<Box<dyn Executor>>, String> {
        let Some(strategy) = self.tier.strategy() else {
            return Ok(None);
        };
        let executor = ApiExecutor::new(
            strategy,
            features,
            self.tier.fuel(),
            self.tier.memory_guard(),
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(Box::new(executor)))
    }
}
