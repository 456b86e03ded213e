//! A JIT-only case: epoch checks are compiled only when asked for. (That they
//! stop a guest is tested once for all tiers, in the root crate's `tests/tiers/`.)

use std::sync::Arc;

use kiln_parser::Features;

/// Bytes of native code for `wat`, with or without epoch checks.
fn code_size(wat: &str, epoch_interruption: bool) -> usize {
    let bytes = wat::parse_str(wat).expect("well-formed text");
    let module = kiln_parser::parse(&bytes, Features::ALL).expect("parse");
    let info = kiln_validator::validate(&module, Features::ALL).expect("valid");
    let options = kiln_jit::CompileOptions {
        epoch_interruption,
        ..kiln_jit::CompileOptions::default()
    };
    kiln_jit::CompiledModule::new(Arc::new(module), Arc::new(info), options)
        .expect("compile")
        .code_size()
}

#[test]
fn epoch_checks_are_compiled_only_when_on() {
    let wat = "(module (func (param i32) (loop (br_if 0 (local.get 0)))))";
    let off = code_size(wat, false);
    let on = code_size(wat, true);
    assert!(on > off, "{on} bytes with checks, {off} without");
    assert_eq!(off, code_size(wat, false));
}
