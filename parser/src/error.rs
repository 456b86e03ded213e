//! The parser's error type.

use std::fmt;

/// The proposals Kiln implements but [`Features`](crate::Features) can switch off.
const SWITCHABLE_PROPOSALS: [&str; 7] = [
    "tail-call",
    "extended-const",
    "multi-memory",
    "memory64",
    "relaxed-simd",
    "function-references",
    "exception-handling",
];

/// Why a module could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The bytes are not a well-formed binary module (the spec's "malformed").
    Malformed,
    /// The decoder found a violation of a validation rule that only it can see
    /// (for example a typed `select` with several result types).
    Invalid,
    /// The module uses a proposal Kiln does not implement.
    Unsupported {
        /// The proposal's name, as the WebAssembly proposals repository spells it.
        proposal: &'static str,
    },
}

/// A parse failure: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    kind: ParseErrorKind,
    message: Box<str>,
    offset: u64,
}

impl ParseError {
    /// A malformed-module error at byte `offset`.
    pub fn malformed(message: impl Into<Box<str>>, offset: u64) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Malformed,
            message: message.into(),
            offset,
        }
    }

    /// An invalid-module error found while decoding, at byte `offset`.
    pub fn invalid(message: impl Into<Box<str>>, offset: u64) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Invalid,
            message: message.into(),
            offset,
        }
    }

    /// An error for a construct of `proposal`, which Kiln does not implement or which
    /// the [`Features`](crate::Features) in use switch off.
    pub fn unsupported(proposal: &'static str, what: &str, offset: u64) -> ParseError {
        let why = if SWITCHABLE_PROPOSALS.contains(&proposal) {
            "which is switched off"
        } else if proposal == "gc" {
            "which Kiln runs on its interpreter only (`kiln run --engine interp`, \
             `Features::ALL_WITH_GC`)"
        } else {
            "which Kiln does not support"
        };
        ParseError {
            kind: ParseErrorKind::Unsupported { proposal },
            message: format!("{what} requires the {proposal} proposal, {why}").into(),
            offset,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }

    /// The message alone, without the offset.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte offset in the module where the problem was found.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::Malformed => write!(f, "malformed module: ")?,
            ParseErrorKind::Invalid => write!(f, "invalid module: ")?,
            ParseErrorKind::Unsupported { .. } => write!(f, "unsupported feature: ")?,
        }
        write!(f, "{} (at offset {:#x})", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}

impl From<wasmparser::BinaryReaderError> for ParseError {
    fn from(e: wasmparser::BinaryReaderError) -> ParseError {
        ParseError::malformed(spec_wording(e.message()), e.offset())
    }
}

/// `wasmparser`'s message, with the spec test suite's wording added where they differ
/// for the same rule, so a reader (and the spec runner) recognises the rule.
fn spec_wording(message: &str) -> String {
    let spec = match message {
        "section out of order" => "unexpected content after last section",
        "malformed global flags" => "malformed mutability",
        "function section is absent but code section has non-zero count"
        | "function section has non-zero count but code section is absent" => {
            "function and code section have inconsistent lengths"
        }
        "data count is non-zero but data section is absent" => {
            "data count and data section have inconsistent lengths"
        }
        _ if message.ends_with("for external kind") => "malformed import kind",
        _ => return message.to_owned(),
    };
    format!("{spec} ({message})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmparser_messages_gain_the_spec_wording() {
        assert_eq!(
            spec_wording("section out of order"),
            "unexpected content after last section (section out of order)"
        );
        assert_eq!(
            spec_wording("unexpected end-of-file"),
            "unexpected end-of-file"
        );
    }

    /// Errors travel in `Result`s everywhere; keep them small. The kind takes
    /// three words, not two: a `&'static str` leaves a single niche (the null
    /// pointer), and `Malformed` and `Invalid` need two.
    #[test]
    fn error_size_is_pinned() {
        assert_eq!(std::mem::size_of::<ParseError>(), 48);
    }
}
