//! TLS under a channel (feature `tls`), against CPython's ssl module as the
//! peer, on every backend: the transport, the ready list, interest that
//! neither spins nor hangs, truncation, and the pathologies of issue 13.
#![cfg(feature = "tls")]

#[macro_use]
mod util;

use asyncore_loop::tls::{server_config, TlsClose, TlsInfo};
use asyncore_loop::{Backend, Cx, Dispatcher, EventLoop, SendBuffer, View};
use std::io;
use std::net::TcpListener;
use std::time::{Duration, Instant};
use util::{event_loop, secs, test_certs, thread_cpu_ticks, Proc};

/// What the server saw.
#[derive(Default)]
struct Seen {
    received: usize,
    info: Option<TlsInfo>,
    close: Option<TlsClose>,
    closed: bool,
    reads: usize,
    token: Option<asyncore_loop::Token>,
    writes: usize,
    paused: bool,
    /// Plaintext `send` accepted, and whether it refused more before the close.
    sent: usize,
    refused: bool,
}

/// An echo over `SendBuffer` (asyncore's dispatcher_with_send), unchanged
/// for TLS; `one_byte` reads one byte per call and answers `ok` after 16 KiB.
#[derive(Default)]
struct Echo {
    out: SendBuffer,
    one_byte: bool,
    /// writable() always true: the classic spin, which must not drive a handshake.
    always_writable: bool,
    /// Echo what arrives, then close (close_notify).
    close_after: bool,
    /// readable() is false while the shared `paused` flag is set.
    pausable: bool,
    /// Echo what arrives, then `SendBuffer::close_when_done` (TLS half-close).
    close_when_done: bool,
}

impl Dispatcher<Seen> for Echo {
    fn readable(&self, v: &View<'_, Seen>) -> bool {
        self.out.len() < 1 << 20 && !(self.pausable && v.state().paused)
    }
    fn writable(&self, v: &View<'_, Seen>) -> bool {
        self.always_writable || self.out.writable(v)
    }
    fn handle_tls_established(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        cx.state().info = cx.tls_info();
        Ok(())
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        let want = if self.one_byte { 1 } else { 65536 };
        let data = cx.recv(want)?;
        cx.state().reads += 1;
        if data.is_empty() {
            return Ok(());
        }
        cx.state().received += data.len();
        if self.pausable && cx.state().received == 1 {
            cx.state().paused = true;
        }
        if self.close_after {
            self.out.send(cx, &data)?;
            return cx.close();
        }
        if self.close_when_done {
            self.out.send(cx, &data)?;
            return self.out.close_when_done(cx);
        }
        if !self.one_byte {
            return self.out.send(cx, &data);
        }
        if cx.state().received == 16384 {
            self.out.send(cx, b"ok")?;
        }
        Ok(())
    }
    fn handle_write(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        cx.state().writes += 1;
        self.out.initiate_send(cx)
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        let close = cx.tls_close();
        let seen = cx.state();
        seen.close = close;
        seen.closed = true;
        cx.close()
    }
}

/// On the peer's first bytes, `send`s until the session refuses more, then
/// closes: records are still waiting for the socket at the close.
struct Flood {
    /// `set_tls_linger` before the close; `None` leaves the default.
    linger: Option<Option<Duration>>,
}

impl Dispatcher<Seen> for Flood {
    fn writable(&self, _: &View<'_, Seen>) -> bool {
        false
    }
    fn handle_tls_established(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        cx.state().info = cx.tls_info();
        Ok(())
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Seen>) -> io::Result<()> {
        if cx.recv(64)?.is_empty() {
            return Ok(());
        }
        let chunk = vec![b'f'; 65536];
        for _ in 0..1000 {
            let n = cx.send(&chunk)?;
            cx.state().sent += n;
            if n == 0 {
                cx.state().refused = true;
                break;
            }
        }
        if let Some(linger) = self.linger {
            cx.set_tls_linger(linger);
        }
        cx.state().closed = true;
        cx.close()
    }
}

/// A loop with one TLS server channel accepted from a `tls_client.py MODE`.
fn serve(
    b: Backend,
    mode: &str,
    echo: impl Dispatcher<Seen>,
    hold: &str,
) -> (EventLoop<Seen>, Proc) {
    serve_env(b, mode, echo, &[("HOLD", hold)])
}

