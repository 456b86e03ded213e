//! What a run found: per-directive outcomes, summed per file, per suite and
//! per tier.
//!
//! Three outcomes only, and `Passed` means Kiln was checked and was right.
//! A directive the current tier cannot check is `Skipped`, never `Passed`, so
//! the pass count only ever grows when a tier really does more.

use std::fmt;

use crate::expected_failures::ExpectedFailure;

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
    /// Failures (counted in `failed`) listed in
    /// [`EXPECTED_FAILURES`](crate::EXPECTED_FAILURES).
    pub expected_failures: usize,
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
        self.expected_failures += other.expected_failures;
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
    /// c/d valid; e expected failures)`; the last two parts only when there
    /// were any.
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
        if self.expected_failures > 0 {
            write!(f, "; {} expected failures", self.expected_failures)?;
        }
        write!(f, ")")
    }
}

/// Where a directive is: `file:line:col`, one-based. Line 0 stands for the
/// whole file (it could not be read, or the tier could not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file name.
    pub file: String,
    /// The line, or 0 for the whole file.
    pub line: usize,
    /// The column, in bytes.
    pub col: usize,
}

impl Location {
    /// The whole file `file`.
    pub fn file(file: &str) -> Location {
        Location {
            file: file.to_string(),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// A directive that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where it is.
    pub location: Location,
    /// Its keyword (`assert_return`).
    pub directive: String,
    /// Why it failed.
    pub reason: String,
}

impl fmt::Display for Failure {
    /// `file:line:col: directive: reason`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.location, self.directive, self.reason)
    }
}

/// Everything one `.wast` file produced.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The counts.
    pub counts: Counts,
    /// The failed directives, except those expected to fail.
    pub failures: Vec<Failure>,
    /// Failed directives listed as expected failures, with the reason the
    /// list gives.
    pub expected: Vec<(Failure, &'static str)>,
    /// Expected failures that did not fail: the list must shrink.
    pub unexpected_passes: Vec<String>,
    /// One line per rejection whose message did not match:
    /// `file:line:col: expected "...", phase: message`. Information only.
    pub message_mismatches: Vec<String>,
}

impl FileReport {
    /// True when no directive failed unexpectedly and every expected failure
    /// still fails.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.unexpected_passes.is_empty()
    }

    /// Records the outcome of the directive at `location` of kind
    /// `directive` (`assert_invalid`).
    pub fn record(&mut self, location: &Location, directive: &str, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.counts.passed += 1,
            Outcome::Skipped => self.counts.skipped += 1,
            Outcome::Failed(reason) => {
                self.counts.failed += 1;
                self.failures.push(Failure {
                    location: location.clone(),
                    directive: directive.to_string(),
                    reason,
                });
            }
        }
    }

    /// Compares Kiln's rejection message `actual` (from `phase`) with the
    /// directive's `expected` text and records the result.
    pub fn record_message(
        &mut self,
        location: &Location,
        expected: &str,
        phase: &str,
        actual: &str,
    ) {
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

    /// Moves the failures that `expected` lists (by line) out of
    /// [`FileReport::failures`], and notes every listed line that did not
    /// fail as an unexpected pass. `expected` must be this file's entries.
    pub fn apply_expected<'a>(&mut self, expected: impl IntoIterator<Item = &'a ExpectedFailure>) {
        let expected: Vec<&ExpectedFailure> = expected.into_iter().collect();
        let mut listed = vec![false; expected.len()];
        let mut unexpected = Vec::new();
        for failure in self.failures.drain(..) {
            match expected
                .iter()
                .position(|e| e.line == failure.location.line)
            {
                Some(i) => {
                    listed[i] = true;
                    self.counts.expected_failures += 1;
                    self.expected.push((failure, expected[i].reason));
                }
                None => unexpected.push(failure),
            }
        }
        self.failures = unexpected;
        for (e, failed) in expected.iter().zip(listed) {
            if !failed {
                self.unexpected_passes.push(format!(
                    "{}:{}: listed as an expected failure ({}) but did not fail; \
                     remove it from expected_failures.rs",
                    e.file, e.line, e.reason
                ));
            }
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

/// Whether a trap message `actual` says what `assert_trap` expects.
///
/// Kiln's trap messages are the spec's texts ("out of bounds memory
/// access"), so the expectation is a substring of them. The one exception:
/// the reference interpreter sometimes appends an index after a space
/// ("uninitialized element 2"), which Kiln does not report.
pub fn trap_matches(actual: &str, expected: &str) -> bool {
    let with_index = || {
        expected
            .strip_prefix(actual)
            .and_then(|rest| rest.strip_prefix(' '))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    !actual.is_empty() && (actual.contains(expected) || with_index())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_listed_and_counted() {
        let mut r = FileReport::default();
        r.record(&at(1), "module", Outcome::Passed);
        r.record(&at(2), "assert_return", Outcome::Skipped);
        r.record(&at(3), "assert_invalid", Outcome::Failed("accepted".into()));
        assert!(!r.is_ok());
        assert_eq!(
            (r.counts.passed, r.counts.failed, r.counts.skipped),
            (1, 1, 1)
        );
        let lines: Vec<String> = r.failures.iter().map(Failure::to_string).collect();
        assert_eq!(lines, ["a.wast:3:1: assert_invalid: accepted"]);
        assert_eq!(Location::file("a.wast").to_string(), "a.wast");
    }

    fn at(line: usize) -> Location {
        Location {
            file: "a.wast".into(),
            line,
            col: 1,
        }
    }

    #[test]
    fn expected_failures_are_set_apart_and_must_keep_failing() {
        let listed = |line| ExpectedFailure {
            tiers: &["interp"],
            suite: "wasm-v2",
            file: "a.wast",
            line,
            reason: "a known bug",
        };
        let mut r = FileReport::default();
        r.record(&at(3), "assert_return", Outcome::Failed("wrong".into()));
        r.apply_expected(&[listed(3)]);
        assert!(r.is_ok());
        assert_eq!((r.counts.failed, r.counts.expected_failures), (1, 1));
        assert_eq!(r.expected.len(), 1);

        let mut r = FileReport::default();
        r.record(&at(3), "assert_return", Outcome::Passed);
        r.record(&at(4), "assert_return", Outcome::Failed("wrong".into()));
        r.apply_expected(&[listed(3)]);
        assert!(!r.is_ok());
        assert_eq!(r.failures.len(), 1);
        assert_eq!(r.unexpected_passes.len(), 1);
        assert!(r.unexpected_passes[0].starts_with("a.wast:3: listed"));
    }

    #[test]
    fn trap_messages() {
        assert!(trap_matches("unreachable", "unreachable"));
        assert!(trap_matches(
            "uninitialized element",
            "uninitialized element 2"
        ));
        assert!(trap_matches("integer overflow", "integer overflow"));
        assert!(!trap_matches("undefined element", "uninitialized element"));
        assert!(!trap_matches(
            "out of bounds",
            "out of bounds memory access"
        ));
        assert!(!trap_matches("", "unreachable"));
        assert!(!trap_matches(
            "uninitialized element",
            "uninitialized element "
        ));
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
