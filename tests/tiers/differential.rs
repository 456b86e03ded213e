//! Differential cases: a tier runs the same programs as the reference tier
//! (the interpreter) and must agree on every result, every trap and fuel.

use kiln::Val;

use crate::{Program, Tier, call};

differential_tests!(
    fuel_consumed_is_identical,
    a_large_module_compiles_in_parallel_and_runs_like_the_interpreter,
);

fn fuel_consumed_is_identical(tier: Tier) {
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
    for t in [Tier::REFERENCE, tier] {
        let Program {
            mut store,
            instance,
        } = Program::with(t, wat, |c| {
            c.consume_fuel(true);
        });
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

fn a_large_module_compiles_in_parallel_and_runs_like_the_interpreter(tier: Tier) {
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
    for t in [Tier::REFERENCE, tier] {
        let Program {
            mut store,
            instance,
        } = Program::load(t, &wat);
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
