//! A guest using WebAssembly's GC on the interpreter: it builds binary trees
//! of structs, hands the host an array and a struct, and makes far more
//! garbage than its heap holds, which the collector frees as it goes.
//!
//! Run with `cargo run --example gc`.

use kiln::{AnyRefKind, Config, Engine, Features, Module, Store, Strategy, Val};

const GUEST: &str = r#"(module
  (type $tree (struct (field $left (ref null $tree)) (field $right (ref null $tree))))
  (type $bytes (array (mut i8)))
  ;; A complete binary tree of the given depth.
  (func $make (param $depth i32) (result (ref $tree))
    (if (result (ref $tree)) (i32.eqz (local.get $depth))
      (then (struct.new $tree (ref.null $tree) (ref.null $tree)))
      (else (struct.new $tree
        (call $make (i32.sub (local.get $depth) (i32.const 1)))
        (call $make (i32.sub (local.get $depth) (i32.const 1)))))))
  ;; Its number of nodes.
  (func $count (param $t (ref null $tree)) (result i32)
    (if (result i32) (ref.is_null (local.get $t))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (i32.add
        (call $count (struct.get $tree $left (local.get $t)))
        (call $count (struct.get $tree $right (local.get $t))))))))
  ;; Builds `n` trees of depth `depth`, counting their nodes, keeping none.
  (func (export "churn") (param $n i32) (param $depth i32) (result i32)
    (local $nodes i32)
    (loop $again
      (local.set $nodes (i32.add (local.get $nodes)
        (call $count (call $make (local.get $depth)))))
      (br_if $again (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $nodes))
  (func (export "tree") (param i32) (result (ref $tree)) (call $make (local.get 0)))
  (func (export "bytes") (param i32) (result (ref $bytes))
    (array.new $bytes (i32.const 42) (local.get 0))))"#;

fn main() -> Result<(), kiln::Error> {
    let mut config = Config::new();
    config
        .strategy(Strategy::Interpreter)
        .features(Features::ALL_WITH_GC)
        .max_gc_heap_bytes(1 << 20);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, GUEST)?;
    let mut store = Store::new(&engine, ());
    let instance = kiln::Instance::new(&mut store, &module, &[])?;

    // GC references reach the host as `Val::AnyRef`.
    let mut out = [Val::I32(0)];
    for (name, arg) in [("tree", 3), ("bytes", 16)] {
        let f = instance.get_func(&mut store, name).expect("exported");
        f.call(&mut store, &[Val::I32(arg)], &mut out)?;
        let Val::AnyRef(Some(r)) = out[0] else {
            panic!("{name} returned {:?}", out[0]);
        };
        println!("{name}({arg}) = {:?}", AnyRefKind::of(&store, r));
    }

    // 2,000 trees of 127 nodes, 24 bytes each: 6 MB of garbage in a heap
    // of 1 MiB.
    let churn = instance.get_typed_func::<(i32, i32), i32>(&store, "churn")?;
    let nodes = churn.call(&mut store, (2000, 6))?;
    let stats = store.gc_stats();
    println!(
        "churn: {nodes} nodes, {} collections, {} objects freed, peak {} bytes, longest pause {} us",
        stats.collections,
        stats.freed_objects,
        stats.peak_bytes,
        stats.longest_pause_ns / 1000
    );
    assert_eq!(nodes, 2000 * 127);
    assert!(stats.peak_bytes <= 1 << 20);
    Ok(())
}
