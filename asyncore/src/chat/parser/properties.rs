//! Properties of the parser: how input is cut into receives never changes the
//! records, and the buffer stays bounded.

use super::*;
use proptest::prelude::*;

fn alphabet() -> impl Strategy<Value = u8> {
    prop::sample::select(b"ab\r\n".to_vec())
}

fn terminator() -> impl Strategy<Value = Terminator> {
    prop_oneof![
        Just(Terminator::None),
        (0usize..8).prop_map(Terminator::Count),
        prop::collection::vec(alphabet(), 0..5).prop_map(Terminator::Delimiter),
    ]
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

proptest! {
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
}
