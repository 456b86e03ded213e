//! `kiln-spec`: runs the spec suites against one Kiln tier and prints one
//! summary line per suite, then the tier's total.
//!
//! ```text
//! wasm-v2: 1234 passed, 0 failed, 56 skipped (messages: 900/1000 match)
//! ...
//! validate: N passed, M failed, K skipped
//! ```
//!
//! The exit status is 1 when any directive failed.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use kiln_spec_tests::{Counts, SUITES, Suite, Tier, run_file};

/// Run the WebAssembly spec test suite against Kiln.
#[derive(Debug, Parser)]
#[command(name = "kiln-spec")]
struct Args {
    /// The tier to run (execution tiers will be added as they land).
    #[arg(long, value_enum, default_value_t = EngineArg::Validate)]
    engine: EngineArg,
    /// Run only these suites (repeatable): wasm-v2, simd, tail-call,
    /// extended-const, multi-memory, memory64.
    #[arg(long = "suite", value_name = "NAME")]
    suites: Vec<String>,
    /// Run only files whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    file: Option<String>,
    /// List every failure under its suite's line, and time each suite.
    #[arg(long, short)]
    verbose: bool,
    /// List every rejection whose message differs from the spec's text.
    #[arg(long)]
    messages: bool,
}

/// The `--engine` values; each maps onto a [`Tier`].
#[derive(Debug, Clone, Copy, ValueEnum)]
enum EngineArg {
    /// Parse and validate only.
    Validate,
}

impl EngineArg {
    fn tier(self) -> Tier {
        match self {
            EngineArg::Validate => Tier::Validate,
        }
    }
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    let suites = selected_suites(&args.suites)?;
    let tier = args.engine.tier();
    let engine = tier.engine();

    let mut total = Counts::default();
    for suite in suites {
        let started = Instant::now();
        let mut counts = Counts::default();
        let mut failures = Vec::new();
        let mut mismatches = Vec::new();
        for file in suite.files() {
            if let Some(filter) = &args.file
                && !file.name.contains(filter.as_str())
            {
                continue;
            }
            let report = run_file(engine.as_ref(), suite, &file);
            counts.add(&report.counts);
            let in_suite = |line: String| format!("{}/{line}", suite.name);
            failures.extend(report.failures.into_iter().map(in_suite));
            mismatches.extend(report.message_mismatches.into_iter().map(in_suite));
        }
        total.add(&counts);
        if args.verbose {
            println!("{}: {counts} [{:.2?}]", suite.name, started.elapsed());
            for failure in failures {
                println!("    {failure}");
            }
        } else {
            println!("{}: {counts}", suite.name);
        }
        if args.messages {
            for mismatch in mismatches {
                println!("    message: {mismatch}");
            }
        }
    }
    println!("{}: {}", tier.name(), total.directives());

    Ok(if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The suites named on the command line, or all of them.
fn selected_suites(names: &[String]) -> Result<Vec<&'static Suite>> {
    if names.is_empty() {
        return Ok(SUITES.iter().collect());
    }
    let mut out = Vec::new();
    for name in names {
        match Suite::named(name) {
            Some(suite) => out.push(suite),
            None => {
                let known: Vec<_> = SUITES.iter().map(|s| s.name).collect();
                bail!(
                    "unknown suite {name:?}; the suites are {}",
                    known.join(", ")
                );
            }
        }
    }
    Ok(out)
}
