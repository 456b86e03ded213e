//! `kiln::instrument`: a rewritten module run without fuel computes what the
//! original computes on Kiln with fuel and NaN canonicalisation, to the
//! unit of fuel, on both tiers: results, traps (out of fuel and call stack
//! exhausted where Kiln has them) and the fuel left.

use kiln::instrument::{
    DEPTH_EXPORT, FUEL_EXPORT, InstrumentConfig, InstrumentError, START_EXPORT,
    STATUS_CALL_STACK_EXHAUSTED, STATUS_EXPORT, STATUS_OUT_OF_FUEL, instrument,
};
use kiln::{Config, Engine, Instance, Module, Store, Strategy, TrapCode, Val};

/// The call-depth limit of these tests.
const LIMIT: u32 = 200;

/// How a call ended, comparable across the two forms of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Its results, as `Val`'s debug text (floats and vectors as bits).
    Values(String),
    OutOfFuel,
    CallStackExhausted,
    /// Any other trap, by message.
    Trap(String),
}

/// One instance, original (run with fuel) or instrumented (run without).
struct Side {
    store: Store<()>,
    instance: Instance,
    instrumented: bool,
}

impl Side {
    fn new(strategy: Strategy, wasm: &[u8], instrumented: bool) -> Side {
        let mut config = Config::new();
        config.strategy(strategy);
        if instrumented {
            config.max_call_depth(LIMIT + 50);
        } else {
            config
                .consume_fuel(true)
                .nan_canonicalization(true)
                .max_call_depth(LIMIT);
        }
        let engine = Engine::new(&config).expect("the tier is available");
        let module = Module::new(&engine, wasm).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        Side {
            store,
            instance,
            instrumented,
        }
    }

    fn global(&mut self, name: &str) -> kiln::Global {
        self.instance
            .get_global(&self.store, name)
            .unwrap_or_else(|| panic!("exports {name}"))
    }

    /// Calls export `name` with `fuel`: how it ended and the fuel left.
    fn call(&mut self, name: &str, args: &[Val], fuel: u64) -> (Outcome, u64) {
        if self.instrumented {
            for (global, v) in [
                (FUEL_EXPORT, Val::I64(fuel as i64)),
                (STATUS_EXPORT, Val::I32(0)),
                (DEPTH_EXPORT, Val::I32(0)),
            ] {
                let g = self.global(global);
                g.set(&mut self.store, v).expect("sets");
            }
        } else {
            self.store.set_fuel(fuel).expect("fuel");
        }
        let func = self
            .instance
            .get_func(&self.store, name)
            .unwrap_or_else(|| panic!("exports {name}"));
        let mut results = vec![Val::I32(0); func.ty(&self.store).results.len()];
        let called = func.call(&mut self.store, args, &mut results);
        let outcome = match called {
            Ok(()) => Outcome::Values(format!("{results:?}")),
            Err(e) => {
                let code = e.trap().and_then(|t| t.code());
                let status = if self.instrumented {
                    match self.global(STATUS_EXPORT).get(&self.store) {
                        Val::I32(s) => s,
                        other => panic!("status is {other:?}"),
                    }
                } else {
                    0
                };
                match (code, status) {
                    (Some(TrapCode::OutOfFuel), _) | (_, STATUS_OUT_OF_FUEL) => Outcome::OutOfFuel,
                    (Some(TrapCode::CallStackExhausted), _) | (_, STATUS_CALL_STACK_EXHAUSTED) => {
                        Outcome::CallStackExhausted
                    }
                    _ => Outcome::Trap(e.to_string()),
                }
            }
        };
        let left = if self.instrumented {
            match self.global(FUEL_EXPORT).get(&self.store) {
                Val::I64(f) => f as u64,
                other => panic!("fuel is {other:?}"),
            }
        } else {
            self.store.get_fuel().expect("fuel")
        };
        (outcome, left)
    }
}

