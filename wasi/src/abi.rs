//! The preview1 ABI: error numbers, flags, rights and the byte layouts of the
//! records the host writes into guest memory, as `wasi_snapshot_preview1`
//! (the witx definitions) specifies them.

use std::io;

/// A WASI error number (`errno`), returned to the guest as an `i32`.
///
/// Only the numbers Kiln produces are listed; the values are the spec's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Errno {
    /// Argument list too long.
    TooBig = 1,
    /// Permission denied.
    Access = 2,
    /// Resource unavailable, or operation would block.
    Again = 6,
    /// Bad file descriptor.
    BadF = 8,
    /// Device or resource busy.
    Busy = 10,
    /// Resource deadlock would occur.
    DeadLk = 16,
    /// Disk quota exceeded.
    DQuot = 19,
    /// File exists.
    Exist = 20,
    /// Bad address: a guest pointer or length leaves linear memory.
    Fault = 21,
    /// File too large.
    FBig = 22,
    /// Illegal byte sequence.
    IlSeq = 25,
    /// Interrupted function.
    Intr = 27,
    /// Invalid argument.
    Inval = 28,
    /// I/O error.
    Io = 29,
    /// Is a directory.
    IsDir = 31,
    /// Too many levels of symbolic links.
    Loop = 32,
    /// File descriptor value too large.
    MFile = 33,
    /// Too many links.
    MLink = 34,
    /// Filename too long.
    NameTooLong = 37,
    /// Too many files open in system.
    NFile = 41,
    /// No such device.
    NoDev = 43,
    /// No such file or directory.
    NoEnt = 44,
    /// Not enough space.
    NoMem = 48,
    /// No space left on device.
    NoSpc = 51,
    /// Function not supported.
    NoSys = 52,
    /// Not a directory or a symbolic link to a directory.
    NotDir = 54,
    /// Directory not empty.
    NotEmpty = 55,
    /// Not supported.
    NotSup = 58,
    /// Inappropriate I/O control operation.
    NoTty = 59,
    /// No such device or address.
    NxIo = 60,
    /// Value too large to be stored in data type.
    Overflow = 61,
    /// Operation not permitted.
    Perm = 63,
    /// Broken pipe.
    Pipe = 64,
    /// Read-only file system.
    RoFs = 69,
    /// Invalid seek.
    SPipe = 70,
    /// Stale file handle.
    Stale = 72,
    /// Connection timed out.
    TimedOut = 73,
    /// Text file busy.
    TxtBsy = 74,
    /// Cross-device link.
    XDev = 75,
    /// Capabilities insufficient: the path leaves the directory it was
    /// resolved in, or a right is missing.
    NotCapable = 76,
}

impl Errno {
    /// The number the guest receives.
    pub fn raw(self) -> u16 {
        self as u16
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        from_io_error(&e)
    }
}

/// The WASI error for a host I/O error: by the host's errno when it has
/// one (exact), otherwise by the error's kind.
///
/// A `PermissionDenied` without an errno is cap-std's refusal of a path that
/// leads out of its directory handle (an absolute path, a `..` too many, a
/// symlink out; see `sandbox.rs`): [`Errno::NotCapable`]. A host's own
/// refusal always carries its errno (`EACCES`, `EPERM`).
pub fn from_io_error(e: &io::Error) -> Errno {
    if let Some(errno) = e.raw_os_error().and_then(from_host_errno) {
        return errno;
    }
    use io::ErrorKind as K;
    match e.kind() {
        K::NotFound => Errno::NoEnt,
        K::PermissionDenied if e.raw_os_error().is_none() => Errno::NotCapable,
        K::PermissionDenied => Errno::Access,
        K::AlreadyExists => Errno::Exist,
        K::WouldBlock => Errno::Again,
        K::InvalidInput | K::InvalidData => Errno::Inval,
        K::Interrupted => Errno::Intr,
        K::Unsupported => Errno::NotSup,
        K::OutOfMemory => Errno::NoMem,
        K::BrokenPipe => Errno::Pipe,
        K::TimedOut => Errno::TimedOut,
        K::NotADirectory => Errno::NotDir,
        K::IsADirectory => Errno::IsDir,
        K::DirectoryNotEmpty => Errno::NotEmpty,
        K::ReadOnlyFilesystem => Errno::RoFs,
        K::StorageFull => Errno::NoSpc,
        K::NotSeekable => Errno::SPipe,
        K::FileTooLarge => Errno::FBig,
        K::ResourceBusy => Errno::Busy,
        K::CrossesDevices => Errno::XDev,
        K::TooManyLinks => Errno::MLink,
        K::InvalidFilename => Errno::NameTooLong,
        K::ArgumentListTooLong => Errno::TooBig,
        _ => Errno::Io,
    }
}

