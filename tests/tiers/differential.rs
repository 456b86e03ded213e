//! Differential cases: a tier runs the same programs as the reference tier
//! (the interpreter) and must agree on every result, every trap, memory,
//! globals and fuel. The programs are generated (see `generate.rs`) or large.

use std::sync::Arc;

use kiln::Val;
use kiln_runtime::Trap;

use crate::generate::{self, Rng, Shape};
use crate::raw::{self, RawProgram};
use crate::{Program, Tier, call};

differential_tests!(
    generated_functions_agree_with_the_interpreter,
    generated_functions_agree_without_nan_canonicalisation,
    biggest_generated_module_compiles_and_agrees,
    fuel_consumed_is_identical,
    a_large_module_compiles_in_parallel_and_runs_like_the_interpreter,
);

/// What one comparison covered.
#[derive(Debug, Default)]
struct Tally {
    funcs: usize,
    calls: usize,
    traps: usize,
    /// Calls ended by each trap message.
    by_trap: std::collections::BTreeMap<String, usize>,
}

/// Whether two results agree. With NaN canonicalisation off, a NaN result may carry
/// another payload or sign on each tier (the spec allows any arithmetic NaN).
fn agree(a: &Result<Vec<Val>, Trap>, b: &Result<Vec<Val>, Trap>, exact: bool) -> bool {
    match (a, b) {
        (Ok(x), Ok(y)) if !exact => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(x, y)| match (x, y) {
                    (Val::F32(p), Val::F32(q)) => {
                        p == q || (f32::from_bits(*p).is_nan() && f32::from_bits(*q).is_nan())
                    }
                    (Val::F64(p), Val::F64(q)) => {
                        p == q || (f64::from_bits(*p).is_nan() && f64::from_bits(*q).is_nan())
                    }
                    _ => x == y,
                })
        }
        _ => a == b,
    }
}

fn load(wat: &str, tier: Tier, canonicalize_nans: bool, seed: u64) -> RawProgram {
    let options = raw::Options {
        canonicalize_nans,
        ..raw::Options::default()
    };
    RawProgram::try_load(wat, tier, options)
        .unwrap_or_else(|e| panic!("seed {seed}, {tier:?}: {e}\n{wat}"))
}

/// Runs every function of the module generated from `seed` a few times on
/// `tier` and on the reference tier.
fn compare(tier: Tier, seed: u64, shape: Shape, canonicalize: bool, tally: &mut Tally) {
    let g = generate::module(seed, shape);
    let mut reference = load(&g.wat, Tier::REFERENCE, canonicalize, seed);
    let mut other = load(&g.wat, tier, canonicalize, seed);
    let mut rng = Rng::new(seed ^ 0x5eed);
    for (i, sig) in g.sigs.iter().enumerate() {
        let name = format!("f{i}");
        for _ in 0..3 {
            let args = generate::args(&mut rng, sig);
            let a = reference.call(&name, &args);
            let b = other.call(&name, &args);
            assert!(
                agree(&a, &b, canonicalize),
                "seed {seed}: {name}{args:?}\n  {:?}: {a:?}\n  {tier:?}: {b:?}\n{}",
                Tier::REFERENCE,
                g.wat
            );
            if canonicalize {
                // Every NaN that reaches memory or a global is canonical: compare the bits.
                assert!(
                    reference.memory() == other.memory(),
                    "seed {seed}: memory differs after {name}{args:?}\n{}",
                    g.wat
                );
                assert_eq!(
                    reference.globals(),
                    other.globals(),
                    "seed {seed}: globals differ after {name}{args:?}\n{}",
                    g.wat
                );
            } else {
                assert_eq!(reference.memory().len(), other.memory().len());
            }
            tally.calls += 1;
            if let Err(t) = &a {
                tally.traps += 1;
                *tally.by_trap.entry(t.to_string()).or_default() += 1;
            }
        }
        tally.funcs += 1;
    }
}

const SMALL: Shape = Shape {
    funcs: 8,
    stmts: 6,
    depth: 3,
};

fn generated_functions_agree_with_the_interpreter(tier: Tier) {
    let mut tally = Tally::default();
    for seed in 0..40 {
        compare(tier, seed, SMALL, true, &mut tally);
    }
    eprintln!("{tally:?}");
    assert_eq!(tally.funcs, 320);
    // The generator must exercise every trap the slice raises, and mostly return.
    assert!(tally.traps > tally.calls / 10, "{tally:?}");
    assert!(tally.traps < tally.calls / 2, "{tally:?}");
    assert_eq!(tally.by_trap.len(), 5, "{tally:?}");
}

fn generated_functions_agree_without_nan_canonicalisation(tier: Tier) {
    let mut tally = Tally::default();
    for seed in 1000..1020 {
        compare(tier, seed, SMALL, false, &mut tally);
    }
    assert_eq!(tally.funcs, 160);
}

fn biggest_generated_module_compiles_and_agrees(tier: Tier) {
    let shape = Shape {
        funcs: 250,
        stmts: 14,
        depth: 4,
    };
    let g = generate::module(7, shape);
    let bytes = wat::parse_str(&g.wat).expect("wat");
    let (module, info) = raw::parse(&g.wat);
    let (module, info) = (Arc::new(module), Arc::new(info));
    let mut report = format!(
        "biggest test module: {} functions, {} bytes of binary",
        g.sigs.len(),
        bytes.len()
    );
    for t in [tier, Tier::REFERENCE] {
        report += &format!("; {}", raw::compile_all(t, &module, &info));
    }
    eprintln!("{report}");
    let mut tally = Tally::default();
    compare(tier, 7, shape, true, &mut tally);
    assert_eq!(tally.funcs, 250);
}

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
