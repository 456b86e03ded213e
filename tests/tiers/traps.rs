//! Traps: every kind comes back to the caller as an error with the spec's
//! code, from any depth and from several threads at once, and the instance
//! (and the process) keeps running.

use kiln::{Linker, Module, Store, TrapCode, Val};

use crate::raw::RawProgram;
use crate::{Program, Tier, call, code, trap_code};

tier_tests!(
    traps_carry_spec_codes,
    every_trap_returns_to_the_host_and_execution_goes_on,
    a_trap_unwinds_every_frame,
    threads_trap_independently,
);

/// One export per way WebAssembly can trap, and a function that still works.
pub const TRAPS: &str = include_str!("traps.wat");

fn traps_carry_spec_codes(tier: Tier) {
    let mut p = RawProgram::load(
        r#"(module (memory 1)
          (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func (export "div_u64") (param i64 i64) (result i64) (i64.div_u (local.get 0) (local.get 1)))
          (func (export "rem") (param i32 i32) (result i32) (i32.rem_s (local.get 0) (local.get 1)))
          (func (export "rem64") (param i64 i64) (result i64) (i64.rem_s (local.get 0) (local.get 1)))
          (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
          (func (export "load_off") (param i32) (result i64) (i64.load offset=65520 (local.get 0)))
          (func (export "store") (param i32) (i32.store16 (local.get 0) (i32.const 7)))
          (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
          (func (export "trunc_u") (param f32) (result i64) (i64.trunc_f32_u (local.get 0)))
          (func (export "unreachable") unreachable))"#,
        tier,
    );
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

fn every_trap_returns_to_the_host_and_execution_goes_on(tier: Tier) {
    use TrapCode::*;
    let cases: [(&str, Vec<Val>, TrapCode); 14] = [
        ("load", vec![Val::I32(65534)], MemoryOutOfBounds),
        ("load", vec![Val::I32(-1)], MemoryOutOfBounds),
        ("load_offset", vec![Val::I32(-1)], MemoryOutOfBounds),
        ("store", vec![Val::I32(65536)], MemoryOutOfBounds),
        ("div", vec![Val::I32(1), Val::I32(0)], IntegerDivisionByZero),
        (
            "div",
            vec![Val::I32(i32::MIN), Val::I32(-1)],
            IntegerOverflow,
        ),
        ("rem", vec![Val::I64(1), Val::I64(0)], IntegerDivisionByZero),
        (
            "trunc",
            vec![Val::F64(f64::NAN.to_bits())],
            InvalidConversionToInteger,
        ),
        ("trunc", vec![Val::F64(3e9f64.to_bits())], IntegerOverflow),
        ("unreachable", vec![], Unreachable),
        ("indirect", vec![Val::I32(1)], IndirectCallTypeMismatch),
        ("indirect", vec![Val::I32(2)], UninitializedElement),
        ("indirect", vec![Val::I32(3)], UndefinedElement),
        ("recurse", vec![], CallStackExhausted),
    ];
    for guard in [true, false] {
        let engine = tier.engine(|c| {
            c.memory_guard(guard).consume_fuel(true);
        });
        let Program {
            mut store,
            instance,
        } = Program::on(&engine, TRAPS);
        for (name, args, expected) in &cases {
            store.set_fuel(1_000_000).expect("fuel");
            let r = call(&mut store, &instance, name, args);
            assert_eq!(
                trap_code(&r),
                Some(*expected),
                "guard={guard} {name}{args:?}: {r:?}"
            );
            // The instance is still usable after every trap.
            let ok = call(&mut store, &instance, "works", &[Val::I32(41)]);
            assert_eq!(ok.expect("works"), vec![Val::I32(42)]);
        }
        store.set_fuel(10_000).expect("fuel");
        let r = call(&mut store, &instance, "spin", &[]);
        assert_eq!(trap_code(&r), Some(OutOfFuel), "guard={guard}: {r:?}");
        store.set_fuel(100).expect("fuel");
        let r = call(&mut store, &instance, "fill", &[Val::I32(65536)]);
        assert_eq!(trap_code(&r), Some(OutOfFuel), "guard={guard}: {r:?}");
    }
}

fn a_trap_unwinds_every_frame(tier: Tier) {
    let mut p = RawProgram::load(
        r#"(module (memory 1)
      (func $inner (param i32) (result i32)
        (i32.store (i32.const 0) (local.get 0))
        (i32.div_u (i32.const 1) (local.get 0)))
      (func $middle (param i32) (result i32 i32)
        (call $inner (local.get 0)) (i32.const 5))
      (func (export "outer") (param i32) (result i32)
        (call $middle (local.get 0)) (i32.add)))"#,
        tier,
    );
    assert_eq!(p.call("outer", &[Val::I32(1)]), Ok(vec![Val::I32(6)]));
    assert_eq!(
        code(p.call("outer", &[Val::I32(0)])),
        Some(TrapCode::IntegerDivisionByZero)
    );
    // The store before the trap stays done.
    assert_eq!(p.memory()[..4], [0, 0, 0, 0]);
    assert_eq!(p.store.depth, 0);
}

fn threads_trap_independently(tier: Tier) {
    let engine = tier.engine(|_| {});
    let module = Module::new(&engine, TRAPS).expect("compile");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (engine, module) = (engine.clone(), module.clone());
            std::thread::spawn(move || {
                let mut store = Store::new(&engine, ());
                let instance = Linker::new(&engine)
                    .instantiate(&mut store, &module)
                    .expect("instantiate");
                for i in 0..200 {
                    let r = call(&mut store, &instance, "load", &[Val::I32(70_000 + i)]);
                    assert_eq!(trap_code(&r), Some(TrapCode::MemoryOutOfBounds));
                    let r = call(&mut store, &instance, "div", &[Val::I32(t), Val::I32(0)]);
                    assert_eq!(trap_code(&r), Some(TrapCode::IntegerDivisionByZero));
                    let ok = call(&mut store, &instance, "works", &[Val::I32(i)]);
                    assert_eq!(ok.expect("works"), vec![Val::I32(i + 1)]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread crashed");
    }
}
