//! The descriptor table: what each guest file descriptor stands for.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::Arc;

use cap_std::fs::Dir;

use super::abi::Errno;

/// How many descriptors a guest may hold at once, so that a guest cannot
/// grow the table (and the host descriptors it holds) without bound.
pub(crate) const MAX_FDS: usize = 4096;

/// A guest file descriptor.
#[derive(Debug)]
pub(crate) struct Descriptor {
    /// What it refers to.
    pub kind: Kind,
    /// The rights the guest holds on it (reported by `fd_fdstat_get`).
    pub rights_base: u64,
    /// The rights descriptors opened through it may have.
    pub rights_inheriting: u64,
    /// The `fdflags` it was opened or last set with.
    pub flags: u16,
}

/// What a descriptor refers to.
pub(crate) enum Kind {
    /// A byte source (standard input).
    Input(Input),
    /// A byte sink (standard output or error).
    Output(Output),
    /// An open host file.
    File(FileDesc),
    /// A directory inside a preopened directory.
    Dir(DirDesc),
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Input(i) => write!(f, "Input {{ tty: {} }}", i.tty),
            Kind::Output(o) => write!(f, "Output {{ tty: {} }}", o.tty),
            Kind::File(file) => f.debug_tuple("File").field(&file.file).finish(),
            Kind::Dir(d) => f.debug_tuple("Dir").field(&d.dir).finish(),
        }
    }
}

/// A stream the guest reads.
pub(crate) struct Input {
    pub reader: Box<dyn Read + Send>,
    /// Whether it is the host's terminal (reported as a character device).
    pub tty: bool,
}

/// A stream the guest writes.
pub(crate) struct Output {
    pub writer: Box<dyn Write + Send>,
    /// Whether it is the host's terminal (reported as a character device).
    pub tty: bool,
}

/// An open regular file (or other non-directory host file).
#[derive(Debug)]
pub(crate) struct FileDesc {
    pub file: File,
    /// Whether the host file was opened with `O_APPEND`; if the guest asks
    /// for append later, Kiln seeks to the end before each write instead.
    pub os_append: bool,
}

/// A directory capability: an open host directory that every path the guest
/// gives with this descriptor is resolved beneath (see `sandbox.rs`).
#[derive(Debug, Clone)]
pub(crate) struct DirDesc {
    /// The host directory, opened beneath `root` (or `root` itself). It is a
    /// handle, not a path: it keeps naming the same directory if that moves.
    pub dir: Arc<Dir>,
    /// The preopened directory it descends from, for checking that the
    /// symlinks the guest makes stay inside it.
    pub root: Arc<Dir>,
    /// The guest's name for it, if it is a preopen (`fd_prestat_get`).
    pub preopen: Option<String>,
    /// The entries `fd_readdir` listed when last called with cookie 0.
    pub listing: Option<Arc<Vec<DirEntry>>>,
}

/// One `fd_readdir` entry.
#[derive(Debug)]
pub(crate) struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// Its `filetype`.
    pub ty: u8,
}

/// Descriptors by number; a closed one leaves a hole that is reused.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    entries: Vec<Option<Descriptor>>,
}

impl FdTable {
    /// The descriptor `fd`.
    pub(crate) fn get(&self, fd: u32) -> Result<&Descriptor, Errno> {
        self.entries
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::BadF)
    }

    /// The descriptor `fd`, mutably.
    pub(crate) fn get_mut(&mut self, fd: u32) -> Result<&mut Descriptor, Errno> {
        self.entries
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::BadF)
    }

    /// The directory `fd`: [`Errno::NotDir`] if it is open but not a directory.
    pub(crate) fn dir(&self, fd: u32) -> Result<&DirDesc, Errno> {
        match &self.get(fd)?.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::NotDir),
        }
    }

    /// Adds `d` under the lowest free number.
    pub(crate) fn insert(&mut self, d: Descriptor) -> Result<u32, Errno> {
        let fd = match self.entries.iter().position(Option::is_none) {
            Some(free) => free,
            None if self.entries.len() < MAX_FDS => {
                self.entries.push(None);
                self.entries.len() - 1
            }
            None => return Err(Errno::MFile),
        };
        self.entries[fd] = Some(d);
        u32::try_from(fd).map_err(|_| Errno::MFile)
    }

    /// Closes `fd`, returning what it was.
    pub(crate) fn remove(&mut self, fd: u32) -> Result<Descriptor, Errno> {
        let d = self
            .entries
            .get_mut(fd as usize)
            .and_then(Option::take)
            .ok_or(Errno::BadF)?;
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        Ok(d)
    }

    /// Moves `from` to `to`, closing what `to` was. Both must be open.
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(to)?;
        if from == to {
            return self.get(from).map(drop);
        }
        let d = self.remove(from)?;
        // `to` is open, so it is still inside the table after the removal.
        let slot = self.entries.get_mut(to as usize).ok_or(Errno::BadF)?;
        *slot = Some(d);
        Ok(())
    }

    /// Flushes every output stream (before the program exits).
    pub(crate) fn flush_outputs(&mut self) {
        for d in self.entries.iter_mut().flatten() {
            if let Kind::Output(o) = &mut d.kind {
                let _ = o.writer.flush();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory descriptor on the temporary directory, told apart by its
    /// preopen name. All share one handle, so that filling the table does
    /// not exhaust the host's descriptors.
    fn dir(name: &str) -> Descriptor {
        static TMP: std::sync::OnceLock<Arc<Dir>> = std::sync::OnceLock::new();
        let handle = Arc::clone(TMP.get_or_init(|| {
            let tmp = std::env::temp_dir();
            Arc::new(Dir::open_ambient_dir(tmp, cap_std::ambient_authority()).expect("test setup"))
        }));
        Descriptor {
            kind: Kind::Dir(DirDesc {
                dir: Arc::clone(&handle),
                root: handle,
                preopen: Some(name.to_owned()),
                listing: None,
            }),
            rights_base: 0,
            rights_inheriting: 0,
            flags: 0,
        }
    }

    fn host(t: &FdTable, fd: u32) -> Option<String> {
        t.dir(fd).ok().and_then(|d| d.preopen.clone())
    }

    #[test]
    fn lowest_free_number_is_reused() {
        let mut t = FdTable::default();
        assert_eq!(t.insert(dir("a")), Ok(0));
        assert_eq!(t.insert(dir("b")), Ok(1));
        assert_eq!(t.insert(dir("c")), Ok(2));
        assert!(t.remove(1).is_ok());
        assert_eq!(t.remove(1).map(drop), Err(Errno::BadF));
        assert_eq!(t.insert(dir("d")), Ok(1));
        assert_eq!(host(&t, 1), Some("d".to_owned()));
        assert_eq!(t.get(7).map(drop), Err(Errno::BadF));
    }

    #[test]
    fn renumber_replaces_the_target() {
        let mut t = FdTable::default();
        for name in ["a", "b", "c"] {
            t.insert(dir(name)).expect("test setup");
        }
        assert_eq!(t.renumber(2, 0), Ok(()));
        assert_eq!(host(&t, 0), Some("c".to_owned()));
        assert_eq!(t.get(2).map(drop), Err(Errno::BadF));
        assert_eq!(t.renumber(0, 5), Err(Errno::BadF));
        assert_eq!(t.renumber(5, 0), Err(Errno::BadF));
        assert_eq!(t.renumber(1, 1), Ok(()));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut t = FdTable::default();
        for _ in 0..MAX_FDS {
            t.insert(dir("x")).expect("test setup");
        }
        assert_eq!(t.insert(dir("x")), Err(Errno::MFile));
    }
}
