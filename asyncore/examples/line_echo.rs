//! A line-echo server on `AsyncChat`: each CRLF-terminated line comes back
//! with CRLF. Lines longer than 64 KiB get an error line and are discarded;
//! the connection goes on, and memory stays flat whatever the peer sends.
//!
//! ```text
//! cargo run --release --example line_echo -- 127.0.0.1:PORT [select|poll|epoll]
//! ```

use asyncore_loop::chat::{AsyncChat, Chat, ChatHandler, Collector, Records};
use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SockAddr, Socket, AF_INET, AF_INET6, SOCK_STREAM,
};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

const MAX_LINE: usize = 64 << 10;

struct LineEcho {
    line: Collector,
}

impl ChatHandler for LineEcho {
    // The lines that arrived whole go back from the input buffer as they
    // came, CRLFs included: one push for all the whole lines of a read.
    fn found_records(&mut self, chat: &mut Chat<'_, '_>, lines: Records<'_>) -> io::Result<()> {
        let received = lines.as_received();
        // Only lines longer than the limit together can hold one past it.
        if received.len() > MAX_LINE {
            return echo_each(chat, received);
        }
        chat.push(received)
    }

    // A line split across reads is collected first.
    fn collect_incoming_data(&mut self, _chat: &mut Chat<'_, '_>, data: &[u8]) -> io::Result<()> {
        self.line.collect(data);
        Ok(())
    }

    fn found_terminator(&mut self, chat: &mut Chat<'_, '_>) -> io::Result<()> {
        match self.line.finish() {
            Ok(line) => echo(chat, line),
            Err(over) => too_long(chat, over.total),
        }
    }
}

fn echo(chat: &mut Chat<'_, '_>, line: &[u8]) -> io::Result<()> {
    chat.push(line)?;
    chat.push("\r\n")
}

/// Echoes CRLF lines one by one, each checked against the limit.
fn echo_each(chat: &mut Chat<'_, '_>, mut received: &[u8]) -> io::Result<()> {
    while let Some(cr) = received.windows(2).position(|w| w == b"\r\n") {
        let (line, rest) = received.split_at(cr + 2);
        if cr > MAX_LINE {
            too_long(chat, cr)?;
        } else {
            chat.push(line)?;
        }
        received = rest;
    }
    Ok(())
}

fn too_long(chat: &mut Chat<'_, '_>, len: usize) -> io::Result<()> {
    chat.push(format!(
        "-ERR record of {len} bytes exceeds the limit of {MAX_LINE} bytes\r\n"
    ))
}

struct Server;

impl Dispatcher for Server {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        let chan = AsyncChat::new(LineEcho {
            line: Collector::new(MAX_LINE),
        })
        .with_terminator("\r\n");
        cx.add(chan).adopt(sock)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: line_echo HOST:PORT [select|poll|epoll]");
        return ExitCode::from(2);
    };
    let backend = match args.get(1).map(|b| b.parse::<Backend>()) {
        None => Backend::Epoll,
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            eprintln!("line_echo: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ev = EventLoop::new().with_backend(backend);
    let mut server = ev.add(Server);
    let listening = server
        .create_socket(if addr.is_ipv6() { AF_INET6 } else { AF_INET }, SOCK_STREAM)
        .and_then(|()| {
            server.set_reuse_addr();
            server.bind(addr)?;
            server.listen(128)?;
            server.socket()?.local_addr()
        });
    match listening {
        Ok(bound) => {
            if let Some(bound) = bound.as_socket() {
                println!("listening on {bound}");
                let _ = io::stdout().flush();
            }
        }
        Err(e) => {
            eprintln!("line_echo: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    }
    match ev.run_loop(None, None) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("line_echo: {e}");
            ExitCode::FAILURE
        }
    }
}
