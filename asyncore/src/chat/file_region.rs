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
/// ```
pub struct FileRegion {
    /// Open, or to be opened from `path`.
    file: Option<File>,
    path: PathBuf,
    offset: u64,
    left: u64,
}

impl FileRegion {
    /// `len` bytes of the open `file` from `offset`.
    pub fn new(file: File, offset: u64, len: u64) -> Self {
        FileRegion {
            file: Some(file),
            path: PathBuf::new(),
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
            self.file = Some(File::open(&self.path)?);
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
            .field("offset", &self.offset)
            .field("left", &self.left)
            .finish()
    }
}
