//! SMTP command-line syntax: verb and argument, `FROM:`/`TO:` keywords,
//! paths (`<a@b>`, `a@b`, `<>`, source routes) and ESMTP parameters, with
//! smtpd 3.11's results for well-formed input and a syntax error (never a
//! crash) for the rest.

use std::collections::HashMap;

/// Splits a command line at its first space: the upper-cased verb and the
/// trimmed argument (`None` when absent or blank), as smtpd did.
pub(crate) fn split_command(line: &str) -> (String, Option<&str>) {
    match line.find(' ') {
        None => (line.to_uppercase(), None),
        Some(i) => {
            let arg = line[i + 1..].trim();
            (line[..i].to_uppercase(), (!arg.is_empty()).then_some(arg))
        }
    }
}

/// `FROM:`/`TO:` stripped (case-insensitively) from the front of `arg`,
/// the rest trimmed; `""` if `arg` does not start with the keyword.
pub(crate) fn strip_keyword<'a>(keyword: &str, arg: &'a str) -> &'a str {
    match arg.get(..keyword.len()) {
        Some(head) if head.eq_ignore_ascii_case(keyword) => arg[keyword.len()..].trim(),
        _ => "",
    }
}

/// A path and what follows it (the parameters). The address is `""` when
/// there is none or it is malformed; `<>` stays `<>` (the null path).
pub(crate) fn get_addr(arg: &str) -> (String, &str) {
    let s = arg.trim_start();
    if s.is_empty() {
        return (String::new(), "");
    }
    if let Some(inner) = s.strip_prefix('<') {
        let Some(end) = inner.find('>') else {
            return (String::new(), s);
        };
        let (path, rest) = (inner[..end].trim(), &inner[end + 1..]);
        if path.is_empty() {
            return ("<>".to_string(), rest);
        }
        // A source route (`@a,@b:user@host`) is ignored, as RFC 5321 allows.
        let mailbox = if path.starts_with('@') {
            match path.find(':') {
                Some(colon) => &path[colon + 1..],
                None => return (String::new(), rest),
            }
        } else {
            path
        };
        return (checked(mailbox), rest);
    }
    // A bare address runs to the first blank outside a quoted local part.
    let mut quoted = false;
    let end = s
        .char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c.is_whitespace() && !quoted
        })
        .map_or(s.len(), |(i, _)| i);
    let mailbox = &s[..end];
    (checked(mailbox), &s[end..])
}

/// The mailbox if [`valid`], else `""`.
fn checked(mailbox: &str) -> String {
    if valid(mailbox) {
        mailbox.to_string()
    } else {
        String::new()
    }
}

/// A mailbox we accept: no control characters, no angle brackets, no
/// blanks outside a quoted local part, and, when it has an `@`, something on
/// both sides of the last one.
fn valid(mailbox: &str) -> bool {
    if mailbox.is_empty()
        || mailbox
            .chars()
            .any(|c| c.is_control() || c == '<' || c == '>')
    {
        return false;
    }
    let mut quoted = false;
    for c in mailbox.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            return false;
        }
    }
    if quoted {
        return false;
    }
    match mailbox.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && !domain.is_empty(),
        None => true,
    }
}

/// RFC 1869 parameters (`KEY` or `KEY=VALUE`, keys alphanumeric); `None` if
/// one is malformed. A key without `=` maps to `None`.
pub(crate) fn get_params(options: &[String]) -> Option<HashMap<String, Option<String>>> {
    let mut params = HashMap::new();
    for option in options {
        let (key, value) = match option.split_once('=') {
            Some((_, "")) => return None,
            Some((k, v)) => (k, Some(v.to_string())),
            None => (option.as_str(), None),
        };
        if key.is_empty() || !key.chars().all(char::is_alphanumeric) {
            return None;
        }
        params.insert(key.to_string(), value);
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_as_smtpd_parses_them() {
        let cases = [
            ("<>", "<>", ""),
            ("<eggs@example>", "eggs@example", ""),
            ("eggs@example", "eggs@example", ""),
            ("<eggs@example> SIZE=1", "eggs@example", " SIZE=1"),
            ("eggs@example SIZE=1", "eggs@example", " SIZE=1"),
            ("<@route:eggs@example>", "eggs@example", ""),
            ("  <eggs@example>", "eggs@example", ""),
            ("eggs", "eggs", ""),
            ("\"quoted name\"@example", "\"quoted name\"@example", ""),
            ("<eggs@[1.2.3.4]>", "eggs@[1.2.3.4]", ""),
            ("<a@b>x", "a@b", "x"),
            ("<ä@example>", "ä@example", ""),
            ("", "", ""),
            ("eggs@", "", ""),
            ("@example", "", ""),
            ("<eggs@example", "", "<eggs@example"),
            ("eggs@example>", "", ""),
        ];
        for (input, addr, rest) in cases {
            let (a, r) = get_addr(input);
            assert_eq!(a, addr, "{input:?}");
            if !addr.is_empty() {
                assert_eq!(r, rest, "{input:?}");
            }
        }
    }

    #[test]
    fn commands_and_params() {
        assert_eq!(split_command("helo  x "), ("HELO".to_string(), Some("x")));
        assert_eq!(split_command("NOOP "), ("NOOP".to_string(), None));
        assert_eq!(split_command("quit"), ("QUIT".to_string(), None));
        assert_eq!(strip_keyword("FROM:", "from: <a@b>"), "<a@b>");
        assert_eq!(strip_keyword("FROM:", "fro"), "");
        let p = get_params(&["SIZE=5".into(), "SMTPUTF8".into()]).unwrap();
        assert_eq!(p["SIZE"], Some("5".into()));
        assert_eq!(p["SMTPUTF8"], None);
        assert!(get_params(&["SIZE=".into()]).is_none());
        assert!(get_params(&["X-Y=1".into()]).is_none());
    }
}
