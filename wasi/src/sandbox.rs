//! Guest paths, resolved beneath held directory handles.
//!
//! A guest names files by a directory descriptor and a relative path. Every
//! directory descriptor holds an open host directory, a [`cap_std::fs::Dir`]:
//! the preopens are opened once, by the host, with ambient authority
//! ([`open_preopen`]); every other directory is opened *through* one of
//! them. Every path operation hands the guest's relative path and the held
//! handle to cap-std, which resolves it beneath the handle: on Linux 5.6 and
//! later with one `openat2` call and `RESOLVE_BENEATH` (the kernel refuses an
//! absolute path, a `..` above the handle and a symlink leading out, at every
//! step), elsewhere one component at a time with `openat` and `O_NOFOLLOW`,
//! each symlink expanded by cap-std against the same rules. A path that
//! would leave is an error, which [`Errno::from`] maps to
//! [`Errno::NotCapable`].
//!
//! Because resolution starts from a handle and never from a host path name,
//! there is no window between checking a path and using it: renaming a
//! directory, or swapping one for a symlink (by the guest or by a host
//! process, at any moment), cannot redirect a lookup out of the handle's
//! tree. The handle follows its directory if the directory moves. This is
//! what closes the check-then-use race of the earlier design, which walked
//! path names with `symlink_metadata` and then handed the checked name to
//! the kernel to walk again.
//!
//! What is left here is Kiln's own policy on top:
//!
//! - [`guest_path`] turns guest bytes into a path (`ENOENT` when empty,
//!   `EILSEQ` with a NUL byte, `ENOTCAPABLE` when absolute);
//! - [`resolve_entry`] splits a path into its parent directory, opened
//!   beneath the handle, and a last name, for the calls that create, remove,
//!   rename or link an entry: they then act on one name in a held directory;
//! - [`check_symlink_target`] and [`depth_below`] keep a symlink the guest
//!   creates, moves or links from leading out of the preopen when a host
//!   program follows it (Kiln itself never would: cap-std refuses).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use cap_fs_ext::FollowSymlinks;
use cap_std::fs::{Dir, Metadata, MetadataExt};
use cap_std::{AmbientAuthority, ambient_authority};

use super::abi::Errno;

/// How far [`depth_below`] climbs looking for the preopen before giving up.
const MAX_DEPTH: usize = 4096;

/// Opens the host directory `path` as a preopen: the one place where a
/// directory is opened by host path name, with the host's authority.
///
/// # Errors
///
/// The host's error, such as `NotFound` or `NotADirectory`.
pub(crate) fn open_preopen(path: &Path, authority: AmbientAuthority) -> io::Result<Dir> {
    Dir::open_ambient_dir(path, authority)
}

/// The guest path `bytes` as a host path, relative to a directory handle.
///
/// # Errors
///
/// [`Errno::NoEnt`] for an empty path, [`Errno::IlSeq`] for one containing
/// a NUL byte, [`Errno::NotCapable`] for an absolute one.
pub(crate) fn guest_path(bytes: &[u8]) -> Result<&Path, Errno> {
    if bytes.is_empty() {
        return Err(Errno::NoEnt);
    }
    if bytes.contains(&0) {
        return Err(Errno::IlSeq);
    }
    if bytes.starts_with(b"/") {
        return Err(Errno::NotCapable);
    }
    Ok(Path::new(OsStr::from_bytes(bytes)))
}

/// Whether a symlink in the last position of `path` is followed: if the
/// caller asks, and always before a trailing `/` (as POSIX has it; cap-std
/// leaves that to the caller).
pub(crate) fn last_follows(path: &Path, follow: FollowSymlinks) -> FollowSymlinks {
    if path.as_os_str().as_bytes().ends_with(b"/") {
        FollowSymlinks::Yes
    } else {
        follow
    }
}

/// The metadata of `path` beneath `dir`, following a symlink in the last
/// position as [`last_follows`] says.
///
/// # Errors
///
/// The host's and cap-std's errors (an escape among them).
pub(crate) fn metadata(dir: &Dir, path: &Path, follow: FollowSymlinks) -> io::Result<Metadata> {
    match last_follows(path, follow) {
        FollowSymlinks::Yes => dir.metadata(path),
        FollowSymlinks::No => dir.symlink_metadata(path),
    }
}

/// A directory entry to create, remove, rename or link: a held directory and
/// a name in it. The name itself is not resolved (a symlink there is the link).
#[derive(Debug)]
pub(crate) struct Entry {
    /// The directory holding the entry, opened beneath the descriptor's.
    pub dir: Dir,
    /// The entry's name: never empty, `.` or `..`, and without `/`.
    pub name: OsString,
    /// Whether the guest path ended in `/` (the entry must be a directory).
    pub trailing_slash: bool,
}

