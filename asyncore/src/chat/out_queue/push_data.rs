//! `PushData`: what a push accepts, borrowed (copied in) or owned (moved in).

use std::borrow::Cow;

/// What [`OutQueue::push`](super::OutQueue::push) (and [`Chat::push`](crate::chat::Chat::push)) accepts: bytes,
/// borrowed (copied in) or owned (moved in when that saves a copy).
///
/// Implemented for `Vec<u8>`, `String`, `Box<[u8]>`, `&[u8]`, `&[u8; N]`, `[u8; N]`,
/// `&str`, `&Vec<u8>`, `&String` and `Cow` of bytes or text.
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::{OutQueue, PushData};
///
/// fn queue_all(q: &mut OutQueue, parts: Vec<impl PushData>) {
///     for p in parts {
///         q.push(p);
///     }
/// }
/// let mut q = OutQueue::default();
/// queue_all(&mut q, vec!["a", "bc"]);
/// assert_eq!(q.len_bytes(), 3);
/// ```
pub trait PushData {
    /// The bytes to queue.
    fn as_bytes(&self) -> &[u8];
    /// The bytes as an owned vector (a move for owned data, a copy for borrowed).
    fn into_vec(self) -> Vec<u8>;
    /// Whether [`into_vec`](Self::into_vec) is free (no copy).
    fn is_owned(&self) -> bool {
        false
    }
}

impl PushData for Vec<u8> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self
    }
    fn is_owned(&self) -> bool {
        true
    }
}

impl PushData for String {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_bytes()
    }
    fn is_owned(&self) -> bool {
        true
    }
}

impl PushData for Box<[u8]> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_vec()
    }
    fn is_owned(&self) -> bool {
        true
    }
}

impl PushData for Cow<'_, [u8]> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_owned()
    }
    fn is_owned(&self) -> bool {
        matches!(self, Cow::Owned(_))
    }
}

impl PushData for Cow<'_, str> {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_owned().into_bytes()
    }
    fn is_owned(&self) -> bool {
        matches!(self, Cow::Owned(_))
    }
}

/// Borrowed data: copied in.
macro_rules! borrowed_push_data {
    ($($t:ty),*) => {$(
        impl PushData for $t {
            fn as_bytes(&self) -> &[u8] {
                AsRef::<[u8]>::as_ref(*self)
            }
            fn into_vec(self) -> Vec<u8> {
                AsRef::<[u8]>::as_ref(self).to_vec()
            }
        }
    )*};
}
borrowed_push_data!(&[u8], &str, &Vec<u8>, &String);

impl<const N: usize> PushData for &[u8; N] {
    fn as_bytes(&self) -> &[u8] {
        &self[..]
    }
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> PushData for [u8; N] {
    fn as_bytes(&self) -> &[u8] {
        &self[..]
    }
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}
