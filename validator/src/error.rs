//! The validator's error type.

use std::fmt;

use kiln_parser::{FuncIdx, ParseError};

/// Why a module is invalid: the rule broken, where, and in which function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    message: Box<str>,
    func: Option<FuncIdx>,
    offset: u64,
}

impl ValidationError {
    /// An error outside any function body (types, imports, segments, exports...).
    pub fn new(message: impl Into<Box<str>>, offset: u64) -> ValidationError {
        ValidationError {
            message: message.into(),
            func: None,
            offset,
        }
    }

    /// An error inside the body of function `func`.
    pub fn in_func(message: impl Into<Box<str>>, func: FuncIdx, offset: u64) -> ValidationError {
        ValidationError {
            message: message.into(),
            func: Some(func),
            offset,
        }
    }

    /// The rule broken, in the spec test suite's wording where it has one.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The function whose body is invalid, if the error is in a body.
    pub fn func(&self) -> Option<FuncIdx> {
        self.func
    }

    /// Byte offset in the module.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid module: {}", self.message)?;
        if let Some(func) = self.func {
            write!(f, " (in function {func}")?;
            write!(f, ", at offset {:#x})", self.offset)
        } else {
            write!(f, " (at offset {:#x})", self.offset)
        }
    }
}

impl std::error::Error for ValidationError {}

/// Why [`validate`](crate::validate) rejected a module.
///
/// Function bodies are decoded while they are checked, so a malformed body
/// is found here rather than by [`kiln_parser::parse`]. As when the whole
/// module was decoded first, a malformed body wins over an invalid one: the
/// module is malformed if any body is, whatever else is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// A function body is malformed, or uses an unsupported proposal.
    Malformed(ParseError),
    /// The module breaks a validation rule.
    Invalid(ValidationError),
}

impl From<ParseError> for ModuleError {
    fn from(e: ParseError) -> ModuleError {
        ModuleError::Malformed(e)
    }
}

impl From<ValidationError> for ModuleError {
    fn from(e: ValidationError) -> ModuleError {
        ModuleError::Invalid(e)
    }
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleError::Malformed(e) => e.fmt(f),
            ModuleError::Invalid(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ModuleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModuleError::Malformed(e) => Some(e),
            ModuleError::Invalid(e) => Some(e),
        }
    }
}
