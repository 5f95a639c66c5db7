//! The small-file cache: what answering a request for a small file needs
//! (validators, type, and the content), keyed by the raw request target,
//! so a hit costs no system call. An entry is trusted for one second; after
//! that the target is resolved again (symlink policy included) and the file
//! re-read unless it is the same file (device and inode) with the same size,
//! modification time and change time: a file rewritten with its old size
//! and date (`cp -p`, `touch -d`) or replaced by a rename is read again.
//!
//! Bounded: files up to [`SMALL_BODY`](super::body::SMALL_BODY), at most
//! [`MAX_BYTES`] and [`MAX_ENTRIES`] in all; when full, the cache is emptied and refills.

use super::conditional::Validators;
use super::response::Head;
use super::status::Status;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
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

/// Which file, and when its inode last changed: what the cache compares
/// besides the validators (a rename puts another inode there; rewriting the
/// old size and date still moves the change time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Identity {
    /// Device and inode.
    pub file: (u64, u64),
    /// Change time (ctime), seconds and nanoseconds.
    pub changed: (i64, i64),
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        Identity {
            file: (meta.dev(), meta.ino()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// A file ready to serve.
#[derive(Debug)]
pub struct FileInfo {
    /// Where it is.
    pub path: PathBuf,
    /// Which file it was, and its change time.
    pub identity: Identity,
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
    /// The keep-alive HTTP/1.1 200 of a small file, head and body, for
    /// the `Date` it carries (so rebuilt once a second at most).
    whole: RefCell<Option<Whole>>,
}

/// A complete response and the `Date` value it was built with.
#[derive(Debug)]
struct Whole {
    date: Rc<str>,
    bytes: Rc<[u8]>,
    head_len: usize,
}

impl FileInfo {
    /// A file ready to serve (`body`: its content, for small files).
    pub fn new(
        path: PathBuf,
        identity: Identity,
        size: u64,
        validators: Validators,
        last_modified: String,
        content_type: String,
        body: Option<Rc<[u8]>>,
    ) -> Self {
        let (fields, full_fields) =
            FileInfo::render_fields(&content_type, size, &last_modified, &validators.etag);
        FileInfo {
            path,
            identity,
            size,
            validators,
            last_modified,
            content_type,
            body,
            fields,
            full_fields,
            whole: RefCell::new(None),
        }
    }

    /// The whole `200 OK` response of a small file on a keep-alive
    /// HTTP/1.1 connection, dated `date`, and the length of its head; the
    /// same bytes for every request within the second. None for a file
    /// sent from disk.
    pub fn whole_response(&self, date: &Rc<str>) -> Option<(Rc<[u8]>, usize)> {
        let body = self.body.as_ref()?;
        let mut whole = self.whole.borrow_mut();
        match &*whole {
            Some(w) if Rc::ptr_eq(&w.date, date) || w.date == *date => {}
            _ => {
                let mut head = Head::new(Status::Ok, date);
                head.rendered_fields(&self.full_fields);
                let mut bytes = head.finish(true, false);
                let head_len = bytes.len();
                bytes.extend_from_slice(body);
                *whole = Some(Whole {
                    date: Rc::clone(date),
                    bytes: Rc::from(bytes),
                    head_len,
                });
            }
        }
        whole.as_ref().map(|w| (Rc::clone(&w.bytes), w.head_len))
    }

    /// The fields every 200 or 206 of this file carries after
    /// Content-Length (see [`FileInfo::fields`]), and a whole-file 200's
    /// (see [`FileInfo::full_fields`]).
    fn render_fields(
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
    /// Used without looking at the file until then.
    fresh_until: Instant,
}

/// Target -> small file (see the [module documentation](self)).
#[derive(Debug, Default)]
pub struct FileCache {
    // foldhash, randomly seeded: a few instructions a lookup where the
    // standard SipHash takes about two hundred, and still no fixed hash a
    // client could aim colliding targets (queries make new keys) at.
    entries: RefCell<HashMap<Vec<u8>, Entry, foldhash::fast::RandomState>>,
    bytes: RefCell<usize>,
}

impl FileCache {
    /// The entry for `target`, if checked less than [`FRESH_FOR`] ago.
    pub fn fresh(&self, target: &[u8], now: Instant) -> Option<Rc<FileInfo>> {
        let entries = self.entries.borrow();
        let e = entries.get(target)?;
        (now < e.fresh_until).then(|| Rc::clone(&e.file))
    }

    /// The content held for `target` if it is still the same file, with
    /// this size and these validators (so a stale entry is refreshed
    /// without reading).
    pub fn same_content(
        &self,
        target: &[u8],
        identity: &Identity,
        size: u64,
        v: &Validators,
    ) -> Option<Rc<[u8]>> {
        let entries = self.entries.borrow();
        let f = &entries.get(target)?.file;
        if f.identity == *identity && f.size == size && f.validators == *v {
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
        let fresh_until = now + FRESH_FOR;
        entries.insert(target.to_vec(), Entry { file, fresh_until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(body: Option<&[u8]>) -> FileInfo {
        let v = Validators {
            etag: "\"5-1\"".into(),
            mtime: 1,
        };
        let size = body.map_or(1 << 20, |b| b.len() as u64);
        FileInfo::new(
            PathBuf::from("/x/a.txt"),
            Identity::default(),
            size,
            v,
            "Thu, 01 Jan 1970 00:00:01 GMT".into(),
            "text/plain".into(),
            body.map(Rc::from),
        )
    }

    #[test]
    fn whole_response_is_the_head_and_body_and_changes_with_the_date() {
        let f = info(Some(b"hello"));
        let d1: Rc<str> = Rc::from("Mon, 30 Nov 2026 20:00:00 GMT");
        let (a, head_len) = f.whole_response(&d1).unwrap();
        let mut head = Head::new(Status::Ok, &d1);
        head.text_field("Content-Type", "text/plain")
            .number_field("Content-Length", 5)
            .rendered_fields(&f.fields);
        let mut want = head.finish(true, false);
        assert_eq!(head_len, want.len());
        want.extend_from_slice(b"hello");
        assert_eq!(&a[..], &want[..]);
        // Within the second: the same bytes, not built again.
        let (b, _) = f.whole_response(&d1).unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        let (b, _) = f.whole_response(&Rc::from(&*d1)).unwrap();
        assert!(Rc::ptr_eq(&a, &b), "an equal date is the same second");
        // The next second: new bytes with the new date.
        let d2: Rc<str> = Rc::from("Mon, 30 Nov 2026 20:00:01 GMT");
        let (c, _) = f.whole_response(&d2).unwrap();
        let text = String::from_utf8_lossy(&c);
        assert!(
            text.contains("\r\nDate: Mon, 30 Nov 2026 20:00:01 GMT\r\n"),
            "{text}"
        );
        assert!(text.ends_with("\r\n\r\nhello"));
        // A file sent from disk has no prepared response.
        assert!(info(None).whole_response(&d2).is_none());
    }
}
