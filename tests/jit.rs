//! The JIT through the public API, beside the interpreter: every kind of trap
//! comes back to the host as `Err` and the process (and the instance) keeps
//! running; deep recursion; fuel consumed to the unit; host functions that
//! call back, trap or panic; several threads trapping at once.

use kiln::{Config, Engine, Error, Instance, Linker, Module, Store, Strategy, TrapCode, Val};

const BOTH: [Strategy; 2] = [Strategy::Interpreter, Strategy::Jit];

fn engine(strategy: Strategy, configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy);
    configure(&mut config);
    Engine::new(&config).expect("the tier is available")
}

fn instantiate(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).expect("the test module compiles");
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate(&mut store, &module)
        .expect("instantiate");
    (store, instance)
}

fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> Result<Vec<Val>, Error> {
    let f = instance
        .get_func(&*store, name)
        .unwrap_or_else(|| panic!("export {name}"));
    let n = f.ty(&*store).results.len();
    let mut results = vec![Val::I32(0); n];
    f.call(&mut *store, args, &mut results)?;
    Ok(results)
}

fn trap_code(r: &Result<Vec<Val>, Error>) -> Option<TrapCode> {
    r.as_ref().err()?.trap()?.code()
}

/// One export per way WebAssembly can trap, and a function that still works.
const TRAPS: &str = r#"(module
  (memory 1)
  (table 3 funcref)
  (type $ii (func (param i32) (result i32)))
  (type $v (func))
  (elem (i32.const 0) $id $nothing)
  (func $id (type $ii) (local.get 0))
  (func $nothing (type $v))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_offset") (param i32) (result i64) (i64.load offset=65530 (local.get 0)))
  (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 1)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "rem") (param i64 i64) (result i64) (i64.rem_u (local.get 0) (local.get 1)))
  (func (export "trunc") (param f64) (result i32) (i32.trunc_f64_s (local.get 0)))
  (func (export "unreachable") (unreachable))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (type $ii) (i32.const 7) (local.get 0)))
  (func $rec (export "recurse") (result i32) (i32.add (call $rec) (i32.const 1)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "fill") (param i32) (memory.fill (i32.const 0) (i32.const 9) (local.get 0)))
  (func (export "works") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#;

#[test]
fn every_trap_returns_to_the_host_and_execution_goes_on() {
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
    for strategy in BOTH {
        for guard in [true, false] {
            let engine = engine(strategy, |c| {
                c.memory_guard(guard).consume_fuel(true);
            });
            let (mut store, instance) = instantiate(&engine, TRAPS);
            for (name, args, expected) in &cases {
                store.set_fuel(1_000_000).expect("fuel");
                let r = call(&mut store, &instance, name, args);
                assert_eq!(
                    trap_code(&r),
                    Some(*expected),
                    "{strategy:?} guard={guard} {name}{args:?}: {r:?}"
                );
                // The instance is still usable after every trap.
                let ok = call(&mut store, &instance, "works", &[Val::I32(41)]);
                assert_eq!(ok.expect("works"), vec![Val::I32(42)]);
            }
            store.set_fuel(10_000).expect("fuel");
            let r = call(&mut store, &instance, "spin", &[]);
            assert_eq!(trap_code(&r), Some(OutOfFuel), "{strategy:?}: {r:?}");
            store.set_fuel(100).expect("fuel");
            let r = call(&mut store, &instance, "fill", &[Val::I32(65536)]);
            assert_eq!(trap_code(&r), Some(OutOfFuel), "{strategy:?}: {r:?}");
        }
    }
}

/// A table of fixed size (its limits pin it), defined and exported, holding each kind
/// of callee `call_indirect` can meet.
const FIXED_TABLE: &str = r#"(module
  (import "host" "inc" (func $inc (param i32) (result i32)))
  (type $ii (func (param i32) (result i32)))
  (table $t (export "t") 5 5 funcref)
  (global (export "g") (mut i32) (i32.const 100))
  (elem (i32.const 0) func $twice $inc $wrong)
  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $wrong (param i64))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0))))"#;

/// Calls through the fixed-size table of another instance (imported with limits that
/// pin its size), and through a table that grows.
const TABLE_USER: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (import "lib" "t" (table $t 5 5 funcref))
  (table $g 1 funcref)
  (global $sign (mut i32) (i32.const -1))
  (elem (table $g) (i32.const 0) func $neg)
  ;; Reads its own instance's global: called with another instance's context, it
  ;; would read that instance's first global instead.
  (func $neg (param i32) (result i32) (i32.mul (local.get 0) (global.get $sign)))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "call_grown") (param i32 i32) (result i32)
    (call_indirect $g (type $ii) (local.get 1) (local.get 0)))
  (func (export "grow") (result i32) (table.grow $g (ref.func $neg) (i32.const 1)))
  (func (export "set_own") (table.set $t (i32.const 3) (ref.func $neg))))"#;

