//! Per-channel deadlines: idle, read-stall and write-stall timeouts.
//!
//! Like libevent's bufferevent timeouts, declared once per channel. The cost
//! per event is a stamp of the pass's time (`Cx::now`: one clock read a
//! pass), only for channels that declared a timeout: the channel keeps the
//! time of its last read and last write, and a single
//! timer per channel wakes at the earliest possible expiry, checks, and
//! re-arms if there was activity meanwhile.

use crate::timer::TimerId;
use std::fmt;
use std::time::{Duration, Instant};

/// Which of a channel's deadlines passed (given to
/// [`Dispatcher::handle_timeout`](crate::Dispatcher::handle_timeout)).
///
/// # Examples
///
/// ```
/// assert_eq!(asyncore_loop::Deadline::Idle.to_string(), "idle");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Deadline {
    /// Nothing was read or written for the idle timeout.
    Idle,
    /// The channel was readable but nothing arrived for the read timeout,
    /// counted from its last read or from when it became readable, the
    /// later (not after end of stream: the loop no longer waits to read then).
    Read,
    /// The channel had output to send but could not send for the write
    /// timeout, counted likewise from its last send or from when it became
    /// writable.
    Write,
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Deadline::Idle => "idle",
            Deadline::Read => "read",
            Deadline::Write => "write",
        })
    }
}

/// One declared deadline: its period, counted from the later of its
/// declaration and the activity it watches.
#[derive(Clone, Copy, Debug)]
struct Limit {
    period: Duration,
    declared: Instant,
}

impl Limit {
    /// When it passes, given the last activity it watches.
    fn due(&self, last: Instant) -> Instant {
        crate::clock::after(last.max(self.declared), self.period)
    }
}

#[derive(Debug)]
pub(crate) struct Deadlines {
    idle: Option<Limit>,
    read: Option<Limit>,
    write: Option<Limit>,
    pub(crate) last_read: Instant,
    pub(crate) last_write: Instant,
    pub(crate) timer: Option<TimerId>,
    /// Whether the channel wanted to read and to write at the last check
    /// (`None` before the first): a read or write clock starts when that
    /// interest comes on, not at the last read or write before it.
    interest: Option<(bool, bool)>,
}

impl Deadlines {
    pub(crate) fn new(now: Instant) -> Self {
        Deadlines {
            idle: None,
            read: None,
            write: None,
            last_read: now,
            last_write: now,
            timer: None,
            interest: None,
        }
    }

    /// A new connection at `now`: nothing read or written yet, no interest
    /// noted.
    pub(crate) fn restart(&mut self, now: Instant) {
        self.last_read = now;
        self.last_write = now;
        self.interest = None;
    }

    /// Notes the channel's interest at a check (`now`). An interest that
    /// came on since the last check came on at most now: its clock starts
    /// here, so the deadline passes no sooner than its period after that
    /// (and at most one period later than exactly).
    pub(crate) fn note_interest(&mut self, now: Instant, reading: bool, writing: bool) {
        if let Some((was_reading, was_writing)) = self.interest {
            if reading && !was_reading {
                self.last_read = self.last_read.max(now);
            }
            if writing && !was_writing {
                self.last_write = self.last_write.max(now);
            }
        }
        self.interest = Some((reading, writing));
    }

    /// Declares (or with `None` removes) a deadline at `now`: it never
    /// passes sooner than `after` from now.
    pub(crate) fn set(&mut self, kind: Deadline, after: Option<Duration>, now: Instant) {
        let limit = after.map(|period| Limit {
            period,
            declared: now,
        });
        match kind {
            Deadline::Idle => self.idle = limit,
            Deadline::Read => self.read = limit,
            Deadline::Write => self.write = limit,
        }
    }

    /// The first deadline that has passed at `now`, given whether the
    /// channel wants to read and to write.
    pub(crate) fn expired(&self, now: Instant, reading: bool, writing: bool) -> Option<Deadline> {
        let passed = |last: Instant, limit: Option<Limit>| limit.is_some_and(|l| now >= l.due(last));
        if passed(self.last_read.max(self.last_write), self.idle) {
            Some(Deadline::Idle)
        } else if reading && passed(self.last_read, self.read) {
            Some(Deadline::Read)
        } else if writing && passed(self.last_write, self.write) {
            Some(Deadline::Write)
        } else {
            None
        }
    }

    /// When to look again: the earliest moment a deadline could pass. A
    /// read or write deadline whose interest is off now is checked one
    /// period from now.
    pub(crate) fn next_check(&self, now: Instant, reading: bool, writing: bool) -> Option<Instant> {
        let idle = self.idle.map(|l| l.due(self.last_read.max(self.last_write)));
        let read = self
            .read
            .map(|l| if reading { l.due(self.last_read) } else { crate::clock::after(now, l.period) });
        let write = self.write.map(|l| {
            if writing {
                l.due(self.last_write)
            } else {
                crate::clock::after(now, l.period)
            }
        });
        [idle, read, write].into_iter().flatten().min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_read_write_expiry() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut d = Deadlines::new(t0);
        d.set(Deadline::Idle, Some(10 * s), t0);
        d.set(Deadline::Read, Some(3 * s), t0);
        assert_eq!(d.expired(t0 + 2 * s, true, false), None);
        assert_eq!(d.expired(t0 + 3 * s, true, false), Some(Deadline::Read));
        assert_eq!(
            d.expired(t0 + 3 * s, false, false),
            None,
            "not reading: no read stall"
        );
        assert_eq!(d.expired(t0 + 10 * s, false, false), Some(Deadline::Idle));
        d.last_read = t0 + 5 * s;
        assert_eq!(d.next_check(t0 + 6 * s, true, false), Some(t0 + 8 * s));
        assert_eq!(d.next_check(t0 + 6 * s, false, false), Some(t0 + 9 * s));
    }

    // A deadline counts from the later of its declaration and the activity
    // it watches: declared on a channel silent for long, it still waits one
    // period; declaring a longer one never delays a shorter one.
    #[test]
    fn deadlines_count_from_their_declaration() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut d = Deadlines::new(t0);
        d.set(Deadline::Read, Some(3 * s), t0);
        d.set(Deadline::Idle, Some(100 * s), t0);
        assert_eq!(d.next_check(t0, true, true), Some(t0 + 3 * s), "the read deadline first");
        let later = t0 + 60 * s;
        d.set(Deadline::Read, None, later);
        d.set(Deadline::Write, Some(5 * s), later);
        assert_eq!(d.next_check(later, true, true), Some(later + 5 * s), "not at once");
        assert_eq!(d.expired(later + 4 * s, true, true), None);
        assert_eq!(d.expired(later + 5 * s, true, true), Some(Deadline::Write));
        d.last_write = later + 8 * s;
        assert_eq!(d.next_check(later + 9 * s, true, true), Some(later + 13 * s));
        // Idle since the last write, 100 s: not before `later + 108 s`.
        assert_eq!(d.expired(later + 107 * s, false, false), None);
        assert_eq!(d.expired(later + 108 * s, false, false), Some(Deadline::Idle));
        d.set(Deadline::Idle, None, later);
        d.set(Deadline::Write, None, later);
        assert_eq!(d.next_check(later, true, true), None);
    }
}
