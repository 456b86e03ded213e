//! `path_*`: opening, inspecting, creating and removing files by path,
//! always relative to a directory descriptor and inside it (see [`sandbox`]).
//!
//! [`sandbox`]: super::sandbox

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::Params;
use super::abi::{Errno, fdflags, lookupflags, oflags, rights};
use super::ctx::State;
use super::fd::{file_times, write_filestat};
use super::fd_table::{Descriptor, DirDesc, FileDesc, Kind};
use super::memory::GuestMemory;
use super::sandbox::{self, Entry};

/// The directory `fd` (cloned, so the table can change while it is used).
fn dir(st: &State, fd: u32) -> Result<DirDesc, Errno> {
    st.fds.dir(fd).cloned()
}

/// Resolves the guest path at `ptr`/`len` in directory `fd`.
fn resolve(
    st: &State,
    mem: &GuestMemory<'_>,
    fd: u32,
    ptr: u32,
    len: u32,
    follow: bool,
) -> Result<PathBuf, Errno> {
    let dir = dir(st, fd)?;
    sandbox::resolve(dir.host()?, mem.slice(ptr, len)?, follow)
}

/// Resolves the entry named by the guest path at `ptr`/`len` in directory `fd`.
fn entry(st: &State, mem: &GuestMemory<'_>, fd: u32, ptr: u32, len: u32) -> Result<Entry, Errno> {
    let dir = dir(st, fd)?;
    sandbox::resolve_entry(dir.host()?, mem.slice(ptr, len)?)
}

