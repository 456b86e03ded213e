//! The oracle: both sides on every case, disagreements into one bounded report.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use kiln_parser::Features;

use super::features_name;
use super::run::{Verdict, is_implementation_limit, run_kiln, run_wasmparser, set_case};

/// How many disagreements a failing test describes in full.
const REPORT_LIMIT: usize = 20;
/// How many disagreements the report file lists.
const FILE_LIMIT: usize = 10_000;
/// A case slower than this on Kiln's side is reported.
const SLOW: Duration = Duration::from_secs(2);

/// How one case went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Panicked,
    KilnAccepted,
    KilnAcceptedAtLimit,
    KilnRejected,
    Allocation,
    Slow,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Panicked => "Kiln panicked",
            Kind::KilnAccepted => "Kiln accepted, wasmparser rejected",
            Kind::KilnAcceptedAtLimit => {
                "Kiln accepted, wasmparser rejected at an implementation limit"
            }
            Kind::KilnRejected => "Kiln rejected, wasmparser accepted",
            Kind::Allocation => "Kiln allocated far more than the input justifies",
            Kind::Slow => "Kiln took too long",
        }
    }
}

/// Collects the disagreements of one test and reports them when it finishes.
#[derive(Debug)]
pub struct Oracle {
    name: &'static str,
    dir: PathBuf,
    dump: Option<u64>,
    started: Instant,
    cases: u64,
    accepted_by_both: u64,
    rejected_by_validator: u64,
    disagreements: u64,
    by_kind: BTreeMap<Kind, u64>,
    reasons: HashMap<String, u64>,
    details: Vec<String>,
    listing: String,
}

