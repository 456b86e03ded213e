//! GC through the public API: with `Features::ALL_WITH_GC`, the interpreter
//! (and the tiered strategy, which keeps a GC module on it) runs GC modules
//! and hands GC references to the host as `Val::AnyRef`; the JIT refuses
//! them as [`Error::Unsupported`] (never a panic), while modules that do not
//! use GC compile on every strategy as before.

use kiln::{AnyRefKind, Config, Engine, Error, ExternRef, Features, Module, Store, Strategy, Val};

const STRATEGIES: [Strategy; 3] = [Strategy::Interpreter, Strategy::Jit, Strategy::Tiered];

/// Modules that need GC: a struct type, an array type, a GC heap type
/// alone, and a GC instruction in a constant expression.
const GC_MODULES: [&str; 4] = [
    "(module (type (struct (field i32))))",
    "(module (type $a (array i8)) (func (param (ref null $a))))",
    "(module (func (param anyref) (result i32) (ref.is_null (local.get 0))))",
    "(module (global i31ref (ref.i31 (i32.const 1))))",
];

fn engine(strategy: Strategy, features: Features) -> Engine {
    let mut config = Config::new();
    config.strategy(strategy).features(features);
    Engine::new(&config).expect("a valid configuration")
}

#[test]
fn the_jit_refuses_gc_modules_and_the_interpreter_takes_them() {
    for wat in GC_MODULES {
        let bytes = wat::parse_str(wat).expect("well-formed");
        kiln::validate(&bytes, Features::ALL_WITH_GC).expect("valid with GC");
        for strategy in STRATEGIES {
            let compiled = Module::new(&engine(strategy, Features::ALL_WITH_GC), &bytes);
            match (strategy, compiled) {
                (Strategy::Jit, Err(Error::Unsupported(why))) => {
                    assert!(why.contains("GC"), "{why}");
                }
                (Strategy::Jit, other) => panic!("{wat}: the JIT gave {other:?}"),
                (_, compiled) => {
                    compiled.unwrap_or_else(|e| panic!("{wat} on {strategy:?}: {e}"));
                }
            }
            // Without GC in the features, the parser refuses it by name.
            match Module::new(&engine(strategy, Features::ALL), &bytes) {
                Err(Error::Parse(e)) => assert!(e.to_string().contains("gc"), "{e}"),
                Err(e) => panic!("{wat} on {strategy:?}: expected a parse error, got {e}"),
                Ok(_) => panic!("{wat} on {strategy:?}: GC accepted without the feature"),
            }
        }
    }
}

#[test]
fn modules_without_gc_still_run_with_gc_on() {
    for strategy in STRATEGIES {
        let engine = engine(strategy, Features::ALL_WITH_GC);
        let module = Module::new(
            &engine,
            "(module (func (export \"f\") (param i32) (result i32)
               (ref.is_null (select (result funcref) (ref.null func) (ref.func 0) (local.get 0))))
               (elem declare func 0))",
        )
        .expect("no GC in it");
        let mut store = Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let f = instance
            .get_typed_func::<i32, i32>(&mut store, "f")
            .expect("typed");
        assert_eq!(f.call(&mut store, 1).expect("runs"), 1);
        assert_eq!(f.call(&mut store, 0).expect("runs"), 0);
    }
}

