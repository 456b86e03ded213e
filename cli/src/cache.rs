//! How `kiln run` gets a compiled module: loaded from an artifact that
//! `kiln compile` wrote, loaded from the on-disk cache, or compiled (and
//! then saved in the cache).
//!
//! The cache is a directory of artifacts (`kiln::Module::serialize`), one
//! file per module and engine, named by the SHA-256 of the engine's
//! compatibility key (Kiln's version and code format, the processor's
//! features and code generator settings, the compile options and the
//! features) and the module's bytes. It lives in `$KILN_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/kiln`, else `$HOME/.cache/kiln`. An entry that fails to
//! load for any reason (truncated, corrupted, another version or processor)
//! is never run: the module is compiled again and the entry replaced. Entries
//! are written to a temporary file and renamed into place, so a reader never
//! sees half of one. A cache that cannot be read or written is skipped
//! silently: it only ever saves time.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The cache directory, if the environment names one.
pub(crate) fn dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = var("KILN_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("kiln"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".cache").join("kiln"))
}

/// Where `bytes` compiled by `engine` is cached, if anywhere.
fn entry(engine: &kiln::Engine, bytes: &[u8]) -> Option<PathBuf> {
    let key = engine.compatibility_key().ok()?;
    let mut hash = Sha256::new();
    hash.update((key.len() as u64).to_le_bytes());
    hash.update(key.as_bytes());
    hash.update(bytes);
    let name: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Some(dir()?.join(format!("{name}.kilnc")))
}

/// The module `bytes` (a binary or text module, or an artifact of `kiln
/// compile`) for `engine`; `cache` says whether a module may come from, and
/// go to, the cache (the JIT's modules only).
///
/// # Errors
///
/// As `kiln::Module::new`, or `kiln::Module::deserialize` for an artifact.
pub(crate) fn module(
    engine: &kiln::Engine,
    bytes: &[u8],
    cache: bool,
) -> Result<kiln::Module, kiln::Error> {
    if kiln::artifact::is_artifact(bytes) {
        // SAFETY: the user named this artifact to run, as they would name an
        // executable; `kiln run`'s help says an artifact's code runs as it is.
        return unsafe { kiln::Module::deserialize(engine, bytes) };
    }
    let entry = if cache { entry(engine, bytes) } else { None };
    if let Some(path) = &entry
        && let Ok(saved) = fs::read(path)
        // SAFETY: the cache directory is the user's own, written only by
        // `kiln run`; a damaged or foreign entry is refused by the checks
        // `deserialize` makes and then replaced below.
        && let Ok(module) = unsafe { kiln::Module::deserialize(engine, &saved) }
    {
        return Ok(module);
    }
    let module = kiln::Module::new(engine, bytes)?;
    if let Some(path) = &entry
        && let Ok(saved) = module.serialize()
    {
        let _ = store(path, &saved);
    }
    Ok(module)
}

/// Writes a cache entry: a temporary file in the same directory, renamed over
/// the entry.
fn store(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}
