//! What every connection of one server shares: the root, the policy, the
//! limits, and the `Date` header of the current second.

use super::cache::FileCache;
use super::dates::{http_date, unix_secs};
use super::mime::MimeTable;
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    date: RefCell<(u64, Rc<str>)>,
    /// Until when (on the monotonic clock) that second lasts, as far as
    /// [`date_at`](Config::date_at) can tell without reading the wall clock.
    date_until: Cell<Option<Instant>>,
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
            date: RefCell::new((u64::MAX, Rc::from(""))),
            date_until: Cell::new(None),
        }
    }

    /// Now, in seconds since the epoch, and the `Date` header value for it
    /// (formatted once per second).
    pub fn now(&self) -> (u64, Rc<str>) {
        let secs = unix_secs(SystemTime::now());
        let mut date = self.date.borrow_mut();
        if date.0 != secs {
            *date = (secs, Rc::from(http_date(secs)));
        }
        (secs, Rc::clone(&date.1))
    }

    /// The `Date` header value for now (see [`now`](Config::now)).
    pub fn date(&self) -> Rc<str> {
        self.now().1
    }

    /// [`date`](Config::date) for `now`, a monotonic reading the caller
    /// made anyway: within the second of the last value, no wall-clock read.
    pub fn date_at(&self, now: Instant) -> Rc<str> {
        if let Some(until) = self.date_until.get() {
            if now < until {
                return Rc::clone(&self.date.borrow().1);
            }
        }
        let wall = SystemTime::now();
        let into_second = wall.duration_since(UNIX_EPOCH).map_or(Duration::ZERO, |d| {
            Duration::from_nanos(d.subsec_nanos().into())
        });
        self.date_until
            .set(Some(now + (Duration::from_secs(1) - into_second)));
        let secs = unix_secs(wall);
        let mut date = self.date.borrow_mut();
        if date.0 != secs {
            *date = (secs, Rc::from(http_date(secs)));
        }
        Rc::clone(&date.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_at_reuses_the_second_and_agrees_with_the_wall_clock() {
        let c = Config::new(PathBuf::from("."));
        let t = Instant::now();
        let a = c.date_at(t);
        let b = c.date_at(t);
        assert!(Rc::ptr_eq(&a, &b), "same second: no new value");
        // Well past the second: read again, and it is what `date` says
        // (unless the wall clock ticked in between: then retry once).
        let later = c.date_at(t + Duration::from_secs(2));
        let wall = c.date();
        assert!(later == wall || c.date_at(t + Duration::from_secs(4)) == c.date());
        assert_eq!(a.len(), "Thu, 01 Jan 1970 00:00:00 GMT".len());
    }
}
