//! The parser against sample responses, fed in every possible split.

use super::*;

/// Everything a run of the parser produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    head: Option<Head>,
    heads: usize,
    body: Vec<u8>,
    trailers: Vec<(String, String)>,
    /// `Ok(true)`: done before end of stream; `Ok(false)`: done at it.
    result: Result<bool, ParseError>,
}

/// Feeds `parts` in order, then end of stream (unless already done).
fn run(parts: &[&[u8]]) -> Outcome {
    run_with(ResponseParser::new(), parts)
}

/// `run` with a parser of the caller's.
fn run_with(mut p: ResponseParser, parts: &[&[u8]]) -> Outcome {
    let mut out = Outcome {
        head: None,
        heads: 0,
        body: Vec::new(),
        trailers: Vec::new(),
        result: Ok(false),
    };
    'parts: for part in parts {
        let mut rest: &[u8] = part;
        loop {
            match p.advance(rest) {
                Err(e) => {
                    out.result = Err(e);
                    return out;
                }
                Ok((n, event)) => {
                    assert!(n <= rest.len());
                    rest = &rest[n..];
                    match event {
                        Event::NeedMore => {
                            assert!(rest.is_empty(), "NeedMore must take all input");
                            break;
                        }
                        Event::Head(h) => {
                            out.heads += 1;
                            out.head = Some(h);
                        }
                        Event::Body(b) => {
                            assert!(!b.is_empty(), "no empty body events");
                            out.body.extend_from_slice(b)
                        }
                        Event::Done => {
                            out.result = Ok(true);
                            break 'parts;
                        }
                    }
                }
            }
        }
    }
    if out.result == Ok(false) {
        out.result = p.finish().map(|()| false);
    }
    out.trailers = p.trailers().to_vec();
    assert_eq!(p.body_received(), out.body.len() as u64);
    out
}

/// Every split into two and three pieces, and one byte at a time, must give
/// what the whole input gives.
fn check_splits(input: &[u8]) -> Outcome {
    let whole = run(&[input]);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "one byte at a time");
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(&[a, b]), whole, "split at {i}");
    }
    if input.len() <= 260 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let parts = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(run(&parts), whole, "split at {i} and {j}");
            }
        }
    }
    whole
}

