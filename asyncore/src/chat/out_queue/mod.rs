//! Sans-IO output queue: asynchat's `producer_fifo` and the bookkeeping of
//! `initiate_send`.
//!
//! The queue holds pushed data, [`Producer`]s and a close marker, in order. A channel
//! sends with a two-step protocol, once per writable event in the faithful mode:
//!
//! 1. [`OutQueue::front`] pulls producers as needed and shows what to do next:
//!    send a chunk ([`Front::Data`], at most `out_buffer_size` bytes), close
//!    ([`Front::Close`]) or nothing ([`Front::Empty`]);
//! 2. after a send accepted `n` bytes, [`OutQueue::consume`]`(n)` (a send of 0 changes
//!    nothing).
//!
//! Chunking reproduces the reference: a push longer than `out_buffer_size` is cut into
//! `out_buffer_size` pieces at push time, so a partial send leaves the rest of that
//! piece as the next chunk (size 4, 3 of `abcd` sent ⇒ next chunk `d`);
//! producer output is sliced from wherever the previous send stopped.
//! The pieces are windows into one owned buffer, not copies.
//!
//! Decisions: empty pushes are not queued and empty entries never
//! cost a send; pushed bytes are owned by the queue (copied or
//! moved in), so later changes by the caller are not sent; the
//! default `out_buffer_size` is 65 536; with coalescing on
//! ([`OutQueue::set_coalesce`], what [`AsyncChat`](super::AsyncChat) uses by default), a
//! push that fits in the tail entry's room up to `out_buffer_size` is copied there
//! instead of queued on its own, so many small pushes leave in one send; the byte
//! stream is the same and no send exceeds `out_buffer_size`, only the chunk
//! boundaries differ from the reference's. One buffer per thread (up to
//! [`SPARE_CAPACITY`] bytes) is kept from a sent entry for the next push, so steady
//! small pushes do not allocate and an idle channel holds no output buffer.
//
// Spec: AC-CHAT-50…61, AC-CHAT-70…73, AC-CHAT-54, AC-CHAT-Q-11, X-CH-5, AC-CHAT-71, AC-CHAT-Q-5, AC-CHAT-Q-10, AC-CHAT-Q-1, AC-CHAT-Q-12.

mod front;
mod push_data;
#[cfg(test)]
mod reference_model;
mod spare_buffer;

pub use front::Front;
pub use push_data::PushData;
pub use spare_buffer::SPARE_CAPACITY;

use super::file_region::FileRegion;
use super::producer::Producer;
use spare_buffer::{recycle, spare_buffer};
use std::collections::VecDeque;
use std::fmt;
use std::io;

/// `ac_out_buffer_size`'s default: 65 536 (the reference code, not its docs).
// Spec: AC-CHAT-1, AC-CHAT-Q-1.
pub const DEFAULT_OUT_BUFFER_SIZE: usize = 65_536;

/// The most bytes of a [`FileRegion`] offered to one send (`Front::File`):
/// 2 MiB, nginx's `sendfile_max_chunk`, so that one fast connection does not
/// hold the loop for long.
pub const SENDFILE_MAX_CHUNK: usize = 2 << 20;

/// Owned data at most this long is copied into the tail entry when it fits; longer
/// owned data is moved in as an entry of its own (a move beats a long copy).
const COALESCE_OWNED_MAX: usize = 4096;

enum Entry {
    /// `bytes[off..]` still to send. `piece` is the push-time split size (pieces are
    /// `bytes[k*piece..(k+1)*piece]`); `None` for producer output.
    Data {
        bytes: Vec<u8>,
        off: usize,
        piece: Option<usize>,
    },
    Producer(Box<dyn Producer>),
    File(FileRegion),
    Close,
}

