//! Helpers shared by the CLI's process tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

/// Waits (at most `wait`) for `child`'s first line of output, which must be
/// `{prefix}ADDRESS` (e.g. `echo: listening on 127.0.0.1:40123`), and
/// returns the address. The rest of stdout is left unread.
pub fn listening_addr(child: &mut Child, prefix: &str, wait: Duration) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let mut reader = BufReader::new(stdout);
        let _ = reader.read_line(&mut first);
        let _ = tx.send(first);
        // Keep the pipe open (and drained) while the process runs.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let first = rx.recv_timeout(wait).expect("the server's first line");
    first
        .trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("bad address in {first:?}: {e}"))
}
