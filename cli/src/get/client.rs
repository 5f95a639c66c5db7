//! The connection: resolution off the loop, one channel per address tried,
//! and the [`Dispatcher`] that sends the request and feeds the parser.

use super::redirect::redirect_location;
use super::response::{Event, Head, ResponseParser};
use super::url::{Host, HttpUrl};
use super::{exit, Failure};
use asyncore_loop::View;
use asyncore_loop::{Cx, Deadline, Dispatcher, EventLoop, TimerId, AF_INET, AF_INET6, SOCK_STREAM};
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// The loop's shared state: what the channels found, and the output not yet
/// written (the driver in `fetch` writes it after every pass).
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) url: HttpUrl,
    pub(super) request: Vec<u8>,
    /// The request is HEAD: the answer has no body.
    pub(super) head_request: bool,
    pub(super) timeout: Duration,
    /// What is left of `--max-time` for this exchange.
    pub(super) time_left: Option<Duration>,
    pub(super) include_head: bool,
    /// True until the addresses are known (resolution runs elsewhere).
    pub(super) waiting_for_addresses: bool,
    /// The resolution deadline, while a helper thread resolves.
    pub(super) resolve_timer: Option<TimerId>,
    /// Bytes for the output: the head with `-i`, then the body.
    pub(super) out: Vec<u8>,
    pub(super) head: Option<Head>,
    pub(super) trailers: Vec<(String, String)>,
    pub(super) body_len: u64,
    pub(super) peer: Option<SocketAddr>,
    /// Set once: `Ok` when the response is complete, else the failure.
    pub(super) outcome: Option<Result<(), Failure>>,
    /// https: the TLS client configuration.
    pub(super) tls: Option<std::sync::Arc<asyncore_loop::tls::ClientConfig>>,
}

impl Shared {
    /// One exchange: `request` (a GET or, with `head_request`, a HEAD)
    /// sent to `url`'s host.
    pub(super) fn new(url: HttpUrl, request: Vec<u8>, head_request: bool) -> Self {
        Shared {
            url,
            request,
            head_request,
            timeout: Duration::from_secs(30),
            time_left: None,
            include_head: false,
            waiting_for_addresses: true,
            resolve_timer: None,
            out: Vec::new(),
            head: None,
            trailers: Vec::new(),
            body_len: 0,
            peer: None,
            outcome: None,
            tls: None,
        }
    }

    /// Records the first failure (later ones are consequences).
    fn fail(&mut self, code: u8, message: String) {
        if self.outcome.is_none() {
            self.outcome = Some(Err(Failure { code, message }));
        }
    }

    fn secs(&self) -> String {
        format!("{:?}", self.timeout)
    }
}

/// Starts the fetch in `ev`: an IP literal connects on the loop's first
/// pass; a name is resolved on a helper thread, which posts the addresses
/// back with [`asyncore_loop::Remote::post`] (the loop keeps serving meanwhile,
/// and a loop timer bounds the wait).
pub(super) fn start(ev: &mut EventLoop<Shared>) -> io::Result<()> {
    if let Some(left) = ev.state().time_left {
        // --max-time: a loop timer, so a server trickling bytes (which
        // keeps the idle deadline away) is still cut off.
        ev.call_later(left, |cx| {
            let st = cx.state();
            let message = format!(
                "timed out: --max-time reached ({} body bytes received)",
                st.body_len
            );
            st.fail(exit::TIMEOUT, message);
            Ok(())
        });
    }
    let (host, port) = (ev.state().url.host.clone(), ev.state().url.port);
    let name = match host {
        Host::Ip(ip) => {
            let addr = SocketAddr::new(ip, port);
            ev.call_later(Duration::ZERO, move |cx| {
                connect_next(cx, VecDeque::from([addr]), None)
            });
            return Ok(());
        }
        Host::Name(name) => name,
    };
    let timeout = ev.state().timeout;
    let timer = {
        let name = name.clone();
        ev.call_later(timeout, move |cx| {
            let st = cx.state();
            st.resolve_timer = None;
            let message = format!("timed out resolving {name} after {}", st.secs());
            st.fail(exit::TIMEOUT, message);
            Ok(())
        })
    };
    ev.state_mut().resolve_timer = Some(timer);
    let remote = ev.remote()?;
    std::thread::Builder::new()
        .name("asyncore-get-resolve".into())
        .spawn(move || {
            // getaddrinfo blocks, so it runs here, never on the loop thread.
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(|addrs| addrs.collect::<VecDeque<_>>());
            // The loop may be gone (it timed out): then nobody is waiting.
            let _ = remote.post(move |cx| resolved(cx, &name, found));
        })?;
    Ok(())
}

