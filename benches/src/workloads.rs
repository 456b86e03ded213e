//! The WebAssembly text workloads in `benches/wat/`, shared by the `interp`
//! bench (Kiln's interpreter beside wasmi) and the `jit` bench (Kiln's JIT
//! beside wasmtime).
//!
//! Each module exports `run(size: i32) -> i64`, returning a checksum of the
//! work done, so that two engines given the same binary and the same size
//! can be checked against each other before they are timed. Each `.wat`
//! file says what it stresses.

/// One program to run on several engines.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Criterion group name.
    pub name: &'static str,
    /// The module's text; it exports `run(i32) -> i64`.
    pub wat: &'static str,
    /// The argument for interpreters, chosen so that one call takes a few
    /// tens of milliseconds on Kiln's interpreter.
    pub interp_size: i32,
    /// The argument for compilers, chosen so that one call takes 10 to 30
    /// milliseconds on Kiln's JIT: long enough that entering and leaving the
    /// engine does not count, short enough for many samples.
    pub jit_size: i32,
}

/// The workloads, one per kind of work an engine does.
pub const WORKLOADS: &[Workload] = &[
    Workload {
        name: "fib",
        wat: include_str!("../wat/fib.wat"),
        interp_size: 24,
        jit_size: 30,
    },
    Workload {
        name: "collatz",
        wat: include_str!("../wat/collatz.wat"),
        interp_size: 3_000,
        jit_size: 50_000,
    },
    Workload {
        name: "sieve",
        wat: include_str!("../wat/sieve.wat"),
        interp_size: 200_000,
        // The module's memory holds 4 MiB.
        jit_size: 4_000_000,
    },
    Workload {
        name: "br_table-vm",
        wat: include_str!("../wat/vm.wat"),
        interp_size: 50_000,
        jit_size: 1_000_000,
    },
    Workload {
        name: "call_indirect",
        wat: include_str!("../wat/indirect.wat"),
        interp_size: 200_000,
        jit_size: 2_000_000,
    },
    Workload {
        name: "mandelbrot",
        wat: include_str!("../wat/mandelbrot.wat"),
        interp_size: 110,
        jit_size: 400,
    },
];

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wat_file_is_listed_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wat");
        let files = std::fs::read_dir(dir)
            .expect("read wat/")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".wat"))
            .count();
        assert_eq!(files, WORKLOADS.len());
        for w in WORKLOADS {
            assert!(w.wat.contains("(export \"run\")"), "{}", w.name);
            assert!(w.jit_size >= w.interp_size, "{}", w.name);
        }
    }
}
