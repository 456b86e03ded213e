//! Locals: reads that see the value at the read while the local changes,
//! and a function returning a local.

use kiln::Val;

use crate::{Program, Tier};

tier_tests!(
    pending_local_reads_see_the_value_at_the_read,
    returning_a_local,
);

/// The interpreter's `local.get` leaves its slot standing for the local until
/// the value is consumed; writes to the local while such a slot is live must
/// not change what the slot holds (set, tee, redirected producers, conditions).
fn pending_local_reads_see_the_value_at_the_read(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "set") (param $x i32) (result i32)
            (local.get $x)
            (local.set $x (i32.const 5))
            (i32.add (i32.mul (local.get $x) (i32.const 100))))
          (func (export "redirect") (param $x i32) (param $y i32) (result i32)
            (local.get $x)
            (local.set $x (i32.add (local.get $y) (i32.const 1)))
            (i32.add (i32.mul (local.get $x) (i32.const 1000))))
          (func (export "tee") (param $x i32) (result i32)
            (local.get $x)
            (local.tee $x (i32.add (local.get $x) (i32.const 1)))
            (local.set $x (i32.const 7))
            (i32.mul (i32.const 100))
            (i32.add)
            (i32.add (i32.mul (local.get $x) (i32.const 10000))))
          (func (export "swap") (param $x i32) (param $y i32) (result i32)
            (local.get $x)
            (local.get $y)
            (local.set $x)
            (local.set $y)
            (i32.sub (i32.mul (local.get $x) (i32.const 10)) (local.get $y)))
          (func (export "cond") (param $x i32) (result i32)
            (block $out (result i32)
              (i32.const 1)
              (local.tee $x (i32.sub (local.get $x) (i32.const 1)))
              (br_if $out)
              (drop)
              (i32.const 2))))"#,
    );
    assert_eq!(
        p.call("set", &[Val::I32(3)]).expect("no trap"),
        vec![Val::I32(503)]
    );
    assert_eq!(
        p.call("redirect", &[Val::I32(3), Val::I32(8)])
            .expect("no trap"),
        vec![Val::I32(9003)]
    );
    // old 3, tee'd 4 (times 100), then x = 7 (times 10000).
    assert_eq!(
        p.call("tee", &[Val::I32(3)]).expect("no trap"),
        vec![Val::I32(70403)]
    );
    assert_eq!(
        p.call("swap", &[Val::I32(3), Val::I32(8)])
            .expect("no trap"),
        vec![Val::I32(77)]
    );
    assert_eq!(
        p.call("cond", &[Val::I32(1)]).expect("no trap"),
        vec![Val::I32(2)]
    );
    assert_eq!(
        p.call("cond", &[Val::I32(5)]).expect("no trap"),
        vec![Val::I32(1)]
    );
}

/// A function returning a local returns it (from the local's register, on the
/// interpreter) by
/// `return` inside blocks or by its final `end`, and still returns the value
/// read even when the local changes between the read and the return.
fn returning_a_local(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (func (export "early") (param $x i32) (result i32)
            (block (block (br_if 1 (i32.eqz (local.get $x)))
              (return (local.get $x))))
            (i32.const -1))
          (func (export "at_end") (param $x i64) (result i64) (local.get $x))
          (func (export "changed") (param $x i32) (result i32)
            (local.get $x)
            (local.set $x (i32.const 5))))"#,
    );
    assert_eq!(
        p.call("early", &[Val::I32(7)]).expect("no trap"),
        vec![Val::I32(7)]
    );
    assert_eq!(
        p.call("early", &[Val::I32(0)]).expect("no trap"),
        vec![Val::I32(-1)]
    );
    assert_eq!(
        p.call("at_end", &[Val::I64(-3)]).expect("no trap"),
        vec![Val::I64(-3)]
    );
    assert_eq!(
        p.call("changed", &[Val::I32(8)]).expect("no trap"),
        vec![Val::I32(8)]
    );
}
