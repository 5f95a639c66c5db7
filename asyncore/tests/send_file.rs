//! Files to sockets: `Cx::send_file` (sendfile(2), or read-and-send where
//! the kernel cannot) and `Chat::push_file` (a `FileRegion` in the output
//! queue, in order with pushed data), on every backend, against a peer that
//! reads slowly enough for sends to be partial. Every byte is checked.

#[macro_use]
mod util;
use util::{capture, pattern, run_until_empty, tcp_pair, unix_pair, TempFile};

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, FileRegion};
use asyncore_loop::{Backend, Cx, Dispatcher, View};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::rc::Rc;
use std::thread;
use std::time::Duration;

const MIB: usize = 1 << 20;

/// Reads until end of stream, pausing now and then so the sender's socket
/// fills (partial sends, would-block).
fn slow_reader(mut peer: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            match peer.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("reader: {e} after {} bytes", got.len()),
            }
            if got.len() % (4 * MIB) < buf.len() {
                thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

/// Sends `file[offset..offset + len]` with `send_file`, then closes.
struct FileSender {
    file: File,
    offset: u64,
    end: u64,
    calls: Rc<Cell<usize>>,
}

impl Dispatcher for FileSender {
    fn readable(&self, _: &View<'_>) -> bool {
        false
    }
    fn writable(&self, _: &View<'_>) -> bool {
        true
    }
    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let left = (self.end - self.offset) as usize;
        self.offset += cx.send_file(&self.file, self.offset, left)? as u64;
        self.calls.set(self.calls.get() + 1);
        if self.offset == self.end {
            cx.close()?;
        }
        Ok(())
    }
}

fn send_file_sends_the_region_exactly(b: Backend) {
    let data = pattern(24 * MIB + 123, 7);
    let file = TempFile::with_content(&data);
    let (sock, peer) = tcp_pair();
    peer.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let reader = slow_reader(peer);
    let mut ev = util::event_loop(b, ());
    let (start, end) = (1000u64, data.len() as u64 - 77);
    let calls = Rc::new(Cell::new(0));
    let sender = FileSender {
        file: File::open(&file.0).unwrap(),
        offset: start,
        end,
        calls: Rc::clone(&calls),
    };
    ev.add(sender).adopt(sock).unwrap();
    run_until_empty(&mut ev);
    let calls = calls.get();
    let got = reader.join().unwrap();
    assert_eq!(got.len() as u64, end - start);
    assert!(got == data[start as usize..end as usize], "bytes differ");
    assert!(
        calls > 1,
        "the socket took it in one send: not a partial-send test"
    );
}

/// The peer reads nothing: the file does not end; the socket fills and
/// `send_file` says 0, like `send` (would-block is not an error).
fn send_file_would_block_is_zero(b: Backend) {
    let file = TempFile::with_content(&pattern(32 * MIB, 3));
    let (sock, _peer) = unix_pair();
    let mut ev = util::event_loop(b, ());
    let f = File::open(&file.0).unwrap();
    let mut cx = ev.add(util::Quiet);
    cx.adopt(sock).unwrap();
    let mut offset = 0u64;
    let mut zeros = 0;
    for _ in 0..10_000 {
        let n = cx
            .send_file(&f, offset, 32 * MIB - offset as usize)
            .unwrap();
        if n == 0 {
            zeros += 1;
            break;
        }
        offset += n as u64;
    }
    assert_eq!(zeros, 1);
    assert!(offset > 0 && offset < 32 * MIB as u64);
}

/// A region beyond the file's end (the file shrank after its length was
/// announced) is an `UnexpectedEof` error, never a silent short body.
fn send_file_past_the_end_is_an_error(b: Backend) {
    let file = TempFile::with_content(b"short");
    let (sock, _peer) = tcp_pair();
    let mut ev = util::event_loop(b, ());
    let f = File::open(&file.0).unwrap();
    let mut cx = ev.add(util::Quiet);
    cx.adopt(sock).unwrap();
    assert_eq!(cx.send_file(&f, 2, 100).unwrap(), 3);
    let err = cx.send_file(&f, 5, 95).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(
        cx.send_file(&f, 5, 0).unwrap(),
        0,
        "nothing asked, nothing sent"
    );
}

