//! Unit tests of the parser.

use super::*;

// Drives `p` like `handle_read`: one feed per chunk, then all events. `hook` runs
// at each `Terminator` (it gets the parser and the signal's ordinal). Log entries:
// `c <data>` or `T`.
fn drive(
    p: &mut Parser,
    chunks: &[&[u8]],
    mut hook: impl FnMut(&mut Parser, usize),
) -> Vec<String> {
    let mut log = Vec::new();
    let mut signals = 0;
    for chunk in chunks {
        p.feed(chunk);
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => {
                    assert!(!d.is_empty(), "AC-CHAT-27: never empty");
                    log.push(format!("c {}", d.escape_ascii()));
                }
                Event::Terminator => {
                    log.push("T".to_string());
                    hook(p, signals);
                    signals += 1;
                }
            }
        }
    }
    log
}

fn run(t: impl Into<Terminator>, chunks: &[&[u8]]) -> (Vec<String>, Parser) {
    let mut p = Parser::with_terminator(t);
    let log = drive(&mut p, chunks, |_, _| {});
    (log, p)
}

// ---- X-CH-1: the splitting table of conformance §5.1, one test per row ----

#[test]
fn x_ch_1_row1_count_one_receive() {
    let (log, p) = run(3usize, &[b"abcdefgh"]);
    assert_eq!(log, ["c abc", "T", "c defgh"]);
    assert_eq!(p.buffered(), 0);
    assert_eq!(p.terminator(), &Terminator::Count(0));
}

