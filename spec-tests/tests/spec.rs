//! One test per `.wast` file per tier, named `tier::suite::file.wast`
//! (`validate::wasm-v2::binary.wast`), so that libtest's filters select a
//! tier, a suite or a file. A test fails when any directive of its file
//! failed, and its message lists those directives.

use std::process::ExitCode;

use kiln_spec_tests::{SUITES, Tier, run_file};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &tier in Tier::ALL {
        for suite in SUITES {
            for file in suite.files() {
                let name = format!("{}::{}::{}", tier.name(), suite.name, file.name);
                trials.push(Trial::test(name, move || {
                    let report = run_file(tier.engine().as_ref(), suite, &file);
                    if report.is_ok() {
                        Ok(())
                    } else {
                        let mut message = format!("{}\n", report.counts);
                        for failure in &report.failures {
                            message.push_str(failure);
                            message.push('\n');
                        }
                        Err(Failed::from(message))
                    }
                }));
            }
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}
