//! `http://` and `https://` URLs: what `asyncore get` accepts, and nothing more.
//!
//! `http[s]://HOST[:PORT][/PATH][?QUERY][#FRAGMENT]` where HOST is a name, an
//! IPv4 address or a bracketed IPv6 literal (`[::1]`). The port defaults to
//! 80 (443 for https); the path and query are sent exactly as given (an
//! empty path is `/`), except that bytes outside ASCII are percent-encoded
//! as curl does; the fragment is never sent. Other schemes are refused, as
//! are user names in the URL, and spaces or control characters
//! (percent-encode them).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The host part of a URL.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{Host, HttpUrl};
/// let url = HttpUrl::parse("http://[::1]:8080/").unwrap();
/// assert_eq!(url.host, Host::Ip("::1".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A name, resolved off the loop (lower-cased).
    Name(String),
    /// An IPv4 address or an IPv6 literal: no resolution needed.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    /// As it appears in a URL and a `Host` header: IPv6 in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// A parsed `http://` or `https://` URL.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::HttpUrl;
/// let url = HttpUrl::parse("http://Example.COM/a%20b?q=1#top").unwrap();
/// assert_eq!(url.host.to_string(), "example.com");
/// assert_eq!(url.port, 80);
/// assert_eq!(url.target, "/a%20b?q=1");
/// assert_eq!(url.host_header(), "example.com");
/// assert_eq!(url.to_string(), "http://example.com/a%20b?q=1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// The host to connect to.
    pub host: Host,
    /// The port (80, or 443 for https, unless the URL says otherwise).
    pub port: u16,
    /// The request target: path and query as given, `/` if empty.
    pub target: String,
    /// `https://`: the exchange runs over TLS.
    pub tls: bool,
}

/// Why a URL was refused: the text of the one-line error.
///
/// # Examples
///
/// ```
/// let e = asyncore_cli::get::HttpUrl::parse("ftp://example.com/").unwrap_err();
/// assert!(e.to_string().contains("unsupported scheme"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UrlError {}

impl HttpUrl {
    /// Parses `text` (see the module docs for what is accepted).
    pub fn parse(text: &str) -> Result<HttpUrl, UrlError> {
        let bad = |why: &str| UrlError(format!("bad URL {text:?}: {why}"));
        if let Some(c) = text
            .chars()
            .find(|c| c.is_ascii_whitespace() || c.is_control())
        {
            return Err(bad(&format!(
                "it contains {c:?}; percent-encode it (a space is %20)"
            )));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(bad("expected http://HOST[:PORT][/PATH]"));
        };
        let tls = scheme.eq_ignore_ascii_case("https");
        if !tls && !scheme.eq_ignore_ascii_case("http") {
            return Err(bad(&format!(
                "unsupported scheme {scheme:?}: only http:// and https:// URLs"
            )));
        }
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(bad("user names and passwords in URLs are not supported"));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = split_host_port(authority, default_port).map_err(|why| bad(&why))?;
        let target = match target {
            "" => "/".to_string(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_string(),
        };
        let target = encode_non_ascii(&target);
        Ok(HttpUrl {
            host,
            port,
            target,
            tls,
        })
    }

    /// Scheme, host and port (the port only when it is not the scheme's default), as in
    /// `http://example.com:8080`: what relative references resolve against.
    ///
    /// # Examples
    ///
    /// ```
    /// let url = asyncore_cli::get::HttpUrl::parse("http://h:8080/a?b").unwrap();
    /// assert_eq!(url.origin(), "http://h:8080");
    /// ```
    pub fn origin(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.host_header())
    }

    /// The `Host` header's value: the port only when it is not the
    /// scheme's default.
    pub fn host_header(&self) -> String {
        if self.port == if self.tls { 443 } else { 80 } {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.target)
    }
}

