//! Resolving guest paths inside a directory capability.
//!
//! A guest names files by a directory descriptor and a relative path. The
//! descriptor stands for a host directory that is already known to be inside
//! a preopened directory; the path must not lead out of it. Resolution walks
//! the path one component at a time from that directory, keeping the
//! components resolved so far on a stack:
//!
//! - an absolute path is refused ([`Errno::NotCapable`]): there is no root
//!   to start from;
//! - `.` is skipped and `..` pops the stack; popping an empty stack would
//!   leave the directory, and is refused ([`Errno::NotCapable`]);
//! - each name is looked up with `symlink_metadata`, which never follows a
//!   symlink. A directory is pushed. A symlink is expanded *by Kiln*: its
//!   target (refused if absolute) is spliced into the components still to
//!   walk, so `..` in a target is held to the same rule and a chain of links
//!   is followed one link at a time, at most [`MAX_SYMLINK_EXPANSIONS`]
//!   times ([`Errno::Loop`] beyond). A symlink in the last position is left
//!   alone when the caller asks not to follow it;
//! - anything else in a non-final position is [`Errno::NotDir`], and a
//!   missing final name is allowed (the caller may be creating it).
//!
//! The result is a host path made of the directory's path and real,
//! symlink-free names, so the kernel walks exactly what was checked. A
//! directory descriptor's own path is checked again at every use
//! ([`verify_dir`]): the guest may have replaced one of its directories with
//! a symlink since it was opened. The
//! final open uses `O_NOFOLLOW` as well, so a symlink planted at the last
//! position after the check is refused by the kernel. What this path-based
//! design cannot rule out is a host process that swaps a checked directory
//! for a symlink between the check and the use; closing that race needs
//! `openat`-style resolution from held directory handles (as cap-std does),
//! which the standard library does not offer without `unsafe`.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::abi::Errno;

/// How many symlinks one resolution may expand (Linux's limit too).
pub(crate) const MAX_SYMLINK_EXPANSIONS: usize = 40;

/// One component of a guest path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Component {
    /// `.`, or the empty component a trailing `/` leaves: "this directory",
    /// which also makes the preceding name follow symlinks and be a directory.
    Cur,
    /// `..`.
    Parent,
    /// A name.
    Normal(OsString),
}

/// Splits a guest path into components, last component first (so the walk
/// pops them off the end).
///
/// # Errors
///
/// [`Errno::NoEnt`] for an empty path, [`Errno::NotCapable`] for an absolute
/// one, [`Errno::IlSeq`] for one containing a NUL byte.
fn components(path: &[u8]) -> Result<Vec<Component>, Errno> {
    if path.is_empty() {
        return Err(Errno::NoEnt);
    }
    if path.contains(&0) {
        return Err(Errno::IlSeq);
    }
    if path.starts_with(b"/") {
        return Err(Errno::NotCapable);
    }
    let mut out: Vec<Component> = path
        .split(|&b| b == b'/')
        .filter(|part| !part.is_empty())
        .map(|part| match part {
            b"." => Component::Cur,
            b".." => Component::Parent,
            name => Component::Normal(OsStr::from_bytes(name).to_os_string()),
        })
        .collect();
    if path.ends_with(b"/") {
        out.push(Component::Cur);
    }
    out.reverse();
    Ok(out)
}

/// The host path `base/stack[0]/stack[1]/...`.
fn join(base: &Path, stack: &[OsString]) -> PathBuf {
    let mut p = base.to_path_buf();
    p.extend(stack);
    p
}

/// Walks `pending` (last component first) from `base`; see the module docs.
fn walk(base: &Path, mut pending: Vec<Component>, follow_last: bool) -> Result<PathBuf, Errno> {
    let mut stack: Vec<OsString> = Vec::new();
    let mut expansions = 0;
    while let Some(c) = pending.pop() {
        let name = match c {
            Component::Cur => continue,
            Component::Parent => {
                stack.pop().ok_or(Errno::NotCapable)?;
                continue;
            }
            Component::Normal(name) => name,
        };
        let is_last = pending.is_empty();
        let mut path = join(base, &stack);
        path.push(&name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if is_last && e.kind() == std::io::ErrorKind::NotFound => {
                stack.push(name);
                break;
            }
            Err(e) => return Err(e.into()),
        };
        if meta.file_type().is_symlink() && (follow_last || !is_last) {
            expansions += 1;
            if expansions > MAX_SYMLINK_EXPANSIONS {
                return Err(Errno::Loop);
            }
            let target = fs::read_link(&path)?;
            // Both are last-first: appending the target's components makes
            // them the next ones walked, before whatever followed the link.
            pending.extend(components(target.as_os_str().as_bytes())?);
            // The link's target is relative to the directory holding it, which
            // is the top of `stack`: nothing to pop.
            continue;
        }
        if !is_last && !meta.is_dir() {
            return Err(Errno::NotDir);
        }
        stack.push(name);
    }
    Ok(join(base, &stack))
}