#[test]
fn indirect_calls_check_every_kind_of_callee_on_fixed_and_growing_tables() {
    use TrapCode::*;
    for strategy in BOTH {
        let engine = engine(strategy, |_| {});
        let mut store = Store::new(&engine, ());
        let mut linker: Linker<()> = Linker::new(&engine);
        linker
            .func_wrap("host", "inc", |_: kiln::Caller<'_, ()>, x: i32| Ok(x + 1))
            .expect("define");
        let lib = Module::new(&engine, FIXED_TABLE).expect("compile lib");
        let lib = linker
            .instantiate(&mut store, &lib)
            .expect("instantiate lib");
        linker.instance(&store, "lib", lib).expect("define lib");
        let user = Module::new(&engine, TABLE_USER).expect("compile user");
        let user = linker
            .instantiate(&mut store, &user)
            .expect("instantiate user");
        let expect = |store: &mut Store<()>,
                      instance: &Instance,
                      name: &str,
                      slot: i32,
                      want: Result<i32, TrapCode>| {
            let r = call(store, instance, name, &[Val::I32(slot), Val::I32(5)]);
            let got = match &r {
                Ok(v) => Ok(v[0]),
                Err(_) => Err(trap_code(&r)),
            };
            let want = want.map(Val::I32).map_err(Some);
            assert_eq!(got, want, "{strategy:?} {name}({slot}): {r:?}");
        };
        for instance in [&lib, &user] {
            expect(&mut store, instance, "call", 0, Ok(10));
            expect(&mut store, instance, "call", 1, Ok(6));
            expect(
                &mut store,
                instance,
                "call",
                2,
                Err(IndirectCallTypeMismatch),
            );
            expect(&mut store, instance, "call", 3, Err(UninitializedElement));
            expect(&mut store, instance, "call", 5, Err(UndefinedElement));
            expect(&mut store, instance, "call", -1, Err(UndefinedElement));
        }
        // The user puts its own function into the lib's table: the lib calls it
        // through the slow path, the user directly.
        call(&mut store, &user, "set_own", &[]).expect("set_own");
        expect(&mut store, &lib, "call", 3, Ok(-5));
        expect(&mut store, &user, "call", 3, Ok(-5));
        expect(&mut store, &user, "call_grown", 0, Ok(-5));
        expect(&mut store, &user, "call_grown", 1, Err(UndefinedElement));
        let grown = call(&mut store, &user, "grow", &[]).expect("grow");
        assert_eq!(grown, vec![Val::I32(1)], "{strategy:?}");
        expect(&mut store, &user, "call_grown", 1, Ok(-5));
        expect(&mut store, &user, "call_grown", 2, Err(UndefinedElement));
    }
}

#[test]
fn a_million_frames_deep_on_both_tiers() {
    const DEPTH: u32 = 1_000_000;
    let wat = r#"(module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1)
                  (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#;
    for strategy in BOTH {
        let engine = engine(strategy, |c| {
            c.max_call_depth(DEPTH);
        });
        let (mut store, instance) = instantiate(&engine, wat);
        // DEPTH frames: the outermost call plus DEPTH - 1 recursive ones.
        let r = call(&mut store, &instance, "down", &[Val::I32(DEPTH as i32 - 1)]);
        assert_eq!(
            r.expect("fits"),
            vec![Val::I32(DEPTH as i32 - 1)],
            "{strategy:?}"
        );
        // One more frame is one too many, on both tiers alike.
        let r = call(&mut store, &instance, "down", &[Val::I32(DEPTH as i32)]);
        assert_eq!(
            trap_code(&r),
            Some(TrapCode::CallStackExhausted),
            "{strategy:?}"
        );
    }
}

#[test]
fn fuel_consumed_is_identical_on_both_tiers() {
    let wat = r#"(module
      (memory 1)
      (global $g (mut i32) (i32.const 0))
      (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func (export "mixed") (param i32) (result i32) (local i32)
        (block $out
          (loop $l
            (br_if $out (i32.eqz (local.get 0)))
            (memory.fill (i32.const 0) (local.get 0) (i32.const 100))
            (global.set $g (i32.add (global.get $g) (i32.load8_u (i32.const 5))))
            (drop (memory.grow (i32.const 0)))
            (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
            (br $l)))
        (global.get $g)))"#;
    let mut fuel_left = Vec::new();
    for strategy in BOTH {
        let engine = engine(strategy, |c| {
            c.consume_fuel(true);
        });
        let (mut store, instance) = instantiate(&engine, wat);
        let mut seen = Vec::new();
        for (name, arg) in [("fib", 20), ("mixed", 50), ("fib", 25)] {
            store.set_fuel(1_000_000).expect("fuel");
            let r = call(&mut store, &instance, name, &[Val::I32(arg)]);
            seen.push((format!("{r:?}"), store.get_fuel().expect("fuel")));
        }
        // Running out: the same trap with the same fuel left, for budgets around
        // the cost of a call.
        for budget in [0, 1, 7, 100, 1234, 5000] {
            store.set_fuel(budget).expect("fuel");
            let r = call(&mut store, &instance, "mixed", &[Val::I32(20)]);
            seen.push((format!("{r:?}"), store.get_fuel().expect("fuel")));
        }
        fuel_left.push(seen);
    }
    assert_eq!(fuel_left[0], fuel_left[1]);
    assert!(fuel_left[0].iter().any(|(r, _)| r.contains("OutOfFuel")));
}

#[test]
fn host_functions_trap_panic_and_reenter_from_jit_code() {
    let engine = engine(Strategy::Jit, |_| {});
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "call" (func $host (param i32) (result i32)))
          (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
          (func (export "run") (param i32) (result i32)
            (i32.mul (call $host (local.get 0)) (i32.const 2))))"#,
    )
    .expect("compile");
    let mut linker: Linker<()> = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "call",
            |mut caller: kiln::Caller<'_, ()>, x: i32| match x {
                0 => Err(kiln::Trap::host("the host said no")),
                1 => panic!("host panic"),
                _ => {
                    let Some(kiln::Extern::Func(inc)) = caller.get_export("inc") else {
                        return Err(kiln::Trap::host("no inc"));
                    };
                    let mut out = [Val::I32(0)];
                    inc.call(&mut caller, &[Val::I32(x)], &mut out)
                        .map_err(|e| kiln::Trap::host(e.to_string()))?;
                    match out[0] {
                        Val::I32(v) => Ok(v),
                        _ => Err(kiln::Trap::host("bad result")),
                    }
                }
            },
        )
        .expect("define");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiate");
    let run = instance
        .get_typed_func::<i32, i32>(&store, "run")
        .expect("run");
    assert_eq!(run.call(&mut store, 20).expect("re-entry"), 42);
    let err = run.call(&mut store, 0).expect_err("host trap");
    assert!(err.to_string().contains("the host said no"), "{err}");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, 1);
    }));
    assert!(panicked.is_err(), "the host's panic reaches the caller");
    assert_eq!(run.call(&mut store, 5).expect("still works"), 12);
}