/// asynchat's output queue (`producer_fifo`) without the sending.
///
/// # Examples
///
/// One chunk per writable event:
///
/// ```
/// use asyncore_loop::chat::{Front, OutQueue};
///
/// let mut q = OutQueue::new(4);
/// q.push(b"abcdefghij");
/// let mut sent = Vec::new();
/// while let Front::Data(chunk) = q.front(usize::MAX).unwrap() {
///     sent.push(chunk.to_vec());
///     let n = chunk.len(); // pretend the OS took it all
///     q.consume(n);
/// }
/// assert_eq!(sent, [&b"abcd"[..], b"efgh", b"ij"]);
/// assert!(q.is_empty());
/// ```
// Spec: X-CH-5.
pub struct OutQueue {
    entries: VecDeque<Entry>,
    /// The open tail: a data entry after every entry of `entries` that
    /// small pushes are copied into (coalescing), kept out of the deque so
    /// that a push reaches it without a deque lookup. Empty when there is
    /// none; its bytes are `open[open_off..]`, in pieces of
    /// `out_buffer_size` (a change of size seals the tail first).
    open: Vec<u8>,
    open_off: usize,
    out_buffer_size: usize,
    len_bytes: usize,
    /// Copy small pushes into the tail entry.
    // Spec: AC-CHAT-Q-12.
    coalesce: bool,
}

impl OutQueue {
    /// An empty queue handing out at most `out_buffer_size` bytes per send
    /// (`ac_out_buffer_size`; 0 is treated as 1 — the reference fails on it).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let q = OutQueue::new(4096);
    /// assert_eq!(q.out_buffer_size(), 4096);
    /// assert!(q.is_empty());
    /// ```
    pub fn new(out_buffer_size: usize) -> Self {
        OutQueue {
            entries: VecDeque::new(),
            open: Vec::new(),
            open_off: 0,
            out_buffer_size: out_buffer_size.max(1),
            len_bytes: 0,
            coalesce: false,
        }
    }

    /// Turns coalescing on or off (off for a new queue, the reference's chunking):
    /// when on, a push that fits in the tail entry's room up to `out_buffer_size` is
    /// copied there, so small pushes go out together in one send.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Front, OutQueue};
    ///
    /// let mut q = OutQueue::new(8);
    /// q.set_coalesce(true);
    /// q.push("ab");
    /// q.push("cd");
    /// q.push("efghij");
    /// assert_eq!(q.front(usize::MAX).unwrap(), Front::Data(b"abcd"));
    /// ```
    // Spec: AC-CHAT-Q-12.
    pub fn set_coalesce(&mut self, coalesce: bool) {
        if !coalesce {
            self.seal(); // later pushes go behind it
        }
        self.coalesce = coalesce;
    }

    /// Whether small pushes are copied into the tail entry ([`set_coalesce`](Self::set_coalesce)).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!asyncore_loop::chat::OutQueue::default().coalesce());
    /// ```
    pub fn coalesce(&self) -> bool {
        self.coalesce
    }

    /// The most bytes handed to one send, and the split size for [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// assert_eq!(OutQueue::default().out_buffer_size(), 65_536);
    /// ```
    pub fn out_buffer_size(&self) -> usize {
        self.out_buffer_size
    }

    /// Changes the chunk size for later pushes and sends (data already pushed keeps its
    /// push-time split, as in the reference). 0 is treated as 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let mut q = OutQueue::default();
    /// q.set_out_buffer_size(512);
    /// assert_eq!(q.out_buffer_size(), 512);
    /// ```
    pub fn set_out_buffer_size(&mut self, size: usize) {
        // The open tail keeps the pieces it was opened with, and takes no
        // more pushes (as an entry of another size would not).
        self.seal();
        self.out_buffer_size = size.max(1);
    }

