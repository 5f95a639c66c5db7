//! What every connection of one server shares: the root, the policy, the
//! limits, and the `Date` header of the current second.

use super::cache::FileCache;
use super::dates::{http_date, unix_secs};
use super::mime::MimeTable;
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Longest request line (method, target, version): past it, 414.
pub const MAX_REQUEST_LINE: usize = 8 << 10;
/// Largest request head (request line and header fields): past it, 431.
pub const MAX_HEAD: usize = 32 << 10;
/// Largest request body consumed (and discarded): past it, 413.
pub const MAX_BODY: u64 = 1 << 20;

/// A server's settings, shared by its connections.
#[derive(Debug)]
pub struct Config {
    /// The served directory, canonical.
    pub root: PathBuf,
    /// Serve symlinks that resolve outside the root.
    pub follow_symlinks: bool,
    /// Content-Type by extension.
    pub mime: MimeTable,
    /// Write the access log to stdout.
    pub access_log: bool,
    /// Time allowed for a request head (and body) to arrive once begun.
    pub header_timeout: Duration,
    /// Time an idle keep-alive connection is kept.
    pub keep_alive_timeout: Duration,
    /// Time a response may wait without the client reading any of it.
    pub send_timeout: Duration,
    /// Cache small files.
    pub cache_files: bool,
    /// Small files, by request target.
    pub cache: FileCache,
    /// The `Date` value and the second it was made for.
    date: RefCell<(u64, String)>,
}

impl Config {
    /// Settings with the default timeouts (10 s head, 15 s keep-alive, 60 s send).
    pub fn new(root: PathBuf) -> Self {
        Config {
            root,
            follow_symlinks: false,
            mime: MimeTable::default(),
            access_log: true,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(15),
            send_timeout: Duration::from_secs(60),
            cache_files: true,
            cache: FileCache::default(),
            date: RefCell::new((u64::MAX, String::new())),
        }
    }

    /// Now, in seconds since the epoch, and the `Date` header value for it
    /// (formatted once per second).
    pub fn now(&self) -> (u64, std::cell::Ref<'_, String>) {
        let secs = unix_secs(SystemTime::now());
        if self.date.borrow().0 != secs {
            *self.date.borrow_mut() = (secs, http_date(secs));
        }
        (secs, std::cell::Ref::map(self.date.borrow(), |d| &d.1))
    }
}
