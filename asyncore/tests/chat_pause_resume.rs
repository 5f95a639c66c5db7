//! Regression (found by the simulation, `sim_chat` seed 459): with batching,
//! a read whose replies passed the high-water mark paused the input; the
//! batched send then drained the queue, un-pausing it, but nothing handled
//! the lines still held back (no write event: nothing left to write; no read
//! event: the peer waits for the replies), so the connection stalled.

#[macro_use]
mod util;

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler};
use asyncore_loop::Backend;
use std::io::{self, Read, Write};
use util::{event_loop, run_until, unix_pair};

struct LineEcho {
    line: Vec<u8>,
}

impl ChatHandler<usize> for LineEcho {
    fn collect_incoming_data(
        &mut self,
        _: &mut Chat<'_, '_, usize>,
        data: &[u8],
    ) -> io::Result<()> {
        self.line.extend_from_slice(data);
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_, usize>) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.push(b'\n');
        *chat.state() += 1;
        chat.push(line)
    }
}

fn held_back_lines_are_handled_once_the_batched_send_drains(b: Backend) {
    let (server, mut peer) = unix_pair();
    let mut ev = event_loop(b, 0usize);
    let chat = AsyncChat::new(LineEcho { line: Vec::new() })
        .with_terminator("\n")
        .with_water_marks(16, 4);
    ev.add(chat).adopt(server).unwrap();
    // Twenty lines in one read: the third reply passes the mark of 16 bytes.
    let lines: Vec<u8> = (0..20)
        .flat_map(|i| format!("line{i:02}\n").into_bytes())
        .collect();
    peer.write_all(&lines).unwrap();
    run_until(&mut ev, |ev| *ev.state() == 20);
    let mut got = vec![0; lines.len()];
    let mut have = 0;
    while have < got.len() {
        ev.run_loop(Some(util::ms(10)), Some(1)).unwrap();
        peer.set_nonblocking(true).unwrap();
        match peer.read(&mut got[have..]) {
            Ok(n) => have += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got, lines);
}

backend_tests!(held_back_lines_are_handled_once_the_batched_send_drains);
