//! Producers: lazily generated output for an `async_chat` output queue.
//!
//! A [`Producer`] is consulted only when it reaches the head of the output queue and
//! the channel can send; each [`Producer::more`] call returns the next bytes, and an
//! empty result means it is exhausted (it is then dropped from the queue).
//
// Spec: AC-CHAT-70…73.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// `simple_producer`'s default piece size.
// Spec: AC-CHAT-73.
pub const DEFAULT_PRODUCER_BUFFER_SIZE: usize = 512;

/// Something that yields output bytes on demand (asynchat's producer protocol).
///
/// `more` returns the next bytes; an empty `Vec` means "exhausted" and the producer
/// will not be asked again. An error is reported to whoever pulled the queue (through
/// the loop: `handle_error`) and the producer stays queued, as in the reference where
/// an exception from `more()` propagates out of `initiate_send`.
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::Producer;
/// use std::io;
///
/// /// Counts down from n, one line per call.
/// struct Countdown(u32);
///
/// impl Producer for Countdown {
///     fn more(&mut self) -> io::Result<Vec<u8>> {
///         if self.0 == 0 {
///             return Ok(Vec::new());
///         }
///         self.0 -= 1;
///         Ok(format!("{}\r\n", self.0 + 1).into_bytes())
///     }
/// }
///
/// let mut p = Countdown(2);
/// assert_eq!(p.more().unwrap(), b"2\r\n");
/// assert_eq!(p.more().unwrap(), b"1\r\n");
/// assert!(p.more().unwrap().is_empty());
/// ```
// Spec: AC-CHAT-70.
pub trait Producer {
    /// The next bytes to send; empty when exhausted.
    fn more(&mut self) -> io::Result<Vec<u8>>;
}

impl<P: Producer + ?Sized> Producer for Box<P> {
    fn more(&mut self) -> io::Result<Vec<u8>> {
        (**self).more()
    }
}

/// asynchat's `simple_producer`: hands out owned bytes `buffer_size` at a time.
///
/// When more than `buffer_size` bytes remain, `more()` returns the next `buffer_size`;
/// otherwise it returns everything left (so exactly `buffer_size` left comes out at
/// once), and then empty forever. A `buffer_size` of 0 is treated as 1 (the reference
/// would return empty data at once and so silently drop everything).
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::{Producer, SimpleProducer};
///
/// let mut p = SimpleProducer::new(b"0123456789ABC".to_vec(), 8);
/// assert_eq!(p.more().unwrap(), b"01234567");
/// assert_eq!(p.more().unwrap(), b"89ABC");
/// assert!(p.more().unwrap().is_empty());
/// ```
// Spec: AC-CHAT-73.
#[derive(Debug, Clone)]
pub struct SimpleProducer {
    data: Vec<u8>,
    pos: usize,
    buffer_size: usize,
}

impl SimpleProducer {
    /// A producer over `data`, handing out `buffer_size` bytes per call
    /// ([`DEFAULT_PRODUCER_BUFFER_SIZE`] = 512 is the reference default).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Producer, SimpleProducer};
    ///
    /// let mut p = SimpleProducer::new("12345678", 8);
    /// assert_eq!(p.more().unwrap(), b"12345678");
    /// assert!(p.more().unwrap().is_empty());
    /// ```
    pub fn new(data: impl Into<Vec<u8>>, buffer_size: usize) -> Self {
        SimpleProducer {
            data: data.into(),
            pos: 0,
            buffer_size: buffer_size.max(1),
        }
    }

    /// Bytes not yet handed out.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Producer, SimpleProducer};
    ///
    /// let mut p = SimpleProducer::new("abcdef", 4);
    /// p.more().unwrap();
    /// assert_eq!(p.remaining(), 2);
    /// ```
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
}

impl Producer for SimpleProducer {
    fn more(&mut self) -> io::Result<Vec<u8>> {
        if self.remaining() > self.buffer_size {
            let piece = self.data[self.pos..self.pos + self.buffer_size].to_vec();
            self.pos += self.buffer_size;
            Ok(piece)
        } else if self.pos == 0 {
            Ok(std::mem::take(&mut self.data))
        } else {
            let rest = self.data[self.pos..].to_vec();
            self.data = Vec::new();
            self.pos = 0;
            Ok(rest)
        }
    }
}

/// Reads any [`Read`] (by default a [`File`]) `chunk_size` bytes per `more()` call,
/// until end of file.
///
/// Each call fills a chunk completely unless end of file comes first, so only the last
/// chunk is short; an empty result means end of file. Read errors are returned
/// (`Interrupted` is retried). A `chunk_size` of 0 is treated as 1.
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::{FileProducer, Producer};
///
/// let mut p = FileProducer::new(&b"hello world"[..], 4);
/// assert_eq!(p.more().unwrap(), b"hell");
/// assert_eq!(p.more().unwrap(), b"o wo");
/// assert_eq!(p.more().unwrap(), b"rld");
/// assert!(p.more().unwrap().is_empty());
/// ```
pub struct FileProducer<R = File> {
    reader: R,
    chunk_size: usize,
    done: bool,
}

