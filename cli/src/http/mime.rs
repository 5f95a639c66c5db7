//! Content-Type by file extension: a built-in table, overridable with
//! `--mime EXT=TYPE`.

use std::collections::HashMap;
use std::path::Path;

/// The type of files the table does not know.
pub const DEFAULT_TYPE: &str = "application/octet-stream";

const BUILT_IN: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("xml", "application/xml"),
    ("txt", "text/plain; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/vnd.microsoft.icon"),
    ("pdf", "application/pdf"),
    ("wasm", "application/wasm"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("tar", "application/x-tar"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    // Also known to Python's mimetypes (what `python -m http.server` sends).
    ("xhtml", "application/xhtml+xml"),
    ("webmanifest", "application/manifest+json"),
    ("vtt", "text/vtt; charset=utf-8"),
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("mov", "video/quicktime"),
    ("flac", "audio/flac"),
    ("m4a", "audio/mp4"),
    ("bmp", "image/bmp"),
    ("tif", "image/tiff"),
    ("tiff", "image/tiff"),
    ("py", "text/x-python; charset=utf-8"),
    ("sh", "application/x-sh"),
    ("bz2", "application/x-bzip2"),
    ("xz", "application/x-xz"),
    ("7z", "application/x-7z-compressed"),
    ("ics", "text/calendar; charset=utf-8"),
];

/// Extension (lower case, no dot) to Content-Type.
///
/// # Examples
///
/// ```
/// use asyncore_cli::http::mime::MimeTable;
/// use std::path::Path;
/// let mut t = MimeTable::default();
/// assert_eq!(t.lookup(Path::new("a/INDEX.HTML")), "text/html; charset=utf-8");
/// assert_eq!(t.lookup(Path::new("subtitles.vtt")), "text/vtt; charset=utf-8");
/// assert_eq!(t.lookup(Path::new("data.bin")), "application/octet-stream");
/// t.set_override("bin=application/x-mine").unwrap();
/// assert_eq!(t.lookup(Path::new("data.bin")), "application/x-mine");
/// assert!(t.set_override("nonsense").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct MimeTable {
    types: HashMap<String, String>,
}

impl Default for MimeTable {
    fn default() -> Self {
        MimeTable {
            types: BUILT_IN
                .iter()
                .map(|(e, t)| ((*e).to_string(), (*t).to_string()))
                .collect(),
        }
    }
}

impl MimeTable {
    /// Adds or replaces one mapping, given as `EXT=TYPE`.
    pub fn set_override(&mut self, spec: &str) -> Result<(), String> {
        match spec.split_once('=') {
            Some((ext, ty))
                if !ext.is_empty()
                    && !ty.is_empty()
                    && !ty.bytes().any(|b| b.is_ascii_control()) =>
            {
                let ext = ext.trim_start_matches('.').to_ascii_lowercase();
                self.types.insert(ext, ty.to_string());
                Ok(())
            }
            _ => Err(format!(
                "bad --mime {spec:?}: expected EXT=TYPE, e.g. md=text/plain"
            )),
        }
    }

    /// The Content-Type for `path`.
    pub fn lookup(&self, path: &Path) -> &str {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| {
                self.types
                    .get(e)
                    .or_else(|| self.types.get(&e.to_ascii_lowercase()))
            })
            .map_or(DEFAULT_TYPE, String::as_str)
    }
}
