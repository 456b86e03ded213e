//! Instantiates one compiled program on one engine in a loop, through the
//! linker or a pre-linked `InstancePre`, for a profiler, and prints the
//! median time of one instantiation (a fresh store each time, as the report
//! times it).
//!
//! ```sh
//! cargo build --release -p kiln-benches --example instantiate_profile
//! perf record -g target/release/examples/instantiate_profile kiln-jit large pre 5
//! perf report --no-children --sort sym
//! ```
//!
//! Arguments: the engine (`kiln-interp`, `kiln-jit`, `wasmi` or `wasmtime`),
//! the name of a C program of `kiln_benches::programs` (default `large`),
//! `linker` or `pre` (default `pre`; `pre` needs an engine with an
//! `InstancePre`), and the seconds to loop (default 5).

use std::time::{Duration, Instant};

use anyhow::Context as _;
use kiln_benches::engines;
use kiln_benches::programs;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let engine_name = args.next().unwrap_or_else(|| "kiln-jit".to_owned());
    let program_name = args.next().unwrap_or_else(|| "large".to_owned());
    let pre = args.next().is_none_or(|a| a != "linker");
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
        if pre {
            compiled
                .instantiate_pre()
                .context("the engine has no InstancePre")??;
        } else {
            compiled.instantiate()?;
        }
        times.push(start.elapsed());
        if Instant::now() >= deadline {
            break;
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    let how = if pre {
        "pre-linked"
    } else {
        "through the linker"
    };
    println!(
        "{} instantiation of {} {how}: median {:?} over {} runs",
        engine.name(),
        program.name,
        median,
        times.len()
    );
    Ok(())
}
