//! The request target, turned into path segments below the served root.
//!
//! The raw target is split from its query, percent-decoded exactly once, and
//! split on `/`. Empty and `.` segments are dropped; a `..` segment, a
//! backslash, a NUL or a broken `%` escape refuse the request (400), whatever
//! encoding carried them, so no segment can climb out of the root. A
//! segment decoded from `%252e%252e` is the literal name `%2e%2e`.
//! Absolute-form targets (`http://host/path`) are reduced to their path.

use super::percent;
use super::status::Status;

/// A request target as segments of a path below the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The decoded segments, none empty, `.` or `..`, none holding `/`,
    /// `\` or NUL.
    pub segments: Vec<Vec<u8>>,
    /// The path ended with `/` (or was `/`).
    pub trailing_slash: bool,
    /// The query, raw, without its `?`.
    pub query: Option<String>,
}

impl Target {
    /// The path re-encoded from the segments: `/` followed by the
    /// percent-encoded segments, each followed by `/` when `dir`. It starts
    /// with exactly one `/`, so it never reads as `//host` or `/\host`.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_cli::http::target::parse_target;
    /// let t = parse_target(b"//evil.example/%2e/a%20b").unwrap();
    /// assert_eq!(t.path(true), "/evil.example/a%20b/");
    /// ```
    pub fn path(&self, dir: bool) -> String {
        let mut out = String::from("/");
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(&percent::encode_segment(s));
        }
        if dir && !self.segments.is_empty() {
            out.push('/');
        }
        out
    }
}

/// Strips `http://authority` (any case, `https` too) from an absolute-form
/// target; the path is what follows the authority (`/` if nothing does).
fn origin_form(raw: &[u8]) -> &[u8] {
    let lower: Vec<u8> = raw.iter().take(8).map(u8::to_ascii_lowercase).collect();
    let rest = if lower.starts_with(b"http://") {
        &raw[7..]
    } else if lower.starts_with(b"https://") {
        &raw[8..]
    } else {
        return raw;
    };
    match rest.iter().position(|&b| b == b'/' || b == b'?') {
        Some(i) if rest[i] == b'/' => &rest[i..],
        Some(_) => b"?", // "http://h?q": no path; refused by the `/` check
        None => b"/",
    }
}

/// Parses a raw request target (see the [module documentation](self)).
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::target::parse_target;
/// use asyncore_cli::http::status::Status;
/// let t = parse_target(b"/docs/%C3%A9t%C3%A9.txt?x=1").unwrap();
/// assert_eq!(t.segments, [b"docs".to_vec(), "été.txt".as_bytes().to_vec()]);
/// assert_eq!(t.query.as_deref(), Some("x=1"));
/// assert_eq!(parse_target(b"/a/%2e%2e/%2e%2e/etc/passwd"), Err(Status::BadRequest));
/// assert_eq!(parse_target(b"/%252e%252e").unwrap().segments, [b"%2e%2e".to_vec()]);
/// ```
pub fn parse_target(raw: &[u8]) -> Result<Target, Status> {
    let raw = origin_form(raw);
    if raw.first() != Some(&b'/') {
        return Err(Status::BadRequest);
    }
    let raw = raw.split(|&b| b == b'#').next().unwrap_or_default();
    let (path, query) = match raw.iter().position(|&b| b == b'?') {
        Some(q) => (
            &raw[..q],
            Some(String::from_utf8_lossy(&raw[q + 1..]).into_owned()),
        ),
        None => (raw, None),
    };
    let decoded = percent::decode(path).ok_or(Status::BadRequest)?;
    if decoded.contains(&0) || decoded.contains(&b'\\') {
        return Err(Status::BadRequest);
    }
    let mut segments = Vec::new();
    for s in decoded.split(|&b| b == b'/') {
        match s {
            b"" | b"." => {}
            b".." => return Err(Status::BadRequest),
            _ => segments.push(s.to_vec()),
        }
    }
    Ok(Target {
        segments,
        trailing_slash: decoded.ends_with(b"/"),
        query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_traversal_form_is_refused() {
        for raw in [
            &b"/../etc/passwd"[..],
            b"/a/../../etc/passwd",
            b"/%2e%2e/etc/passwd",
            b"/%2E%2E%2Fetc%2Fpasswd",
            b"/.%2e/etc",
            b"/a%2f..%2f..%2fetc",
            b"/..%5c..%5cetc",
            b"/a\\..\\etc",
            b"/%00",
            b"/a%0",
            b"http://x/../etc",
            b"*",
            b"../etc",
        ] {
            assert_eq!(
                parse_target(raw),
                Err(Status::BadRequest),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn double_encoding_is_decoded_once_and_slashes_collapse() {
        let t = parse_target(b"/%252e%252e/%252fx").unwrap();
        assert_eq!(t.segments, [b"%2e%2e".to_vec(), b"%2fx".to_vec()]);
        let t = parse_target(b"//./a//b/").unwrap();
        assert_eq!(t.segments, [b"a".to_vec(), b"b".to_vec()]);
        assert!(t.trailing_slash);
        assert_eq!(t.path(true), "/a/b/");
    }

    #[test]
    fn absolute_form_is_reduced_to_its_path() {
        let t = parse_target(b"HTTP://example.com//x/y").unwrap();
        assert_eq!(t.segments, [b"x".to_vec(), b"y".to_vec()]);
        assert!(parse_target(b"http://example.com")
            .unwrap()
            .segments
            .is_empty());
        assert_eq!(parse_target(b"http://h?q"), Err(Status::BadRequest));
    }

    #[test]
    fn location_never_starts_with_two_slashes_or_a_backslash() {
        for raw in [
            &b"//evil.com"[..],
            b"/%2f%2fevil.com",
            b"/%2F/evil",
            b"///\\evil",
        ] {
            if let Ok(t) = parse_target(raw) {
                let loc = t.path(true);
                assert!(!loc.starts_with("//") && !loc.starts_with("/\\"), "{loc}");
            }
        }
    }
}
