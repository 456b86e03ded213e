//! `kiln-fuzz-replay` holds the checks behind Kiln's fuzz targets, in one
//! place for the cargo-fuzz project in `fuzz/` (nightly, libFuzzer) and for
//! this crate's replay test (stable, `cargo test`), which runs the same checks
//! over the committed corpus in `fuzz/corpus/<target>/` and fixed seeds.
//!
//! Each `check_*` function takes the fuzzer's raw input and panics when Kiln
//! misbehaves: a panic inside Kiln, a verdict that differs from the oracle's,
//! or an execution that differs from wasmi's. Inputs that say nothing (bytes
//! `wasm-smith` cannot build a module from, text that is not UTF-8) return
//! quietly. The `*_outcome` functions return the same findings as values, so
//! that the replay test can name every failing input rather than stop at the
//! first.
//!
//! This crate must not hold engine code: a finding is fixed in the crate that
//! owns it, with a regression test there, and only the input is added here.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod differential;
mod gc_validate;
mod node_input;
mod parse_validate;
mod wat_text;

pub use differential::{check_differential, differential_outcome, differential_wasm};
pub use gc_validate::{check_gc_validate, gc_smith_config, gc_validate_outcome};
pub use node_input::{check_node_input, node_input_outcome};
pub use parse_validate::{check_parse_validate, parse_validate_outcome};
pub use wat_text::{check_wat, wat_outcome};

/// The fuzz targets, by the names of their `fuzz/fuzz_targets/*.rs` files and
/// corpus folders.
pub const TARGETS: [&str; 4] = ["parse_validate", "differential", "wat", "node_input"];

/// A finding: what Kiln did wrong on one input, in a sentence or a few lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding(pub String);

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs `f`, turning a panic into a [`Finding`] that carries its message.
///
/// The fuzz targets call the `check_*` functions, whose panics libFuzzer
/// reports; the outcome functions use this so that a panic inside Kiln is a
/// finding like any other.
pub(crate) fn catch<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, Finding> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        Finding(format!("{what} panicked: {message}"))
    })
}

/// Fixed pseudo-random fuzz input number `seed` of the series `series`: 256
/// to 8,448 bytes (splitmix64), the same on every machine. The replay test
/// and the `differential-wasmtime` command draw from different series.
pub fn seeded_input(series: u64, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ series;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let len = 256 + (next() % (8 << 10)) as usize;
    (0..len).map(|_| next() as u8).collect()
}
