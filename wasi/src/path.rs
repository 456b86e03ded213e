//! `path_*`: opening, inspecting, creating and removing files by path,
//! always relative to a directory descriptor and resolved beneath its held
//! directory handle (see [`sandbox`]).
//!
//! [`sandbox`]: super::sandbox

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt, SystemTimeSpec};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};

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

/// The guest path at `ptr`/`len`, checked by [`sandbox::guest_path`].
fn path<'m>(mem: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<&'m Path, Errno> {
    sandbox::guest_path(mem.slice(ptr, len)?)
}

/// Resolves the entry named by the guest path at `ptr`/`len` in directory `fd`.
fn entry(st: &State, mem: &GuestMemory<'_>, fd: u32, ptr: u32, len: u32) -> Result<Entry, Errno> {
    sandbox::resolve_entry(&dir(st, fd)?.dir, mem.slice(ptr, len)?)
}

/// Whether a `lookupflags` value asks to follow a symlink in the last position.
fn follow(lookup: u32) -> FollowSymlinks {
    FollowSymlinks::follow(lookup & lookupflags::SYMLINK_FOLLOW != 0)
}

/// `path_open(fd, dirflags, path, oflags, fs_rights_base, fs_rights_inheriting,
/// fdflags) -> (errno, fd)`
///
/// Opens a directory as a new directory capability (a handle opened beneath
/// `fd`'s), anything else as a host file, reading if `FD_READ` is asked for
/// (or nothing is) and writing if `FD_WRITE` is. A symlink in the last
/// position is followed only with `SYMLINK_FOLLOW`; otherwise opening one is
/// `ELOOP`.
pub(crate) fn path_open(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let fd = p.u32(0)?;
    let follow = follow(p.u32(1)?);
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
    let path = path(mem, p.u32(2)?, p.u32(3)?)?;
    let read = rights_base & rights::FD_READ != 0;
    let write = rights_base & rights::FD_WRITE != 0;
    let creat = oflags & oflags::CREAT != 0;
    let excl = oflags & oflags::EXCL != 0;
    let trunc = oflags & oflags::TRUNC != 0;

    // What is there decides how to open it. Both lookups resolve beneath
    // the handle, so a change in between can only make the open fail or
    // open another file inside, never one outside.
    let kind = match sandbox::metadata(&parent.dir, path, follow) {
        Ok(m) if m.is_dir() => {
            if creat && excl {
                return Err(Errno::Exist);
            }
            if write || trunc {
                return Err(Errno::IsDir);
            }
            let dir = match sandbox::last_follows(path, follow) {
                FollowSymlinks::Yes => parent.dir.open_dir(path)?,
                FollowSymlinks::No => parent.dir.open_dir_nofollow(path)?,
            };
            Kind::Dir(DirDesc {
                dir: Arc::new(dir),
                root: parent.root,
                preopen: None,
                listing: None,
            })
        }
        // Only when not following.
        Ok(m) if m.is_symlink() => return Err(Errno::Loop),
        Ok(_) if oflags & oflags::DIRECTORY != 0 => return Err(Errno::NotDir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && oflags & oflags::DIRECTORY != 0 => {
            return Err(if creat { Errno::Inval } else { Errno::NoEnt });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
        _ => {
            // Creation flags go straight to the open: the standard library's
            // rules (which cap-std follows) refuse `create` and `truncate`
            // without write access, which POSIX allows.
            let mut flags = 0;
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
            let file = parent
                .dir
                .open_with(
                    path,
                    OpenOptions::new()
                        .read(read || !write)
                        .write(write && !append)
                        .append(append)
                        .custom_flags(flags)
                        .follow(follow),
                )?
                .into_std();
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
    let base = dir(st, p.u32(0)?)?;
    let meta = sandbox::metadata(
        &base.dir,
        path(mem, p.u32(2)?, p.u32(3)?)?,
        follow(p.u32(1)?),
    )?;
    write_filestat(mem, p.u32(4)?, &meta)
}

/// `path_filestat_set_times(fd, flags, path, atim, mtim, fst_flags) -> errno`
///
/// Without `SYMLINK_FOLLOW`, a symlink's own times are set.
pub(crate) fn path_filestat_set_times(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let base = dir(st, p.u32(0)?)?;
    let path = path(mem, p.u32(2)?, p.u32(3)?)?;
    let flags = u16::try_from(p.u32(6)?).map_err(|_| Errno::Inval)?;
    let [atime, mtime] = file_times(p.u64(4)?, p.u64(5)?, flags)?
        .map(|t| t.map(|t| SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t))));
    match sandbox::last_follows(path, follow(p.u32(1)?)) {
        FollowSymlinks::Yes => base.dir.set_times(path, atime, mtime)?,
        FollowSymlinks::No => base.dir.set_symlink_times(path, atime, mtime)?,
    }
    Ok(())
}

/// `path_create_directory(fd, path) -> errno`
pub(crate) fn path_create_directory(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    e.dir.create_dir(&e.name)?;
    Ok(())
}

/// `path_remove_directory(fd, path) -> errno`
pub(crate) fn path_remove_directory(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    e.dir.remove_dir(&e.name)?;
    Ok(())
}

/// `path_unlink_file(fd, path) -> errno`
pub(crate) fn path_unlink_file(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let e = entry(st, mem, p.u32(0)?, p.u32(1)?, p.u32(2)?)?;
    if e.trailing_slash {
        // `file/` names no file: a directory is refused as a directory.
        let is_dir = e.dir.metadata(&e.name)?.is_dir();
        return Err(if is_dir { Errno::IsDir } else { Errno::NotDir });
    }
    e.dir.remove_file(&e.name)?;
    Ok(())
}

/// Refuses to move or link the entry `from` to `to` if it is a symlink whose
/// relative target would lead out of `root` from `to`'s directory, the same
/// rule [`path_symlink`] applies to a new link.
fn check_relocated_symlink(root: &Dir, from: &Entry, to: &Entry) -> Result<(), Errno> {
    if from
        .dir
        .symlink_metadata(&from.name)
        .is_ok_and(|m| m.is_symlink())
    {
        let target = from.dir.read_link_contents(&from.name)?;
        let depth = sandbox::depth_below(root, &to.dir)?;
        sandbox::check_symlink_target(depth, target.as_os_str().as_bytes())?;
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
    check_relocated_symlink(&dir(st, new_fd)?.root, &from, &to)?;
    from.dir.rename(&from.name, &to.dir, &to.name)?;
    Ok(())
}

/// `path_symlink(old_path, fd, new_path) -> errno`
///
/// The link's target must be relative and stay inside the preopened
/// directory, so that following the link (by a host program; Kiln never
/// follows a link out) never leads out.
pub(crate) fn path_symlink(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let target = mem.bytes_vec(p.u32(0)?, p.u32(1)?)?;
    let fd = p.u32(2)?;
    let e = entry(st, mem, fd, p.u32(3)?, p.u32(4)?)?;
    let depth = sandbox::depth_below(&dir(st, fd)?.root, &e.dir)?;
    sandbox::check_symlink_target(depth, &target)?;
    e.dir.symlink(OsStr::from_bytes(&target), &e.name)?;
    Ok(())
}

/// `path_link(old_fd, old_flags, old_path, new_fd, new_path) -> errno`
///
/// Without `SYMLINK_FOLLOW`, a symlink is linked itself (as Linux `linkat`
/// does); with it, the file the link leads to (inside `old_fd`).
pub(crate) fn path_link(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let old = dir(st, p.u32(0)?)?;
    let from = match follow(p.u32(1)?) {
        FollowSymlinks::No => entry(st, mem, p.u32(0)?, p.u32(2)?, p.u32(3)?)?,
        FollowSymlinks::Yes => {
            // The path with every symlink resolved, relative to the handle.
            let real = old.dir.canonicalize(path(mem, p.u32(2)?, p.u32(3)?)?)?;
            if real.as_os_str().is_empty() {
                // The directory itself: directories cannot be linked.
                return Err(Errno::Perm);
            }
            sandbox::resolve_entry(&old.dir, real.as_os_str().as_bytes())?
        }
    };
    let new_fd = p.u32(4)?;
    let to = entry(st, mem, new_fd, p.u32(5)?, p.u32(6)?)?;
    check_relocated_symlink(&dir(st, new_fd)?.root, &from, &to)?;
    from.dir.hard_link(&from.name, &to.dir, &to.name)?;
    Ok(())
}

/// `path_readlink(fd, path, buf: ptr<u8>, buf_len: size) -> (errno, size)`:
/// the target, cut to the buffer.
pub(crate) fn path_readlink(
    st: &mut State,
    mem: &mut GuestMemory<'_>,
    p: &Params<'_>,
) -> Result<(), Errno> {
    let base = dir(st, p.u32(0)?)?;
    let target = base
        .dir
        .read_link_contents(path(mem, p.u32(1)?, p.u32(2)?)?)?;
    let target = target.as_os_str().as_bytes();
    let n = target.len().min(p.u32(4)? as usize);
    mem.write(p.u32(3)?, &target[..n])?;
    // `n` is at most `buf_len`, a u32.
    mem.write_u32(p.u32(5)?, n as u32)
}
