//! Starts one program (compile plus instantiate) on one engine in a loop, for
//! a profiler, and prints the median start-up time.
//!
//! ```sh
//! cargo build --release -p kiln-benches --example startup_profile
//! perf record -g target/release/examples/startup_profile kiln-interp large 5
//! perf report --no-children --sort sym
//! ```
//!
//! Arguments: the engine (`kiln-interp`, `kiln-jit`, `wasmi` or `wasmtime`),
//! the name of a C program of `kiln_benches::programs` (default `large`), the
//! seconds to loop (default 5), and `saved` to start from code compiled and
//! saved once beforehand (a warm cache) instead of compiling each time.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiln_benches::engines;
use kiln_benches::programs;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let engine_name = args.next().unwrap_or_else(|| "kiln-interp".to_owned());
    let program_name = args.next().unwrap_or_else(|| "large".to_owned());
    let seconds: f64 = match args.next() {
        Some(s) => s.parse().context("seconds")?,
        None => 5.0,
    };
    let engine = engines::by_name(&engine_name)?;
    let program =
        programs::find(&program_name).with_context(|| format!("unknown program {program_name}"))?;

    let saved = match args.next().as_deref() {
        Some("saved") => Some(
            engine
                .serialize(program.wasm)
                .context("the engine saves no compiled code")??,
        ),
        Some(other) => anyhow::bail!("unknown argument {other}"),
        None => None,
    };

    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut times = Vec::new();
    while Instant::now() < deadline {
        let start = Instant::now();
        match &saved {
            Some(bytes) => engine.load(bytes)?.instantiate()?,
            None => engine.compile(program.wasm)?.instantiate()?,
        }
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{} start-up of {}: median {:?} over {} runs",
        engine.name(),
        program.name,
        median,
        times.len()
    );
    Ok(())
}
