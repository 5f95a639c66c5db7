//! Properties of the parser: how input is cut into receives never changes the
//! records, and the buffer stays bounded.

use super::*;
use crate::chat::record::{Ends, Records};
use proptest::prelude::*;

fn alphabet() -> impl Strategy<Value = u8> {
    prop::sample::select(b"ab\r\n".to_vec())
}

fn terminator() -> impl Strategy<Value = Terminator> {
    prop_oneof![
        Just(Terminator::None),
        (0usize..8).prop_map(Terminator::Count),
        // Up to 6 bytes: past a `ShortDelimiter`, to `memmem`.
        prop::collection::vec(alphabet(), 0..7).prop_map(Terminator::Delimiter),
        Just(Terminator::BlankLine),
    ]
}

// `BlankLine`'s records, the slow way: line by line, a record ends at a
// line that is empty or a lone CR; the last, unended line stays behind.
fn blank_line_model(data: &[u8]) -> (Vec<Option<Vec<u8>>>, Vec<u8>) {
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    let mut record = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..i];
        if line.is_empty() || line == b"\r" {
            if !record.is_empty() {
                out.push(Some(std::mem::take(&mut record)));
            }
            out.push(None);
        } else {
            record.extend_from_slice(&rest[..=i]);
        }
        rest = &rest[i + 1..];
    }
    record.extend_from_slice(rest);
    (out, record)
}

// Cuts `data` at the given points (taken modulo its length, sorted).
fn split(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::new();
    let mut last = 0;
    for p in points.into_iter().chain([data.len()]) {
        out.push(data[last..p].to_vec());
        last = p;
    }
    out
}

// Records: data merged per record, `None` for a signal; plus leftovers.
type Outcome = (Vec<Option<Vec<u8>>>, Vec<u8>, Terminator);

fn records(first: &Terminator, script: &[Terminator], chunks: &[Vec<u8>]) -> Outcome {
    let mut p = Parser::with_terminator(first.clone());
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    let mut signals = 0;
    for chunk in chunks {
        p.feed(chunk);
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => match out.last_mut() {
                    Some(Some(acc)) => acc.extend_from_slice(d),
                    _ => out.push(Some(d.to_vec())),
                },
                Event::Terminator => {
                    out.push(None);
                    if let Some(t) = script.get(signals) {
                        p.set_terminator(t.clone());
                    }
                    signals += 1;
                }
            }
        }
    }
    (out, p.buffer().to_vec(), p.terminator().clone())
}

// `records`, read with spans as the chat channel reads them: a whole
// record counts as its piece and its signal. Fails if a record comes whole
// after a piece of it went out.
fn records_by_span(first: &Terminator, script: &[Terminator], chunks: &[Vec<u8>]) -> Outcome {
    records_by_span_taking(first, script, chunks, Take::Spans)
}

/// How `records_by_span_taking` reads whole records.
#[derive(Clone, Copy, Debug)]
enum Take {
    /// With spans only.
    Spans,
    /// With `next_whole` first.
    Whole,
    /// With `next_whole` and `extend_run` first, each run split back into
    /// its records.
    Runs,
    /// As the chat channel's loop does: a whole record from `next_span`,
    /// then `extend_run`; every other run is given back (`rewind_run`, as
    /// when `found_records` declines), and its records come again.
    SpanRuns,
}

/// A whole record: its start, data end and received end, and the
/// terminator as it stood after the record was taken.
type Taken = ((usize, usize, usize), Terminator);

/// The next record of the current run, taking a new run (a record with
/// `next_whole`, then `extend_run`) when the last one is used up. A run is checked against the records a
/// copy of the framing gives with `next_whole`, which it must equal, in
/// count and end, leaving the input and the terminator where they leave
/// them.
fn next_of_run(
    f: &mut Framing,
    buf: &[u8],
    run: &mut std::collections::VecDeque<Taken>,
) -> Option<Taken> {
    if run.is_empty() {
        let mut copy = f.clone();
        let (start, _, first_end) = f.next_whole(buf)?;
        let (end, more) = f.extend_run(buf);
        if more == 0 {
            assert_eq!(end, first_end, "an empty run leaves the input where it is");
        }
        let count = more + 1;
        while let Some(r) = copy.next_whole(buf) {
            run.push_back((r, copy.terminator().clone()));
        }
        assert_eq!(run.len(), count, "the run's count");
        assert_eq!(run.front().map(|r| r.0 .0), Some(start), "the run's start");
        assert_eq!(run.back().map(|r| r.0 .2), Some(end), "the run's end");
        assert_eq!(copy.buffered(buf), f.buffered(buf), "where the input stands");
        assert_eq!(copy.terminator(), f.terminator());
        check_cut(&buf[start..end], count, f.terminator(), buf, run.iter());
    }
    run.pop_front()
}

