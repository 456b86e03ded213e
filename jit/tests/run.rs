//! The JIT on small programs, driven through the runtime store directly: the
//! interpreter's `run.rs` programs, and what else the first slice compiles.

mod common;

use common::{Program, Tier, load, try_load};
use kiln_runtime::{StoreLimits, Trap, TrapCode, Val};

fn jit(wat: &str) -> Program {
    load(wat, Tier::Jit)
}

const FIB: &str = r#"(module
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

fn code(r: Result<Vec<Val>, Trap>) -> Option<TrapCode> {
    r.expect_err("must trap").code()
}

#[test]
fn recursion_and_loops_compute() {
    let mut p = jit(FIB);
    assert_eq!(p.call("fib", &[Val::I32(20)]), Ok(vec![Val::I32(6765)]));
    assert_eq!(
        p.call("loop_sum", &[Val::I32(100_000)]),
        Ok(vec![Val::I64(5_000_050_000)])
    );
}

#[test]
fn infinite_recursion_exhausts_the_call_stack() {
    let mut p = jit(FIB);
    assert_eq!(
        code(p.call("recurse", &[])),
        Some(TrapCode::CallStackExhausted)
    );
    assert_eq!(p.store.depth, 0, "the entry restores the depth");
    // The store is still usable afterwards.
    assert_eq!(p.call("fib", &[Val::I32(10)]), Ok(vec![Val::I32(55)]));
}

