//! issue 4 §5 graceful shutdown: queued output flushed, the rest closed at the deadline.

use super::*;

/// A chat protocol that ignores its input.
struct Silent;

impl<S: 'static> ChatHandler<S> for Silent {
    fn collect_incoming_data(&mut self, _: &mut Chat<'_, '_, S>, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn found_terminator(&mut self, _: &mut Chat<'_, '_, S>) -> io::Result<()> {
        Ok(())
    }
}

/// An `AsyncChat` on `sock` with `data` queued.
fn chat_with_output<S: 'static>(ev: &mut EventLoop<S>, sock: Socket, data: &[u8]) -> Token {
    let mut cx = ev.add(AsyncChat::new(Silent));
    cx.adopt(sock).unwrap();
    let t = cx.token();
    ev.with(t, |c: &mut AsyncChat<Silent>, cx| {
        let (_, mut chat) = c.split(cx);
        chat.push(data.to_vec())
    })
    .unwrap()
    .unwrap();
    t
}

#[derive(Default)]
struct ShutdownSeen {
    refused: Option<bool>,
    plain_open: Option<bool>,
    chat_open: Option<bool>,
}

/// issue 4 §5 graceful shutdown: `ev.shutdown(grace)` with a listener, a
/// plain channel and an `AsyncChat` with 3 MiB queued for a slow but reading
/// peer (16 KiB per millisecond). 10 ms in, while the chat is still sending,
/// the listener is already closed (a new connect is refused) and so is the
/// plain channel; the chat's queued output is then fully delivered (the peer
/// receives every byte, then end of stream), and `shutdown` returns with the
/// map empty, before the grace period.
fn shutdown_flushes_queued_output(b: Backend) {
    util::bounded(secs(20), move || {
        let mut ev = event_loop(b, ShutdownSeen::default());
        let lines = CaptureLog::default();
        ev.set_log_sink(lines.clone());
        let (_listener, addr) = listen(&mut ev, Quiet);
        let (sock, mut plain_peer) = unix_pair();
        let mut cx = ev.add(Plain);
        cx.adopt(sock).unwrap();
        let plain = cx.token();
        let data: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251) as u8).collect();
        let (sock, mut peer) = unix_pair();
        let chat = chat_with_output(&mut ev, sock, &data);
        let reader = thread::spawn(move || {
            peer.set_read_timeout(Some(secs(10))).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 16 << 10];
            loop {
                match peer.read(&mut buf) {
                    Ok(0) => return Ok(got),
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) => return Err(e),
                }
                thread::sleep(ms(1));
            }
        });
        ev.call_later(ms(10), move |cx| {
            let refused = connect(&addr)
                .err()
                .is_some_and(|e| e.kind() == io::ErrorKind::ConnectionRefused);
            let plain_open = cx.with(plain, |_: &mut Plain, _| ()).is_some();
            let chat_open = cx.with(chat, |_: &mut AsyncChat<Silent>, _| ()).is_some();
            let seen = cx.state();
            seen.refused = Some(refused);
            seen.plain_open = Some(plain_open);
            seen.chat_open = Some(chat_open);
            Ok(())
        });
        let start = Instant::now();
        ev.shutdown(secs(10)).unwrap();
        let elapsed = start.elapsed();
        assert!(ev.is_empty());
        assert!(elapsed < secs(10), "{elapsed:?}");
        let got = reader
            .join()
            .unwrap()
            .expect("the peer read to end of stream");
        assert_eq!(got.len(), data.len(), "every queued byte was delivered");
        assert!(got == data, "in order");
        let seen = ev.state();
        assert_eq!(seen.refused, Some(true), "the listener closed at once");
        assert_eq!(
            seen.plain_open,
            Some(false),
            "the plain channel closed at once"
        );
        assert_eq!(seen.chat_open, Some(true), "the chat was still sending");
        assert_eq!(read_to_eof(&mut plain_peer), b"");
        assert_eq!(lines.lines(), Vec::<String>::new(), "nothing was cut");
    });
}

/// issue 4 §5 graceful shutdown: with a peer that never reads, the chat's
/// output cannot drain; whatever remains is closed at the deadline (no
/// earlier than the 100 ms grace) and `shutdown` returns; the peer then finds
/// part of the data, and end of stream. One warning says what was cut.
fn shutdown_closes_the_rest_at_the_deadline(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let lines = CaptureLog::default();
        ev.set_log_sink(lines.clone());
        let data = vec![5u8; 4 << 20];
        let (sock, mut peer) = unix_pair();
        chat_with_output(&mut ev, sock, &data);
        let (_listener, _) = listen(&mut ev, Quiet);
        let start = Instant::now();
        ev.shutdown(ms(100)).unwrap();
        let elapsed = start.elapsed();
        assert!(ev.is_empty());
        assert!(
            elapsed >= ms(100),
            "closed before the deadline: {elapsed:?}"
        );
        assert!(elapsed < secs(5), "{elapsed:?}");
        let got = read_to_eof(&mut peer);
        assert!(got.len() < data.len(), "the stalled output was cut");
        assert_eq!(
            lines.lines(),
            ["warning: shutdown: the grace is over; closing 1 channel still open"]
        );
    });
}

backend_tests!(
    shutdown_flushes_queued_output,
    shutdown_closes_the_rest_at_the_deadline,
);
