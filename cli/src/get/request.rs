//! The request head: the method, our default fields, and the user's `-H`
//! and `-A` on top of them (as curl combines them).

use super::url::HttpUrl;

/// The request method: `asyncore get` sends no body, so GET or HEAD.
///
/// # Examples
///
/// ```
/// assert_eq!(asyncore_cli::get::Method::Head.as_str(), "HEAD");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// GET: the body is written out.
    #[default]
    Get,
    /// HEAD (`-I`): the head only.
    Head,
}

impl Method {
    /// The method's name on the request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// The `User-Agent` sent unless `-A` or `-H` says otherwise.
pub(super) fn default_user_agent() -> String {
    format!("asyncore-get/{}", env!("CARGO_PKG_VERSION"))
}

/// Parses `-H "Name: value"`. An empty value (`"Name:"`) removes one of the
/// fields sent by default.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::parse_header;
/// assert_eq!(parse_header("X-Token:  abc ").unwrap(), ("X-Token".to_string(), "abc".to_string()));
/// assert_eq!(parse_header("Accept:").unwrap(), ("Accept".to_string(), String::new()));
/// assert!(parse_header("no colon").is_err());
/// assert!(parse_header("Bad Name: x").is_err());
/// ```
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(format!(
            "{text:?} is not a header: expected \"Name: value\""
        ));
    };
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("{name:?} is not a header field name"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!("the value of {name} holds a line break or NUL"));
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// The fields that carry credentials: not sent to another host after a
/// redirect (curl's rule without `--location-trusted`), nor is a custom `Host`.
pub(super) fn is_origin_bound(name: &str) -> bool {
    ["authorization", "cookie", "proxy-authorization", "host"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// The request head for `url`: our fields (`Host`, `User-Agent`, `Accept`,
/// `Accept-Encoding: identity`, `Connection: close`), each replaced by the
/// user's field of the same name (removed when its value is empty), then
/// the user's other fields in their order.
pub(super) fn build(method: Method, url: &HttpUrl, user: &[(String, String)]) -> Vec<u8> {
    let mut fields: Vec<(String, String)> = vec![
        ("Host".into(), url.host_header()),
        ("User-Agent".into(), default_user_agent()),
        ("Accept".into(), "*/*".into()),
        ("Accept-Encoding".into(), "identity".into()),
        ("Connection".into(), "close".into()),
    ];
    let defaults = fields.len();
    for (name, value) in user {
        let ours = fields[..defaults]
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name));
        match ours {
            Some(i) => fields[i] = (name.clone(), value.clone()),
            None if value.is_empty() => {}
            None => fields.push((name.clone(), value.clone())),
        }
    }
    let mut head = format!("{} {} HTTP/1.1\r\n", method.as_str(), url.target);
    for (name, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_fields_replace_remove_and_add() {
        let url = HttpUrl::parse("http://h:8080/p?q").unwrap();
        let user = [
            ("user-agent".to_string(), "probe/1".to_string()),
            ("Accept-Encoding".to_string(), String::new()),
            ("X-One".to_string(), "1".to_string()),
            ("X-Empty".to_string(), String::new()),
            ("X-Two".to_string(), "2".to_string()),
        ];
        let head = String::from_utf8(build(Method::Head, &url, &user)).unwrap();
        assert_eq!(
            head,
            "HEAD /p?q HTTP/1.1\r\nHost: h:8080\r\nuser-agent: probe/1\r\nAccept: */*\r\n\
             Connection: close\r\nX-One: 1\r\nX-Two: 2\r\n\r\n"
        );
    }

    #[test]
    fn bad_headers_are_refused() {
        for text in ["", ":x", "a b: c", "X-A: one\ntwo", "X-A: \r", "Ä: x"] {
            assert!(parse_header(text).is_err(), "{text:?}");
        }
    }
}
