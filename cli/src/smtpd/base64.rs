//! Base64 decoding (RFC 4648 §4, padding optional), for `AUTH` responses
//! and `B`-encoded header words. Decoding only: the server sends no base64
//! but two fixed `AUTH LOGIN` prompts.

/// Decodes `text`; `None` if it holds anything but base64 characters and
/// `=` padding at the end, or has a length no encoder produces.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::base64_decode;
/// assert_eq!(base64_decode("AHVzZXIAcGFzcw==").unwrap(), b"\0user\0pass");
/// assert_eq!(base64_decode("aGk").unwrap(), b"hi"); // padding optional
/// assert_eq!(base64_decode("").unwrap(), b"");
/// assert!(base64_decode("a").is_none() && base64_decode("a*==").is_none());
/// ```
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn round_trips_of_known_vectors() {
        // RFC 4648 §10.
        for (enc, dec) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(base64_decode(enc).unwrap(), dec.as_bytes(), "{enc}");
        }
        assert!(base64_decode("Zm9v YmFy").is_none());
        assert!(base64_decode("Zm9vY").is_none());
    }
}
