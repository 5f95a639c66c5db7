//! One reusable output buffer per thread, so steady small pushes do not allocate.

/// The largest sent-entry buffer kept for reuse by the next push (one per thread,
/// shared by every coalescing queue on it).
pub const SPARE_CAPACITY: usize = 4096;

thread_local! {
    /// The one spare buffer of this thread's coalescing queues.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty buffer for a new entry of `n` bytes: the thread's spare when big enough.
pub(super) fn spare_buffer(n: usize) -> Vec<u8> {
    let spare = SPARE.with(|s| s.take());
    if spare.capacity() >= n {
        spare
    } else {
        SPARE.with(|s| s.set(spare));
        Vec::with_capacity(n.max(512))
    }
}

/// Keeps a sent entry's buffer as the thread's spare when it is small enough.
pub(super) fn recycle(mut bytes: Vec<u8>) {
    if bytes.capacity() <= SPARE_CAPACITY {
        bytes.clear();
        SPARE.with(|s| {
            let old = s.take();
            s.set(if old.capacity() >= bytes.capacity() {
                old
            } else {
                bytes
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Front, OutQueue};
    use super::*;

    // A sent entry's buffer is reused by the next push on the thread (no
    // allocation in steady state), and the kept buffer is bounded.
    #[test]
    fn sent_buffer_is_reused() {
        let mut q = OutQueue::new(1 << 16);
        q.set_coalesce(true);
        q.push(&[1u8; 100][..]);
        let first = match q.front(usize::MAX).unwrap() {
            Front::Data(d) => d.as_ptr(),
            other => panic!("{other:?}"),
        };
        q.consume(100);
        q.push(&[2u8; 100][..]);
        match q.front(usize::MAX).unwrap() {
            Front::Data(d) => assert_eq!(d.as_ptr(), first, "the same buffer"),
            other => panic!("{other:?}"),
        }
        q.consume(100);
        q.push(&vec![3u8; SPARE_CAPACITY * 4][..]);
        q.consume(SPARE_CAPACITY * 4);
        assert!(SPARE.with(|s| {
            let v = s.take();
            let cap = v.capacity();
            s.set(v);
            cap <= SPARE_CAPACITY
        }));
    }
}
