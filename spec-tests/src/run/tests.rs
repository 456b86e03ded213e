//! The classification cannot pass silently: each rule is pinned with an inline
//! `.wast` text and engines that accept, reject or panic on everything.

use kiln_parser::Features;
use kiln_validator::{ValidationError, ValidationErrorKind};

use super::run_wast;
use crate::engine::Engine;
use crate::rejection::Rejection;
use crate::report::FileReport;
use crate::tier::Tier;
use crate::tier_engine::TierEngine;

/// Accepts every module, like a validator stub.
struct AcceptAll;

impl Engine for AcceptAll {
    fn name(&self) -> &'static str {
        "accept-all"
    }
    fn validate(&self, _: &[u8], _: Features) -> Result<(), Rejection> {
        Ok(())
    }
}

/// Rejects every module with "type mismatch".
struct RejectAll;

impl Engine for RejectAll {
    fn name(&self) -> &'static str {
        "reject-all"
    }
    fn validate(&self, _: &[u8], _: Features) -> Result<(), Rejection> {
        Err(Rejection::Validate(ValidationError::new(
            ValidationErrorKind::TypeMismatch,
            0,
        )))
    }
}

/// Panics on every module.
struct PanicAll;

impl Engine for PanicAll {
    fn name(&self) -> &'static str {
        "panic-all"
    }
    fn validate(&self, _: &[u8], _: Features) -> Result<(), Rejection> {
        panic!("deliberate panic from the test engine")
    }
}

/// The real validate tier.
const VALIDATE: TierEngine = TierEngine::new(Tier::Validate);

fn run(engine: &dyn Engine, text: &str) -> FileReport {
    run_wast(engine, Features::WASM2, "inline.wast", text)
}

/// (passed, failed, skipped)
fn pfs(r: &FileReport) -> (usize, usize, usize) {
    (r.counts.passed, r.counts.failed, r.counts.skipped)
}

#[test]
fn assert_invalid_on_an_accepted_module_fails() {
    let text = r#"(assert_invalid (module (func)) "type mismatch")"#;
    for engine in [&VALIDATE as &dyn Engine, &AcceptAll] {
        let r = run(engine, text);
        assert_eq!(pfs(&r), (0, 1, 0), "{}", engine.name());
        assert!(!r.is_ok());
        assert_eq!(r.failures.len(), 1);
        assert!(
            r.failures[0]
                .to_string()
                .starts_with("inline.wast:1:2: assert_invalid: accepted"),
            "{:?}",
            r.failures
        );
    }
}

#[test]
fn execution_directives_are_skipped_never_passed() {
    let text = r#"
        (module $m (func (export "f") (result i32) (i32.const 1)))
        (register "m" $m)
        (invoke "f")
        (assert_return (invoke "f") (i32.const 1))
        (assert_trap (invoke "f") "unreachable")
        (assert_exhaustion (invoke "f") "call stack exhausted")
        (assert_return (get "g") (i32.const 1))
    "#;
    for engine in [&VALIDATE as &dyn Engine, &AcceptAll] {
        let r = run(engine, text);
        assert_eq!(pfs(&r), (1, 0, 6), "{}: {:?}", engine.name(), r.failures);
    }
    // With a tier that rejects everything, only the module fails; the rest
    // stays skipped rather than turning into passes or failures.
    let r = run(&RejectAll, text);
    assert_eq!(pfs(&r), (0, 1, 6));
}

#[test]
fn malformed_binary_must_be_rejected_by_kiln() {
    // A bad version number: only Kiln's parser can notice it.
    let text =
        r#"(assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")"#;
    let accepted = run(&AcceptAll, text);
    assert_eq!(pfs(&accepted), (0, 1, 0));
    assert!(
        accepted.failures[0]
            .to_string()
            .contains("accepted a malformed module")
    );

    let real = run(&VALIDATE, text);
    assert_eq!(pfs(&real), (1, 0, 0), "{:?}", real.failures);
    assert_eq!(real.counts.message_total, 1);
}

