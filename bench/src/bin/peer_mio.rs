//! mio echo peer, one thread: 64 KiB reads into one shared buffer, write at
//! once, buffer the rest per connection (the C peer's design on mio).
//!
//! `peer_mio HOST:PORT` prints `listening on ADDR`.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};

const LISTENER: Token = Token(usize::MAX);

struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
}

fn main() -> io::Result<()> {
    asyncore_bench::net::raise_nofile();
    let addr = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("usage: peer_mio HOST:PORT");
    let mut listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 65536];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let i = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    poll.registry()
                        .register(&mut stream, Token(i), Interest::READABLE)?;
                    conns[i] = Some(Conn {
                        stream,
                        pending: Vec::new(),
                    });
                }
                continue;
            }
            let i = ev.token().0;
            let Some(c) = conns[i].as_mut() else { continue };
            let mut close = false;
            if ev.is_writable() && !c.pending.is_empty() {
                match c.stream.write(&c.pending) {
                    Ok(n) => {
                        c.pending.drain(..n);
                        if c.pending.is_empty() {
                            poll.registry().reregister(
                                &mut c.stream,
                                Token(i),
                                Interest::READABLE,
                            )?;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => close = true,
                }
            }
            // mio is edge-triggered: read until it would block (unless backlogged).
            while !close && ev.is_readable() && c.pending.is_empty() {
                match c.stream.read(&mut buf) {
                    Ok(0) => close = true,
                    Ok(n) => {
                        let w = match c.stream.write(&buf[..n]) {
                            Ok(w) => w,
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                            Err(_) => {
                                close = true;
                                break;
                            }
                        };
                        if w < n {
                            c.pending.extend_from_slice(&buf[w..n]);
                            poll.registry().reregister(
                                &mut c.stream,
                                Token(i),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                        }
                        if n < buf.len() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => close = true,
                }
            }
            if close {
                if let Some(mut c) = conns[i].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                free.push(i);
            }
        }
    }
}
