//! Validators and what a request's conditions make of them: `ETag` and
//! `Last-Modified`; `If-Match` / `If-Unmodified-Since` (412),
//! `If-None-Match` / `If-Modified-Since` (304), and a single byte `Range`
//! with `If-Range` (206 or 416), evaluated in RFC 9110 13.2.2's order.

use super::dates::{parse_http_date, unix_secs};
use super::request::Request;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

/// A file's validators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// The strong entity tag, quotes included: size and modification time
    /// in nanoseconds, in hex.
    pub etag: String,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
}

impl Validators {
    /// The validators of a file.
    pub fn of(meta: &Metadata) -> Self {
        let mtime = meta.modified().map(unix_secs).unwrap_or(0);
        let nanos = u64::try_from(meta.mtime_nsec()).unwrap_or(0);
        Validators {
            etag: format!("\"{:x}-{:x}{:08x}\"", meta.len(), mtime, nanos),
            mtime,
        }
    }
}

/// Weak comparison (RFC 9110 8.8.3.2): the opaque tags match, `W/` ignored.
fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// Whether the answer is 412: `If-Match` lists no tag of the
/// representation (compared strongly; `*` matches any representation, and
/// one with no validators, a directory listing, matches nothing else), or,
/// without `If-Match`, the file is newer than a valid
/// `If-Unmodified-Since`.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::conditional::{precondition_failed, Validators};
/// use asyncore_cli::http::request::Request;
/// let v = Validators { etag: "\"a-1\"".into(), mtime: 784_111_777 };
/// let mut r = Request::default();
/// r.if_match = Some("\"x\", \"a-1\"".into());
/// assert!(!precondition_failed(&r, Some(&v)));
/// assert!(precondition_failed(&r, None)); // a listing has no tag
/// r.if_match = Some("W/\"a-1\"".into()); // a weak tag never matches strongly
/// assert!(precondition_failed(&r, Some(&v)));
/// r.if_match = None;
/// r.if_unmodified_since = Some("Sun, 06 Nov 1994 08:49:36 GMT".into());
/// assert!(precondition_failed(&r, Some(&v)));
/// ```
pub fn precondition_failed(req: &Request, v: Option<&Validators>) -> bool {
    if let Some(im) = &req.if_match {
        return !im
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || v.is_some_and(|v| t == v.etag));
    }
    let Some(v) = v else {
        return false;
    };
    req.if_unmodified_since
        .as_deref()
        .and_then(parse_http_date)
        .is_some_and(|since| v.mtime > since)
}

/// Whether the answer is 304: `If-None-Match` lists the tag (or is `*`),
/// or, without `If-None-Match`, the file is not newer than
/// `If-Modified-Since`.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::conditional::{not_modified, Validators};
/// use asyncore_cli::http::request::Request;
/// let v = Validators { etag: "\"a-1\"".into(), mtime: 784_111_777 };
/// let mut r = Request::default();
/// r.if_none_match = Some("\"x\", W/\"a-1\"".into());
/// assert!(not_modified(&r, &v));
/// r.if_none_match = None;
/// r.if_modified_since = Some("Sun, 06 Nov 1994 08:49:37 GMT".into());
/// assert!(not_modified(&r, &v));
/// r.if_modified_since = Some("Sun, 06 Nov 1994 08:49:36 GMT".into());
/// assert!(!not_modified(&r, &v));
/// ```
pub fn not_modified(req: &Request, v: &Validators) -> bool {
    if let Some(inm) = &req.if_none_match {
        return inm
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || weak_eq(t, &v.etag));
    }
    req.if_modified_since
        .as_deref()
        .and_then(parse_http_date)
        .is_some_and(|since| v.mtime <= since)
}

/// What to send of a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// All of it (200): no Range, a Range this server ignores (several
    /// ranges, bad syntax, another unit), or a failed If-Range.
    Full,
    /// Bytes `start..=end` (206).
    Part {
        /// First byte.
        start: u64,
        /// Last byte (inclusive).
        end: u64,
    },
    /// No byte of the range exists (416).
    Unsatisfiable,
}

