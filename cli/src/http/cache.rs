//! The small-file cache: what answering a request for a small file needs
//! (validators, type, and the content), keyed by the raw request target,
//! so a hit costs no system call. An entry is trusted for one second; after
//! that the target is resolved again (symlink policy included) and the file
//! re-read only if its size or modification time changed.
//!
//! Bounded: files up to [`SMALL_BODY`](super::body::SMALL_BODY), at most
//! [`MAX_BYTES`] and [`MAX_ENTRIES`] in all; when full, the cache is emptied and refills.

use super::conditional::Validators;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Most content bytes held.
pub const MAX_BYTES: usize = 16 << 20;

/// Most entries held (targets differing only in their query are
/// different entries).
pub const MAX_ENTRIES: usize = 4096;

/// How long an entry is used without looking at the file again.
pub const FRESH_FOR: Duration = Duration::from_secs(1);

/// A file ready to serve.
#[derive(Debug)]
pub struct FileInfo {
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// ETag and modification time.
    pub validators: Validators,
    /// The `Last-Modified` value.
    pub last_modified: String,
    /// The `Content-Type` value.
    pub content_type: String,
    /// The whole content, for small files.
    pub body: Option<Rc<[u8]>>,
    /// The head's fields after Content-Length for a 200 or 206, rendered
    /// once: `Last-Modified`, `ETag`, `Accept-Ranges`, each with its CRLF.
    pub fields: String,
    /// A whole-file 200's fields, rendered once: `Content-Type`,
    /// `Content-Length`, then [`fields`](FileInfo::fields).
    pub full_fields: String,
}

impl FileInfo {
    /// The fields every 200 or 206 of this file carries after
    /// Content-Length (see [`FileInfo::fields`]), and a whole-file 200's
    /// (see [`FileInfo::full_fields`]).
    pub fn render_fields(
        content_type: &str,
        size: u64,
        last_modified: &str,
        etag: &str,
    ) -> (String, String) {
        let fields =
            format!("Last-Modified: {last_modified}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\n");
        let full = format!("Content-Type: {content_type}\r\nContent-Length: {size}\r\n{fields}");
        (fields, full)
    }
}

#[derive(Debug)]
struct Entry {
    file: Rc<FileInfo>,
    checked: Instant,
}

/// Target -> small file (see the [module documentation](self)).
#[derive(Debug, Default)]
pub struct FileCache {
    entries: RefCell<HashMap<Vec<u8>, Entry>>,
    bytes: RefCell<usize>,
}

impl FileCache {
    /// The entry for `target`, if checked less than [`FRESH_FOR`] ago.
    pub fn fresh(&self, target: &[u8], now: Instant) -> Option<Rc<FileInfo>> {
        let entries = self.entries.borrow();
        let e = entries.get(target)?;
        (now.saturating_duration_since(e.checked) < FRESH_FOR).then(|| Rc::clone(&e.file))
    }

    /// The content held for `target` if the file still has this size and
    /// validators (so a stale entry is refreshed without reading).
    pub fn same_content(&self, target: &[u8], size: u64, v: &Validators) -> Option<Rc<[u8]>> {
        let entries = self.entries.borrow();
        let f = &entries.get(target)?.file;
        if f.size == size && f.validators == *v {
            f.body.clone()
        } else {
            None
        }
    }

    /// Stores `file` (which must carry its body) for `target`.
    pub fn insert(&self, target: &[u8], file: Rc<FileInfo>, now: Instant) {
        let Some(len) = file.body.as_ref().map(|b| b.len()) else {
            return;
        };
        let mut entries = self.entries.borrow_mut();
        let mut bytes = self.bytes.borrow_mut();
        if let Some(old) = entries.remove(target) {
            *bytes -= old.file.body.as_ref().map_or(0, |b| b.len());
        }
        if *bytes + len > MAX_BYTES || entries.len() >= MAX_ENTRIES {
            entries.clear();
            *bytes = 0;
        }
        *bytes += len;
        entries.insert(target.to_vec(), Entry { file, checked: now });
    }
}
