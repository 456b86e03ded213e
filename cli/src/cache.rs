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
//!
//! The cache is bounded: after `kiln run` writes an entry, it removes the
//! least recently used entries (a hit marks an entry used by setting its
//! modification time) until the entries take at most `$KILN_CACHE_MAX_SIZE`
//! bytes ([`DEFAULT_MAX_BYTES`] when unset; `K`, `M` and `G` suffixes are
//! powers of 1024), and the temporary files an interrupted write left behind
//! more than an hour ago. The entry just written is always kept. Entries of an
//! earlier Kiln or of other settings are never hit again, so they age out.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The cache's size bound when `$KILN_CACHE_MAX_SIZE` does not set one.
pub(crate) const DEFAULT_MAX_BYTES: u64 = 1 << 30;

/// How old a temporary file must be to count as left behind by a write that
/// never finished (a write in progress in another process is younger).
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// The file name extension of cache entries.
const EXTENSION: &str = "kilnc";

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
    Some(dir()?.join(format!("{name}.{EXTENSION}")))
}

/// The module `bytes` (a binary or text module, or an artifact of `kiln
/// compile`) for `engine`; `cache` says whether a module may come from, and
/// go to, the cache (the JIT's and the tiered strategy's modules only; a
/// tiered module goes to it through [`TieredSave`]).
///
/// # Errors
///
/// As `kiln::Module::new`, or `kiln::Module::deserialize` for an artifact.
pub(crate) fn module(
    engine: &kiln::Engine,
    bytes: &[u8],
    cache: bool,
    tiered: bool,
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
        touch(path);
        return Ok(module);
    }
    let module = kiln::Module::new(engine, bytes)?;
    // A tiered module's native code comes later, if at all during the run:
    // `TieredSave` saves it then.
    if !tiered && let Some(path) = &entry {
        save(path, &module);
    }
    Ok(module)
}

fn save(path: &Path, module: &kiln::Module) {
    if let Ok(saved) = module.serialize()
        && store(path, &saved).is_ok()
    {
        prune(path, max_bytes());
    }
}

/// Under the tiered strategy, saves a module compiled for this run into the
/// cache when dropped (at the end of the run) if its background compile has
/// finished by then, so that the next run starts on native code; a run that
/// ended sooner saves nothing and is not kept waiting.
pub(crate) struct TieredSave {
    path: PathBuf,
    module: kiln::Module,
}

impl TieredSave {
    /// The save for `module`, made from `bytes` by `engine`, if the cache is
    /// used (`cache`), the engine is tiered (`tiered`) and the module was not
    /// loaded from the cache or an artifact (it would have native code
    /// already).
    pub(crate) fn new(
        engine: &kiln::Engine,
        bytes: &[u8],
        module: &kiln::Module,
        cache: bool,
        tiered: bool,
    ) -> Option<TieredSave> {
        if !cache || !tiered || kiln::artifact::is_artifact(bytes) || module.native_ready() {
            return None;
        }
        Some(TieredSave {
            path: entry(engine, bytes)?,
            module: module.clone(),
        })
    }
}

impl Drop for TieredSave {
    fn drop(&mut self) {
        if self.module.native_ready() {
            save(&self.path, &self.module);
        }
    }
}

/// Marks the entry at `path` used now (its modification time), for
/// [`prune`]; a failure only makes it look older.
fn touch(path: &Path) {
    if let Ok(file) = fs::File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// The cache's size bound: `$KILN_CACHE_MAX_SIZE` (bytes, or with a `K`,
/// `M` or `G` suffix), else [`DEFAULT_MAX_BYTES`]; a value that does not
/// parse counts as unset.
pub(crate) fn max_bytes() -> u64 {
    std::env::var("KILN_CACHE_MAX_SIZE")
        .ok()
        .and_then(|v| parse_size(&v))
        .unwrap_or(DEFAULT_MAX_BYTES)
}

/// `text` as a size: digits, then optionally `K`, `M` or `G` (powers of 1024,
/// either case, an optional `B` or `iB` after it).
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_uppercase();
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        _ => return None,
    };
    number.checked_mul(1 << shift)
}

/// Bounds the cache holding `kept` (the entry just written, never removed):
/// removes temporary files older than [`STALE_TEMPORARY`], then the least
/// recently used entries until the entries take at most `max` bytes. Files
/// that are neither entries nor temporary files are left alone; errors only
/// leave a file in place.
fn prune(kept: &Path, max: u64) {
    let Some(dir) = kept.parent() else {
        return;
    };
    let Ok(list) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut entries: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    let mut total = 0u64;
    for item in list.flatten() {
        let path = item.path();
        let Ok(meta) = item.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(now);
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(".tmp") {
            if now
                .duration_since(modified)
                .is_ok_and(|age| age > STALE_TEMPORARY)
            {
                let _ = fs::remove_file(&path);
            }
        } else if path.extension().is_some_and(|e| e == EXTENSION) {
            total = total.saturating_add(meta.len());
            if path != kept {
                entries.push((modified, meta.len(), path));
            }
        }
    }
    entries.sort();
    for (_, len, path) in entries {
        if total <= max {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("64K"), Some(64 << 10));
        assert_eq!(parse_size("512 MiB"), Some(512 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("1MB"), Some(1 << 20));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("12T"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }
}
