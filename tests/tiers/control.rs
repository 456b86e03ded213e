//! Control flow: loops, branches (plain and fused with the comparison or
//! test that feeds them), values carried out of blocks, unreachable code.

use kiln::{TrapCode, Val};

use crate::{Program, Tier, code};

tier_tests!(
    long_loops_run_without_growing_the_native_stack,
    jump_targets_do_not_read_the_accumulator,
    and_feeding_a_branch_tests_the_bits,
    float_compare_branches_with_nan,
    a_copy_then_a_jump_does_both,
    if_tests_a_local_as_read,
    unreachable_code_after_branches_is_skipped,
);

/// A loop of 200,000 iterations whose body uses most of the interpreter's fast
/// path's handlers (copies, constants, integer, float and comparison ops,
/// loads and stores, `select`, `br_table`, backward fused branches): in an
/// optimised build each handler jumps to the next, so a handler that called its
/// successor instead would grow the native stack every iteration, and the
/// loop's backward branch would count a stack rescue.
fn long_loops_run_without_growing_the_native_stack(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory 1)
          (func (export "spin") (param $n i32) (result i64)
            (local $i i32) (local $acc i64) (local $f f64) (local $t i32)
            (loop $top
              (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
              (local.set $f (f64.add (local.get $f) (f64.convert_i32_u (local.get $i))))
              (i32.store offset=8 (i32.const 0) (i32.xor (local.get $i) (i32.const 0x55)))
              (local.set $t (i32.load offset=8 (i32.const 0)))
              (local.set $t (select (local.get $t) (i32.const 7) (i32.and (local.get $i) (i32.const 1))))
              (block $b2 (block $b1 (block $b0
                (br_table $b0 $b1 $b2 (i32.rem_u (local.get $i) (i32.const 3))))
                (local.set $acc (i64.add (local.get $acc) (i64.const 1))))
                (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $t)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
            (i64.add (local.get $acc) (i64.trunc_f64_u (local.get $f)))))"#,
    );
    let n = 200_000u32;
    let mut expected: u64 = 0;
    let mut f = 0f64;
    for i in 0..n {
        expected = expected.wrapping_add(u64::from(i));
        f += f64::from(i);
        let t = if i & 1 != 0 { i ^ 0x55 } else { 7 };
        match i % 3 {
            0 => expected += 1 + u64::from(t),
            1 => expected += u64::from(t),
            _ => {}
        }
    }
    expected = expected.wrapping_add(f as u64);
    let got = p.call("spin", &[Val::I32(n as i32)]).expect("no trap");
    assert_eq!(got, vec![Val::I64(expected as i64)]);
    tier.assert_native_stack_flat();
}

/// On the interpreter, an op that a jump can reach reads its operand from its
/// register, not from the accumulator that the op before it (in the code) left:
/// on the back edge the accumulator holds `$b`, not `$a`.
fn jump_targets_do_not_read_the_accumulator(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "loop") (param $n i32) (param $x f64) (result f64)
            (local $a f64) (local $b f64)
            (local.set $a (f64.mul (local.get $x) (f64.const 2)))
            (loop $l
              (local.set $a (f64.add (local.get $a) (f64.const 1)))
              (local.set $b (f64.mul (local.get $a) (f64.const 3)))
              (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (f64.add (local.get $a) (local.get $b))))"#,
    );
    // a: 2, then 3, 4, 5; b: 3a; 5 + 15.
    let got = p.call("loop", &[Val::I32(3), Val::F64(1f64.to_bits())]);
    assert_eq!(got, Ok(vec![Val::F64(20f64.to_bits())]));
}

/// An `i32.and` feeding a `br_if` or an `if` (one branch on the bits it tests
/// in the interpreter) is taken in both senses; a `local.tee` of the mask
/// keeps its write.
fn and_feeding_a_branch_tests_the_bits(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "any") (param $x i32) (param $m i32) (result i32)
            (block $set
              (br_if $set (i32.and (local.get $x) (local.get $m)))
              (return (i32.const 0)))
            (i32.const 1))
          (func (export "none") (param $x i32) (param $m i32) (result i32)
            (if (result i32) (i32.and (local.get $x) (local.get $m))
              (then (i32.const 1))
              (else (i32.const 0))))
          (func (export "tee") (param $x i32) (result i32) (local $t i32)
            (block $set
              (br_if $set (local.tee $t (i32.and (local.get $x) (i32.const 12))))
              (return (i32.sub (i32.const 0) (local.get $t))))
            (local.get $t)))"#,
    );
    for (x, m) in [(0b1010, 0b0100), (0b1010, 0b0010), (-1, i32::MIN), (7, 0)] {
        let expected = i32::from(x & m != 0);
        assert_eq!(
            p.call("any", &[Val::I32(x), Val::I32(m)]),
            Ok(vec![Val::I32(expected)])
        );
        assert_eq!(
            p.call("none", &[Val::I32(x), Val::I32(m)]),
            Ok(vec![Val::I32(expected)])
        );
    }
    assert_eq!(p.call("tee", &[Val::I32(0b0110)]), Ok(vec![Val::I32(4)]));
    assert_eq!(p.call("tee", &[Val::I32(0b0011)]), Ok(vec![Val::I32(0)]));
}

