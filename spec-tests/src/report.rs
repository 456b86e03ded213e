//! What a run found: per-directive outcomes, summed per file, per suite and
//! per tier.
//!
//! Three outcomes only, and `Passed` means Kiln was checked and was right.
//! A directive the current tier cannot check is `Skipped`, never `Passed`, so
//! the pass count only ever grows when a tier really does more.

use std::fmt;

/// The result of one directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Kiln was checked and behaved as the directive says.
    Passed,
    /// Kiln did not behave as the directive says (or panicked, or the harness
    /// could not build the module the directive is about); the reason.
    Failed(String),
    /// The directive needs something this tier does not do (execution).
    Skipped,
}

/// Counts of directive outcomes and of the informational checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Directives whose assertion Kiln met.
    pub passed: usize,
    /// Directives whose assertion Kiln broke.
    pub failed: usize,
    /// Directives not checked by this tier.
    pub skipped: usize,
    /// Rejections (by Kiln, of `assert_malformed`/`assert_invalid` modules)
    /// whose message contains the text the spec expects. Information only.
    pub message_matches: usize,
    /// Rejections by Kiln whose message was compared.
    pub message_total: usize,
    /// Modules inside execution directives (`assert_unlinkable`,
    /// `assert_trap (module ...)`) that Kiln accepted. Information only: the
    /// directive itself stays skipped.
    pub embedded_valid: usize,
    /// Modules inside execution directives that were checked.
    pub embedded_total: usize,
}

impl Counts {
    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.message_matches += other.message_matches;
        self.message_total += other.message_total;
        self.embedded_valid += other.embedded_valid;
        self.embedded_total += other.embedded_total;
    }

    /// `N passed, M failed, K skipped`: the part of a summary line that
    /// decides the exit status.
    pub fn directives(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

impl fmt::Display for Counts {
    /// `N passed, M failed, K skipped (messages: a/b match; embedded modules:
    /// c/d valid)`; the embedded part only when there were any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (messages: {}/{} match",
            self.directives(),
            self.message_matches,
            self.message_total
        )?;
        if self.embedded_total > 0 {
            write!(
                f,
                "; embedded modules: {}/{} valid",
                self.embedded_valid, self.embedded_total
            )?;
        }
        write!(f, ")")
    }
}

/// Everything one `.wast` file produced.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The counts.
    pub counts: Counts,
    /// One line per failed directive: `file:line:col: directive: reason`.
    pub failures: Vec<String>,
    /// One line per rejection whose message did not match:
    /// `file:line:col: expected "...", phase: message`. Information only.
    pub message_mismatches: Vec<String>,
}

impl FileReport {
    /// True when no directive failed.
    pub fn is_ok(&self) -> bool {
        self.counts.failed == 0
    }

    /// Records the outcome of the directive at `location` (`file:line:col`)
    /// of kind `directive` (`assert_invalid`).
    pub fn record(&mut self, location: &str, directive: &str, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.counts.passed += 1,
            Outcome::Skipped => self.counts.skipped += 1,
            Outcome::Failed(reason) => {
                self.counts.failed += 1;
                self.failures
                    .push(format!("{location}: {directive}: {reason}"));
            }
        }
    }

    /// Compares Kiln's rejection message `actual` (from `phase`) with the
    /// directive's `expected` text and records the result.
    pub fn record_message(&mut self, location: &str, expected: &str, phase: &str, actual: &str) {
        self.counts.message_total += 1;
        if message_matches(actual, expected) {
            self.counts.message_matches += 1;
        } else {
            self.message_mismatches.push(format!(
                "{location}: expected {expected:?}, {phase}: {actual}"
            ));
        }
    }

    /// Records whether a module inside an execution directive was accepted.
    pub fn record_embedded(&mut self, valid: bool) {
        self.counts.embedded_total += 1;
        if valid {
            self.counts.embedded_valid += 1;
        }
    }
}

/// Whether Kiln's rejection message says what the spec expects.
///
/// The spec's texts are the start of the reference interpreter's messages
/// ("type mismatch", "unknown local"); Kiln may add details before or after
/// them, so the test is a substring test.
pub fn message_matches(actual: &str, expected: &str) -> bool {
    actual.contains(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_listed_and_counted() {
        let mut r = FileReport::default();
        r.record("a.wast:1:1", "module", Outcome::Passed);
        r.record("a.wast:2:1", "assert_return", Outcome::Skipped);
        r.record(
            "a.wast:3:1",
            "assert_invalid",
            Outcome::Failed("accepted".into()),
        );
        assert!(!r.is_ok());
        assert_eq!(
            (r.counts.passed, r.counts.failed, r.counts.skipped),
            (1, 1, 1)
        );
        assert_eq!(r.failures, ["a.wast:3:1: assert_invalid: accepted"]);
    }

    #[test]
    fn summary_line_format() {
        let c = Counts {
            passed: 3,
            failed: 1,
            skipped: 2,
            message_matches: 1,
            message_total: 2,
            ..Counts::default()
        };
        assert_eq!(
            c.to_string(),
            "3 passed, 1 failed, 2 skipped (messages: 1/2 match)"
        );
        let mut sum = c;
        sum.add(&Counts {
            embedded_total: 2,
            embedded_valid: 2,
            ..c
        });
        assert_eq!(
            sum.to_string(),
            "6 passed, 2 failed, 4 skipped (messages: 2/4 match; embedded modules: 2/2 valid)"
        );
    }

    #[test]
    fn messages_match_as_substrings() {
        assert!(message_matches(
            "type mismatch: expected i32",
            "type mismatch"
        ));
        assert!(message_matches("unknown local 3", "unknown local"));
        assert!(!message_matches("unknown global", "unknown local"));
    }
}