/// The peer is gone: `send_file` says 0, as `send` does, and the loop
/// delivers one `handle_close`.
fn send_file_to_a_closed_peer_is_zero_then_close(b: Backend) {
    struct ToGonePeer {
        file: File,
        results: Rc<Cell<(usize, usize)>>,
    }
    impl Dispatcher for ToGonePeer {
        fn readable(&self, _: &View<'_>) -> bool {
            false
        }
        fn writable(&self, _: &View<'_>) -> bool {
            true
        }
        fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            let n = cx.send_file(&self.file, 0, 1 << 20)?;
            let (calls, zeros) = self.results.get();
            self.results.set((calls + 1, zeros + usize::from(n == 0)));
            Ok(())
        }
        fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
            let (calls, zeros) = self.results.get();
            self.results.set((calls, zeros + 1000));
            cx.close()
        }
    }
    let file = TempFile::with_content(&pattern(1 << 20, 5));
    let (sock, peer) = unix_pair();
    drop(peer);
    let results = Rc::new(Cell::new((0, 0)));
    let mut ev = util::event_loop(b, ());
    let sender = ToGonePeer {
        file: File::open(&file.0).unwrap(),
        results: Rc::clone(&results),
    };
    ev.add(sender).adopt(sock).unwrap();
    run_until_empty(&mut ev);
    let (calls, zeros) = results.get();
    assert_eq!(calls, 1, "one write event, then the owed close");
    assert_eq!(zeros, 1001, "send_file gave 0, and handle_close ran once");
}

/// Pushes data, a file region, data, a region opened later, then closes
/// when done: the peer gets them in that order.
struct Pusher {
    path: PathBuf,
    size: u64,
}

impl ChatHandler for Pusher {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        chat.push("HEAD\n")?;
        let file = File::open(&self.path)?;
        chat.push_file(FileRegion::new(file, 0, self.size))?;
        chat.push("MIDDLE\n")?;
        chat.push_file(FileRegion::open_later(&self.path, 10, self.size - 20))?;
        chat.push_file(FileRegion::open_later(&self.path, 0, 0))?; // empty: skipped
        chat.push("TAIL\n")?;
        assert!(chat.output_pending());
        chat.close_when_done();
        Ok(())
    }
}

fn push_file_keeps_the_queue_order(b: Backend) {
    let data = pattern(5 * MIB + 11, 9);
    let file = TempFile::with_content(&data);
    let (sock, mut peer) = tcp_pair();
    let mut ev = util::event_loop(b, ());
    let handler = Pusher {
        path: file.0.clone(),
        size: data.len() as u64,
    };
    ev.add(AsyncChat::new(handler).with_terminator("\n"))
        .adopt(sock)
        .unwrap();
    io::Write::write_all(&mut peer, b"go\n").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let reader = slow_reader(peer);
    run_until_empty(&mut ev);
    let got = reader.join().unwrap();
    let mut want = b"HEAD\n".to_vec();
    want.extend_from_slice(&data);
    want.extend_from_slice(b"MIDDLE\n");
    want.extend_from_slice(&data[10..data.len() - 10]);
    want.extend_from_slice(b"TAIL\n");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "bytes differ");
}

/// A region whose file cannot be opened when its turn comes: the error
/// reaches `handle_error` (which closes), what came before it was sent.
fn push_file_open_error_closes(b: Backend) {
    struct Missing;
    impl ChatHandler for Missing {
        fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_>, _: &[u8]) -> io::Result<()> {
            Ok(())
        }
        fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
            chat.push("before\n")?;
            let gone = std::env::temp_dir().join("asyncore-no-such-file-for-push-file");
            chat.push_file(FileRegion::open_later(gone, 0, 10))
        }
    }
    let (sock, mut peer) = tcp_pair();
    let mut ev = util::event_loop(b, ());
    let log = capture(&mut ev);
    ev.add(AsyncChat::new(Missing).with_terminator("\n"))
        .adopt(sock)
        .unwrap();
    io::Write::write_all(&mut peer, b"go\n").unwrap();
    run_until_empty(&mut ev);
    let mut got = Vec::new();
    peer.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"before\n");
    assert!(
        log.lines().iter().any(|l| l.contains("No such file")),
        "{:?}",
        log.lines()
    );
}

backend_tests!(
    send_file_sends_the_region_exactly,
    send_file_would_block_is_zero,
    send_file_past_the_end_is_an_error,
    send_file_to_a_closed_peer_is_zero_then_close,
    push_file_keeps_the_queue_order,
    push_file_open_error_closes,
);
