//! Builds the C test programs in `wasi/tests/c/` with clang for wasm32-wasi.
//!
//! Shared by `kiln-wasi`'s tests and `kiln-cli`'s `tests/wasi_cli.rs`
//! (which includes this file by path).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The compiler: `$KILN_WASI_CC`, or `clang`.
fn clang() -> String {
    std::env::var("KILN_WASI_CC").unwrap_or_else(|_| "clang".into())
}

/// The C sources, found from either package's manifest directory.
fn sources() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = manifest.join("tests/c");
    if here.is_dir() {
        here
    } else {
        manifest.join("../wasi/tests/c")
    }
}

/// Why wasm32-wasi programs cannot be built here, if they cannot: checked
/// once by compiling an empty `main`.
fn unavailable() -> Option<&'static str> {
    static REASON: OnceLock<Option<String>> = OnceLock::new();
    REASON
        .get_or_init(|| {
            let dir = out_dir();
            let probe = dir.join("probe.c");
            if let Err(e) = std::fs::write(&probe, "int main(void) { return 0; }\n") {
                return Some(format!("cannot write {}: {e}", probe.display()));
            }
            let out = Command::new(clang())
                .args(["--target=wasm32-wasi", "-O2", "-o"])
                .arg(dir.join("probe.wasm"))
                .arg(&probe)
                .output();
            match out {
                Ok(o) if o.status.success() => None,
                Ok(o) => Some(format!(
                    "`{} --target=wasm32-wasi` cannot build a program: {}",
                    clang(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Some(format!("`{}` cannot be run: {e}", clang())),
            }
        })
        .as_deref()
}

/// Whether the C programs can be built here; if not, says why (and fails
/// in CI, where `.ci/run` installs the compiler, so tests never skip there).
fn available() -> bool {
    let Some(reason) = unavailable() else {
        return true;
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI must build the C test programs, but {reason}");
    }
    eprintln!("skipping: {reason} (install clang, lld, wasi-libc and libclang-rt-dev-wasm32)");
    false
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasi-c");
    std::fs::create_dir_all(&dir).expect("create the output directory");
    dir
}

/// Compiles `tests/c/{name}.c` with
/// `clang --target=wasm32-wasi -O2 -Wall` and returns the module's path, or
/// `None` (after printing why) when clang cannot build wasm32-wasi programs
/// on this machine. In CI (`CI=true`) a missing compiler is a failure:
/// `.ci/run` installs it, so the tests never skip there.
pub fn wasm(name: &str) -> Option<PathBuf> {
    wasm_with(name, "", &["-O2"])
}

/// Compiles `tests/c/{name}.c` like [`wasm`], with `flags` instead of `-O2`
/// (`-O3 -msimd128`, say), into `{name}{suffix}.wasm`.
pub fn wasm_with(name: &str, suffix: &str, flags: &[&str]) -> Option<PathBuf> {
    if !available() {
        return None;
    }
    let dir = out_dir();
    let out = dir.join(format!("{name}{suffix}.wasm"));
    // Each process writes its own file and renames it into place, so tests
    // compiling the same program at once never read a half-written module.
    let tmp = dir.join(format!(
        "{name}.{}.{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    let status = Command::new(clang())
        .arg("--target=wasm32-wasi")
        .args(flags)
        .args(["-Wall", "-o"])
        .arg(&tmp)
        .arg(sources().join(format!("{name}.c")))
        .status()
        .expect("run clang");
    assert!(status.success(), "clang failed on {name}.c");
    std::fs::rename(&tmp, &out).expect("move the module into place");
    Some(out)
}

/// What `tests/c/{name}.c`, built for this machine with `-O2` and run,
/// prints on standard output: the reference a WebAssembly build of the same
/// program must match. `None` (after printing why) as for [`wasm`].
pub fn native_output(name: &str) -> Option<String> {
    if !available() {
        return None;
    }
    let dir = out_dir();
    let exe = dir.join(format!(
        "{name}-native.{}.{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let status = Command::new(clang())
        .args(["-O2", "-Wall", "-o"])
        .arg(&exe)
        .arg(sources().join(format!("{name}.c")))
        .arg("-lm")
        .status()
        .expect("run clang");
    assert!(
        status.success(),
        "clang failed to build {name}.c for this machine"
    );
    let out = Command::new(&exe).output().expect("run the native program");
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success(), "the native {name} failed");
    Some(String::from_utf8(out.stdout).expect("UTF-8 output"))
}

/// A scratch directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("wasi-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The tree `escape.c` expects: `secret` beside the granted `box/`, which
/// holds `inside.txt`, `sub/`, and symlinks leading out (`link_out`, a
/// `chain1 -> chain2 -> sub/../../secret` chain, `abs_link -> /etc`).
/// Returns the directory to grant.
pub fn escape_tree(root: &Path) -> PathBuf {
    use std::os::unix::fs::symlink;
    let b = root.join("box");
    std::fs::create_dir_all(b.join("sub")).expect("mkdir");
    std::fs::write(root.join("secret"), "the secret\n").expect("write secret");
    std::fs::write(b.join("inside.txt"), "inside\n").expect("write inside.txt");
    symlink("../secret", b.join("link_out")).expect("symlink");
    symlink("chain2", b.join("chain1")).expect("symlink");
    symlink("sub/../../secret", b.join("chain2")).expect("symlink");
    symlink("/etc", b.join("abs_link")).expect("symlink");
    b
}
