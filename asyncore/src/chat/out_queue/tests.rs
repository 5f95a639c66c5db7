//! Unit tests of the output queue.

use super::super::producer::SimpleProducer;
use super::*;

// One `initiate_send` against a mock accepting at most `accept` bytes: returns
// what was offered (`Some(chunk)`), or `None` for an empty queue; panics on Close.
fn send(q: &mut OutQueue, accept: usize) -> Option<Vec<u8>> {
    match q.front(usize::MAX).unwrap() {
        Front::Data(d) => {
            let d = d.to_vec();
            q.consume(accept.min(d.len()));
            Some(d)
        }
        Front::Empty => None,
        other => panic!("unexpected {other:?}"),
    }
}

// X-CH-5 / AC-CHAT-50, 54: size 4, push 10 bytes → `abcd`, `efgh`, `ij`.
#[test]
fn x_ch_5_push_split_one_chunk_per_send() {
    let mut q = OutQueue::new(4);
    q.push(b"abcdefghij");
    assert_eq!(q.len_bytes(), 10);
    assert_eq!(send(&mut q, 99).unwrap(), b"abcd");
    assert_eq!(send(&mut q, 99).unwrap(), b"efgh");
    assert_eq!(send(&mut q, 99).unwrap(), b"ij");
    assert!(q.is_empty());
    assert_eq!(q.len_bytes(), 0);
    assert_eq!(send(&mut q, 99), None);
}

// X-CH-5 / AC-CHAT-56: the OS accepts 3 of `abcd` (push of 6) → queue `d`, `ef`;
// a send of 0 changes nothing.
#[test]
fn x_ch_5_partial_send() {
    let mut q = OutQueue::new(4);
    q.push(b"abcdef");
    assert_eq!(send(&mut q, 3).unwrap(), b"abcd");
    assert_eq!(send(&mut q, 0).unwrap(), b"d");
    assert_eq!(q.len_bytes(), 3);
    assert_eq!(send(&mut q, 9).unwrap(), b"d");
    assert_eq!(send(&mut q, 9).unwrap(), b"ef");
    assert!(q.is_empty());
}

// X-CH-6 / AC-CHAT-57 with decision AC-CHAT-Q-5: empty pushes are not queued, so
// [empty, `xyz`] sends `xyz` at the first attempt (reference: a zero-length send).
#[test]
fn x_ch_6_empty_push_not_queued_ac_chat_q_5() {
    let mut q = OutQueue::new(4);
    q.push(Vec::new());
    assert!(q.is_empty());
    assert_eq!(send(&mut q, 9), None);
    q.push("");
    q.push("xyz");
    assert_eq!(send(&mut q, 9).unwrap(), b"xyz");
    assert!(q.is_empty());
}

// X-CH-7 / AC-CHAT-52, 58: the marker counts as queued and is reached after the
// data before it; what follows it is never offered.
#[test]
fn x_ch_7_close_marker() {
    let mut q = OutQueue::new(4);
    q.close_when_done();
    assert!(!q.is_empty());
    assert_eq!(q.front(usize::MAX).unwrap(), Front::Close);
    let mut q = OutQueue::new(4);
    q.push("abcdef");
    q.close_when_done();
    q.push("never");
    assert_eq!(send(&mut q, 9).unwrap(), b"abcd");
    assert_eq!(send(&mut q, 9).unwrap(), b"ef");
    assert_eq!(q.front(usize::MAX).unwrap(), Front::Close);
    assert_eq!(q.front(usize::MAX).unwrap(), Front::Close);
}

// X-CH-9 / AC-CHAT-71: size 5, `simple_producer("0123456789ABC", 8)` sends
// `01234`, `567`, `89ABC`.
#[test]
fn x_ch_9_producer_output_chunked() {
    let mut q = OutQueue::new(5);
    q.push_producer(Box::new(SimpleProducer::new("0123456789ABC", 8)));
    let sent: Vec<Vec<u8>> = std::iter::from_fn(|| send(&mut q, 99)).collect();
    assert_eq!(sent, [&b"01234"[..], b"567", b"89ABC"]);
    assert!(q.is_empty());
}

