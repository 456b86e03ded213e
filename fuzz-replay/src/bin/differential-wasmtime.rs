//! Runs the differential over generated inputs with wasmtime as the oracle
//! for the modules wasmi cannot run (exception handling, typed function
//! references):
//!
//! ```sh
//! cargo run --release -p kiln-fuzz-replay --features wasmtime-oracle \
//!     --bin differential-wasmtime -- [INPUTS] [FIRST_SEED]
//! ```
//!
//! Each input is 256 to 8,448 bytes of a seeded generator, as the replay
//! test's seeds are. Prints, for the modules with exception handling and for
//! those with typed function references (a module can count in both), how
//! many there were, how many were instantiated alike on Kiln's tiers and
//! wasmtime and how many calls were compared, then every finding; exits 1 if
//! there was one.

use std::process::ExitCode;

use kiln_fuzz_replay::differential::{
    Agreement, differential_wasm, smith_module, uses_exceptions, uses_function_references,
};
use kiln_fuzz_replay::seeded_input;

/// What the modules of one kind did.
#[derive(Default)]
struct Tally {
    modules: usize,
    instantiated: usize,
    calls: usize,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let inputs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let first: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let (mut exceptions, mut typed_refs) = (Tally::default(), Tally::default());
    let mut findings = 0;
    for seed in first..first + inputs {
        let Some(wasm) = smith_module(&seeded_input(0x5754_4d45, seed)) else {
            continue;
        };
        let kinds = [
            (uses_exceptions(&wasm), &mut exceptions),
            (uses_function_references(&wasm), &mut typed_refs),
        ];
        if kinds.iter().all(|(uses, _)| !uses) {
            continue;
        }
        let outcome = differential_wasm(&wasm);
        if let Err(finding) = &outcome {
            findings += 1;
            println!("seed {seed}: {}", finding.0);
        }
        for (_, tally) in kinds.into_iter().filter(|(uses, _)| *uses) {
            tally.modules += 1;
            if let Ok(Agreement::Complete { calls, .. }) = outcome {
                tally.instantiated += 1;
                tally.calls += calls;
            }
        }
    }
    for (kind, t) in [
        ("exception handling", exceptions),
        ("typed function references", typed_refs),
    ] {
        println!(
            "{} modules with {kind}: {} instantiated alike on Kiln's tiers and wasmtime, {} calls \
             compared",
            t.modules, t.instantiated, t.calls
        );
    }
    println!("{findings} findings");
    if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
