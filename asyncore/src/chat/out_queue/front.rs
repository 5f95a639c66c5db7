//! `Front`: what the head of an output queue asks the channel to do next.

use std::fs::File;
use std::os::fd::AsRawFd;

/// What the head of the queue asks the channel to do, from [`OutQueue::front`](super::OutQueue::front).
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::{Front, OutQueue};
///
/// let mut q = OutQueue::new(4);
/// assert!(matches!(q.front(usize::MAX).unwrap(), Front::Empty));
/// q.push("hi");
/// assert!(matches!(q.front(usize::MAX).unwrap(), Front::Data(b"hi")));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Front<'a> {
    /// Send these bytes (non-empty, at most `out_buffer_size`), then call
    /// [`OutQueue::consume`](super::OutQueue::consume) with the number accepted.
    Data(&'a [u8]),
    /// Send `len` bytes (at least 1) of `file` from `offset`, with
    /// [`Cx::send_file`](crate::Cx::send_file), then call
    /// [`OutQueue::consume`](super::OutQueue::consume) with the number
    /// accepted.
    File {
        /// The file of the region at the head.
        file: &'a File,
        /// Where in the file to start.
        offset: u64,
        /// How many bytes to offer (at most [`SENDFILE_MAX_CHUNK`](super::SENDFILE_MAX_CHUNK)).
        len: usize,
    },
    /// The close marker reached the head: close the channel. The marker
    /// stays queued, so asking again gives `Close` again; entries behind it are never
    /// sent.
    // Spec: AC-CHAT-58.
    Close,
    /// Nothing queued (the channel is not writable on account of the queue).
    Empty,
}

/// Equal when they ask for the same thing (a file region: the same open
/// file, offset and length).
impl PartialEq for Front<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Front::Data(a), Front::Data(b)) => a == b,
            (
                Front::File { file, offset, len },
                Front::File {
                    file: f2,
                    offset: o2,
                    len: l2,
                },
            ) => file.as_raw_fd() == f2.as_raw_fd() && offset == o2 && len == l2,
            (Front::Close, Front::Close) | (Front::Empty, Front::Empty) => true,
            _ => false,
        }
    }
}

impl Eq for Front<'_> {}
