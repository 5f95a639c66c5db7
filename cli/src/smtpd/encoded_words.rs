//! RFC 2047 encoded words in header fields (`=?UTF-8?B?...?=`,
//! `=?ISO-8859-1?Q?...?=`): enough to show a message's Subject in the log.

use super::base64::base64_decode;

/// The message's `Subject`, unfolded, with its encoded words decoded;
/// `None` when the header section has no Subject.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::subject_of;
/// let data = b"From: a@x\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\n =?ISO-8859-1?Q?_aus_K=F6ln?=\n\nbody\n";
/// assert_eq!(subject_of(data).as_deref(), Some("Grüße aus Köln"));
/// assert_eq!(subject_of(b"From: a@x\n\nSubject: not a header\n"), None);
/// ```
pub fn subject_of(data: &[u8]) -> Option<String> {
    let mut subject: Option<Vec<u8>> = None;
    for line in data.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break; // the end of the header section
        }
        let folded = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        match (&mut subject, folded) {
            (Some(s), true) => s.extend_from_slice(line),
            (Some(_), false) => break,
            (None, false) => {
                if line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"subject:") {
                    subject = Some(line[8..].to_vec());
                }
            }
            (None, true) => {}
        }
    }
    let raw = String::from_utf8_lossy(&subject?).into_owned();
    let text = decode_words(raw.trim());
    Some(
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect(),
    )
}

/// Decodes the encoded words of a header value; whitespace between two
/// encoded words is dropped (RFC 2047 §6.2), words that do not decode are
/// left as they are.
///
/// # Examples
///
/// ```
/// use asyncore_cli::smtpd::decode_words;
/// assert_eq!(decode_words("=?utf-8?q?caf=C3=A9?= ok"), "café ok");
/// assert_eq!(decode_words("=?latin1?B?6Q==?= =?latin1?B?6Q==?="), "éé");
/// assert_eq!(decode_words("plain =?x-unknown?Q?a?="), "plain =?x-unknown?Q?a?=");
/// ```
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while !rest.is_empty() {
        let start = rest.find("=?").unwrap_or(rest.len());
        let (before, from) = rest.split_at(start);
        if let Some((decoded, len)) = word(from) {
            if !(after_word && before.trim().is_empty()) {
                out.push_str(before);
            }
            out.push_str(&decoded);
            rest = &from[len..];
            after_word = true;
        } else {
            // Not a word here: keep the text up to and including "=?".
            let keep = (start + 2).min(rest.len());
            out.push_str(&rest[..keep]);
            rest = &rest[keep..];
            after_word = false;
        }
    }
    out
}

/// `=?charset?enc?text?=` at the start of `s`: the decoded text and the
/// word's length.
fn word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    // RFC 2231: a language may follow the charset, as in "UTF-8*en".
    let charset = charset.split('*').next()?.to_ascii_lowercase();
    let bytes = match encoding {
        "B" | "b" => base64_decode(text)?,
        "Q" | "q" => q_decode(text)?,
        _ => return None,
    };
    let decoded = match charset.as_str() {
        "utf-8" | "utf8" | "us-ascii" | "ascii" => String::from_utf8_lossy(&bytes).into_owned(),
        "iso-8859-1" | "iso8859-1" | "latin1" | "latin-1" => {
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        _ => return None,
    };
    let len = 2 + charset_len(s) + 1 + encoding.len() + 1 + end + 2;
    Some((decoded, len))
}

/// The charset's length as written (before any case change).
fn charset_len(word: &str) -> usize {
    word[2..].find('?').unwrap_or(0)
}

/// The Q encoding: `_` is a space, `=XX` a byte.
fn q_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            b => out.push(b),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_plain_text() {
        for (value, want) in [
            ("Hello", "Hello"),
            ("=?UTF-8?B?w6k=?=", "é"),
            ("=?UTF-8?Q?=E2=82=AC_100?=", "€ 100"),
            ("=?ISO-8859-1?Q?Gr=FC=DFe?=", "Grüße"),
            ("Re: =?utf-8?b?w6k=?= and more", "Re: é and more"),
            ("=?UTF-8?B?YQ==?=   =?UTF-8?B?Yg==?=", "ab"),
            ("=?UTF-8?B?YQ==?= x =?UTF-8?B?Yg==?=", "a x b"),
            ("=?UTF-8?B?!!?=", "=?UTF-8?B?!!?="),
            ("=?UTF-8?Z?a?=", "=?UTF-8?Z?a?="),
            ("a =? b", "a =? b"),
            ("=?UTF-8*en?Q?hi?=", "hi"),
        ] {
            assert_eq!(decode_words(value), want, "{value}");
        }
    }

    #[test]
    fn subject_is_found_unfolded_and_kept_on_one_line() {
        let data = b"SUBJECT: one\r\n\ttwo\r\nX: y\r\n\r\n";
        assert_eq!(subject_of(data).as_deref(), Some("one two"));
        assert_eq!(subject_of(b"Subject:\n\n").as_deref(), Some(""));
        assert_eq!(
            subject_of(b"Subject: =?UTF-8?Q?a=0Ab?=\n\n").as_deref(),
            Some("a b")
        );
    }
}
