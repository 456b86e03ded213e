//! A wasm-smith module on Kiln's interpreter and on wasmi: the same results,
//! traps, memories and globals (see `kiln_fuzz_replay::check_differential`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_differential(data);
});
