//! Times the interpreter's translation (and verification) of every function
//! of a module, which start-up does not include (functions are translated
//! on their first call), and prints the median over many runs.
//!
//! ```sh
//! cargo run --release -p kiln-interp --example translate_time -- \
//!     benches/programs/wasm/large.wasm 5
//! ```
//!
//! Arguments: the `.wasm` file, and the seconds to loop (default 5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiln_parser::Features;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: translate_time FILE.wasm [SECONDS]");
        std::process::exit(2);
    };
    let seconds: f64 = args.next().map_or(5.0, |s| s.parse().unwrap_or(5.0));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let module = kiln_parser::parse(&bytes, Features::ALL).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let info = kiln_validator::validate(&module, Features::ALL).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    });
    let (module, info) = (Arc::new(module), Arc::new(info));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut times = Vec::new();
    while Instant::now() < deadline {
        let start = Instant::now();
        let compiled = kiln_interp::CompiledModule::new(
            Arc::clone(&module),
            Arc::clone(&info),
            kiln_interp::CompileOptions::default(),
        )
        .and_then(|c| c.translate_all());
        times.push(start.elapsed());
        if let Err(e) = compiled {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    }
    times.sort();
    println!(
        "translation of {} ({} functions): median {:?} over {} runs",
        path,
        module.code.len(),
        times[times.len() / 2],
        times.len()
    );
}
