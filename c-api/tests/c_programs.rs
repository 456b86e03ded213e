//! The C API tested from C: each program in `tests/c/` is compiled with
//! clang against `include/` and the crate's static library, run on the
//! module its `.wat` file encodes (written next to it as `.wasm`), and its
//! standard output compared with `tests/c/<name>.out`, line for line.
//!
//! `cargo test -p kiln-c-api` builds the static library with the crate
//! (the lib target's `staticlib` type), into the profile's directory above
//! this test's executable. Without clang the tests skip with a message,
//! except in CI (`CI=true`), where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The compiler: `$KILN_C_API_CC`, or `clang`.
fn clang() -> String {
    std::env::var("KILN_C_API_CC").unwrap_or_else(|_| "clang".into())
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-api");
    std::fs::create_dir_all(&dir).expect("create the output directory");
    dir
}

/// The library `file` (`libkiln_c_api.a` or `.so`), built by cargo with
/// this test: in the profile directory (`target/debug`) or its `deps`,
/// where this executable is.
fn library(file: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("the deps directory");
    let candidates = [
        deps.join(file),
        deps.parent().expect("the profile directory").join(file),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("no {file} in {candidates:?}; build the crate first"))
}

/// How a test program links the library.
#[derive(Clone, Copy)]
enum Link {
    /// `libkiln_c_api.a`, as the README shows.
    Static,
    /// `libkiln_c_api.so`, found at run time through the program's rpath.
    Shared,
}

/// Why C programs cannot be built here, if they cannot: checked once by
/// compiling an empty `main` for the host.
fn unavailable() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| {
            let dir = out_dir();
            let probe = dir.join("probe.c");
            if let Err(e) = std::fs::write(&probe, "int main(void) { return 0; }\n") {
                return Some(format!("cannot write {}: {e}", probe.display()));
            }
            match Command::new(clang())
                .arg("-o")
                .arg(dir.join("probe"))
                .arg(&probe)
                .output()
            {
                Ok(o) if o.status.success() => None,
                Ok(o) => Some(format!(
                    "`{}` cannot build a program: {}",
                    clang(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Some(format!("`{}` cannot be run: {e}", clang())),
            }
        })
        .as_deref()
}

/// Whether the programs can be built; if not, says why (and fails in CI).
fn available() -> bool {
    let Some(reason) = unavailable() else {
        return true;
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI must build the C API test programs, but {reason}");
    }
    eprintln!("skipping: {reason} (install clang)");
    false
}

/// Builds `tests/c/{name}.c` linked statically, runs it on
/// `tests/c/{name}.wat`'s module, and checks its exit status and its output
/// against `tests/c/{name}.out`.
fn run(name: &str, status: i32) {
    run_linked(name, status, Link::Static);
}

/// `hello.c` linked with the shared library, which must export what
/// `wasm.h` declares just as the static one does.
#[test]
fn hello_shared() {
    run_linked("hello", 0, Link::Shared);
}

/// [`run`], linking the library as `link` says.
fn run_linked(name: &str, status: i32, link: Link) {
    if !available() {
        return;
    }
    let src = manifest().join("tests/c");
    let dir = out_dir();
    let wat = std::fs::read(src.join(format!("{name}.wat"))).expect("read the .wat file");
    let wasm = dir.join(format!("{name}.wasm"));
    std::fs::write(&wasm, kiln::wat2wasm(&wat).expect("encode the .wat file"))
        .expect("write the .wasm file");
    let exe = dir.join(match link {
        Link::Static => name.to_owned(),
        Link::Shared => format!("{name}-shared"),
    });
    let mut lib_args = Vec::new();
    match link {
        Link::Static => lib_args.push(library("libkiln_c_api.a").into_os_string()),
        Link::Shared => {
            let so = library("libkiln_c_api.so");
            let rpath = so
                .parent()
                .expect("the library's directory")
                .display()
                .to_string();
            lib_args.push(so.into_os_string());
            lib_args.push(format!("-Wl,-rpath,{rpath}").into());
        }
    }
    let out = Command::new(clang())
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
        .arg(manifest().join("include"))
        .arg("-o")
        .arg(&exe)
        .arg(src.join(format!("{name}.c")))
        .args(&lib_args)
        .args([
            "-lpthread",
            "-ldl",
            "-lm",
            "-Wl,--gc-sections,--strip-debug",
        ])
        .output()
        .expect("run clang");
    assert!(
        out.status.success(),
        "clang failed on {name}.c:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe)
        .arg(&wasm)
        .current_dir(&dir)
        .output()
        .expect("run the program");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected =
        std::fs::read_to_string(src.join(format!("{name}.out"))).expect("read the .out file");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        expected.lines().collect::<Vec<_>>(),
        "{name}: standard output differs (stderr:\n{stderr})"
    );
    assert_eq!(
        out.status.code(),
        Some(status),
        "{name}: exit status (stderr:\n{stderr})"
    );
    // Each program is some 10 MB; keep only those of failed tests.
    let _ = std::fs::remove_file(&exe);
}

/// One `#[test]` per C program: `c_programs!(name = status, ...)` expands
/// to `#[test] fn name() { run("name", status) }` for each.
macro_rules! c_programs {
    ($($name:ident = $status:expr),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name), $status);
            }
        )*
    };
}

c_programs! {
    hello = 0,
    callback = 0,
    global = 0,
    memory = 0,
    table = 0,
    trap = 0,
    multi = 0,
    reflect = 0,
    start = 0,
    fuel = 0,
    epoch = 0,
    wasi = 0,
    hostref = 0,
    null_args = 0,
    serialize = 0,
}
