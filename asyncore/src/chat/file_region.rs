//! `FileRegion`: part of a file queued as output, sent by the kernel
//! (sendfile(2)) rather than read into memory.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::PathBuf;

/// Part of a file to send, queued with
/// [`Chat::push_file`](super::Chat::push_file) or
/// [`OutQueue::push_file`](super::OutQueue::push_file). When it reaches the
/// head of the queue, the channel sends it with
/// [`Cx::send_file`](crate::Cx::send_file): on a plain socket the bytes go
/// from the page cache to the socket without being copied through the
/// program, and the region costs no memory however large it is.
///
/// Exactly `len` bytes are sent: a file that shrank meanwhile is an
/// `UnexpectedEof` error (which reaches `handle_error`), never a short body.
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::FileRegion;
///
/// let path = std::env::temp_dir().join("file-region-doc.txt");
/// std::fs::write(&path, "hello, world").unwrap();
/// // "world", opened now:
/// let region = FileRegion::new(std::fs::File::open(&path).unwrap(), 7, 5);
/// assert_eq!(region.len(), 5);
/// // The whole file, opened only when its turn to be sent comes (queued
/// // regions then hold no descriptor):
/// let later = FileRegion::open_later(&path, 0, 12);
/// assert_eq!(later.len(), 12);
/// // Opened then by a function of yours, which may refuse what it finds:
/// let checked = FileRegion::open_later_with(move || std::fs::File::open(&path), 0, 12);
/// assert_eq!(checked.len(), 12);
/// ```
pub struct FileRegion {
    /// Open, or to be opened from `path` (or by `opener`).
    file: Option<File>,
    path: PathBuf,
    opener: Option<Opener>,
    offset: u64,
    left: u64,
}

/// What opens a region's file when its turn comes.
type Opener = Box<dyn FnOnce() -> io::Result<File>>;

impl FileRegion {
    /// `len` bytes of the open `file` from `offset`.
    pub fn new(file: File, offset: u64, len: u64) -> Self {
        FileRegion {
            file: Some(file),
            path: PathBuf::new(),
            opener: None,
            offset,
            left: len,
        }
    }

    /// `len` bytes of the file at `path` from `offset`, opened when the
    /// region reaches the head of the queue (an error opening it is the
    /// error of that send).
    pub fn open_later(path: impl Into<PathBuf>, offset: u64, len: u64) -> Self {
        FileRegion {
            file: None,
            path: path.into(),
            opener: None,
            offset,
            left: len,
        }
    }

    /// `len` bytes from `offset` of the file that `open` returns, called
    /// when the region reaches the head of the queue: like
    /// [`open_later`](FileRegion::open_later), but the function may check
    /// what it opened (that it is still the file the answer was made for,
    /// say) and refuse it with an error, which is the error of that send.
    pub fn open_later_with(
        open: impl FnOnce() -> io::Result<File> + 'static,
        offset: u64,
        len: u64,
    ) -> Self {
        FileRegion {
            file: None,
            path: PathBuf::new(),
            opener: Some(Box::new(open)),
            offset,
            left: len,
        }
    }

    /// Bytes still to send.
    pub fn len(&self) -> u64 {
        self.left
    }

    /// True when everything was sent.
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }

    /// Where the next send starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The open file (opened now if it was to be opened later).
    pub(crate) fn file(&mut self) -> io::Result<&File> {
        if self.file.is_none() {
            self.file = Some(match self.opener.take() {
                Some(open) => open()?,
                None => File::open(&self.path)?,
            });
        }
        self.file
            .as_ref()
            .ok_or_else(|| io::Error::other("file region without a file"))
    }

    /// `n` more bytes were sent.
    pub(crate) fn advance(&mut self, n: u64) {
        let n = n.min(self.left);
        self.offset += n;
        self.left -= n;
    }
}

impl fmt::Debug for FileRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileRegion")
            .field("file", &self.file)
            .field("path", &self.path)
            .field("opener", &self.opener.as_ref().map(|_| "fn"))
            .field("offset", &self.offset)
            .field("left", &self.left)
            .finish()
    }
}
