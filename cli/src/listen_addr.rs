//! `--listen` addresses as people type them: `7007`, `:7007`,
//! `localhost:7007`, `127.0.0.1:7007`, `[::1]:7007`. One parser for every
//! app that listens.

use crate::AppError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// The `--listen` help line every app shares.
pub const LISTEN_HELP: &str = "Address to listen on: PORT, :PORT, HOST:PORT or [IPv6]:PORT \
                               (a bare port or :PORT is 127.0.0.1; a host name is resolved once, at start-up)";

/// The forms accepted, for error messages.
const FORMS: &str = "expected PORT, :PORT, HOST:PORT or [IPv6]:PORT \
                     (e.g. 7007, localhost:7007, 0.0.0.0:7007, [::1]:7007)";

/// Parses a `--listen` address.
///
/// * `PORT` or `:PORT`: 127.0.0.1 (loopback only; say `0.0.0.0:PORT` to
///   listen on every interface);
/// * `IPv4:PORT`, or `[IPv6]:PORT` with the brackets;
/// * `NAME:PORT`: the name is resolved now, once, and the first address
///   the resolver gives is used.
///
/// Anything else is a one-line usage error (exit code 2).
///
/// # Examples
///
/// ```
/// use asyncore_cli::parse_listen;
/// assert_eq!(parse_listen("7007")?.to_string(), "127.0.0.1:7007");
/// assert_eq!(parse_listen(":7007")?.to_string(), "127.0.0.1:7007");
/// assert_eq!(parse_listen("[::1]:7007")?.to_string(), "[::1]:7007");
/// assert!(parse_listen("localhost:7007")?.ip().is_loopback());
/// assert_eq!(parse_listen("nonsense").unwrap_err().code, 2);
/// # Ok::<(), asyncore_cli::AppError>(())
/// ```
pub fn parse_listen(text: &str) -> Result<SocketAddr, AppError> {
    let bad = |why: &str| AppError::usage(format!("bad listen address {text:?}: {why}"));
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad(FORMS));
    }
    if let Ok(addr) = trimmed.parse::<SocketAddr>() {
        return Ok(addr);
    }
    // An address with no port: `[::1]` or `127.0.0.1` (`rsplit_once` below
    // would take the end of the IPv6 one for a port). Unbracketed IPv6 text
    // (`::1`, `::1:7007`) is left to the brackets message below: which end
    // is a port cannot be told.
    let bracketed = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
    let bare_ip = match bracketed {
        Some(inside) => inside.parse::<IpAddr>().ok(),
        None => trimmed.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    };
    if let Some(ip) = bare_ip {
        let example = SocketAddr::new(ip, 7007);
        return Err(bad(&format!("no port; add one, as in {example}")));
    }
    let (host, port) = match trimmed.rsplit_once(':') {
        None if trimmed.bytes().all(|b| b.is_ascii_digit()) => ("", trimmed),
        None => return Err(bad(&format!("no port; {FORMS}"))),
        Some((host, port)) => (host, port),
    };
    let port = parse_port(port).ok_or_else(|| bad(&format!("{port:?} is not a port (0-65535)")))?;
    if host.is_empty() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if host.starts_with('[') || host.ends_with(']') {
        return Err(bad(
            "the brackets must hold an IPv6 address, as in [::1]:7007",
        ));
    }
    if host.contains(':') {
        return Err(bad("put an IPv6 address in brackets, as in [::1]:7007"));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let name_ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !name_ok {
        return Err(bad(&format!("{host:?} is not a host name; {FORMS}")));
    }
    // Start-up, before any loop runs: blocking resolution is fine here.
    match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| bad(&format!("{host} has no address"))),
        Err(e) => Err(bad(&format!("cannot resolve {host}: {e}"))),
    }
}

/// `0`-`65535`, digits only (no sign, no spaces).
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_listen;

    #[test]
    fn accepted_forms() {
        for (text, want) in [
            ("7007", "127.0.0.1:7007"),
            (":7007", "127.0.0.1:7007"),
            ("0", "127.0.0.1:0"),
            (":0", "127.0.0.1:0"),
            ("127.0.0.1:7007", "127.0.0.1:7007"),
            ("0.0.0.0:25", "0.0.0.0:25"),
            ("[::1]:7007", "[::1]:7007"),
            ("[::]:0", "[::]:0"),
            (" 7007 ", "127.0.0.1:7007"),
        ] {
            let got = parse_listen(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got.to_string(), want, "{text}");
        }
        let local = parse_listen("localhost:7007").expect("localhost resolves");
        assert!(local.ip().is_loopback() && local.port() == 7007, "{local}");
    }

    #[test]
    fn refused_forms() {
        for text in [
            "",
            "nonsense",
            "localhost",
            "localhost:",
            "localhost:http",
            "127.0.0.1:65536",
            "127.0.0.1:-1",
            "127.0.0.1:+80",
            "::1:7007",
            "[::1:7007",
            "[nonsense]:7007",
            "host name:7007",
            "no-such-host.invalid:7007",
            "1.2.3.4:5:6",
            "[::1]",
            "::1",
            "127.0.0.1",
        ] {
            let e = parse_listen(text).expect_err(text);
            assert_eq!(e.code, 2, "{text}");
            assert!(e.message.starts_with("bad listen address "), "{text}: {e}");
            assert_eq!(e.message.lines().count(), 1, "{text}: {e}");
        }
    }

    #[test]
    fn an_address_without_a_port_is_told_so() {
        for (text, hint) in [("[::1]", "[::1]:7007"), ("127.0.0.1", "127.0.0.1:7007")] {
            let e = parse_listen(text).expect_err(text);
            assert!(
                e.message.contains("no port") && e.message.contains(hint),
                "{text}: {e}"
            );
        }
        // Unbracketed IPv6, with or without what may be a port: brackets.
        for text in ["::1", "::1:7007", "fe80::1:80"] {
            let e = parse_listen(text).expect_err(text);
            assert!(
                e.message.contains("put an IPv6 address in brackets"),
                "{text}: {e}"
            );
        }
    }
}
