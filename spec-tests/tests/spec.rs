//! One test per `.wast` file per tier, named `tier::suite::file.wast`
//! (`validate::wasm-v2::binary.wast`, `interp::…`, `interp-fuel::…`), so that
//! libtest's filters select a tier, a suite or a file. The validate tier runs
//! every file; the tiers that execute run all but those a suite lists as not
//! run on them yet ([`Suite::not_run_on`](kiln_spec_tests::Suite::not_run_on):
//! GC's, on the JIT), which get no test there rather than a passing one. A test fails when a directive of its file failed that is not an
//! expected failure, when an expected failure passed, or, on a tier that
//! executes, when a directive was skipped (the tier could not run it); its
//! message lists them.

use std::process::ExitCode;

use kiln_spec_tests::{SUITES, Tier, TierEngine, run_file};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &tier in Tier::ALL {
        for suite in SUITES {
            for file in suite.files_for(tier) {
                let name = format!("{}::{}::{}", tier.name(), suite.name, file.name);
                trials.push(Trial::test(name, move || {
                    let report = run_file(&TierEngine::new(tier), suite, &file);
                    let skipped = tier.executes() && report.counts.skipped > 0;
                    if report.is_ok() && !skipped {
                        Ok(())
                    } else {
                        let mut message = format!("{}\n", report.counts);
                        for failure in &report.failures {
                            message.push_str(&format!("{failure}\n"));
                        }
                        for pass in &report.unexpected_passes {
                            message.push_str(&format!("{pass}\n"));
                        }
                        Err(Failed::from(message))
                    }
                }));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