/// The extent a request asks for.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::conditional::{extent, Extent, Validators};
/// use asyncore_cli::http::request::Request;
/// let v = Validators { etag: "\"a-1\"".into(), mtime: 0 };
/// let ask = |range: &str| {
///     let mut r = Request::default();
///     r.range = Some(range.into());
///     extent(&r, &v, 100)
/// };
/// assert_eq!(ask("bytes=0-9"), Extent::Part { start: 0, end: 9 });
/// assert_eq!(ask("bytes=90-"), Extent::Part { start: 90, end: 99 });
/// assert_eq!(ask("bytes=-10"), Extent::Part { start: 90, end: 99 });
/// assert_eq!(ask("bytes=50-1000"), Extent::Part { start: 50, end: 99 });
/// assert_eq!(ask("bytes=100-"), Extent::Unsatisfiable);
/// assert_eq!(ask("bytes=0-1,5-6"), Extent::Full);
/// ```
pub fn extent(req: &Request, v: &Validators, size: u64) -> Extent {
    let Some(range) = req.range.as_deref() else {
        return Extent::Full;
    };
    if let Some(cond) = req.if_range.as_deref() {
        let cond = cond.trim();
        let holds = if cond.starts_with('"') {
            cond == v.etag // strong comparison
        } else if cond.starts_with("W/") {
            false
        } else {
            parse_http_date(cond) == Some(v.mtime)
        };
        if !holds {
            return Extent::Full;
        }
    }
    let Some((unit, spec)) = range.split_once('=') else {
        return Extent::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Extent::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Extent::Full;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => Extent::Full,
        (true, false) => match num(last) {
            None => Extent::Full,
            Some(0) => Extent::Unsatisfiable,
            Some(_) if size == 0 => Extent::Unsatisfiable,
            Some(n) => Extent::Part {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (false, _) => {
            let Some(start) = num(first) else {
                return Extent::Full;
            };
            let end = if last.is_empty() {
                u64::MAX
            } else {
                match num(last) {
                    Some(e) if e >= start => e,
                    _ => return Extent::Full,
                }
            };
            if start >= size {
                Extent::Unsatisfiable
            } else {
                Extent::Part {
                    start,
                    end: end.min(size - 1),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(range: &str, if_range: Option<&str>) -> Request {
        Request {
            range: Some(range.into()),
            if_range: if_range.map(Into::into),
            ..Request::default()
        }
    }

    #[test]
    fn if_range_decides_between_part_and_full() {
        let v = Validators {
            etag: "\"e\"".into(),
            mtime: 784_111_777,
        };
        let part = Extent::Part { start: 0, end: 0 };
        assert_eq!(extent(&req("bytes=0-0", Some("\"e\"")), &v, 5), part);
        assert_eq!(
            extent(&req("bytes=0-0", Some("\"f\"")), &v, 5),
            Extent::Full
        );
        assert_eq!(
            extent(&req("bytes=0-0", Some("W/\"e\"")), &v, 5),
            Extent::Full
        );
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(extent(&req("bytes=0-0", Some(date)), &v, 5), part);
        let other = "Sun, 06 Nov 1994 08:49:38 GMT";
        assert_eq!(extent(&req("bytes=0-0", Some(other)), &v, 5), Extent::Full);
    }

    #[test]
    fn odd_ranges() {
        let v = Validators {
            etag: "\"e\"".into(),
            mtime: 0,
        };
        assert_eq!(extent(&req("bytes=5-2", None), &v, 10), Extent::Full);
        assert_eq!(extent(&req("items=0-1", None), &v, 10), Extent::Full);
        assert_eq!(
            extent(&req("bytes=-0", None), &v, 10),
            Extent::Unsatisfiable
        );
        assert_eq!(extent(&req("bytes=0-", None), &v, 0), Extent::Unsatisfiable);
        assert_eq!(extent(&req("bytes=-5", None), &v, 0), Extent::Unsatisfiable);
        assert_eq!(
            extent(&req("bytes=-50", None), &v, 10),
            Extent::Part { start: 0, end: 9 }
        );
        assert_eq!(extent(&req("bytes=x-1", None), &v, 10), Extent::Full);
    }
}
