//! issue 4 §8 connection caps: per listener and per loop.

use super::*;

/// Greets accepted connections with "220 welcome" and keeps them; answers
/// refused ones with "421 too busy" before closing them.
struct Capped;

impl Dispatcher<()> for Capped {
    fn handle_accepted(&mut self, cx: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        (&sock).write_all(b"220 welcome\r\n")?;
        cx.add(Plain).adopt(sock)?;
        Ok(())
    }
    fn handle_refused(&mut self, _: &mut Cx<'_>, sock: Socket, _: SockAddr) -> io::Result<()> {
        (&sock).write_all(b"421 too busy\r\n")
    }
}

/// A test client: what it received so far, and whether the stream ended.
struct Client {
    s: TcpStream,
    got: Vec<u8>,
    eof: bool,
}

impl Client {
    fn connect(addr: &SockAddr) -> Client {
        let s = connect(addr).unwrap();
        s.set_nonblocking(true).unwrap();
        Client {
            s,
            got: Vec::new(),
            eof: false,
        }
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 256];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) => {
                    self.eof = true;
                    return;
                }
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => panic!("client read: {e}"),
            }
        }
    }

    /// Runs the loop until this client got `want` (and, if `eof`, end of stream).
    fn expect(&mut self, ev: &mut EventLoop<()>, want: &[u8], eof: bool) {
        run_until(ev, |_| {
            self.pump();
            self.got.len() >= want.len() && (!eof || self.eof)
        });
        assert_eq!(self.got, want);
        assert_eq!(self.eof, eof);
    }
}

/// The cap scenario: two clients are greeted and kept, the third gets the
/// custom polite refusal then end of stream; after one kept client hangs
/// up (its channel closes), a new client is accepted and greeted.
fn cap_scenario(ev: &mut EventLoop<()>, addr: &SockAddr) {
    let mut c1 = Client::connect(addr);
    c1.expect(ev, b"220 welcome\r\n", false);
    let mut c2 = Client::connect(addr);
    c2.expect(ev, b"220 welcome\r\n", false);
    let mut c3 = Client::connect(addr);
    c3.expect(ev, b"421 too busy\r\n", true);
    assert_eq!(ev.len(), 3);
    drop(c1);
    run_until(ev, |ev| ev.len() == 2);
    let mut c4 = Client::connect(addr);
    c4.expect(ev, b"220 welcome\r\n", false);
    assert_eq!(ev.len(), 3);
    c2.pump();
    assert!(!c2.eof);
}

/// issue 4 §8 connection caps, per listener: `cx.set_max_connections(Some(2))`.
fn listener_connection_cap(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        let (t, addr) = listen(&mut ev, Capped);
        ev.channel(t).unwrap().set_max_connections(Some(2));
        cap_scenario(&mut ev, &addr);
    });
}

/// issue 4 §8 connection caps, per loop: `ev.set_max_channels(Some(3))` (the
/// listener and two connections).
fn loop_channel_cap(b: Backend) {
    util::bounded(secs(10), move || {
        let mut ev = event_loop(b, ());
        ev.set_max_channels(Some(3));
        let (_t, addr) = listen(&mut ev, Capped);
        cap_scenario(&mut ev, &addr);
    });
}

backend_tests!(listener_connection_cap, loop_channel_cap,);