/// `path_open(fd, dirflags, path, oflags, fs_rights_base, fs_rights_inheriting,
/// fdflags) -> (errno, fd)`
///
/// Opens a directory as a new directory capability, anything else as a host
/// file, reading if `FD_READ` is asked for (or nothing is) and writing if
/// `FD_WRITE` is. The final open never follows a symlink (`O_NOFOLLOW`):
/// the sandbox has already resolved every symlink it allows.
pub(crate) fn path_open(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let fd = p.u32(0)?;
    let follow = p.u32(1)? & lookupflags::SYMLINK_FOLLOW != 0;
    let oflags = u16::try_from(p.u32(4)?).map_err(|_| Errno::Inval)?;
    let (rights_base, rights_inheriting) = (p.u64(5)?, p.u64(6)?);
    let fdflags = u16::try_from(p.u32(7)?).map_err(|_| Errno::Inval)?;
    let fd_ptr = p.u32(8)?;
    if fdflags & !fdflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    // Check the result's slot first, so a bad pointer leaks no descriptor.
    mem.slice(fd_ptr, 4)?;

    let parent = dir(st, fd)?;
    let parent_inheriting = st.fds.get(fd)?.rights_inheriting;
    let host = sandbox::resolve(parent.host()?, mem.slice(p.u32(2)?, p.u32(3)?)?, follow)?;
    let read = rights_base & rights::FD_READ != 0;
    let write = rights_base & rights::FD_WRITE != 0;
    let creat = oflags & oflags::CREAT != 0;
    let excl = oflags & oflags::EXCL != 0;
    let trunc = oflags & oflags::TRUNC != 0;

    let kind = match fs::symlink_metadata(&host) {
        Ok(m) if m.is_dir() => {
            if creat && excl {
                return Err(Errno::Exist);
            }
            if write || trunc {
                return Err(Errno::IsDir);
            }
            Kind::Dir(DirDesc {
                unchecked_host: host,
                root: parent.root,
                preopen: None,
                listing: None,
            })
        }
        // Only when not following: the sandbox resolves every other symlink.
        Ok(m) if m.file_type().is_symlink() => return Err(Errno::Loop),
        Ok(_) if oflags & oflags::DIRECTORY != 0 => return Err(Errno::NotDir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && oflags & oflags::DIRECTORY != 0 => {
            return Err(if creat { Errno::Inval } else { Errno::NoEnt });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {
            // Creation flags go straight to open(2): the standard library
            // refuses `create` and `truncate` without write access, which
            // POSIX allows.
            let mut flags = libc::O_NOFOLLOW;
            if creat {
                flags |= libc::O_CREAT;
            }
            if excl {
                flags |= libc::O_EXCL;
            }
            if trunc {
                flags |= libc::O_TRUNC;
            }
            let append = write && fdflags & fdflags::APPEND != 0;
            let file = OpenOptions::new()
                .read(read || !write)
                .write(write && !append)
                .append(append)
                .custom_flags(flags)
                .open(&host)?;
            Kind::File(FileDesc {
                file,
                os_append: append,
            })
        }
    };
    let new_fd = st.fds.insert(Descriptor {
        kind,
        rights_base: rights_base & parent_inheriting,
        rights_inheriting: rights_inheriting & parent_inheriting,
        flags: fdflags,
    })?;
    mem.write_u32(fd_ptr, new_fd)
}

/// `path_filestat_get(fd, flags: lookupflags, path) -> (errno, filestat)`
pub(crate) fn path_filestat_get(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let follow = p.u32(1)? & lookupflags::SYMLINK_FOLLOW != 0;
    let host = resolve(st, mem, p.u32(0)?, p.u32(2)?, p.u32(3)?, follow)?;
    // Not following symlinks: the sandbox already followed those allowed.
    let meta = fs::symlink_metadata(&host)?;
    write_filestat(mem, p.u32(4)?, &meta)
}

/// `path_filestat_set_times(fd, flags, path, atim, mtim, fst_flags) -> errno`
pub(crate) fn path_filestat_set_times(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let follow = p.u32(1)? & lookupflags::SYMLINK_FOLLOW != 0;
    let host = resolve(st, mem, p.u32(0)?, p.u32(2)?, p.u32(3)?, follow)?;
    let flags = u16::try_from(p.u32(6)?).map_err(|_| Errno::Inval)?;
    let times = file_times(p.u64(4)?, p.u64(5)?, flags)?;
    if fs::symlink_metadata(&host)?.file_type().is_symlink() {
        // Setting a symlink's own times needs utimensat, which std lacks.
        return Err(Errno::NotSup);
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&host)?;
    file.set_times(times)?;
    Ok(())
}

/// `path_create_directory(fd, path) -> errno`
pub(crate) fn path_create_directory(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    fs::create_dir(e.path())?;
    Ok(())
}

/// `path_remove_directory(fd, path) -> errno`
pub(crate) fn path_remove_directory(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    fs::remove_dir(e.path())?;
    Ok(())
}

/// `path_unlink_file(fd, path) -> errno`
pub(crate) fn path_unlink_file(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    let path = e.path();
    if e.trailing_slash {
        // `file/` names no file: a directory is refused as a directory.
        let is_dir = fs::metadata(&path)?.is_dir();
        return Err(if is_dir { Errno::IsDir } else { Errno::NotDir });
    }
    fs::remove_file(path)?;
    Ok(())
}

/// Refuses to move or link the symlink at `from` (if it is one) into
/// `to.dir` if its relative target would lead out of `root` from there, the
/// same rule [`path_symlink`] applies to a new link.
fn check_relocated_symlink(root: &Path, from: &Path, to: &Entry) -> Result<(), Errno> {
    if fs::symlink_metadata(from).is_ok_and(|m| m.file_type().is_symlink()) {
        let target = fs::read_link(from)?;
        sandbox::check_symlink_target(root, &to.dir, target.as_os_str().as_bytes())?;
    }
    Ok(())
}

/// `path_rename(fd, old_path, new_fd, new_path) -> errno`
pub(crate) fn path_rename(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let from = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    let new_fd = p.u32(3)?;
    let to = entry(st, mem, new_fd, p.u32(4)?, p.u32(5)?)?;
    check_relocated_symlink(&dir(st, new_fd)?.root, &from.path(), &to)?;
    fs::rename(from.path(), to.path())?;
    Ok(())
}

/// `path_symlink(old_path, fd, new_path) -> errno`
///
/// The link's target must be relative and stay inside the preopened
/// directory, so that following the link (by Kiln or by a host program)
/// never leads out.
pub(crate) fn path_symlink(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let target = mem.bytes_vec(p.u32(0)?, p.u32(1)?)?;
    let fd = p.u32(2)?;
    let e = entry(st, mem, fd, p.u32(3)?, p.u32(4)?)?;
    let root = dir(st, fd)?.root;
    sandbox::check_symlink_target(&root, &e.dir, &target)?;
    std::os::unix::fs::symlink(OsStr::from_bytes(&target), e.path())?;
    Ok(())
}

/// `path_link(old_fd, old_flags, old_path, new_fd, new_path) -> errno`
pub(crate) fn path_link(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let follow = p.u32(1)? & lookupflags::SYMLINK_FOLLOW != 0;
    let from = resolve(st, mem, p.u32(0)?, p.u32(2)?, p.u32(3)?, follow)?;
    let new_fd = p.u32(4)?;
    let to = entry(st, mem, new_fd, p.u32(5)?, p.u32(6)?)?;
    // Without `follow`, a symlink is linked itself (Linux `linkat`).
    check_relocated_symlink(&dir(st, new_fd)?.root, &from, &to)?;
    fs::hard_link(from, to.path())?;
    Ok(())
}

/// `path_readlink(fd, path, buf: ptr<u8>, buf_len: size) -> (errno, size)`:
/// the target, cut to the buffer.
pub(crate) fn path_readlink(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let host = resolve(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?, false)?;
    let target = fs::read_link(host)?;
    let target = target.as_os_str().as_bytes();
    let n = target.len().min(p.u32(4)? as usize);
    mem.write(p.u32(3)?, &target[..n])?;
    // `n` is at most `buf_len`, a u32.
    mem.write_u32(p.u32(5)?, n as u32)
}
