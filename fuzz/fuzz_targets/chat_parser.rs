//! Fuzzes `chat::Parser`: any terminator, any stream, any split into feeds,
//! any terminator changes at record ends. Checks the invariants asynchat
//! promises (AC-CHAT-25..29) and that the split does not change the result.
#![no_main]

use asyncore_loop::chat::{Event, Parser, Terminator};
use libfuzzer_sys::fuzz_target;

/// Input layout: `kind, arg_len, arg..., rest..., 0xFF, stream...`; `rest`
/// gives both the terminator script (3 bytes each) and the feed cut points.
fn terminator(kind: u8, arg: &[u8]) -> Terminator {
    match kind % 4 {
        0 => Terminator::None,
        1 => Terminator::Count(arg.first().copied().unwrap_or(0) as usize),
        2 => Terminator::Delimiter(arg.to_vec()),
        _ => Terminator::BlankLine,
    }
}

/// Runs the parser over `stream` fed in pieces at `cuts`; after the k-th
/// record the terminator becomes `script[k]`. Returns (records, leftover).
fn run(
    first: &Terminator,
    script: &[Terminator],
    stream: &[u8],
    cuts: &[usize],
) -> (Vec<Vec<u8>>, Vec<u8>, usize) {
    let mut p = Parser::with_terminator(first.clone());
    let (mut records, mut current, mut signals) = (Vec::new(), Vec::new(), 0usize);
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        let end = end.clamp(start, stream.len());
        p.feed(&stream[start..end]);
        start = end;
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => {
                    assert!(!d.is_empty(), "AC-CHAT-27: data is never empty");
                    current.extend_from_slice(d);
                }
                Event::Terminator => {
                    records.push(std::mem::take(&mut current));
                    if let Some(t) = script.get(signals) {
                        p.set_terminator(t.clone());
                    }
                    signals += 1;
                }
                other => panic!("a kind of event this target does not check: {other:?}"),
            }
        }
        match p.terminator() {
            Terminator::Delimiter(d) if !d.is_empty() => assert!(
                p.buffered() < d.len(),
                "AC-CHAT-29: at most len-1 bytes held back"
            ),
            Terminator::BlankLine => assert!(
                [&b""[..], b"\n", b"\r", b"\n\r"].contains(&p.buffer()),
                "a blank line's possible start held back, nothing else"
            ),
            _ => {}
        }
    }
    records.push(current);
    (records, p.buffer().to_vec(), signals)
}

fuzz_target!(|data: &[u8]| {
    let Some(sep) = data.iter().position(|&b| b == 0xFF) else {
        return;
    };
    let (head, stream) = (&data[..sep], &data[sep + 1..]);
    if head.len() < 2 {
        return;
    }
    let arg_len = (head[1] % 4) as usize;
    let first = terminator(head[0], head.get(2..2 + arg_len).unwrap_or(&[]));
    let rest = head.get(2 + arg_len..).unwrap_or(&[]);
    let script: Vec<Terminator> = rest.chunks(3).map(|c| terminator(c[0], &c[1..])).collect();
    let cuts: Vec<usize> = rest
        .iter()
        .scan(0usize, |at, &b| {
            *at += b as usize % 17;
            Some(*at)
        })
        .collect();
    let whole = run(&first, &script, stream, &[]);
    let split = run(&first, &script, stream, &cuts);
    assert_eq!(whole, split, "the split of the input changed the records");
});
