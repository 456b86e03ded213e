//! The execution rules pinned on the real interpreter, with and without fuel:
//! each assertion passes when Kiln does what it says and fails when a script
//! says otherwise, so a pass can never come from a check that was not made.

use kiln::{Caller, Exn, Func, FuncType, Strategy, Tag, Trap, Val, ValType};
use kiln_parser::Features;
use wast::{WastDirective, WastExecute};

use crate::api_executor::ApiExecutor;
use crate::engine::Engine;
use crate::exec::Executor;
use crate::rejection::Rejection;
use crate::report::FileReport;
use crate::run::{directive_name, run_wast, values};
use crate::tier::Tier;
use crate::tier_engine::TierEngine;

/// Runs `text` on the interpreter in both fuel modes, checks that they agree,
/// and returns the report without fuel.
fn run(text: &str) -> FileReport {
    let features = Features {
        multi_memory: true,
        ..Features::WASM2
    };
    let plain = run_wast(
        &TierEngine::new(Tier::Interp),
        features,
        "inline.wast",
        text,
    );
    let fuel = run_wast(
        &TierEngine::new(Tier::InterpFuel),
        features,
        "inline.wast",
        text,
    );
    assert_eq!(plain.counts, fuel.counts, "fuel changed the counts");
    assert_eq!(plain.failures, fuel.failures, "fuel changed the failures");
    plain
}

/// (passed, failed, skipped)
fn pfs(r: &FileReport) -> (usize, usize, usize) {
    (r.counts.passed, r.counts.failed, r.counts.skipped)
}

fn failure(r: &FileReport, i: usize) -> String {
    r.failures
        .get(i)
        .map(ToString::to_string)
        .unwrap_or_default()
}

const ADD: &str = r#"(module $m
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
    (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
    (func (export "nan64") (result f64) (f64.const nan:0x4))
    (func (export "two") (result i32 i64) (i32.const 1) (i64.const 2))
    (func $loop (export "loop") (call $loop))
    (global (export "g") i32 (i32.const 7)))"#;