// X-CH-9 / AC-CHAT-72: [exhausted producer, `next`] sends `next` in one call.
#[test]
fn x_ch_9_exhausted_producer_skipped() {
    let mut q = OutQueue::new(5);
    q.push_producer(Box::new(SimpleProducer::new("", 8)));
    q.push("next");
    assert_eq!(send(&mut q, 99).unwrap(), b"next");
    assert!(q.is_empty());
}

// AC-CHAT-71: producer output is sliced from where a partial send stopped (unlike
// pushed data, whose pieces are fixed at push time).
#[test]
fn ac_chat_71_producer_partial_send_slides() {
    let mut q = OutQueue::new(5);
    q.push_producer(Box::new(SimpleProducer::new("01234567", 8)));
    assert_eq!(send(&mut q, 3).unwrap(), b"01234");
    assert_eq!(send(&mut q, 9).unwrap(), b"34567");
    assert!(!q.is_empty()); // the producer itself is still queued
    assert_eq!(send(&mut q, 9), None); // asked again: exhausted, dropped
    assert!(q.is_empty());
}

struct Broken;

impl Producer for Broken {
    fn more(&mut self) -> io::Result<Vec<u8>> {
        Err(io::Error::other("broken producer"))
    }
}

// A failing `more()` is reported and the producer stays queued.
#[test]
fn producer_error_propagates() {
    let mut q = OutQueue::new(5);
    q.push_producer(Box::new(Broken));
    assert_eq!(q.front(9).unwrap_err().to_string(), "broken producer");
    assert!(!q.is_empty());
}

#[test]
fn file_regions_in_order_capped_and_not_counted_in_memory() {
    let path = std::env::temp_dir().join(format!("out-queue-file-{}", std::process::id()));
    std::fs::write(&path, vec![1u8; 100]).unwrap();
    let mut q = OutQueue::new(5);
    q.push("ab");
    q.push_file(FileRegion::open_later(&path, 0, 0)); // empty: not queued
    q.push_file(FileRegion::open_later(&path, 10, 90));
    q.push("cd");
    assert_eq!(q.len_bytes(), 4, "a file region is not bytes in memory");
    assert_eq!(send(&mut q, 9), Some(b"ab".to_vec()));
    match q.front(7).unwrap() {
        Front::File { offset, len, .. } => assert_eq!((offset, len), (10, 7)),
        other => panic!("{other:?}"),
    }
    q.consume(7);
    match q.front(usize::MAX).unwrap() {
        Front::File { offset, len, .. } => assert_eq!((offset, len), (17, 83)),
        other => panic!("{other:?}"),
    }
    q.consume(83);
    assert_eq!(send(&mut q, 9), Some(b"cd".to_vec()));
    assert!(q.is_empty());
    std::fs::remove_file(path).unwrap();
}

