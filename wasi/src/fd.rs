//! `fd_*`: reading, writing, seeking and inspecting open descriptors.

use std::fs::{File, FileTimes};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, FileExt};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cap_fs_ext::OpenOptionsMaybeDirExt;
use cap_std::fs::{FileType, FileTypeExt, Metadata, MetadataExt, OpenOptions};

use super::Params;
use super::abi::layout::{DIRENT_SIZE, FDSTAT_SIZE, FILESTAT_SIZE, PRESTAT_SIZE};
use super::abi::{Errno, fdflags, filetype, fstflags, whence};
use super::ctx::{State, stream_filetype};
use super::fd_table::{DirDesc, DirEntry, Kind};
use super::memory::{GuestMemory, IoVec};
use super::sandbox;

/// Retries `op` while the host reports an interrupted call.
fn retry<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// Reads into the guest's buffers in order, `read(buf, offset)` filling one
/// at a time, and stops at the first short read (as `readv` may). An error
/// after some bytes were read reports those bytes.
fn read_vectored(
    mem: &mut GuestMemory<'_>,
    iovs: &[IoVec],
    mut read: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for iov in iovs {
        let buf = mem.slice_mut(iov.ptr, iov.len)?;
        match retry(|| read(buf, u64::from(total))) {
            Ok(n) => {
                total = total.saturating_add(n as u32);
                if n < buf.len() {
                    break;
                }
            }
            Err(_) if total > 0 => break,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total)
}

/// Writes the guest's buffers in order through `write(buf, offset)`, each
/// completely. An error after some bytes were written reports those bytes.
fn write_vectored(
    mem: &GuestMemory<'_>,
    iovs: &[IoVec],
    mut write: impl FnMut(&[u8], u64) -> io::Result<usize>,
) -> Result<u32, Errno> {
    let mut total: u32 = 0;
    for iov in iovs {
        let mut buf = mem.slice(iov.ptr, iov.len)?;
        while !buf.is_empty() {
            match retry(|| write(buf, u64::from(total))) {
                Ok(0) if total > 0 => return Ok(total),
                Ok(0) => return Err(Errno::Io),
                Ok(n) => {
                    total = total.saturating_add(n as u32);
                    buf = &buf[n..];
                }
                Err(_) if total > 0 => return Ok(total),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(total)
}

/// `fd_read(fd, iovs: ptr<iovec>, iovs_len: size) -> (errno, size)`
pub(crate) fn fd_read(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let iovs = mem.iovecs(p.u32(1)?, p.u32(2)?)?;
    // Check the result's slot first, so that no I/O happens for a call that fails.
    let result_ptr = p.u32(3)?;
    mem.slice(result_ptr, 4)?;
    let n = match &mut st.fds.get_mut(p.u32(0)?)?.kind {
        Kind::Input(i) => read_vectored(mem, &iovs, |buf, _| i.reader.read(buf))?,
        Kind::File(f) => read_vectored(mem, &iovs, |buf, _| f.file.read(buf))?,
        Kind::Output(_) => return Err(Errno::BadF),
        Kind::Dir(_) => return Err(Errno::IsDir),
    };
    mem.write_u32(result_ptr, n)
}

/// `fd_pread(fd, iovs, iovs_len, offset: filesize) -> (errno, size)`
pub(crate) fn fd_pread(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let iovs = mem.iovecs(p.u32(1)?, p.u32(2)?)?;
    // Check the result's slot first, so that no I/O happens for a call that fails.
    let result_ptr = p.u32(4)?;
    mem.slice(result_ptr, 4)?;
    let offset = p.u64(3)?;
    let n = match &st.fds.get(p.u32(0)?)?.kind {
        Kind::File(f) => read_vectored(mem, &iovs, |buf, done| {
            f.file.read_at(buf, offset.saturating_add(done))
        })?,
        Kind::Dir(_) => return Err(Errno::IsDir),
        Kind::Input(_) | Kind::Output(_) => return Err(Errno::SPipe),
    };
    mem.write_u32(result_ptr, n)
}

/// `fd_write(fd, iovs: ptr<ciovec>, iovs_len: size) -> (errno, size)`
pub(crate) fn fd_write(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let iovs = mem.iovecs(p.u32(1)?, p.u32(2)?)?;
    // Check the result's slot first, so that no I/O happens for a call that fails.
    let result_ptr = p.u32(3)?;
    mem.slice(result_ptr, 4)?;
    let d = st.fds.get_mut(p.u32(0)?)?;
    let emulate_append = d.flags & fdflags::APPEND != 0;
    let n = match &mut d.kind {
        Kind::Output(o) => {
            let n = write_vectored(mem, &iovs, |buf, _| o.writer.write(buf))?;
            o.writer.flush().map_err(Errno::from)?;
            n
        }
        Kind::File(f) => {
            if emulate_append && !f.os_append {
                f.file.seek(SeekFrom::End(0))?;
            }
            write_vectored(mem, &iovs, |buf, _| f.file.write(buf))?
        }
        Kind::Input(_) => return Err(Errno::BadF),
        Kind::Dir(_) => return Err(Errno::IsDir),
    };
    mem.write_u32(result_ptr, n)
}

/// `fd_pwrite(fd, iovs, iovs_len, offset: filesize) -> (errno, size)`
pub(crate) fn fd_pwrite(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let iovs = mem.iovecs(p.u32(1)?, p.u32(2)?)?;
    // Check the result's slot first, so that no I/O happens for a call that fails.
    let result_ptr = p.u32(4)?;
    mem.slice(result_ptr, 4)?;
    let offset = p.u64(3)?;
    let n = match &st.fds.get(p.u32(0)?)?.kind {
        Kind::File(f) => write_vectored(mem, &iovs, |buf, done| {
            f.file.write_at(buf, offset.saturating_add(done))
        })?,
        Kind::Dir(_) => return Err(Errno::IsDir),
        Kind::Input(_) | Kind::Output(_) => return Err(Errno::SPipe),
    };
    mem.write_u32(result_ptr, n)
}

/// The open file `fd`: [`Errno::IsDir`] for a directory, [`Errno::SPipe`] for a stream.
fn file(st: &mut State, fd: u32) -> Result<&mut File, Errno> {
    match &mut st.fds.get_mut(fd)?.kind {
        Kind::File(f) => Ok(&mut f.file),
        Kind::Dir(_) => Err(Errno::IsDir),
        Kind::Input(_) | Kind::Output(_) => Err(Errno::SPipe),
    }
}

/// `fd_seek(fd, offset: filedelta, whence) -> (errno, filesize)`
pub(crate) fn fd_seek(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let offset = p.i64(1)?;
    let to = match p.u32(2)? {
        w if w == u32::from(whence::SET) => {
            SeekFrom::Start(u64::try_from(offset).map_err(|_| Errno::Inval)?)
        }
        w if w == u32::from(whence::CUR) => SeekFrom::Current(offset),
        w if w == u32::from(whence::END) => SeekFrom::End(offset),
        _ => return Err(Errno::Inval),
    };
    let pos = file(st, p.u32(0)?)?.seek(to)?;
    mem.write_u64(p.u32(3)?, pos)
}

/// `fd_tell(fd) -> (errno, filesize)`
pub(crate) fn fd_tell(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let pos = file(st, p.u32(0)?)?.stream_position()?;
    mem.write_u64(p.u32(1)?, pos)
}

/// `fd_close(fd) -> errno`
pub(crate) fn fd_close(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let mut d = st.fds.remove(p.u32(0)?)?;
    if let Kind::Output(o) = &mut d.kind {
        let _ = o.writer.flush();
    }
    Ok(())
}

/// `fd_renumber(fd, to: fd) -> errno`
pub(crate) fn fd_renumber(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    st.fds.renumber(p.u32(0)?, p.u32(1)?)
}

/// Syncs `fd`: a file's data (and metadata unless `data_only`); a stream is flushed.
fn sync(st: &mut State, fd: u32, data_only: bool) -> Result<(), Errno> {
    match &mut st.fds.get_mut(fd)?.kind {
        Kind::File(f) if data_only => f.file.sync_data()?,
        Kind::File(f) => f.file.sync_all()?,
        Kind::Dir(d) => dir_file(d)?.sync_all()?,
        Kind::Output(o) => o.writer.flush()?,
        Kind::Input(_) => return Err(Errno::Inval),
    }
    Ok(())
}

/// The directory `d` opened for reading, as a file: what `fsync` and
/// `futimens` need (a directory handle may be open for lookups only).
fn dir_file(d: &DirDesc) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).maybe_dir(true);
    Ok(d.dir.open_with(".", &options)?.into_std())
}

/// `fd_sync(fd) -> errno`
pub(crate) fn fd_sync(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    sync(st, p.u32(0)?, false)
}

/// `fd_datasync(fd) -> errno`
pub(crate) fn fd_datasync(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    sync(st, p.u32(0)?, true)
}

/// `fd_advise(fd, offset, len, advice) -> errno`: checked, then ignored (advice only).
pub(crate) fn fd_advise(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    file(st, p.u32(0)?)?;
    if p.u32(3)? > 5 {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// `fd_allocate(fd, offset, len) -> errno`: grows the file to cover the range.
pub(crate) fn fd_allocate(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let end = p.u64(1)?.checked_add(p.u64(2)?).ok_or(Errno::FBig)?;
    let f = file(st, p.u32(0)?)?;
    if f.metadata()?.len() < end {
        f.set_len(end)?;
    }
    Ok(())
}

/// The WASI file type of a host file type.
pub(crate) fn filetype_of(t: FileType) -> u8 {
    if t.is_dir() {
        filetype::DIRECTORY
    } else if t.is_file() {
        filetype::REGULAR_FILE
    } else if t.is_symlink() {
        filetype::SYMBOLIC_LINK
    } else if t.is_char_device() {
        filetype::CHARACTER_DEVICE
    } else if t.is_block_device() {
        filetype::BLOCK_DEVICE
    } else if t.is_socket() {
        filetype::SOCKET_STREAM
    } else {
        filetype::UNKNOWN
    }
}

/// `fd_fdstat_get(fd) -> (errno, fdstat)`
pub(crate) fn fd_fdstat_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let d = st.fds.get(p.u32(0)?)?;
    let ty = match &d.kind {
        Kind::Input(i) => stream_filetype(i.tty),
        Kind::Output(o) => stream_filetype(o.tty),
        Kind::File(f) => filetype_of(Metadata::from_file(&f.file)?.file_type()),
        Kind::Dir(_) => filetype::DIRECTORY,
    };
    let mut rec = [0u8; FDSTAT_SIZE as usize];
    rec[0] = ty;
    rec[2..4].copy_from_slice(&d.flags.to_le_bytes());
    rec[8..16].copy_from_slice(&d.rights_base.to_le_bytes());
    rec[16..24].copy_from_slice(&d.rights_inheriting.to_le_bytes());
    mem.write(p.u32(1)?, &rec)
}

/// `fd_fdstat_set_flags(fd, flags: fdflags) -> errno`
///
/// Flags are recorded and reported back. `APPEND` is honoured (by seeking to
/// the end before each write); the synchronisation and non-blocking flags
/// change nothing, since every write goes straight to the host file and files
/// never block. Clearing `APPEND` on a file opened with it is `NOTSUP`.
pub(crate) fn fd_fdstat_set_flags(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let flags = u16::try_from(p.u32(1)?).map_err(|_| Errno::Inval)?;
    if flags & !fdflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    let d = st.fds.get_mut(p.u32(0)?)?;
    if let Kind::File(f) = &d.kind
        && f.os_append
        && flags & fdflags::APPEND == 0
    {
        return Err(Errno::NotSup);
    }
    d.flags = flags;
    Ok(())
}

/// `fd_fdstat_set_rights(fd, base, inheriting) -> errno`: rights can only be dropped.
pub(crate) fn fd_fdstat_set_rights(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let (base, inheriting) = (p.u64(1)?, p.u64(2)?);
    let d = st.fds.get_mut(p.u32(0)?)?;
    if base & !d.rights_base != 0 || inheriting & !d.rights_inheriting != 0 {
        return Err(Errno::NotCapable);
    }
    d.rights_base = base;
    d.rights_inheriting = inheriting;
    Ok(())
}

/// Nanoseconds since the epoch from seconds and nanoseconds (0 before it).
fn nanos(secs: i64, nsecs: i64) -> u64 {
    let secs = u64::try_from(secs).unwrap_or(0);
    let nsecs = u64::try_from(nsecs).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nsecs)
}

/// Writes a `filestat` record for host metadata.
pub(crate) fn write_filestat(
    mem: &mut GuestMemory<'_>,
    ptr: u32,
    m: &Metadata,
) -> Result<(), Errno> {
    let mut rec = [0u8; FILESTAT_SIZE as usize];
    rec[0..8].copy_from_slice(&m.dev().to_le_bytes());
    rec[8..16].copy_from_slice(&m.ino().to_le_bytes());
    rec[16] = filetype_of(m.file_type());
    rec[24..32].copy_from_slice(&m.nlink().to_le_bytes());
    rec[32..40].copy_from_slice(&m.size().to_le_bytes());
    rec[40..48].copy_from_slice(&nanos(m.atime(), m.atime_nsec()).to_le_bytes());
    rec[48..56].copy_from_slice(&nanos(m.mtime(), m.mtime_nsec()).to_le_bytes());
    rec[56..64].copy_from_slice(&nanos(m.ctime(), m.ctime_nsec()).to_le_bytes());
    mem.write(ptr, &rec)
}

/// `fd_filestat_get(fd) -> (errno, filestat)`
pub(crate) fn fd_filestat_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let ptr = p.u32(1)?;
    match &st.fds.get(p.u32(0)?)?.kind {
        Kind::File(f) => write_filestat(mem, ptr, &Metadata::from_file(&f.file)?),
        Kind::Dir(d) => write_filestat(mem, ptr, &d.dir.dir_metadata()?),
        Kind::Input(i) => stream_filestat(mem, ptr, i.tty),
        Kind::Output(o) => stream_filestat(mem, ptr, o.tty),
    }
}

/// A stream's `filestat`: its type and nothing else.
fn stream_filestat(mem: &mut GuestMemory<'_>, ptr: u32, tty: bool) -> Result<(), Errno> {
    let mut rec = [0u8; FILESTAT_SIZE as usize];
    rec[16] = stream_filetype(tty);
    mem.write(ptr, &rec)
}

/// `fd_filestat_set_size(fd, size: filesize) -> errno`
pub(crate) fn fd_filestat_set_size(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let size = p.u64(1)?;
    file(st, p.u32(0)?)?.set_len(size)?;
    Ok(())
}

/// The times `*_filestat_set_times` asks for: access and modification time,
/// each left alone when `None`.
pub(crate) fn file_times(
    atim: u64,
    mtim: u64,
    flags: u16,
) -> Result<[Option<SystemTime>; 2], Errno> {
    let pick = |value: u64, set: u16, now: u16| -> Result<Option<SystemTime>, Errno> {
        match (flags & set != 0, flags & now != 0) {
            (true, true) => Err(Errno::Inval),
            (true, false) => Ok(Some(UNIX_EPOCH + Duration::from_nanos(value))),
            (false, true) => Ok(Some(SystemTime::now())),
            (false, false) => Ok(None),
        }
    };
    Ok([
        pick(atim, fstflags::ATIM, fstflags::ATIM_NOW)?,
        pick(mtim, fstflags::MTIM, fstflags::MTIM_NOW)?,
    ])
}

/// [`file_times`] as the standard library sets them on an open file.
fn std_file_times([atime, mtime]: [Option<SystemTime>; 2]) -> FileTimes {
    let mut times = FileTimes::new();
    if let Some(t) = atime {
        times = times.set_accessed(t);
    }
    if let Some(t) = mtime {
        times = times.set_modified(t);
    }
    times
}

/// `fd_filestat_set_times(fd, atim, mtim, fst_flags) -> errno`
pub(crate) fn fd_filestat_set_times(
    st: &mut State,
    _: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let flags = u16::try_from(p.u32(3)?).map_err(|_| Errno::Inval)?;
    let times = std_file_times(file_times(p.u64(1)?, p.u64(2)?, flags)?);
    match &st.fds.get(p.u32(0)?)?.kind {
        Kind::File(f) => f.file.set_times(times)?,
        Kind::Dir(d) => dir_file(d)?.set_times(times)?,
        Kind::Input(_) | Kind::Output(_) => return Err(Errno::BadF),
    }
    Ok(())
}

/// `fd_prestat_get(fd) -> (errno, prestat)`: [`Errno::BadF`] unless `fd` is a preopen.
pub(crate) fn fd_prestat_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let name = preopen_name(st, p.u32(0)?)?;
    let len = u32::try_from(name.len()).map_err(|_| Errno::NameTooLong)?;
    let mut rec = [0u8; PRESTAT_SIZE as usize];
    // tag 0: a directory.
    rec[4..8].copy_from_slice(&len.to_le_bytes());
    mem.write(p.u32(1)?, &rec)
}