#[test]
fn threads_trap_independently() {
    let engine = engine(Strategy::Jit, |_| {});
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

#[test]
fn a_large_module_compiles_in_parallel_and_runs_like_the_interpreter() {
    // 300 functions of about 100 instructions each: past the size at which the JIT
    // compiles on several threads. Each calls the previous one, so every function's
    // code is placed and linked right.
    let mut wat = String::from("(module\n");
    for i in 0..300 {
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32)\n"
        ));
        for k in 0..24 {
            wat.push_str(&format!(
                "(local.set 0 (i32.xor (i32.mul (local.get 0) (i32.const {})) (i32.const {})))\n",
                2 * (i + k) + 1,
                i * 31 + k
            ));
        }
        if i > 0 {
            wat.push_str(&format!("(call $f{} (local.get 0)))\n", i - 1));
        } else {
            wat.push_str("(local.get 0))\n");
        }
    }
    wat.push(')');
    let mut results = Vec::new();
    for strategy in BOTH {
        let engine = engine(strategy, |_| {});
        let (mut store, instance) = instantiate(&engine, &wat);
        let r: Vec<_> = [0, 1, 150, 299]
            .iter()
            .map(|i| {
                call(&mut store, &instance, &format!("f{i}"), &[Val::I32(12345)]).expect("runs")
            })
            .collect();
        results.push(r);
    }
    assert_eq!(results[0], results[1]);
}

#[test]
fn the_jit_is_the_default_where_it_exists() {
    assert_eq!(
        Strategy::JIT_AVAILABLE,
        cfg!(all(target_arch = "x86_64", target_os = "linux"))
    );
    let expected = if Strategy::JIT_AVAILABLE {
        Strategy::Jit
    } else {
        Strategy::Interpreter
    };
    assert_eq!(Strategy::default(), expected);
    assert_eq!(Config::new(), {
        let mut config = Config::new();
        config.strategy(expected);
        config
    });
}
