//! `Front`: what the head of an output queue asks the channel to do next.

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
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Front<'a> {
    /// Send these bytes (non-empty, at most `out_buffer_size`), then call
    /// [`OutQueue::consume`](super::OutQueue::consume) with the number accepted.
    Data(&'a [u8]),
    /// The close marker reached the head: close the channel. The marker
    /// stays queued, so asking again gives `Close` again; entries behind it are never
    /// sent.
    // Spec: AC-CHAT-58.
    Close,
    /// Nothing queued (the channel is not writable on account of the queue).
    Empty,
}