/// `fd_prestat_dir_name(fd, path: ptr<u8>, path_len: size) -> errno`
pub(crate) fn fd_prestat_dir_name(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let name = preopen_name(st, p.u32(0)?)?.as_bytes();
    let len = p.u32(2)?;
    if (len as usize) < name.len() {
        return Err(Errno::NameTooLong);
    }
    mem.write(p.u32(1)?, name)
}

fn preopen_name(st: &State, fd: u32) -> Result<&str, Errno> {
    match &st.fds.get(fd)?.kind {
        Kind::Dir(DirDesc {
            preopen: Some(name),
            ..
        }) => Ok(name),
        _ => Err(Errno::BadF),
    }
}

/// The entries of `d`: `.`, `..`, then the rest sorted by name, so that a
/// cookie (an index into this list) means the same entry from call to call.
fn dir_entries(d: &DirDesc) -> Result<Vec<DirEntry>, Errno> {
    let this = d.dir.dir_metadata()?;
    // The parent's inode is only reported, never reachable.
    let parent_ino = sandbox::parent_ino(&d.dir).unwrap_or(this.ino());
    let mut rest = Vec::new();
    for entry in d.dir.entries()? {
        let entry = entry?;
        let ty = entry.file_type().map_or(filetype::UNKNOWN, filetype_of);
        rest.push(DirEntry {
            name: entry.file_name().as_bytes().to_vec(),
            ino: entry.ino(),
            ty,
        });
    }
    rest.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = vec![
        DirEntry {
            name: b".".to_vec(),
            ino: this.ino(),
            ty: filetype::DIRECTORY,
        },
        DirEntry {
            name: b"..".to_vec(),
            ino: parent_ino,
            ty: filetype::DIRECTORY,
        },
    ];
    out.extend(rest);
    Ok(out)
}

