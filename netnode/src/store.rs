//! The content-addressed module store.
//!
//! A module's id is the SHA-256 of its binary bytes, written as 64 lowercase
//! hex digits. Each module is one file, `modules/<id>.wasm`, in the node's
//! data directory. The invariants:
//!
//! - **Atomic writes.** Bytes go to a temporary file in the same directory,
//!   are fsynced, then renamed over the final name, and the directory is
//!   fsynced. A crash leaves either no `<id>.wasm` or a complete one; leftover
//!   temporary files are deleted when the store is opened.
//! - **Verified reads.** Every read hashes the bytes and compares them with
//!   the id. A file that does not match (disk corruption, a hand edit) is
//!   moved aside to `<id>.corrupt` and reported as an error; it is never
//!   served.
//! - **Checked before stored.** [`ModuleStore::insert`] takes the check the
//!   caller wants (the node validates the module with Kiln) and runs it
//!   before anything touches the disk; an id is acknowledged only after the
//!   rename and the directory sync.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::reject::RejectReason;

/// The SHA-256 of a module's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId([u8; 32]);

impl ModuleId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> ModuleId {
        ModuleId(Sha256::digest(bytes).into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModuleId({self})")
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a module id is 64 hex digits (a SHA-256)")]
pub struct BadModuleId;

impl FromStr for ModuleId {
    type Err = BadModuleId;

    fn from_str(s: &str) -> Result<ModuleId, BadModuleId> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return Err(BadModuleId);
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks_exact(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or(BadModuleId)?;
            let lo = hex_digit(pair[1]).ok_or(BadModuleId)?;
            out[i] = hi << 4 | lo;
        }
        Ok(ModuleId(out))
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The bytes written as hex digits (either case), two per byte; `None` if
/// `s` is anything else. The inverse of [`hex`].
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks_exact(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect()
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Why the store refused or could not serve a module.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The module is larger than the store's cap.
    #[error("module of {size} bytes is larger than the cap of {max} bytes")]
    TooLarge {
        /// The module's size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Bytes received for an id hash to another id.
    #[error("bytes do not match module id {expected} (they hash to {actual})")]
    Mismatch {
        /// The id the bytes were supposed to have.
        expected: ModuleId,
        /// The id they have.
        actual: ModuleId,
    },
    /// The module failed the caller's check (validation).
    #[error("module rejected: {0}")]
    Rejected(RejectReason),
    /// A stored file no longer matches its id; it was moved aside.
    #[error("stored module {0} is corrupt and was quarantined")]
    Corrupt(ModuleId),
    /// The file system failed.
    #[error("module store I/O: {0}")]
    Io(#[from] io::Error),
}

impl StoreError {
    /// Whether the store cannot take new modules because its disk is full or
    /// its directory cannot be written (read-only file system, permissions,
    /// a file size limit): the node keeps serving what it has.
    pub fn is_unwritable(&self) -> bool {
        let StoreError::Io(e) = self else {
            return false;
        };
        matches!(
            e.kind(),
            io::ErrorKind::StorageFull
                | io::ErrorKind::QuotaExceeded
                | io::ErrorKind::FileTooLarge
                | io::ErrorKind::ReadOnlyFilesystem
                | io::ErrorKind::PermissionDenied
        )
    }
}

/// Distinguishes the temporary files of concurrent writers in one process.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// The modules of one node, on disk.
#[derive(Debug)]
pub struct ModuleStore {
    /// `<data dir>/modules`.
    dir: PathBuf,
    /// Largest module accepted, in bytes.
    max_module_bytes: usize,
}

impl ModuleStore {
    /// Opens (creating if needed) the store under `data_dir`, deletes
    /// temporary files a crash left behind, and checks every stored module
    /// against its id, quarantining the ones that do not match.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the directory cannot be created or read.
    pub fn open(data_dir: &Path, max_module_bytes: usize) -> Result<ModuleStore, StoreError> {
        let dir = data_dir.join("modules");
        fs::create_dir_all(&dir)?;
        let store = ModuleStore {
            dir,
            max_module_bytes,
        };
        for entry in fs::read_dir(&store.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(".tmp-") {
                // An unfinished write: never acknowledged, so nothing is lost.
                let _ = fs::remove_file(entry.path());
            }
        }
        for id in store.list()? {
            // Reading verifies, and quarantines on mismatch.
            let _ = store.get(&id);
        }
        Ok(store)
    }

    /// The largest module the store accepts.
    pub fn max_module_bytes(&self) -> usize {
        self.max_module_bytes
    }

    fn path(&self, id: &ModuleId) -> PathBuf {
        self.dir.join(format!("{id}.wasm"))
    }

    /// Whether a module is stored (without verifying it).
    pub fn contains(&self, id: &ModuleId) -> bool {
        self.path(id).is_file()
    }

    /// Stores `bytes` after `check` accepts them, returning their id. Storing
    /// a module that is already there verifies the stored copy and rewrites it
    /// only if it is corrupt. When this returns `Ok`, the module is durable.
    ///
    /// # Errors
    ///
    /// [`StoreError::TooLarge`], [`StoreError::Rejected`] (from `check`), or
    /// [`StoreError::Io`].
    pub fn insert(
        &self,
        bytes: &[u8],
        check: impl FnOnce(&[u8]) -> Result<(), RejectReason>,
    ) -> Result<ModuleId, StoreError> {
        if bytes.len() > self.max_module_bytes {
            return Err(StoreError::TooLarge {
                size: bytes.len(),
                max: self.max_module_bytes,
            });
        }
        let id = ModuleId::of(bytes);
        check(bytes).map_err(StoreError::Rejected)?;
        if let Ok(Some(_)) = self.get(&id) {
            return Ok(id);
        }
        self.write_atomically(&id, bytes)?;
        Ok(id)
    }

    /// Stores bytes that were asked for by id: they must hash to `expected`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Mismatch`], then as [`ModuleStore::insert`].
    pub fn insert_expected(
        &self,
        expected: &ModuleId,
        bytes: &[u8],
        check: impl FnOnce(&[u8]) -> Result<(), RejectReason>,
    ) -> Result<ModuleId, StoreError> {
        if bytes.len() > self.max_module_bytes {
            return Err(StoreError::TooLarge {
                size: bytes.len(),
                max: self.max_module_bytes,
            });
        }
        let actual = ModuleId::of(bytes);
        if actual != *expected {
            return Err(StoreError::Mismatch {
                expected: *expected,
                actual,
            });
        }
        self.insert(bytes, check)
    }

    fn write_atomically(&self, id: &ModuleId, bytes: &[u8]) -> Result<(), StoreError> {
        let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".tmp-{id}-{}-{n}", std::process::id()));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            drop(file);
            fs::rename(&tmp, self.path(id))?;
            // The rename is durable only once the directory is.
            fs::File::open(&self.dir)?.sync_all()
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        Ok(result?)
    }

    /// The bytes of a module, verified against its id; `None` if absent.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] if the file does not match its id (it is then
    /// moved aside), [`StoreError::Io`] if it cannot be read.
    pub fn get(&self, id: &ModuleId) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if ModuleId::of(&bytes) != *id {
            let _ = fs::rename(&path, self.dir.join(format!("{id}.corrupt")));
            return Err(StoreError::Corrupt(*id));
        }
        Ok(Some(bytes))
    }

    /// The ids of the stored modules, sorted, with their sizes.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the directory cannot be read.
    pub fn list_with_sizes(&self) -> Result<Vec<(ModuleId, u64)>, StoreError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wasm")) else {
                continue;
            };
            if let Ok(id) = stem.parse::<ModuleId>() {
                out.push((id, entry.metadata().map(|m| m.len()).unwrap_or(0)));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The ids of the stored modules, sorted.
    ///
    /// # Errors
    ///
    /// [`StoreError::Io`] if the directory cannot be read.
    pub fn list(&self) -> Result<Vec<ModuleId>, StoreError> {
        Ok(self
            .list_with_sizes()?
            .into_iter()
            .map(|(id, _)| id)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "kiln-netnode-store-{name}-{}-{}",
            std::process::id(),
            NEXT_TMP.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn accept(_: &[u8]) -> Result<(), RejectReason> {
        Ok(())
    }

    #[test]
    fn ids_round_trip_through_hex() {
        let id = ModuleId::of(b"abc");
        assert_eq!(
            id.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(id.to_string().parse::<ModuleId>(), Ok(id));
        assert_eq!("xyz".parse::<ModuleId>(), Err(BadModuleId));
        assert_eq!("g".repeat(64).parse::<ModuleId>(), Err(BadModuleId));
        assert_eq!("é".repeat(32).parse::<ModuleId>(), Err(BadModuleId));
    }

    #[test]
    fn stores_lists_and_reads_back() -> Result<(), StoreError> {
        let dir = temp_dir("basic");
        let store = ModuleStore::open(&dir, 1024)?;
        let id = store.insert(b"module one", accept)?;
        assert_eq!(store.insert(b"module one", accept)?, id, "idempotent");
        assert_eq!(store.get(&id)?.as_deref(), Some(&b"module one"[..]));
        assert_eq!(store.list()?, vec![id]);
        assert_eq!(store.get(&ModuleId::of(b"other"))?, None);
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn refuses_oversized_mismatched_and_rejected_modules() -> Result<(), StoreError> {
        let dir = temp_dir("refuse");
        let store = ModuleStore::open(&dir, 8)?;
        assert!(matches!(
            store.insert(b"123456789", accept),
            Err(StoreError::TooLarge { size: 9, max: 8 })
        ));
        let expected = ModuleId::of(b"good");
        assert!(matches!(
            store.insert_expected(&expected, b"evil", accept),
            Err(StoreError::Mismatch { .. })
        ));
        assert!(matches!(
            store.insert(b"bad", |_| Err(RejectReason::NotBinary)),
            Err(StoreError::Rejected(_))
        ));
        assert!(store.list()?.is_empty(), "nothing refused reaches the disk");
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn a_crash_mid_write_loses_nothing_acknowledged() -> Result<(), StoreError> {
        let dir = temp_dir("crash");
        let store = ModuleStore::open(&dir, 1024)?;
        let kept = store.insert(b"acknowledged", accept)?;
        // What a writer killed before its rename leaves behind.
        let partial = ModuleId::of(b"never finished");
        fs::write(
            dir.join("modules").join(format!(".tmp-{partial}-1-0")),
            b"never",
        )?;
        drop(store);
        let store = ModuleStore::open(&dir, 1024)?;
        assert_eq!(store.list()?, vec![kept]);
        assert_eq!(store.get(&kept)?.as_deref(), Some(&b"acknowledged"[..]));
        assert_eq!(store.get(&partial)?, None);
        let leftovers = fs::read_dir(dir.join("modules"))?.count();
        assert_eq!(leftovers, 1, "the temporary file is cleaned up");
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn a_full_or_read_only_disk_is_named_as_such() {
        for kind in [
            io::ErrorKind::StorageFull,
            io::ErrorKind::QuotaExceeded,
            io::ErrorKind::FileTooLarge,
            io::ErrorKind::ReadOnlyFilesystem,
            io::ErrorKind::PermissionDenied,
        ] {
            assert!(
                StoreError::Io(io::Error::from(kind)).is_unwritable(),
                "{kind:?}"
            );
        }
        assert!(!StoreError::Io(io::Error::from(io::ErrorKind::NotFound)).is_unwritable());
        assert!(!StoreError::Corrupt(ModuleId::of(b"m")).is_unwritable());
    }

    #[test]
    fn corrupt_files_are_never_served() -> Result<(), StoreError> {
        let dir = temp_dir("corrupt");
        let store = ModuleStore::open(&dir, 1024)?;
        let id = store.insert(b"the real bytes", accept)?;
        fs::write(dir.join("modules").join(format!("{id}.wasm")), b"the real")?;
        assert!(matches!(store.get(&id), Err(StoreError::Corrupt(c)) if c == id));
        assert_eq!(store.get(&id)?, None, "quarantined");
        assert!(store.list()?.is_empty());
        // A correct copy can be stored again.
        assert_eq!(store.insert(b"the real bytes", accept)?, id);
        assert!(store.get(&id)?.is_some());
        let _ = fs::remove_dir_all(&dir);
        Ok(())
    }
}
