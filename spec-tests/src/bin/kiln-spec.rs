//! `kiln-spec`: runs the spec suites against Kiln's tiers and prints one
//! summary line per suite (per fuel mode for the interpreter), then each
//! tier's total.
//!
//! ```text
//! wasm-v2: 1234 passed, 0 failed, 56 skipped (messages: 900/1000 match)
//! ...
//! validate: N passed, M failed, K skipped
//! wasm-v2: ...
//! wasm-v2 (fuel): ...
//! ...
//! interp: N passed, M failed, K skipped
//! ```
//!
//! The interpreter runs every suite twice,
//! without and with fuel; both runs must give the same results. The exit
//! status is 1 when a directive failed that is not an expected failure, when
//! an expected failure passed, or when fuel changed a result.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use kiln_spec_tests::{Counts, SUITES, Suite, Tier, TierEngine, run_file};

/// Run the WebAssembly spec test suite against Kiln.
#[derive(Debug, Parser)]
#[command(name = "kiln-spec")]
struct Args {
    /// The tier to run; `all` runs each in turn.
    #[arg(long, value_enum, default_value_t = EngineArg::All)]
    engine: EngineArg,
    /// Run only these suites (repeatable): wasm-v2, simd, relaxed-simd,
    /// tail-call, extended-const, multi-memory, memory64.
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

/// The `--engine` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    /// Parse and validate only.
    Validate,
    /// Kiln's interpreter, without and with fuel.
    Interp,
    /// Kiln's JIT, without and with fuel.
    Jit,
    /// The tiered strategy, with fuel.
    Tiered,
    /// All of them, validate first.
    All,
}

/// A line of the report: a tier's name for totals, and its runs (one tier
/// per fuel mode).
struct Group {
    name: &'static str,
    /// `(tier, suffix of its suite lines)`.
    runs: &'static [(Tier, &'static str)],
}

const VALIDATE: Group = Group {
    name: "validate",
    runs: &[(Tier::Validate, "")],
};

const INTERP: Group = Group {
    name: "interp",
    runs: &[(Tier::Interp, ""), (Tier::InterpFuel, " (fuel)")],
};

const JIT: Group = Group {
    name: "jit",
    runs: &[(Tier::Jit, ""), (Tier::JitFuel, " (fuel)")],
};

/// The JIT with explicit bounds checks only (`Config::memory_guard(false)`).
const JIT_NOGUARD: Group = Group {
    name: "jit-noguard",
    runs: &[(Tier::JitNoGuard, "")],
};

/// The tiered strategy, with fuel.
const TIERED: Group = Group {
    name: "tiered",
    runs: &[(Tier::TieredFuel, " (fuel)")],
};

/// What one tier found in one suite.
struct SuiteRun {
    counts: Counts,
    /// Unexpected failures and unexpected passes, `suite/file:line:...`.
    problems: Vec<String>,
    /// Expected failures, with their reasons.
    expected: Vec<String>,
    /// Every failure, for comparing fuel modes.
    all_failures: Vec<String>,
    mismatches: Vec<String>,
}

fn run_suite(tier: Tier, suite: &Suite, filter: Option<&str>) -> SuiteRun {
    let engine = TierEngine::new(tier);
    let mut run = SuiteRun {
        counts: Counts::default(),
        problems: Vec::new(),
        expected: Vec::new(),
        all_failures: Vec::new(),
        mismatches: Vec::new(),
    };
    for (name, why) in suite.not_run_on(tier) {
        println!("{}/{name}: not run on {} ({why})", suite.name, tier.name());
    }
    for file in suite.files_for(tier) {
        if filter.is_some_and(|f| !file.name.contains(f)) {
            continue;
        }
        let report = run_file(&engine, suite, &file);
        run.counts.add(&report.counts);
        let in_suite = |line: &dyn std::fmt::Display| format!("{}/{line}", suite.name);
        run.problems
            .extend(report.failures.iter().map(|f| in_suite(f)));
        run.problems
            .extend(report.unexpected_passes.iter().map(|p| in_suite(p)));
        run.expected.extend(
            report
                .expected
                .iter()
                .map(|(f, why)| format!("{} [expected: {why}]", in_suite(f))),
        );
        run.all_failures.extend(
            report
                .failures
                .iter()
                .chain(report.expected.iter().map(|(f, _)| f))
                .map(|f| in_suite(f)),
        );
        run.mismatches
            .extend(report.message_mismatches.iter().map(|m| in_suite(m)));
    }
    run.all_failures.sort();
    run
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    let suites = selected_suites(&args.suites)?;
    let groups: &[Group] = match args.engine {
        EngineArg::Validate => &[VALIDATE],
        EngineArg::Interp => &[INTERP],
        EngineArg::Jit => &[JIT, JIT_NOGUARD],
        EngineArg::Tiered => &[TIERED],
        EngineArg::All => &[VALIDATE, INTERP, JIT, JIT_NOGUARD, TIERED],
    };

    let mut ok = true;
    for group in groups {
        let mut total = Counts::default();
        for suite in &suites {
            let mut first: Option<SuiteRun> = None;
            for &(tier, suffix) in group.runs {
                let started = Instant::now();
                let run = run_suite(tier, suite, args.file.as_deref());
                total.add(&run.counts);
                ok &= run.problems.is_empty();
                if args.verbose {
                    println!(
                        "{}{suffix}: {} [{:.2?}]",
                        suite.name,
                        run.counts,
                        started.elapsed()
                    );
                    for line in run.problems.iter().chain(&run.expected) {
                        println!("    {line}");
                    }
                } else {
                    println!("{}{suffix}: {}", suite.name, run.counts);
                }
                if args.messages {
                    for mismatch in &run.mismatches {
                        println!("    message: {mismatch}");
                    }
                }
                // Fuel must not change a result: same counts, same failures.
                match &first {
                    None => first = Some(run),
                    Some(base) => {
                        if base.counts != run.counts || base.all_failures != run.all_failures {
                            ok = false;
                            println!(
                                "{}{suffix}: results differ from the run without fuel",
                                suite.name
                            );
                        }
                    }
                }
            }
        }
        println!("{}: {}", group.name, total.directives());
    }

    Ok(if ok {
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