fn ok(input: &[u8], status: u16, body: &[u8], before_eof: bool) -> Outcome {
    let out = check_splits(input);
    assert_eq!(
        out.result,
        Ok(before_eof),
        "{}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(out.heads, 1);
    assert_eq!(out.head.as_ref().map(|h| h.status), Some(status));
    assert_eq!(out.body, body);
    out
}

fn err(input: &[u8], truncated: bool, contains: &str) -> Outcome {
    let out = check_splits(input);
    match &out.result {
        Err(e) => {
            assert_eq!(e.truncated, truncated, "{e}");
            assert!(e.message.contains(contains), "{e:?} lacks {contains:?}");
        }
        Ok(_) => panic!("accepted: {}", String::from_utf8_lossy(input)),
    }
    out
}

#[test]
fn accessors_before_and_after_the_head() {
    let mut p = ResponseParser::new();
    assert!(!p.is_done());
    assert_eq!(p.framing(), None);
    assert_eq!(p.body_received(), 0);
    assert!(p.trailers().is_empty());
    p.advance(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
    assert_eq!(p.framing(), Some(Framing::Close));
    p.advance(b"12345").unwrap();
    assert_eq!(p.body_received(), 5);
    assert!(
        !p.is_done(),
        "a close-delimited body ends only at the close"
    );
    p.finish().unwrap();
    assert!(p.is_done());
    assert!(p.trailers().is_empty(), "no trailers without chunking");

    let mut p = ResponseParser::new();
    p.advance(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
    assert_eq!(p.framing(), Some(Framing::Empty));
    assert!(p.is_done());
}

#[test]
fn content_length() {
    let input = b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 11\r\n\r\nhello world";
    let out = ok(input, 200, b"hello world", true);
    let head = out.head.unwrap();
    assert_eq!(head.version, "HTTP/1.1");
    assert_eq!(head.reason, "OK");
    assert_eq!(head.header("content-length"), Some("11"));
    assert_eq!(head.raw, &input[..input.len() - 11]);
    // Bytes after the body are ignored.
    ok(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA",
        200,
        b"hi",
        true,
    );
    ok(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        200,
        b"",
        true,
    );
    // Repeated identical values are one value.
    ok(
        b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-length: 3\r\n\r\nabc",
        200,
        b"abc",
        true,
    );
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value\r\nhello\r\n1 ; quoted=\"a;b\"\r\n \r\nA\r\n0123456789\r\n\
        0;last\r\nX-Checksum: abc\r\nX-Other:  d \r\n\r\n";
    let out = ok(input, 200, b"hello 0123456789", true);
    assert_eq!(
        out.trailers,
        [
            ("X-Checksum".to_string(), "abc".to_string()),
            ("X-Other".to_string(), "d".to_string())
        ]
    );
    // Upper-case hex and coding name, no trailers.
    ok(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n",
        200,
        b"0123456789abcdef0123456789abcde",
        true,
    );
    // Another coding before chunked: its bytes cannot be decoded here, so
    // they are refused rather than written as the body.
    err(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n1F\r\n0123456789abcdef0123456789abcde\r\n0\r\n\r\n",
        false,
        "unsupported transfer coding \"gzip\"",
    );
    // Transfer-Encoding wins over Content-Length.
    ok(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        200,
        b"ok",
        true,
    );
}

#[test]
fn close_delimited_and_http_1_0() {
    let out = ok(
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end\r\n\r\n",
        200,
        b"until the end\r\n\r\n",
        false,
    );
    assert_eq!(out.head.unwrap().version, "HTTP/1.0");
    // A transfer coding other than chunked is refused, not written out.
    err(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz",
        false,
        "unsupported transfer coding \"gzip\"",
    );
    err(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        false,
        "unsupported transfer coding \"br\"",
    );
    ok(b"HTTP/1.0 200 OK\r\n\r\n", 200, b"", false);
}

#[test]
fn bodiless_statuses_and_interim_responses() {
    ok(
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        204,
        b"",
        true,
    );
    ok(b"HTTP/1.1 304 Not Modified\r\n\r\n", 304, b"", true);
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
    let out = ok(input, 200, b"x", true);
    let head = out.head.unwrap();
    assert_eq!(head.headers.len(), 1, "interim headers are dropped");
    assert!(head.raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(head.interim.is_empty(), "not kept unless asked");
    let kept = run_with(ResponseParser::new().keeping_interim(), &[input]);
    let head = kept.head.unwrap();
    assert_eq!(
        head.interim,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        "interim heads kept as received, for -i"
    );
    assert!(head.raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

#[test]
fn lenient_forms() {
    // Bare LF line ends, no reason phrase, an obs-fold continuation.
    let out = ok(
        b"HTTP/1.1 404\nX-Long: a\n  b\nContent-Length: 2\n\nno",
        404,
        b"no",
        true,
    );
    let head = out.head.unwrap();
    assert_eq!(head.header("x-long"), Some("a b"));
    assert_eq!(head.status_line(), "HTTP/1.1 404");
    // Chunks with bare LF.
    ok(
        b"HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n",
        200,
        b"ab",
        true,
    );
    // A reason phrase with spaces.
    let out = ok(
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
        500,
        b"",
        true,
    );
    assert_eq!(out.head.unwrap().reason, "Internal Server Error");
}

#[test]
fn malformed() {
    err(b"SPAM SPAM SPAM\r\n\r\n", false, "status line");
    err(b"HTTP/2 200 OK\r\n\r\n", false, "status line");
    err(b"HTTP/1.1 2000 OK\r\n\r\n", false, "status line");
    err(b"HTTP/1.1 099 Low\r\n\r\n", false, "status line");
    err(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", false, "without ':'");
    err(b"HTTP/1.1 200 OK\r\n\tfold\r\n\r\n", false, "continuation");
    err(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false, "name");
    err(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
        false,
        "conflicting",
    );
    err(
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        false,
        "Content-Length",
    );
    err(
        b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
        false,
        "Content-Length",
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (bad, why) in [
        (&b"zz\r\n"[..], "chunk size"),
        (b"\r\n", "chunk size"),
        (b";ext\r\n", "chunk size"),
        (b"-1\r\n", "chunk size"),
        (b"1234567890abcdef0\r\n", "chunk size"),
        (b"2\r\nabc\r\n0\r\n\r\n", "longer than its size"),
        (b"0\r\nnot a trailer\r\n\r\n", "without ':'"),
    ] {
        let input = [&chunked[..], bad].concat();
        err(&input, false, why);
    }
}

#[test]
fn truncated() {
    err(b"", true, "without a response");
    err(b"HTTP/1.1 200 OK\r\nContent-Le", true, "inside the head");
    err(b"HTTP/1.1 200", true, "inside the head");
    err(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
        true,
        "after 5 of 10 bytes",
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for cut in [
        &b"5\r\nhel"[..],
        b"5\r\nhello",
        b"5\r\nhello\r\n",
        b"5\r\nhello\r\n0\r\n",
    ] {
        let input = [&chunked[..], cut].concat();
        let out = err(&input, true, "");
        assert_eq!(out.body, &cut[3..cut.len().min(8)]);
    }
}

#[test]
fn limits() {
    let long = [
        &b"HTTP/1.1 200 OK\r\nX: "[..],
        &vec![b'a'; MAX_LINE + 10],
        b"\r\n\r\n",
    ]
    .concat();
    assert!(run(&[&long]).result.is_err());
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=head::MAX_FIELDS {
        many.extend(format!("X-{i}: v\r\n").bytes());
    }
    many.extend(b"\r\n");
    assert!(run(&[&many]).result.is_err());
    // Interim heads kept for -i count toward the limit: a server that sends
    // 100 Continue without end is refused, not stored without bound. Not
    // kept, they are dropped as they end, as before.
    let continues = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_HEAD / 25 + 1);
    let flood = [
        &continues[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ]
    .concat();
    let out = run_with(ResponseParser::new().keeping_interim(), &[&flood]);
    let e = out.result.expect_err("a flood of interim heads");
    assert!(e.message.contains("interim (1xx) heads"), "{e:?}");
    assert_eq!(
        run(&[&flood]).result,
        Ok(true),
        "dropped, they cost nothing"
    );
    let few = b"HTTP/1.1 100 Continue\r\n\r\n".repeat(100);
    let fine = [&few[..], b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"].concat();
    assert!(run(&[&fine]).result.is_ok());
}

mod random_splits {
    use super::*;
    use proptest::prelude::*;

    /// A chunked encoding of `body` with the given chunk sizes.
    fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut rest = body;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
            out.extend(format!("{n:x};i={n}\r\n").bytes());
            out.extend_from_slice(&rest[..n]);
            out.extend(b"\r\n");
            rest = &rest[n..];
        }
        out.extend(b"0\r\nX-T: 1\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn any_chunking_and_any_split(
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            sizes in proptest::collection::vec(1usize..300, 1..20),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let input = chunked(&body, &sizes);
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
            points.sort_unstable();
            let mut parts = Vec::new();
            let mut last = 0;
            for p in points {
                parts.push(&input[last..p]);
                last = p;
            }
            parts.push(&input[last..]);
            let out = run(&parts);
            prop_assert_eq!(out.result, Ok(true));
            prop_assert_eq!(out.body, body);
            prop_assert_eq!(out.trailers.len(), 1);
        }
    }
}