/// On the loop thread: the helper thread's answer arrived.
fn resolved(
    cx: &mut Cx<'_, Shared>,
    name: &str,
    found: io::Result<VecDeque<SocketAddr>>,
) -> io::Result<()> {
    let Some(timer) = cx.state().resolve_timer.take() else {
        return Ok(()); // too late: the resolution already timed out
    };
    cx.cancel_timer(timer);
    match found {
        Ok(addrs) if !addrs.is_empty() => {
            log::debug!("{name} resolved to {addrs:?}");
            connect_next(cx, addrs, None)
        }
        Ok(_) => {
            let st = cx.state();
            st.waiting_for_addresses = false;
            st.fail(
                exit::RESOLVE,
                format!("cannot resolve {name}: no addresses"),
            );
            Ok(())
        }
        Err(e) => {
            let st = cx.state();
            st.waiting_for_addresses = false;
            st.fail(exit::RESOLVE, format!("cannot resolve {name}: {e}"));
            Ok(())
        }
    }
}

/// Opens a channel to the first address that does not fail at once; when
/// none is left, records `last` (or a generic failure).
fn connect_next(
    cx: &mut Cx<'_, Shared>,
    mut addrs: VecDeque<SocketAddr>,
    mut last: Option<Failure>,
) -> io::Result<()> {
    cx.state().waiting_for_addresses = false;
    let (timeout, request) = (cx.state().timeout, cx.state().request.clone());
    let tls = cx.state().tls.clone();
    let sni = cx.state().url.host.to_string();
    let sni = sni
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let head_request = cx.state().head_request;
    let include_head = cx.state().include_head;
    while let Some(addr) = addrs.pop_front() {
        log::debug!("connecting to {addr}");
        let conn = Conn {
            addr,
            rest: addrs.clone(),
            request: request.clone(),
            sent: 0,
            connected: false,
            parser: match (head_request, include_head) {
                (true, _) => ResponseParser::for_head_request().keeping_interim(),
                (false, true) => ResponseParser::new().keeping_interim(),
                (false, false) => ResponseParser::new(),
            },
            buf: vec![0; 64 * 1024],
        };
        let mut ch = cx.add(conn);
        let family = if addr.is_ipv6() { AF_INET6 } else { AF_INET };
        match ch
            .create_socket(family, SOCK_STREAM)
            .and_then(|()| ch.connect(addr))
            .and_then(|()| match &tls {
                Some(config) => {
                    ch.start_tls_client(config.clone(), &sni)?;
                    // The idle deadline below bounds the handshake too.
                    ch.set_tls_handshake_timeout(None);
                    Ok(())
                }
                None => Ok(()),
            }) {
            Ok(()) => {
                // Connect timeout and idle timeout in one: no activity yet.
                ch.set_timeout(Deadline::Idle, Some(timeout));
                return Ok(());
            }
            Err(e) => {
                let _ = ch.close();
                last = Some(connect_failure(addr, &e));
            }
        }
    }
    let st = cx.state();
    let failure = last.unwrap_or_else(|| Failure {
        code: exit::CONNECT,
        message: format!("cannot connect to {}", st.url.host_header()),
    });
    st.fail(failure.code, failure.message);
    Ok(())
}

fn connect_failure(addr: SocketAddr, err: &io::Error) -> Failure {
    Failure {
        code: exit::CONNECT,
        message: format!("cannot connect to {addr}: {err}"),
    }
}

/// One connection attempt, and then the exchange.
struct Conn {
    addr: SocketAddr,
    /// The addresses to try if this one fails to connect.
    rest: VecDeque<SocketAddr>,
    request: Vec<u8>,
    sent: usize,
    connected: bool,
    parser: ResponseParser,
    buf: Vec<u8>,
}

impl Conn {
    /// This address failed before connecting: try the next one.
    fn next_address(&mut self, cx: &mut Cx<'_, Shared>, failure: Failure) -> io::Result<()> {
        log::debug!("{}", failure.message);
        cx.close()?;
        connect_next(cx, std::mem::take(&mut self.rest), Some(failure))
    }

    fn fail(&mut self, cx: &mut Cx<'_, Shared>, code: u8, message: String) -> io::Result<()> {
        cx.state().fail(code, message);
        cx.close()
    }