/// `fd_readdir(fd, buf: ptr<u8>, buf_len: size, cookie: dircookie) -> (errno, size)`
///
/// Fills the buffer with `dirent` headers each followed by its name, from the
/// entry numbered `cookie`; the last entry may be cut short. A full buffer
/// tells the guest to call again from the last whole entry's `d_next`.
pub(crate) fn fd_readdir(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let (buf, buf_len, cookie) = (p.u32(1)?, p.u32(2)?, p.u64(3)?);
    let d = match &mut st.fds.get_mut(p.u32(0)?)?.kind {
        Kind::Dir(d) => d,
        _ => return Err(Errno::NotDir),
    };
    // The listing is read when the guest starts from the beginning and kept
    // for the calls that continue it, so cookies stay valid while the guest
    // removes the entries it has seen (as `rm -r` does).
    let entries = match &d.listing {
        Some(listing) if cookie != 0 => Arc::clone(listing),
        _ => {
            let listing = Arc::new(dir_entries(d)?);
            d.listing = Some(Arc::clone(&listing));
            listing
        }
    };
    let mut out = Vec::new();
    let start = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, e) in entries.iter().enumerate().skip(start) {
        if out.len() >= buf_len as usize {
            break;
        }
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&e.ino.to_le_bytes());
        let namlen = u32::try_from(e.name.len()).map_err(|_| Errno::NameTooLong)?;
        header[16..20].copy_from_slice(&namlen.to_le_bytes());
        header[20] = e.ty;
        out.extend_from_slice(&header);
        out.extend_from_slice(&e.name);
    }
    out.truncate(buf_len as usize);
    mem.write(buf, &out)?;
    // `out` is at most `buf_len` bytes, so it fits in a u32.
    mem.write_u32(p.u32(4)?, out.len() as u32)
}