/// [`serve`] with the peer's environment (`HOLD`, `CHATTY`) given.
fn serve_env(
    b: Backend,
    mode: &str,
    echo: impl Dispatcher<Seen>,
    env: &[(&str, &str)],
) -> (EventLoop<Seen>, Proc) {
    let certs = test_certs();
    let config = server_config(&certs.cert, &certs.key, &[]).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let ca = certs.ca.to_str().unwrap().to_string();
    let proc = Proc::spawn(
        std::process::Command::new("python3")
            .args(["-W", "ignore"])
            .arg(util::py_script("tls_client.py"))
            .args([mode, &port, &ca])
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null()),
    );
    let sock = util::accept_within(&listener, secs(20));
    let mut ev = event_loop(b, Seen::default());
    let mut cx = ev.add(echo);
    let token = cx.adopt(sock.into()).unwrap();
    cx.start_tls_server(config).unwrap();
    ev.state_mut().token = Some(token);
    (ev, proc)
}

/// Runs passes until `done` or the map empties; fails after `limit`.
fn run_for(ev: &mut EventLoop<Seen>, limit: Duration, done: impl Fn(&Seen) -> bool) {
    let deadline = Instant::now() + limit;
    while !done(ev.state()) && !ev.is_empty() {
        assert!(Instant::now() < deadline, "not done within {limit:?}");
        ev.run_loop(Some(Duration::from_millis(50)), Some(1))
            .unwrap();
    }
}

/// Runs the loop through the handshake; the peer then says it is connected.
fn handshake(ev: &mut EventLoop<Seen>, peer: &mut Proc) {
    run_for(ev, secs(10), |s| s.info.is_some());
    assert!(peer.line(secs(10)).starts_with("connected"));
}

/// Runs the loop for `span` and returns the CPU ticks this thread spent.
fn cpu_over(ev: &mut EventLoop<Seen>, span: Duration) -> u64 {
    let start = thread_cpu_ticks();
    let end = Instant::now() + span;
    while Instant::now() < end && !ev.is_empty() {
        ev.run_loop(Some(Duration::from_millis(100)), Some(1))
            .unwrap();
    }
    thread_cpu_ticks() - start
}

/// A busy-loop check, not a speed assertion: under 30% of one CPU.
fn assert_idle(ticks: u64, span: Duration) {
    let bound = span.as_millis() as u64 * 30 / 100 / 10;
    assert!(
        ticks < bound,
        "the loop spun: {ticks} ticks in {span:?} (bound {bound})"
    );
}

fn echo_both_versions(b: Backend) {
    for (mode, version) in [("echo12", "TLSv1_2"), ("echo13", "TLSv1_3")] {
        let (mut ev, mut peer) = serve(b, mode, Echo::default(), "0");
        handshake(&mut ev, &mut peer);
        run_for(&mut ev, secs(20), |s| s.closed);
        assert_eq!(peer.line(secs(10)), "ok");
        let seen = ev.state();
        assert_eq!(seen.received, 15 * 1000);
        let info = seen.info.as_ref().expect("handle_tls_established ran");
        assert_eq!(info.version.as_deref(), Some(version));
        assert!(info.cipher.is_some());
        assert_eq!(info.sni.as_deref(), Some("localhost"));
        assert_eq!(seen.close, Some(TlsClose::CloseNotify));
    }
}

