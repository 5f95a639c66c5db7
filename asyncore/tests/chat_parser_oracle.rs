//! Differential test of `asyncore_loop::chat::Parser` against CPython 3.11's `asynchat`
//! (AC-CHAT-20…30, AC-CHAT-14, X-CH-1): random streams, random receive splits
//! (including empty receives) and random terminator changes made at each
//! `found_terminator` must give exactly the same calls — the same data pieces, not
//! just the same records — the same leftover buffer and the same final terminator.
//!
//! The oracle is `tests/py/asynchat_oracle.py`, run once for all cases. When
//! `python3` with `asynchat` (Python ≤ 3.11) is missing the test is skipped with a
//! message, unless `ASYNCORE_REQUIRE_ORACLE` is set, in which case it fails.

use asyncore_loop::chat::{Event, Parser, Terminator};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

const CASES: usize = 200;
const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/asynchat_oracle.py");

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())])
            .collect()
    }
}

const ALPHABET: &[u8] = b"ab\r\n.q";
const DELIMITERS: &[&[u8]] = &[b"\r\n", b"\n", b"\r\n.\r\n", b"qqq", b"ababc", b"aab"];

fn terminator(rng: &mut Rng) -> Terminator {
    match rng.below(10) {
        0 => Terminator::None,
        1..=3 => Terminator::Count(rng.below(12)),
        4..=7 => Terminator::Delimiter(DELIMITERS[rng.below(DELIMITERS.len())].to_vec()),
        _ => {
            let len = rng.below(5); // 0 = the empty (falsy) delimiter
            Terminator::Delimiter(rng.bytes(ALPHABET, len))
        }
    }
}

struct Case {
    first: Terminator,
    chunks: Vec<Vec<u8>>,
    script: Vec<Terminator>,
}

fn case(rng: &mut Rng) -> Case {
    let first = terminator(rng);
    let len = rng.below(120);
    let stream = rng.bytes(ALPHABET, len);
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        if rng.below(12) == 0 {
            chunks.push(Vec::new()); // an empty receive (end of stream) mid-way
        }
        let max = if rng.below(2) == 0 { 4 } else { 40 };
        let size = 1 + rng.below(max);
        let end = (at + size).min(stream.len());
        chunks.push(stream[at..end].to_vec());
        at = end;
    }
    if rng.below(3) == 0 {
        chunks.push(Vec::new());
    }
    let changes = rng.below(8);
    let script = (0..changes).map(|_| terminator(rng)).collect();
    Case {
        first,
        chunks,
        script,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The oracle's JSON encoding of a terminator.
fn json_terminator(t: &Terminator) -> String {
    match t {
        Terminator::None => "null".into(),
        Terminator::Count(n) => n.to_string(),
        Terminator::Delimiter(d) => format!("\"{}\"", hex(d)),
        other => panic!("the oracle has no encoding for {other:?}"),
    }
}

fn input_line(c: &Case) -> String {
    let chunks: Vec<String> = c
        .chunks
        .iter()
        .map(|ch| format!("\"{}\"", hex(ch)))
        .collect();
    let script: Vec<String> = c.script.iter().map(json_terminator).collect();
    format!(
        "{{\"terminator\":{},\"chunks\":[{}],\"script\":[{}]}}",
        json_terminator(&c.first),
        chunks.join(","),
        script.join(",")
    )
}

/// Runs the case through the Rust parser, formatted exactly like the oracle's output.
fn rust_line(c: &Case) -> String {
    let mut p = Parser::with_terminator(c.first.clone());
    let mut events = Vec::new();
    let mut signals = 0;
    for chunk in &c.chunks {
        p.feed(chunk);
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => events.push(format!("[\"c\",\"{}\"]", hex(d))),
                Event::Terminator => {
                    events.push(format!("[\"T\",{}]", json_terminator(p.terminator())));
                    if let Some(t) = c.script.get(signals) {
                        p.set_terminator(t.clone());
                    }
                    signals += 1;
                }
                other => panic!("the oracle has no event like {other:?}"),
            }
        }
    }
    format!(
        "{{\"events\":[{}],\"rest\":\"{}\",\"terminator\":{}}}",
        events.join(","),
        hex(p.buffer()),
        json_terminator(p.terminator())
    )
}

fn oracle_available() -> bool {
    let probe = "import warnings; warnings.simplefilter('ignore'); import asynchat";
    Command::new("python3")
        .args(["-c", probe])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn parser_matches_cpython_asynchat() {
    if !oracle_available() {
        assert!(
            std::env::var_os("ASYNCORE_REQUIRE_ORACLE").is_none(),
            "python3 with asynchat (<= 3.11) is required but missing"
        );
        eprintln!("skipped: python3 with asynchat (<= 3.11) not available");
        return;
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cases: Vec<Case> = (0..CASES).map(|_| case(&mut rng)).collect();
    let input: String = cases.iter().map(|c| input_line(c) + "\n").collect();

    let mut child = Command::new("python3")
        .arg(ORACLE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3");
    // The whole input (~50 KB) is written before reading; the oracle answers line by
    // line, so write from a thread to avoid a pipe deadlock.
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("run oracle");
    writer.join().expect("writer").expect("write oracle input");
    assert!(out.status.success(), "oracle failed: {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    let expected: Vec<&str> = stdout.lines().collect();
    assert_eq!(expected.len(), cases.len(), "one answer per case");

    let mut signals = 0;
    for (i, (c, want)) in cases.iter().zip(&expected).enumerate() {
        let got = rust_line(c);
        assert_eq!(
            got,
            *want,
            "case {i} differs\ninput:  {}\nrust:   {got}\ncpython:{want}",
            input_line(c)
        );
        signals += want.matches("[\"T\"").count();
    }
    // Guard against a generator that never exercises records.
    assert!(
        signals >= CASES / 2,
        "only {signals} signals in {CASES} cases"
    );
}
