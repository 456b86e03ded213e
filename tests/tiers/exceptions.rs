//! Exception handling: `throw`, `throw_ref` and `try_table`'s clauses, across
//! frames, into and out of the host, with traps that are never caught and the
//! fuel a throw costs.

use std::sync::Arc;

use kiln::{TrapCode, Val};
use kiln_parser::{FuncType, ValType};
use kiln_runtime::{ExnEntity, Extern, HostCaller, StoreLimits, Trap};

use crate::raw::{self, RawProgram, call_export};
use crate::{Program, Tier, code};

tier_tests!(
    throw_is_caught_in_the_same_function,
    throw_is_caught_two_frames_up,
    catch_ref_and_throw_ref_rethrow,
    catch_all_and_catch_all_ref_catch_anything,
    an_inner_try_table_that_does_not_match_passes_to_the_outer,
    payloads_of_several_types_arrive_intact,
    a_catch_above_everything_its_body_pushes_delivers_the_payload,
    an_uncaught_exception_reaches_the_host,
    a_host_exception_is_caught_in_wasm,
    an_exception_crosses_two_host_entries,
    host_callees_through_call_ref_and_tail_calls,
    traps_are_never_caught,
    throwing_costs_the_same_fuel_on_every_tier,
    caught_exceptions_reuse_one_slot_and_kept_ones_stay,
    kept_exceptions_are_limited_per_store,
);

const EXN: &str = r#"(module
  (tag $e (export "e") (param i32))
  (tag $e2 (param i64 f32))
  (func $throw (param i32) (throw $e (local.get 0)))
  (func $middle (param i32) (result i32) (call $throw (local.get 0)) (i32.const 0))
  (func (export "same") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (throw $e (i32.add (local.get 0) (i32.const 1))))
      (i32.const -1)))
  (func (export "two_up") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $middle (local.get 0)))))
  (func $rethrower (param i32) (result i32)
    (block $h (result i32 exnref)
      (try_table (result i32) (catch_ref $e $h) (call $middle (local.get 0)))
      (return))
    (throw_ref))
  (func (export "rethrow") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $rethrower (local.get 0))))
    (i32.const 1000)
    (i32.add))
  (func (export "throw_ref_null") (throw_ref (ref.null exn)))
  (func (export "catch_all") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (drop (call $middle (local.get 0))))
      (return (i32.const -1)))
    (i32.const 77))
  (func (export "catch_all_ref") (param i32) (result i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (drop (call $middle (local.get 0))))
      (return (i32.const -1)))
    (ref.is_null))
  ;; The inner scope catches only $e2; the outer one gets $e, from a call
  ;; ("nested") or from a throw in the inner scope itself ("nested_direct").
  (func (export "nested") (param i32) (result i32)
    (block $outer (result i32)
      (block $inner (result i64 f32)
        (try_table (catch $e $outer)
          (try_table (catch $e2 $inner) (call $throw (local.get 0))))
        (return (i32.const -1)))
      (drop) (drop) (return (i32.const -2))))
  (func (export "nested_direct") (param i32) (result i32)
    (block $outer (result i32)
      (block $inner (result i64 f32)
        (try_table (catch $e $outer)
          (try_table (catch $e2 $inner) (throw $e (local.get 0))))
        (return (i32.const -1)))
      (drop) (drop) (return (i32.const -2))))
  ;; $e2's payload, caught two frames up: x * 10 + f.
  (func $throw2 (param i64 f32) (throw $e2 (local.get 0) (local.get 1)))
  (func (export "payload") (param i64 f32) (result f64) (local f32)
    (block $h (result i64 f32)
      (try_table (catch $e2 $h) (call $throw2 (local.get 0) (local.get 1)))
      (return (f64.const -1)))
    (local.set 2)
    (f64.convert_i64_s)
    (f64.const 10)
    (f64.mul)
    (f64.add (f64.promote_f32 (local.get 2))))
  (func (export "escape") (param i32) (call $throw (local.get 0)))
  ;; A catch clause whose label is a loop: throw until the count reaches x.
  (func (export "retry") (param i32) (result i32) (local i32)
    (loop $again
      (local.set 1 (i32.add (local.get 1) (i32.const 1)))
      (try_table (catch_all $again)
        (if (i32.lt_u (local.get 1) (local.get 0))
          (then (call $throw (local.get 1))))))
    (local.get 1))
)"#;

