//! The `parse_validate` target: arbitrary bytes through Kiln's parser and
//! validator, which must never panic and must accept exactly the modules
//! `wasmparser`'s validator accepts under the same features: everything Kiln
//! parses, GC included.

use kiln_parser::Features;

use crate::{Finding, catch};

/// The features every input is checked under: everything Kiln parses and
/// validates.
const FEATURES: Features = Features::ALL_WITH_GC;

/// Kiln's verdict on `bytes`: `Ok` or the error message, with the stage.
pub(crate) fn kiln_verdict(bytes: &[u8]) -> Result<(), String> {
    let module =
        kiln_parser::parse(bytes, FEATURES).map_err(|e| format!("malformed (parser): {e}"))?;
    kiln_validator::validate(&module, FEATURES)
        .map(drop)
        .map_err(|e| match e {
            kiln_validator::ModuleError::Malformed(e) => format!("malformed (body): {e}"),
            kiln_validator::ModuleError::Invalid(e) => format!("invalid (validator): {e}"),
        })
}

/// `wasmparser`'s verdict on `bytes` under the equivalent features.
pub(crate) fn oracle_verdict(bytes: &[u8]) -> Result<(), String> {
    let features = FEATURES.to_wasmparser();
    wasmparser::Validator::new_with_features(features)
        .validate_all(bytes)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Checks one input; `Ok` when Kiln did not panic and agreed with the oracle.
///
/// # Errors
///
/// The panic, or both verdicts when they disagree.
pub fn parse_validate_outcome(bytes: &[u8]) -> Result<(), Finding> {
    compare_verdicts(bytes)
}

/// Both validators' verdicts on `bytes`: `Ok` when Kiln did not panic and
/// agreed.
pub(crate) fn compare_verdicts(bytes: &[u8]) -> Result<(), Finding> {
    let kiln = catch("kiln-parser/kiln-validator", || kiln_verdict(bytes))?;
    let oracle = oracle_verdict(bytes);
    match (&kiln, &oracle) {
        (Ok(()), Ok(())) | (Err(_), Err(_)) => Ok(()),
        _ => Err(Finding(format!(
            "Kiln and wasmparser disagree on a {}-byte module\n  Kiln:       {}\n  wasmparser: {}",
            bytes.len(),
            describe(&kiln),
            describe(&oracle),
        ))),
    }
}

/// The `parse_validate` fuzz target's body.
///
/// # Panics
///
/// On every finding (see [`parse_validate_outcome`]).
pub fn check_parse_validate(bytes: &[u8]) {
    if let Err(finding) = parse_validate_outcome(bytes) {
        panic!("{finding}");
    }
}

fn describe(verdict: &Result<(), String>) -> &str {
    match verdict {
        Ok(()) => "accepted",
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_validate_outcome;

    fn outcome(wat: &str) -> Result<(), crate::Finding> {
        parse_validate_outcome(&wat::parse_str(wat).expect("the module is well-formed text"))
    }

    /// Regression: `wasmparser` without GC rejects recursion groups and
    /// declared subtypes, which Kiln accepts with typed function references.
    #[test]
    fn recursion_groups_and_subtypes_agree() {
        outcome("(module (rec (type $a (func)) (type $b (func (param (ref null $a))))))")
            .expect("both accept");
        outcome("(module (type $s (sub (func))) (type (sub $s (func))))").expect("both accept");
        // Invalid on both: a subtype of a final type.
        outcome("(module (type $s (func)) (type (sub $s (func))))").expect("both reject");
    }

    /// GC's types and instructions are validated as `wasmparser` does.
    #[test]
    fn gc_modules_agree() {
        outcome("(module (type (struct (field i32))))").expect("both accept");
        outcome("(module (func (result i31ref) (ref.i31 (i32.const 1))))").expect("both accept");
        // Invalid on both: a struct.set of an immutable field.
        outcome(
            "(module (type $s (struct (field i32)))
               (func (param (ref $s)) (struct.set $s 0 (local.get 0) (i32.const 1))))",
        )
        .expect("both reject");
    }
}