/// Resolves `path` relative to the directory `base`, following a symlink in
/// the last position only if `follow_last`. The result may not exist (its
/// parent does).
///
/// # Errors
///
/// [`Errno::NotCapable`] if the path is absolute or leads out of `base`
/// (directly or through a symlink), [`Errno::Loop`] after too many symlinks,
/// [`Errno::NotDir`], [`Errno::NoEnt`] and other lookup errors.
pub(crate) fn resolve(base: &Path, path: &[u8], follow_last: bool) -> Result<PathBuf, Errno> {
    walk(base, components(path)?, follow_last)
}

/// A directory entry to create, remove or rename: a resolved directory and a
/// name in it. The name itself is not resolved (a symlink there is the link).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The directory holding the entry, resolved and known to be a directory.
    pub dir: PathBuf,
    /// The entry's name: never empty, `.` or `..`.
    pub name: OsString,
    /// Whether the guest path ended in `/` (the entry must be a directory).
    pub trailing_slash: bool,
}

impl Entry {
    /// The entry's host path.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(&self.name)
    }
}

/// Resolves all but the last component of `path` relative to `base`.
///
/// # Errors
///
/// As [`resolve`], plus [`Errno::Inval`] when the last component is `.` or
/// `..` (there is no entry to act on), and [`Errno::NoEnt`] /
/// [`Errno::NotDir`] when the parent does not exist or is not a directory.
pub(crate) fn resolve_entry(base: &Path, path: &[u8]) -> Result<Entry, Errno> {
    let mut comps = components(path)?;
    let trailing_slash = comps.first() == Some(&Component::Cur) && path.ends_with(b"/");
    if trailing_slash {
        comps.remove(0);
    }
    match comps.first() {
        Some(Component::Normal(_)) => {}
        // `.`, `..` or nothing left: check the path stays inside (to report
        // an escape as one), then refuse.
        _ => {
            walk(base, comps, false)?;
            return Err(Errno::Inval);
        }
    }
    let Component::Normal(name) = comps.remove(0) else {
        return Err(Errno::Inval);
    };
    // The parent must be a directory: walking it with a trailing `.` follows
    // its symlinks and requires a directory at its end.
    comps.insert(0, Component::Cur);
    let dir = walk(base, comps, true)?;
    Ok(Entry {
        dir,
        name,
        trailing_slash,
    })
}

/// Checks that `host`, the path of a directory descriptor below `root`, is
/// still made of real directories: every component below `root` exists, is
/// a directory and is not a symlink.
///
/// A directory descriptor is a path, resolved when it was opened. Since
/// then the guest may have moved a directory and put a symlink in its
/// place; the kernel would follow that symlink when walking the stored path,
/// and a symlink that was harmless where it was made can lead out once the
/// directory holding it moves. So the path is checked again at every use.
///
/// # Errors
///
/// [`Errno::NotCapable`] for a symlink (or a path not below `root`),
/// [`Errno::NotDir`] for a file, and lookup errors such as [`Errno::NoEnt`].
pub(crate) fn verify_dir(root: &Path, host: &Path) -> Result<(), Errno> {
    let below = host.strip_prefix(root).map_err(|_| Errno::NotCapable)?;
    let mut path = root.to_path_buf();
    for c in below.components() {
        let std::path::Component::Normal(name) = c else {
            return Err(Errno::NotCapable);
        };
        path.push(name);
        let meta = fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            return Err(Errno::NotCapable);
        }
        if !meta.is_dir() {
            return Err(Errno::NotDir);
        }
    }
    Ok(())
}