fn throw_is_caught_in_the_same_function(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(p.call("same", &[Val::I32(41)]), Ok(vec![Val::I32(42)]));
}

fn throw_is_caught_two_frames_up(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(p.call("two_up", &[Val::I32(5)]), Ok(vec![Val::I32(5)]));
    // Again, after the handler ran: the entry is in order.
    assert_eq!(p.call("two_up", &[Val::I32(6)]), Ok(vec![Val::I32(6)]));
}

fn catch_ref_and_throw_ref_rethrow(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(p.call("rethrow", &[Val::I32(3)]), Ok(vec![Val::I32(1003)]));
    let err = p.call("throw_ref_null", &[]).expect_err("null");
    assert_eq!(err.code(), Some(TrapCode::NullExceptionReference));
    assert!(
        err.to_string().contains("null exception reference"),
        "{err}"
    );
}

fn catch_all_and_catch_all_ref_catch_anything(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(p.call("catch_all", &[Val::I32(1)]), Ok(vec![Val::I32(77)]));
    assert_eq!(
        p.call("catch_all_ref", &[Val::I32(1)]),
        Ok(vec![Val::I32(0)])
    );
    // A loop as the clause's label.
    assert_eq!(p.call("retry", &[Val::I32(50)]), Ok(vec![Val::I32(50)]));
}

fn an_inner_try_table_that_does_not_match_passes_to_the_outer(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(p.call("nested", &[Val::I32(9)]), Ok(vec![Val::I32(9)]));
    assert_eq!(
        p.call("nested_direct", &[Val::I32(8)]),
        Ok(vec![Val::I32(8)])
    );
}

fn payloads_of_several_types_arrive_intact(tier: Tier) {
    let mut p = Program::load(tier, EXN);
    assert_eq!(
        p.call("payload", &[Val::I64(-4), Val::F32(0.5f32.to_bits())]),
        Ok(vec![Val::F64((-39.5f64).to_bits())])
    );
}

/// The payload and exnref land at the `try_table`'s height, above anything
/// its body or its label's block pushes (the interpreter's frame once ended
/// below them, which its bytecode verifier caught).
fn a_catch_above_everything_its_body_pushes_delivers_the_payload(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (tag $t (param i32 i32 i32))
          (func $thrower (throw $t (i32.const 1) (i32.const 20) (i32.const 300)))
          (func (export "high") (result i32)
            (i32.const 9000)
            (block $h (result i32 i32 i32 exnref)
              (i32.const 7)
              (i32.const 8)
              (try_table (catch_ref $t $h) (call $thrower))
              (unreachable))
            (drop)
            (i32.add)
            (i32.add)
            (i32.add)))"#,
    );
    assert_eq!(p.call("high", &[]), Ok(vec![Val::I32(9321)]));
}

fn an_uncaught_exception_reaches_the_host(tier: Tier) {
    let mut p = RawProgram::load(EXN, tier);
    let err = p.call("escape", &[Val::I32(17)]).expect_err("uncaught");
    let exn = err.as_exception().expect("an exception, not a trap");
    assert_eq!(err.code(), None);
    let Some(Extern::Tag(tag)) = p.store.instances[p.instance.index()]
        .exports
        .get("e")
        .copied()
    else {
        panic!("no tag export e");
    };
    let entity = &p.store.exns[exn.index()];
    assert_eq!(entity.tag, tag);
    assert_eq!(&*entity.payload, &[Val::I32(17).to_bits()]);
    assert_eq!(p.store.depth, 0);
    // The public API gives the same.
    let mut p = Program::load(tier, EXN);
    let err = p.call("escape", &[Val::I32(17)]).expect_err("uncaught");
    assert!(err.as_exception().is_some());
}

