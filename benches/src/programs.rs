//! The C benchmark programs in `benches/programs/`: their built modules and
//! the output their native build printed, both embedded in the binary.
//!
//! `programs/build.sh` compiles each `NAME.c` to `programs/wasm/NAME.wasm`
//! (clang, wasm32-wasi, -O2, no SIMD) and records the native build's output
//! in `programs/expected/NAME.out`; both are committed so that benchmarks run
//! without clang. Each program prints a checksum of its work, takes an
//! optional work scale as its first argument, and by default runs for a few
//! seconds on Kiln's interpreter.

use std::path::PathBuf;

/// One benchmark program.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The file stem: `programs/NAME.c`, `programs/wasm/NAME.wasm`.
    pub name: &'static str,
    /// What kind of work it measures, for reports.
    pub what: &'static str,
    /// The module built from it.
    pub wasm: &'static [u8],
    /// What its native build printed when `build.sh` last ran: the reference
    /// when no C compiler is at hand to build it again.
    pub expected: &'static str,
}

impl Program {
    /// The path of its C source.
    pub fn source(&self) -> PathBuf {
        programs_dir().join(format!("{}.c", self.name))
    }
}

/// Expands to a [`Program`] named `$name` whose module and expected output
/// are `include_bytes!`/`include_str!` of the files `build.sh` wrote.
macro_rules! program {
    ($name:literal, $what:literal) => {
        Program {
            name: $name,
            what: $what,
            wasm: include_bytes!(concat!("../programs/wasm/", $name, ".wasm")),
            expected: include_str!(concat!("../programs/expected/", $name, ".out")),
        }
    };
}

/// Every program, in report order. A unit test checks that this lists
/// exactly the `.c` files in `programs/`.
pub const PROGRAMS: &[Program] = &[
    program!("fib", "recursion and calls"),
    program!("hash", "integer hashing"),
    program!("nbody", "floating point"),
    program!("mandelbrot", "floating point"),
    program!("memops", "memory copies, byte loops"),
    program!("sort", "sorting"),
    program!("vm", "bytecode interpreter (br_table)"),
    program!("dispatch", "indirect calls"),
    program!("strings", "string parsing"),
    program!("matmul", "matrix multiply"),
    program!("large", "large generated program"),
];

/// The program whose start-up (bytes to first call) is measured.
pub const LARGE: &str = "large";

/// The program called `name`.
pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// `benches/programs/`, where the sources and `common.h` are.
pub fn programs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("programs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_listed_once() {
        let mut sources: Vec<String> = std::fs::read_dir(programs_dir())
            .expect("read programs/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter_map(|f| f.strip_suffix(".c").map(str::to_owned))
            .collect();
        sources.sort();
        let mut listed: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
        listed.sort_unstable();
        assert_eq!(sources, listed);
    }

    #[test]
    fn every_program_is_a_wasi_command_with_a_checksum() {
        for p in PROGRAMS {
            assert_eq!(&p.wasm[..4], b"\0asm", "{}", p.name);
            assert!(
                p.expected.contains(&format!("{}: ", p.name)),
                "{}: {:?}",
                p.name,
                p.expected
            );
        }
        assert!(find(LARGE).is_some());
    }
}
