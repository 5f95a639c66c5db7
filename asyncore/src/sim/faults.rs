//! Which faults a simulation injects, and how often.

/// How often each fault is injected, in chances per thousand decisions.
///
/// Every decision is drawn from the simulation's key, so a run replays
/// exactly. [`Faults::none`] is a perfect network; [`Faults::chaos`] turns
/// every fault on.
///
/// # Examples
///
/// ```
/// use asyncore_loop::sim::Faults;
/// let f = Faults { reset: 0, ..Faults::chaos() };
/// assert!(f.partial > 0 && f.reset == 0);
/// assert_eq!(Faults::none().partial, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    /// Per wait: the ready events are reported in a shuffled order.
    pub shuffle: u16,
    /// Per read or write: it moves fewer bytes than it could (any length down to one).
    pub partial: u16,
    /// Per read or write: would-block although it could proceed.
    pub would_block: u16,
    /// Per read or write, and per wait: interrupted (`EINTR`).
    pub eintr: u16,
    /// Per read or write: the connection is reset (`ECONNRESET`).
    pub reset: u16,
    /// Per write: the peer is gone (`EPIPE`; the connection is dead).
    pub epipe: u16,
    /// Per report on a connection whose peer closed entirely: hang-up
    /// (`POLLHUP`) while data is still unread, as AF_UNIX reports it.
    pub hangup: u16,
    /// Per watched socket and wait: ready although it is not.
    pub spurious: u16,
    /// Per accept: no descriptors (`EMFILE`); the connection stays queued.
    pub emfile: u16,
    /// Per connect: refused (`ECONNREFUSED`) even with a listener.
    pub refuse: u16,
    /// The most a connect is delayed, in virtual milliseconds.
    pub connect_delay_ms: u64,
    /// Per wait: the clock jumps forward by up to `max_jump_ms`.
    pub clock_jump: u16,
    /// The longest clock jump, in virtual milliseconds.
    pub max_jump_ms: u64,
}

impl Faults {
    /// No faults: every operation does all it can, at once.
    pub const fn none() -> Faults {
        Faults {
            shuffle: 0,
            partial: 0,
            would_block: 0,
            eintr: 0,
            reset: 0,
            epipe: 0,
            hangup: 0,
            spurious: 0,
            emfile: 0,
            refuse: 0,
            connect_delay_ms: 0,
            clock_jump: 0,
            max_jump_ms: 0,
        }
    }

    /// Every fault on, often enough that a short run meets each of them.
    pub const fn chaos() -> Faults {
        Faults {
            shuffle: 500,
            partial: 500,
            would_block: 100,
            eintr: 50,
            reset: 3,
            epipe: 2,
            hangup: 300,
            spurious: 50,
            emfile: 150,
            refuse: 100,
            connect_delay_ms: 50,
            clock_jump: 30,
            max_jump_ms: 3_000,
        }
    }
}

impl Default for Faults {
    fn default() -> Self {
        Faults::chaos()
    }
}