/// A module importing tag `host.e` (`[i32]`) and the host functions
/// `host.throw` (`[i32] -> []`) and `host.reenter` (`[i32] -> [i32]`).
const HOST: &str = r#"(module
  (import "host" "e" (tag $e (param i32)))
  (import "host" "throw" (func $host_throw (param i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (func (export "catch_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $host_throw (local.get 0)))
      (i32.const -1)))
  (func (export "uncaught_host") (param i32) (call $host_throw (local.get 0)))
  (func (export "throws") (param i32) (result i32) (throw $e (local.get 0)))
  (type $i (func (param i32)))
  (type $ii (func (param i32) (result i32)))
  (elem declare func $host_throw $reenter)
  ;; A host function through call_ref, inside a try_table.
  (func (export "call_ref_host") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call_ref $i (local.get 0) (ref.func $host_throw)))
      (i32.const -1)))
  ;; A tail call leaves the try_table with the frame: its catch_all must not
  ;; see what the callee throws; the caller's try_table does.
  (func $tail_ref (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (return_call_ref $ii (local.get 0) (ref.func $reenter))))
    (i32.const -5))
  (func $tail_import (param i32) (result i32)
    (block $h
      (try_table (catch_all $h) (return_call $reenter (local.get 0))))
    (i32.const -5))
  (func (export "tail_ref") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $tail_ref (local.get 0))))
    (i32.const 200)
    (i32.add))
  (func (export "tail_import") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $tail_import (local.get 0))))
    (i32.const 200)
    (i32.add))
  (func (export "outer") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h) (call $reenter (local.get 0))))
    (i32.const 100)
    (i32.add))
)"#;

/// [`HOST`] on `tier`: `host.throw x` throws `e(x + 1)`, `host.reenter x` calls
/// the instance's export `throws` with `x` and passes on its result or exception.
fn host_program(tier: Tier) -> RawProgram {
    RawProgram::with_imports(HOST, tier, |store| {
        let i32_to_none = FuncType {
            params: [ValType::I32].into(),
            results: [].into(),
        };
        let i32_to_i32 = FuncType {
            params: [ValType::I32].into(),
            results: [ValType::I32].into(),
        };
        let sig = store.intern_sig(&i32_to_none);
        let tag = store.add_tag(sig);
        let throw = store.add_host_func(
            &i32_to_none,
            Arc::new(move |caller: HostCaller<'_>, args: &[Val], _: &mut [Val]| {
                let Val::I32(x) = args[0] else {
                    panic!("{args:?}")
                };
                let exn = caller.store.add_exn(ExnEntity {
                    tag,
                    payload: [Val::I32(x + 1).to_bits()].into(),
                });
                Err(Trap::exception(exn))
            }),
        );
        let reenter = store.add_host_func(
            &i32_to_i32,
            Arc::new(
                move |caller: HostCaller<'_>, args: &[Val], results: &mut [Val]| {
                    let instance = caller.instance.expect("called from wasm");
                    let r = call_export(tier, caller.store, caller.data, instance, "throws", args)?;
                    results[0] = r[0];
                    Ok(())
                },
            ),
        );
        vec![Extern::Tag(tag), Extern::Func(throw), Extern::Func(reenter)]
    })
}

fn a_host_exception_is_caught_in_wasm(tier: Tier) {
    let mut p = host_program(tier);
    assert_eq!(p.call("catch_host", &[Val::I32(4)]), Ok(vec![Val::I32(5)]));
    // Uncaught, it comes back out as itself.
    let err = p
        .call("uncaught_host", &[Val::I32(4)])
        .expect_err("uncaught");
    let exn = err.as_exception().expect("an exception");
    assert_eq!(
        &*p.store.exns[exn.index()].payload,
        &[Val::I32(5).to_bits()]
    );
}

