//! Arithmetic: integer and float chains (which the interpreter passes from op
//! to op in accumulators), fused shifts and adds, NaN canonicalisation.

use kiln::Val;

use crate::{Program, Tier};

tier_tests!(
    shifted_adds_keep_their_meaning,
    float_chains_compute_through_the_accumulator,
    integer_chains_compute_through_the_accumulator,
    the_accumulator_is_reloaded_where_the_fast_path_resumes,
    nan_canonicalisation_rewrites_arithmetic_nans_only,
);

/// `x + (y << c)` (one op on the interpreter): either operand order, shift
/// counts of 32 and more (taken modulo 32), wrapping, and a shift whose result
/// is also kept in a local (which must not be fused away).
fn shifted_adds_keep_their_meaning(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "base_first") (param $b i32) (param $i i32) (result i32)
            (i32.add (local.get $b) (i32.shl (local.get $i) (i32.const 2))))
          (func (export "shift_first") (param $b i32) (param $i i32) (result i32)
            (i32.add (i32.shl (local.get $i) (i32.const 35)) (local.get $b)))
          (func (export "kept") (param $b i32) (param $i i32) (result i32) (local $t i32)
            (i32.add (local.get $b) (local.tee $t (i32.shl (local.get $i) (i32.const 4))))
            (i32.mul (local.get $t) (i32.const 1000))
            (i32.add)))"#,
    );
    let call = |p: &mut Program, name: &str, b: i32, i: i32| {
        p.call(name, &[Val::I32(b), Val::I32(i)]).expect("no trap")
    };
    assert_eq!(call(&mut p, "base_first", 100, 5), vec![Val::I32(120)]);
    assert_eq!(call(&mut p, "base_first", -1, i32::MAX), vec![Val::I32(-5)]);
    assert_eq!(call(&mut p, "shift_first", 1, 3), vec![Val::I32(25)]);
    // 7 + 48, plus t = 48 times 1000.
    assert_eq!(call(&mut p, "kept", 7, 3), vec![Val::I32(48_055)]);
}

/// The interpreter's float chains pass values from op to op in the accumulator
/// (see `interp/src/exec/threaded.rs`): each kind of op that reads it, from
/// each operand, gives the result the same program gives through registers.
fn float_chains_compute_through_the_accumulator(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory 1)
          (func (export "chain") (param $x f64) (param $y f64) (result f64)
            (f64.store (i32.const 8) (f64.mul (local.get $x) (local.get $y)))
            (f64.store
              (i32.const 16)
              (f64.neg
                (f64.sub
                  (local.get $x)
                  (f64.div
                    (f64.const 3)
                    (f64.sqrt (f64.add (f64.load (i32.const 8)) (f64.const 0.5)))))))
            (f64.load (i32.const 16))))"#,
    );
    for (x, y) in [(1.5f64, 2.25f64), (-4.0, 0.125), (7.0, 1e300)] {
        let expected = -(x - 3.0 / (x * y + 0.5).sqrt());
        let got = p.call("chain", &[Val::F64(x.to_bits()), Val::F64(y.to_bits())]);
        assert_eq!(
            got,
            Ok(vec![Val::F64(expected.to_bits())]),
            "x = {x}, y = {y}"
        );
    }
}

/// The interpreter's integer chains pass values in the integer accumulator the
/// same way: a jump target reads its register (on the back edge the
/// accumulator holds the sum, not `$i`), and so does an op entered after a
/// 64-bit memory's load ran on the slow path.
fn integer_chains_compute_through_the_accumulator(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory i64 1)
          (func (export "loop") (param $n i32) (result i32)
            (local $i i32) (local $sum i32)
            (local.set $i (i32.mul (local.get $n) (i32.const 2)))
            (loop $l
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (local.set $sum (i32.add (local.get $sum) (i32.mul (local.get $i) (i32.const 3))))
              (br_if $l (i32.gt_s (local.get $i) (local.get $n))))
            (i32.add (local.get $sum) (local.get $i)))
          (func (export "load") (param $x i64) (result i64)
            (i64.store (i64.const 8) (local.get $x))
            (i64.mul (i64.load (i64.const 8)) (i64.const 3))))"#,
    );
    // n = 4: i runs 7, 6, 5, 4; sum = 3 * 22 = 66; plus 4.
    assert_eq!(p.call("loop", &[Val::I32(4)]), Ok(vec![Val::I32(70)]));
    assert_eq!(p.call("load", &[Val::I64(14)]), Ok(vec![Val::I64(42)]));
}

/// Where the interpreter's fast path resumes after an op ran on the slow path
/// (every access to a 64-bit memory does), the accumulator is loaded from that
/// op's result.
fn the_accumulator_is_reloaded_where_the_fast_path_resumes(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory i64 1)
          (func (export "f") (param $x f64) (result f64)
            (f64.store (i64.const 8) (local.get $x))
            (f64.add (f64.load (i64.const 8)) (f64.const 1))))"#,
    );
    let got = p.call("f", &[Val::F64(2.5f64.to_bits())]);
    assert_eq!(got, Ok(vec![Val::F64(3.5f64.to_bits())]));
}

fn nan_canonicalisation_rewrites_arithmetic_nans_only(tier: Tier) {
    let wat = r#"(module
      (func (export "div") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
      (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
      (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0))))"#;
    let mut p = Program::with(tier, wat, |c| {
        c.nan_canonicalization(true);
    });
    assert_eq!(
        p.call("div", &[Val::F32(0), Val::F32(0)]),
        Ok(vec![Val::F32(0x7fc0_0000)])
    );
    assert_eq!(
        p.call("sqrt", &[Val::F64((-1.0f64).to_bits())]),
        Ok(vec![Val::F64(0x7ff8_0000_0000_0000)])
    );
    // Sign operations keep the payload: they are bit operations, not arithmetic.
    assert_eq!(
        p.call("neg", &[Val::F32(0x7fc0_0001)]),
        Ok(vec![Val::F32(0xffc0_0001)])
    );
}
