//! GC modules through Kiln's parser and validator, against `wasmparser`'s.
//!
//! Arbitrary bytes seldom spell a struct type, let alone a valid `br_on_cast`,
//! so [`gc_validate_outcome`] has `wasm-smith` (with GC on) build a module
//! from the input: a valid one for half the inputs, and for the other half
//! one whose function bodies may hold invalid instructions (wrong operands,
//! wrong immediates). Both validators must agree on it, and on copies of it
//! with one byte of the type or code section changed, at positions and to
//! values the input's tail picks: an immediate, a type index or an opcode
//! changed is a module near the original, where a validator that is too lax
//! or too strict shows.

use arbitrary::Unstructured;

use crate::Finding;
use crate::parse_validate::compare_verdicts;

/// How many changed copies of each generated module are compared.
const MUTANTS: usize = 32;

/// The `wasm-smith` configuration: every proposal Kiln parses, GC included,
/// with small modules; with `invalid`, function bodies that are sometimes
/// invalid (an instruction whose operands or immediates are wrong).
pub fn gc_smith_config(invalid: bool) -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: true,
        relaxed_simd_enabled: true,
        reference_types_enabled: true,
        bulk_memory_enabled: true,
        multi_value_enabled: true,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        tail_call_enabled: true,
        extended_const_enabled: true,
        memory64_enabled: true,
        exceptions_enabled: true,
        gc_enabled: true,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        custom_page_sizes_enabled: false,
        compact_imports_enabled: false,
        shared_everything_threads_enabled: false,
        custom_descriptors_enabled: false,
        acquire_release_atomics_enabled: false,
        multibyte_array_access_enabled: false,
        max_memories: 2,
        max_tables: 3,
        max_types: 30,
        max_funcs: 20,
        max_instructions: 200,
        allow_invalid_funcs: invalid,
        ..wasm_smith::Config::default()
    }
}

/// Checks one input: the generated module is accepted by both, and every
/// changed copy gets the same verdict from both.
///
/// # Errors
///
/// A panic in Kiln, a valid module Kiln rejects, or a changed module the two
/// disagree on.
pub fn gc_validate_outcome(data: &[u8]) -> Result<(), Finding> {
    let Some((&knob, rest)) = data.split_first() else {
        return Ok(());
    };
    let mut u = Unstructured::new(rest);
    let invalid = knob & 1 != 0;
    let Ok(module) = wasm_smith::Module::new(gc_smith_config(invalid), &mut u) else {
        return Ok(());
    };
    let wasm = module.to_bytes();
    compare_verdicts(&wasm)?;
    let spans = type_and_code_spans(&wasm);
    let len: usize = spans.iter().map(ExactSizeIterator::len).sum();
    for _ in 0..MUTANTS {
        let (Ok(mut i), Ok(byte)) = (u.choose_index(len), u.arbitrary::<u8>()) else {
            break;
        };
        // The `i`th byte of the spans, in order.
        let Some(at) = spans.iter().find_map(|span| {
            let found = span.clone().nth(i);
            i = i.saturating_sub(span.len());
            found
        }) else {
            break;
        };
        let mut mutant = wasm.clone();
        mutant[at] = byte;
        compare_verdicts(&mutant)?;
    }
    Ok(())
}

/// The byte ranges of the type and code sections' contents, where a changed
/// byte most often changes what the GC rules check.
fn type_and_code_spans(wasm: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut spans = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let range = match payload {
            Ok(wasmparser::Payload::TypeSection(r)) => r.range(),
            Ok(wasmparser::Payload::CodeSectionStart {
                unchecked_range, ..
            }) => unchecked_range,
            Ok(_) => continue,
            Err(_) => break,
        };
        let end = usize::try_from(range.end).map_or(wasm.len(), |e| e.min(wasm.len()));
        spans.push(usize::try_from(range.start).unwrap_or(end).min(end)..end);
    }
    spans
}

/// The `gc_validate` fuzz target's body.
///
/// # Panics
///
/// On every finding (see [`gc_validate_outcome`]).
pub fn check_gc_validate(data: &[u8]) {
    if let Err(finding) = gc_validate_outcome(data) {
        panic!("{finding}");
    }
}