fn host_callees_through_call_ref_and_tail_calls(tier: Tier) {
    let mut p = host_program(tier);
    assert_eq!(
        p.call("call_ref_host", &[Val::I32(4)]),
        Ok(vec![Val::I32(5)])
    );
    assert_eq!(p.call("tail_ref", &[Val::I32(3)]), Ok(vec![Val::I32(203)]));
    assert_eq!(
        p.call("tail_import", &[Val::I32(3)]),
        Ok(vec![Val::I32(203)])
    );
}

fn an_exception_crosses_two_host_entries(tier: Tier) {
    // host -> wasm (outer, catching) -> host (reenter) -> wasm (throws).
    let mut p = host_program(tier);
    assert_eq!(p.call("outer", &[Val::I32(7)]), Ok(vec![Val::I32(107)]));
    assert_eq!(p.store.depth, 0);
}

fn traps_are_never_caught(tier: Tier) {
    let wat = r#"(module
      (func $deep (export "deep") (result i32)
        (block $h
          (try_table (catch_all $h) (drop (call $deep)))
          (return (i32.const 0)))
        (i32.const 1))
      (func $trap (unreachable))
      (func (export "trap") (result i32)
        (block $h
          (try_table (catch_all $h) (call $trap))
          (return (i32.const 0)))
        (i32.const 1))
      (func (export "div") (param i32) (result i32)
        (block $h
          (try_table (catch_all $h) (return (i32.div_u (i32.const 1) (local.get 0)))))
        (i32.const -1)))"#;
    let options = raw::Options {
        limits: StoreLimits {
            max_call_depth: 500,
            ..StoreLimits::default()
        },
        ..raw::Options::default()
    };
    let mut p = RawProgram::try_load(wat, tier, options).expect("compile");
    assert_eq!(
        code(p.call("deep", &[])),
        Some(TrapCode::CallStackExhausted)
    );
    assert_eq!(p.store.depth, 0);
    assert_eq!(code(p.call("trap", &[])), Some(TrapCode::Unreachable));
    assert_eq!(
        code(p.call("div", &[Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(p.call("div", &[Val::I32(1)]), Ok(vec![Val::I32(1)]));
}

/// The cost model of `kiln_runtime::fuel`, counted by hand: both tiers must
/// charge exactly this.
fn throwing_costs_the_same_fuel_on_every_tier(tier: Tier) {
    let wat = r#"(module
      (tag $e (param i32))
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func $rethrow (param i32)
        (block $c (result i32 exnref)
          (try_table (catch_ref $e $c) (call $thrower (local.get 0)))
          (unreachable))
        (throw_ref)
        (drop))
      (func (export "caught") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (call $thrower (local.get 0)))
          (i32.const 0))
        (i32.const 1)
        (i32.add))
      (func (export "uncaught") (param i32) (call $thrower (local.get 0)))
      (func (export "rethrown") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (call $rethrow (local.get 0)))
          (i32.const 0))))"#;
    let mut p = Program::with(tier, wat, |c| {
        c.consume_fuel(true);
    });
    // caught: [local.get call] 2, $thrower [local.get throw] 2, then after the
    // block [i32.const i32.add end] 2.
    p.store.set_fuel(100).expect("fuel");
    assert_eq!(p.call("caught", &[Val::I32(5)]), Ok(vec![Val::I32(6)]));
    assert_eq!(p.store.get_fuel().expect("fuel"), 94);
    // uncaught: 2 + 2, nothing for the unwinding.
    p.store.set_fuel(100).expect("fuel");
    assert!(p.call("uncaught", &[Val::I32(5)]).is_err());
    assert_eq!(p.store.get_fuel().expect("fuel"), 96);
    // rethrown: 2, $rethrow 2, $thrower 2, $rethrow's [throw_ref] 1.
    p.store.set_fuel(100).expect("fuel");
    assert_eq!(p.call("rethrown", &[Val::I32(5)]), Ok(vec![Val::I32(5)]));
    assert_eq!(p.store.get_fuel().expect("fuel"), 93);
    // Too little fuel for $thrower's run: out of fuel, not an exception.
    p.store.set_fuel(3).expect("fuel");
    assert_eq!(
        code(p.call("caught", &[Val::I32(5)])),
        Some(TrapCode::OutOfFuel)
    );
}

