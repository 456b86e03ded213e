//! Runs the directives of one `.wast` file against an [`Engine`] and
//! classifies each as passed, failed or skipped.
//!
//! The rules for the validation directives, on every tier:
//! - `assert_malformed`: Kiln must reject the bytes (in the parser or the
//!   validator). A text or quoted module that the `wast` crate cannot encode
//!   counts as passed: the text format itself is malformed, and Kiln reads only
//!   binaries.
//! - `assert_invalid`: the module must encode (if it does not, that is a
//!   harness failure, since the assertion is about validation) and Kiln must
//!   reject it.
//! - For both assertions, when Kiln rejects the module, its message is
//!   compared with the expected text; that comparison is counted, never
//!   decisive.
//!
//! On a tier that does not execute ([`Engine::executor`] gives `None`):
//! - `module`, `module definition`: the module must encode and Kiln must
//!   accept it.
//! - Execution directives (`assert_return`, `assert_trap`, `invoke`,
//!   `register`, ...) are skipped. When one of them carries its own module
//!   (`assert_unlinkable`, `assert_trap (module ...)`, which the spec calls
//!   uninstantiable), that module must still be valid: Kiln rejecting it makes
//!   the directive fail, Kiln accepting it leaves the directive skipped (the
//!   link error or trap it asserts is not checked) and is counted apart.
//!
//! On an executing tier, every directive is run; the rules are in
//! [`script`]. The only skips are directives that need what the tier cannot
//! do yet (SIMD), as the executor reports it.
//!
//! A panic anywhere (in Kiln or in the harness) fails the directive.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use kiln_parser::Features;
use wast::core::ModuleKind;
use wast::token::Span;
use wast::{QuoteWat, WastDirective, WastExecute, Wat};

use crate::engine::Engine;
use crate::expected_failures;
use crate::rejection::Rejection;
use crate::report::{FileReport, Location, Outcome};
use crate::suite::{Suite, WastFile};

mod script;
mod values;

use script::Script;

/// Runs every directive of `file` under the features `suite` gives it, and
/// holds the failures against the reviewed list of expected ones
/// ([`expected_failures`](crate::expected_failures)).
pub fn run_file(engine: &dyn Engine, suite: &Suite, file: &WastFile) -> FileReport {
    let mut report = run_wast(
        engine,
        suite.features_for(&file.name),
        &file.name,
        file.text,
    );
    report.apply_expected(expected_failures::for_file(
        engine.name(),
        suite.name,
        &file.name,
    ));
    report
}

/// Runs every directive of the `.wast` source `text`; `name` is used in
/// failure locations.
///
/// Never panics: a file that does not parse as `.wast` is reported as one
/// failure, and a panic while running a directive fails that directive.
pub fn run_wast(engine: &dyn Engine, features: Features, name: &str, text: &str) -> FileReport {
    let mut report = FileReport::default();
    let line_starts = line_starts(text);
    let runner = Runner {
        engine,
        features,
        name,
        text,
        line_starts: &line_starts,
    };
    let executor = match catch_unwind(AssertUnwindSafe(|| engine.executor(features))) {
        Ok(Ok(executor)) => executor,
        Ok(Err(e)) => {
            let reason = format!("the tier cannot execute this file: {e}");
            report.record(&Location::file(name), "wast", Outcome::Failed(reason));
            return report;
        }
        Err(payload) => {
            let reason = format!(
                "the tier panicked setting up: {}",
                panic_message(payload.as_ref())
            );
            report.record(&Location::file(name), "wast", Outcome::Failed(reason));
            return report;
        }
    };
    let mut script = executor.map(Script::new);
    // Directives catch their own panics; this one catches the `wast` crate's
    // own while it reads the file.
    let result = catch_unwind(AssertUnwindSafe(|| {
        runner.run_all(script.as_mut(), &mut report);
    }));
    if let Err(payload) = result {
        report.record(
            &Location::file(name),
            "wast",
            Outcome::Failed(format!(
                "the harness panicked reading the file: {}",
                panic_message(payload.as_ref())
            )),
        );
    }
    report
}

/// What Kiln did with one module.
enum Verdict {
    Accepted,
    Rejected(Rejection),
    Panicked(String),
}

