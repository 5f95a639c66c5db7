//! The buffers of one chat channel and their limits: input parser, output
//! queue, back-pressure marks and the hard output limit.

use super::{Framing, OutQueue, PushData, DEFAULT_OUT_BUFFER_SIZE};
use std::io;

/// `ac_in_buffer_size`'s default: 65 536 bytes per receive.
// Spec: AC-CHAT-1, AC-CHAT-Q-1.
pub const DEFAULT_IN_BUFFER_SIZE: usize = 65_536;
/// Default high-water mark of queued output: above it the channel stops reading.
pub const DEFAULT_HIGH_WATER: usize = 1 << 20;
/// Default low-water mark: below it a paused channel reads again.
pub const DEFAULT_LOW_WATER: usize = 256 << 10;

/// The buffers of one chat channel: input parser, output queue, limits.
#[derive(Debug)]
pub(super) struct Buffers {
    /// How the input is cut (its bytes are the channel's, beside these
    /// buffers, so a hook reads its piece in place).
    pub(super) framing: Framing,
    pub(super) out: OutQueue,
    pub(super) in_buffer_size: usize,
    pub(super) high_water: usize,
    pub(super) low_water: usize,
    pub(super) out_limit: Option<usize>,
    pub(super) drain: bool,
    /// Not reading because queued output passed the high-water mark.
    pub(super) paused: bool,
    /// The close marker reached the head: `handle_close` is owed.
    pub(super) close_requested: bool,
    /// Whole records go to `found_records` in runs (until its default
    /// declines).
    pub(super) runs: bool,
    /// Batch the pushes made while input is handled.
    // Spec: AC-CHAT-Q-12.
    pub(super) batch: bool,
    /// Input is being handled: pushes queue without sending.
    pub(super) deferring: bool,
    /// A push was deferred: send once the input is handled.
    pub(super) deferred: bool,
    /// STARTTLS asked for: input stops, and TLS starts once the output
    /// (the reply inviting it) is sent.
    #[cfg(feature = "tls")]
    pub(super) tls_upgrade: Option<super::starttls::Upgrade>,
    /// End of stream arrived while input was held back by back-pressure:
    /// `handle_read_eof` waits until that input is handled.
    pub(super) eof_held: bool,
}

impl Buffers {
    /// asynchat's sizes, the default back-pressure marks, no output limit,
    /// batching on.
    pub(super) fn new() -> Self {
        let mut out = OutQueue::new(DEFAULT_OUT_BUFFER_SIZE);
        // Batching copies small pushes into one queue entry.
        out.set_coalesce(true);
        // Whole records go to `found_record` until the handler's default
        // declines one.
        let mut framing = Framing::new();
        framing.set_whole_records(true);
        Buffers {
            framing,
            out,
            in_buffer_size: DEFAULT_IN_BUFFER_SIZE,
            high_water: DEFAULT_HIGH_WATER,
            low_water: DEFAULT_LOW_WATER,
            out_limit: None,
            drain: false,
            paused: false,
            close_requested: false,
            runs: true,
            batch: true,
            deferring: false,
            deferred: false,
            #[cfg(feature = "tls")]
            tls_upgrade: None,
            eof_held: false,
        }
    }

    /// Queues `data` unless it would pass the hard output limit.
    pub(super) fn push_within_limit(&mut self, data: impl PushData) -> io::Result<()> {
        if let Some(limit) = self.out_limit {
            let queued = self.out.len_bytes();
            let len = data.as_bytes().len();
            if queued + len > limit {
                return Err(io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!(
                        "output queue limit: {queued} bytes queued, {len} more would pass the limit of {limit}"
                    ),
                ));
            }
        }
        self.out.push(data);
        // A push only adds: it may pause, never resume (every removal from
        // the queue updates the pause, so a paused queue is above the
        // low-water mark).
        if self.out.len_bytes() > self.high_water {
            self.paused = true;
        }
        Ok(())
    }

    /// A STARTTLS upgrade waits for its reply to be sent (no input
    /// meanwhile).
    #[inline]
    pub(super) fn upgrade_pending(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls_upgrade.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Back-pressure: pause reading above the high-water mark, resume at or
    /// below the low-water mark (in between, keep the current state).
    pub(super) fn update_pause(&mut self) {
        let queued = self.out.len_bytes();
        if queued > self.high_water {
            self.paused = true;
        } else if queued <= self.low_water {
            self.paused = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(high: usize, low: usize) -> Buffers {
        let mut b = Buffers::new();
        b.high_water = high;
        b.low_water = low;
        b
    }

    #[test]
    fn new_buffers_have_asynchat_sizes_and_batch() {
        let b = Buffers::new();
        assert_eq!(b.in_buffer_size, DEFAULT_IN_BUFFER_SIZE);
        assert_eq!(b.out.out_buffer_size(), DEFAULT_OUT_BUFFER_SIZE);
        assert!(b.batch && b.out.coalesce());
        assert_eq!(b.out_limit, None);
        assert!(!b.paused && !b.deferring && !b.deferred);
    }

    #[test]
    fn push_past_the_limit_fails_and_queues_nothing() {
        let mut b = Buffers::new();
        b.out_limit = Some(8);
        b.push_within_limit("12345").unwrap();
        let err = b.push_within_limit("6789").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        assert!(err.to_string().contains("limit of 8"), "{err}");
        assert_eq!(b.out.len_bytes(), 5);
        // Exactly up to the limit is allowed.
        b.push_within_limit("678").unwrap();
        assert_eq!(b.out.len_bytes(), 8);
    }

    #[test]
    fn pause_above_high_water_only() {
        let mut b = marks(4, 2);
        b.push_within_limit("1234").unwrap();
        assert!(!b.paused, "at the mark is not above it");
        b.push_within_limit("5").unwrap();
        assert!(b.paused);
    }

    #[test]
    fn pause_holds_until_low_water() {
        let mut b = marks(4, 2);
        b.push_within_limit("12345").unwrap();
        assert!(b.paused);
        let n = match b.out.front(2).unwrap() {
            crate::chat::Front::Data(d) => d.len(),
            other => panic!("{other:?}"),
        };
        b.out.consume(n);
        b.update_pause();
        assert!(b.paused, "3 queued: between the marks, still paused");
        b.out.front(1).unwrap();
        b.out.consume(1);
        b.update_pause();
        assert!(!b.paused, "2 queued: at the low mark, reading again");
    }
}