    fn on_head(&mut self, cx: &mut Cx<'_, Shared>, head: Head) -> io::Result<()> {
        let st = cx.state();
        log::debug!("{} from {}", head.status_line(), self.addr);
        if head.status >= 400 {
            let message = format!("HTTP error: {} from {}", head.status_line(), st.url);
            st.head = Some(head);
            return self.fail(cx, exit::HTTP_STATUS, message);
        }
        if head.status == 101 {
            // The request asks for no upgrade: what follows is no HTTP body.
            let message = format!(
                "unexpected {} from {} (no protocol upgrade was asked for)",
                head.status_line(),
                st.url
            );
            return self.fail(cx, exit::BAD_RESPONSE, message);
        }
        if redirect_location(&head).is_some() {
            // The driver follows it or reports it; its head is shown when
            // heads are (as curl -i and -I do), its body is not wanted.
            if st.include_head {
                st.out.extend_from_slice(&head.interim);
                st.out.extend_from_slice(&head.raw);
            }
            st.head = Some(head);
            return self.complete(cx);
        }
        if st.include_head {
            st.out.extend_from_slice(&head.interim);
            st.out.extend_from_slice(&head.raw);
        }
        st.head = Some(head);
        Ok(())
    }

    /// Feeds received bytes to the parser and acts on what it finds.
    fn feed(&mut self, cx: &mut Cx<'_, Shared>, data: &[u8]) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() && !cx.is_closed() {
            let (used, event) = match self.parser.advance(rest) {
                Ok(step) => step,
                Err(e) => {
                    let message = format!("{e} from {}", cx.state().url);
                    return self.fail(cx, exit::BAD_RESPONSE, message);
                }
            };
            rest = &rest[used..];
            match event {
                Event::NeedMore => break,
                Event::Head(head) => self.on_head(cx, head)?,
                Event::Body(bytes) => {
                    let st = cx.state();
                    st.body_len += bytes.len() as u64;
                    st.out.extend_from_slice(bytes);
                }
                Event::Done => break,
            }
        }
        if self.parser.is_done() && !cx.is_closed() {
            return self.complete(cx);
        }
        Ok(())
    }

    fn complete(&mut self, cx: &mut Cx<'_, Shared>) -> io::Result<()> {
        let st = cx.state();
        st.trailers = self.parser.trailers().to_vec();
        if st.outcome.is_none() {
            st.outcome = Some(Ok(()));
        }
        cx.close()
    }
}

impl Dispatcher<Shared> for Conn {
    fn writable(&self, _ch: &View<'_, Shared>) -> bool {
        !self.connected || self.sent < self.request.len()
    }

    fn handle_connect(&mut self, cx: &mut Cx<'_, Shared>) -> io::Result<()> {
        log::debug!("connected to {}", self.addr);
        self.connected = true;
        cx.state().peer = Some(self.addr);
        Ok(())
    }

    fn handle_write(&mut self, cx: &mut Cx<'_, Shared>) -> io::Result<()> {
        if self.sent < self.request.len() {
            self.sent += cx.send(&self.request[self.sent..])?;
        }
        Ok(())
    }

    fn handle_read(&mut self, cx: &mut Cx<'_, Shared>) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        let result = cx
            .recv_into(&mut buf)
            .and_then(|n| self.feed(cx, &buf[..n]));
        self.buf = buf;
        result
    }

    fn handle_close(&mut self, cx: &mut Cx<'_, Shared>) -> io::Result<()> {
        if !self.connected {
            let err = cx
                .socket_error()
                .ok()
                .flatten()
                .unwrap_or_else(|| io::Error::from(io::ErrorKind::ConnectionRefused));
            return self.next_address(cx, connect_failure(self.addr, &err));
        }
        if let Some(f) = super::tls::failure(cx.tls_close(), &cx.state().url.host.to_string()) {
            return self.fail(cx, f.code, f.message);
        }
        if cx.tls_truncated() && !self.parser.is_done() {
            // A body that ends at the close needs close_notify to be whole.
            let message = format!(
                "truncated: the connection to {} closed without TLS close_notify",
                self.addr
            );
            return self.fail(cx, exit::BAD_RESPONSE, message);
        }
        match self.parser.finish() {
            Ok(()) => self.complete(cx),
            Err(e) => {
                let message = format!("{e} from {}", cx.state().url);
                self.fail(cx, exit::BAD_RESPONSE, message)
            }
        }
    }

    fn handle_error(&mut self, cx: &mut Cx<'_, Shared>, err: io::Error) -> io::Result<()> {
        if !self.connected {
            return self.next_address(cx, connect_failure(self.addr, &err));
        }
        let message = format!("connection to {} failed: {err}", self.addr);
        self.fail(cx, exit::CONNECT, message)
    }

    fn handle_timeout(&mut self, cx: &mut Cx<'_, Shared>, _kind: Deadline) -> io::Result<()> {
        let secs = cx.state().secs();
        if !self.connected {
            let failure = Failure {
                code: exit::TIMEOUT,
                message: format!("timed out connecting to {} after {secs}", self.addr),
            };
            return self.next_address(cx, failure);
        }
        let message = format!("timed out: nothing from {} for {secs}", self.addr);
        self.fail(cx, exit::TIMEOUT, message)
    }
}
