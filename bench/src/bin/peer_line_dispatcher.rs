//! The CRLF line echo on a bare asyncore `Dispatcher`, without `AsyncChat`:
//! each read is split into lines with memchr, every complete line is copied
//! with its CRLF into one reply, and the reply goes out in one send (the
//! rest waits in a `SendBuffer`). A partial line waits for the next read.
//!
//! It is the floor under `examples/line_echo` (the same protocol on
//! `AsyncChat`): the same loop, socket calls and search, with no per-record
//! hook, no output queue entry per push and no framing state. Measured side
//! by side in BENCHMARKS.md; not a server to use (no line limit).
//!
//! `peer_line_dispatcher HOST:PORT` prints `listening on ADDR`.

use asyncore_loop::{Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, View, AF_INET};
use std::io::{self, Write};
use std::net::SocketAddr;

/// One connection: the unfinished line, the reply being built, and what the
/// socket did not take yet.
struct Lines {
    cr: FindCr,
    partial: Vec<u8>,
    reply: Vec<u8>,
    out: SendBuffer,
}

impl Lines {
    fn new() -> Self {
        Lines {
            cr: FindCr::new(),
            partial: Vec::new(),
            reply: Vec::new(),
            out: SendBuffer::new(),
        }
    }

    /// Appends the reply to every complete line of `data` (after the
    /// unfinished line kept from before); keeps the new unfinished line.
    fn answer(&mut self, data: &[u8]) {
        if self.partial.is_empty() {
            let used = reply_to_lines(&self.cr, data, &mut self.reply);
            self.partial.extend_from_slice(&data[used..]);
        } else {
            self.partial.extend_from_slice(data);
            let used = reply_to_lines(&self.cr, &self.partial, &mut self.reply);
            self.partial.drain(..used);
        }
    }
}

/// Finds CR: on x86-64 with AVX2 memchr's AVX2 searcher, set up once (as
/// `AsyncChat` does for a short delimiter); elsewhere memchr's run-time
/// choice.
struct FindCr {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl FindCr {
    fn new() -> Self {
        FindCr {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(b'\r'),
        }
    }

    #[inline(always)]
    fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = &self.avx2 {
            return one.find(hay);
        }
        memchr::memchr(b'\r', hay)
    }
}

/// Copies every complete CRLF line of `input`, with its CRLF, to `reply`;
/// returns how many bytes of `input` that took.
fn reply_to_lines(cr: &FindCr, input: &[u8], reply: &mut Vec<u8>) -> usize {
    let (mut start, mut from) = (0, 0);
    while let Some(i) = cr.find(&input[from..]) {
        let at = from + i;
        match input.get(at + 1) {
            None => break, // CR last: its LF may come with the next read
            Some(b'\n') => {
                reply.extend_from_slice(&input[start..at + 2]);
                (start, from) = (at + 2, at + 2);
            }
            Some(_) => from = at + 1, // a lone CR belongs to the line
        }
    }
    start
}

impl Dispatcher for Lines {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.recv_with(65536, |cx, data| {
            self.answer(data);
            if self.reply.is_empty() {
                return Ok(());
            }
            let result = self.out.send(cx, &self.reply);
            self.reply.clear();
            result
        })?
    }

    fn writable(&self, ch: &View<'_>) -> bool {
        self.out.writable(ch)
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        self.out.initiate_send(cx)
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }
}

struct Listener;

impl Dispatcher for Listener {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        cx.add(Lines::new()).adopt(sock)?;
        Ok(())
    }
}

fn main() -> io::Result<()> {
    asyncore_bench::net::raise_nofile();
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: peer_line_dispatcher HOST:PORT");
    let mut ev = EventLoop::new();
    let mut listener = ev.add(Listener);
    listener.create_socket(AF_INET, asyncore_loop::SOCK_STREAM)?;
    listener.set_reuse_addr();
    listener.bind(addr)?;
    listener.listen(1024)?;
    let bound = listener.socket()?.local_addr()?;
    if let Some(bound) = bound.as_socket() {
        println!("listening on {bound}");
        io::stdout().flush()?;
    }
    ev.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_whole_split_and_with_a_lone_cr() {
        let mut l = Lines::new();
        l.answer(b"ab\r\ncd\r");
        assert_eq!(l.reply, b"ab\r\n");
        l.answer(b"\nx\ry\r\n");
        assert_eq!(l.reply, b"ab\r\ncd\r\nx\ry\r\n");
        assert!(l.partial.is_empty());
        l.answer(b"tail");
        assert_eq!(l.partial, b"tail");
    }
}
