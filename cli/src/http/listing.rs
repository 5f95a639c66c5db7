//! The HTML listing of a directory without `index.html`: names
//! HTML-escaped, links percent-encoded (so `my:file`, `a?b`, `#x` and
//! `<img src=x onerror=...>` are names, never a scheme, a query, a fragment
//! or markup), sizes and modification dates.

use super::dates::{http_date, unix_secs};
use super::percent::encode_segment;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name, as the file system has it.
    pub name: Vec<u8>,
    /// A directory (symlinks followed).
    pub is_dir: bool,
    /// Size in bytes (files).
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: u64,
    /// A symlink out of the root that the server refuses to follow: listed
    /// by name only, without its target's size and date.
    pub refused: bool,
}

/// The entries of `dir`, sorted by name. Entries whose metadata cannot be
/// read (a dangling symlink) are listed as files of size 0. With `root`, a
/// symlink that leads out of it is listed without what it points to
/// (following it is refused, and its target's size and date are not this
/// server's to tell).
pub fn read_entries(dir: &Path, root: Option<&Path>) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().as_bytes().to_vec();
        let is_link = item.file_type().is_ok_and(|t| t.is_symlink());
        let leads_out = |root: &Path| {
            std::fs::canonicalize(item.path()).is_ok_and(|real| !real.starts_with(root))
        };
        if is_link && root.is_some_and(leads_out) {
            entries.push(Entry {
                name,
                is_dir: false,
                size: 0,
                mtime: 0,
                refused: true,
            });
            continue;
        }
        let meta = std::fs::metadata(item.path()).ok();
        entries.push(Entry {
            name,
            is_dir: meta.as_ref().is_some_and(std::fs::Metadata::is_dir),
            size: meta.as_ref().map_or(0, std::fs::Metadata::len),
            mtime: meta.and_then(|m| m.modified().ok()).map_or(0, unix_secs),
            refused: false,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Escapes text for HTML content and attribute values.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::listing::escape_html;
/// assert_eq!(escape_html("<img src=x onerror='a&b'>\""), "&lt;img src=x onerror=&#39;a&amp;b&#39;&gt;&quot;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The listing page of the directory shown as `title` (the decoded URL
/// path); `parent` adds a `../` link.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::listing::{render, Entry};
/// let e = Entry { name: b"a?b <i>".to_vec(), is_dir: false, size: 3, mtime: 0, refused: false };
/// let page = render("/docs/", &[e], true);
/// assert!(page.contains(r#"<a href="a%3Fb%20%3Ci%3E">a?b &lt;i&gt;</a>"#));
/// assert!(page.contains(r#"<a href="../">"#));
/// ```
pub fn render(title: &str, entries: &[Entry], parent: bool) -> String {
    let title = escape_html(title);
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>Index of {title}</title>\n</head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n"
    );
    if parent {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for e in entries {
        let slash = if e.is_dir { "/" } else { "" };
        let href = encode_segment(&e.name);
        let shown = escape_html(&String::from_utf8_lossy(&e.name));
        let size = if e.is_dir || e.refused {
            "-".to_string()
        } else {
            e.size.to_string()
        };
        let date = if e.refused {
            "-".to_string()
        } else {
            http_date(e.mtime)
        };
        page.push_str(&format!(
            "<tr><td><a href=\"{href}{slash}\">{shown}{slash}</a></td><td>{size}</td><td>{date}</td></tr>\n"
        ));
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}
