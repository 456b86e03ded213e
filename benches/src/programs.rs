//! The C benchmark programs in `benches/programs/`: their built modules and
//! the output their native build printed, both embedded in the binary.
//!
//! `programs/build.sh` compiles each `NAME.c` to `programs/wasm/NAME.wasm`
//! (clang, wasm32-wasi, -O2; for the SIMD builds, see below) and records the
//! native build's output
//! in `programs/expected/NAME.out`; both are committed so that benchmarks run
//! without clang. Each program prints a checksum of its work, takes an
//! optional work scale as its first argument, and by default runs for a few
//! seconds on Kiln's interpreter.
//!
//! Some programs also have a SIMD build, `NAME-simd` (`-O3 -msimd128
//! -ffp-contract=off`, so that clang's auto-vectoriser emits SIMD
//! instructions; `build.sh` says why the last): the same source,
//! which must print the same `expected/NAME.out`. The report times each
//! beside its scalar build. A unit test checks that every SIMD build has
//! vector instructions inside loops and that no scalar build has any.

use std::path::PathBuf;

/// One benchmark program, or the SIMD build of one.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// Its name: the file stem `programs/NAME.c`, `programs/wasm/NAME.wasm`
    /// of a scalar build; `SCALAR-simd` for a SIMD build.
    pub name: &'static str,
    /// What kind of work it measures, for reports.
    pub what: &'static str,
    /// For a SIMD build, the name of the program it is a build of: its
    /// source, its expected output, and the build it is compared with.
    pub scalar: Option<&'static str>,
    /// A C library compiled with it, if any.
    pub library: Option<Library>,
    /// The module built from it.
    pub wasm: &'static [u8],
    /// What its native build printed when `build.sh` last ran: the reference
    /// when no C compiler is at hand to build it again.
    pub expected: &'static str,
}

/// A C library whose source a program is compiled with. It is not in the
/// repository: `build.sh` finds it in cargo's registry (downloading the
/// crate that ships it if needed), and so does the native build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// zstd, from the `zstd-sys` crate of version [`ZSTD_SYS_VERSION`]: its
    /// `zstd/lib` directory.
    Zstd,
}

/// The `zstd-sys` version whose copy of zstd `zstd.c` is built with; the
/// same pin as `build.sh`'s (a test keeps the two in step).
pub const ZSTD_SYS_VERSION: &str = "2.2.0+zstd.1.6.0";

/// The optimisation of a scalar program's native build.
pub const NATIVE_OPT: &str = "-O2";
/// The optimisation of a SIMD build's native build: `-O3`, as its wasm
/// build, so that the native vectoriser runs fully too (with the host's
/// baseline vector instructions, SSE2 on x86-64).
pub const NATIVE_SIMD_OPT: &str = "-O3";

impl Program {
    /// The stem of its C source: its own name, or its scalar program's.
    pub fn stem(&self) -> &'static str {
        self.scalar.unwrap_or(self.name)
    }

    /// The path of its C source.
    pub fn source(&self) -> PathBuf {
        programs_dir().join(format!("{}.c", self.stem()))
    }

    /// Whether it is a SIMD build.
    pub fn is_simd(&self) -> bool {
        self.scalar.is_some()
    }

    /// The optimisation flag of its native build.
    pub fn native_opt(&self) -> &'static str {
        if self.is_simd() {
            NATIVE_SIMD_OPT
        } else {
            NATIVE_OPT
        }
    }

    /// Its SIMD build, if it is a scalar program that has one.
    pub fn simd(&self) -> Option<&'static Program> {
        PROGRAMS.iter().find(|p| p.scalar == Some(self.name))
    }
}

