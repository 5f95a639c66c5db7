//! From target segments to a file or directory below the root, with the
//! symlink policy applied.
//!
//! Policy: a path whose components include a symlink is served only if the
//! fully resolved path is still below the (resolved) root, unless
//! `--follow-symlinks` is given; otherwise 403. Only regular files and
//! directories are served (a FIFO or device would block or never end): 403.
//! The check and the open are separate steps, so a symlink swapped in
//! between them by someone with write access to the root is not caught.

use super::status::Status;
use super::target::Target;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a target names.
#[derive(Debug)]
pub struct Resolved {
    /// The path below the root.
    pub path: PathBuf,
    /// Its metadata (symlinks followed).
    pub meta: Metadata,
}

fn status_of(e: &io::Error) -> Status {
    match e.kind() {
        io::ErrorKind::PermissionDenied => Status::Forbidden,
        _ => Status::NotFound, // NotFound, ENOTDIR, ELOOP, ENAMETOOLONG ...
    }
}

/// Resolves `segments` (plus `extra`, e.g. `index.html`) below `root`,
/// which must be canonical.
pub fn resolve(
    root: &Path,
    segments: &[Vec<u8>],
    extra: Option<&str>,
    follow_symlinks: bool,
) -> Result<Resolved, Status> {
    let mut path = root.to_path_buf();
    let mut through_symlink = false;
    let names = segments
        .iter()
        .map(|s| std::ffi::OsStr::from_bytes(s))
        .chain(extra.map(std::ffi::OsStr::new));
    for name in names {
        path.push(name);
        if !follow_symlinks && !through_symlink {
            let meta = std::fs::symlink_metadata(&path).map_err(|e| status_of(&e))?;
            through_symlink = meta.file_type().is_symlink();
        }
    }
    if through_symlink {
        let real = std::fs::canonicalize(&path).map_err(|e| status_of(&e))?;
        if !real.starts_with(root) {
            return Err(Status::Forbidden);
        }
    }
    let meta = std::fs::metadata(&path).map_err(|e| status_of(&e))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(Status::Forbidden);
    }
    Ok(Resolved { path, meta })
}

/// [`resolve`] for a parsed [`Target`].
pub fn resolve_target(root: &Path, target: &Target, follow: bool) -> Result<Resolved, Status> {
    resolve(root, &target.segments, None, follow)
}