/// Runs the calls `(export, args)` in order, each with every fuel of
/// `fuels`, on the original and the instrumented module, on both tiers;
/// asserts every outcome and fuel left agree. Returns the outcomes.
fn agree(wat: &str, calls: &[(&str, Vec<Val>)], fuels: &[u64]) -> Vec<(Outcome, u64)> {
    let wasm = wat::parse_str(wat).expect("wat");
    let config = InstrumentConfig {
        max_call_depth: Some(LIMIT),
        ..InstrumentConfig::default()
    };
    let rewritten = instrument(&wasm, &config).expect("instruments");
    let mut seen = Vec::new();
    for strategy in [Strategy::Interpreter, Strategy::Jit] {
        let mut original = Side::new(strategy, &wasm, false);
        let mut instrumented = Side::new(strategy, &rewritten, true);
        seen.clear();
        for (name, args) in calls {
            for &fuel in fuels {
                let want = original.call(name, args, fuel);
                let got = instrumented.call(name, args, fuel);
                assert_eq!(got, want, "{strategy:?}: {name}{args:?} with {fuel} fuel");
                seen.push(want);
            }
        }
    }
    seen
}

/// Every fuel from 0 to `n`.
fn upto(n: u64) -> Vec<u64> {
    (0..=n).collect()
}

#[test]
fn loops_and_calls_run_out_where_kiln_does() {
    let wat = r#"(module
      (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func (export "count") (param $n i32) (result i32) (local $i i32)
        (loop $next
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
        (local.get $i))
      (func (export "pick") (param i32) (result i32)
        (block $a (block $b (block $c
          (br_table $a $b $c (local.get 0)))
          (return (i32.const 3)))
          (return (i32.const 2)))
        (i32.const 1)))"#;
    let seen = agree(
        wat,
        &[
            ("fib", vec![Val::I32(6)]),
            ("count", vec![Val::I32(5)]),
            ("pick", vec![Val::I32(1)]),
            ("pick", vec![Val::I32(7)]),
        ],
        &[&upto(160)[..], &[1_000_000]].concat(),
    );
    let out = seen
        .iter()
        .filter(|(o, _)| *o == Outcome::OutOfFuel)
        .count();
    assert!(out > 100, "only {out} calls ran out of fuel");
    assert!(
        seen.iter()
            .any(|(o, _)| *o == Outcome::Values("[I32(8)]".into())),
        "fib(6) never finished: {seen:?}"
    );
}

#[test]
fn bulk_memory_and_growth_charge_their_dynamic_cost() {
    let wat = r#"(module
      (memory 1 4)
      (memory $big i64 1 4)
      (table 10 funcref)
      (func (export "fill") (param i32)
        (memory.fill (i32.const 0) (i32.const 7) (local.get 0)))
      (func (export "copy64") (param i64)
        (memory.copy $big $big (i64.const 0) (i64.const 8) (local.get 0)))
      (func (export "grow") (param i32) (result i32)
        (memory.grow (local.get 0)))
      (func (export "grow64") (param i64) (result i64)
        (memory.grow $big (local.get 0)))
      (func (export "tfill") (param i32)
        (table.fill (i32.const 0) (ref.null func) (local.get 0))))"#;
    let mut calls = Vec::new();
    for n in [0, 1, 63, 64, 65, 96, 160, 200, 70_000] {
        calls.push(("fill", vec![Val::I32(n)]));
        calls.push(("copy64", vec![Val::I64(i64::from(n))]));
    }
    for n in [1 << 40, i64::MAX, -1] {
        calls.push(("copy64", vec![Val::I64(n)]));
    }
    for n in [0, 1, 2, 3, -1] {
        calls.push(("grow", vec![Val::I32(n)]));
        calls.push(("tfill", vec![Val::I32(n)]));
    }
    for n in [0, 1, i64::MAX, -1, 1 << 58, (1 << 57) + 5] {
        calls.push(("grow64", vec![Val::I64(n)]));
    }
    agree(
        wat,
        &calls,
        &[0, 1, 2, 3, 4, 5, 64, 65, 66, 130, 200, 1_200, u64::MAX],
    );
}

