//! GC modules from `wasm-smith`, and copies with a byte changed, through
//! Kiln's validator and `wasmparser`'s: the same verdict on each (see
//! `kiln_fuzz_replay::check_gc_validate`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_gc_validate(data);
});
