//! Redirects: which answers are redirects, and where their `Location`
//! points (RFC 3986 §5 reference resolution against the current URL).
//!
//! The method is kept on every hop: GET stays GET and HEAD stays HEAD. The
//! rules that turn a POST into a GET (303 always, 301 and 302 as browsers and
//! curl do) never apply, as `asyncore get` sends no body.

use super::response::Head;
use super::url::HttpUrl;

/// `Location` of `head` if it is a redirect: a 3xx status other than `304
/// Not Modified`, with a `Location` field. Other 3xx answers are final.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{redirect_location, Head};
/// let head = |status: u16, loc: Option<&str>| Head {
///     version: "HTTP/1.1".into(), status, reason: String::new(), raw: Vec::new(), interim: Vec::new(),
///     headers: loc.map(|l| ("Location".to_string(), l.to_string())).into_iter().collect(),
/// };
/// assert_eq!(redirect_location(&head(302, Some("/x"))), Some("/x"));
/// assert_eq!(redirect_location(&head(304, Some("/x"))), None);
/// assert_eq!(redirect_location(&head(301, None)), None);
/// assert_eq!(redirect_location(&head(200, Some("/x"))), None);
/// ```
pub fn redirect_location(head: &Head) -> Option<&str> {
    if !(300..400).contains(&head.status) || head.status == 304 {
        return None;
    }
    head.header("location").filter(|l| !l.is_empty())
}

/// Resolves `location` against `base`: an absolute URL, `//host/path`,
/// `/path`, `?query`, or a path relative to `base`'s directory, with `.`
/// and `..` segments removed. The fragment is dropped (it is never sent),
/// and a space becomes `%20`.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{resolve_location, HttpUrl};
/// let base = HttpUrl::parse("http://h:8080/a/b/c?q").unwrap();
/// assert_eq!(resolve_location(&base, "d"), "http://h:8080/a/b/d");
/// assert_eq!(resolve_location(&base, "../d?x#f"), "http://h:8080/a/d?x");
/// assert_eq!(resolve_location(&base, "/d"), "http://h:8080/d");
/// assert_eq!(resolve_location(&base, "?r"), "http://h:8080/a/b/c?r");
/// assert_eq!(resolve_location(&base, "//other/x"), "http://other/x");
/// assert_eq!(resolve_location(&base, "http://other:81/y"), "http://other:81/y");
/// ```
pub fn resolve_location(base: &HttpUrl, location: &str) -> String {
    // Servers send spaces unencoded; curl sends them as %20, and so do we.
    let location = location.trim().replace(' ', "%20");
    let location = location
        .split_once('#')
        .map_or(location.as_str(), |(l, _)| l);
    if has_scheme(location) {
        return location.to_string();
    }
    let origin = base.origin();
    if location.starts_with("//") {
        // Scheme-relative: the base's scheme.
        let scheme = origin.split_once("//").map_or("http:", |(s, _)| s);
        return format!("{scheme}{location}");
    }
    let (base_path, _) = base
        .target
        .split_once('?')
        .unwrap_or((base.target.as_str(), ""));
    if location.is_empty() {
        return format!("{origin}{}", base.target);
    }
    if location.starts_with('?') {
        return format!("{origin}{base_path}{location}");
    }
    let (path, query) = match location.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (location, None),
    };
    let merged = if path.starts_with('/') {
        path.to_string()
    } else {
        let dir = base_path.rsplit_once('/').map_or("", |(d, _)| d);
        format!("{dir}/{path}")
    };
    let mut url = format!("{origin}{}", remove_dot_segments(&merged));
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// `scheme:` at the start (RFC 3986 §3.1: a letter, then letters, digits,
/// `+`, `-` or `.`).
fn has_scheme(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// RFC 3986 §5.2.4 for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." | ".." => {
                if *seg == ".." {
                    out.pop();
                }
                if i == last {
                    out.push(""); // "/a/b/.." is "/a/", a directory
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_examples() {
        // RFC 3986 §5.4.1, with http://a/b/c/d;p?q as the base.
        let base = HttpUrl::parse("http://a/b/c/d;p?q").unwrap();
        for (reference, want) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"),
            (";x", "http://a/b/c/;x"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../g", "http://a/g"),
            ("../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            ("..g", "http://a/b/c/..g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("https://x/", "https://x/"),
        ] {
            assert_eq!(resolve_location(&base, reference), want, "{reference:?}");
        }
    }

    // A space in a Location is sent as %20, as curl does; what is not ASCII
    // is encoded when the URL is parsed.
    #[test]
    fn spaces_in_a_location_are_encoded() {
        let base = HttpUrl::parse("http://a/b/c").unwrap();
        assert_eq!(
            resolve_location(&base, "my file.txt"),
            "http://a/b/my%20file.txt"
        );
        assert_eq!(
            resolve_location(&base, " /x y?q=a b "),
            "http://a/x%20y?q=a%20b"
        );
        assert_eq!(resolve_location(&base, "http://h/a b"), "http://h/a%20b");
        let next = HttpUrl::parse(&resolve_location(&base, "/\u{e9} \u{e9}")).unwrap();
        assert_eq!(next.target, "/%C3%A9%20%C3%A9");
    }
}
