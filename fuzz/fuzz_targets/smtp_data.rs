//! Fuzzes the SMTP DATA state: an envelope, then fuzz bytes as the message
//! (dot-stuffing, bare CR/LF, NUL, invalid UTF-8, overlong lines), then,
//! when the first byte says so, the end-of-data line. Whole and split input
//! give the same session; a delivered message never exceeds the limit and
//! only a session that sent the end-of-data line delivers one.
#![no_main]

use asyncore_cli::fuzzing::smtp_exchange;
use libfuzzer_sys::fuzz_target;

const ENVELOPE: &[u8] = b"EHLO fuzz\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
const LIMIT: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let mut input = ENVELOPE.to_vec();
    input.extend_from_slice(body);
    let ended = mode & 1 == 1;
    if ended {
        input.extend_from_slice(b"\r\n.\r\n");
    }
    let whole = smtp_exchange(&[&input], LIMIT).unwrap();
    let step = usize::from(mode >> 1) % 61 + 1;
    let pieces: Vec<&[u8]> = input.chunks(step).collect();
    let split = smtp_exchange(&pieces, LIMIT).unwrap();
    assert_eq!(whole, split, "the split changed the session");
    for m in &whole.messages {
        assert!(m.data.len() <= LIMIT + 1, "{} bytes over the limit", m.data.len());
    }
    // Without an end-of-data line anywhere, nothing is delivered: a
    // session that dies mid-DATA leaves nothing partial.
    let has_end = input
        .windows(3)
        .any(|w| w == b"\n.\n" || w == b"\n.\r")
        || input.ends_with(b"\n.");
    if !has_end {
        assert!(whole.messages.is_empty(), "a message without its end was delivered");
    }
});
