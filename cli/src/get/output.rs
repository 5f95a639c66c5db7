//! Where the body goes: stdout, a file (through `FILE.part`; a device or a
//! FIFO in place), or a file in a directory named after the URL; the
//! summary line after a download to a file; a closed stdout ending the
//! transfer quietly.

use super::progress::size;
use super::{exit, fetch, GetOptions, HttpUrl};
use crate::AppError;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Where `-o` sends the body.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::Output;
/// use std::path::{Path, PathBuf};
/// assert_eq!(Output::from_arg(None), Output::Stdout);
/// assert_eq!(Output::from_arg(Some(Path::new("-"))), Output::Stdout);
/// assert_eq!(Output::from_arg(Some(Path::new("x.bin"))), Output::File(PathBuf::from("x.bin")));
/// assert_eq!(Output::from_arg(Some(Path::new("downloads/"))), Output::Dir(PathBuf::from("downloads/")));
/// assert_eq!(Output::from_arg(Some(Path::new("/"))), Output::Dir(PathBuf::from("/")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Standard output (no `-o`, or `-o -`).
    Stdout,
    /// This file.
    File(PathBuf),
    /// A file in this directory (`-o DIR/`, or `-o DIR` naming an existing
    /// directory), named after the URL ([`file_name_of`]).
    Dir(PathBuf),
}

impl Output {
    /// What `-o ARG` means.
    pub fn from_arg(arg: Option<&Path>) -> Output {
        match arg {
            None => Output::Stdout,
            Some(p) if p.as_os_str() == "-" => Output::Stdout,
            Some(p) if p.as_os_str().as_encoded_bytes().ends_with(b"/") || p.is_dir() => {
                Output::Dir(p.to_path_buf())
            }
            Some(p) => Output::File(p.to_path_buf()),
        }
    }
}

/// The file name `-o DIR/` saves `url` under: the last segment of its
/// path, as written in the URL (as `curl -O` does), or `None` when there is
/// none (`/`, `/dir/`, `..`).
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{file_name_of, HttpUrl};
/// let name = |u: &str| file_name_of(&HttpUrl::parse(u).unwrap());
/// assert_eq!(name("http://h/a/b.tar.gz?x=1").as_deref(), Some("b.tar.gz"));
/// assert_eq!(name("http://h/"), None);
/// assert_eq!(name("http://h/dir/"), None);
/// assert_eq!(name("http://h/a/.."), None);
/// ```
pub fn file_name_of(url: &HttpUrl) -> Option<String> {
    let path = url.target.split('?').next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    match last {
        "" | "." | ".." => None,
        name => Some(name.to_string()),
    }
}

/// A failed write of the output: a closed stdout (`EPIPE`) ends quietly
/// with [`exit::BROKEN_PIPE`]; anything else is exit code 1.
pub(super) fn write_error(e: io::Error) -> AppError {
    if e.kind() == io::ErrorKind::BrokenPipe {
        AppError::quiet(exit::BROKEN_PIPE)
    } else {
        AppError::io("cannot write the output", e)
    }
}

/// `asyncore get`: fetches `url` to `output`. A regular file (or a new
/// one) is written through `FILE.part`, renamed when complete and removed on
/// failure; through a symlink, the file it points to. Anything else, such
/// as `/dev/null` or a FIFO, is written in place. The file name and the URL
/// are checked before anything is downloaded.
///
/// # Examples
///
/// ```
/// use asyncore_cli::get::{exit, run, GetOptions, Output};
/// let e = run("http://exa mple.com/", &Output::Stdout, &GetOptions::default()).unwrap_err();
/// assert_eq!(e.code, exit::BAD_URL);
/// let e = run("http://example.com/", &Output::Dir(".".into()), &GetOptions::default()).unwrap_err();
/// assert_eq!(e.code, 2); // no file name in the URL
/// ```
pub fn run(url: &str, output: &Output, opts: &GetOptions) -> Result<(), AppError> {
    // Refuse a bad URL before creating any file.
    let parsed = HttpUrl::parse(url).map_err(|e| AppError::new(exit::BAD_URL, e.to_string()))?;
    let path = match output {
        Output::Stdout => {
            let stdout = io::stdout();
            let mut lock = stdout.lock();
            fetch(url, opts, &mut lock)?;
            return lock.flush().map_err(write_error);
        }
        Output::File(path) => path.clone(),
        Output::Dir(dir) => {
            let name = file_name_of(&parsed).ok_or_else(|| {
                AppError::usage(format!(
                    "cannot name the output file: {parsed} has no file name; give -o DIR/NAME"
                ))
            })?;
            dir.join(name)
        }
    };
    let start = Instant::now();
    let result = match Destination::of(&path) {
        Destination::Replace(file) => replace(url, opts, &file),
        Destination::Into => write_into(url, opts, &path),
    };
    let response = result?;
    if opts.summary {
        let bytes = match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => m.len(),
            _ => response.body_len,
        };
        eprintln!("{}", summary(&path, bytes, start.elapsed()));
    }
    Ok(())
}

