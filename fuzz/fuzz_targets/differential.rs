//! A wasm-smith module (SIMD included) on Kiln's interpreter, Kiln's JIT and
//! wasmi: the same results, traps, memories and globals; a module with
//! exception handling or typed function references against wasmtime instead
//! of wasmi; a module with relaxed SIMD on Kiln's two tiers only (see
//! `kiln_fuzz_replay::check_differential`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_differential(data);
});