    /// Queues data (`push`), split into `out_buffer_size` pieces. Empty data
    /// is not queued. A `Vec<u8>` is moved in without copying; with
    /// coalescing on, data that fits in the tail entry is copied there instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let mut q = OutQueue::new(4);
    /// q.push(b"abc".to_vec());
    /// q.push(&b"xyz!"[1..]);
    /// q.push("");
    /// assert_eq!(q.len_bytes(), 6);
    /// ```
    // Spec: AC-CHAT-50, AC-CHAT-Q-5, AC-CHAT-Q-12.
    pub fn push(&mut self, data: impl PushData) {
        let n = data.as_bytes().len();
        if n == 0 {
            return;
        }
        self.len_bytes += n;
        let size = self.out_buffer_size;
        // The common case: the open tail has room for a copy. (A tail
        // exists only while coalescing is on: turning it off seals it.)
        let copied = n <= COALESCE_OWNED_MAX || !data.is_owned();
        if copied && !self.open.is_empty() && self.open.len() + n <= size {
            self.open.extend_from_slice(data.as_bytes());
            return;
        }
        if !self.coalesce {
            self.entries.push_back(Entry::Data {
                bytes: data.into_vec(),
                off: 0,
                piece: Some(size),
            });
            return;
        }
        if copied {
            if self.open.is_empty() && self.reopen_last(n) {
                self.open.extend_from_slice(data.as_bytes());
                return;
            }
            if n <= size && !data.is_owned() {
                self.seal();
                let mut bytes = spare_buffer(n);
                bytes.extend_from_slice(data.as_bytes());
                self.open = bytes;
                return;
            }
        }
        // Moved in (or copied, when longer than a piece): the new tail.
        self.seal();
        self.open = data.into_vec();
    }

    /// Makes the deque's last entry the open tail when the next `n` bytes
    /// may be copied into it (a data entry of this piece size with room);
    /// true if it did.
    fn reopen_last(&mut self, n: usize) -> bool {
        let size = self.out_buffer_size;
        let fits = matches!(
            self.entries.back(),
            Some(Entry::Data { bytes, piece: Some(p), .. }) if *p == size && bytes.len() + n <= size
        );
        if !fits {
            return false;
        }
        if let Some(Entry::Data { bytes, off, .. }) = self.entries.pop_back() {
            self.open = bytes;
            self.open_off = off;
        }
        true
    }

    /// Closes the open tail: it becomes the deque's last entry.
    fn seal(&mut self) {
        if self.open.is_empty() {
            return;
        }
        self.entries.push_back(Entry::Data {
            bytes: std::mem::take(&mut self.open),
            off: std::mem::take(&mut self.open_off),
            piece: Some(self.out_buffer_size),
        });
    }

    /// Queues a producer (`push_with_producer`); it is asked for data only
    /// when it reaches the head.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Front, OutQueue, SimpleProducer};
    ///
    /// let mut q = OutQueue::new(5);
    /// q.push_producer(Box::new(SimpleProducer::new("0123456789ABC", 8)));
    /// assert_eq!(q.len_bytes(), 0); // not pulled yet
    /// assert_eq!(q.front(usize::MAX).unwrap(), Front::Data(b"01234"));
    /// ```
    // Spec: AC-CHAT-51, AC-CHAT-70.
    pub fn push_producer(&mut self, producer: Box<dyn Producer>) {
        self.seal();
        self.entries.push_back(Entry::Producer(producer));
    }

    /// Queues a region of a file: when it reaches the head,
    /// [`front`](Self::front) answers [`Front::File`] until it is sent. Its
    /// bytes are not counted in [`len_bytes`](Self::len_bytes) (they are not
    /// in memory). An empty region is not queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{FileRegion, Front, OutQueue};
    ///
    /// let path = std::env::temp_dir().join("out-queue-push-file.txt");
    /// std::fs::write(&path, "0123456789").unwrap();
    /// let mut q = OutQueue::default();
    /// q.push("head ");
    /// q.push_file(FileRegion::open_later(&path, 2, 5));
    /// q.front(usize::MAX).unwrap();
    /// q.consume(5); // "head " sent
    /// assert!(matches!(q.front(usize::MAX).unwrap(), Front::File { offset: 2, len: 5, .. }));
    /// q.consume(3); // the socket took "234"
    /// assert!(matches!(q.front(usize::MAX).unwrap(), Front::File { offset: 5, len: 2, .. }));
    /// q.consume(2);
    /// assert!(q.is_empty());
    /// ```
    pub fn push_file(&mut self, region: FileRegion) {
        if !region.is_empty() {
            self.seal();
            self.entries.push_back(Entry::File(region));
        }
    }

