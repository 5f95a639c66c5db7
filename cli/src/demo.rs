//! `asyncore demo`: one loop, both ends. A tiny HTTP server on 127.0.0.1
//! port 0 and the HTTP client from the original asyncore documentation's
//! example fetching a page from it, in the same `EventLoop`; prints the
//! exchange. Needs no network and no set-up.

use crate::AppError;
use asyncore_loop::View;
use asyncore_loop::{
    Backend, Cx, Dispatcher, EventLoop, SendBuffer, SockAddr, Socket, AF_INET, SOCK_STREAM,
};
use std::io;
use std::time::Duration;

/// What the client saw, kept in the loop's shared state.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The request the client sent.
    pub request: String,
    /// Every byte the client received.
    pub response: Vec<u8>,
}

/// The server side of one connection: read a request head, answer, close.
#[derive(Default)]
struct HttpHandler {
    head: Vec<u8>,
    out: SendBuffer,
    answered: bool,
}

impl Dispatcher<Exchange> for HttpHandler {
    fn readable(&self, _ch: &View<'_, Exchange>) -> bool {
        !self.answered
    }

    fn handle_read(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        self.head.extend(cx.recv(8192)?);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            return Ok(());
        };
        let request_line = String::from_utf8_lossy(&self.head[..end])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let body = format!(
            "<html><body><h1>Hello from asyncore for Rust</h1><p>You asked for: {request_line}</p></body></html>\n"
        );
        let response = format!(
            "HTTP/1.0 200 OK\r\nServer: asyncore-demo\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.answered = true;
        self.out.send(cx, response.as_bytes())?;
        if self.out.is_empty() {
            cx.close()?;
        }
        Ok(())
    }

    fn writable(&self, _ch: &View<'_, Exchange>) -> bool {
        !self.out.is_empty()
    }

    fn handle_write(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        self.out.initiate_send(cx)?;
        if self.out.is_empty() {
            cx.close()?;
        }
        Ok(())
    }

    fn handle_close(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        cx.close()
    }
}

/// The listener: serves exactly one connection, then closes itself.
struct HttpServer;

impl Dispatcher<Exchange> for HttpServer {
    fn handle_accepted(
        &mut self,
        cx: &mut Cx<'_, Exchange>,
        sock: Socket,
        _: SockAddr,
    ) -> io::Result<()> {
        cx.add(HttpHandler::default()).adopt(sock)?;
        cx.close()
    }
}

/// The original asyncore documentation's example HTTP client, keeping what
/// it reads instead of printing it.
struct HttpClient {
    buffer: Vec<u8>,
}

impl Dispatcher<Exchange> for HttpClient {
    fn handle_connect(&mut self, _cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        Ok(())
    }
    fn handle_close(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        cx.close()
    }
    fn handle_read(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        let data = cx.recv(8192)?;
        cx.state().response.extend(data);
        Ok(())
    }
    fn writable(&self, _ch: &View<'_, Exchange>) -> bool {
        !self.buffer.is_empty()
    }
    fn handle_write(&mut self, cx: &mut Cx<'_, Exchange>) -> io::Result<()> {
        let sent = cx.send(&self.buffer)?;
        self.buffer.drain(..sent);
        Ok(())
    }
}

/// Runs the exchange on `backend`: a server on 127.0.0.1 port 0 and the
/// asyncore documentation's example client in one loop; returns what the
/// client sent and received.
///
/// # Examples
///
/// ```
/// let x = asyncore_cli::demo::exchange(asyncore_loop::Backend::Epoll)?;
/// assert!(x.response.starts_with(b"HTTP/1.0 200 OK\r\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn exchange(backend: Backend) -> io::Result<Exchange> {
    let mut ev = EventLoop::with_state(Exchange::default()).with_backend(backend);
    let mut server = ev.add(HttpServer);
    server.create_socket(AF_INET, SOCK_STREAM)?;
    server.set_reuse_addr();
    server.bind("127.0.0.1:0")?;
    server.listen(5)?;
    let addr = server.socket()?.local_addr()?;
    let port = addr.as_socket().map_or(0, |a| a.port());

    let request = format!("GET /hello HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    ev.state_mut().request = request.clone();
    let mut client = ev.add(HttpClient {
        buffer: request.into_bytes(),
    });
    client.create_socket(AF_INET, SOCK_STREAM)?;
    client.connect(addr)?;

    // Runs until every channel has closed; bounded so a fault cannot hang it.
    ev.run_loop(Some(Duration::from_secs(5)), Some(1000))?;
    if !ev.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the exchange did not finish",
        ));
    }
    Ok(std::mem::take(ev.state_mut()))
}

/// The exchange as the command prints it: request, status, headers, a
/// body summary.
///
/// # Examples
///
/// ```
/// let x = asyncore_cli::demo::Exchange {
///     request: "GET / HTTP/1.0\r\n\r\n".into(),
///     response: b"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhi".to_vec(),
/// };
/// let text = asyncore_cli::demo::report(&x, asyncore_loop::Backend::Poll);
/// assert!(text.contains("status:   HTTP/1.0 200 OK"));
/// ```
pub fn report(exchange: &Exchange, backend: Backend) -> String {
    let text = String::from_utf8_lossy(&exchange.response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let mut out = format!(
        "asyncore demo: one {backend} loop ran an HTTP server and asyncore's example HTTP client\n\n"
    );
    out += &format!(
        "request:  {}\n",
        exchange.request.lines().next().unwrap_or("")
    );
    out += &format!("status:   {}\n", lines.next().unwrap_or("(none)"));
    for header in lines {
        out += &format!("header:   {header}\n");
    }
    out += &format!("body:     {} bytes: {}\n", body.len(), body.trim());
    out
}

/// `asyncore demo`: runs the exchange and prints it.
///
/// # Examples
///
/// ```
/// asyncore_cli::demo::run(asyncore_loop::Backend::Select)?;
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn run(backend: Backend) -> Result<(), AppError> {
    let x = exchange(backend).map_err(|e| AppError::io("demo", e))?;
    // A closed stdout (`| true`) ends the demo quietly, as `get` does.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(report(&x, backend).as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => AppError::quiet(141),
                _ => AppError::io("demo: cannot write the report", e),
            })?;
    }
    if x.response.starts_with(b"HTTP/1.0 200 ") {
        Ok(())
    } else {
        Err(AppError::new(AppError::IO, "demo: unexpected response"))
    }
}
