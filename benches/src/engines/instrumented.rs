//! An engine running modules rewritten by `kiln::instrument` to count their
//! own fuel, without fuel of its own: what metering costs an engine that
//! has none (a browser's), against Kiln's built-in fuel.

use super::{Compiled, Engine};

/// `inner`, given each module rewritten to count fuel (and only that: no
/// NaN canonicalisation or call-depth counting, which Kiln's built-in fuel
/// does not do either). The fuel starts at its maximum, so no run runs out.
pub struct Instrumented {
    inner: Box<dyn Engine>,
    name: &'static str,
}

impl Instrumented {
    /// `inner` running rewritten modules, called `name` in reports.
    pub fn new(inner: Box<dyn Engine>, name: &'static str) -> Instrumented {
        Instrumented { inner, name }
    }
}

impl Engine for Instrumented {
    fn name(&self) -> &'static str {
        self.name
    }

    fn compile(&self, wasm: &[u8]) -> anyhow::Result<Box<dyn Compiled>> {
        let config = ::kiln::instrument::InstrumentConfig {
            canonicalize_nans: false,
            max_call_depth: None,
            ..::kiln::instrument::InstrumentConfig::default()
        };
        let rewritten = ::kiln::instrument::instrument(wasm, &config)?;
        self.inner.compile(&rewritten)
    }
}

impl std::fmt::Debug for Instrumented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instrumented")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
