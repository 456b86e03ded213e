//! Why a tier refused a module ([`Rejection`]): what `assert_malformed` and
//! `assert_invalid` compare, and what an executor reports when compiling
//! fails.

use std::borrow::Cow;
use std::fmt;

use kiln_parser::{ParseError, ParseErrorKind};
use kiln_validator::ValidationError;

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