/// The state shared by the directives of one file.
#[derive(Clone, Copy)]
struct Runner<'e, 't> {
    engine: &'e dyn Engine,
    features: Features,
    /// File name, for failure locations.
    name: &'t str,
    /// The file's text.
    text: &'t str,
    /// Byte offset of the start of each line of `text`, to turn spans into
    /// line and column without rescanning the file for every directive
    /// (the SIMD files hold thousands of directives each).
    line_starts: &'t [usize],
}

impl Runner<'_, '_> {
    /// Parses the file and runs its directives in order, recording into
    /// `report`; `script` is the execution state on an executing tier.
    fn run_all(self, mut script: Option<&mut Script>, report: &mut FileReport) {
        let mut lexer = wast::lexer::Lexer::new(self.text);
        // Some spec files (names.wast) spell identifiers and strings with
        // characters the lexer refuses by default (bidirectional overrides).
        lexer.allow_confusing_unicode(true);
        let directives = wast::parser::ParseBuffer::new_with_lexer(lexer).and_then(|buf| {
            wast::parser::parse::<wast::Wast<'_>>(&buf).map(|w| {
                for directive in w.directives {
                    self.run_directive(directive, script.as_deref_mut(), report);
                }
            })
        });
        if let Err(mut e) = directives {
            e.set_text(self.text);
            report.record(
                &Location::file(self.name),
                "wast",
                Outcome::Failed(format!("cannot parse the file: {e}")),
            );
        }
    }

    /// Runs one directive and records its outcome.
    fn run_directive(
        self,
        directive: WastDirective<'_>,
        script: Option<&mut Script>,
        report: &mut FileReport,
    ) {
        let location = self.location(directive.span());
        let kind = directive_name(&directive);
        let result = catch_unwind(AssertUnwindSafe(|| match script {
            Some(script) => self.execute(script, directive, &location, report),
            None => self.classify(directive, &location, report),
        }));
        let outcome = result.unwrap_or_else(|payload| {
            Outcome::Failed(format!(
                "the harness panicked: {}",
                panic_message(payload.as_ref())
            ))
        });
        report.record(&location, kind, outcome);
    }

    /// Decides the outcome of the directive at `location` on a tier that does
    /// not execute; `report` receives the informational counts (message
    /// matches, embedded modules).
    fn classify(
        self,
        directive: WastDirective<'_>,
        location: &Location,
        report: &mut FileReport,
    ) -> Outcome {
        match directive {
            WastDirective::Module(module) | WastDirective::ModuleDefinition(module) => {
                self.valid_module(module)
            }
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.assert_malformed(module, message, location, report),
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.assert_invalid(module, message, location, report),
            WastDirective::AssertUnlinkable { module, .. }
            | WastDirective::AssertTrap {
                exec: WastExecute::Wat(module),
                ..
            }
            | WastDirective::AssertReturn {
                exec: WastExecute::Wat(module),
                ..
            }
            | WastDirective::AssertException {
                exec: WastExecute::Wat(module),
                ..
            }
            | WastDirective::AssertSuspension {
                exec: WastExecute::Wat(module),
                ..
            } => self.embedded_module(module, report),
            // Everything else needs execution (or is about custom sections,
            // which engines are free to ignore): nothing this tier checks.
            WastDirective::ModuleInstance { .. }
            | WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. }
            | WastDirective::Register { .. }
            | WastDirective::Invoke(_)
            | WastDirective::AssertTrap { .. }
            | WastDirective::AssertReturn { .. }
            | WastDirective::AssertExhaustion { .. }
            | WastDirective::AssertException { .. }
            | WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => Outcome::Skipped,
        }
    }

    /// `module`: must encode and be accepted.
    fn valid_module(self, mut module: QuoteWat<'_>) -> Outcome {
        if is_component(&module) {
            return Outcome::Skipped;
        }
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => return Outcome::Failed(format!("cannot encode the module: {e}")),
        };
        match self.check(&bytes) {
            Verdict::Accepted => Outcome::Passed,
            Verdict::Rejected(r) => Outcome::Failed(format!("rejected a valid module: {r}")),
            Verdict::Panicked(msg) => Outcome::Failed(format!("Kiln panicked: {msg}")),
        }
    }

    /// `assert_malformed`: the text format, Kiln's parser or its validator
    /// must reject the module.
    fn assert_malformed(
        self,
        mut module: QuoteWat<'_>,
        expected: &str,
        location: &Location,
        report: &mut FileReport,
    ) -> Outcome {
        if is_component(&module) {
            return Outcome::Skipped;
        }
        let text = is_text(&module);
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            // Kiln reads binaries only; rejecting malformed text is the text
            // parser's job, and it did it.
            Err(_) if text => return Outcome::Passed,
            Err(e) => {
                return Outcome::Failed(format!("cannot encode a binary module: {e}"));
            }
        };
        self.must_reject(&bytes, "malformed", expected, location, report)
    }

    /// `assert_invalid`: the module must encode and Kiln must reject it.
    fn assert_invalid(
        self,
        mut module: QuoteWat<'_>,
        expected: &str,
        location: &Location,
        report: &mut FileReport,
    ) -> Outcome {
        if is_component(&module) {
            return Outcome::Skipped;
        }
        match module.encode() {
            Ok(bytes) => self.must_reject(&bytes, "invalid", expected, location, report),
            Err(e) => Outcome::Failed(format!(
                "cannot encode the module, so validation was never tried: {e}"
            )),
        }
    }

    /// The shared tail of the two assertions: Kiln must reject `bytes`; the
    /// message comparison is recorded, not judged.
    fn must_reject(
        self,
        bytes: &[u8],
        what: &str,
        expected: &str,
        location: &Location,
        report: &mut FileReport,
    ) -> Outcome {
        match self.check(bytes) {
            Verdict::Accepted => {
                Outcome::Failed(format!("accepted a {what} module (expected {expected:?})"))
            }
            Verdict::Rejected(r) => {
                report.record_message(location, expected, r.phase(), &r.message());
                Outcome::Passed
            }
            Verdict::Panicked(msg) => Outcome::Failed(format!(
                "Kiln panicked on a {what} module (expected {expected:?}): {msg}"
            )),
        }
    }

    /// The module of `assert_unlinkable` or `assert_trap (module ...)`: it
    /// must be valid, but what the directive asserts needs execution, so
    /// acceptance only leaves the directive skipped.
    fn embedded_module(self, mut module: Wat<'_>, report: &mut FileReport) -> Outcome {
        if matches!(module, Wat::Component(_)) {
            return Outcome::Skipped;
        }
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(e) => return Outcome::Failed(format!("cannot encode the module: {e}")),
        };
        match self.check(&bytes) {
            Verdict::Accepted => {
                report.record_embedded(true);
                Outcome::Skipped
            }
            Verdict::Rejected(r) => {
                report.record_embedded(false);
                Outcome::Failed(format!(
                    "rejected a module that must be valid to link or run: {r}"
                ))
            }
            Verdict::Panicked(msg) => Outcome::Failed(format!("Kiln panicked: {msg}")),
        }
    }

    /// Hands `bytes` to the engine, turning a panic into a verdict.
    fn check(self, bytes: &[u8]) -> Verdict {
        let engine = self.engine;
        let features = self.features;
        match catch_unwind(AssertUnwindSafe(|| engine.validate(bytes, features))) {
            Ok(Ok(())) => Verdict::Accepted,
            Ok(Err(rejection)) => Verdict::Rejected(rejection),
            Err(payload) => Verdict::Panicked(panic_message(payload.as_ref())),
        }
    }

    /// `file:line:col` of `span`, one-based (the column counts bytes, as
    /// `wast` does).
    fn location(self, span: Span) -> Location {
        let offset = span.offset();
        // The first line starts at 0, so at least one start is <= offset.
        let line = self
            .line_starts
            .partition_point(|&start| start <= offset)
            .saturating_sub(1);
        let col = offset - self.line_starts.get(line).copied().unwrap_or(0);
        Location {
            file: self.name.to_string(),
            line: line + 1,
            col: col + 1,
        }
    }
}

/// The byte offset where each line of `text` starts.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// The directive's keyword, for failure lines.
fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// Whether the module is written in the text format (plain or quoted), as
/// opposed to `(module binary ...)`.
fn is_text(module: &QuoteWat<'_>) -> bool {
    match module {
        QuoteWat::QuoteModule(..) => true,
        QuoteWat::Wat(Wat::Module(m)) => matches!(m.kind, ModuleKind::Text(_)),
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) => false,
    }
}

/// Components are not core WebAssembly; none of Kiln's suites has any.
fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_))
    )
}

/// The text of a panic payload (`panic!` with a literal or a format string).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests;
