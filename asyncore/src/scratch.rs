//! The loop's receive buffer, lent to one reader at a time.

// A boxed `Vec` on purpose: lending it moves one pointer, not three.
#![allow(clippy::box_collection)]

/// One buffer for every `recv_with` and `send_file` of a loop, grown on
/// demand and reused. It is boxed so that lending it is the move of one
/// pointer: the echo path lends it once per message.
#[derive(Default)]
pub(crate) struct Scratch(Option<Box<Vec<u8>>>);

impl Scratch {
    /// The buffer, at least `n` bytes long, out of the loop until
    /// [`restore`](Scratch::restore). While it is out (a reader inside a
    /// reader), a fresh one.
    #[inline(always)]
    pub(crate) fn lend(&mut self, n: usize) -> Box<Vec<u8>> {
        match self.0.take() {
            Some(buf) if buf.len() >= n => buf,
            other => grown(other, n),
        }
    }

    /// Gives a lent buffer back.
    #[inline(always)]
    pub(crate) fn restore(&mut self, buf: Box<Vec<u8>>) {
        self.0 = Some(buf);
    }
}

/// `buf` (or a new buffer) grown to `n` bytes.
#[cold]
#[inline(never)]
fn grown(buf: Option<Box<Vec<u8>>>, n: usize) -> Box<Vec<u8>> {
    let mut buf = buf.unwrap_or_default();
    buf.resize(n, 0);
    buf
}
