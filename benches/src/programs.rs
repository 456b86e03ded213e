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
    /// SQLite, from the `libsqlite3-sys` crate of version
    /// [`LIBSQLITE3_SYS_VERSION`]: the amalgamation in its `sqlite3`
    /// directory, built with [`SQLITE_FLAGS`].
    Sqlite,
    /// Lua 5.4, from the `lua-src` crate of version [`LUA_SRC_VERSION`]: the
    /// [`LUA_SOURCES`] of its [`LUA_DIR`] directory, with
    /// `programs/lua-nojmp/` on the include path.
    Lua,
}

impl Library {
    /// Every library.
    pub const ALL: [Library; 3] = [Library::Zstd, Library::Sqlite, Library::Lua];

    /// The crate that ships its source.
    pub fn crate_name(self) -> &'static str {
        match self {
            Library::Zstd => "zstd-sys",
            Library::Sqlite => "libsqlite3-sys",
            Library::Lua => "lua-src",
        }
    }

    /// The version of that crate its source is taken from.
    pub fn crate_version(self) -> &'static str {
        match self {
            Library::Zstd => ZSTD_SYS_VERSION,
            Library::Sqlite => LIBSQLITE3_SYS_VERSION,
            Library::Lua => LUA_SRC_VERSION,
        }
    }

    /// The variable of `build.sh` that holds the same version.
    pub fn pin_variable(self) -> &'static str {
        match self {
            Library::Zstd => "ZSTD_SYS_VERSION",
            Library::Sqlite => "LIBSQLITE3_SYS_VERSION",
            Library::Lua => "LUA_SRC_VERSION",
        }
    }

    /// Where in the crate its source is.
    pub fn source_dir(self) -> &'static str {
        match self {
            Library::Zstd => "zstd/lib",
            Library::Sqlite => "sqlite3",
            Library::Lua => LUA_DIR,
        }
    }

    /// The environment variable that names the source directory instead.
    pub fn env_var(self) -> &'static str {
        match self {
            Library::Zstd => "ZSTD_LIB",
            Library::Sqlite => "SQLITE_LIB",
            Library::Lua => "LUA_LIB",
        }
    }

    /// A file the source directory has, to recognise it by.
    pub fn marker(self) -> &'static str {
        match self {
            Library::Zstd => "zstd.h",
            Library::Sqlite => "sqlite3.h",
            Library::Lua => "lua.h",
        }
    }
}

/// The `zstd-sys` version whose copy of zstd `zstd.c` is built with; the
/// same pin as `build.sh`'s (a test keeps the two in step, as it does the
/// pins and lists below).
pub const ZSTD_SYS_VERSION: &str = "2.2.0+zstd.1.6.0";

/// The `libsqlite3-sys` version whose copy of SQLite (3.54.1) `sqlite.c` is
/// built with.
pub const LIBSQLITE3_SYS_VERSION: &str = "0.40.0";

/// The options SQLite is built with: no threads, no OS layer (`sqlite.c`
/// brings a VFS of its own), nothing WASI lacks.
pub const SQLITE_FLAGS: &[&str] = &[
    "-DSQLITE_OS_OTHER=1",
    "-DSQLITE_THREADSAFE=0",
    "-DSQLITE_OMIT_LOAD_EXTENSION",
    "-DSQLITE_OMIT_WAL",
    "-DSQLITE_OMIT_SHARED_CACHE",
    "-DSQLITE_DEFAULT_MEMSTATUS=0",
    "-DSQLITE_TEMP_STORE=3",
];

/// The `lua-src` version whose copy of Lua `lua.c` is built with.
pub const LUA_SRC_VERSION: &str = "551.1.0";

/// The directory of the Lua release in the `lua-src` crate.
pub const LUA_DIR: &str = "lua-5.4.9";

/// The Lua sources `lua.c` is built with (without `.c`): the core, the
/// auxiliary library, and the base, string, table and math libraries; not
/// the stand-alone interpreters, `linit.c`, or the libraries that need what
/// WASI lacks.
pub const LUA_SOURCES: &[&str] = &[
    "lapi", "lauxlib", "lbaselib", "lcode", "lctype", "ldebug", "ldo", "ldump", "lfunc", "lgc",
    "llex", "lmathlib", "lmem", "lobject", "lopcodes", "lparser", "lstate", "lstring", "lstrlib",
    "ltable", "ltablib", "ltm", "lundump", "lvm", "lzio",
];

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
    program!(
        "sqlite",
        "SQL database (the SQLite library)",
        Library::Sqlite
    ),
    program!("lua", "scripting (the Lua interpreter)", Library::Lua),
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
    fn build_sh_has_the_same_pins_and_lists() {
        let script =
            std::fs::read_to_string(programs_dir().join("build.sh")).expect("read build.sh");
        for library in Library::ALL {
            let pin = format!("{}={}\n", library.pin_variable(), library.crate_version());
            assert!(script.contains(&pin), "build.sh has no `{}`", pin.trim());
        }
        for line in [
            format!("LUA_DIR={LUA_DIR}\n"),
            format!("SQLITE_FLAGS=({})\n", SQLITE_FLAGS.join(" ")),
            format!("LUA_SOURCES=({})\n", LUA_SOURCES.join(" ")),
        ] {
            assert!(script.contains(&line), "build.sh has no `{}`", line.trim());
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
