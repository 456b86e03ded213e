//! Differential testing: generated modules run on the interpreter and the JIT,
//! which must agree on every result, every trap, memory and globals.

mod common;

use common::generate::{self, Rng, Shape};
use common::{Program, Tier, try_load};
use std::sync::Arc;
use std::time::Instant;

use kiln_runtime::{StoreLimits, Trap, Val};

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

fn load(wat: &str, tier: Tier, canonicalize: bool, seed: u64) -> Program {
    try_load(wat, tier, canonicalize, StoreLimits::default())
        .unwrap_or_else(|e| panic!("seed {seed}, {tier:?}: {e}\n{wat}"))
}

/// Runs every function of the module generated from `seed` a few times on both tiers.
fn compare(seed: u64, shape: Shape, canonicalize: bool, tally: &mut Tally) {
    let g = generate::module(seed, shape);
    let mut interp = load(&g.wat, Tier::Interp, canonicalize, seed);
    let mut jit = load(&g.wat, Tier::Jit, canonicalize, seed);
    let mut rng = Rng::new(seed ^ 0x5eed);
    for (i, sig) in g.sigs.iter().enumerate() {
        let name = format!("f{i}");
        for _ in 0..3 {
            let args = generate::args(&mut rng, sig);
            let a = interp.call(&name, &args);
            let b = jit.call(&name, &args);
            assert!(
                agree(&a, &b, canonicalize),
                "seed {seed}: {name}{args:?}\n  interp: {a:?}\n  jit:    {b:?}\n{}",
                g.wat
            );
            if canonicalize {
                // Every NaN that reaches memory or a global is canonical: compare the bits.
                assert!(
                    interp.memory() == jit.memory(),
                    "seed {seed}: memory differs after {name}{args:?}\n{}",
                    g.wat
                );
                assert_eq!(
                    interp.globals(),
                    jit.globals(),
                    "seed {seed}: globals differ after {name}{args:?}\n{}",
                    g.wat
                );
            } else {
                assert_eq!(interp.memory().len(), jit.memory().len());
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

#[test]
fn generated_functions_agree_with_the_interpreter() {
    let mut tally = Tally::default();
    for seed in 0..40 {
        compare(seed, SMALL, true, &mut tally);
    }
    eprintln!("{tally:?}");
    assert_eq!(tally.funcs, 320);
    // The generator must exercise every trap the slice raises, and mostly return.
    assert!(tally.traps > tally.calls / 10, "{tally:?}");
    assert!(tally.traps < tally.calls / 2, "{tally:?}");
    assert_eq!(tally.by_trap.len(), 5, "{tally:?}");
}

#[test]
fn generated_functions_agree_without_nan_canonicalisation() {
    let mut tally = Tally::default();
    for seed in 1000..1020 {
        compare(seed, SMALL, false, &mut tally);
    }
    assert_eq!(tally.funcs, 160);
}

#[test]
fn biggest_generated_module_compiles_and_agrees() {
    let shape = Shape {
        funcs: 250,
        stmts: 14,
        depth: 4,
    };
    let g = generate::module(7, shape);
    let bytes = wat::parse_str(&g.wat).expect("wat");
    let features = kiln_parser::Features::ALL;
    let module = Arc::new(kiln_parser::parse(&bytes, features).expect("parse"));
    let info = Arc::new(kiln_validator::validate(&module, features).expect("valid"));
    let started = Instant::now();
    let jit = kiln_jit::CompiledModule::new(
        Arc::clone(&module),
        Arc::clone(&info),
        kiln_jit::Options::default(),
    )
    .expect("compile");
    let jit_time = started.elapsed();
    let interp = kiln_interp::CompiledModule::new(module, info, kiln_interp::Options::default())
        .expect("translate");
    let started = Instant::now();
    interp.translate_all();
    let interp_time = started.elapsed();
    eprintln!(
        "biggest test module: {} functions, {} bytes of binary, {} bytes of machine code; \
         JIT compile {jit_time:?}, interpreter translation {interp_time:?}",
        g.sigs.len(),
        bytes.len(),
        jit.code_size(),
    );
    let mut tally = Tally::default();
    compare(7, shape, true, &mut tally);
    assert_eq!(tally.funcs, 250);
}