#[test]
fn x_ch_1_row2_count_across_receives() {
    let mut p = Parser::with_terminator(3usize);
    p.feed(b"ab");
    assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
    assert_eq!(p.terminator(), &Terminator::Count(1)); // AC-CHAT-13
    assert_eq!(p.next_event(), None);
    let log = drive(&mut p, &[b"cdefgh"], |_, _| {});
    assert_eq!(log, ["c c", "T", "c defgh"]);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn x_ch_1_row3_crlf_split_and_held_prefix() {
    let (log, p) = run("\r\n", &[b"abc\r", b"\ndef\r\nxy\r"]);
    assert_eq!(log, ["c abc", "T", "c def", "T", "c xy"]);
    assert_eq!(p.buffer(), b"\r");
}

#[test]
fn x_ch_1_row4_empty_records() {
    let (log, p) = run("\r\n", &[b"\r\n\r\n"]);
    assert_eq!(log, ["T", "T"]);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn x_ch_1_row5_no_prefix_at_end() {
    let (log, p) = run("\r\n", &[b"a\r\rb"]);
    assert_eq!(log, ["c a\\r\\rb"]);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn x_ch_1_row6_qqq() {
    let (log, p) = run("qqq", &[b"xqq", b"qqq"]);
    assert_eq!(log, ["c x", "T"]);
    assert_eq!(p.buffer(), b"qq");
}

#[test]
fn x_ch_1_row7_whole_buffer_is_prefix() {
    let mut p = Parser::with_terminator("ababc");
    assert!(drive(&mut p, &[b"abab"], |_, _| {}).is_empty());
    assert_eq!(p.buffer(), b"abab");
    assert_eq!(drive(&mut p, &[b"abc"], |_, _| {}), ["c ab", "T"]);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn x_ch_1_row8_smtp_data_end() {
    let (log, p) = run("\r\n.\r\n", &[b"plain ascii text\r\n", b".\r\n"]);
    assert_eq!(log, ["c plain ascii text", "T"]);
    assert_eq!(p.buffered(), 0);
}

#[test]
fn x_ch_1_row9_switch_in_found_terminator() {
    let mut p = Parser::with_terminator("\r\n.\r\n");
    let log = drive(&mut p, &[b"..\r\n.\r\n\r\n"], |p, _| {
        p.set_terminator("\r\n")
    });
    assert_eq!(log, ["c ..", "T", "T"]);
    assert_eq!(p.buffered(), 0);
}

// X-CH-2 / AC-CHAT-14: delimiter → count 4 → delimiter, all from one receive.
#[test]
fn x_ch_2_terminator_changes_apply_immediately() {
    let mut p = Parser::with_terminator("\n");
    let mut seen = Vec::new();
    let log = drive(&mut p, &[b"hdr\n1234rest\nmore"], |p, _| {
        seen.push(p.terminator().clone());
        match p.terminator() {
            Terminator::Delimiter(_) => p.set_terminator(4usize),
            _ => p.set_terminator("\n"),
        }
    });
    assert_eq!(
        log,
        ["c hdr", "T", "c 1234", "T", "c rest", "T", "c more", "T"]
    );
    assert_eq!(seen[1], Terminator::Count(0));
    assert_eq!(seen[3], Terminator::Count(0));
    assert_eq!(p.buffered(), 0);
}

// X-CH-4 / AC-CHAT-30 / AC-CHAT-Q-8: the held-back `\r` is never delivered, even
// after the end-of-stream (empty) feed.
#[test]
fn x_ch_4_held_prefix_lost_at_eof() {
    let (log, mut p) = run("\r\n", &[b"abc\r"]);
    assert_eq!(log, ["c abc"]);
    p.feed(b"");
    assert_eq!(p.next_event(), None);
    assert_eq!(p.buffer(), b"\r");
}

// X-CH-14 / AC-CHAT-10: count 0 and the empty delimiter behave as none.
#[test]
fn x_ch_14_falsy_terminators_are_none() {
    for t in [
        Terminator::Count(0),
        Terminator::Delimiter(Vec::new()),
        Terminator::None,
    ] {
        let (log, p) = run(t.clone(), &[b"abcdef"]);
        assert_eq!(log, ["c abcdef"], "{t:?}");
        assert_eq!(p.terminator(), &t);
    }
}

// X-CH-13 / AC-CHAT-Q-3: without `set_terminator`, data is delivered as it arrives.
#[test]
fn x_ch_13_default_terminator_is_none() {
    let mut p = Parser::default();
    assert_eq!(drive(&mut p, &[b"abc"], |_, _| {}), ["c abc"]);
}

// X-CH-11 / AC-CHAT-83 (input half): discard empties the buffer, keeps the terminator.
#[test]
fn x_ch_11_discard_input() {
    let mut p = Parser::with_terminator("\r\n.\r\n");
    p.feed(b"abc\r\n.");
    assert_eq!(p.next_event(), Some(Event::Data(b"abc")));
    assert_eq!(p.buffered(), 3);
    p.discard();
    assert_eq!(p.buffered(), 0);
    assert_eq!(p.next_event(), None);
    assert_eq!(p.terminator(), &Terminator::from("\r\n.\r\n"));
    // A signal already due survives a discard made from the data hook (reference).
    p.feed(b"x\r\n.\r\nmore");
    assert_eq!(p.next_event(), Some(Event::Data(b"x")));
    p.discard();
    assert_eq!(p.next_event(), Some(Event::Terminator));
    assert_eq!(p.next_event(), None);
}

// A discard asked while a hook reads its piece (the chat channel's
// `discard_buffers`) applies before the next span; a signal already due
// still comes first. Meanwhile the piece's bytes stay where they are.
// Spec: AC-CHAT-83.
#[test]
fn a_later_discard_waits_for_the_reader() {
    let (mut f, mut buf) = (Framing::new(), Vec::new());
    f.set_terminator("\n");
    f.feed(&mut buf, b"x");
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(0, 1)));
    f.feed(&mut buf, b"y\nz\n");
    let Some(Span::Data(s, e)) = f.next_span(&mut buf) else {
        panic!("a last piece");
    };
    f.discard_later();
    assert_eq!(&buf[s..e], b"y", "still readable");
    assert_eq!(f.buffered(&buf), 0, "but no longer buffered");
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator), "the signal already due");
    assert_eq!(f.next_span(&mut buf), None);
    assert!(buf.is_empty());
    f.feed(&mut buf, b"gh");
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(0, 2)));
    // Asked with nothing due: the next feed starts from nothing.
    f.discard_later();
    f.feed(&mut buf, b"ij");
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(0, 2)));
    // A terminator changed while a hook reads its piece applies to the
    // rest, after the signal already due.
    let (mut f, mut buf) = (Framing::new(), Vec::new());
    f.set_terminator("\r\n");
    f.feed(&mut buf, b"ab\r\ncd\r\nef");
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(0, 2)));
    f.set_terminator("d");
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator));
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(4, 5)), "c");
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator));
}