/// `text` with every byte outside ASCII percent-encoded (`é` → `%C3%A9`), as
/// curl sends it: a request target is ASCII.
fn encode_non_ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(Host, u16), String> {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((literal, after)) = inner.split_once(']') else {
            return Err("an IPv6 literal needs its closing ']'".into());
        };
        let ip: Ipv6Addr = literal
            .parse()
            .map_err(|_| format!("{literal:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or("expected ':PORT' after the IPv6 literal")?,
            ),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (name, port) = match authority.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (authority, None),
        };
        if name.is_empty() {
            return Err("no host name".into());
        }
        if name.contains(':') {
            return Err("put an IPv6 address in brackets: http://[::1]:8080/".into());
        }
        let host = match name.parse::<Ipv4Addr>() {
            Ok(ip) => Host::Ip(IpAddr::V4(ip)),
            Err(_) => {
                let ok = name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
                if !ok {
                    return Err(format!("{name:?} is not a valid host name"));
                }
                Host::Name(name.to_ascii_lowercase())
            }
        };
        (host, port)
    };
    let port = match port {
        None | Some("") => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => return Err(format!("{p:?} is not a port number (1-65535)")),
            Ok(n) if !p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(format!("{p:?} is not a port number ({n}?)"))
            }
            Ok(n) => n,
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> HttpUrl {
        HttpUrl::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn accepted() {
        let u = ok("http://example.com");
        assert_eq!(
            (u.host, u.port, u.target.as_str()),
            (Host::Name("example.com".into()), 80, "/")
        );
        let u = ok("HTTP://10.0.0.1:8080/a/b?c=d&e");
        assert_eq!(u.host, Host::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!((u.port, u.target.as_str()), (8080, "/a/b?c=d&e"));
        let u = ok("http://[::1]:8080/x");
        assert_eq!(u.host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(u.host_header(), "[::1]:8080");
        assert_eq!(u.to_string(), "http://[::1]:8080/x");
        assert_eq!(ok("http://[fe80::1]/").port, 80);
        assert_eq!(ok("http://h:/p").port, 80);
        assert_eq!(ok("http://h?q").target, "/?q");
        assert_eq!(ok("http://h/p#frag").target, "/p");
        assert_eq!(ok("http://h/%7Euser/").target, "/%7Euser/");
        assert_eq!(
            ok("http://my_host.local:80/").host_header(),
            "my_host.local"
        );
    }

    // Bytes outside ASCII in the path and query are sent percent-encoded,
    // as curl sends them: a request target is ASCII (RFC 9112 §3.2).
    #[test]
    fn non_ascii_is_percent_encoded() {
        assert_eq!(
            ok("http://h/\u{e9}t\u{e9}?q=\u{fc}").target,
            "/%C3%A9t%C3%A9?q=%C3%BC"
        );
        assert_eq!(ok("http://h/a\u{a0}b").target, "/a%C2%A0b");
        assert_eq!(
            ok("http://h/%C3%A9").target,
            "/%C3%A9",
            "already encoded stays"
        );
        assert_eq!(ok("http://h/\u{e9}").to_string(), "http://h/%C3%A9");
    }

    #[test]
    fn refused() {
        for text in [
            "",
            "example.com",
            "http://",
            "http:///path",
            "http://:80/",
            "ftp://example.com/",
            "http://user:pw@example.com/",
            "http://host:0/",
            "http://host:65536/",
            "http://host:+80/",
            "http://host:http/",
            "http://[::1/",
            "http://[nonsense]/",
            "http://[::1]x/",
            "http://::1/",
            "http://exa mple.com/",
            "http://example.com/a b",
            "http://ex!ample.com/",
        ] {
            let e = HttpUrl::parse(text).expect_err(text);
            assert!(e.0.starts_with("bad URL"), "{text}: {e}");
        }
        let url = HttpUrl::parse("HTTPS://example.com/x").unwrap();
        assert!(url.tls && url.port == 443 && url.host_header() == "example.com");
        assert_eq!(url.to_string(), "https://example.com/x");
        let url = HttpUrl::parse("https://example.com:80/").unwrap();
        assert_eq!(url.host_header(), "example.com:80");
    }
}