#[test]
fn malformed_text_rejected_by_the_text_parser_passes() {
    // No engine sees the module, so no message is compared.
    let text = r#"(assert_malformed (module quote "(func (i32.const))") "unexpected token")"#;
    let r = run(&AcceptAll, text);
    assert_eq!(pfs(&r), (1, 0, 0));
    assert_eq!(r.counts.message_total, 0);
}

#[test]
fn malformed_text_that_encodes_still_needs_a_rejection() {
    // Well-formed text: the assertion now rests on Kiln alone.
    let text = r#"(assert_malformed (module quote "(func)") "whatever")"#;
    assert_eq!(pfs(&run(&AcceptAll, text)), (0, 1, 0));
    assert_eq!(pfs(&run(&RejectAll, text)), (1, 0, 0));
}

#[test]
fn assert_invalid_that_cannot_encode_is_a_harness_failure() {
    let text = r#"(assert_invalid (module quote "(func (local.get $nope))") "unknown local")"#;
    let r = run(&RejectAll, text);
    assert_eq!(pfs(&r), (0, 1, 0));
    assert!(
        r.failures[0].to_string().contains("cannot encode"),
        "{:?}",
        r.failures
    );
}

#[test]
fn messages_are_counted_but_never_decide() {
    let text = r#"
        (assert_invalid (module (func)) "type mismatch")
        (assert_invalid (module (func)) "unknown local")
    "#;
    let r = run(&RejectAll, text);
    assert_eq!(pfs(&r), (2, 0, 0));
    assert_eq!((r.counts.message_matches, r.counts.message_total), (1, 2));
}

#[test]
fn a_valid_module_rejected_fails() {
    let r = run(&RejectAll, "(module (func))");
    assert_eq!(pfs(&r), (0, 1, 0));
    assert!(
        r.failures[0]
            .to_string()
            .contains("rejected a valid module: invalid module: type mismatch")
    );
    assert_eq!(pfs(&run(&VALIDATE, "(module (func))")), (1, 0, 0));
}

#[test]
fn a_panic_is_a_failure_whatever_the_directive() {
    let text = r#"
        (module (func))
        (assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
        (assert_invalid (module (func)) "type mismatch")
        (assert_unlinkable (module (import "m" "f" (func))) "unknown import")
    "#;
    let r = run(&PanicAll, text);
    assert_eq!(pfs(&r), (0, 4, 0), "{:?}", r.failures);
    assert!(
        r.failures
            .iter()
            .all(|f| f.to_string().contains("Kiln panicked"))
    );
}

#[test]
fn embedded_modules_must_be_valid_but_never_pass() {
    let text = r#"
        (assert_unlinkable (module (import "m" "f" (func))) "unknown import")
        (assert_trap (module (func $f unreachable) (start $f)) "unreachable")
    "#;
    let accepted = run(&VALIDATE, text);
    assert_eq!(pfs(&accepted), (0, 0, 2), "{:?}", accepted.failures);
    assert_eq!(
        (
            accepted.counts.embedded_valid,
            accepted.counts.embedded_total
        ),
        (2, 2)
    );

    let rejected = run(&RejectAll, text);
    assert_eq!(pfs(&rejected), (0, 2, 0));
    assert_eq!(
        (
            rejected.counts.embedded_valid,
            rejected.counts.embedded_total
        ),
        (0, 2)
    );
}

#[test]
fn an_unparsable_file_is_one_failure() {
    let r = run(&AcceptAll, "(module (func)) (assert_return");
    assert_eq!(pfs(&r), (0, 1, 0));
    assert!(
        r.failures[0]
            .to_string()
            .starts_with("inline.wast: wast: cannot parse the file")
    );
}

#[test]
fn locations_are_one_based_lines_and_columns() {
    let text = "(module (func))\n\n  (assert_invalid (module (func)) \"type mismatch\")\n";
    let r = run(&AcceptAll, text);
    assert_eq!(r.failures.len(), 1);
    assert!(
        r.failures[0]
            .to_string()
            .starts_with("inline.wast:3:4: assert_invalid"),
        "{:?}",
        r.failures
    );
}
