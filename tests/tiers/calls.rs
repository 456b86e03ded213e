//! Calls and returns: recursion, the call-depth limit, arguments, locals and
//! results moved between frames, multiple values.

use kiln::{TrapCode, Val};
use kiln_runtime::StoreLimits;

use crate::raw::{self, RawProgram};
use crate::{Program, Tier, code};

tier_tests!(
    recursion_and_loops_compute,
    infinite_recursion_exhausts_the_call_stack,
    call_depth_limit_is_the_same_on_every_tier,
    default_depth_recursion_fits_a_test_thread,
    a_million_frames_deep,
    loops_of_calls_run_without_growing_the_native_stack,
    callee_locals_are_zeroed_and_constants_set_for_every_count,
    returns_move_every_result_for_every_count,
    single_results_return_from_the_accumulator_or_a_register,
    multi_value_blocks_loops_and_functions,
);

/// Recursion, a loop, a loop that never ends and a recursion that never ends.
pub const FIB: &str = r#"(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "loop_sum") (param i32) (result i64) (local i64)
    (block $done
      (loop $top
        (br_if $done (i32.eqz (local.get 0)))
        (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
        (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
        (br $top)))
    (local.get 1))
  (func (export "forever") (loop (br 0)))
  (func $down (export "recurse") (call $down))
)"#;

fn recursion_and_loops_compute(tier: Tier) {
    let mut p = Program::load(tier, FIB);
    assert_eq!(p.call("fib", &[Val::I32(20)]), Ok(vec![Val::I32(6765)]));
    assert_eq!(
        p.call("loop_sum", &[Val::I32(100_000)]),
        Ok(vec![Val::I64(5_000_050_000)])
    );
}

