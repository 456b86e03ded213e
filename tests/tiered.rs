//! The tiered strategy: a module runs on the interpreter until its background
//! compile has finished and on native code after, and whichever tier runs a
//! call, or a call stack that mixes them, the results, traps, fuel and the
//! call-depth limit are the interpreter's.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use kiln::{
    Caller, CompileHold, Config, Engine, Func, Instance, Linker, Module, Store, Strategy, Trap, Val,
};

const DEPTH: u32 = 60;

fn engine(strategy: Strategy) -> Engine {
    let mut config = Config::new();
    config
        .strategy(strategy)
        .consume_fuel(true)
        .nan_canonicalization(true)
        .max_call_depth(DEPTH);
    Engine::new(&config).expect("the tier is available")
}

/// How a call ended, and the fuel left.
type Outcome = (Result<Vec<Val>, String>, u64);

fn call<T: 'static>(store: &mut Store<T>, f: Func, args: &[Val], fuel: u64) -> Outcome {
    store.set_fuel(fuel).expect("fuel is on");
    let mut results = vec![Val::I32(0); f.ty(&*store).results.len()];
    let outcome = f
        .call(&mut *store, args, &mut results)
        .map(|()| results)
        .map_err(|e| e.to_string());
    (outcome, store.get_fuel().expect("fuel is on"))
}

const PROGRAM: &str = r#"(module
  (type $ii (func (param i32) (result i32)))
  (table 3 funcref)
  (elem (i32.const 0) $fib $sum)
  (memory 1)
  (tag $boom (param i32))
  (func $fib (export "fib") (type $ii)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add
        (call $fib (i32.sub (local.get 0) (i32.const 1)))
        (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $sum (export "sum") (type $ii) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 0)))
      (local.set $acc (i32.add (local.get $acc) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $ii) (local.get 1) (local.get 0)))
  (func $thrower (param i32) (throw $boom (local.get 0)))
  (func (export "catch") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $boom $caught) (call $thrower (local.get 0)))
      (i32.const -1)))
  (func (export "uncaught") (param i32) (call $thrower (local.get 0)))
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "nan") (param f32) (result f32) (f32.div (local.get 0) (f32.const 0)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#;

fn calls() -> Vec<(&'static str, Vec<Val>)> {
    vec![
        ("fib", vec![Val::I32(15)]),
        ("sum", vec![Val::I32(1000)]),
        ("indirect", vec![Val::I32(0), Val::I32(10)]),
        ("indirect", vec![Val::I32(1), Val::I32(10)]),
        ("indirect", vec![Val::I32(2), Val::I32(10)]),
        ("indirect", vec![Val::I32(7), Val::I32(10)]),
        ("catch", vec![Val::I32(42)]),
        ("uncaught", vec![Val::I32(42)]),
        ("deep", vec![Val::I32(0)]),
        ("nan", vec![Val::F32(0)]),
        ("load", vec![Val::I32(65534)]),
    ]
}

/// Every call of `calls()` at every budget, on a fresh instance of
/// `module`.
fn run_all(module: &Module) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for fuel in [0, 5, 17, 100, 1_000, 10_000_000] {
        let mut store = Store::new(module.engine(), ());
        let instance = Instance::new(&mut store, module, &[]).expect("instantiates");
        for (name, args) in calls() {
            let f = instance.get_func(&store, name).expect("exported");
            outcomes.push(call(&mut store, f, &args, fuel));
        }
    }
    outcomes
}

#[test]
fn a_tiered_module_computes_what_the_interpreter_does_on_either_tier() {
    let reference = run_all(&Module::new(&engine(Strategy::Interpreter), PROGRAM).expect("ok"));
    let tiered = engine(Strategy::Tiered);

    let hold = CompileHold::new();
    let interpreted = Module::new(&tiered, PROGRAM).expect("compiles");
    assert!(!interpreted.native_ready(), "held back");
    assert_eq!(run_all(&interpreted), reference, "before native code");
    drop(hold);

    assert!(interpreted.wait_native(), "the background compile succeeds");
    assert!(interpreted.native_ready());
    assert_eq!(run_all(&interpreted), reference, "on native code");
    assert_eq!(
        run_all(&Module::new(&engine(Strategy::Jit), PROGRAM).expect("ok")),
        reference,
        "the JIT alone"
    );
}

