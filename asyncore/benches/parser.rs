//! Micro-benchmark: `chat::Parser` splitting 64-byte CRLF lines, against a
//! naive byte-by-byte scan of the same input. Prints GB/s (medians of
//! repeated runs) as a Markdown table row for BENCHMARKS.md.
//!
//! ```text
//! cargo bench -p asyncore-loop --bench parser
//! ```

use asyncore_loop::chat::{Event, Parser};
use std::hint::black_box;
use std::time::{Duration, Instant};

const LINE: usize = 64;
const INPUT: usize = 64 << 20; // 64 MiB per run
const READ: usize = 65_536; // fed in asynchat's ac_in_buffer_size chunks
const ROUNDS: usize = 9;

fn input() -> Vec<u8> {
    let mut line = vec![b'x'; LINE - 2];
    line.extend_from_slice(b"\r\n");
    line.iter().copied().cycle().take(INPUT).collect()
}

/// Lines and data bytes seen by the parser.
fn with_parser(data: &[u8]) -> (usize, usize) {
    let mut p = Parser::with_terminator("\r\n");
    let (mut lines, mut bytes) = (0, 0);
    for chunk in data.chunks(READ) {
        p.feed(chunk);
        while let Some(ev) = p.next_event() {
            match ev {
                Event::Data(d) => bytes += d.len(),
                Event::Terminator => lines += 1,
                _ => {} // a kind of event a later version adds
            }
        }
    }
    (lines, bytes)
}

/// The same split, one byte at a time.
fn naive(data: &[u8]) -> (usize, usize) {
    let (mut lines, mut bytes, mut held_cr) = (0, 0, false);
    for &b in data {
        if held_cr && b == b'\n' {
            lines += 1;
            held_cr = false;
            continue;
        }
        if held_cr {
            bytes += 1;
        }
        held_cr = b == b'\r';
        if !held_cr {
            bytes += 1;
        }
    }
    (lines, bytes)
}

fn median_gbps(name: &str, data: &[u8], f: fn(&[u8]) -> (usize, usize)) -> f64 {
    let expected = (INPUT / LINE, INPUT / LINE * (LINE - 2));
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let got = black_box(f(black_box(data)));
            let took = start.elapsed().max(Duration::from_nanos(1));
            assert_eq!(got, expected, "{name} split the input wrongly");
            data.len() as f64 / took.as_secs_f64() / 1e9
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[ROUNDS / 2]
}

fn main() {
    let data = input();
    let parser = median_gbps("parser", &data, with_parser);
    let scan = median_gbps("naive", &data, naive);
    println!("| chat::Parser, 64-byte CRLF lines, 64 KiB feeds | {parser:.2} GB/s | naive byte scan {scan:.2} GB/s | {:.1}x |", parser / scan);
}