/// The host receives structs, arrays and `i31`s as `Val::AnyRef`, tells
/// them apart, passes them back, and converts its own values both ways.
#[test]
fn the_host_holds_gc_references() {
    let wat = r#"(module
      (type $pt (struct (field $x (mut i32)) (field $y i64)))
      (type $bytes (array (mut i8)))
      (func (export "point") (param i32 i64) (result (ref $pt))
        (struct.new $pt (local.get 0) (local.get 1)))
      (func (export "x") (param (ref null $pt)) (result i32)
        (struct.get $pt $x (local.get 0)))
      (func (export "bytes") (param i32) (result (ref $bytes))
        (array.new $bytes (i32.const 7) (local.get 0)))
      (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
      (func (export "internalize") (param externref) (result anyref)
        (any.convert_extern (local.get 0)))
      (func (export "externalize") (param anyref) (result externref)
        (extern.convert_any (local.get 0))))"#;
    for strategy in [Strategy::Interpreter, Strategy::Tiered] {
        let engine = engine(strategy, Features::ALL_WITH_GC);
        let module = Module::new(&engine, wat).expect("valid");
        let mut store = Store::new(&engine, ());
        let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
        let call = |store: &mut Store<()>, name: &str, args: &[Val]| {
            let f = instance.get_func(&mut *store, name).expect("exported");
            let mut out = [Val::I32(0)];
            f.call(&mut *store, args, &mut out)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            out[0]
        };
        let point = call(&mut store, "point", &[Val::I32(3), Val::I64(4)]);
        assert_eq!(call(&mut store, "x", &[point]), Val::I32(3));
        let bytes = call(&mut store, "bytes", &[Val::I32(5)]);
        let i31 = call(&mut store, "i31", &[Val::I32(-2)]);
        let host = ExternRef::new(&mut store, 42u32);
        let internal = call(&mut store, "internalize", &[host.to_val()]);
        let back = call(&mut store, "externalize", &[internal]);
        let kind = |v: Val| match v {
            Val::AnyRef(Some(r)) => AnyRefKind::of(&store, r),
            other => panic!("not an anyref: {other:?}"),
        };
        assert_eq!(kind(point), Some(AnyRefKind::Struct));
        assert_eq!(kind(bytes), Some(AnyRefKind::Array));
        assert_eq!(kind(i31), Some(AnyRefKind::I31(-2)));
        assert_eq!(kind(internal), Some(AnyRefKind::Host(host)));
        assert_eq!(internal, host.to_any_val());
        assert_eq!(
            back,
            host.to_val(),
            "the round trip gives the host value back"
        );
        assert_eq!(
            ExternRef::from_val(&store, back).and_then(|e| e.data::<u32, _>(&store).copied()),
            Some(42)
        );
        // A null struct traps with the spec's message.
        let x = instance.get_func(&mut store, "x").expect("exported");
        let err = x
            .call(&mut store, &[Val::AnyRef(None)], &mut [Val::I32(0)])
            .expect_err("struct.get of null");
        assert!(
            err.to_string().contains("null structure reference"),
            "{err}"
        );
    }
}

