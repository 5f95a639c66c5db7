//! The echo server from asyncore's documentation: a listener whose
//! `handle_accepted` wraps each connection in a `dispatcher_with_send`-style
//! handler that sends back whatever it reads. Serves until killed; prints the
//! address it listens on (useful with port 0).
//!
//! ```text
//! cargo run --release --example echo_server -- 127.0.0.1:PORT [select|poll|epoll]
//! ```

use asyncore_loop::View;
use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, AF_INET, AF_INET6,
    SOCK_STREAM,
};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Default)]
struct EchoHandler {
    out: SendBuffer,
}

impl Dispatcher for EchoHandler {
    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let data = cx.recv(8192)?;
        if !data.is_empty() {
            self.out.send(cx, &data)?;
        }
        Ok(())
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

struct EchoServer;

impl EchoServer {
    fn start(ev: &mut EventLoop, addr: SocketAddr) -> io::Result<SockAddr> {
        let mut this = ev.add(EchoServer);
        this.create_socket(if addr.is_ipv6() { AF_INET6 } else { AF_INET }, SOCK_STREAM)?;
        this.set_reuse_addr();
        this.bind(addr)?;
        this.listen(128)?;
        this.socket()?.local_addr()
    }
}

impl Dispatcher for EchoServer {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_>,
        sock: Socket,
        _addr: SockAddr,
    ) -> io::Result<()> {
        cx.add(EchoHandler::default()).adopt(sock)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(addr) = args.first().and_then(|a| a.parse::<SocketAddr>().ok()) else {
        eprintln!("usage: echo_server HOST:PORT [select|poll|epoll]");
        return ExitCode::from(2);
    };
    let backend = match args.get(1).map(|b| b.parse::<Backend>()) {
        None => Backend::Epoll,
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            eprintln!("echo_server: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ev = EventLoop::new().with_backend(backend);
    let bound = match EchoServer::start(&mut ev, addr) {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!("echo_server: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(bound) = bound.as_socket() {
        println!("listening on {bound}");
        let _ = io::stdout().flush();
    }
    match ev.run_loop(None, None) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}