/// Float comparisons fused into branches (by the interpreter) keep NaN
/// semantics whichever way the branch goes (`br_if` on the comparison, and
/// `if`, which branches when it fails).
fn float_compare_branches_with_nan(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "br_if_lt") (param f64 f64) (result i32)
            (block (br_if 0 (f64.lt (local.get 0) (local.get 1))) (return (i32.const 0)))
            (i32.const 1))
          (func (export "if_ge") (param f32 f32) (result i32)
            (if (result i32) (f32.ge (local.get 0) (local.get 1))
              (then (i32.const 1)) (else (i32.const 0)))))"#,
    );
    let lt = |p: &mut Program, a: f64, b: f64| {
        p.call("br_if_lt", &[Val::F64(a.to_bits()), Val::F64(b.to_bits())])
            .expect("no trap")
    };
    assert_eq!(lt(&mut p, 1.0, 2.0), vec![Val::I32(1)]);
    assert_eq!(lt(&mut p, 2.0, 1.0), vec![Val::I32(0)]);
    assert_eq!(lt(&mut p, f64::NAN, 1.0), vec![Val::I32(0)]);
    let ge = |p: &mut Program, a: f32, b: f32| {
        p.call("if_ge", &[Val::F32(a.to_bits()), Val::F32(b.to_bits())])
            .expect("no trap")
    };
    assert_eq!(ge(&mut p, 2.0, 1.0), vec![Val::I32(1)]);
    assert_eq!(ge(&mut p, 1.0, 2.0), vec![Val::I32(0)]);
    assert_eq!(ge(&mut p, 1.0, f32::NAN), vec![Val::I32(0)]);
}

/// A copy right before a jump (a loop's back edge after a variable's update,
/// a branch carrying a value out of a block) takes effect, backwards and
/// forwards.
fn a_copy_then_a_jump_does_both(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "tri") (param $n i32) (result i32) (local $i i32) (local $j i32) (local $s i32)
            (block $done
              (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $j (i32.add (local.get $i) (i32.const 1)))
                (local.set $s (i32.add (local.get $s) (local.get $j)))
                (local.set $i (local.get $j))
                (br $l)))
            (local.get $s))
          (func (export "pick") (param $c i32) (param $x i32) (param $y i32) (result i32)
            (i32.add
              (block $b (result i32)
                (if (local.get $c) (then (br $b (local.get $x))))
                (local.get $y))
              (i32.const 100))))"#,
    );
    assert_eq!(p.call("tri", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
    assert_eq!(p.call("tri", &[Val::I32(0)]), Ok(vec![Val::I32(0)]));
    let pick = |p: &mut Program, c| p.call("pick", &[Val::I32(c), Val::I32(1), Val::I32(2)]);
    assert_eq!(pick(&mut p, 1), Ok(vec![Val::I32(101)]));
    assert_eq!(pick(&mut p, 0), Ok(vec![Val::I32(102)]));
}

/// An `if` on a local tests the local where it is, and sees the value it had
/// at the `local.get`, even when the local is written before the `if`.
fn if_tests_a_local_as_read(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "direct") (param $c i32) (result i32)
            (if (result i32) (local.get $c) (then (i32.const 1)) (else (i32.const 2))))
          (func (export "overwritten") (param $c i32) (result i32)
            (local.get $c)
            (local.set $c (i32.eqz (local.get $c)))
            (if (result i32) (then (local.get $c)) (else (i32.add (local.get $c) (i32.const 10))))))"#,
    );
    assert_eq!(p.call("direct", &[Val::I32(5)]), Ok(vec![Val::I32(1)]));
    assert_eq!(p.call("direct", &[Val::I32(0)]), Ok(vec![Val::I32(2)]));
    // c = 5: the `if` sees 5 (taken), then c is 0.
    assert_eq!(p.call("overwritten", &[Val::I32(5)]), Ok(vec![Val::I32(0)]));
    // c = 0: the `if` sees 0 (not taken), then c is 1.
    assert_eq!(
        p.call("overwritten", &[Val::I32(0)]),
        Ok(vec![Val::I32(11)])
    );
}

fn unreachable_code_after_branches_is_skipped(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
      (func (export "f") (param i32) (result i32)
        (block $out (result i32)
          (if (local.get 0)
            (then (br $out (i32.const 1)) (i32.const 99) (drop)
                  (block (loop (br 0))) (unreachable))
            (else (return (i32.const 2)) (if (i32.const 0) (then (unreachable)) (else (nop)))))
          (unreachable))
        (i32.add (i32.const 10)))
      (func (export "g") (result i32)
        (unreachable) (i64.const 0) (drop) (i32.const 1)))"#,
    );
    assert_eq!(p.call("f", &[Val::I32(1)]), Ok(vec![Val::I32(11)]));
    assert_eq!(p.call("f", &[Val::I32(0)]), Ok(vec![Val::I32(2)]));
    assert_eq!(code(p.call("g", &[])), Some(TrapCode::Unreachable));
}