fn infinite_recursion_exhausts_the_call_stack(tier: Tier) {
    let mut p = RawProgram::load(FIB, tier);
    assert_eq!(
        code(p.call("recurse", &[])),
        Some(TrapCode::CallStackExhausted)
    );
    assert_eq!(p.store.depth, 0, "the entry restores the depth");
    // The store is still usable afterwards.
    assert_eq!(p.call("fib", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
}

fn call_depth_limit_is_the_same_on_every_tier(tier: Tier) {
    // `count n` makes n + 1 nested calls (the entry call is depth 1).
    let wat = r#"(module
      (func $count (export "count") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1)
                         (call $count (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let options = raw::Options {
        limits: StoreLimits {
            max_call_depth: 100,
            ..StoreLimits::default()
        },
        ..raw::Options::default()
    };
    let mut p = RawProgram::try_load(wat, tier, options).expect("compile");
    assert_eq!(
        p.call("count", &[Val::I32(99)]),
        Ok(vec![Val::I32(99)]),
        "100 frames fit"
    );
    assert_eq!(
        code(p.call("count", &[Val::I32(100)])),
        Some(TrapCode::CallStackExhausted),
        "the 101st frame traps"
    );
    assert_eq!(p.store.depth, 0);
}

fn default_depth_recursion_fits_a_test_thread(tier: Tier) {
    // 10,000 frames of a function with several live values across the call.
    let wat = r#"(module
      (func $deep (export "deep") (param i32 i64 f64) (result i64)
        (if (result i64) (i32.eqz (local.get 0))
          (then (local.get 1))
          (else (i64.add
                  (i64.add (local.get 1) (i64.trunc_f64_s (local.get 2)))
                  (call $deep (i32.sub (local.get 0) (i32.const 1))
                              (i64.mul (local.get 1) (i64.const 3))
                              (f64.add (local.get 2) (f64.const 1))))))))"#;
    let mut p = Program::load(tier, wat);
    let args = |n| [Val::I32(n), Val::I64(1), Val::F64(0f64.to_bits())];
    assert!(p.call("deep", &args(9_999)).is_ok());
    assert_eq!(
        code(p.call("deep", &args(10_000))),
        Some(TrapCode::CallStackExhausted)
    );
}

fn a_million_frames_deep(tier: Tier) {
    const DEPTH: u32 = 1_000_000;
    let wat = r#"(module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1)
                  (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let mut p = Program::with(tier, wat, |c| {
        c.max_call_depth(DEPTH);
    });
    // DEPTH frames: the outermost call plus DEPTH - 1 recursive ones.
    let r = p.call("down", &[Val::I32(DEPTH as i32 - 1)]);
    assert_eq!(r.expect("fits"), vec![Val::I32(DEPTH as i32 - 1)]);
    // One more frame is one too many, on every tier alike.
    assert_eq!(
        code(p.call("down", &[Val::I32(DEPTH as i32)])),
        Some(TrapCode::CallStackExhausted)
    );
}

/// 200,000 iterations of a loop that makes a direct call and an indirect call,
/// each returning: on the interpreter, calls and returns run on the fast path
/// when the callee is a function of the same instance, and must not grow the
/// native stack.
fn loops_of_calls_run_without_growing_the_native_stack(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (type $t (func (param i32) (result i32)))
          (table 2 funcref)
          (elem (i32.const 0) $double $inc)
          (func $double (type $t) (i32.add (local.get 0) (local.get 0)))
          (func $inc (type $t) (local $unused i64) (i32.add (local.get 0) (i32.const 1)))
          (func (export "calls") (param $n i32) (result i32)
            (local $i i32) (local $acc i32)
            (loop $top
              (local.set $acc (i32.add (local.get $acc) (call $double (local.get $i))))
              (local.set $acc
                (i32.add (local.get $acc)
                  (call_indirect (type $t) (local.get $i) (i32.and (local.get $i) (i32.const 1)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
            (local.get $acc)))"#,
    );
    let n = 200_000u32;
    let expected = (0..n).fold(0u32, |acc, i| {
        let indirect = if i & 1 == 0 { i * 2 } else { i + 1 };
        acc.wrapping_add(i * 2).wrapping_add(indirect)
    });
    // Twice: the first run translates the callees on the slow path.
    for _ in 0..2 {
        let got = p.call("calls", &[Val::I32(n as i32)]).expect("no trap");
        assert_eq!(got, vec![Val::I32(expected as i32)]);
    }
    tier.assert_native_stack_flat();
}

/// A callee's declared locals start at zero and its constant registers hold
/// its constants, for every count the call handler writes differently (none,
/// one, two overlapping runs of 2 or of 4, and more than 8), even where an
/// earlier callee left other values in the same stack slots.
fn callee_locals_are_zeroed_and_constants_set_for_every_count(tier: Tier) {
    for k in 0..=12usize {
        let locals = " i64".repeat(k);
        let mut body = String::from("i64.const 0\n");
        for j in 0..k {
            body += &format!("local.get {j} i64.add\n");
        }
        let mut expected = 0i64;
        for j in 0..k {
            let c = 1000 + 7 * j as i64;
            expected += c;
            body += &format!("i64.const {c} i64.add\n");
        }
        let sets: String = (1..=12)
            .map(|j| format!("local.get 0 local.set {j}\n"))
            .collect();
        let wat = format!(
            r#"(module
              (func $dirty (param i64) (local{dirty_locals})
                {sets})
              (func $clean (result i64) (local{locals})
                {body})
              (func (export "run") (result i64)
                i64.const -1
                call $dirty
                call $clean))"#,
            dirty_locals = " i64".repeat(12),
        );
        let mut p = Program::load(tier, &wat);
        // On the interpreter, the first run translates the callees on the slow
        // path; the second calls them from the call handler.
        for run in 0..2 {
            let got = p.call("run", &[]).expect("no trap");
            assert_eq!(
                got,
                vec![Val::I64(expected)],
                "{k} locals and constants, run {run}"
            );
        }
    }
}

/// Returns move every result to the caller, for every count the return
/// handler copies differently (the results sit above two locals, so they
/// are moved down, overlapping their destination from 3 results on).
fn returns_move_every_result_for_every_count(tier: Tier) {
    for k in 1..=12usize {
        let results = " i64".repeat(k);
        let pushes: String = (0..k)
            .map(|j| format!("local.get 0 i64.const {} i64.mul\n", j + 1))
            .collect();
        // `run` keeps result j in local j + 1 and weighs it by 3^j, so that a
        // misplaced result shows.
        let sets: String = (1..=k).rev().map(|j| format!("local.set {j}\n")).collect();
        let mut combine = String::from("i64.const 0\n");
        for j in 0..k {
            combine += &format!(
                "local.get {} i64.const {} i64.mul i64.add\n",
                j + 1,
                3i64.pow(j as u32)
            );
        }
        let wat = format!(
            r#"(module
              (func $many (param i64) (result{results}) (local i64 i64)
                {pushes}
                return)
              (func (export "run") (param i64) (result i64) (local{results})
                local.get 0
                call $many
                {sets}
                {combine}))"#
        );
        let mut p = Program::load(tier, &wat);
        let x = 5i64;
        let expected: i64 = (0..k)
            .map(|j| x * (j as i64 + 1) * 3i64.pow(j as u32))
            .sum();
        // On the interpreter, the first run translates `$many` on the slow
        // path; the second returns from it in the return handler.
        for run in 0..2 {
            let got = p.call("run", &[Val::I64(x)]).expect("no trap");
            assert_eq!(got, vec![Val::I64(expected)], "{k} results, run {run}");
        }
    }
}

/// A return of one value between functions of the module moves it to the
/// caller whether it comes from the integer accumulator (the op before the
/// return computed it), from a register (a parameter, the second of two) or
/// from the float accumulator, and keeps all 64 bits.
fn single_results_return_from_the_accumulator_or_a_register(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func $inc (param i64) (result i64) (i64.add (local.get 0) (i64.const 0x100000001)))
          (func $id (param i64) (result i64) (local.get 0))
          (func $second (param i64 i64) (result i64) (local.get 1))
          (func $half (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
          (func $sum (param i32) (result i32)
            (if (result i32) (i32.eqz (local.get 0))
              (then (i32.const 0))
              (else (i32.add (local.get 0) (call $sum (i32.sub (local.get 0) (i32.const 1)))))))
          (func (export "ints") (param $x i64) (result i64)
            (i64.add
              (call $inc (local.get $x))
              (i64.mul (i64.const 3) (call $second (i64.const 7) (call $id (local.get $x))))))
          (func (export "half") (param f64) (result f64) (call $half (local.get 0)))
          (func (export "sum") (param i32) (result i32) (call $sum (local.get 0))))"#,
    );
    for x in [0i64, 5, -1, 0x7fff_ffff_ffff_0000] {
        let expected = x
            .wrapping_add(0x1_0000_0001)
            .wrapping_add(x.wrapping_mul(3));
        assert_eq!(
            p.call("ints", &[Val::I64(x)]),
            Ok(vec![Val::I64(expected)]),
            "x = {x}"
        );
    }
    assert_eq!(
        p.call("half", &[Val::F64(5.0f64.to_bits())]),
        Ok(vec![Val::F64(2.5f64.to_bits())])
    );
    assert_eq!(
        p.call("sum", &[Val::I32(500)]),
        Ok(vec![Val::I32(500 * 501 / 2)])
    );
}

fn multi_value_blocks_loops_and_functions(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
      (type $pair (func (param i32 i32) (result i32 i32)))
      (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
      (func $many (param i64) (result i64 i64 i64 i64 f64 f64 f64 i32)
        (local.get 0) (i64.add (local.get 0) (i64.const 1))
        (i64.add (local.get 0) (i64.const 2)) (i64.add (local.get 0) (i64.const 3))
        (f64.const 0.5) (f64.const 1.5) (f64.const 2.5) (i32.const 9))
      (func (export "many") (param i64) (result i64 i64 i64 i64 f64 f64 f64 i32)
        (call $many (local.get 0)))
      (func (export "sum_many") (param i64) (result f64)
        (local i32 f64 f64 f64)
        (call $many (local.get 0))
        (local.set 1)
        (local.set 4) (local.set 3) (local.set 2)
        (i64.add) (i64.add) (i64.add)
        (f64.convert_i64_s)
        (f64.add (local.get 2)) (f64.add (local.get 3)) (f64.add (local.get 4))
        (f64.add (f64.convert_i32_u (local.get 1))))
      (func (export "block_swap") (param i32 i32) (result i32 i32)
        (local.get 0) (local.get 1)
        (block (type $pair) (call $swap)))
      (func (export "fib_loop") (param i32) (result i32) (local i32)
        ;; A loop carrying (a, b) as loop parameters, n in local 0.
        (i32.const 0) (i32.const 1)
        (loop $l (param i32 i32) (result i32 i32)
          (if (param i32 i32) (result i32 i32) (local.get 0)
            (then
              (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (local.set 1) (local.get 1) (i32.add) (local.get 1)
              (call $swap)
              (br $l))))
        (drop))
      (func (export "pick") (param i32) (result i32 i64)
        (block $a (result i32 i64)
          (block $b (result i32 i64)
            (block $c (result i32 i64)
              (i32.const 10) (i64.const 20)
              (br_table $a $b $c (local.get 0)))
            (drop) (drop) (i32.const 30) (i64.const 40) (br 1))
          (drop) (i64.const 50)))
      (func (export "if_no_else") (param i32 i32) (result i32)
        (local.get 1)
        (if (param i32) (result i32) (local.get 0) (then (i32.const 100) (i32.add))))
    )"#,
    );
    assert_eq!(
        p.call("many", &[Val::I64(10)]),
        Ok(vec![
            Val::I64(10),
            Val::I64(11),
            Val::I64(12),
            Val::I64(13),
            Val::F64(0.5f64.to_bits()),
            Val::F64(1.5f64.to_bits()),
            Val::F64(2.5f64.to_bits()),
            Val::I32(9),
        ])
    );
    assert_eq!(
        p.call("sum_many", &[Val::I64(10)]),
        Ok(vec![Val::F64((46.0f64 + 4.5 + 9.0).to_bits())])
    );
    assert_eq!(
        p.call("block_swap", &[Val::I32(1), Val::I32(2)]),
        Ok(vec![Val::I32(2), Val::I32(1)])
    );
    assert_eq!(p.call("fib_loop", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
    assert_eq!(
        p.call("pick", &[Val::I32(0)]),
        Ok(vec![Val::I32(10), Val::I64(20)])
    );
    assert_eq!(
        p.call("pick", &[Val::I32(1)]),
        Ok(vec![Val::I32(10), Val::I64(50)])
    );
    assert_eq!(
        p.call("pick", &[Val::I32(2)]),
        Ok(vec![Val::I32(30), Val::I64(40)])
    );
    assert_eq!(
        p.call("pick", &[Val::I32(7)]),
        Ok(vec![Val::I32(30), Val::I64(40)])
    );
    assert_eq!(
        p.call("if_no_else", &[Val::I32(0), Val::I32(5)]),
        Ok(vec![Val::I32(5)])
    );
    assert_eq!(
        p.call("if_no_else", &[Val::I32(1), Val::I32(5)]),
        Ok(vec![Val::I32(105)])
    );
}