fn plaintext_waiting_is_delivered_without_socket_data(b: Backend) {
    let echo = Echo {
        one_byte: true,
        ..Echo::default()
    };
    let (mut ev, mut peer) = serve(b, "big16k", echo, "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(20), |s| s.received == 16384);
    assert!(ev.state().reads >= 16384);
    run_for(&mut ev, secs(10), |s| s.closed);
    assert_eq!(peer.line(secs(10)), "ok");
}

fn truncation_is_told_from_a_clean_close(b: Backend) {
    for (mode, close) in [
        ("truncate", TlsClose::Truncated),
        ("clean", TlsClose::CloseNotify),
    ] {
        let (mut ev, mut peer) = serve(b, mode, Echo::default(), "0");
        handshake(&mut ev, &mut peer);
        run_for(&mut ev, secs(10), |s| s.closed);
        assert_eq!(ev.state().close, Some(close), "{mode}");
        assert!(ev.state().received > 0);
    }
}

fn silent_client_costs_nothing_and_times_out(b: Backend) {
    // The handler always wants to write: that must not drive the handshake.
    let echo = Echo {
        always_writable: true,
        ..Echo::default()
    };
    let (mut ev, mut peer) = serve(b, "silent", echo, "5");
    assert_eq!(peer.line(secs(10)), "connected");
    let token = ev.state().token.expect("served");
    ev.channel(token)
        .unwrap()
        .set_tls_handshake_timeout(Some(Duration::from_millis(2500)));
    let span = Duration::from_secs(2);
    assert_idle(cpu_over(&mut ev, span), span);
    run_for(&mut ev, secs(5), |_| false);
    assert!(ev.is_empty(), "the stalled handshake was closed");
    assert!(!ev.state().closed, "silently: no handle_close");
    assert_eq!(ev.state().writes, 0, "no handle_write during the handshake");
}

fn paused_reader_with_plaintext_waiting_costs_nothing(b: Backend) {
    let echo = Echo {
        one_byte: true,
        pausable: true,
        ..Echo::default()
    };
    let (mut ev, mut peer) = serve(b, "paused", echo, "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |s| s.paused);
    // 16383 bytes wait inside the session; the handler does not want them.
    let span = Duration::from_secs(2);
    assert_idle(cpu_over(&mut ev, span), span);
    assert_eq!(ev.state().received, 1);
    let token = ev.state().token.unwrap();
    ev.state_mut().paused = false;
    ev.channel(token).unwrap(); // reaching it asks its interest again
    run_for(&mut ev, secs(20), |s| s.received == 16384);
    run_for(&mut ev, secs(10), |s| s.closed);
    assert_eq!(peer.line(secs(10)), "ok");
}

fn a_tls_error_closes(b: Backend) {
    let (mut ev, mut peer) = serve(b, "garbage", Echo::default(), "0");
    assert_eq!(peer.line(secs(10)), "connected");
    let log = util::capture(&mut ev);
    run_for(&mut ev, secs(10), |_| false);
    assert!(ev.is_empty());
    assert_eq!(peer.line(secs(10)), "ok");
    assert!(
        matches!(ev.state().close, Some(TlsClose::Error(_)))
            || log.lines().join("\n").contains("InvalidData")
    );
}

fn close_sends_close_notify(b: Backend) {
    let echo = Echo {
        close_after: true,
        ..Echo::default()
    };
    let (mut ev, mut peer) = serve(b, "server_closes", echo, "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |_| false);
    assert_eq!(peer.line(secs(10)), "clean bye");
}

fn half_a_client_hello_costs_nothing(b: Backend) {
    let (mut ev, mut peer) = serve(b, "half_hello", Echo::default(), "5");
    assert_eq!(peer.line(secs(10)), "connected");
    let span = Duration::from_secs(3);
    assert_idle(cpu_over(&mut ev, span), span);
    assert!(!ev.is_empty());
}

fn client_killed_mid_stream(b: Backend) {
    let (mut ev, mut peer) = serve(b, "stream", Echo::default(), "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |s| s.received > 100_000);
    peer.kill();
    run_for(&mut ev, secs(10), |s| s.closed);
    assert!(ev.is_empty());
    assert_ne!(ev.state().close, Some(TlsClose::CloseNotify));
}

fn reset_while_output_is_queued(b: Backend) {
    let (mut ev, mut peer) = serve(b, "reset", Echo::default(), "0");
    handshake(&mut ev, &mut peer);
    let span = Duration::from_secs(3);
    let ticks = cpu_over(&mut ev, span);
    assert_eq!(peer.line(secs(10)), "ok");
    run_for(&mut ev, secs(10), |s| s.closed);
    assert!(ev.is_empty(), "the reset closed the channel");
    // The echo of 4 MiB is real work; the rest of the span must be idle.
    assert_idle(ticks, span);
}

fn both_directions_full(b: Backend) {
    let (mut ev, mut peer) = serve(b, "full8m", Echo::default(), "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(60), |s| s.closed);
    let seen = ev.state();
    let (received, close) = (seen.received, seen.close.clone());
    assert_eq!(
        peer.line(secs(10)),
        "ok",
        "the server received {received} bytes and saw {close:?}"
    );
    assert_eq!(ev.state().received, 8 << 20);
}

fn close_when_done_sends_close_notify_then_closes(b: Backend) {
    let echo = Echo {
        close_when_done: true,
        ..Echo::default()
    };
    let (mut ev, mut peer) = serve(b, "server_closes", echo, "0");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |_| false);
    assert_eq!(peer.line(secs(10)), "clean bye");
    assert!(ev.is_empty());
}

/// What `send` accepted reaches the peer after `close`, with close_notify,
/// as a plain socket's kernel buffer would deliver it.
fn close_delivers_what_send_accepted(b: Backend) {
    flood_close_and_count(b, &[("HOLD", "1")]);
}

/// A `Flood` against the slow reader (its environment `env`) until the
/// session holds records back, then its close: the peer must report every
/// byte `send` accepted, ended by close_notify.
fn flood_close_and_count(b: Backend, env: &[(&str, &str)]) {
    let (mut ev, mut peer) = serve_env(b, "slow_reader", Flood { linger: None }, env);
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(30), |_| false);
    let Seen { sent, refused, .. } = *ev.state();
    assert!(
        refused,
        "the session never held records back ({sent} bytes sent)"
    );
    assert_eq!(peer.line(secs(10)), format!("clean {sent}"));
}

/// The same while the peer sends more than the server read: the linger
/// reads it, so its final close is not a reset that would drop what the
/// kernel still holds for the peer.
fn close_delivers_while_the_peer_still_sends(b: Backend) {
    flood_close_and_count(b, &[("HOLD", "1"), ("CHATTY", "100000")]);
}

/// A graceful shutdown lets the closed channel's records reach the peer.
fn shutdown_waits_for_what_close_left(b: Backend) {
    let (mut ev, mut peer) = serve(b, "slow_reader", Flood { linger: None }, "1");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |s| s.closed);
    assert!(!ev.is_empty(), "the records wait for the socket");
    ev.shutdown(secs(20)).unwrap();
    assert!(ev.is_empty());
    let Seen { sent, refused, .. } = *ev.state();
    assert!(refused);
    assert_eq!(peer.line(secs(10)), format!("clean {sent}"));
}

/// A closed channel's records wait for the socket no longer than its linger
/// allows without progress.
fn linger_gives_up_on_a_peer_that_reads_nothing(b: Backend) {
    let flood = Flood {
        linger: Some(Some(Duration::from_millis(300))),
    };
    let (mut ev, mut peer) = serve(b, "slow_reader", flood, "30");
    handshake(&mut ev, &mut peer);
    let log = util::capture(&mut ev);
    run_for(&mut ev, secs(10), |s| s.closed);
    let closed_at = Instant::now();
    assert!(!ev.is_empty(), "the records wait for the socket");
    run_for(&mut ev, secs(10), |_| false);
    assert!(closed_at.elapsed() >= Duration::from_millis(250));
    assert!(ev.state().refused);
    let lines = log.lines().join("\n");
    assert!(lines.contains("undelivered"), "{lines}");
    peer.kill();
}

/// With the linger off, the close drops what waits, as before.
fn linger_off_drops_at_close(b: Backend) {
    let (mut ev, mut peer) = serve(b, "slow_reader", Flood { linger: Some(None) }, "1");
    handshake(&mut ev, &mut peer);
    run_for(&mut ev, secs(10), |s| s.closed);
    assert!(ev.is_empty());
    let Seen { sent, refused, .. } = *ev.state();
    assert!(refused);
    let line = peer.line(secs(10));
    let got: usize = line
        .strip_prefix("ragged ")
        .map_or(usize::MAX, |n| n.parse().unwrap());
    assert!(got < sent, "{line}, of {sent} sent");
}

backend_tests!(
    close_delivers_what_send_accepted,
    close_delivers_while_the_peer_still_sends,
    linger_gives_up_on_a_peer_that_reads_nothing,
    linger_off_drops_at_close,
    shutdown_waits_for_what_close_left,
    close_when_done_sends_close_notify_then_closes,
    echo_both_versions,
    plaintext_waiting_is_delivered_without_socket_data,
    truncation_is_told_from_a_clean_close,
    silent_client_costs_nothing_and_times_out,
    half_a_client_hello_costs_nothing,
    client_killed_mid_stream,
    reset_while_output_is_queued,
    both_directions_full,
    paused_reader_with_plaintext_waiting_costs_nothing,
    a_tls_error_closes,
    close_sends_close_notify,
);
