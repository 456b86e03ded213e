//! The `wat` target: arbitrary input through `kiln::validate`, the path the
//! CLI takes for a file, which reads text with the `wat` crate. Whatever the
//! input, Kiln must answer with `Ok` or an error, never a panic. When the text
//! encodes to a binary, the binary must also pass the `parse_validate` check,
//! so that text the fuzzer finds reaches the validator with an oracle.

use kiln_parser::Features;

use crate::{Finding, catch, parse_validate};

/// Checks one input.
///
/// # Errors
///
/// A panic in `kiln::validate`, or a disagreement with `wasmparser` on the
/// binary the text encodes to.
pub fn wat_outcome(bytes: &[u8]) -> Result<(), Finding> {
    catch("kiln::validate", || {
        kiln::validate(bytes, Features::ALL).map(drop)
    })?
    .ok();
    // Only text is re-checked here: binary input is the other target's.
    if bytes.starts_with(b"\0asm") {
        return Ok(());
    }
    if let Ok(binary) = kiln::wat2wasm(bytes) {
        parse_validate::parse_validate_outcome(&binary)
            .map_err(|f| Finding(format!("on the binary of the text: {f}")))?;
    }
    Ok(())
}

/// The `wat` fuzz target's body.
///
/// # Panics
///
/// On every finding (see [`wat_outcome`]).
pub fn check_wat(bytes: &[u8]) {
    if let Err(finding) = wat_outcome(bytes) {
        panic!("{finding}");
    }
}