#[test]
fn file_region_opened_when_its_turn_comes() {
    let path = std::env::temp_dir().join(format!("out-queue-later-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut q = OutQueue::new(5);
    q.push("ab");
    // Queued before the file exists: nothing is opened at push time.
    q.push_file(FileRegion::open_later(&path, 0, 3));
    assert_eq!(send(&mut q, 9), Some(b"ab".to_vec()));
    std::fs::write(&path, b"xyz").unwrap();
    assert!(matches!(q.front(9).unwrap(), Front::File { offset: 0, len: 3, .. }));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn file_region_open_error_stays_at_the_head() {
    let mut q = OutQueue::new(5);
    q.push_file(FileRegion::open_later("/nonexistent/asyncore/file", 0, 10));
    assert_eq!(q.front(9).unwrap_err().kind(), io::ErrorKind::NotFound);
    assert!(!q.is_empty());
    assert!(format!("{q:?}").contains("file"));
}

// X-CH-11 / AC-CHAT-83 (output half): discard drops data, producers and marker.
#[test]
fn x_ch_11_discard_output() {
    let mut q = OutQueue::new(5);
    q.push("abc");
    q.push_producer(Box::new(SimpleProducer::new("p", 8)));
    q.close_when_done();
    q.discard();
    assert!(q.is_empty());
    assert_eq!(q.len_bytes(), 0);
    assert_eq!(q.front(9).unwrap(), Front::Empty);
}

// `max` caps a chunk without moving push-time piece boundaries.
#[test]
fn front_max_caps_chunk() {
    let mut q = OutQueue::new(4);
    q.push("abcdef");
    assert_eq!(q.front(3).unwrap(), Front::Data(b"abc"));
    q.consume(3);
    assert_eq!(q.front(3).unwrap(), Front::Data(b"d"));
    assert_eq!(q.front(0).unwrap(), Front::Data(b"d"));
}

// AC-CHAT-Q-12: small pushes share one entry up to `out_buffer_size`; a push
// that does not fit starts the next; a long owned push is moved in whole.
#[test]
fn coalescing_fills_the_tail_entry() {
    let mut q = OutQueue::new(8);
    q.set_coalesce(true);
    q.push("abc");
    q.push(b"de".to_vec());
    q.push(&b"fgh"[..]);
    q.push("ijk");
    assert_eq!(q.len_bytes(), 11);
    assert_eq!(send(&mut q, 99).unwrap(), b"abcdefgh");
    assert_eq!(send(&mut q, 99).unwrap(), b"ijk");
    assert_eq!(send(&mut q, 99), None);

    let mut q = OutQueue::new(16 << 10);
    q.set_coalesce(true);
    q.push("x");
    let big = vec![7u8; 8 << 10];
    let at = big.as_ptr();
    q.push(big);
    assert_eq!(send(&mut q, 99).unwrap(), b"x");
    match q.front(usize::MAX).unwrap() {
        Front::Data(d) => assert_eq!(d.as_ptr(), at, "moved, not copied"),
        other => panic!("{other:?}"),
    }
}

// The tail that coalescing copies into is kept apart from the other
// entries: it stays behind everything queued before it and ahead of
// everything queued after, whatever the push or the setting that comes.
#[test]
fn the_coalescing_tail_keeps_its_place() {
    let mut q = OutQueue::new(8);
    q.set_coalesce(true);
    q.push("abcd");
    assert_eq!(send(&mut q, 2).unwrap(), b"abcd");
    q.push("ef"); // into the partly sent tail, as before the send
    assert_eq!(send(&mut q, 99).unwrap(), b"cdef");

    q.push("ab");
    q.push_producer(Box::new(SimpleProducer::new("xy", 8)));
    q.push("cd");
    assert_eq!(send(&mut q, 99).unwrap(), b"ab");
    assert_eq!(send(&mut q, 99).unwrap(), b"xy");
    assert_eq!(send(&mut q, 99).unwrap(), b"cd");

    q.push("ab");
    q.set_coalesce(false);
    q.push("cd");
    q.set_coalesce(true);
    q.push("ef"); // into the last entry, as it has room
    q.set_out_buffer_size(4);
    q.push("gh"); // not into a tail of another piece size
    assert_eq!(q.len_bytes(), 8);
    assert_eq!(send(&mut q, 99).unwrap(), b"ab");
    assert_eq!(send(&mut q, 99).unwrap(), b"cdef");
    assert_eq!(send(&mut q, 99).unwrap(), b"gh");
    assert_eq!(send(&mut q, 99), None);

    q.push("ab");
    q.close_when_done();
    q.push("cd");
    assert_eq!(send(&mut q, 99).unwrap(), b"ab");
    assert_eq!(q.front(usize::MAX).unwrap(), Front::Close);

    q.discard();
    assert!(q.is_empty());
    assert_eq!(q.len_bytes(), 0);
    assert_eq!(send(&mut q, 99), None);
}

// Without coalescing (a new queue's default), every push is its own chunk.
#[test]
fn no_coalescing_by_default() {
    let mut q = OutQueue::new(8);
    assert!(!q.coalesce());
    q.push("ab");
    q.push("cd");
    assert_eq!(send(&mut q, 99).unwrap(), b"ab");
    assert_eq!(send(&mut q, 99).unwrap(), b"cd");
}
