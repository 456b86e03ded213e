//! Arbitrary input through `kiln::validate`'s text path: no panic (see
//! `kiln_fuzz_replay::check_wat`).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    kiln_fuzz_replay::check_wat(data);
});
