//! Globals: read and written by code, seen in the store.

use kiln::Val;

use crate::Tier;
use crate::raw::RawProgram;

tier_tests!(globals_are_read_and_written_in_the_store,);

fn globals_are_read_and_written_in_the_store(tier: Tier) {
    let mut p = RawProgram::load(
        r#"(module
      (global $a (mut i32) (i32.const 10))
      (global $b (mut i64) (i64.const -1))
      (global $c (mut f32) (f32.const 1.5))
      (global $d f64 (f64.const 2.25))
      (func (export "bump") (result i32)
        (global.set $a (i32.add (global.get $a) (i32.const 1)))
        (global.set $b (i64.shl (global.get $b) (i64.const 4)))
        (global.set $c (f32.mul (global.get $c) (f32.const 2)))
        (global.get $a))
      (func (export "d") (result f64) (global.get $d)))"#,
        tier,
    );
    assert_eq!(p.call("bump", &[]), Ok(vec![Val::I32(11)]));
    assert_eq!(p.call("bump", &[]), Ok(vec![Val::I32(12)]));
    assert_eq!(
        p.globals(),
        vec![
            12,
            u128::from(0xffff_ffff_ffff_ff00u64),
            u128::from(6.0f32.to_bits()),
            u128::from(2.25f64.to_bits()),
        ]
    );
    assert_eq!(p.call("d", &[]), Ok(vec![Val::F64(2.25f64.to_bits())]));
}