/// The WASI error for a host `errno`, for the numbers with a WASI twin.
fn from_host_errno(code: i32) -> Option<Errno> {
    Some(match code {
        libc::E2BIG => Errno::TooBig,
        libc::EACCES => Errno::Access,
        libc::EAGAIN => Errno::Again,
        libc::EBADF => Errno::BadF,
        libc::EBUSY => Errno::Busy,
        libc::EDEADLK => Errno::DeadLk,
        libc::EDQUOT => Errno::DQuot,
        libc::EEXIST => Errno::Exist,
        libc::EFAULT => Errno::Fault,
        libc::EFBIG => Errno::FBig,
        libc::EILSEQ => Errno::IlSeq,
        libc::EINTR => Errno::Intr,
        libc::EINVAL => Errno::Inval,
        libc::EIO => Errno::Io,
        libc::EISDIR => Errno::IsDir,
        libc::ELOOP => Errno::Loop,
        libc::EMFILE => Errno::MFile,
        libc::EMLINK => Errno::MLink,
        libc::ENAMETOOLONG => Errno::NameTooLong,
        libc::ENFILE => Errno::NFile,
        libc::ENODEV => Errno::NoDev,
        libc::ENOENT => Errno::NoEnt,
        libc::ENOMEM => Errno::NoMem,
        libc::ENOSPC => Errno::NoSpc,
        libc::ENOSYS => Errno::NoSys,
        libc::ENOTDIR => Errno::NotDir,
        libc::ENOTEMPTY => Errno::NotEmpty,
        libc::ENOTSUP => Errno::NotSup,
        libc::ENOTTY => Errno::NoTty,
        libc::ENXIO => Errno::NxIo,
        libc::EOVERFLOW => Errno::Overflow,
        libc::EPERM => Errno::Perm,
        libc::EPIPE => Errno::Pipe,
        libc::EROFS => Errno::RoFs,
        libc::ESPIPE => Errno::SPipe,
        libc::ESTALE => Errno::Stale,
        libc::ETIMEDOUT => Errno::TimedOut,
        libc::ETXTBSY => Errno::TxtBsy,
        libc::EXDEV => Errno::XDev,
        _ => return None,
    })
}

/// `filetype`: what a descriptor or directory entry refers to.
pub mod filetype {
    pub const UNKNOWN: u8 = 0;
    pub const BLOCK_DEVICE: u8 = 1;
    pub const CHARACTER_DEVICE: u8 = 2;
    pub const DIRECTORY: u8 = 3;
    pub const REGULAR_FILE: u8 = 4;
    pub const SOCKET_STREAM: u8 = 6;
    pub const SYMBOLIC_LINK: u8 = 7;
}

/// `fdflags`: how a descriptor reads and writes.
pub mod fdflags {
    pub const APPEND: u16 = 1 << 0;
    pub const DSYNC: u16 = 1 << 1;
    pub const NONBLOCK: u16 = 1 << 2;
    pub const RSYNC: u16 = 1 << 3;
    pub const SYNC: u16 = 1 << 4;
    pub const ALL: u16 = APPEND | DSYNC | NONBLOCK | RSYNC | SYNC;
}

/// `oflags`: how `path_open` creates or opens.
pub mod oflags {
    pub const CREAT: u16 = 1 << 0;
    pub const DIRECTORY: u16 = 1 << 1;
    pub const EXCL: u16 = 1 << 2;
    pub const TRUNC: u16 = 1 << 3;
}

/// `lookupflags`: whether the last path component's symlink is followed.
pub mod lookupflags {
    pub const SYMLINK_FOLLOW: u32 = 1 << 0;
}

/// `fstflags`: which timestamps `*_filestat_set_times` sets.
pub mod fstflags {
    pub const ATIM: u16 = 1 << 0;
    pub const ATIM_NOW: u16 = 1 << 1;
    pub const MTIM: u16 = 1 << 2;
    pub const MTIM_NOW: u16 = 1 << 3;
}

