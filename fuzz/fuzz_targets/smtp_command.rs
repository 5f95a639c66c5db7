//! Fuzzes the SMTP command state: the command-line parsers on their own
//! (their results stay within their input and within the syntax they
//! accept), and a whole session fed the input whole and split at
//! fuzz-chosen points: never a panic, every reply a well-formed reply line,
//! and the same replies and deliveries whatever the split.
#![no_main]

use asyncore_cli::fuzzing::{
    smtp_exchange, smtp_get_addr, smtp_get_params, smtp_split_command, smtp_strip_keyword,
};
use libfuzzer_sys::fuzz_target;

/// Every reply line is `NNN ` or `NNN-` then text, CRLF-ended, with NNN in 200..=599.
fn check_replies(replies: &[u8]) {
    assert!(replies.is_empty() || replies.ends_with(b"\r\n"), "a reply is cut");
    for line in replies.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        assert!(line.len() >= 5 && line.ends_with(b"\r"), "bad line {line:?}");
        let code: u16 = std::str::from_utf8(&line[..3]).unwrap().parse().unwrap();
        assert!((200..600).contains(&code), "code {code}");
        assert!(line[3] == b' ' || line[3] == b'-', "bad line {line:?}");
    }
}

fn check_parsers(text: &str) {
    let (verb, arg) = smtp_split_command(text);
    assert!(!verb.contains(' '));
    if let Some(arg) = arg {
        assert!(!arg.is_empty() && text.contains(arg));
        for kw in ["FROM:", "TO:"] {
            let rest = smtp_strip_keyword(kw, arg);
            assert!(arg.contains(rest));
            let (addr, params) = smtp_get_addr(rest);
            assert!(rest.ends_with(params), "the rest is a suffix");
            assert!(!addr.chars().any(|c| c.is_control()), "{addr:?}");
            let options: Vec<String> = params.split_whitespace().map(str::to_string).collect();
            if let Some(map) = smtp_get_params(&options) {
                assert!(map.len() <= options.len());
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // First byte: cut spacing; the rest: what the client sends.
    let Some((&step, input)) = data.split_first() else {
        return;
    };
    for line in input.split(|&b| b == b'\n') {
        check_parsers(&String::from_utf8_lossy(line));
    }
    let whole = smtp_exchange(&[input], 4096).unwrap();
    let step = usize::from(step % 31) + 1;
    let pieces: Vec<&[u8]> = input.chunks(step).collect();
    let split = smtp_exchange(&pieces, 4096).unwrap();
    check_replies(&whole.replies);
    assert_eq!(whole, split, "the split changed the session");
    for m in &whole.messages {
        assert!(m.data.len() <= 4096 + 1, "a message over the limit was delivered");
    }
});
