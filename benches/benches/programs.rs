//! The C programs in `benches/programs/` on every engine, under criterion:
//! execution per program per engine, and the large program's start-up.
//!
//! ```sh
//! cargo bench -p kiln-benches --bench programs              # everything (~13 minutes)
//! cargo bench -p kiln-benches --bench programs -- exec/sort # one program
//! cargo bench -p kiln-benches --bench programs -- startup   # start-up only
//! ```
//!
//! - `exec/NAME`, for every program of `kiln_benches::programs::PROGRAMS`,
//!   the SIMD builds (`exec/matmul-simd`) included: one function per engine
//!   (`kiln-interp`, `kiln-jit`, `wasmi`, `wasmtime`) and `native` (`cc
//!   -O2`, or `-O3` for a SIMD build); an iteration is one run of the
//!   program (instantiation plus `_start`; for `native`, a process). Before
//!   timing, each engine's output is checked against the native build's (or,
//!   with no C compiler, against `programs/expected/`).
//! - `startup/large`: one function per engine; an iteration is compile plus
//!   instantiate, from the module's bytes to a `_start` ready to call.
//!
//! An engine that cannot be created on this host (Kiln's JIT off x86-64
//! Linux) is left out, with a note on stderr. Programs take seconds per run
//! on the interpreters, so each group takes criterion's minimum of ten
//! samples in flat sampling mode, one run per sample (see
//! [`measurement_time`]).

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kiln_benches::engines::{self, Compiled, Engine, Outcome};
use kiln_benches::native::NativeProgram;
use kiln_benches::programs::{self, PROGRAMS, Program};

/// The engines this host can run, in report order.
fn available_engines() -> Vec<Box<dyn Engine>> {
    engines::all()
        .into_iter()
        .filter_map(|(name, engine)| {
            engine
                .inspect_err(|e| eprintln!("{name} left out: {e:#}"))
                .ok()
        })
        .collect()
}

/// Criterion's minimum sample count.
const SAMPLES: usize = 10;

/// The measurement time for a run that took `one`: half of `SAMPLES` runs,
/// so that criterion's flat sampling takes one run per sample (given the
/// full time, it rounds up to two, doubling a suite that already takes
/// minutes). Criterion then notes that it needs about twice the target
/// time, which is expected.
fn measurement_time(one: Duration) -> Duration {
    (one * SAMPLES as u32 / 2).max(Duration::from_millis(100))
}

/// The output every engine must reproduce, and the native build if one could
/// be made.
fn reference(program: &Program) -> (Outcome, Option<NativeProgram>) {
    match NativeProgram::build(program).and_then(|n| Ok((n.run(&[])?.0, n))) {
        Ok((outcome, native)) => (outcome, Some(native)),
        Err(e) => {
            eprintln!(
                "{}: no native build ({e:#}); checking against programs/expected/",
                program.name
            );
            let outcome = Outcome {
                status: 0,
                stdout: program.expected.as_bytes().to_vec(),
                stderr: Vec::new(),
            };
            (outcome, None)
        }
    }
}

/// Compiles `program` on `engine` and checks one run against `reference`;
/// returns the compiled module and how long that run took.
fn checked(
    engine: &dyn Engine,
    program: &Program,
    reference: &Outcome,
) -> anyhow::Result<(Box<dyn Compiled>, Duration)> {
    let compiled = engine.compile(program.wasm)?;
    let start = Instant::now();
    let outcome = compiled.run(program.name, &[])?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        outcome.status == reference.status && outcome.stdout == reference.stdout,
        "printed {:?} (exit {}), natively {:?} (exit {})",
        outcome.stdout_lossy(),
        outcome.status,
        reference.stdout_lossy(),
        reference.status
    );
    Ok((compiled, elapsed))
}

fn execution(c: &mut Criterion) {
    let engines = available_engines();
    for program in PROGRAMS {
        let (reference, native) = reference(program);
        let mut group = c.benchmark_group(format!("exec/{}", program.name));
        group.sample_size(SAMPLES);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(Duration::from_millis(1));
        for engine in &engines {
            let (compiled, one) = checked(engine.as_ref(), program, &reference)
                .with_context(|| format!("{} on {}", program.name, engine.name()))
                .expect("the engine runs the program as the native build does");
            group.measurement_time(measurement_time(one));
            group.bench_function(engine.name(), |b| {
                b.iter(|| {
                    compiled
                        .run(black_box(program.name), &[])
                        .expect("the program runs")
                });
            });
        }
        if let Some(native) = native {
            let start = Instant::now();
            native.run(&[]).expect("the native build runs");
            group.measurement_time(measurement_time(start.elapsed()));
            group.bench_function("native", |b| {
                b.iter(|| native.run(&[]).expect("the native build runs"));
            });
        }
        group.finish();
    }
}

fn startup(c: &mut Criterion) {
    let large = programs::find(programs::LARGE).expect("the large program is listed");
    let mut group = c.benchmark_group(format!("startup/{}", large.name));
    group.sample_size(SAMPLES);
    group.sampling_mode(SamplingMode::Flat);
    for engine in available_engines() {
        let start = Instant::now();
        engine
            .compile(large.wasm)
            .and_then(|m| m.instantiate())
            .expect("the engine instantiates the large program");
        // Many iterations: start-up takes milliseconds to a second.
        group.measurement_time((start.elapsed() * SAMPLES as u32 * 2).max(Duration::from_secs(3)));
        group.bench_function(engine.name(), |b| {
            b.iter(|| {
                let compiled = engine.compile(black_box(large.wasm)).expect("compiles");
                compiled.instantiate().expect("instantiates");
            });
        });
    }
    group.finish();
}

criterion_group!(programs_group, execution, startup);
criterion_main!(programs_group);
