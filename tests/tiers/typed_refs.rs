//! Typed function references: `call_ref` and `return_call_ref`, the null
//! branches and `ref.as_non_null`, and `call_indirect` to declared subtypes.

use kiln::{TrapCode, Val};
use kiln_runtime::StoreLimits;

use crate::raw::{self, RawProgram};
use crate::{Program, Tier, code};

tier_tests!(
    call_ref_calls_a_function_and_traps_on_null,
    return_call_ref_recursion_keeps_the_depth,
    br_on_null_and_br_on_non_null_branch_by_nullness,
    ref_as_non_null_traps_on_null,
    call_indirect_accepts_declared_subtypes_only,
    modules_declare_subtypes,
);

const REFS: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (func $double (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (elem declare func $double $count)
  ;; A reference to $double for a nonzero argument, else null.
  (func $pick (param i32) (result (ref null $ii))
    (if (result (ref null $ii)) (local.get 0)
      (then (ref.func $double))
      (else (ref.null $ii))))
  (func (export "call") (param i32 i32) (result i32)
    (call_ref $ii (local.get 1) (call $pick (local.get 0))))
  (func $count (type $ii)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 42))
      (else (return_call_ref $ii (i32.sub (local.get 0) (i32.const 1)) (ref.func $count)))))
  (func (export "count") (param i32) (result i32) (call $count (local.get 0)))
  ;; null: -1; else $double(21).
  (func (export "on_null") (param i32) (result i32)
    (block $is_null
      (return (call_ref $ii (i32.const 21) (br_on_null $is_null (call $pick (local.get 0))))))
    (i32.const -1))
  ;; A label carrying a value: null gives 7, else $double(7).
  (func (export "on_null_value") (param i32) (result i32)
    (block $is_null (result i32)
      (i32.const 7)
      (call $pick (local.get 0))
      (br_on_null $is_null)
      (call_ref $ii)))
  ;; Non-null: $double(5); null: -2.
  (func (export "on_non_null") (param i32) (result i32)
    (call_ref $ii (i32.const 5)
      (block $has (result (ref $ii))
        (br_on_non_null $has (call $pick (local.get 0)))
        (return (i32.const -2)))))
  ;; A label carrying a value below the reference: $double(9), or -3.
  (func (export "on_non_null_value") (param i32) (result i32)
    (block $has (result i32 (ref $ii))
      (i32.const 9)
      (call $pick (local.get 0))
      (br_on_non_null $has)
      (drop)
      (return (i32.const -3)))
    (call_ref $ii))
  (func (export "as_non_null") (param i32) (result i32)
    (call_ref $ii (i32.const 4) (ref.as_non_null (call $pick (local.get 0)))))
)"#;

fn call_ref_calls_a_function_and_traps_on_null(tier: Tier) {
    let mut p = Program::load(tier, REFS);
    assert_eq!(
        p.call("call", &[Val::I32(1), Val::I32(21)]),
        Ok(vec![Val::I32(42)])
    );
    let err = p
        .call("call", &[Val::I32(0), Val::I32(21)])
        .expect_err("null");
    assert_eq!(err.code(), Some(TrapCode::NullFunctionReference));
    assert!(err.to_string().contains("null function reference"), "{err}");
}

fn return_call_ref_recursion_keeps_the_depth(tier: Tier) {
    // Every step is a tail call: far more steps than the depth limit allows frames.
    let options = raw::Options {
        limits: StoreLimits {
            max_call_depth: 100,
            ..StoreLimits::default()
        },
        ..raw::Options::default()
    };
    let mut p = RawProgram::try_load(REFS, tier, options).expect("compile");
    assert_eq!(
        p.call("count", &[Val::I32(100_000)]),
        Ok(vec![Val::I32(42)])
    );
    assert_eq!(p.store.depth, 0);
    tier.assert_native_stack_flat();
}

fn br_on_null_and_br_on_non_null_branch_by_nullness(tier: Tier) {
    let mut p = Program::load(tier, REFS);
    for (name, non_null, null) in [
        ("on_null", 42, -1),
        ("on_null_value", 14, 7),
        ("on_non_null", 10, -2),
        ("on_non_null_value", 18, -3),
    ] {
        assert_eq!(
            p.call(name, &[Val::I32(1)]),
            Ok(vec![Val::I32(non_null)]),
            "{name}"
        );
        assert_eq!(
            p.call(name, &[Val::I32(0)]),
            Ok(vec![Val::I32(null)]),
            "{name}"
        );
    }
}

