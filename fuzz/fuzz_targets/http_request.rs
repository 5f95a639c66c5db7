//! Fuzzes `asyncore http`'s request head parser and target resolution:
//! any bytes as a head. Never panics; a target that parses yields segments
//! that cannot climb out of the root, and re-encodes to a path that parses
//! back to the same segments and never starts with `//` or `/\`; a range
//! always lies inside the file. Parsing into a request that held another
//! one (a connection reuses it) gives exactly what a fresh parse gives.
#![no_main]

use asyncore_cli::http::conditional::{extent, Extent, Validators};
use asyncore_cli::http::request::{parse_head, parse_head_into, Request};
use asyncore_cli::http::target::parse_target;
use libfuzzer_sys::fuzz_target;

/// A request with every field set, as the previous one on a connection.
fn used() -> Request {
    parse_head(
        b"GET /old?q HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nIf-None-Match: \"x\"\r\n\
          If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\nRange: bytes=0-1\r\nIf-Range: \"x\"\r\n",
    )
    .expect("a valid head")
}

fuzz_target!(|data: &[u8]| {
    let fresh = parse_head(data);
    let mut reused = used();
    let again = parse_head_into(data, &mut reused);
    assert_eq!(fresh.as_ref().err(), again.as_ref().err());
    let Ok(req) = fresh else {
        return;
    };
    assert_eq!(req, reused, "state left over from the previous request");
    assert!(!req.transfer_encoding || req.content_length == 0);
    if let Ok(t) = parse_target(&req.target) {
        for s in &t.segments {
            assert!(!s.is_empty() && s != b"." && s != b"..");
            assert!(!s.contains(&b'/') && !s.contains(&b'\\') && !s.contains(&0));
        }
        for dir in [false, true] {
            let path = t.path(dir);
            assert!(path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\"));
            let again = parse_target(path.as_bytes()).expect("a re-encoded path parses");
            assert_eq!(again.segments, t.segments);
        }
    }
    let v = Validators {
        etag: "\"1-2\"".into(),
        mtime: 784_111_777,
    };
    let size = u64::from(data.first().copied().unwrap_or(0)) * 7;
    if let Extent::Part { start, end } = extent(&req, &v, size) {
        assert!(start <= end && end < size);
    }
});