/// Checks that a symlink created in `dir` (a directory inside `root`) with
/// target `target` stays inside `root` when followed: the target is relative
/// and its `..` never climb above `root`.
///
/// # Errors
///
/// [`Errno::NotCapable`] otherwise, and as [`components`] for a malformed target.
pub(crate) fn check_symlink_target(root: &Path, dir: &Path, target: &[u8]) -> Result<(), Errno> {
    let mut depth = dir
        .strip_prefix(root)
        .map_err(|_| Errno::NotCapable)?
        .components()
        .count();
    for c in components(target)?.into_iter().rev() {
        match c {
            Component::Cur => {}
            Component::Parent => depth = depth.checked_sub(1).ok_or(Errno::NotCapable)?,
            Component::Normal(_) => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

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
            symlink("sub", b.join("link_in")).expect("test setup");
            symlink("file", b.join("link_file")).expect("test setup");
            symlink("../secret", b.join("link_out")).expect("test setup");
            symlink("/etc", b.join("abs")).expect("test setup");
            symlink("chain2", b.join("chain1")).expect("test setup");
            symlink("sub/../../secret", b.join("chain2")).expect("test setup");
            symlink("loop2", b.join("loop1")).expect("test setup");
            symlink("loop1", b.join("loop2")).expect("test setup");
            symlink("new", b.join("dangling")).expect("test setup");
            symlink("..", b.join("sub/up")).expect("test setup");
            symlink("../..", b.join("sub/upup")).expect("test setup");
            Tree { root }
        }

        fn base(&self) -> PathBuf {
            self.root.join("box")
        }

        fn resolve(&self, path: &str, follow: bool) -> Result<PathBuf, Errno> {
            resolve(&self.base(), path.as_bytes(), follow)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    #[test]
    fn plain_paths_resolve_inside() {
        let t = Tree::new("plain");
        let b = t.base();
        assert_eq!(t.resolve("file", true), Ok(b.join("file")));
        assert_eq!(t.resolve("sub/inner", true), Ok(b.join("sub/inner")));
        assert_eq!(t.resolve("./sub//inner", true), Ok(b.join("sub/inner")));
        assert_eq!(t.resolve("sub/../file", true), Ok(b.join("file")));
        assert_eq!(t.resolve(".", true), Ok(b.clone()));
        assert_eq!(t.resolve("sub/..", true), Ok(b.clone()));
        assert_eq!(t.resolve("missing", true), Ok(b.join("missing")));
        assert_eq!(t.resolve("sub/", true), Ok(b.join("sub")));
    }

    #[test]
    fn malformed_and_missing_paths() {
        let t = Tree::new("malformed");
        assert_eq!(t.resolve("", true), Err(Errno::NoEnt));
        assert_eq!(t.resolve("a\0b", true), Err(Errno::IlSeq));
        assert_eq!(t.resolve("missing/x", true), Err(Errno::NoEnt));
        assert_eq!(t.resolve("file/x", true), Err(Errno::NotDir));
        assert_eq!(t.resolve("file/", true), Err(Errno::NotDir));
    }

    #[test]
    fn dot_dot_cannot_leave() {
        let t = Tree::new("dotdot");
        assert_eq!(t.resolve("..", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("../secret", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("sub/../../secret", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("./../box/file", true), Err(Errno::NotCapable));
        // Climbing out and back in is still refused: the walk never leaves.
        assert_eq!(
            t.resolve("sub/../../box/file", true),
            Err(Errno::NotCapable)
        );
    }

    #[test]
    fn absolute_paths_are_refused() {
        let t = Tree::new("absolute");
        assert_eq!(t.resolve("/etc/passwd", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("/", true), Err(Errno::NotCapable));
        let inside = t.base().join("file");
        let inside = inside.to_str().expect("test setup");
        assert_eq!(t.resolve(inside, true), Err(Errno::NotCapable));
    }

    #[test]
    fn symlinks_inside_are_followed() {
        let t = Tree::new("symin");
        let b = t.base();
        assert_eq!(t.resolve("link_in/inner", true), Ok(b.join("sub/inner")));
        assert_eq!(t.resolve("link_in/inner", false), Ok(b.join("sub/inner")));
        assert_eq!(t.resolve("link_file", true), Ok(b.join("file")));
        assert_eq!(t.resolve("sub/up/file", true), Ok(b.join("file")));
        assert_eq!(t.resolve("link_in/", false), Ok(b.join("sub")));
        // Not following the last component leaves the link itself.
        assert_eq!(t.resolve("link_file", false), Ok(b.join("link_file")));
        assert_eq!(t.resolve("link_out", false), Ok(b.join("link_out")));
        // A dangling link inside resolves to the name it would create.
        assert_eq!(t.resolve("dangling", true), Ok(b.join("new")));
    }

    #[test]
    fn symlinks_out_are_refused() {
        let t = Tree::new("symout");
        assert_eq!(t.resolve("link_out", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("abs", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("abs/passwd", false), Err(Errno::NotCapable));
        assert_eq!(t.resolve("sub/upup", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("sub/upup/secret", false), Err(Errno::NotCapable));
        assert_eq!(t.resolve("link_in/upup/x", true), Err(Errno::NotCapable));
    }

    #[test]
    fn symlink_chains_are_checked_at_every_link() {
        let t = Tree::new("chain");
        assert_eq!(t.resolve("chain1", true), Err(Errno::NotCapable));
        assert_eq!(t.resolve("chain1", false), Ok(t.base().join("chain1")));
        assert_eq!(t.resolve("loop1", true), Err(Errno::Loop));
        assert_eq!(t.resolve("loop1/x", false), Err(Errno::Loop));
    }

    #[test]
    fn entries_name_their_parent() {
        let t = Tree::new("entry");
        let b = t.base();
        let e = resolve_entry(&b, b"sub/new").expect("sub/ exists");
        assert_eq!(
            (e.dir.clone(), e.name.as_os_str()),
            (b.join("sub"), OsStr::new("new"))
        );
        assert_eq!(e.path(), b.join("sub/new"));
        assert!(!e.trailing_slash);
        let e = resolve_entry(&b, b"link_in/dir/").expect("link_in/ leads to sub/");
        assert_eq!(e.path(), b.join("sub/dir"));
        assert!(e.trailing_slash);
        // The last component is not followed: the entry is the link.
        assert_eq!(
            resolve_entry(&b, b"link_out").map(|e| e.path()),
            Ok(b.join("link_out"))
        );
        assert_eq!(resolve_entry(&b, b"."), Err(Errno::Inval));
        assert_eq!(resolve_entry(&b, b"sub/.."), Err(Errno::Inval));
        assert_eq!(resolve_entry(&b, b".."), Err(Errno::NotCapable));
        assert_eq!(resolve_entry(&b, b"../secret"), Err(Errno::NotCapable));
        assert_eq!(resolve_entry(&b, b"link_out/x"), Err(Errno::NotCapable));
        assert_eq!(resolve_entry(&b, b"abs/x"), Err(Errno::NotCapable));
        assert_eq!(resolve_entry(&b, b"/tmp/x"), Err(Errno::NotCapable));
        assert_eq!(resolve_entry(&b, b"file/x"), Err(Errno::NotDir));
        assert_eq!(resolve_entry(&b, b"missing/x"), Err(Errno::NoEnt));
    }

    #[test]
    fn directory_paths_are_checked_again() {
        let t = Tree::new("verify");
        let (root, b) = (t.root.clone(), t.base());
        assert_eq!(verify_dir(&root, &b), Ok(()));
        assert_eq!(verify_dir(&root, &b.join("sub")), Ok(()));
        assert_eq!(verify_dir(&b, &b), Ok(()));
        assert_eq!(verify_dir(&b, &b.join("link_in")), Err(Errno::NotCapable));
        assert_eq!(verify_dir(&b, &b.join("file")), Err(Errno::NotDir));
        assert_eq!(verify_dir(&b, &b.join("gone")), Err(Errno::NoEnt));
        assert_eq!(verify_dir(&b, &root), Err(Errno::NotCapable));
        // A directory replaced by a symlink after it was resolved.
        fs::rename(b.join("sub"), b.join("moved")).expect("rename");
        symlink("moved", b.join("sub")).expect("symlink");
        assert_eq!(verify_dir(&b, &b.join("sub")), Err(Errno::NotCapable));
    }

    #[test]
    fn symlink_targets_must_stay_inside() {
        let root = Path::new("/r");
        assert_eq!(check_symlink_target(root, root, b"a/b"), Ok(()));
        assert_eq!(
            check_symlink_target(root, Path::new("/r/d"), b"../x"),
            Ok(())
        );
        assert_eq!(
            check_symlink_target(root, root, b"../x"),
            Err(Errno::NotCapable)
        );
        assert_eq!(
            check_symlink_target(root, root, b"a/../../x"),
            Err(Errno::NotCapable)
        );
        assert_eq!(
            check_symlink_target(root, root, b"/etc"),
            Err(Errno::NotCapable)
        );
        assert_eq!(
            check_symlink_target(root, Path::new("/elsewhere"), b"x"),
            Err(Errno::NotCapable)
        );
    }
}