#[test]
fn nans_come_out_canonical() {
    let wat = r#"(module
      (func (export "div32") (param f32 f32) (result f32) (f32.div (local.get 0) (local.get 1)))
      (func (export "add64") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
      (func (export "neg32") (param f32) (result f32) (f32.neg (local.get 0)))
      (func (export "demote") (param f64) (result f32) (f32.demote_f64 (local.get 0)))
      (func (export "vmul") (param v128 v128) (result v128) (f32x4.mul (local.get 0) (local.get 1)))
      (func (export "vsqrt") (param v128) (result v128) (f64x2.sqrt (local.get 0)))
      (func (export "madd") (param v128 v128 v128) (result v128)
        (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "nmadd") (param v128 v128 v128) (result v128)
        (f64x2.relaxed_nmadd (local.get 0) (local.get 1) (local.get 2)))
      (func (export "dot") (param v128 v128) (result v128)
        (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))
      (func (export "dot_add") (param v128 v128 v128) (result v128)
        (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get 0) (local.get 1) (local.get 2)))
      (func (export "swizzle") (param v128 v128) (result v128)
        (i8x16.relaxed_swizzle (local.get 0) (local.get 1)))
      (func (export "trunc") (param v128) (result v128) (i32x4.relaxed_trunc_f32x4_u (local.get 0))))"#;
    let nan32 = 0xffc0_1234_u32;
    let nan64 = 0xfff8_0000_dead_beef_u64;
    let lanes32 = u128::from(nan32) | (u128::from(0x3f80_0000_u32) << 32) | (u128::MAX << 96);
    let lanes64 = u128::from(nan64) | (u128::from(0x4010_0000_0000_0000_u64) << 64);
    let bytes = u128::from_le_bytes(std::array::from_fn(|i| (i as u8).wrapping_mul(37)));
    let edge = u128::from_le_bytes([0x80; 16]);
    let calls = vec![
        ("div32", vec![Val::F32(0), Val::F32(0)]),
        ("div32", vec![Val::F32(nan32), Val::F32(0x3f80_0000)]),
        ("add64", vec![Val::F64(nan64), Val::F64(0)]),
        ("neg32", vec![Val::F32(0x7fc0_0000)]),
        ("demote", vec![Val::F64(nan64)]),
        ("vmul", vec![Val::V128(lanes32), Val::V128(lanes32)]),
        ("vsqrt", vec![Val::V128(lanes64)]),
        (
            "madd",
            vec![Val::V128(lanes32), Val::V128(bytes), Val::V128(lanes32)],
        ),
        (
            "nmadd",
            vec![Val::V128(lanes64), Val::V128(lanes64), Val::V128(bytes)],
        ),
        ("dot", vec![Val::V128(bytes), Val::V128(edge)]),
        ("dot", vec![Val::V128(edge), Val::V128(edge)]),
        (
            "dot_add",
            vec![Val::V128(edge), Val::V128(edge), Val::V128(bytes)],
        ),
        ("swizzle", vec![Val::V128(bytes), Val::V128(bytes)]),
        ("trunc", vec![Val::V128(lanes32)]),
    ];
    let seen = agree(wat, &calls, &[0, 1, 2, 10]);
    let canonical = seen
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Values(v) if v.contains("F32(2143289344)")))
        .count();
    assert!(canonical > 0, "a canonical f32 NaN came out: {seen:?}");
}

#[test]
fn the_call_depth_limit_traps_where_kiln_traps() {
    let wat = r#"(module
      (tag $t)
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
      (func $throw_at (param i32)
        (if (i32.eqz (local.get 0)) (then (throw $t)))
        (call $throw_at (i32.sub (local.get 0) (i32.const 1))))
      (func $tail (export "tail") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 7))
          (else (return_call $tail (i32.sub (local.get 0) (i32.const 1))))))
      ;; Throws from 150 frames down, catches it here, then recurses `n` deep:
      ;; the frames the exception left must not count.
      (func (export "after_throw") (param i32) (result i32)
        (block $caught
          (try_table (catch $t $caught)
            (call $throw_at (i32.const 150))))
        (call $down (local.get 0)))
      ;; The same, with the exception landing at a loop's start (twice).
      (func (export "loop_catch") (param i32) (result i32) (local $k i32)
        (loop $again
          (try_table (catch $t $again)
            (if (i32.lt_u (local.get $k) (i32.const 2))
              (then
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (call $throw_at (i32.const 150))))))
        (call $down (local.get 0))))"#;
    let calls = vec![
        ("down", vec![Val::I32(10)]),
        ("down", vec![Val::I32(LIMIT as i32 - 2)]),
        ("down", vec![Val::I32(LIMIT as i32 - 1)]),
        ("down", vec![Val::I32(LIMIT as i32)]),
        ("down", vec![Val::I32(100_000)]),
        ("tail", vec![Val::I32(10_000)]),
        ("after_throw", vec![Val::I32(LIMIT as i32 - 2)]),
        ("after_throw", vec![Val::I32(LIMIT as i32)]),
        ("loop_catch", vec![Val::I32(LIMIT as i32 - 2)]),
    ];
    let seen = agree(wat, &calls, &[5, 1_000_000]);
    let exhausted = seen
        .iter()
        .filter(|(o, _)| *o == Outcome::CallStackExhausted)
        .count();
    assert_eq!(exhausted, 3, "{seen:?}");
    let deepest = Outcome::Values(format!("[I32({})]", LIMIT - 2));
    let reached = seen.iter().filter(|(o, _)| *o == deepest).count();
    assert_eq!(reached, 3, "{seen:?}");
}