/// Opens the directory holding the last component of `path` beneath `base`
/// (following symlinks on the way, beneath `base` too) and names that
/// component.
///
/// # Errors
///
/// As [`guest_path`]; [`Errno::NotCapable`] if the parent lies outside
/// `base`; [`Errno::Inval`] when the last component is `.` or `..` (there is
/// no entry to act on); [`Errno::NoEnt`] / [`Errno::NotDir`] when the parent
/// does not exist or is not a directory.
pub(crate) fn resolve_entry(base: &Dir, path: &[u8]) -> Result<Entry, Errno> {
    let host = guest_path(path)?;
    let trailing_slash = path.ends_with(b"/");
    // Not absolute, so some byte is not `/`.
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    let trimmed = &path[..end];
    let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(slash) => (&trimmed[..slash], &trimmed[slash + 1..]),
        None => (&b""[..], trimmed),
    };
    if name == b"." || name == b".." {
        // No entry to act on; still report a path that leads out as one.
        base.open_dir(host)?;
        return Err(Errno::Inval);
    }
    let parent = if parent.is_empty() {
        Path::new(".")
    } else {
        Path::new(OsStr::from_bytes(parent))
    };
    Ok(Entry {
        dir: base.open_dir(parent)?,
        name: OsStr::from_bytes(name).to_os_string(),
        trailing_slash,
    })
}

/// A directory's identity: its device and inode numbers.
fn identity(m: &Metadata) -> (u64, u64) {
    (m.dev(), m.ino())
}

/// The parent of the held directory `dir`, opened with the host's authority.
///
/// Only for reading identities (the inode `fd_readdir` reports for `..`,
/// and [`depth_below`]): the handle is never kept, given to the guest or
/// used to reach a file.
fn parent_of(dir: &Dir) -> io::Result<Dir> {
    dir.open_parent_dir(ambient_authority())
}

/// The inode number of the parent of `dir`, if it can be read.
pub(crate) fn parent_ino(dir: &Dir) -> Option<u64> {
    parent_of(dir)
        .and_then(|p| p.dir_metadata())
        .ok()
        .map(|m| m.ino())
}

/// How many directories `dir` lies below `root` now (0 for `root` itself),
/// found by climbing `..` from `dir` until `root`'s identity is met.
///
/// # Errors
///
/// [`Errno::NotCapable`] if `dir` is not below `root` (a host process moved
/// it out), and the host's errors.
pub(crate) fn depth_below(root: &Dir, dir: &Dir) -> Result<usize, Errno> {
    let target = identity(&root.dir_metadata()?);
    let mut here = identity(&dir.dir_metadata()?);
    let mut current: Option<Dir> = None;
    for depth in 0..MAX_DEPTH {
        if here == target {
            return Ok(depth);
        }
        let parent = parent_of(current.as_ref().unwrap_or(dir))?;
        let up = identity(&parent.dir_metadata()?);
        if up == here {
            // The file system's root: `root` was not on the way.
            return Err(Errno::NotCapable);
        }
        here = up;
        current = Some(parent);
    }
    Err(Errno::NotCapable)
}

