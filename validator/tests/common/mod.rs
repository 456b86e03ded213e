//! Shared machinery of the validator's differential tests: a deterministic
//! random generator (here), the spec-suite corpus ([`corpus`]), byte-level
//! mutations ([`mutate`]), running Kiln under watch ([`run`]), and the
//! [`Oracle`] that runs Kiln and `wasmparser` on the same bytes and collects
//! every disagreement into one bounded report.

pub mod corpus;
pub mod mutate;
pub mod oracle;
pub mod run;

pub use corpus::spec_modules;
pub use mutate::{Hotspots, mutate};
pub use oracle::Oracle;
pub use run::{Verdict, run_kiln, run_wasmparser};

use kiln_parser::Features;

/// SplitMix64: small, fast and well mixed; every case derives its own seed so
/// that any one case can be regenerated without replaying the ones before it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for case `index` of stream `stream`.
    pub fn for_case(stream: u64, index: u64) -> Rng {
        let mut r = Rng(stream.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ index);
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`; `n` must not be zero.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// How many cases to run relative to the default: `KILN_ORACLE_SCALE=10` for a
/// longer soak, `0.1` for a quick look.
pub fn scale(n: usize) -> usize {
    let factor = std::env::var("KILN_ORACLE_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    ((n as f64) * factor).ceil().max(1.0) as usize
}

/// A short name for a feature set, for labels.
pub fn features_name(f: Features) -> String {
    if f == Features::WASM2 {
        return "wasm2".into();
    }
    if f == Features::ALL {
        return "all".into();
    }
    if f == Features::ALL_WITH_GC {
        return "all+gc".into();
    }
    let mut s = String::from("wasm2");
    for (on, name) in [
        (f.tail_call, "tail-call"),
        (f.extended_const, "extended-const"),
        (f.multi_memory, "multi-memory"),
        (f.memory64, "memory64"),
    ] {
        if on {
            s.push('+');
            s.push_str(name);
        }
    }
    s
}
