//! The JIT on small programs, driven through the runtime store directly: the
//! interpreter's `run.rs` programs, and what else the first slice compiles.

mod common;

use common::{Program, Tier, load};
use kiln_runtime::{Trap, TrapCode, Val};

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
