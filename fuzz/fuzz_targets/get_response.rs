//! Fuzzes `get`'s HTTP response parser: any bytes, fed whole and split at
//! fuzz-chosen points. Never a panic; the same head, body, trailers and
//! outcome whatever the split; a Content-Length body is never longer than
//! declared.
#![no_main]

use asyncore_cli::get::{Event, Framing, ResponseParser};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
struct Outcome {
    head: Option<String>,
    body: Vec<u8>,
    done: bool,
    error: Option<String>,
}

fn run(input: &[u8], step: usize) -> (Outcome, Option<Framing>) {
    let mut p = ResponseParser::new();
    let mut out = Outcome { head: None, body: Vec::new(), done: false, error: None };
    let mut framing = None;
    'feed: for piece in input.chunks(step).chain(std::iter::once(&[][..])) {
        let mut rest = piece;
        loop {
            match p.advance(rest) {
                Err(e) => {
                    out.error = Some(format!("{e:?}"));
                    break 'feed;
                }
                Ok((n, ev)) => {
                    assert!(n <= rest.len());
                    rest = &rest[n..];
                    match ev {
                        Event::NeedMore => break,
                        Event::Head(h) => {
                            assert!(out.head.is_none(), "two heads");
                            framing = p.framing();
                            out.head = Some(format!("{h:?}"));
                        }
                        Event::Body(b) => out.body.extend_from_slice(b),
                        Event::Done => {
                            out.done = true;
                            break 'feed;
                        }
                    }
                }
            }
        }
    }
    if framing.is_none() {
        framing = p.framing();
    }
    (out, framing)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    let (whole, framing) = run(input, input.len().max(1));
    let (split, _) = run(input, usize::from(step % 17) + 1);
    if let Some(Framing::Length(n)) = framing {
        assert!(whole.body.len() as u64 <= n);
    }
    assert_eq!(whole, split, "the split changed the result");
});