const CALLER: &str = r#"(module
  (import "b" "f" (func $f (param i32) (result i32)))
  (func (export "g") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))"#;

const CALLEE: &str = r#"(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "f") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $h (i32.sub (local.get 0) (i32.const 1))) (i32.const 2))))))"#;

/// `g` (module A) calls `f` (module B), which calls the host function `h`,
/// which calls `g` again: with A interpreted and B native, the stack mixes
/// the tiers all the way down.
fn mixed_stack(strategy: Strategy, hold_caller: bool) -> Vec<Outcome> {
    let engine = engine(strategy);
    let callee = Module::new(&engine, CALLEE).expect("compiles");
    if strategy == Strategy::Tiered {
        assert!(callee.wait_native());
    }
    let hold = hold_caller.then(CompileHold::new);
    let caller = Module::new(&engine, CALLER).expect("compiles");
    if hold.is_some() {
        assert!(!caller.native_ready());
    }
    let mut store: Store<Option<Func>> = Store::new(&engine, None);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "h",
            |mut caller: Caller<'_, Option<Func>>, n: i32| -> Result<i32, Trap> {
                let g = caller.data().expect("g is set");
                let mut results = [Val::I32(0)];
                g.call(&mut caller, &[Val::I32(n)], &mut results)
                    .map_err(|e| match e {
                        kiln::Error::Trap(t) => t,
                        other => Trap::host(other.to_string()),
                    })?;
                match results[0] {
                    Val::I32(r) => Ok(r),
                    _ => Err(Trap::host("g returned a non-i32")),
                }
            },
        )
        .expect("defines");
    let b = linker
        .instantiate(&mut store, &callee)
        .expect("instantiates");
    linker.instance(&store, "b", b).expect("links");
    let a = linker
        .instantiate(&mut store, &caller)
        .expect("instantiates");
    let g = a.get_func(&store, "g").expect("exported");
    *store.data_mut() = Some(g);
    let mut outcomes = Vec::new();
    for n in [0, 1, 5, 20, 29, 30, 31, 100] {
        for fuel in [0, 10, 50, 200, 100_000] {
            outcomes.push(call(&mut store, g, &[Val::I32(n)], fuel));
        }
    }
    drop(hold);
    outcomes
}

#[test]
fn a_call_stack_mixing_the_tiers_counts_as_either_tier_alone() {
    let reference = mixed_stack(Strategy::Interpreter, false);
    assert!(
        reference.iter().any(|(r, _)| r
            .as_ref()
            .is_err_and(|e| e.contains("call stack exhausted"))),
        "the depth limit is reached: {reference:?}"
    );
    assert!(
        reference
            .iter()
            .any(|(r, _)| r.as_ref().is_err_and(|e| e.contains("out of fuel"))),
        "fuel runs out: {reference:?}"
    );
    assert_eq!(
        mixed_stack(Strategy::Jit, false),
        reference,
        "the JIT alone"
    );
    assert_eq!(
        mixed_stack(Strategy::Tiered, true),
        reference,
        "interpreted g, native f"
    );
    assert_eq!(
        mixed_stack(Strategy::Tiered, false),
        reference,
        "both native, or racing"
    );
}

