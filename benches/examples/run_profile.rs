//! Runs one C program on one engine in a loop, for a profiler, and prints the
//! median time of a run (instantiation plus `_start`, as the report times it).
//!
//! ```sh
//! cargo build --release -p kiln-benches --example run_profile
//! perf record -o wasmi.data target/release/examples/run_profile wasmi nbody 5
//! perf report -i wasmi.data --no-children --sort sym
//! ```
//!
//! Arguments: the engine (`kiln-interp`, `kiln-jit`, `wasmi` or `wasmtime`),
//! the name of a C program of `kiln_benches::programs` (default `fib`), and
//! the seconds to loop (default 5). At least one run is made.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiln_benches::engines;
use kiln_benches::programs;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let engine_name = args.next().unwrap_or_else(|| "kiln-interp".to_owned());
    let program_name = args.next().unwrap_or_else(|| "fib".to_owned());
    let seconds: f64 = match args.next() {
        Some(s) => s.parse().context("seconds")?,
        None => 5.0,
    };
    let engine = engines::by_name(&engine_name)?;
    let program =
        programs::find(&program_name).with_context(|| format!("unknown program {program_name}"))?;
    let compiled = engine.compile(program.wasm)?;

    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut times = Vec::new();
    loop {
        let start = Instant::now();
        let outcome = compiled.run(program.name, &[])?;
        times.push(start.elapsed());
        anyhow::ensure!(
            outcome.status == 0,
            "{} exited with status {}",
            program.name,
            outcome.status
        );
        if Instant::now() >= deadline {
            break;
        }
    }
    times.sort();
    println!(
        "{} run of {}: median {:?} over {} runs",
        engine.name(),
        program.name,
        times[times.len() / 2],
        times.len()
    );
    Ok(())
}
