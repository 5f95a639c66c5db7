//! Socket vocabulary: address conversion, asyncore's error sets, `strerror`.

use socket2::{Domain, SockAddr, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6, ToSocketAddrs};
use std::path::{Path, PathBuf};

/// `socket.AF_INET`.
pub const AF_INET: Domain = Domain::IPV4;
/// `socket.AF_INET6`.
pub const AF_INET6: Domain = Domain::IPV6;
/// `socket.AF_UNIX`.
pub const AF_UNIX: Domain = Domain::UNIX;
/// `socket.SOCK_STREAM`.
pub const SOCK_STREAM: Type = Type::STREAM;
/// `socket.SOCK_DGRAM`.
pub const SOCK_DGRAM: Type = Type::DGRAM;

/// asyncore's DISCONNECTED set: errors that mean "the peer is gone"
/// and lead to `handle_close` rather than `handle_error`.
// AC-MOD-1.
pub const DISCONNECTED: [i32; 6] = [
    libc::ECONNRESET,
    libc::ENOTCONN,
    libc::ESHUTDOWN,
    libc::ECONNABORTED,
    libc::EPIPE,
    libc::EBADF,
];

/// Whether `err` carries an errno of the [`DISCONNECTED`] set.
///
/// # Examples
///
/// ```
/// use std::io;
/// let reset = io::Error::from_raw_os_error(libc::ECONNRESET);
/// assert!(asyncore_loop::is_disconnected(&reset));
/// assert!(!asyncore_loop::is_disconnected(&io::Error::from_raw_os_error(libc::EIO)));
/// ```
pub fn is_disconnected(err: &io::Error) -> bool {
    // AC-MOD-1.
    err.raw_os_error()
        .is_some_and(|e| DISCONNECTED.contains(&e))
}

/// The OS message for an errno, as asyncore's `_strerror`: never empty.
///
/// # Examples
///
/// ```
/// assert_eq!(asyncore_loop::strerror(libc::EPERM), "Operation not permitted");
/// assert!(!asyncore_loop::strerror(-1).is_empty());
/// ```
pub fn strerror(errno: i32) -> String {
    // AC-MOD-4: "Unknown error N" rather than an empty message.
    let text = io::Error::from_raw_os_error(errno).to_string();
    let suffix = format!(" (os error {errno})");
    match text.strip_suffix(&suffix) {
        Some(msg) if !msg.is_empty() => msg.to_string(),
        _ => format!("Unknown error {errno}"),
    }
}

/// Anything `bind`, `connect` and `sendto` accept as an address.
///
/// IP addresses come as `SocketAddr`, `(host, port)` or `"host:port"`; a host
/// name is resolved here, synchronously, as asyncore's `connect` does.
/// Unix-domain addresses come as a `Path`/`PathBuf`, or as a string on an
/// `AF_UNIX` socket (as Python takes them).
///
/// # Examples
///
/// ```
/// use asyncore_loop::{ToSockAddr, AF_UNIX};
/// let a = ("127.0.0.1", 80).to_sock_addr(None)?;
/// assert_eq!(a.as_socket().unwrap().port(), 80);
/// let u = std::path::Path::new("/tmp/x.sock").to_sock_addr(None)?;
/// assert!(u.is_unix());
/// assert!("/tmp/x.sock".to_sock_addr(Some(AF_UNIX))?.is_unix());
/// # Ok::<(), std::io::Error>(())
/// ```
// AC-CONN-3: host names resolve synchronously, as in asyncore.
pub trait ToSockAddr {
    /// The address; `domain` (the socket's family, when known) picks among
    /// the results of a name lookup.
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr>;
}

fn pick(addrs: impl Iterator<Item = SocketAddr>, domain: Option<Domain>) -> io::Result<SockAddr> {
    let mut first = None;
    for a in addrs {
        let fits = match domain {
            Some(d) if d == Domain::IPV4 => a.is_ipv4(),
            Some(d) if d == Domain::IPV6 => a.is_ipv6(),
            _ => true,
        };
        if fits {
            return Ok(a.into());
        }
        first.get_or_insert(a);
    }
    first
        .map(SockAddr::from)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address"))
}

impl ToSockAddr for SockAddr {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        Ok(self.clone())
    }
}

impl ToSockAddr for SocketAddr {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        Ok((*self).into())
    }
}

impl ToSockAddr for SocketAddrV4 {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        Ok((*self).into())
    }
}

impl ToSockAddr for SocketAddrV6 {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        Ok((*self).into())
    }
}

impl ToSockAddr for (IpAddr, u16) {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        Ok(SocketAddr::from(*self).into())
    }
}

impl ToSockAddr for (&str, u16) {
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr> {
        pick(self.to_socket_addrs()?, domain)
    }
}

impl ToSockAddr for (String, u16) {
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr> {
        (self.0.as_str(), self.1).to_sock_addr(domain)
    }
}

impl ToSockAddr for str {
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr> {
        if domain == Some(Domain::UNIX) {
            return SockAddr::unix(self);
        }
        pick(self.to_socket_addrs()?, domain)
    }
}

impl ToSockAddr for String {
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr> {
        self.as_str().to_sock_addr(domain)
    }
}

impl ToSockAddr for Path {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        SockAddr::unix(self)
    }
}

impl ToSockAddr for PathBuf {
    fn to_sock_addr(&self, _: Option<Domain>) -> io::Result<SockAddr> {
        SockAddr::unix(self)
    }
}

impl<T: ToSockAddr + ?Sized> ToSockAddr for &T {
    fn to_sock_addr(&self, domain: Option<Domain>) -> io::Result<SockAddr> {
        (**self).to_sock_addr(domain)
    }
}

/// A short text form of an address: `host:port`, `[v6]:port`, or the socket path.
pub(crate) fn describe_addr(addr: &SockAddr) -> String {
    if let Some(sa) = addr.as_socket() {
        return sa.to_string();
    }
    match addr.as_pathname() {
        Some(p) => p.display().to_string(),
        None if addr.is_unnamed() => "''".to_string(),
        None => "<address>".to_string(),
    }
}

/// Python's `repr()` of a bytes object, for `dispatcher_with_send`'s debug line.
pub(crate) fn bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

/// An optional socket address as text, for log lines: `127.0.0.1:80`,
/// `[::1]:80`, a Unix path, or `no address`.
pub(crate) struct AddrText<'a>(pub(crate) Option<&'a SockAddr>);

impl std::fmt::Display for AddrText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            None => f.write_str("no address"),
            Some(a) => match (a.as_socket(), a.as_pathname()) {
                (Some(ip), _) => write!(f, "{ip}"),
                (None, Some(path)) => write!(f, "{}", path.display()),
                (None, None) => f.write_str("an unnamed address"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_repr_matches_python() {
        assert_eq!(bytes_repr(b"dbg"), "b'dbg'");
        assert_eq!(bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(bytes_repr(b"\x00\n\\"), "b'\\x00\\n\\\\'");
        assert_eq!(bytes_repr(b"'\""), "b'\\'\"'");
    }

    #[test]
    fn strerror_ac_mod_4() {
        assert_eq!(strerror(libc::EPERM), "Operation not permitted");
        assert_eq!(strerror(99999), "Unknown error 99999");
        assert_eq!(strerror(-1), "Unknown error -1");
    }

    #[test]
    fn disconnected_set_ac_mod_1() {
        for e in DISCONNECTED {
            assert!(is_disconnected(&io::Error::from_raw_os_error(e)));
        }
        assert!(!is_disconnected(&io::Error::from_raw_os_error(
            libc::EAGAIN
        )));
    }
}