/// `clockid`.
pub mod clockid {
    pub const REALTIME: u32 = 0;
    pub const MONOTONIC: u32 = 1;
    pub const PROCESS_CPUTIME_ID: u32 = 2;
    pub const THREAD_CPUTIME_ID: u32 = 3;
}

/// `whence` for `fd_seek`.
pub mod whence {
    pub const SET: u8 = 0;
    pub const CUR: u8 = 1;
    pub const END: u8 = 2;
}

/// `rights`: what a descriptor may be used for. Kiln reports them (wasi-libc
/// derives a new descriptor's rights from its directory's inheriting rights)
/// and lets the guest drop them; the host's own open mode enforces reading
/// and writing.
pub mod rights {
    pub const FD_DATASYNC: u64 = 1 << 0;
    pub const FD_READ: u64 = 1 << 1;
    pub const FD_SEEK: u64 = 1 << 2;
    pub const FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
    pub const FD_WRITE: u64 = 1 << 6;
    pub const FD_ADVISE: u64 = 1 << 7;
    pub const FD_ALLOCATE: u64 = 1 << 8;
    pub const FD_FILESTAT_GET: u64 = 1 << 21;
    pub const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
    pub const POLL_FD_READWRITE: u64 = 1 << 27;
    /// Every right preview1 defines (bits 0 to 29).
    pub const ALL: u64 = (1 << 30) - 1;
    /// The rights of a directory: everything but the file-only ones.
    pub const DIRECTORY: u64 = ALL
        & !(FD_DATASYNC
            | FD_READ
            | FD_SEEK
            | FD_WRITE
            | FD_ADVISE
            | FD_ALLOCATE
            | FD_FILESTAT_SET_SIZE);
    /// The rights of a stream (stdin, stdout, stderr): no seeking, so that
    /// wasi-libc's `isatty` can tell a terminal from a file.
    pub const STREAM: u64 =
        FD_READ | FD_WRITE | FD_FDSTAT_SET_FLAGS | FD_FILESTAT_GET | POLL_FD_READWRITE;
}

/// Byte layouts of the records written into guest memory.
pub mod layout {
    /// `iovec` / `ciovec`: `{ buf: u32, buf_len: u32 }`.
    pub const IOVEC_SIZE: u32 = 8;
    /// `fdstat`: `{ fs_filetype: u8 @0, fs_flags: u16 @2, fs_rights_base: u64 @8,
    /// fs_rights_inheriting: u64 @16 }`.
    pub const FDSTAT_SIZE: u32 = 24;
    /// `filestat`: `{ dev @0, ino @8, filetype: u8 @16, nlink @24, size @32,
    /// atim @40, mtim @48, ctim @56 }`, every field but `filetype` a u64.
    pub const FILESTAT_SIZE: u32 = 64;
    /// `prestat`: `{ tag: u8 @0, pr_name_len: u32 @4 }`.
    pub const PRESTAT_SIZE: u32 = 8;
    /// `dirent`: `{ d_next: u64 @0, d_ino: u64 @8, d_namlen: u32 @16, d_type: u8 @20 }`,
    /// followed by the name (not NUL-terminated).
    pub const DIRENT_SIZE: usize = 24;
    /// `subscription`: `{ userdata: u64 @0, tag: u8 @8, union @16 }`; for a clock,
    /// `{ id: u32 @16, timeout: u64 @24, precision: u64 @32, flags: u16 @40 }`;
    /// for `fd_read`/`fd_write`, `{ fd: u32 @16 }`.
    pub const SUBSCRIPTION_SIZE: u32 = 48;
    /// `event`: `{ userdata: u64 @0, error: u16 @8, type: u8 @10,
    /// fd_readwrite: { nbytes: u64 @16, flags: u16 @24 } }`.
    pub const EVENT_SIZE: u32 = 32;
}

/// `eventtype`: what a subscription waits for.
pub mod eventtype {
    pub const CLOCK: u8 = 0;
    pub const FD_READ: u8 = 1;
    pub const FD_WRITE: u8 = 2;
}

/// `subclockflags`.
pub mod subclockflags {
    pub const ABSTIME: u16 = 1 << 0;
}