    /// Queues the close marker (`close_when_done`): once everything queued
    /// before it is sent, [`front`](Self::front) answers [`Front::Close`].
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Front, OutQueue};
    ///
    /// let mut q = OutQueue::default();
    /// q.close_when_done();
    /// assert!(!q.is_empty()); // still writable
    /// assert_eq!(q.front(usize::MAX).unwrap(), Front::Close);
    /// ```
    // Spec: AC-CHAT-52, AC-CHAT-81.
    pub fn close_when_done(&mut self) {
        self.seal();
        self.entries.push_back(Entry::Close);
    }

    /// What to do next (the loop of `initiate_send` up to its single send):
    /// exhausted producers are dropped and the next entry considered; a producer that
    /// yields data has it queued ahead of itself. The chunk is at most
    /// `out_buffer_size` and at most `max` bytes (0 counts as 1; `usize::MAX` gives the reference
    /// behaviour). An error from a producer's `more()` is returned and the producer
    /// stays at the head.
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Front, OutQueue};
    ///
    /// let mut q = OutQueue::new(4);
    /// q.push("abcdef");
    /// assert_eq!(q.front(2).unwrap(), Front::Data(b"ab"));
    /// assert_eq!(q.front(usize::MAX).unwrap(), Front::Data(b"abcd"));
    /// ```
    // Spec: AC-CHAT-53.
    pub fn front(&mut self, max: usize) -> io::Result<Front<'_>> {
        loop {
            match self.entries.front_mut() {
                None if self.open.is_empty() => return Ok(Front::Empty),
                None => {
                    let end = window_end(
                        self.open.len(),
                        self.open_off,
                        Some(self.out_buffer_size),
                        self.out_buffer_size,
                        max,
                    );
                    return Ok(Front::Data(&self.open[self.open_off..end]));
                }
                Some(Entry::Close) => return Ok(Front::Close),
                Some(Entry::Data { .. }) => break,
                Some(Entry::File(region)) if region.is_empty() => {
                    self.entries.pop_front();
                }
                Some(Entry::File(_)) => break,
                Some(Entry::Producer(p)) => {
                    let bytes = p.more()?;
                    if bytes.is_empty() {
                        self.entries.pop_front();
                    } else {
                        self.len_bytes += bytes.len();
                        self.entries.push_front(Entry::Data {
                            bytes,
                            off: 0,
                            piece: None,
                        });
                    }
                }
            }
        }
        let size = self.out_buffer_size;
        match self.entries.front_mut() {
            Some(Entry::Data { bytes, off, piece }) => {
                let end = window_end(bytes.len(), *off, *piece, size, max);
                Ok(Front::Data(&bytes[*off..end]))
            }
            Some(Entry::File(region)) => {
                let len = usize::try_from(region.len())
                    .unwrap_or(usize::MAX)
                    .min(SENDFILE_MAX_CHUNK)
                    .min(max.max(1));
                let offset = region.offset();
                Ok(Front::File {
                    file: region.file()?,
                    offset,
                    len,
                })
            }
            _ => Ok(Front::Empty), // unreachable: the loop stopped at a data or file entry
        }
    }

    /// Records that the last send accepted `n` bytes of the chunk [`front`](Self::front)
    /// returned (the rest of the chunk stays at the head). `consume(0)` does
    /// nothing. `n` beyond the head entry is clamped (a caller bug, not an I/O error).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::{Front, OutQueue};
    ///
    /// let mut q = OutQueue::new(4);
    /// q.push("abcdef");
    /// q.front(usize::MAX).unwrap();
    /// q.consume(3); // the OS took "abc" of "abcd"
    /// assert_eq!(q.front(usize::MAX).unwrap(), Front::Data(b"d"));
    /// ```
    // Spec: AC-CHAT-56.
    pub fn consume(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(Entry::Data { bytes, off, .. }) = self.entries.front_mut() {
            debug_assert!(n <= bytes.len() - *off, "consumed more than queued");
            let n = n.min(bytes.len() - *off);
            *off += n;
            self.len_bytes -= n;
            if *off == bytes.len() {
                if let Some(Entry::Data { bytes, .. }) = self.entries.pop_front() {
                    if self.coalesce {
                        recycle(bytes);
                    }
                }
            }
        } else if let Some(Entry::File(region)) = self.entries.front_mut() {
            region.advance(n as u64);
            if region.is_empty() {
                self.entries.pop_front();
            }
        } else if !self.open.is_empty() {
            debug_assert!(n <= self.open.len() - self.open_off, "consumed more than queued");
            let n = n.min(self.open.len() - self.open_off);
            self.open_off += n;
            self.len_bytes -= n;
            if self.open_off == self.open.len() {
                self.open_off = 0;
                recycle(std::mem::take(&mut self.open));
            }
        } else {
            debug_assert!(false, "consume without a data chunk at the head");
        }
    }

    /// Bytes of data queued and not yet consumed: pushed data plus output already
    /// pulled from producers (not what producers may still yield).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let mut q = OutQueue::new(4);
    /// q.push("abcdefghij");
    /// q.front(usize::MAX).unwrap();
    /// q.consume(4);
    /// assert_eq!(q.len_bytes(), 6);
    /// ```
    pub fn len_bytes(&self) -> usize {
        self.len_bytes
    }

    /// True when nothing at all is queued: no data, producer or close marker (the queue
    /// half of `writable()`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let mut q = OutQueue::default();
    /// assert!(q.is_empty());
    /// q.push("x");
    /// assert!(!q.is_empty());
    /// ```
    // Spec: AC-CHAT-81.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.open.is_empty()
    }

    /// Empties the queue, including producers and a pending close marker (the output
    /// half of `discard_buffers`).
    ///
    /// # Examples
    ///
    /// ```
    /// use asyncore_loop::chat::OutQueue;
    ///
    /// let mut q = OutQueue::default();
    /// q.push("data");
    /// q.close_when_done();
    /// q.discard();
    /// assert!(q.is_empty());
    /// assert_eq!(q.len_bytes(), 0);
    /// ```
    // Spec: AC-CHAT-83.
    pub fn discard(&mut self) {
        self.entries.clear();
        self.open = Vec::new();
        self.open_off = 0;
        self.len_bytes = 0;
    }
}

