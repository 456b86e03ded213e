//! Execution speed: Kiln's interpreter beside wasmi on the same programs in
//! the same run.
//!
//! Each workload is a small WebAssembly text module in `benches/wat/` that
//! exports `run(size: i32) -> i64`, returning a checksum of the work done
//! (`kiln_benches::workloads`, shared with the `jit` bench). Both engines get
//! the same binary and the workload's `interp_size`; each is instantiated
//! once, its `run` is called once to check that the two checksums agree
//! (which also takes the engines' lazy translation out of the measurement),
//! and then only the call is timed.
//!
//! Run with `cargo bench -p kiln-benches --bench interp`. Every workload is a
//! criterion group with the functions `kiln-interp` and `wasmi`, so criterion's
//! report shows the two side by side.

use std::hint::black_box;
use std::time::Duration;

use anyhow::Context as _;
use criterion::{Criterion, criterion_group, criterion_main};
#[path = "common/kiln_run.rs"]
mod kiln_run;
use kiln_run::KilnRun;

use kiln_benches::workloads::{WORKLOADS, Workload};

/// A wasmi instance of a workload, ready to call.
struct WasmiRun {
    store: wasmi::Store<()>,
    run: wasmi::TypedFunc<i32, i64>,
}

impl WasmiRun {
    /// Compiles and instantiates `wasm` with wasmi's default configuration.
    fn new(wasm: &[u8]) -> anyhow::Result<WasmiRun> {
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, wasm)?;
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::new(&engine).instantiate_and_start(&mut store, &module)?;
        let run = instance.get_typed_func::<i32, i64>(&store, "run")?;
        Ok(WasmiRun { store, run })
    }

    fn call(&mut self, size: i32) -> anyhow::Result<i64> {
        Ok(self.run.call(&mut self.store, size)?)
    }
}

/// Instantiates `workload` on both engines and checks that they agree on its
/// checksum.
fn prepare(workload: &Workload) -> anyhow::Result<(KilnRun, WasmiRun)> {
    let wasm = kiln::wat2wasm(workload.wat.as_bytes())?;
    let mut kiln = KilnRun::new(&wasm, kiln::Strategy::Interpreter).context("Kiln")?;
    let mut wasmi = WasmiRun::new(&wasm).context("wasmi")?;
    let expected = wasmi.call(workload.interp_size).context("wasmi run")?;
    let got = kiln.call(workload.interp_size).context("Kiln run")?;
    anyhow::ensure!(
        got == expected,
        "checksums differ: Kiln {got:#x}, wasmi {expected:#x}"
    );
    Ok((kiln, wasmi))
}

/// One criterion group per workload, timing only `run` on each engine.
fn benches(c: &mut Criterion) {
    for workload in WORKLOADS {
        let (mut kiln, mut wasmi) = prepare(workload)
            .with_context(|| format!("workload {}", workload.name))
            .expect("the workload runs and both engines agree");
        let size = workload.interp_size;
        let mut group = c.benchmark_group(workload.name);
        group.sample_size(10);
        group.warm_up_time(Duration::from_secs(1));
        group.measurement_time(Duration::from_secs(3));
        group.bench_function("kiln-interp", |b| {
            b.iter(|| kiln.call(black_box(size)).expect("Kiln runs"));
        });
        group.bench_function("wasmi", |b| {
            b.iter(|| wasmi.call(black_box(size)).expect("wasmi runs"));
        });
        group.finish();
    }
}

criterion_group!(interp, benches);
criterion_main!(interp);