/// Expands to a [`Program`] named `$name` whose module and expected output
/// are `include_bytes!`/`include_str!` of the files `build.sh` wrote; with
/// `simd`, to the SIMD build of that program, named `$name-simd`, whose
/// expected output is the program's.
macro_rules! program {
    ($name:literal, $what:literal $(, $library:expr)?) => {
        Program {
            name: $name,
            what: $what,
            scalar: None,
            library: program!(@library $($library)?),
            wasm: include_bytes!(concat!("../programs/wasm/", $name, ".wasm")),
            expected: include_str!(concat!("../programs/expected/", $name, ".out")),
        }
    };
    (simd $name:literal, $what:literal $(, $library:expr)?) => {
        Program {
            name: concat!($name, "-simd"),
            what: $what,
            scalar: Some($name),
            library: program!(@library $($library)?),
            wasm: include_bytes!(concat!("../programs/wasm/", $name, "-simd.wasm")),
            expected: include_str!(concat!("../programs/expected/", $name, ".out")),
        }
    };
    (@library) => { None };
    (@library $library:expr) => { Some($library) };
}

/// Every program, in report order: the scalar builds, then the SIMD builds.
/// A unit test checks that the scalar builds are exactly the `.c` files in
/// `programs/`, and the SIMD builds those `build.sh` makes.
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
    program!("zstd", "compression (the zstd library)", Library::Zstd),
    program!("large", "large generated program"),
    program!(simd "hash", "integer hashing, SIMD"),
    program!(simd "nbody", "floating point, SIMD"),
    program!(simd "memops", "byte loops, SIMD"),
    program!(simd "matmul", "matrix multiply, SIMD"),
    program!(simd "zstd", "compression, SIMD", Library::Zstd),
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
    use crate::vectors::vector_instructions;

    fn files(dir: &str, suffix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(programs_dir().join(dir))
            .expect("read a directory of programs/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter_map(|f| f.strip_suffix(suffix).map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_source_is_listed_once() {
        let mut listed: Vec<&str> = PROGRAMS
            .iter()
            .filter(|p| !p.is_simd())
            .map(|p| p.name)
            .collect();
        listed.sort_unstable();
        assert_eq!(files(".", ".c"), listed);
    }

    #[test]
    fn every_module_is_listed_once() {
        let mut listed: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
        listed.sort_unstable();
        assert_eq!(files("wasm", ".wasm"), listed);
    }

    #[test]
    fn simd_builds_are_those_build_sh_makes() {
        let script =
            std::fs::read_to_string(programs_dir().join("build.sh")).expect("read build.sh");
        let mut simd: Vec<&str> = PROGRAMS.iter().filter_map(|p| p.scalar).collect();
        simd.sort_unstable();
        let line = format!("SIMD_PROGRAMS=({})", simd.join(" "));
        assert!(script.contains(&line), "build.sh has no `{line}`");
        let pin = format!("ZSTD_SYS_VERSION={ZSTD_SYS_VERSION}\n");
        assert!(script.contains(&pin), "build.sh has no `{}`", pin.trim());
        for p in PROGRAMS.iter().filter(|p| p.is_simd()) {
            let scalar = find(p.stem()).expect("a SIMD build's program is listed");
            assert!(!scalar.is_simd(), "{}", p.name);
            assert_eq!(scalar.simd().map(|s| s.name), Some(p.name));
            assert_eq!(p.expected, scalar.expected, "{}", p.name);
            assert_eq!(p.library, scalar.library, "{}", p.name);
            assert_eq!(p.source(), scalar.source());
        }
    }

    #[test]
    fn every_program_is_a_wasi_command_with_a_checksum() {
        for p in PROGRAMS {
            assert_eq!(&p.wasm[..4], b"\0asm", "{}", p.name);
            assert!(
                p.expected.contains(&format!("{}: ", p.stem())),
                "{}: {:?}",
                p.name,
                p.expected
            );
        }
        assert!(find(LARGE).is_some());
    }

    /// wasi-libc is built without SIMD, so any vector instruction in a
    /// module is the program's (or its library's) own.
    #[test]
    fn simd_builds_vectorise_loops_and_scalar_builds_do_not() {
        for p in PROGRAMS {
            let functions = vector_instructions(p.wasm).expect("a module");
            let total: u32 = functions.iter().map(|f| f.vectors).sum();
            let in_loops: u32 = functions.iter().map(|f| f.vectors_in_loops()).sum();
            if p.is_simd() {
                assert!(in_loops > 0, "{}: no vector instruction in a loop", p.name);
            } else {
                assert_eq!(
                    total, 0,
                    "{}: vector instructions in a scalar build",
                    p.name
                );
            }
        }
    }
}