/// A list of `$node`s, garbage made in a loop, and lists built through
/// calls whose partial results wait in their callers' frames.
const CHURN: &str = r#"(module
  (type $node (struct (field i32) (field (ref null $node))))
  (func $make (param i32) (result (ref $node))
    (struct.new $node (local.get 0) (ref.null $node)))
  ;; Keeps a two-node list in a local, makes `n` nodes of garbage pointing
  ;; at it, and returns the sum of the list's values (3).
  (func (export "churn") (param $n i32) (result i32)
    (local $keep (ref null $node))
    (local.set $keep (struct.new $node (i32.const 1) (call $make (i32.const 2))))
    (loop $l
      (drop (struct.new $node (local.get $n) (local.get $keep)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.add
      (struct.get $node 0 (local.get $keep))
      (struct.get $node 0 (ref.as_non_null (struct.get $node 1 (local.get $keep))))))
  ;; A list of `n` nodes, n at the head, built by recursion: each node's
  ;; tail is the result of a call made while the caller's value waits.
  (func $build (export "build") (param $n i32) (result (ref null $node))
    (if (result (ref null $node)) (i32.eqz (local.get $n))
      (then (ref.null $node))
      (else (struct.new $node (local.get $n)
        (call $build (i32.sub (local.get $n) (i32.const 1)))))))
  ;; The sum of a list's values.
  (func $sum (export "sum") (param $l (ref null $node)) (result i32)
    (local $s i32)
    (block $done
      (loop $next
        (br_if $done (ref.is_null (local.get $l)))
        (local.set $s (i32.add (local.get $s) (struct.get $node 0 (local.get $l))))
        (local.set $l (struct.get $node 1 (local.get $l)))
        (br $next)))
    (local.get $s))
  ;; `m` nodes of garbage, then a list of `n`.
  (func $garbage_then_build (param $m i32) (param $n i32) (result (ref null $node))
    (loop $l
      (drop (struct.new $node (local.get $m) (ref.null $node)))
      (br_if $l (local.tee $m (i32.sub (local.get $m) (i32.const 1)))))
    (call $build (local.get $n)))
  ;; Two lists of `n` in a pair, the first waiting on the caller's operand
  ;; stack while the second call's garbage fills the heap and collects:
  ;; both lists' sums.
  (type $pair (struct (field (ref null $node)) (field (ref null $node))))
  (func (export "two") (param $n i32) (result i32)
    (local $p (ref null $pair))
    (local.set $p (struct.new $pair
      (call $build (local.get $n))
      (call $garbage_then_build (i32.const 5000) (local.get $n))))
    (i32.add
      (call $sum (struct.get $pair 0 (local.get $p)))
      (call $sum (struct.get $pair 1 (local.get $p))))))"#;

fn store_collections(store: &Store<()>) -> u64 {
    store.gc_stats().collections
}

fn churn_instance(limit: u64) -> (Store<()>, kiln::Instance) {
    let mut config = Config::new();
    config
        .strategy(Strategy::Interpreter)
        .features(Features::ALL_WITH_GC)
        .max_gc_heap_bytes(limit);
    let engine = Engine::new(&config).expect("a valid configuration");
    let module = Module::new(&engine, CHURN).expect("valid");
    let mut store = Store::new(&engine, ());
    let instance = kiln::Instance::new(&mut store, &module, &[]).expect("instantiates");
    (store, instance)
}

/// A node is 16 bytes of header and 8 of fields.
const NODE: u64 = 24;

#[test]
fn garbage_a_hundred_times_the_heap_runs_to_the_end() {
    let (mut store, instance) = churn_instance(1000 * NODE);
    let churn = instance
        .get_typed_func::<i32, i32>(&mut store, "churn")
        .expect("exported");
    // 100,000 nodes of garbage in a heap of 1,000: the kept list survives
    // every collection.
    assert_eq!(churn.call(&mut store, 100_000).expect("runs"), 3);
    let two = instance
        .get_typed_func::<i32, i32>(&mut store, "two")
        .expect("exported");
    // Two lists of 400 (800 nodes live at the end), 5,000 nodes of garbage
    // made between them.
    let before = store_collections(&store);
    assert_eq!(two.call(&mut store, 400).expect("runs"), 2 * 400 * 401 / 2);
    assert!(
        store_collections(&store) > before,
        "the garbage was collected"
    );
}

#[test]
fn what_stays_reachable_traps_at_the_same_allocation_every_time() {
    for _ in 0..2 {
        let (mut store, instance) = churn_instance(1000 * NODE);
        let build = instance.get_func(&mut store, "build").expect("exported");
        let mut out = [Val::AnyRef(None)];
        // 999 nodes fit; a list of 1,000 does not, whatever the collector
        // does, and the trap says so.
        build
            .call(&mut store, &[Val::I32(999)], &mut out)
            .expect("999 nodes fit");
        let err = build
            .call(&mut store, &[Val::I32(1001)], &mut out)
            .expect_err("the heap is full of live nodes");
        assert!(err.to_string().contains("out of GC heap memory"), "{err}");
    }
}

/// A host function called with a list waiting in its caller's frame calls
/// back into WebAssembly, whose garbage fills the heap: the collection keeps
/// the waiting list (the frames waiting for the host are roots).
#[test]
fn frames_waiting_for_the_host_keep_their_objects() {
    let mut config = Config::new();
    config
        .strategy(Strategy::Interpreter)
        .features(Features::ALL_WITH_GC)
        .max_gc_heap_bytes(500 * NODE);
    let engine = Engine::new(&config).expect("a valid configuration");
    let mut linker = kiln::Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "churn",
            |mut caller: kiln::Caller<'_, ()>, n: i32| -> Result<(), kiln::Trap> {
                let garbage = caller
                    .get_export("garbage")
                    .and_then(|e| e.into_func())
                    .ok_or_else(|| kiln::Trap::host("no garbage export"))?;
                garbage
                    .call(&mut caller, &[Val::I32(n)], &mut [])
                    .map_err(|e| kiln::Trap::host(e.to_string()))
            },
        )
        .expect("defined");
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "churn" (func $churn (param i32)))
          (type $node (struct (field i32) (field (ref null $node))))
          (func $tail (param i32) (return_call $churn (local.get 0)))
          (func (export "garbage") (param $m i32)
            (loop $l
              (drop (struct.new $node (local.get $m) (ref.null $node)))
              (br_if $l (local.tee $m (i32.sub (local.get $m) (i32.const 1))))))
          (func (export "run") (result i32)
            (local $list (ref null $node))
            (local.set $list
              (struct.new $node (i32.const 7) (struct.new $node (i32.const 35) (ref.null $node))))
            ;; The list waits in this frame's local, and a copy on its
            ;; operand stack, while the host makes 5,000 nodes of garbage,
            ;; called directly and then through a tail call.
            (local.get $list)
            (call $churn (i32.const 5000))
            (call $tail (i32.const 5000))
            (i32.add
              (struct.get $node 0 (ref.as_non_null))
              (struct.get $node 0 (ref.as_non_null (struct.get $node 1 (local.get $list)))))))"#,
    )
    .expect("valid");
    let mut store = Store::new(&engine, ());
    let instance = linker
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let run = instance
        .get_typed_func::<(), i32>(&mut store, "run")
        .expect("exported");
    assert_eq!(run.call(&mut store, ()).expect("runs"), 42);
    assert!(
        store.gc_stats().collections > 0,
        "the garbage was collected"
    );
}
