//! Every function of every module the spec suites define verifies on the
//! interpreter: the bytecode verifier (`kiln-interp`'s `verify`) accepts
//! what the translator makes of it. The suite's own runner translates only
//! the functions its directives call, so this translates all of them, with
//! the options that change the code off and on.

use std::sync::Arc;

use kiln_interp::{CompileOptions, CompiledModule};
use kiln_spec_tests::SUITES;
use wast::WastDirective;

/// The binaries of the modules `text` defines (those a directive expects to
/// be valid, or to fail only when linked).
fn modules(text: &str) -> Vec<Vec<u8>> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).expect("lexes");
    let wast = wast::parser::parse::<wast::Wast<'_>>(&buf).expect("parses");
    let mut out = Vec::new();
    for directive in wast.directives {
        let bytes = match directive {
            WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m) => m.encode(),
            WastDirective::AssertUnlinkable { mut module, .. } => module.encode(),
            _ => continue,
        };
        if let Ok(bytes) = bytes {
            out.push(bytes);
        }
    }
    out
}

#[test]
fn interp_verifies_every_function_of_every_spec_module() {
    let all_on = CompileOptions {
        fuel: true,
        epoch_interruption: true,
        canonicalize_nans: true,
        ..CompileOptions::default()
    };
    let (mut modules_seen, mut funcs) = (0, 0);
    for suite in SUITES {
        for file in suite.files_for(kiln_spec_tests::Tier::Interp) {
            let features = suite.features_for(&file.name);
            for bytes in modules(file.text) {
                // Modules Kiln rejects are the runner's business, not this test's.
                let Ok(module) = kiln_parser::parse(&bytes, features) else {
                    continue;
                };
                let Ok(info) = kiln_validator::validate(&module, features) else {
                    continue;
                };
                let (module, info) = (Arc::new(module), Arc::new(info));
                for options in [CompileOptions::default(), all_on] {
                    let compiled =
                        CompiledModule::new(Arc::clone(&module), Arc::clone(&info), options)
                            .expect("the interpreter takes every valid module");
                    if let Err(e) = compiled.translate_all() {
                        panic!("{}::{} ({options:?}): {e}", suite.name, file.name);
                    }
                }
                modules_seen += 1;
                funcs += module.code.len();
            }
        }
    }
    assert!(modules_seen > 1000, "{modules_seen} modules");
    println!("{modules_seen} modules, {funcs} functions verified");
}