/// `Records::iter` cuts the run `received` (`count` records, framed by
/// `t`) into the records taken one by one: the same data and bytes as
/// received, in order, and no more. `taken` is given as positions in `buf`.
fn check_cut<'a>(
    received: &[u8],
    count: usize,
    t: &Terminator,
    buf: &[u8],
    taken: impl Iterator<Item = &'a Taken>,
) {
    let cut: Vec<(&[u8], &[u8])> = Records::new(received, count, Ends::of(t))
        .iter()
        .map(|r| (r.data(), r.as_received()))
        .collect();
    let expected: Vec<(&[u8], &[u8])> = taken
        .map(|((s, e, r), _)| (&buf[*s..*e], &buf[*s..*r]))
        .collect();
    assert_eq!(cut, expected, "the run cut into its records");
}

// `records_by_span`; with `Take::Whole` or `Take::Runs`, every record
// already whole is taken first (as `Chat::next_record` and
// `found_records` do, at any point of the input loop), and its
// received bytes are checked against its terminator. A run's records are
// given one by one; a script's terminator change made between two of them
// applies only after the run, which was framed whole by the terminator in
// effect when it was taken.
fn records_by_span_taking(
    first: &Terminator,
    script: &[Terminator],
    chunks: &[Vec<u8>],
    take: Take,
) -> Outcome {
    let mut run = std::collections::VecDeque::new();
    let mut gave_back = false;
    let (mut f, mut buf) = (Framing::new(), Vec::new());
    f.set_terminator(first.clone());
    f.set_whole_records(true);
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    let mut signals = 0;
    let mut in_record = false;
    for chunk in chunks {
        f.feed(&mut buf, chunk);
        loop {
            let taken = match take {
                Take::Spans => None,
                Take::Whole => f.next_whole(&buf).map(|r| (r, f.terminator().clone())),
                Take::Runs => next_of_run(&mut f, &buf, &mut run),
                Take::SpanRuns => run.pop_front(),
            };
            let span = match taken {
                Some(((s, e, received), framed_by)) => {
                    check_received(&framed_by, &buf[s..e], &buf[e..received]);
                    Span::Record(s, e)
                }
                None => match f.next_span(&mut buf) {
                    Some(Span::Record(s, e)) if matches!(take, Take::SpanRuns) => {
                        extend_or_give_back(&mut f, &buf, (s, e), &mut run, &mut gave_back);
                        Span::Record(s, e)
                    }
                    Some(span) => span,
                    None => break,
                },
            };
            let (data, signal) = match span {
                Span::Data(s, e) => (Some(buf[s..e].to_vec()), false),
                Span::Terminator => (None, true),
                Span::Record(s, e) => {
                    assert!(!in_record, "a whole record after a piece of it");
                    (Some(buf[s..e].to_vec()).filter(|d| !d.is_empty()), true)
                }
            };
            if let Some(d) = data {
                in_record = true;
                match out.last_mut() {
                    Some(Some(acc)) => acc.extend_from_slice(&d),
                    _ => out.push(Some(d)),
                }
            }
            if signal {
                in_record = false;
                out.push(None);
                if let Some(t) = script.get(signals) {
                    f.set_terminator(t.clone());
                }
                signals += 1;
            }
        }
    }
    (out, f.buffer(&buf).to_vec(), f.terminator().clone())
}

/// After a whole record from `next_span`, the run behind it with
/// `extend_run`, checked against a copy's `next_whole` records (and cut
/// into them again with `Records::iter`): queued in
/// `run`, or, every other time, given back with `rewind_run`, which must
/// leave the framing as a copy that never took it.
fn extend_or_give_back(
    f: &mut Framing,
    buf: &[u8],
    (start, data_end): (usize, usize),
    run: &mut std::collections::VecDeque<Taken>,
    gave_back: &mut bool,
) {
    let first_end = f.position();
    let before = f.clone();
    let mut copy = f.clone();
    let (end, more) = f.extend_run(buf);
    let mut records = Vec::new();
    while let Some(r) = copy.next_whole(buf) {
        records.push((r, copy.terminator().clone()));
    }
    assert_eq!(records.len(), more, "the run's count");
    assert_eq!(records.last().map_or(first_end, |r| r.0 .2), end, "the run's end");
    assert_eq!(copy.buffered(buf), f.buffered(buf), "where the input stands");
    // The run as `found_records` gets it: the record from `next_span`,
    // then the others.
    let first = ((start, data_end, first_end), f.terminator().clone());
    let all = std::iter::once(&first).chain(records.iter());
    check_cut(&buf[start..end], more + 1, f.terminator(), buf, all);
    *gave_back = !*gave_back;
    if *gave_back && more > 0 {
        f.rewind_run(first_end);
        assert_eq!(f.buffered(buf), before.buffered(buf));
        assert_eq!(f.terminator(), before.terminator());
        assert_eq!(format!("{f:?}"), format!("{before:?}"), "nothing else moved");
    } else {
        run.extend(records);
    }
}