impl Oracle {
    /// An oracle for the test `name`; its files go under
    /// `$CARGO_TARGET_TMPDIR/kiln-oracle/<name>/`, emptied first.
    pub fn new(name: &'static str) -> Oracle {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("kiln-oracle")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        Oracle {
            name,
            dir,
            dump: std::env::var("KILN_ORACLE_DUMP")
                .ok()
                .and_then(|s| s.parse().ok()),
            started: Instant::now(),
            cases: 0,
            accepted_by_both: 0,
            rejected_by_validator: 0,
            disagreements: 0,
            by_kind: BTreeMap::new(),
            reasons: HashMap::new(),
            details: Vec::new(),
            listing: String::new(),
        }
    }

    /// Runs both sides on `bytes`; `label` says where the case came from and
    /// is only built when something is reported.
    pub fn check(&mut self, bytes: &[u8], features: Features, label: impl FnOnce() -> String) {
        let case = self.cases;
        self.cases += 1;
        if self.dump == Some(case) {
            let path = self.write_module(&format!("case-{case}.wasm"), bytes);
            eprintln!(
                "kiln oracle: case #{case} of `{}` written to {path}",
                self.name
            );
        }
        set_case(self.name, case);
        let kiln = run_kiln(bytes, features);
        let wasmparser = run_wasmparser(bytes, features);

        let budget = (64u64 << 20) + 512 * bytes.len() as u64;
        let (kind, reason) = match (&kiln.verdict, &wasmparser) {
            (Verdict::Panicked(p), _) => (Kind::Panicked, p.clone()),
            (Verdict::Accepted, Err(e)) if is_implementation_limit(e) => {
                (Kind::KilnAcceptedAtLimit, e.clone())
            }
            (Verdict::Accepted, Err(e)) => (Kind::KilnAccepted, e.clone()),
            (Verdict::Malformed(e) | Verdict::Invalid(e), Ok(())) => {
                (Kind::KilnRejected, e.clone())
            }
            _ if kiln.allocated > budget => (
                Kind::Allocation,
                format!(
                    "{} bytes requested in all, {} in one block, for a {}-byte module",
                    kiln.allocated,
                    kiln.largest,
                    bytes.len()
                ),
            ),
            _ if kiln.elapsed > SLOW => (Kind::Slow, format!("{:?}", kiln.elapsed)),
            (Verdict::Accepted, Ok(())) => {
                self.accepted_by_both += 1;
                return;
            }
            (Verdict::Malformed(_), Err(_)) => return,
            (Verdict::Invalid(_), Err(_)) => {
                self.rejected_by_validator += 1;
                return;
            }
        };
        self.report(
            case,
            kind,
            &reason,
            &kiln.verdict,
            &wasmparser,
            bytes,
            features,
            label(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        case: u64,
        kind: Kind,
        reason: &str,
        kiln: &Verdict,
        wasmparser: &Result<(), String>,
        bytes: &[u8],
        features: Features,
        label: String,
    ) {
        self.disagreements += 1;
        *self.by_kind.entry(kind).or_default() += 1;
        *self.reasons.entry(normalize(reason)).or_default() += 1;
        let label = format!("case #{case}: {label} [{}]", features_name(features));
        if self.listing.len() < FILE_LIMIT * 200 {
            let _ = writeln!(self.listing, "{}: {label}: {reason}", kind.describe());
        }
        if self.details.len() < REPORT_LIMIT {
            let n = self.details.len() + 1;
            let path = self.write_module(&format!("{n:02}.wasm"), bytes);
            let kiln = match kiln {
                Verdict::Accepted => "accepted".to_string(),
                Verdict::Malformed(e) | Verdict::Invalid(e) => format!("rejected: {e}"),
                Verdict::Panicked(p) => format!("PANICKED: {p}"),
            };
            let wasmparser = match wasmparser {
                Ok(()) => "accepted".to_string(),
                Err(e) => format!("rejected: {e}"),
            };
            self.details.push(format!(
                "{n:2}. {}\n    {label}\n    Kiln:       {kiln}\n    wasmparser: {wasmparser}\n    \
                 module:     {path}",
                kind.describe()
            ));
        }
    }

    fn write_module(&self, file: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(file);
        let written =
            std::fs::create_dir_all(&self.dir).and_then(|()| std::fs::write(&path, bytes));
        match written {
            Ok(()) => path.display().to_string(),
            Err(e) => format!("(could not write {}: {e})", path.display()),
        }
    }

    /// Prints a one-line summary and, if anything disagreed, panics with a
    /// bounded report: counts by kind, the most frequent reasons, and the
    /// first disagreements in full with the paths of their modules.
    ///
    /// # Panics
    ///
    /// If any case disagreed.
    pub fn finish(self) {
        let summary = format!(
            "oracle `{}`: {} cases ({} accepted by both, {} rejected by both and by Kiln's \
             validator rather than its parser) in {:.1?}, {} disagreements",
            self.name,
            self.cases,
            self.accepted_by_both,
            self.rejected_by_validator,
            self.started.elapsed(),
            self.disagreements
        );
        println!("{summary}");
        if self.disagreements == 0 {
            return;
        }
        let mut report = format!("{summary}:\n");
        for (kind, n) in &self.by_kind {
            let _ = writeln!(report, "  {n:6}  {}", kind.describe());
        }
        let mut reasons: Vec<_> = self.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let _ = writeln!(
            report,
            "most frequent reasons (the rejecting side's error, or the panic):"
        );
        for (reason, n) in reasons.iter().take(10) {
            let _ = writeln!(report, "  {n:6}  {reason}");
        }
        let _ = writeln!(report, "first {}:", self.details.len());
        for d in &self.details {
            let _ = writeln!(report, "{d}");
        }
        let listing = self.dir.join("report.txt");
        let written = std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(&listing, &self.listing));
        if written.is_ok() {
            let _ = writeln!(report, "every disagreement: {}", listing.display());
        }
        let _ = writeln!(
            report,
            "(reproduce one case with KILN_ORACLE_DUMP=<case number>; scale the run with \
             KILN_ORACLE_SCALE)"
        );
        panic!("{report}");
    }
}

/// A reason with offsets, function indices and other numbers replaced by `N`,
/// so that the same rule broken in many places counts once.
fn normalize(reason: &str) -> String {
    let reason = reason.split(" (at offset").next().unwrap_or(reason);
    let reason = reason.split(" (in function").next().unwrap_or(reason);
    let mut out = String::with_capacity(reason.len());
    let mut in_number = false;
    let mut prev = ' ';
    for c in reason.chars() {
        // Digits right after a letter are part of a name (`i32`, `f64x2`).
        let starts = c.is_ascii_digit() && !prev.is_ascii_alphanumeric();
        let continues = in_number && (c.is_ascii_hexdigit() || c == 'x' || c == '_');
        if starts || continues {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
        prev = c;
    }
    out
}