/// Checks that a symlink with target `target`, in a directory `depth`
/// directories below a preopen, stays inside the preopen when followed: the
/// target is relative and its `..` never climb above the preopen.
///
/// # Errors
///
/// [`Errno::NotCapable`] otherwise, and as [`guest_path`] for a malformed
/// target.
pub(crate) fn check_symlink_target(depth: usize, target: &[u8]) -> Result<(), Errno> {
    guest_path(target)?;
    let mut depth = depth;
    for part in target.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => depth = depth.checked_sub(1).ok_or(Errno::NotCapable)?,
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_fs_ext::OpenOptionsFollowExt;
    use cap_std::fs::OpenOptions;
    use std::fs;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    /// A scratch directory tree, removed on drop:
    ///
    /// ```text
    /// secret                 (outside the sandbox)
    /// box/file
    /// box/sub/inner
    /// box/link_in  -> sub
    /// box/link_file -> file
    /// box/link_out -> ../secret
    /// box/abs      -> /etc
    /// box/chain1   -> chain2
    /// box/chain2   -> sub/../../secret
    /// box/loop1    -> loop2
    /// box/loop2    -> loop1
    /// box/dangling -> new
    /// box/sub/up   -> ..
    /// box/sub/upup -> ../..
    /// ```
    struct Tree {
        root: PathBuf,
        dir: Dir,
    }

    impl Tree {
        fn new(tag: &str) -> Tree {
            let root = std::env::temp_dir()
                .join(format!("kiln-wasi-sandbox-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            let b = root.join("box");
            fs::create_dir_all(b.join("sub")).expect("test setup");
            fs::write(root.join("secret"), "secret").expect("test setup");
            fs::write(b.join("file"), "file").expect("test setup");
            fs::write(b.join("sub/inner"), "inner").expect("test setup");
            for (target, link) in [
                ("sub", "link_in"),
                ("file", "link_file"),
                ("../secret", "link_out"),
                ("/etc", "abs"),
                ("chain2", "chain1"),
                ("sub/../../secret", "chain2"),
                ("loop2", "loop1"),
                ("loop1", "loop2"),
                ("new", "dangling"),
                ("..", "sub/up"),
                ("../..", "sub/upup"),
            ] {
                symlink(target, b.join(link)).expect("test setup");
            }
            let dir = open_preopen(&b, ambient_authority()).expect("test setup");
            Tree { root, dir }
        }

        fn base(&self) -> PathBuf {
            self.root.join("box")
        }

        /// Reads the file `path` names (following a last symlink if
        /// `follow`), as `path_open` resolves it.
        fn read(&self, path: &str, follow: bool) -> Result<String, Errno> {
            let mut options = OpenOptions::new();
            options.read(true).follow(FollowSymlinks::follow(follow));
            let file = self.dir.open_with(guest_path(path.as_bytes())?, &options)?;
            Ok(std::io::read_to_string(file)?)
        }

        /// The inode `path` names, as `path_filestat_get` resolves it.
        fn ino(&self, path: &str, follow: bool) -> Result<u64, Errno> {
            let path = guest_path(path.as_bytes())?;
            Ok(metadata(&self.dir, path, FollowSymlinks::follow(follow))?.ino())
        }

        /// The host inode of `box/rel`.
        fn host_ino(&self, rel: &str) -> u64 {
            use std::os::unix::fs::MetadataExt as _;
            fs::symlink_metadata(self.base().join(rel))
                .expect("exists")
                .ino()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    fn read_ok(s: &str) -> Result<String, Errno> {
        Ok(s.to_owned())
    }

    #[test]
    fn plain_paths_resolve_inside() {
        let t = Tree::new("plain");
        assert_eq!(t.read("file", true), read_ok("file"));
        assert_eq!(t.read("sub/inner", true), read_ok("inner"));
        assert_eq!(t.read("./sub//inner", true), read_ok("inner"));
        assert_eq!(t.read("sub/../file", true), read_ok("file"));
        assert_eq!(t.ino(".", true), Ok(t.host_ino("")));
        assert_eq!(t.ino("sub/..", true), Ok(t.host_ino("")));
        assert_eq!(t.ino("sub/", true), Ok(t.host_ino("sub")));
        assert_eq!(t.ino("missing", true), Err(Errno::NoEnt));
    }

    #[test]
    fn malformed_and_missing_paths() {
        let t = Tree::new("malformed");
        assert_eq!(t.read("", true), Err(Errno::NoEnt));
        assert_eq!(t.read("a\0b", true), Err(Errno::IlSeq));
        assert_eq!(t.read("missing/x", true), Err(Errno::NoEnt));
        assert_eq!(t.read("file/x", true), Err(Errno::NotDir));
        assert_eq!(t.read("file/", true), Err(Errno::NotDir));
    }

    #[test]
    fn dot_dot_cannot_leave() {
        let t = Tree::new("dotdot");
        assert_eq!(t.ino("..", true), Err(Errno::NotCapable));
        assert_eq!(t.read("../secret", true), Err(Errno::NotCapable));
        assert_eq!(t.read("sub/../../secret", true), Err(Errno::NotCapable));
        assert_eq!(t.read("./../box/file", true), Err(Errno::NotCapable));
        // Climbing out and back in is still refused: the walk never leaves.
        assert_eq!(t.read("sub/../../box/file", true), Err(Errno::NotCapable));
    }

    #[test]
    fn absolute_paths_are_refused() {
        let t = Tree::new("absolute");
        assert_eq!(t.read("/etc/passwd", true), Err(Errno::NotCapable));
        assert_eq!(t.ino("/", true), Err(Errno::NotCapable));
        let inside = t.base().join("file");
        let inside = inside.to_str().expect("test setup");
        assert_eq!(t.read(inside, true), Err(Errno::NotCapable));
    }

    #[test]
    fn symlinks_inside_are_followed() {
        let t = Tree::new("symin");
        assert_eq!(t.read("link_in/inner", true), read_ok("inner"));
        assert_eq!(t.read("link_in/inner", false), read_ok("inner"));
        assert_eq!(t.read("link_file", true), read_ok("file"));
        assert_eq!(t.read("sub/up/file", true), read_ok("file"));
        assert_eq!(t.ino("link_in/", false), Ok(t.host_ino("sub")));
        // Not following the last component leaves the link itself.
        assert_eq!(t.ino("link_file", false), Ok(t.host_ino("link_file")));
        assert_eq!(t.ino("link_out", false), Ok(t.host_ino("link_out")));
        assert_eq!(t.read("link_file", false), Err(Errno::Loop));
        // A dangling link inside creates the name it points to.
        let mut create = OpenOptions::new();
        create.write(true).create(true);
        t.dir.open_with("dangling", &create).expect("create");
        assert!(t.base().join("new").is_file());
    }

    #[test]
    fn symlinks_out_are_refused() {
        let t = Tree::new("symout");
        assert_eq!(t.read("link_out", true), Err(Errno::NotCapable));
        assert_eq!(t.ino("abs", true), Err(Errno::NotCapable));
        assert_eq!(t.read("abs/passwd", false), Err(Errno::NotCapable));
        assert_eq!(t.ino("sub/upup", true), Err(Errno::NotCapable));
        assert_eq!(t.read("sub/upup/secret", false), Err(Errno::NotCapable));
        assert_eq!(t.read("link_in/upup/x", true), Err(Errno::NotCapable));
    }

    #[test]
    fn symlink_chains_are_checked_at_every_link() {
        let t = Tree::new("chain");
        assert_eq!(t.read("chain1", true), Err(Errno::NotCapable));
        assert_eq!(t.ino("chain1", false), Ok(t.host_ino("chain1")));
        assert_eq!(t.read("loop1", true), Err(Errno::Loop));
        assert_eq!(t.read("loop1/x", false), Err(Errno::Loop));
    }

    #[test]
    fn entries_name_their_parent() {
        let t = Tree::new("entry");
        let b = &t.dir;
        let dir_ino = |e: &Entry| e.dir.dir_metadata().expect("stat").ino();
        let e = resolve_entry(b, b"sub/new").expect("sub/ exists");
        assert_eq!(
            (dir_ino(&e), e.name.as_os_str()),
            (t.host_ino("sub"), OsStr::new("new"))
        );
        assert!(!e.trailing_slash);
        let e = resolve_entry(b, b"link_in/dir/").expect("link_in/ leads to sub/");
        assert_eq!(
            (dir_ino(&e), e.name.as_os_str()),
            (t.host_ino("sub"), OsStr::new("dir"))
        );
        assert!(e.trailing_slash);
        // The last component is not followed: the entry is the link.
        let e = resolve_entry(b, b"link_out").expect("the link itself");
        assert_eq!(
            (dir_ino(&e), e.name.as_os_str()),
            (t.host_ino(""), OsStr::new("link_out"))
        );
        let err = |p: &[u8]| resolve_entry(b, p).map(drop);
        assert_eq!(err(b"."), Err(Errno::Inval));
        assert_eq!(err(b"sub/.."), Err(Errno::Inval));
        assert_eq!(err(b".."), Err(Errno::NotCapable));
        assert_eq!(err(b"../secret"), Err(Errno::NotCapable));
        assert_eq!(err(b"link_out/x"), Err(Errno::NotCapable));
        assert_eq!(err(b"abs/x"), Err(Errno::NotCapable));
        assert_eq!(err(b"/tmp/x"), Err(Errno::NotCapable));
        assert_eq!(err(b"file/x"), Err(Errno::NotDir));
        assert_eq!(err(b"missing/x"), Err(Errno::NoEnt));
    }

    #[test]
    fn a_held_directory_follows_its_directory() {
        let t = Tree::new("held");
        let b = t.base();
        let sub = t.dir.open_dir("sub").expect("open sub");
        // A directory replaced by a symlink after it was opened: the handle
        // still names the directory, wherever it went.
        fs::rename(b.join("sub"), b.join("moved")).expect("rename");
        symlink("../..", b.join("sub")).expect("symlink");
        let inner = std::io::read_to_string(sub.open("inner").expect("open")).expect("read");
        assert_eq!(inner, "inner");
        assert_eq!(depth_below(&t.dir, &sub), Ok(1));
        assert_eq!(depth_below(&t.dir, &t.dir), Ok(0));
        assert_eq!(depth_below(&sub, &t.dir), Err(Errno::NotCapable));
    }

    #[test]
    fn symlink_targets_must_stay_inside() {
        assert_eq!(check_symlink_target(0, b"a/b"), Ok(()));
        assert_eq!(check_symlink_target(1, b"../x"), Ok(()));
        assert_eq!(check_symlink_target(0, b"../x"), Err(Errno::NotCapable));
        assert_eq!(
            check_symlink_target(0, b"a/../../x"),
            Err(Errno::NotCapable)
        );
        assert_eq!(check_symlink_target(0, b"/etc"), Err(Errno::NotCapable));
        assert_eq!(check_symlink_target(3, b""), Err(Errno::NoEnt));
    }
}
