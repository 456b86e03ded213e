//! Kiln's JIT beside wasmtime (both Cranelift), in the same run: the run time
//! of the WebAssembly text workloads, and the compile time of a large module.
//!
//! ```sh
//! cargo bench -p kiln-benches --bench jit                  # everything (~4 minutes)
//! cargo bench -p kiln-benches --bench jit -- jit/sieve     # one workload
//! cargo bench -p kiln-benches --bench jit -- compile       # compile time only
//! ```
//!
//! - `jit/NAME`: the workloads of `benches/wat/` (`kiln_benches::workloads`,
//!   shared with the `interp` bench) with their `jit_size`, one function per
//!   engine: `kiln-jit` and `wasmtime`. Each engine compiles and instantiates
//!   the same binary once; `run` is called once to check that the checksums
//!   agree, and then only the call is timed.
//! - `compile/large`: `Module::new` on the large C program
//!   (`programs/wasm/large.wasm`), from bytes to a module ready to
//!   instantiate: `kiln-jit` and `wasmtime` compile every function to native
//!   code; `kiln-interp` and `wasmi`, listed for reference, parse and validate
//!   and leave translation to each function's first call (wasmi's default
//!   lazy translation).
//!
//! Both engines run in their default configuration: Kiln's `Config::new()`
//! with the strategy set to the JIT (`Strategy::Interpreter` for
//! `kiln-interp`), wasmtime's `Config::new()`. So
//! neither meters fuel, both rely on guard regions instead of bounds checks
//! for 32-bit memories and both trap by signal; wasmtime compiles in
//! parallel, and so does Kiln's JIT for large modules.

use std::hint::black_box;
use std::time::Duration;

use anyhow::Context as _;
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use kiln_benches::programs;
#[path = "common/kiln_run.rs"]
mod kiln_run;
use kiln_run::KilnRun;

use kiln_benches::workloads::{WORKLOADS, Workload};

/// A Kiln engine of the JIT tier, otherwise in the default configuration.
fn kiln_jit_engine() -> anyhow::Result<kiln::Engine> {
    Ok(kiln::Engine::new(
        kiln::Config::new().strategy(kiln::Strategy::Jit),
    )?)
}

/// A wasmtime instance of a workload, ready to call.
struct WasmtimeRun {
    store: wasmtime::Store<()>,
    run: wasmtime::TypedFunc<i32, i64>,
}

impl WasmtimeRun {
    /// Compiles and instantiates `wasm` with wasmtime's default configuration.
    fn new(wasm: &[u8]) -> anyhow::Result<WasmtimeRun> {
        let engine = wasmtime::Engine::new(&wasmtime::Config::new())?;
        let module = wasmtime::Module::new(&engine, wasm)?;
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[])?;
        let run = instance.get_typed_func::<i32, i64>(&mut store, "run")?;
        Ok(WasmtimeRun { store, run })
    }

    fn call(&mut self, size: i32) -> anyhow::Result<i64> {
        Ok(self.run.call(&mut self.store, size)?)
    }
}

/// Instantiates `workload` on both engines and checks that they agree on its
/// checksum.
fn prepare(workload: &Workload) -> anyhow::Result<(KilnRun, WasmtimeRun)> {
    let wasm = kiln::wat2wasm(workload.wat.as_bytes())?;
    let mut kiln = KilnRun::new(&wasm, kiln::Strategy::Jit).context("Kiln")?;
    let mut wasmtime = WasmtimeRun::new(&wasm).context("wasmtime")?;
    let expected = wasmtime.call(workload.jit_size).context("wasmtime run")?;
    let got = kiln.call(workload.jit_size).context("Kiln run")?;
    anyhow::ensure!(
        got == expected,
        "checksums differ: Kiln {got:#x}, wasmtime {expected:#x}"
    );
    Ok((kiln, wasmtime))
}

/// One criterion group per workload, timing only `run` on each engine.
fn execution(c: &mut Criterion) {
    for workload in WORKLOADS {
        let (mut kiln, mut wasmtime) = prepare(workload)
            .with_context(|| format!("workload {}", workload.name))
            .expect("the workload runs and both engines agree");
        let size = workload.jit_size;
        let mut group = c.benchmark_group(format!("jit/{}", workload.name));
        // A call takes 10 to 30 ms: 20 samples of a few calls each.
        group.sample_size(20);
        group.sampling_mode(SamplingMode::Flat);
        group.warm_up_time(Duration::from_millis(500));
        group.measurement_time(Duration::from_secs(4));
        group.bench_function("kiln-jit", |b| {
            b.iter(|| kiln.call(black_box(size)).expect("Kiln runs"));
        });
        group.bench_function("wasmtime", |b| {
            b.iter(|| wasmtime.call(black_box(size)).expect("wasmtime runs"));
        });
        group.finish();
    }
}

/// `Module::new` on the large program, on each engine.
fn compile(c: &mut Criterion) -> anyhow::Result<()> {
    let large = programs::find(programs::LARGE).context("the large program is listed")?;
    let wasm = large.wasm;
    let kiln_jit = kiln_jit_engine()?;
    let kiln_interp = kiln::Engine::new(kiln::Config::new().strategy(kiln::Strategy::Interpreter))?;
    let wasmtime = wasmtime::Engine::new(&wasmtime::Config::new())?;
    let wasmi = wasmi::Engine::default();

    let mut group = c.benchmark_group(format!("compile/{}", large.name));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.warm_up_time(Duration::from_secs(1));
    // Compiling takes a few hundred milliseconds; parsing and validating a
    // few milliseconds.
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("kiln-jit", |b| {
        b.iter(|| kiln::Module::new(&kiln_jit, black_box(wasm)).expect("Kiln compiles"));
    });
    group.bench_function("wasmtime", |b| {
        b.iter(|| wasmtime::Module::new(&wasmtime, black_box(wasm)).expect("wasmtime compiles"));
    });
    group.measurement_time(Duration::from_secs(2));
    group.bench_function("kiln-interp", |b| {
        b.iter(|| kiln::Module::new(&kiln_interp, black_box(wasm)).expect("Kiln validates"));
    });
    group.bench_function("wasmi", |b| {
        b.iter(|| wasmi::Module::new(&wasmi, black_box(wasm)).expect("wasmi validates"));
    });
    group.finish();
    Ok(())
}

fn compile_bench(c: &mut Criterion) {
    compile(c).expect("every engine compiles the large program");
}

criterion_group!(jit, execution, compile_bench);
criterion_main!(jit);
