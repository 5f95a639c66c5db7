//! Entry points for the fuzz targets (`fuzz/`) and the bad-input tests:
//! the apps' parsers, and an SMTP session driven in-process over a socket
//! pair. Not a stable API.

use crate::smtpd::{channel, greet, Memory, Message, Session, SessionConfig};
use asyncore_loop::chat::AsyncChat;
use asyncore_loop::EventLoop;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

/// The SMTP command-line parsers: verb and argument.
pub fn smtp_split_command(line: &str) -> (String, Option<&str>) {
    crate::smtpd::parse::split_command(line)
}

/// The SMTP path parser: (address, rest).
pub fn smtp_get_addr(arg: &str) -> (String, &str) {
    crate::smtpd::parse::get_addr(arg)
}

/// The SMTP `FROM:`/`TO:` keyword stripper.
pub fn smtp_strip_keyword<'a>(keyword: &str, arg: &'a str) -> &'a str {
    crate::smtpd::parse::strip_keyword(keyword, arg)
}

/// The ESMTP parameter parser.
pub fn smtp_get_params(options: &[String]) -> Option<HashMap<String, Option<String>>> {
    crate::smtpd::parse::get_params(options)
}

/// What a client saw and the server delivered in one SMTP session.
#[derive(Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Every byte the server sent, the greeting included.
    pub replies: Vec<u8>,
    /// The messages delivered.
    pub messages: Vec<Message>,
    /// Whether the server closed the connection before the client's end of
    /// stream was handled.
    pub server_closed: bool,
}

/// Runs one SMTP session (the real `Session` on its chat channel, in a loop
/// of its own) against a client that sends `pieces` one after the other,
/// letting the server handle each before the next, then half-closes and
/// reads to the end. `max_size` is the session's message limit.
pub fn smtp_exchange(pieces: &[&[u8]], max_size: usize) -> io::Result<Exchange> {
    let (server_end, mut client) = UnixStream::pair()?;
    client.set_nonblocking(true)?;
    let mut ev = EventLoop::new();
    let memory = Rc::new(Memory::default());
    let config = Rc::new(SessionConfig {
        hostname: "fuzz.invalid".to_string(),
        max_size,
        ..SessionConfig::default()
    });
    let session = Session::new(config, "127.0.0.1", memory.clone());
    let token = ev.add(channel(session)).adopt(server_end.into())?;
    ev.with(token, |c: &mut AsyncChat<Session>, cx| greet(c, cx))
        .transpose()?;
    let mut replies = Vec::new();
    let mut server_closed = false;
    for piece in pieces {
        let mut rest = *piece;
        while !rest.is_empty() && !server_closed {
            match client.write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The server closed: what is left cannot be sent.
                Err(_) => server_closed = true,
            }
            server_closed |= settle(&mut ev, &mut client, &mut replies)?;
        }
        server_closed |= settle(&mut ev, &mut client, &mut replies)?;
    }
    let _ = client.shutdown(std::net::Shutdown::Write);
    settle(&mut ev, &mut client, &mut replies)?;
    Ok(Exchange {
        replies,
        messages: memory.messages(),
        server_closed,
    })
}

/// Runs passes until the server has nothing more to do for now; true if
/// its end is closed.
fn settle(ev: &mut EventLoop, client: &mut UnixStream, replies: &mut Vec<u8>) -> io::Result<bool> {
    let mut idle = 0;
    let mut buf = [0u8; 16384];
    while idle < 3 {
        ev.run_loop(Some(Duration::ZERO), Some(1))?;
        let mut progressed = false;
        loop {
            match client.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => {
                    replies.extend_from_slice(&buf[..n]);
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return Ok(true),
            }
        }
        idle = if progressed { 0 } else { idle + 1 };
        if ev.is_empty() {
            idle = 3;
        }
    }
    Ok(false)
}