const LONG_RUN: &str = r#"(module
  (import "env" "tick" (func $tick (param i32)))
  (func $work (param i32) (result i32)
    (i32.mul (i32.add (local.get 0) (i32.const 7)) (i32.const 3)))
  (func (export "main") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $tick (local.get $i))
      (local.set $acc (i32.xor (local.get $acc) (call $work (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc)))"#;

/// A long call that starts interpreted: once native code is ready (the
/// host lets the compile go at iteration 50 and waits for it), the
/// interpreted loop's calls go to native code, and the result and fuel are
/// the interpreter's.
#[test]
fn calls_from_a_running_interpreted_function_switch_to_native_code() {
    let run = |strategy: Strategy| -> (Outcome, bool) {
        let engine = engine(strategy);
        let hold = (strategy == Strategy::Tiered).then(CompileHold::new);
        let module = Module::new(&engine, LONG_RUN).expect("compiles");
        let state = (hold, module.clone(), false);
        let mut store = Store::new(&engine, state);
        let mut linker = Linker::new(&engine);
        linker
            .func_wrap(
                "env",
                "tick",
                |mut caller: Caller<'_, (Option<CompileHold>, Module, bool)>, i: i32| {
                    if i == 50 && caller.data().0.is_some() {
                        caller.data_mut().0 = None;
                        let native = caller.data().1.wait_native();
                        caller.data_mut().2 = native;
                    }
                },
            )
            .expect("defines");
        let instance = linker
            .instantiate(&mut store, &module)
            .expect("instantiates");
        let main = instance.get_func(&store, "main").expect("exported");
        let outcome = call(&mut store, main, &[Val::I32(200)], 1_000_000);
        (outcome, store.data().2)
    };
    let (reference, _) = run(Strategy::Interpreter);
    let (tiered, switched) = run(Strategy::Tiered);
    assert!(switched, "native code became ready mid-run");
    assert_eq!(tiered, reference);
}

const TAIL_CALLER: &str = r#"(module
  (import "b" "leaf" (func $leaf (param i32) (result i32)))
  (func $deep (export "deep") (param i32) (result i32)
    (if (i32.eqz (local.get 0)) (then (return_call $leaf (i32.const 7))))
    (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))"#;

const LEAF: &str = r#"(module
  (func (export "leaf") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"#;

/// A tail call into another module replaces the caller's frame: at the
/// depth limit it runs where a call would not, on every tier and across
/// tiers (a tiered caller held on the interpreter, its callee native).
#[test]
fn a_tail_call_into_another_module_runs_at_the_callers_depth() {
    let run = |strategy: Strategy, hold_caller: bool| -> Vec<Outcome> {
        let engine = engine(strategy);
        let leaf = Module::new(&engine, LEAF).expect("compiles");
        if strategy == Strategy::Tiered {
            assert!(leaf.wait_native());
        }
        let hold = hold_caller.then(CompileHold::new);
        let caller = Module::new(&engine, TAIL_CALLER).expect("compiles");
        let mut store = Store::new(&engine, ());
        let mut linker = Linker::new(&engine);
        let b = linker.instantiate(&mut store, &leaf).expect("instantiates");
        linker.instance(&store, "b", b).expect("links");
        let a = linker
            .instantiate(&mut store, &caller)
            .expect("instantiates");
        let deep = a.get_func(&store, "deep").expect("exported");
        let depth = DEPTH as i32;
        let outcomes = [depth - 2, depth - 1, depth]
            .iter()
            .map(|&n| call(&mut store, deep, &[Val::I32(n)], 1_000_000))
            .collect();
        drop(hold);
        outcomes
    };
    let reference = run(Strategy::Interpreter, false);
    assert_eq!(
        reference[1].0,
        Ok(vec![Val::I32(8 + DEPTH as i32 - 1)]),
        "the deepest frame's tail call replaces it: {reference:?}"
    );
    assert!(
        reference[2]
            .0
            .as_ref()
            .is_err_and(|e| e.contains("call stack exhausted"))
    );
    assert_eq!(run(Strategy::Jit, false), reference, "the JIT");
    assert_eq!(
        run(Strategy::Tiered, true),
        reference,
        "interpreted caller, native callee"
    );
}