impl<R: Read> FileProducer<R> {
    /// A producer reading `reader` in `chunk_size` pieces.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{FileProducer, Producer};
    /// use std::io::Cursor;
    ///
    /// let mut p = FileProducer::new(Cursor::new(vec![7u8; 10]), 8);
    /// assert_eq!(p.more().unwrap().len(), 8);
    /// assert_eq!(p.more().unwrap().len(), 2);
    /// ```
    pub fn new(reader: R, chunk_size: usize) -> Self {
        FileProducer {
            reader,
            chunk_size: chunk_size.max(1),
            done: false,
        }
    }

    /// Gives the reader back.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::FileProducer;
    ///
    /// let p = FileProducer::new(&b"abc"[..], 2);
    /// assert_eq!(p.into_inner(), b"abc");
    /// ```
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl FileProducer<File> {
    /// Opens the file at `path` for reading.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{FileProducer, Producer};
    ///
    /// let path = std::env::temp_dir().join(format!("fp-doc-{}", std::process::id()));
    /// std::fs::write(&path, b"file body").unwrap();
    /// let mut p = FileProducer::open(&path, 65_536).unwrap();
    /// assert_eq!(p.more().unwrap(), b"file body");
    /// assert!(p.more().unwrap().is_empty());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>, chunk_size: usize) -> io::Result<Self> {
        Ok(FileProducer::new(File::open(path)?, chunk_size))
    }
}

impl<R: Read> Producer for FileProducer<R> {
    fn more(&mut self) -> io::Result<Vec<u8>> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut chunk = Vec::new();
        // `Take` + `read_to_end` loops over short reads and retries `Interrupted`.
        let limit = u64::try_from(self.chunk_size).unwrap_or(u64::MAX);
        (&mut self.reader).take(limit).read_to_end(&mut chunk)?;
        if chunk.len() < self.chunk_size {
            self.done = true;
        }
        Ok(chunk)
    }
}

impl<R> fmt::Debug for FileProducer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileProducer")
            .field("chunk_size", &self.chunk_size)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // AC-CHAT-73 / X-CH-9: exactly `buffer_size` left comes out at once, then empty.
    #[test]
    fn simple_producer_exact_size_x_ch_9() {
        let mut p = SimpleProducer::new(b"12345678".to_vec(), 8);
        assert_eq!(p.more().unwrap(), b"12345678");
        assert!(p.more().unwrap().is_empty());
        assert!(p.more().unwrap().is_empty());
    }

    // AC-CHAT-73: pieces of `buffer_size`, last one shorter; default size 512.
    #[test]
    fn simple_producer_pieces_ac_chat_73() {
        let data: Vec<u8> = (0..1100u32).map(|i| i as u8).collect();
        let mut p = SimpleProducer::new(data.clone(), DEFAULT_PRODUCER_BUFFER_SIZE);
        let sizes: Vec<usize> = std::iter::from_fn(|| Some(p.more().unwrap()))
            .take_while(|c| !c.is_empty())
            .map(|c| c.len())
            .collect();
        assert_eq!(sizes, [512, 512, 76]);
        assert!(SimpleProducer::new(Vec::new(), 8)
            .more()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn simple_producer_zero_size_is_one() {
        let mut p = SimpleProducer::new("ab", 0);
        assert_eq!(p.more().unwrap(), b"a");
        assert_eq!(p.more().unwrap(), b"b");
        assert!(p.more().unwrap().is_empty());
    }

    // A reader that returns one byte at a time and is interrupted in between.
    struct Trickle {
        data: Vec<u8>,
        pos: usize,
        interrupt: bool,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.pos == self.data.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.data[self.pos];
            self.pos += 1;
            Ok(1)
        }
    }

    #[test]
    fn file_producer_fills_chunks_over_short_reads() {
        let r = Trickle {
            data: b"abcdefg".to_vec(),
            pos: 0,
            interrupt: false,
        };
        let mut p = FileProducer::new(r, 3);
        assert_eq!(p.more().unwrap(), b"abc");
        assert_eq!(p.more().unwrap(), b"def");
        assert_eq!(p.more().unwrap(), b"g");
        assert!(p.more().unwrap().is_empty());
    }

    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn file_producer_reports_errors() {
        let mut p = FileProducer::new(Failing, 3);
        assert_eq!(p.more().unwrap_err().to_string(), "disk on fire");
    }

    #[test]
    fn file_producer_exact_multiple_ends_with_empty() {
        let mut p = FileProducer::new(&b"abcdef"[..], 3);
        assert_eq!(p.more().unwrap(), b"abc");
        assert_eq!(p.more().unwrap(), b"def");
        assert!(p.more().unwrap().is_empty());
    }
}
