//! From target segments to a file or directory below the root, opened, with
//! the symlink policy applied.
//!
//! Policy: a path whose components include a symlink is served only if the
//! fully resolved path is still below the (resolved) root, unless
//! `--follow-symlinks` is given; otherwise 403. Only regular files and
//! directories are served (a FIFO or device would block or never end): 403.
//!
//! The rule is checked on the file that was opened, where the kernel says it
//! is (`/proc/self/fd`), not on the path before the open: a symlink swapped
//! in by someone with write access to the root, between a check and the
//! open, cannot slip through. What is answered is read from that open file;
//! a large body, sent later, is opened again with [`reopen_same`], which
//! refuses anything but the same file.

use super::status::Status;
use super::target::Target;
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What a target names, opened.
#[derive(Debug)]
pub struct Resolved {
    /// The path below the root.
    pub path: PathBuf,
    /// Its metadata (of the open file).
    pub meta: Metadata,
    /// The file or directory, open for reading.
    pub file: File,
}

impl Resolved {
    /// A path that names the open directory itself (for listing it), or the
    /// path when `/proc` is not there.
    pub fn dir_path(&self) -> PathBuf {
        let by_fd = fd_path(&self.file);
        if by_fd.exists() {
            by_fd
        } else {
            self.path.clone()
        }
    }
}

/// The status for a failure to look at or open a path.
pub fn status_of(e: &io::Error) -> Status {
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::PermissionDenied, _) => Status::Forbidden,
        // Out of descriptors or memory: the file is there, try again later.
        (_, Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)) => Status::Unavailable,
        _ => Status::NotFound, // NotFound, ENOTDIR, ELOOP, ENAMETOOLONG ...
    }
}

/// Resolves `segments` (plus `extra`, e.g. `index.html`) below `root`,
/// which must be canonical, and opens what they name.
pub fn resolve(
    root: &Path,
    segments: &[Vec<u8>],
    extra: Option<&str>,
    follow_symlinks: bool,
) -> Result<Resolved, Status> {
    let mut path = root.to_path_buf();
    let names = segments
        .iter()
        .map(|s| std::ffi::OsStr::from_bytes(s))
        .chain(extra.map(std::ffi::OsStr::new));
    for name in names {
        path.push(name);
    }
    let (file, meta) = open_below(root, &path, follow_symlinks)?;
    Ok(Resolved { path, meta, file })
}

/// [`resolve`] for a parsed [`Target`].
pub fn resolve_target(root: &Path, target: &Target, follow: bool) -> Result<Resolved, Status> {
    resolve(root, &target.segments, None, follow)
}

/// Opens `path` if it is a regular file or a directory that is, as opened,
/// below `root` (anywhere with `follow_symlinks`).
pub fn open_below(
    root: &Path,
    path: &Path,
    follow_symlinks: bool,
) -> Result<(File, Metadata), Status> {
    // Not even opened unless it looks like a file or a directory: opening a
    // FIFO would block, a device may act on the open.
    let first = std::fs::metadata(path).map_err(|e| status_of(&e))?;
    if !first.is_file() && !first.is_dir() {
        return Err(Status::Forbidden);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        // Swapped for a FIFO meanwhile: the open does not block.
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| status_of(&e))?;
    let meta = file.metadata().map_err(|e| status_of(&e))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(Status::Forbidden);
    }
    if !follow_symlinks {
        // Where the open file really is; without /proc, where the path
        // leads now (checked before the open, which a swap can beat).
        let real = std::fs::read_link(fd_path(&file))
            .or_else(|_| std::fs::canonicalize(path))
            .map_err(|e| status_of(&e))?;
        if !real.starts_with(root) {
            return Err(Status::Forbidden);
        }
    }
    Ok((file, meta))
}

/// Opens `path` again for a body sent after its head: it must be the same
/// file as the one answered (`file`: device and inode), still below `root`
/// as opened.
pub fn reopen_same(
    root: &Path,
    path: &Path,
    follow_symlinks: bool,
    file: (u64, u64),
) -> io::Result<File> {
    let refused = |why: &str| io::Error::other(format!("{}: {why}", path.display()));
    let (opened, meta) = open_below(root, path, follow_symlinks)
        .map_err(|status| refused(&format!("now {}", status.code())))?;
    if (meta.dev(), meta.ino()) != file {
        return Err(refused("replaced after its head was sent"));
    }
    Ok(opened)
}

/// `/proc/self/fd/N` for `file`.
fn fd_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree(PathBuf);

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// `base/outside.txt`, `base/root/in.txt`, `base/root/out` → outside.
    fn tree(tag: &str) -> (Tree, PathBuf) {
        let base = std::env::temp_dir().join(format!("resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("root")).unwrap();
        std::fs::write(base.join("outside.txt"), "secret").unwrap();
        std::fs::write(base.join("root/in.txt"), "inside").unwrap();
        std::os::unix::fs::symlink(base.join("outside.txt"), base.join("root/out")).unwrap();
        let root = std::fs::canonicalize(base.join("root")).unwrap();
        (Tree(base), root)
    }

    // The decision is made on the opened file, whatever was checked before:
    // `open_below` itself refuses a path that leads out, so a path that was
    // fine when looked at and is a link when opened is refused too.
    #[test]
    fn the_opened_file_is_what_is_checked() {
        let (_t, root) = tree("opened");
        let (_, meta) = open_below(&root, &root.join("in.txt"), false).unwrap();
        assert!(meta.is_file());
        let refused = open_below(&root, &root.join("out"), false).unwrap_err();
        assert_eq!(refused, Status::Forbidden);
        assert!(open_below(&root, &root.join("out"), true).is_ok());
        assert_eq!(
            open_below(&root, &root.join("missing"), false).unwrap_err(),
            Status::NotFound
        );
    }

    // A body sent later comes from the same file or not at all.
    #[test]
    fn a_replaced_file_is_not_sent_for_the_old_head() {
        let (_t, root) = tree("replaced");
        let path = root.join("in.txt");
        let (_, meta) = open_below(&root, &path, false).unwrap();
        let answered = (meta.dev(), meta.ino());
        assert!(reopen_same(&root, &path, false, answered).is_ok());
        let fresh = root.join("in.new");
        std::fs::write(&fresh, "replaced").unwrap();
        std::fs::rename(&fresh, &path).unwrap();
        let e = reopen_same(&root, &path, false, answered).unwrap_err();
        assert!(e.to_string().contains("replaced"), "{e}");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(root.join("../outside.txt"), &path).unwrap();
        let e = reopen_same(&root, &path, false, answered).unwrap_err();
        assert!(e.to_string().contains("now 403"), "{e}");
    }
}
