//! `kiln` is the public face of Kiln, a WebAssembly engine written from
//! scratch: the embedding API that Rust programs use, and the library behind
//! the `kiln` command-line tool.
//!
//! Today it turns text or binary modules into checked binaries: [`wat2wasm`]
//! reads either format, and [`validate`] runs Kiln's parser and validator
//! under a chosen [`Features`] set. The execution API, shaped like wasmtime's
//! (`Engine`, `Store`, `Module`, `Instance`, ...), is added here as the tiers
//! land. This crate must stay a thin layer: decoding belongs to `kiln-parser`,
//! the validation rules to `kiln-validator`, and nothing here may reach past
//! their public APIs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::borrow::Cow;
use std::path::Path;

pub use kiln_parser::{Features, ParseError, ParseErrorKind};
pub use kiln_validator::ValidationError;

/// The four bytes every binary module starts with.
const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Why Kiln could not accept a module.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input was read as the text format and is not well-formed text.
    ///
    /// The message carries the line and column; see [`Error::set_path`] to
    /// name the file in it.
    #[error(transparent)]
    Wat(#[from] wat::Error),
    /// The binary module is malformed, or uses a proposal that is switched
    /// off or that Kiln does not implement.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The module is well-formed but breaks a validation rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

impl Error {
    /// Names the file a text-format error came from, so that its message
    /// points at `path:line:column` rather than at an anonymous input.
    ///
    /// Errors about binary modules locate themselves by byte offset and are
    /// left unchanged.
    pub fn set_path(&mut self, path: &Path) {
        if let Error::Wat(e) = self {
            e.set_path(path);
        }
    }
}

/// Whether `bytes` are to be read as a binary module rather than as text.
///
/// A binary module starts with `\0asm`. Beyond that, input that is empty,
/// contains a NUL byte or is not UTF-8 cannot be meaningful text, so it is
/// read as binary too: a damaged binary (a wrong magic number, a file cut
/// short) then gets the binary format's error, not a text syntax error.
fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(WASM_MAGIC)
        || bytes.is_empty()
        || bytes.contains(&0)
        || std::str::from_utf8(bytes).is_err()
}

/// Returns the binary encoding of a module given in either format.
///
/// Binary input (see below) is returned as it is, borrowed and unchecked.
/// Anything else is parsed as the WebAssembly text format with the `wat`
/// crate and encoded. The input is read as binary when it starts with the
/// magic bytes `\0asm`, and also when it is empty, contains a NUL byte or is
/// not UTF-8, which no meaningful text module does.
///
/// # Errors
///
/// [`Error::Wat`] if the input is read as text and is not a well-formed text
/// module.
pub fn wat2wasm(bytes: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    if is_binary(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    // `is_binary` returned false, so the bytes are UTF-8; `parse_bytes` reads
    // them as text because they do not start with the magic bytes.
    Ok(wat::parse_bytes(bytes)?)
}

/// Checks that a module, binary or text (read as by [`wat2wasm`]), is
/// well-formed and valid under `features`.
///
/// # Errors
///
/// - [`Error::Wat`] if text input is not well-formed;
/// - [`Error::Parse`] if the binary is malformed or uses a proposal outside
///   `features` (the error names the proposal);
/// - [`Error::Invalid`] if the module breaks a validation rule.
pub fn validate(bytes: &[u8], features: Features) -> Result<(), Error> {
    let binary = wat2wasm(bytes)?;
    let module = kiln_parser::parse(&binary, features)?;
    kiln_validator::validate(&module, features)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_passes_through_unchanged() -> Result<(), Error> {
        let bytes = b"\0asm\x01\0\0\0";
        assert!(matches!(wat2wasm(bytes)?, Cow::Borrowed(b) if b == bytes));
        Ok(())
    }

    #[test]
    fn text_is_encoded() -> Result<(), Error> {
        assert_eq!(&*wat2wasm(b"(module)")?, b"\0asm\x01\0\0\0");
        Ok(())
    }

    #[test]
    fn damaged_binaries_are_not_read_as_text() {
        assert!(is_binary(b""));
        assert!(is_binary(b"\0as"));
        assert!(is_binary(b"\0ASM\x01\0\0\0"));
        assert!(is_binary(b"\xff\xfe(module)"));
        assert!(!is_binary(b"(module)"));
        assert!(!is_binary(b";; \xc3\xa9\n(module)"));
    }

    #[test]
    fn each_stage_reports_its_own_error() {
        let features = Features::ALL;
        assert!(matches!(validate(b"(module", features), Err(Error::Wat(_))));
        assert!(matches!(
            validate(b"\0asm\x02\0\0\0", features),
            Err(Error::Parse(_))
        ));
        assert!(matches!(
            validate(b"(module (memory 1 1 shared))", features),
            Err(Error::Parse(e)) if e.kind() == ParseErrorKind::Unsupported { proposal: "threads" }
        ));
        assert!(matches!(
            validate(b"(module (func (result i32) i64.const 0))", features),
            Err(Error::Invalid(_))
        ));
        assert!(validate(b"(module (func (export \"f\")))", features).is_ok());
    }

    /// `Result<_, Error>` is returned by every fallible call of the API; keep
    /// it small. This pins the size so that growth is a deliberate choice.
    #[test]
    fn error_size_is_pinned() {
        assert_eq!(std::mem::size_of::<Error>(), 48);
    }
}