#[test]
fn modules_it_cannot_rewrite_are_refused() {
    let taken =
        wat::parse_str(r#"(module (global (export "kiln_fuel") i32 (i32.const 0)))"#).expect("wat");
    assert!(matches!(
        instrument(&taken, &InstrumentConfig::default()),
        Err(InstrumentError::NameTaken("kiln_fuel"))
    ));
    let invalid = wat::parse_str(r#"(module (func (result i32) (i64.const 0)))"#).expect("wat");
    assert!(matches!(
        instrument(&invalid, &InstrumentConfig::default()),
        Err(InstrumentError::Invalid(_))
    ));
    assert!(matches!(
        instrument(b"\0asm\x01\0\0\0\x01", &InstrumentConfig::default()),
        Err(InstrumentError::Invalid(_))
    ));
}

/// A start function deferred to `kiln_start` runs, called with a budget, as
/// the original's instantiation does with that fuel: it runs out at the same
/// point, or finishes with the same fuel left and the same effect.
#[test]
fn a_deferred_start_runs_out_where_instantiation_does() {
    let wat = r#"(module
      (global $n (export "n") (mut i32) (i32.const 0))
      (func $init
        (loop $more
          (global.set $n (i32.add (global.get $n) (i32.const 1)))
          (br_if $more (i32.lt_u (global.get $n) (i32.const 10)))))
      (start $init))"#;
    let wasm = wat::parse_str(wat).expect("wat");
    let config = InstrumentConfig {
        defer_start: true,
        ..InstrumentConfig::default()
    };
    let rewritten = instrument(&wasm, &config).expect("instruments");
    let (mut finished, mut ran_out) = (0, 0);
    for strategy in [Strategy::Interpreter, Strategy::Jit] {
        for fuel in 0..100 {
            let mut c = Config::new();
            c.strategy(strategy).consume_fuel(true);
            let engine = Engine::new(&c).expect("engine");
            let module = Module::new(&engine, &wasm).expect("compiles");
            let mut store = Store::new(&engine, ());
            store.set_fuel(fuel).expect("fuel");
            let want = match Instance::new(&mut store, &module, &[]) {
                Ok(_) => Outcome::Values("[]".into()),
                Err(e) => match e.trap().and_then(|t| t.code()) {
                    Some(TrapCode::OutOfFuel) => Outcome::OutOfFuel,
                    _ => Outcome::Trap(e.to_string()),
                },
            };
            let want = (want, store.get_fuel().expect("fuel"));

            let mut deferred = Side::new(strategy, &rewritten, true);
            let n = deferred.global("n").get(&deferred.store);
            assert_eq!(n, Val::I32(0), "the start function ran at instantiation");
            let got = deferred.call(START_EXPORT, &[], fuel);
            assert_eq!(got, want, "{strategy:?} with {fuel} fuel");
            match got.0 {
                Outcome::Values(_) => finished += 1,
                Outcome::OutOfFuel => ran_out += 1,
                _ => {}
            }
        }
    }
    assert!(
        finished > 0 && ran_out > 0,
        "{finished} finished, {ran_out} ran out"
    );
    let taken = wat::parse_str(r#"(module (func $f) (start $f) (export "kiln_start" (func $f)))"#)
        .expect("wat");
    assert!(matches!(
        instrument(&taken, &config),
        Err(InstrumentError::NameTaken("kiln_start"))
    ));
}

/// A job whose output carries a NaN's bits, which the spec leaves to each
/// engine: Kiln's own tiers, without canonicalisation, give different bits
/// for `f32x4.max` of two NaNs (the interpreter keeps the first operand's
/// payload, the JIT's x86 code gives the default NaN). Rewritten, the job
/// gives the canonical NaN on both, as Kiln's deterministic mode does.
#[test]
fn nan_bits_that_differ_between_engines_agree_once_rewritten() {
    let wat = r#"(module
      (func (export "max") (result i32)
        (i32x4.extract_lane 0
          (f32x4.max (v128.const f32x4 nan:0x10 0 0 0) (v128.const f32x4 -nan:0x20 0 0 0)))))"#;
    let naive = wat::parse_str(wat).expect("wat");
    let config = InstrumentConfig {
        fuel: false,
        max_call_depth: None,
        ..InstrumentConfig::default()
    };
    let rewritten = instrument(&naive, &config).expect("instruments");
    let run = |strategy, wasm: &[u8]| {
        let mut c = Config::new();
        c.strategy(strategy);
        let engine = Engine::new(&c).expect("engine");
        let module = Module::new(&engine, wasm).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let max = instance
            .get_typed_func::<(), i32>(&store, "max")
            .expect("exports max");
        max.call(&mut store, ()).expect("runs") as u32
    };
    let (interp, jit) = (
        run(Strategy::Interpreter, &naive),
        run(Strategy::Jit, &naive),
    );
    assert_ne!(
        interp, jit,
        "the tiers now agree on these NaN bits ({interp:#x}): this test needs another example"
    );
    for strategy in [Strategy::Interpreter, Strategy::Jit] {
        assert_eq!(run(strategy, &rewritten), 0x7fc0_0000, "{strategy:?}");
    }
}

/// With limits, `memory.grow` and `table.grow` fail on the rewritten module
/// (run on Kiln without limits) exactly where they fail on the original
/// under Kiln's `max_memory_bytes` and `max_table_elements`; a memory or
/// table that starts over the limit is refused, as Kiln's instantiation
/// refuses it.
#[test]
fn memory_and_table_limits_become_declared_maxima() {
    let wat = r#"(module
        (memory (export "memory") 1)
        (memory 0 3)
        (table 1 funcref)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
        (func (export "grow1") (param i32) (result i32) (memory.grow 1 (local.get 0)))
        (func (export "tgrow") (param i32) (result i32)
            (table.grow (ref.null func) (local.get 0))))"#;
    let wasm = wat::parse_str(wat).expect("valid");
    let (pages, elements) = (4u64, 5u64);
    let config = InstrumentConfig {
        max_memory_bytes: Some(pages * 65536),
        max_table_elements: Some(elements),
        ..InstrumentConfig::default()
    };
    let rewritten = instrument(&wasm, &config).expect("instruments");
    let calls: Vec<(&str, i32)> = vec![
        ("grow", 2),
        ("grow", 2),
        ("grow", 1),
        ("grow", 0),
        ("grow1", 2),
        ("grow1", 2),
        ("grow1", 1),
        ("tgrow", 3),
        ("tgrow", 2),
        ("tgrow", 1),
    ];
    let mut runs = Vec::new();
    for (bytes, limited) in [(&wasm, true), (&rewritten, false)] {
        let mut c = Config::new();
        if limited {
            c.max_memory_bytes(pages * 65536)
                .max_table_elements(elements);
        }
        let engine = Engine::new(&c).expect("engine");
        let module = Module::new(&engine, bytes).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let mut results = Vec::new();
        for (name, n) in &calls {
            let f = instance
                .get_typed_func::<i32, i32>(&store, name)
                .expect("exported");
            results.push(f.call(&mut store, *n).expect("runs"));
        }
        runs.push(results);
    }
    assert_eq!(runs[0], [1, -1, 3, 4, 0, -1, 2, 1, -1, 4]);
    assert_eq!(runs[1], runs[0]);

    let big = wat::parse_str("(module (memory 5))").expect("valid");
    assert!(matches!(
        instrument(&big, &config),
        Err(InstrumentError::TooLarge(what)) if what == "memory 0"
    ));
    let big = wat::parse_str("(module (table 6 funcref))").expect("valid");
    assert!(matches!(
        instrument(&big, &config),
        Err(InstrumentError::TooLarge(what)) if what == "table 0"
    ));
}