// A record found whole in the buffer is one span; an empty one too. A
// record whose first piece went out in an earlier read ends with `Data`
// and `Terminator`, or with `Terminator` alone, as the events do.
#[test]
fn whole_records_are_one_span() {
    let (mut f, mut buf) = (Framing::new(), Vec::new());
    f.set_terminator("\r\n");
    f.set_whole_records(true);
    f.feed(&mut buf, b"ab\r\n\r\ncd");
    assert_eq!(f.next_span(&mut buf), Some(Span::Record(0, 2)));
    assert_eq!(f.next_span(&mut buf), Some(Span::Record(4, 4)));
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(6, 8)), "no end yet");
    assert_eq!(f.next_span(&mut buf), None);
    f.feed(&mut buf, b"e\r\nfg\r");
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(0, 1)), "its first piece went out");
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator));
    assert_eq!(f.next_span(&mut buf), Some(Span::Data(3, 5)));
    assert_eq!(f.next_span(&mut buf), None, "\\r held back");
    f.feed(&mut buf, b"\n3");
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator), "the end of fg");
    f.set_terminator(1usize);
    assert_eq!(f.next_span(&mut buf), Some(Span::Record(2, 3)), "a count too");
    f.set_terminator(Terminator::BlankLine);
    f.feed(&mut buf, b"h: 1\n\n");
    let Some(Span::Record(s, e)) = f.next_span(&mut buf) else {
        panic!("a whole head");
    };
    assert_eq!(&buf[s..e], b"h: 1\n");
    // `in_pieces` gives what `next_event` reports for a whole record.
    let (mut f, mut buf) = (Framing::new(), Vec::new());
    f.set_terminator("\n");
    f.set_whole_records(true);
    f.feed(&mut buf, b"xy\n\n");
    let Some(Span::Record(s, e)) = f.next_span(&mut buf) else {
        panic!("a whole record");
    };
    assert_eq!(f.in_pieces(s, e), Span::Data(0, 2));
    assert_eq!(f.next_span(&mut buf), Some(Span::Terminator));
    let Some(Span::Record(s, e)) = f.next_span(&mut buf) else {
        panic!("an empty record");
    };
    assert_eq!(f.in_pieces(s, e), Span::Terminator);
    assert_eq!(f.next_span(&mut buf), None);
}

// Splits `data` into pieces of `size` (the echo server's chunk sizes).
fn pieces(data: &[u8], size: usize) -> Vec<&[u8]> {
    data.chunks(size).collect()
}

// Records as `echo_client` collects them: `contents` and the unfinished `buffer`.
fn collect(t: Terminator, chunks: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut p = Parser::with_terminator(t);
    let (mut contents, mut buffer) = (Vec::new(), Vec::new());
    for chunk in chunks {
        p.feed(chunk);
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => buffer.extend_from_slice(d),
                Event::Terminator => contents.push(std::mem::take(&mut buffer)),
            }
        }
    }
    (contents, buffer)
}

// TC-CH-1/2/3: line terminators `\n`, `\r\n`, `qqq`, echo chunk sizes 1–3.
#[test]
fn tc_ch_1_2_3_line_terminators() {
    for term in [&b"\n"[..], b"\r\n", b"qqq"] {
        let mut stream = b"hello world".to_vec();
        stream.extend_from_slice(term);
        stream.extend_from_slice(b"I'm not dead yet!");
        stream.extend_from_slice(term);
        for size in 1..=3 {
            let (contents, buffer) = collect(term.into(), &pieces(&stream, size));
            assert_eq!(contents, [&b"hello world"[..], b"I'm not dead yet!"]);
            assert!(buffer.is_empty());
        }
    }
}

