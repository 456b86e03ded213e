//! The tier under test, behind one trait so that the runner is written once.
//!
//! Today the only tier is [`ValidateEngine`]: `kiln-parser` followed by
//! `kiln-validator`. The interpreter and the JIT will implement the same trait
//! and add execution (instantiate, register, invoke); until a tier can execute,
//! the runner counts every execution directive as skipped.

use std::fmt;

use kiln_parser::{Features, ParseError, ParseErrorKind};
use kiln_validator::ValidationError;

/// Why a tier refused a module.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// `kiln-parser` could not decode the bytes (or found a rule only the
    /// decoder can see, or a proposal Kiln does not implement).
    Parse(ParseError),
    /// The module decoded but `kiln-validator` found it invalid.
    Validate(ValidationError),
}

impl Rejection {
    /// The bare message, without offsets: what is compared with the text of
    /// `assert_malformed` and `assert_invalid`.
    pub fn message(&self) -> &str {
        match self {
            Rejection::Parse(e) => e.message(),
            Rejection::Validate(e) => e.message(),
        }
    }

    /// The phase that rejected the module, for reports: `parse (malformed)`,
    /// `parse (invalid)`, `parse (unsupported)` or `validate`.
    pub fn phase(&self) -> &'static str {
        match self {
            Rejection::Parse(e) => match e.kind() {
                ParseErrorKind::Malformed => "parse (malformed)",
                ParseErrorKind::Invalid => "parse (invalid)",
                ParseErrorKind::Unsupported { .. } => "parse (unsupported)",
            },
            Rejection::Validate(_) => "validate",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Parse(e) => write!(f, "{e}"),
            Rejection::Validate(e) => write!(f, "{e}"),
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
        kiln_validator::validate(&module, features).map_err(Rejection::Validate)?;
        Ok(())
    }
}

/// The tiers the runner knows, for command lines and test names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// [`ValidateEngine`].
    Validate,
}

impl Tier {
    /// Every tier, in the order summaries list them.
    pub const ALL: &'static [Tier] = &[Tier::Validate];

    /// The tier's name (`validate`).
    pub fn name(self) -> &'static str {
        match self {
            Tier::Validate => "validate",
        }
    }

    /// A fresh engine for this tier.
    pub fn engine(self) -> Box<dyn Engine> {
        match self {
            Tier::Validate => Box::new(ValidateEngine),
        }
    }
}