#[test]
fn traps_carry_spec_codes() {
    let mut p = jit(r#"(module (memory 1)
          (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
          (func (export "rem") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
          (func (export "rem64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
          (func (export "load_off") (param i32) (result i64) (i64.load offset=65520 (local.get 0)))
          (func (export "store") (param i32) (i32.store16 (local.get 0) (i32.const 7)))
          (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
          (func (export "trunc_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
          (func (export "unreachable") unreachable))"#);
    assert_eq!(
        code(p.call("div", &[Val::I32(1), Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        code(p.call("div", &[Val::I32(i32::MIN), Val::I32(-1)])),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        p.call("div", &[Val::I32(-7), Val::I32(2)]),
        Ok(vec![Val::I32(-3)])
    );
    assert_eq!(
        code(p.call("div_u64", &[Val::I64(1), Val::I64(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        p.call("rem", &[Val::I32(i32::MIN), Val::I32(-1)]),
        Ok(vec![Val::I32(0)])
    );
    assert_eq!(
        p.call("rem64", &[Val::I64(i64::MIN), Val::I64(-1)]),
        Ok(vec![Val::I64(0)])
    );
    assert_eq!(
        p.call("rem", &[Val::I32(-7), Val::I32(2)]),
        Ok(vec![Val::I32(-1)])
    );
    assert_eq!(
        code(p.call("rem", &[Val::I32(1), Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    assert_eq!(
        code(p.call("load", &[Val::I32(65533)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(
        code(p.call("load", &[Val::I32(-1)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(p.call("load", &[Val::I32(65532)]), Ok(vec![Val::I32(0)]));
    // The offset is added in 64 bits: no wrap-around back into the memory.
    assert_eq!(
        code(p.call("load_off", &[Val::I32(-2)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(p.call("load_off", &[Val::I32(8)]), Ok(vec![Val::I64(0)]));
    assert_eq!(
        code(p.call("load_off", &[Val::I32(9)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(
        code(p.call("store", &[Val::I32(65535)])),
        Some(TrapCode::MemoryOutOfBounds)
    );
    assert_eq!(p.call("store", &[Val::I32(65534)]), Ok(vec![]));
    assert_eq!(p.memory()[65534], 7);
    assert_eq!(
        code(p.call("trunc", &[Val::F64(f64::NAN.to_bits())])),
        Some(TrapCode::InvalidConversionToInteger)
    );
    assert_eq!(
        code(p.call("trunc", &[Val::F64(2147483648.0f64.to_bits())])),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        p.call("trunc", &[Val::F64((-2147483648.9f64).to_bits())]),
        Ok(vec![Val::I32(i32::MIN)])
    );
    assert_eq!(
        p.call("trunc_u", &[Val::F32((-0.9f32).to_bits())]),
        Ok(vec![Val::I64(0)])
    );
    assert_eq!(
        code(p.call("trunc_u", &[Val::F32((-1.0f32).to_bits())])),
        Some(TrapCode::IntegerOverflow)
    );
    assert_eq!(
        code(p.call("unreachable", &[])),
        Some(TrapCode::Unreachable)
    );
}

#[test]
fn call_depth_limit_matches_the_interpreter() {
    // `count n` makes n + 1 nested calls (the entry call is depth 1).
    let wat = r#"(module
      (func $count (export "count") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1)
                         (call $count (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let limits = StoreLimits {
        max_call_depth: 100,
        ..StoreLimits::default()
    };
    for tier in [Tier::Interp, Tier::Jit] {
        let mut p = try_load(wat, tier, false, limits).expect("compile");
        assert_eq!(
            p.call("count", &[Val::I32(99)]),
            Ok(vec![Val::I32(99)]),
            "{tier:?}: 100 frames fit"
        );
        assert_eq!(
            code(p.call("count", &[Val::I32(100)])),
            Some(TrapCode::CallStackExhausted),
            "{tier:?}: the 101st frame traps"
        );
        assert_eq!(p.store.depth, 0);
    }
}

#[test]
fn default_depth_recursion_fits_a_test_thread() {
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
    let mut p = jit(wat);
    let args = |n| [Val::I32(n), Val::I64(1), Val::F64(0f64.to_bits())];
    assert!(p.call("deep", &args(9_999)).is_ok());
    assert_eq!(
        code(p.call("deep", &args(10_000))),
        Some(TrapCode::CallStackExhausted)
    );
}

#[test]
fn a_small_native_stack_traps_instead_of_overflowing() {
    // With an effectively unlimited depth, the native stack limit stops the recursion.
    let handle = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let limits = StoreLimits {
                max_call_depth: u32::MAX,
                ..StoreLimits::default()
            };
            let mut p = try_load(FIB, Tier::Jit, false, limits).expect("compile");
            let trap = code(p.call("recurse", &[]));
            let still_works = p.call("fib", &[Val::I32(15)]);
            (trap, still_works)
        })
        .expect("spawn");
    let (trap, still_works) = handle.join().expect("no crash");
    assert_eq!(trap, Some(TrapCode::CallStackExhausted));
    assert_eq!(still_works, Ok(vec![Val::I32(610)]));
}

#[test]
fn memory_grows_in_place_and_size_follows() {
    let mut p = jit(r#"(module (memory 1 3)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
      (func (export "size") (result i32) (memory.size))
      (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
      (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
      (func (export "grow_then_poke") (param i32) (result i32)
        (drop (memory.grow (i32.const 1)))
        (i32.store (local.get 0) (i32.const 42))
        (i32.load (local.get 0))))"#);
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

#[test]
fn memoryless_module_grows_nothing() {
    let mut p = jit(r#"(module (func (export "f") (result i32) (i32.const 7)))"#);
    assert_eq!(p.call("f", &[]), Ok(vec![Val::I32(7)]));
}

#[test]
fn globals_are_read_and_written_in_the_store() {
    let mut p = jit(r#"(module
      (global $a (mut i32) (i32.const 10))
      (global $b (mut i64) (i64.const -1))
      (global $c (mut f32) (f32.const 1.5))
      (global $d f64 (f64.const 2.25))
      (func (export "bump") (result i32)
        (global.set $a (i32.add (global.get $a) (i32.const 1)))
        (global.set $b (i64.shl (global.get $b) (i64.const 4)))
        (global.set $c (f32.mul (global.get $c) (f32.const 2)))
        (global.get $a))
      (func (export "d") (result f64) (global.get $d)))"#);
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

#[test]
fn multi_value_blocks_loops_and_functions() {
    let mut p = jit(r#"(module
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
    )"#);
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

#[test]
fn unreachable_code_after_branches_is_skipped() {
    let mut p = jit(r#"(module
      (func (export "f") (param i32) (result i32)
        (block $out (result i32)
          (if (local.get 0)
            (then (br $out (i32.const 1)) (i32.const 99) (drop)
                  (block (loop (br 0))) (unreachable))
            (else (return (i32.const 2)) (if (i32.const 0) (then (unreachable)) (else (nop)))))
          (unreachable))
        (i32.add (i32.const 10)))
      (func (export "g") (result i32)
        (unreachable) (i64.const 0) (drop) (i32.const 1)))"#);
    assert_eq!(p.call("f", &[Val::I32(1)]), Ok(vec![Val::I32(11)]));
    assert_eq!(p.call("f", &[Val::I32(0)]), Ok(vec![Val::I32(2)]));
    assert_eq!(code(p.call("g", &[])), Some(TrapCode::Unreachable));
}

#[test]
fn a_trap_unwinds_every_frame() {
    let mut p = jit(r#"(module (memory 1)
      (func $inner (param i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.div_u (i32.const 1) (local.get 0)))
      (func $middle (param i32) (result i32 i32)
        (call $inner (local.get 0)) (i32.const 5))
      (func (export "outer") (param i32) (result i32)
        (call $middle (local.get 0)) (i32.add)))"#);
    assert_eq!(p.call("outer", &[Val::I32(1)]), Ok(vec![Val::I32(6)]));
    assert_eq!(
        code(p.call("outer", &[Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    // The store before the trap stays done.
    assert_eq!(p.memory()[..4], [0, 0, 0, 0]);
    assert_eq!(p.store.depth, 0);
}

#[test]
fn nan_canonicalisation_rewrites_arithmetic_nans_only() {
    let wat = r#"(module
      (func (export "div") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
      (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0)))
      (func (export "sqrt") (param f64) (result f64) (f64.sqrt (local.get 0))))"#;
    let mut p = try_load(wat, Tier::Jit, true, StoreLimits::default()).expect("compile");
    assert_eq!(
        p.call("div", &[Val::F32(0), Val::F32(0)]),
        Ok(vec![Val::F32(0x7fc0_0000)])
    );
    assert_eq!(
        p.call("sqrt", &[Val::F64((-1.0f64).to_bits())]),
        Ok(vec![Val::F64(0x7ff8_0000_0000_0000)])
    );
    assert_eq!(
        p.call("neg", &[Val::F32(0x7fc0_0001)]),
        Ok(vec![Val::F32(0xffc0_0001)])
    );
}

#[test]
fn simd_is_rejected_by_name() {
    let cases = [
        r#"(module (func (param v128)))"#,
        r#"(module (func (drop (i32x4.splat (i32.const 1)))))"#,
    ];
    for wat in cases {
        let err = try_load(wat, Tier::Jit, false, StoreLimits::default())
            .err()
            .unwrap_or_else(|| panic!("{wat} should be rejected"));
        assert!(
            err.contains("SIMD") && err.contains("does not support"),
            "{wat}: {err}"
        );
    }
}
