//! The reviewed list of spec directives Kiln is known to fail, in one place.
//!
//! A listed directive that fails does not fail its file's test; a listed
//! directive that passes does (the list must shrink as bugs are fixed, never
//! hide a fix). Each entry names the tiers, the suite, the file and the line
//! of the directive, and says why it fails: the Kiln bug (and the crate that
//! owns it) or the harness limitation. Add an entry only after deciding that
//! the bug cannot be fixed right away; the goal is an empty list.

/// One directive expected to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedFailure {
    /// The tiers it fails on (`interp`, `interp-fuel`, `validate`).
    pub tiers: &'static [&'static str],
    /// The suite (`wasm-v2`).
    pub suite: &'static str,
    /// The file name (`float_exprs.wast`).
    pub file: &'static str,
    /// The directive's line, one-based.
    pub line: usize,
    /// Why it fails, precisely enough to fix it.
    pub reason: &'static str,
}

/// Every expected failure.
pub const EXPECTED_FAILURES: &[ExpectedFailure] = &[];

/// The entries for one file under one tier.
pub fn for_file<'a>(
    tier: &'a str,
    suite: &'a str,
    file: &'a str,
) -> impl Iterator<Item = &'static ExpectedFailure> + 'a {
    EXPECTED_FAILURES
        .iter()
        .filter(move |e| e.suite == suite && e.file == file && e.tiers.contains(&tier))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SUITES, Suite, Tier};

    /// Every entry points at a directive of a file that is run, on a tier
    /// that exists, with a reason; no line is listed twice.
    #[test]
    fn entries_point_at_real_directives() {
        let tiers: Vec<&str> = Tier::ALL.iter().map(|t| t.name()).collect();
        for (i, e) in EXPECTED_FAILURES.iter().enumerate() {
            assert!(!e.reason.is_empty(), "{e:?}: give a reason");
            assert!(!e.tiers.is_empty(), "{e:?}: name the tiers");
            for t in e.tiers {
                assert!(tiers.contains(t), "{e:?}: no tier {t}");
            }
            let suite = Suite::named(e.suite);
            let file = suite.and_then(|s| s.files().into_iter().find(|f| f.name == e.file));
            let line = file.and_then(|f| f.text.lines().nth(e.line.wrapping_sub(1)));
            assert!(
                line.is_some_and(|l| l.trim_start().starts_with('(')),
                "{e:?}: no directive on that line"
            );
            assert!(
                !EXPECTED_FAILURES[..i]
                    .iter()
                    .any(|o| o.suite == e.suite && o.file == e.file && o.line == e.line),
                "{e:?}: listed twice"
            );
        }
        assert!(!SUITES.is_empty());
    }
}
