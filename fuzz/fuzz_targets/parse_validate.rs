//! Arbitrary bytes through Kiln's parser and validator: no panic, and the same
//! verdict as wasmparser's validator (see `kiln_fuzz_replay::check_parse_validate`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_parse_validate(data);
});