/// Throws in a loop, caught by `catch`; throws kept by `catch_ref` in a
/// table; rethrows of the kept ones.
const KEPT: &str = r#"(module
      (tag $e (param i32))
      (table $kept 10 exnref)
      ;; Throws e(n), ..., e(1), each caught by `catch`: the sum of n..1.
      (func (export "throw_loop") (param $n i32) (result i32) (local $sum i32)
        (loop $next
          (block $h (result i32)
            (try_table (catch $e $h) (throw $e (local.get $n)))
            (unreachable))
          (local.set $sum (i32.add (local.get $sum)))
          (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
        (local.get $sum))
      ;; Throws e(n), ..., e(1), each caught by `catch_ref` into $kept[n - 1].
      (func (export "keep") (param $n i32) (local $x exnref)
        (loop $next
          (block $h (result i32 exnref)
            (try_table (catch_ref $e $h) (throw $e (local.get $n)))
            (unreachable))
          (local.set $x)
          (drop)
          (table.set $kept (i32.sub (local.get $n) (i32.const 1)) (local.get $x))
          (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      ;; Rethrows $kept[i] and catches it: its payload.
      (func (export "kept") (param $i i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (throw_ref (table.get $kept (local.get $i))))
          (unreachable))))"#;

/// A guest that throws and catches in a loop does not grow its store by an
/// exception per throw: one caught by `catch` is unreachable by the next
/// `throw`, which reuses its slot. One handed out by `catch_ref` is kept,
/// and later throws leave it intact (regression: every throw used to add
/// an exception the store kept until dropped).
fn caught_exceptions_reuse_one_slot_and_kept_ones_stay(tier: Tier) {
    let mut p = RawProgram::load(KEPT, tier);
    assert_eq!(
        p.call("throw_loop", &[Val::I32(1000)]),
        Ok(vec![Val::I32(500_500)])
    );
    assert_eq!(
        p.store.exns.len(),
        1,
        "one slot for a thousand caught throws"
    );
    assert_eq!(p.call("keep", &[Val::I32(5)]), Ok(vec![]));
    // Five kept, the first of them in the loop's old slot...
    assert_eq!(p.store.exns.len(), 5);
    // ...so the next throws take one new slot, and share it.
    assert_eq!(
        p.call("throw_loop", &[Val::I32(100)]),
        Ok(vec![Val::I32(5_050)])
    );
    assert_eq!(p.store.exns.len(), 6);
    for i in 0..5 {
        assert_eq!(p.call("kept", &[Val::I32(i)]), Ok(vec![Val::I32(i + 1)]));
    }
}

/// The exceptions a store keeps are limited (`Config::max_exception_bytes`;
/// 48 bytes each here: 32 and 16 for the `i32`): a `throw` past the limit
/// traps, uncaught, at the same point on every tier (regression: a guest
/// keeping `exnref`s could grow its store until the host ran out of memory).
fn kept_exceptions_are_limited_per_store(tier: Tier) {
    let mut p = Program::with(tier, KEPT, |c| {
        c.max_exception_bytes(5 * 48);
    });
    assert_eq!(p.call("keep", &[Val::I32(4)]), Ok(vec![]));
    // Four kept and the loop's one slot: at the limit, not past it.
    assert_eq!(
        p.call("throw_loop", &[Val::I32(100)]),
        Ok(vec![Val::I32(5_050)])
    );
    // The loop's slot kept too: the next throw needs a sixth.
    assert_eq!(p.call("keep", &[Val::I32(1)]), Ok(vec![]));
    let err = p
        .call("throw_loop", &[Val::I32(1)])
        .expect_err("past the limit");
    assert_eq!(code(Err(err.clone())), Some(TrapCode::ExceptionsExhausted));
    assert!(
        err.to_string().contains("exception storage exhausted"),
        "{err}"
    );
    for i in 0..4 {
        assert_eq!(p.call("kept", &[Val::I32(i)]), Ok(vec![Val::I32(i + 1)]));
    }
}