// What ended a record taken whole, as received: the delimiter itself, no
// bytes for a count (spent: it reads 0 now), an empty line for `BlankLine`.
fn check_received(t: &Terminator, data: &[u8], ending: &[u8]) {
    match t {
        Terminator::Delimiter(d) => assert_eq!(ending, &d[..]),
        Terminator::Count(n) => assert_eq!((*n, ending), (0, &b""[..])),
        Terminator::BlankLine => {
            assert!(ending == b"\n" || ending == b"\r\n", "{ending:?}");
            assert!(data.is_empty() || data.ends_with(b"\n"), "{data:?}");
        }
        Terminator::None => panic!("a record with no terminator"),
    }
}

proptest! {
    // Records taken whole wherever the input loop stands are the records
    // the spans give, and their terminators as received are the bytes
    // that ended them.
    #[test]
    fn records_taken_whole_are_the_spans_records(
        t in terminator(),
        script in prop::collection::vec(terminator(), 0..12),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let chunks = split(&data, &cuts);
        prop_assert_eq!(
            records_by_span_taking(&t, &script, &chunks, Take::Whole),
            records(&t, &script, &chunks)
        );
    }

    // A run of records taken at once is the records `next_whole` gives one
    // by one (checked in `next_of_run` and `extend_or_give_back`, whatever
    // the script), after `next_whole` or after `next_span` as the chat loop
    // takes it, and a run given back leaves the framing as it was; with no
    // terminator changes, the records are the events' records.
    #[test]
    fn a_run_is_the_records_taken_whole(
        t in terminator(),
        script in prop::collection::vec(terminator(), 0..12),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let chunks = split(&data, &cuts);
        records_by_span_taking(&t, &script, &chunks, Take::Runs);
        records_by_span_taking(&t, &script, &chunks, Take::SpanRuns);
        prop_assert_eq!(
            records_by_span_taking(&t, &[], &chunks, Take::Runs),
            records(&t, &[], &chunks)
        );
        prop_assert_eq!(
            records_by_span_taking(&t, &[], &chunks, Take::SpanRuns),
            records(&t, &[], &chunks)
        );
    }

    // Whole records and pieces together are the events, record for record.
    #[test]
    fn spans_give_the_events_records(
        t in terminator(),
        script in prop::collection::vec(terminator(), 0..12),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let chunks = split(&data, &cuts);
        prop_assert_eq!(records_by_span(&t, &script, &chunks), records(&t, &script, &chunks));
    }

    // Any split of the stream gives the same records, leftovers and terminator.
    #[test]
    fn any_split_same_records(
        t in terminator(),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = records(&t, &[], std::slice::from_ref(&data));
        prop_assert_eq!(records(&t, &[], &split(&data, &cuts)), whole);
    }

    // Same with terminator changes made at each signal (AC-CHAT-14).
    #[test]
    fn any_split_same_records_with_script(
        t in terminator(),
        script in prop::collection::vec(terminator(), 0..12),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let whole = records(&t, &script, std::slice::from_ref(&data));
        prop_assert_eq!(records(&t, &script, &split(&data, &cuts)), whole);
    }

    // AC-CHAT-29: after draining, at most `len(delimiter) - 1` bytes stay buffered.
    #[test]
    fn buffer_bounded_between_reads(
        d in prop::collection::vec(alphabet(), 1..6),
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let mut p = Parser::with_terminator(d.clone());
        for chunk in split(&data, &cuts) {
            p.feed(&chunk);
            while p.next_event().is_some() {}
            prop_assert!(p.buffered() < d.len());
            prop_assert!(d.starts_with(p.buffer()));
        }
    }

    // BlankLine: the records a line-by-line reading gives, whatever the
    // split; what is delivered of the unended record plus what is held back
    // is that record so far; at most two bytes (`\n\r`) held back.
    #[test]
    fn blank_line_matches_a_line_by_line_model(
        data in prop::collection::vec(alphabet(), 0..200),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let (want, unended) = blank_line_model(&data);
        let (mut got, left, _) = records(&Terminator::BlankLine, &[], &split(&data, &cuts));
        let mut tail = match got.last() {
            Some(Some(_)) => got.pop().flatten().unwrap_or_default(),
            _ => Vec::new(),
        };
        prop_assert!(left.len() <= 2, "held back {:?}", left);
        tail.extend_from_slice(&left);
        prop_assert_eq!(got, want);
        prop_assert_eq!(tail, unended);
    }
}
