//! The tier under test, behind one trait so that the runner is written once.
//!
//! [`ValidateEngine`] is `kiln-parser` followed by `kiln-validator` and
//! executes nothing: the runner counts every execution directive it meets as
//! skipped. [`InterpEngine`](crate::InterpEngine) runs Kiln's interpreter
//! through the public `kiln` API and hands the runner an
//! [`Executor`](crate::Executor) per file; the JIT will do the same.

use std::borrow::Cow;
use std::fmt;

use kiln_parser::{Features, ParseError, ParseErrorKind};
use kiln_validator::ValidationError;

use crate::exec::Executor;
use crate::interp::InterpEngine;

/// Why a tier refused a module.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// `kiln-parser` could not decode the bytes (or found a rule only the
    /// decoder can see, or a proposal Kiln does not implement).
    Parse(ParseError),
    /// The module decoded but `kiln-validator` found it invalid.
    Validate(ValidationError),
    /// The `kiln` API refused the bytes for another reason (it reads input
    /// that does not look binary as the text format); the error's text.
    Api(String),
}

impl Rejection {
    /// The bare message, without offsets: what is compared with the text of
    /// `assert_malformed` and `assert_invalid`.
    pub fn message(&self) -> Cow<'_, str> {
        match self {
            Rejection::Parse(e) => Cow::Borrowed(e.message()),
            Rejection::Validate(e) => Cow::Owned(e.message()),
            Rejection::Api(m) => Cow::Borrowed(m),
        }
    }

    /// The phase that rejected the module, for reports: `parse (malformed)`,
    /// `parse (invalid)`, `parse (unsupported)`, `validate` or `kiln API`.
    pub fn phase(&self) -> &'static str {
        match self {
            Rejection::Parse(e) => match e.kind() {
                ParseErrorKind::Malformed => "parse (malformed)",
                ParseErrorKind::Invalid => "parse (invalid)",
                ParseErrorKind::Unsupported { .. } => "parse (unsupported)",
            },
            Rejection::Validate(_) => "validate",
            Rejection::Api(_) => "kiln API",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Parse(e) => write!(f, "{e}"),
            Rejection::Validate(e) => write!(f, "{e}"),
            Rejection::Api(m) => f.write_str(m),
        }
    }
}

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

/// The parse + validate tier: no execution.
#[derive(Debug, Clone, Copy, Default)]
pub struct ValidateEngine;

impl Engine for ValidateEngine {
    fn name(&self) -> &'static str {
        "validate"
    }

    fn validate(&self, bytes: &[u8], features: Features) -> Result<(), Rejection> {
        let module = kiln_parser::parse(bytes, features).map_err(Rejection::Parse)?;
        kiln_validator::validate(&module, features).map_err(|e| match e {
            kiln_validator::ModuleError::Malformed(e) => Rejection::Parse(e),
            kiln_validator::ModuleError::Invalid(e) => Rejection::Validate(e),
        })?;
        Ok(())
    }
}

/// The tiers the runner knows, for command lines and test names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// [`ValidateEngine`].
    Validate,
    /// [`InterpEngine`] without fuel.
    Interp,
    /// [`InterpEngine`] with fuel metering on (and plenty of fuel), which
    /// must give exactly the results of [`Tier::Interp`].
    InterpFuel,
    /// The JIT through the same API, without fuel.
    Jit,
    /// The JIT with fuel metering on.
    JitFuel,
    /// The JIT with `Config::memory_guard(false)`: every memory access checked
    /// explicitly instead of faulting on a guard region.
    JitNoGuard,
}

impl Tier {
    /// Every tier, in the order summaries list them.
    pub const ALL: &'static [Tier] = &[
        Tier::Validate,
        Tier::Interp,
        Tier::InterpFuel,
        Tier::Jit,
        Tier::JitFuel,
        Tier::JitNoGuard,
    ];

    /// The tier's name (`validate`, `interp`, `interp-fuel`, `jit`,
    /// `jit-fuel`, `jit-noguard`), as in test names.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Validate => "validate",
            Tier::Interp => "interp",
            Tier::InterpFuel => "interp-fuel",
            Tier::Jit => "jit",
            Tier::JitFuel => "jit-fuel",
            Tier::JitNoGuard => "jit-noguard",
        }
    }

    /// Whether the tier executes: execution tiers run only the suites marked
    /// [`Suite::execute`](crate::Suite::execute).
    pub fn executes(self) -> bool {
        !matches!(self, Tier::Validate)
    }

    /// A fresh engine for this tier.
    pub fn engine(self) -> Box<dyn Engine> {
        match self {
            Tier::Validate => Box::new(ValidateEngine),
            Tier::Interp => Box::new(InterpEngine::new(false)),
            Tier::InterpFuel => Box::new(InterpEngine::new(true)),
            Tier::Jit => Box::new(InterpEngine::jit(false)),
            Tier::JitFuel => Box::new(InterpEngine::jit(true)),
            Tier::JitNoGuard => Box::new(InterpEngine::jit_without_guards()),
        }
    }
}
