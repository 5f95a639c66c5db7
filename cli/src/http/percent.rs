//! Percent-encoding of URL path segments, both ways.

/// Decodes `%XX` escapes once (so `%252e` becomes the three characters
/// `%2e`, never `.`); `None` for a `%` not followed by two hex digits.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::percent::decode;
/// assert_eq!(decode(b"a%20b%2F%252e").unwrap(), b"a b/%2e");
/// assert_eq!(decode(b"%zz"), None);
/// ```
pub fn decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            let hi = hex(*input.get(i + 1)?)?;
            let lo = hex(*input.get(i + 2)?)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Encodes one path segment: everything but RFC 3986's unreserved
/// characters becomes `%XX`, so the result is never mistaken for a scheme
/// (`my:file`), a query (`a?b`), a fragment (`#x`) or another segment.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::percent::encode_segment;
/// assert_eq!(encode_segment("my:file #1?é".as_bytes()), "my%3Afile%20%231%3F%C3%A9");
/// ```
pub fn encode_segment(segment: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(segment.len());
    for &b in segment {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
    out
}