const LINE: &[u8] = b"hello world, I'm not dead yet!\n";

// TC-CH-4/5: counts 1 and 6 give exactly one record; the rest arrives unsignalled.
#[test]
fn tc_ch_4_5_numeric_terminators() {
    for n in [1usize, 6] {
        for size in 1..=3 {
            let (contents, buffer) = collect(Terminator::Count(n), &pieces(LINE, size));
            assert_eq!(contents, [&LINE[..n]]);
            assert_eq!(buffer, &LINE[n..]);
        }
    }
}

// TC-CH-6: no terminator — no records, everything in the buffer.
#[test]
fn tc_ch_6_none_terminator() {
    for size in 1..=3 {
        let (contents, buffer) = collect(Terminator::None, &pieces(LINE, size));
        assert!(contents.is_empty());
        assert_eq!(buffer, LINE);
    }
}

// TC-CH-9: an empty line is an empty record.
#[test]
fn tc_ch_9_empty_line() {
    let stream = b"hello world\n\nI'm not dead yet!\n";
    for size in 1..=3 {
        let (contents, _) = collect("\n".into(), &pieces(stream, size));
        assert_eq!(contents, [&b"hello world"[..], b"", b"I'm not dead yet!"]);
    }
}

// AC-CHAT-26: after holding back a prefix the reference leaves its loop, so a
// terminator changed from the data hook only applies from the next receive.
#[test]
fn ac_chat_26_stall_until_next_feed() {
    let mut p = Parser::with_terminator("\r\n");
    p.feed(b"ab\r");
    assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
    p.set_terminator(Terminator::None);
    assert_eq!(p.next_event(), None);
    p.feed(b"");
    assert_eq!(p.next_event(), Some(Event::Data(b"\r")));
}

// AC-CHAT-29: a long line without terminator keeps the buffer small (no quadratic
// rescanning: each byte is searched once).
#[test]
fn ac_chat_29_long_line_buffer_stays_small() {
    let mut p = Parser::with_terminator("\r\n.\r\n");
    let mut chunk = vec![b'x'; 65_536];
    chunk[65_534] = b'\r';
    chunk[65_535] = b'\n';
    let mut delivered = 0;
    for _ in 0..256 {
        p.feed(&chunk);
        while let Some(ev) = p.next_event() {
            if let Event::Data(d) = ev {
                delivered += d.len();
            }
        }
        assert_eq!(p.buffered(), 2);
    }
    assert_eq!(delivered, 256 * 65_536 - 2);
}

// A source that fails, is interrupted, or returns data.
struct Script(Vec<io::Result<Vec<u8>>>);

impl io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.remove(0) {
            Ok(d) => {
                buf[..d.len()].copy_from_slice(&d);
                Ok(d.len())
            }
            Err(e) => Err(e),
        }
    }
}

// AC-CHAT-20/21/22 at the parser level: errors leave everything unchanged,
// `Interrupted` is retried, an empty read re-runs the loop.
#[test]
fn read_from_errors_and_eof() {
    let mut p = Parser::with_terminator("\n");
    let mut src = Script(vec![
        Err(io::ErrorKind::WouldBlock.into()),
        Err(io::ErrorKind::Interrupted.into()),
        Ok(b"ab\ncd".to_vec()),
        Ok(Vec::new()),
    ]);
    let err = p.read_from(&mut src, 16).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(p.buffered(), 0);
    assert_eq!(p.read_from(&mut src, 16).unwrap(), 5);
    assert_eq!(p.next_event(), Some(Event::Data(b"ab")));
    assert_eq!(p.next_event(), Some(Event::Terminator));
    assert_eq!(p.next_event(), Some(Event::Data(b"cd")));
    assert_eq!(p.read_from(&mut src, 16).unwrap(), 0);
    assert_eq!(p.next_event(), None);
}
