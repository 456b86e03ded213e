//! Linear memory: addresses that wrap or trap (plain, with a constant added,
//! scaled), growth and size.

use kiln::{TrapCode, Val};

use crate::raw::RawProgram;
use crate::{Program, Tier, code};

tier_tests!(
    added_constants_in_addresses_wrap,
    scaled_addresses_wrap_and_trap,
    scaled_accesses_by_every_shift,
    memory_grows_in_place_and_size_follows,
    memoryless_module_grows_nothing,
);

/// An `i32.add` of a constant feeding a load or store with offset 0 (one op
/// on the interpreter) must wrap the address at 2^32 as the add does (unlike an
/// offset, which must not wrap and makes the same access trap).
fn added_constants_in_addresses_wrap(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory 1)
          (func (export "store_load") (param $p i32) (param $v i32) (result i32)
            (i32.store (i32.add (local.get $p) (i32.const 16)) (local.get $v))
            (i32.load (i32.add (local.get $p) (i32.const 16))))
          (func (export "load_offset") (param $p i32) (result i32)
            (i32.load offset=16 (local.get $p))))"#,
    );
    // 0xffff_fff8 + 16 wraps to 8.
    let got = p
        .call("store_load", &[Val::I32(-8), Val::I32(77)])
        .expect("no trap");
    assert_eq!(got, vec![Val::I32(77)]);
    let got = p.call("load_offset", &[Val::I32(-8)]);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
    // Out of bounds after wrapping nothing: a trap, from the slow path.
    let got = p.call("store_load", &[Val::I32(65_536 - 16), Val::I32(1)]);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
}

/// `base + (index << c)` feeding a load or store with offset 0 (one op on the
/// interpreter): the address wraps at 2^32 as the add does, and an access out
/// of bounds still traps.
fn scaled_addresses_wrap_and_trap(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module
          (memory 1)
          (func (export "put_get") (param $base i32) (param $i i32) (param $v i32) (result i32)
            (i32.store (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2)))
              (local.get $v))
            (i32.load (i32.add (local.get $base) (i32.shl (local.get $i) (i32.const 2))))))"#,
    );
    let call = |p: &mut Program, base: i32, i: i32, v: i32| {
        p.call("put_get", &[Val::I32(base), Val::I32(i), Val::I32(v)])
    };
    assert_eq!(call(&mut p, 64, 3, 9).expect("no trap"), vec![Val::I32(9)]);
    // 0x4000_0000 << 2 wraps to 0: the access is at `base`.
    assert_eq!(
        call(&mut p, 8, 0x4000_0000, 5).expect("no trap"),
        vec![Val::I32(5)]
    );
    let got = call(&mut p, 65_536, 0, 1);
    assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
}

/// Scaled accesses by each shift the interpreter's handlers fix (1, 2, 3) and
/// by one they read from the op (4) reach `base + (index << shift)`, wrapping
/// at 2^32 and trapping out of bounds; the index here comes from the
/// accumulator.
fn scaled_accesses_by_every_shift(tier: Tier) {
    let mut wat = String::from("(module (memory 1)\n");
    for s in 1..=4 {
        let addr = format!(
            "(i32.add (local.get $b) (i32.shl (i32.add (local.get $i) (i32.const 1)) (i32.const {s})))"
        );
        wat += &format!(
            "(func (export \"put{s}\") (param $b i32) (param $i i32) (param $v i64) \
               (i64.store {addr} (local.get $v)))
             (func (export \"get{s}\") (param $b i32) (param $i i32) (result i64) \
               (i64.load {addr}))\n"
        );
    }
    wat += "(func (export \"at\") (param $a i32) (result i64) (i64.load (local.get $a))))";
    let mut p = Program::load(tier, &wat);
    for s in 1..=4u32 {
        let v = 0x0123_4567_89ab_cdef_i64 + i64::from(s);
        let (b, i) = (100, 5);
        let put = format!("put{s}");
        let get = format!("get{s}");
        p.call(&put, &[Val::I32(b), Val::I32(i), Val::I64(v)])
            .expect("no trap");
        let at = b + ((i + 1) << s);
        assert_eq!(
            p.call("at", &[Val::I32(at)]),
            Ok(vec![Val::I64(v)]),
            "shift {s}"
        );
        assert_eq!(
            p.call(&get, &[Val::I32(b), Val::I32(i)]),
            Ok(vec![Val::I64(v)])
        );
        // `(i + 1) << s` is 2^32: the access is at `b`.
        let i = ((1u64 << (32 - s)) - 1) as u32 as i32;
        p.call(&put, &[Val::I32(8), Val::I32(i), Val::I64(-v)])
            .expect("no trap");
        assert_eq!(
            p.call("at", &[Val::I32(8)]),
            Ok(vec![Val::I64(-v)]),
            "shift {s}"
        );
        // Eight bytes at 65,532 run past the end.
        let got = p.call(&get, &[Val::I32(65_532), Val::I32(-1)]);
        assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
        let got = p.call(&put, &[Val::I32(65_532), Val::I32(-1), Val::I64(1)]);
        assert!(matches!(got, Err(e) if e.code() == Some(TrapCode::MemoryOutOfBounds)));
    }
}

fn memory_grows_in_place_and_size_follows(tier: Tier) {
    let mut p = RawProgram::load(
        r#"(module (memory 1 3)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
      (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "grow_then_poke") (param i32) (result i32)
        (drop (memory.grow (i32.const 1)))
        (i32.store (local.get 0) (i32.const 42))
        (i32.load (local.get 0))))"#,
        tier,
    );
    assert_eq!(p.call("size", &[]), Ok(vec![Val::I32(1)]));
    assert_eq!(
        code(p.call("poke", &[Val::I32(65536), Val::I32(5)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(p.call("grow", &[Val::I32(1)]), Ok(vec![Val::I32(1)]));
    assert_eq!(p.call("size", &[]), Ok(vec![Val::I32(2)]));
    assert_eq!(p.call("poke", &[Val::I32(65536), Val::I32(5)]), Ok(vec![]));
    assert_eq!(p.call("peek", &[Val::I32(65536)]), Ok(vec![Val::I32(5)]));
    // Growth within one call is seen by the accesses after it.
    assert_eq!(
        p.call("grow_then_poke", &[Val::I32(2 * 65536 + 8)]),
        Ok(vec![Val::I32(42)])
    );
    assert_eq!(p.memory().len(), 3 * 65536);
    // Past the maximum: -1, and nothing changes.
    assert_eq!(p.call("grow", &[Val::I32(1)]), Ok(vec![Val::I32(-1)]));
    assert_eq!(p.call("grow", &[Val::I32(-1)]), Ok(vec![Val::I32(-1)]));
    assert_eq!(p.call("grow", &[Val::I32(0)]), Ok(vec![Val::I32(3)]));
}

fn memoryless_module_grows_nothing(tier: Tier) {
    let mut p = Program::load(
        tier,
        r#"(module (func (export "f") (result i32) (i32.const 7)))"#,
    );
    assert_eq!(p.call("f", &[]), Ok(vec![Val::I32(7)]));
}