#[test]
fn assert_return_compares_exactly() {
    let text = format!(
        r#"{ADD}
        (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
        (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
        (assert_return (invoke "two") (i32.const 1) (i64.const 2))
        (assert_return (invoke "two") (i32.const 1))
        (assert_return (invoke "two") (i32.const 1) (i32.const 2))
        (assert_return (invoke "nan") (f32.const nan:arithmetic))
        (assert_return (invoke "nan64") (f64.const nan:canonical))
        (assert_return (invoke "nan64") (f64.const nan:arithmetic))
        (assert_return (invoke "nan64") (f64.const nan:0x4))
        (assert_return (invoke "add" (i32.const 0) (i32.const 0)) (either (i32.const 1) (i32.const 0)))
        (assert_return (invoke "add" (i32.const 0) (i32.const 0)) (either (i32.const 1) (i32.const 2)))
        (assert_return (get "g") (i32.const 7))
        (assert_return (get $m "g") (i32.const 8))
        (invoke "add" (i32.const 1) (i32.const 2))
        (invoke "add" (i64.const 1) (i32.const 2))
        "#
    );
    let r = run(&text);
    assert_eq!(pfs(&r), (8, 8, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("inline.wast:10:10: assert_return: result 0"));
    assert!(failure(&r, 1).contains("expected 1 results"));
    // The wrong type is a failure, not a match of the bits.
    assert!(failure(&r, 2).contains("result 1"));
    // A non-canonical NaN is arithmetic only when its quiet bit is set.
    assert!(
        failure(&r, 3).contains("F64(Canonical)"),
        "{}",
        failure(&r, 3)
    );
    assert!(
        failure(&r, 4).contains("F64(Arithmetic)"),
        "{}",
        failure(&r, 4)
    );
    assert!(failure(&r, 7).contains("invoke: the call failed: type mismatch"));
}

#[test]
fn assert_trap_needs_a_trap_with_the_message() {
    let text = format!(
        r#"{ADD}
        (assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer divide by zero")
        (assert_trap (invoke "div" (i32.const 1) (i32.const 0)) "integer overflow")
        (assert_trap (invoke "div" (i32.const 1) (i32.const 1)) "integer divide by zero")
        (assert_trap (module (func $f unreachable) (start $f)) "unreachable")
        (assert_trap (module (func $f) (start $f)) "unreachable")
        (assert_trap (module (memory 0) (data (i32.const 1) "x")) "out of bounds memory access")
        (invoke "div" (i32.const 1) (i32.const 0))
        "#
    );
    let r = run(&text);
    assert_eq!(pfs(&r), (4, 4, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("trapped with \"integer divide by zero\""));
    assert!(failure(&r, 1).contains("returned [i32 1] instead of trapping"));
    assert!(failure(&r, 2).contains("assert_trap"));
    assert!(failure(&r, 3).contains("invoke: the call failed: trapped"));
}

#[test]
fn exhaustion_and_linking() {
    let text = format!(
        r#"{ADD}
        (assert_exhaustion (invoke "loop") "call stack exhausted")
        (assert_exhaustion (invoke "add" (i32.const 1) (i32.const 1)) "call stack exhausted")
        (assert_trap (invoke "loop") "call stack exhausted")
        (assert_unlinkable (module (import "nowhere" "f" (func))) "unknown import")
        (assert_unlinkable (module (import "spectest" "print_i32" (func (param i64)))) "incompatible import type")
        (assert_unlinkable (module (import "spectest" "print_i32" (func (param i32)))) "unknown import")
        (assert_unlinkable (module (func (result i32))) "type mismatch")
        "#
    );
    let r = run(&text);
    assert_eq!(pfs(&r), (5, 3, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("returned [i32 2]"));
    assert!(failure(&r, 1).contains("linked a module that must be unlinkable"));
    assert!(failure(&r, 2).contains("must be valid"));
}

#[test]
fn names_registration_and_definitions() {
    let text = r#"
        (module $a (global (export "g") (mut i32) (i32.const 1))
            (func (export "get") (result i32) (global.get 0)))
        (register "a" $a)
        (module $b (import "a" "g" (global (mut i32)))
            (func (export "set") (global.set 0 (i32.const 5))))
        (invoke $b "set")
        (assert_return (invoke $a "get") (i32.const 5))
        (assert_return (invoke "get") (i32.const 5))
        (register "a" $b)
        (module definition $d (func (export "f") (result i32) (i32.const 9)))
        (module instance $i $d)
        (assert_return (invoke $i "f") (i32.const 9))
        (assert_return (invoke $nope "f") (i32.const 9))
        (assert_return (invoke "f") (ref.null extern))
    "#;
    let r = run(text);
    // `invoke "get"` runs on $b, the current module, which has no `get`.
    assert_eq!(pfs(&r), (9, 3, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("no exported function `get`"));
    assert!(failure(&r, 1).contains("no module named $nope"));
    assert!(failure(&r, 2).contains("expected RefNull"));
}

#[test]
fn references_and_externref_payloads() {
    let text = r#"
        (module
          (table $t 2 externref)
          (func (export "id") (param externref) (result externref) (local.get 0))
          (func (export "put") (param externref) (table.set $t (i32.const 1) (local.get 0)))
          (func (export "take") (result externref) (table.get $t (i32.const 1)))
          (func $f (export "f"))
          (func (export "fref") (result funcref) (ref.func $f))
          (func (export "null") (result funcref) (ref.null func)))
        (assert_return (invoke "id" (ref.extern 1)) (ref.extern 1))
        (assert_return (invoke "id" (ref.extern 1)) (ref.extern 2))
        (assert_return (invoke "id" (ref.extern 1)) (ref.extern))
        (assert_return (invoke "id" (ref.null extern)) (ref.null extern))
        (assert_return (invoke "id" (ref.null extern)) (ref.extern))
        (invoke "put" (ref.extern 42))
        (assert_return (invoke "take") (ref.extern 42))
        (assert_return (invoke "fref") (ref.func))
        (assert_return (invoke "fref") (ref.null func))
        (assert_return (invoke "null") (ref.null func))
        (assert_return (invoke "null") (ref.null extern))
    "#;
    let r = run(text);
    assert_eq!(pfs(&r), (8, 4, 0), "{:#?}", r.failures);
}

#[test]
fn simd_runs_and_vectors_are_checked_lane_by_lane() {
    let text = r#"
        (module $s (func (export "v") (result v128) (v128.const i32x4 0 0 0 0))
            (func (export "i") (result i32) (i32.const 1)))
        (assert_return (invoke "i") (i32.const 1))
        (assert_return (invoke "v") (v128.const i32x4 0 0 0 0))
        (assert_return (invoke "v") (v128.const i32x4 0 1 0 0))
        (register "s" $s)
        (module (import "s" "i" (func (result i32))))
        (assert_unlinkable (module (import "s" "i" (func (result i64)))) "incompatible import type")
        (module $broken (func (export "i") (result i32) (i32.const 1)) (start 0))
        (assert_return (invoke $broken "i") (i32.const 1))
        (module $ok (func (export "f") (param v128) (result i32)
            (i32x4.extract_lane 1 (local.get 0))))
        (assert_return (invoke "f" (v128.const i32x4 0 7 0 0)) (i32.const 7))
    "#;
    let r = run(text);
    // Nothing is skipped: the wrong lane fails, as do the module that fails
    // to validate and the call on it.
    assert_eq!(pfs(&r), (8, 3, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("result 0"), "{:#?}", r.failures);
    assert!(failure(&r, 1).contains("module: the module did not instantiate"));
    assert!(failure(&r, 2).contains("did not instantiate"));
}

#[test]
fn validation_directives_run_on_the_execution_tier() {
    let text = r#"
        (assert_invalid (module (func (result i32))) "type mismatch")
        (assert_invalid (module (func (result i32) (i32.const 0))) "type mismatch")
        (assert_malformed (module binary "\00asm\02\00\00\00") "unknown binary version")
        (assert_malformed (module quote "(func (i32.const))") "unexpected token")
    "#;
    let r = run(text);
    assert_eq!(pfs(&r), (3, 1, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("accepted a invalid module"));
    assert_eq!(TierEngine::new(Tier::InterpFuel).name(), "interp-fuel");
}

/// The features of the suites written against 3.0 (`exceptions`).
const WASM3ISH: Features = Features {
    exceptions: true,
    function_references: true,
    tail_call: true,
    ..Features::WASM2
};

/// The interpreter, with a host module `host` the scripts import from:
/// `tag`, a tag of `[i32]`, and `throw`, a function of `[i32] -> []` that
/// throws an exception of `tag` carrying its argument. Exceptions then
/// reach the harness from code the tiers run today (no `throw` in it).
struct WithThrowingHost;

impl Engine for WithThrowingHost {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn validate(&self, bytes: &[u8], features: Features) -> Result<(), Rejection> {
        TierEngine::new(Tier::Interp).validate(bytes, features)
    }

    fn executor(&self, features: Features) -> Result<Option<Box<dyn Executor>>, String> {
        let mut executor = ApiExecutor::new(Strategy::Interpreter, features, false, true)
            .map_err(|e| e.to_string())?;
        executor
            .register_host("host", |store| {
                let ty = FuncType {
                    params: [ValType::I32].into(),
                    results: [].into(),
                };
                let tag = Tag::new(&mut *store, &ty)?;
                let throw = Func::wrap(
                    store,
                    move |mut caller: Caller<'_, ()>, x: i32| -> Result<(), Trap> {
                        let exn = Exn::new(&mut caller, &tag, &[Val::I32(x)])
                            .map_err(|e| Trap::host(e.to_string()))?;
                        Err(exn.into())
                    },
                );
                Ok(vec![
                    ("tag".to_string(), tag.into()),
                    ("throw".to_string(), throw.into()),
                ])
            })
            .map_err(|e| e.to_string())?;
        Ok(Some(Box::new(executor)))
    }
}

#[test]
fn assert_exception_needs_an_uncaught_exception() {
    let text = r#"
        (module $m
          (import "host" "throw" (func $throw (param i32)))
          (import "host" "tag" (tag $e (param i32)))
          (export "e" (tag $e))
          (func (export "throw") (param i32) (call $throw (local.get 0)))
          (func (export "ok") (result i32) (i32.const 1))
          (func (export "trap") (unreachable)))
        (assert_exception (invoke "throw" (i32.const 1)))
        (assert_exception (module
          (import "host" "throw" (func $t (param i32)))
          (func $s (call $t (i32.const 0)))
          (start $s)))
        (register "m" $m)
        (module (import "m" "e" (tag (param i32))))
        (assert_unlinkable (module (import "m" "e" (tag (param i64)))) "incompatible import type")
        (assert_unlinkable (module (import "m" "e" (func (param i32)))) "incompatible import type")
        (assert_exception (invoke $m "ok"))
        (assert_exception (invoke $m "trap"))
        (assert_trap (invoke $m "throw" (i32.const 1)) "unreachable")
        (assert_return (invoke $m "throw" (i32.const 1)))
        (assert_exception (get $m "e"))
        (assert_unlinkable (module (import "m" "e" (tag (param i32)))) "incompatible import type")
    "#;
    let r = run_wast(&WithThrowingHost, WASM3ISH, "inline.wast", text);
    assert_eq!(pfs(&r), (7, 6, 0), "{:#?}", r.failures);
    assert!(failure(&r, 0).contains("returned [i32 1] instead of throwing"));
    assert!(failure(&r, 1).contains("expected an uncaught exception: trapped: unreachable"));
    assert!(failure(&r, 2).contains("expected the trap \"unreachable\": an uncaught exception"));
    assert!(failure(&r, 3).contains("expected a return: an uncaught exception"));
    assert!(failure(&r, 4).contains("reading a global cannot throw"));
    assert!(failure(&r, 5).contains("linked a module that must be unlinkable"));
}

#[test]
fn typed_references_cross_as_arguments_and_results() {
    let text = r#"
        (module
          (type $t (func (result i32)))
          (func $f (type $t) (i32.const 7))
          (elem declare func $f)
          (func (export "null-t") (result (ref null $t)) (ref.null $t))
          (func (export "is-null") (param (ref null $t)) (result i32) (ref.is_null (local.get 0)))
          (func (export "f") (result (ref $t)) (ref.func $f))
          (func (export "null-exn") (result exnref) (ref.null exn))
          (func (export "id-exn") (param exnref) (result exnref) (local.get 0)))
        (assert_return (invoke "null-t") (ref.null nofunc))
        (assert_return (invoke "null-t") (ref.null func))
        (assert_return (invoke "null-t") (ref.null))
        (assert_return (invoke "is-null" (ref.null $t)) (i32.const 1))
        (assert_return (invoke "is-null" (ref.null nofunc)) (i32.const 1))
        (assert_return (invoke "f") (ref.func $f))
        (assert_return (invoke "f") (ref.func))
        (assert_return (invoke "null-exn") (ref.null exn))
        (assert_return (invoke "null-exn") (ref.null noexn))
        (assert_return (invoke "id-exn" (ref.null exn)) (ref.null))
        (assert_return (invoke "null-t") (ref.null extern))
        (assert_return (invoke "is-null" (ref.null extern)) (i32.const 1))
        (assert_return (invoke "null-exn") (ref.null func))
        (assert_return (invoke "f") (ref.null func))
    "#;
    for tier in [Tier::Interp, Tier::InterpFuel] {
        let r = run_wast(&TierEngine::new(tier), WASM3ISH, "inline.wast", text);
        assert_eq!(pfs(&r), (11, 4, 0), "{:#?}", r.failures);
        assert!(failure(&r, 0).contains("expected RefNull(Some(Extern))"));
        assert!(failure(&r, 1).contains("type mismatch"));
        assert!(failure(&r, 2).contains("got ref.null exn"));
        assert!(failure(&r, 3).contains("got ref.func"));
    }
}

/// Every argument and expected result of every file the executing tiers
/// run is one the harness can make or check, and every directive one it
/// runs, so that a failure on a tier can only be the tier's. (The files only
/// the validate tier runs, GC's, pass and expect GC values, which the
/// harness learns with the tiers.)
#[test]
fn every_directive_of_every_suite_is_expressible() {
    let mut problems = Vec::new();
    for suite in crate::suite::SUITES {
        for file in suite.files_for(crate::Tier::Interp) {
            let mut lexer = wast::lexer::Lexer::new(file.text);
            lexer.allow_confusing_unicode(true);
            let buf = match wast::parser::ParseBuffer::new_with_lexer(lexer) {
                Ok(buf) => buf,
                Err(e) => {
                    problems.push(format!("{}/{}: {e}", suite.name, file.name));
                    continue;
                }
            };
            let wast = match wast::parser::parse::<wast::Wast<'_>>(&buf) {
                Ok(wast) => wast,
                Err(e) => {
                    problems.push(format!("{}/{}: {e}", suite.name, file.name));
                    continue;
                }
            };
            for directive in &wast.directives {
                if let Err(why) = expressible(directive) {
                    problems.push(format!("{}/{}: {why}", suite.name, file.name));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Whether the harness can translate what `directive` passes and expects.
fn expressible(directive: &WastDirective<'_>) -> Result<(), String> {
    let args = |exec: &WastExecute<'_>| match exec {
        WastExecute::Invoke(call) => values::args(&call.args).map(drop),
        WastExecute::Get { .. } | WastExecute::Wat(_) => Ok(()),
    };
    match directive {
        WastDirective::Invoke(call) | WastDirective::AssertExhaustion { call, .. } => {
            values::args(&call.args).map(drop)
        }
        WastDirective::AssertReturn { exec, results, .. } => {
            args(exec)?;
            values::expected(results).map(drop)
        }
        WastDirective::AssertTrap { exec, .. } | WastDirective::AssertException { exec, .. } => {
            args(exec)
        }
        WastDirective::AssertInvalidCustom { .. }
        | WastDirective::AssertMalformedCustom { .. }
        | WastDirective::AssertSuspension { .. }
        | WastDirective::Thread(_)
        | WastDirective::Wait { .. } => Err(format!(
            "a `{}` directive, which the harness does not run",
            directive_name(directive)
        )),
        WastDirective::Module(_)
        | WastDirective::ModuleDefinition(_)
        | WastDirective::ModuleInstance { .. }
        | WastDirective::AssertMalformed { .. }
        | WastDirective::AssertInvalid { .. }
        | WastDirective::Register { .. }
        | WastDirective::AssertUnlinkable { .. } => Ok(()),
    }
}