/// End of the next chunk of `bytes[off..]`: the rest of the push-time piece (if any),
/// then at most `size` and `max` bytes from `off`.
fn window_end(len: usize, off: usize, piece: Option<usize>, size: usize, max: usize) -> usize {
    let piece_end = piece.map_or(len, |p| (off / p + 1).saturating_mul(p));
    len.min(piece_end)
        .min(off.saturating_add(size))
        .min(off.saturating_add(max.max(1)))
}

impl Default for OutQueue {
    /// An empty queue with [`DEFAULT_OUT_BUFFER_SIZE`].
    fn default() -> Self {
        OutQueue::new(DEFAULT_OUT_BUFFER_SIZE)
    }
}

impl fmt::Debug for OutQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = self
            .entries
            .iter()
            .map(|e| match e {
                Entry::Data { .. } => "data",
                Entry::Producer(_) => "producer",
                Entry::File(_) => "file",
                Entry::Close => "close",
            })
            .chain((!self.open.is_empty()).then_some("data"))
            .collect();
        f.debug_struct("OutQueue")
            .field("out_buffer_size", &self.out_buffer_size)
            .field("len_bytes", &self.len_bytes)
            .field("coalesce", &self.coalesce)
            .field("entries", &kinds)
            .finish()
    }
}

#[cfg(test)]
mod tests;