fn ref_as_non_null_traps_on_null(tier: Tier) {
    let mut p = Program::load(tier, REFS);
    assert_eq!(p.call("as_non_null", &[Val::I32(1)]), Ok(vec![Val::I32(8)]));
    let err = p.call("as_non_null", &[Val::I32(0)]).expect_err("null");
    assert_eq!(err.code(), Some(TrapCode::NullReference));
    assert!(err.to_string().contains("null reference"), "{err}");
}

/// `call_indirect` to a function whose type declares the expected one as a
/// supertype. The parser cannot produce such a module yet (`wasmparser` wants
/// the GC proposal for `sub` types), so the store is told the relation
/// directly: the callee's `[funcref] -> [i32]` declares the expected
/// `[externref] -> [i32]` as its supertype (both pass an `i32` to compiled
/// code). With the relation the call succeeds; without it, and for an
/// unrelated type, it traps.
fn call_indirect_accepts_declared_subtypes_only(tier: Tier) {
    let wat = r#"(module
      (type $sub (func (param funcref) (result i32)))
      (type $super (func (param externref) (result i32)))
      (type $other (func (param i64) (result i32)))
      (func $f (type $sub) (ref.is_null (local.get 0)))
      (table 1 funcref)
      (elem (i32.const 0) $f)
      (func (export "as_sub") (result i32)
        (call_indirect (type $sub) (ref.null func) (i32.const 0)))
      (func (export "as_super") (result i32)
        (call_indirect (type $super) (ref.null extern) (i32.const 0)))
      (func (export "as_super_tail") (result i32)
        (return_call_indirect (type $super) (ref.null extern) (i32.const 0)))
      (func (export "as_other") (result i32)
        (call_indirect (type $other) (i64.const 0) (i32.const 0))))"#;
    let mut p = RawProgram::load(wat, tier);
    assert_eq!(p.call("as_sub", &[]), Ok(vec![Val::I32(1)]));
    assert_eq!(
        code(p.call("as_super", &[])),
        Some(TrapCode::IndirectCallTypeMismatch)
    );
    let sigs = p.store.instances[p.instance.index()].sigs.clone();
    let (sub, sup) = (sigs[0], sigs[1]);
    assert_ne!(sub, sup);
    p.store.sig_supers[sub.index()] = Some(sup);
    for name in ["as_super", "as_super_tail", "as_sub"] {
        assert_eq!(p.call(name, &[]), Ok(vec![Val::I32(1)]), "{name}");
    }
    assert_eq!(
        code(p.call("as_other", &[])),
        Some(TrapCode::IndirectCallTypeMismatch)
    );
}

/// A module's own `sub` declarations: a function of a declared subtype
/// passes `call_indirect` and `call_ref` for its supertype, one of an
/// equivalent type that is not declared a subtype does not (regression:
/// `wasmparser`'s reader refused the `sub` encoding without its GC feature,
/// so modules could not declare subtypes at all).
fn modules_declare_subtypes(tier: Tier) {
    let wat = r#"(module
      (type $super (sub (func (result i32))))
      (type $sub (sub final $super (func (result i32))))
      (type $plain (func (result i32)))
      (func $f (type $sub) (i32.const 7))
      (func $g (type $plain) (i32.const 8))
      (table 2 funcref)
      (elem (i32.const 0) $f $g)
      (elem declare func $f)
      (func (export "indirect") (param i32) (result i32)
        (call_indirect (type $super) (local.get 0)))
      ;; A (ref $sub) where a (ref $super) is expected: valid by subtyping.
      (func (export "by_ref") (result i32)
        (call_ref $super (ref.func $f))))"#;
    let mut p = Program::load(tier, wat);
    assert_eq!(p.call("indirect", &[Val::I32(0)]), Ok(vec![Val::I32(7)]));
    let err = p
        .call("indirect", &[Val::I32(1)])
        .expect_err("not a subtype");
    assert_eq!(err.code(), Some(TrapCode::IndirectCallTypeMismatch));
    assert_eq!(p.call("by_ref", &[]), Ok(vec![Val::I32(7)]));
}
