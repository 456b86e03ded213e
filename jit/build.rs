//! Names the source the JIT's code comes from, for saved compiled modules
//! (`src/artifact.rs`): `KILN_CODE_SOURCE` is a hash of every file that
//! decides what code the JIT emits and what that code assumes at run time:
//! this crate's sources, the runtime's (the layouts and libcalls the code
//! calls into), the parser's and the validator's (the IR it translates), and
//! the lock file (Cranelift's exact version), and the embedding API's
//! container format (`src/artifact.rs` of the `kiln` crate). A build from changed sources
//! has another hash, so a module saved by the old build is refused and
//! compiled again instead of running code the new build would not emit.
//! Where a directory is missing (a packaged crate), what exists is hashed.

use std::hash::{DefaultHasher, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let inputs = [
        manifest.join("src"),
        manifest.join("Cargo.toml"),
        manifest.join("../runtime/src"),
        manifest.join("../parser/src"),
        manifest.join("../validator/src"),
        manifest.join("../src/artifact.rs"),
        manifest.join("../Cargo.lock"),
    ];
    let mut files = Vec::new();
    for input in &inputs {
        println!("cargo::rerun-if-changed={}", input.display());
        collect(input, &mut files);
    }
    files.sort();
    // `DefaultHasher::new` has fixed keys: the same bytes give the same hash
    // in every build with this compiler.
    let mut hash = DefaultHasher::new();
    for file in &files {
        let relative = file.strip_prefix(&manifest).unwrap_or(file);
        hash.write(relative.to_string_lossy().as_bytes());
        hash.write(&std::fs::read(file).unwrap_or_default());
    }
    println!("cargo::rustc-env=KILN_CODE_SOURCE={:016x}", hash.finish());
}

/// Every file at or below `path`.
fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_file() {
        files.push(path.to_path_buf());
    } else if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            collect(&entry.path(), files);
        }
    }
}
