//! The HTTP client from asyncore's documentation, nearly line for
//! line. It writes to stdout exactly the bytes the server sent (status line,
//! headers, body) and exits when the server closes the connection.
//!
//! ```text
//! cargo run --release --example http_client -- HOST PORT PATH
//! ```

use asyncore_loop::View;
use asyncore_loop::{Cx, Dispatcher, EventLoop, AF_INET, SOCK_STREAM};
use std::io::{self, Write};
use std::process::ExitCode;

struct HttpClient {
    buffer: Vec<u8>,
}

impl HttpClient {
    fn start(ev: &mut EventLoop, host: &str, port: u16, path: &str) -> io::Result<()> {
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        let mut this = ev.add(HttpClient {
            buffer: request.into_bytes(),
        });
        this.create_socket(AF_INET, SOCK_STREAM)?;
        this.connect((host, port))
    }
}

impl Dispatcher for HttpClient {
    fn handle_connect(&mut self, _cx: &mut Cx<'_>) -> io::Result<()> {
        Ok(())
    }

    fn handle_close(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        cx.close()
    }

    fn handle_read(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        io::stdout().lock().write_all(&cx.recv(8192)?)
    }

    fn writable(&self, _ch: &View<'_>) -> bool {
        !self.buffer.is_empty()
    }

    fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        let sent = cx.send(&self.buffer)?;
        self.buffer.drain(..sent);
        Ok(())
    }

    /// asyncore would log and close; a command-line tool should also fail.
    fn handle_error(&mut self, cx: &mut Cx<'_>, err: io::Error) -> io::Result<()> {
        cx.close()?;
        Err(err)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, path] = args.as_slice() else {
        eprintln!("usage: http_client HOST PORT PATH");
        return ExitCode::from(2);
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("http_client: bad port {port:?}");
        return ExitCode::from(2);
    };
    let mut ev = EventLoop::new();
    let result = HttpClient::start(&mut ev, host, port, path).and_then(|()| ev.run());
    match result.and_then(|()| io::stdout().flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_client: {host}:{port}: {e}");
            ExitCode::FAILURE
        }
    }
}