/// How the body reaches the path `-o` names.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// A regular file, or nothing yet: written to `FILE.part` beside it and
    /// renamed over it when complete, so that a failed transfer leaves it
    /// as it was. Through a symlink, this is the file the link points to.
    Replace(PathBuf),
    /// Anything else (a device such as `/dev/null`, a FIFO, a dangling
    /// link): opened and written in place, as curl does; a rename would
    /// put a file where it was.
    Into,
}

impl Destination {
    fn of(path: &Path) -> Destination {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => {
                let linked = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink());
                match linked.then(|| std::fs::canonicalize(path)) {
                    Some(Ok(real)) => Destination::Replace(real),
                    Some(Err(_)) => Destination::Into,
                    None => Destination::Replace(path.to_path_buf()),
                }
            }
            Ok(_) => Destination::Into,
            // A link to nothing yet: writing through it creates its target.
            Err(_) if std::fs::symlink_metadata(path).is_ok() => Destination::Into,
            // Nothing there (or nothing we may look at: creating the
            // `.part` reports why).
            Err(_) => Destination::Replace(path.to_path_buf()),
        }
    }
}

/// Fetches into `FILE.part`, then renames it over `file`; on failure the
/// `.part` goes and `file` is untouched.
fn replace(url: &str, opts: &GetOptions, file: &Path) -> Result<super::Response, AppError> {
    let part = part_path(file);
    let created = File::create(&part)
        .map_err(|e| AppError::io(format!("cannot create {}", part.display()), e))?;
    let mut writer = BufWriter::with_capacity(256 * 1024, created);
    let result = fetch(url, opts, &mut writer).and_then(|response| {
        let written = writer.into_inner().map_err(|e| {
            AppError::io(format!("cannot write {}", part.display()), e.into_error())
        })?;
        written
            .sync_all()
            .map_err(|e| AppError::io(format!("cannot write {}", part.display()), e))?;
        std::fs::rename(&part, file).map_err(|e| {
            AppError::io(
                format!("cannot rename {} to {}", part.display(), file.display()),
                e,
            )
        })?;
        Ok(response)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Fetches straight into `path` (a device, a FIFO, a dangling link). It is
/// opened when the body begins, as curl opens it: an error status or a
/// failed connection leaves it alone (a FIFO is not opened, a dangling
/// link's target not created).
fn write_into(url: &str, opts: &GetOptions, path: &Path) -> Result<super::Response, AppError> {
    let mut writer = OpenedOnWrite { path, file: None };
    let response = fetch(url, opts, &mut writer)?;
    let cannot = |e| AppError::io(format!("cannot write {}", path.display()), e);
    // An empty body still creates (or truncates) it.
    writer.opened().map_err(cannot)?;
    writer.flush().map_err(cannot)?;
    Ok(response)
}

/// A writer that opens `path` at its first write.
struct OpenedOnWrite<'a> {
    path: &'a Path,
    file: Option<BufWriter<File>>,
}

impl OpenedOnWrite<'_> {
    fn opened(&mut self) -> io::Result<&mut BufWriter<File>> {
        if self.file.is_none() {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(self.path)?;
            self.file = Some(BufWriter::with_capacity(256 * 1024, file));
        }
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("output not opened"))
    }
}

impl Write for OpenedOnWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.opened()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

/// The line after a download to a file: where, how much, how long, how fast.
fn summary(path: &Path, bytes: u64, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = size(bytes as f64 / secs.max(0.001));
    format!(
        "saved {}: {bytes} bytes in {secs:.2} s ({rate}/s)",
        path.display()
    )
}

/// `FILE` → `FILE.part`.
fn part_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".part");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only a regular file, or nothing, is replaced; the decision alone,
    // without writing anything.
    #[test]
    fn what_is_written_in_place() {
        assert_eq!(Destination::of(Path::new("/dev/null")), Destination::Into);
        let missing = std::env::temp_dir().join(format!("asyncore-no-such-{}", std::process::id()));
        assert_eq!(
            Destination::of(&missing),
            Destination::Replace(missing.clone())
        );
    }

    #[test]
    fn summary_line() {
        let line = summary(
            Path::new("out.bin"),
            3 << 20,
            std::time::Duration::from_millis(1500),
        );
        assert_eq!(line, "saved out.bin: 3145728 bytes in 1.50 s (2.0 MiB/s)");
    }
}
