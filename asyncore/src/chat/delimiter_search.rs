//! Finding a delimiter or an empty line, or the start of one, in buffered
//! input.

/// Delimiters up to this long are found by `memchr` on their first byte plus
/// a check of the rest: for short records (CRLF lines) that beats setting up
/// a `memmem` search per record.
pub(super) const SHORT_DELIMITER: usize = 4;

/// A search for one byte, set up once per terminator. On x86-64 with AVX2
/// it calls memchr's AVX2 routine directly: `memchr::memchr` reaches the
/// same routine through a function pointer chosen at run time, an
/// indirection that cost about 30 of the search's 70 instructions on a
/// 64-byte CRLF line.
#[derive(Clone, Copy, Debug)]
pub(super) struct ByteSearch {
    byte: u8,
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl ByteSearch {
    pub(super) fn new(byte: u8) -> Self {
        ByteSearch {
            byte,
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(byte),
        }
    }

    /// Leftmost position of the byte in `hay`.
    #[inline(always)]
    pub(super) fn find(&self, hay: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(one) = &self.avx2 {
            return one.find(hay);
        }
        memchr::memchr(self.byte, hay)
    }
}

/// A delimiter of 1 to [`SHORT_DELIMITER`] bytes, set up once per
/// terminator: its first byte found with [`ByteSearch`], the rest compared
/// in place (a CRLF line: one byte).
#[derive(Clone, Copy, Debug)]
pub(super) struct ShortDelimiter {
    first: ByteSearch,
    rest: [u8; SHORT_DELIMITER - 1],
    rest_len: usize,
}

impl ShortDelimiter {
    /// For `d`, 1 to [`SHORT_DELIMITER`] bytes long; `None` otherwise.
    pub(super) fn new(d: &[u8]) -> Option<Self> {
        let (&first, tail) = d.split_first()?;
        let mut rest = [0; SHORT_DELIMITER - 1];
        rest.get_mut(..tail.len())?.copy_from_slice(tail);
        Some(ShortDelimiter {
            first: ByteSearch::new(first),
            rest,
            rest_len: tail.len(),
        })
    }

    /// Leftmost occurrence of the delimiter in `hay`.
    #[inline(always)]
    pub(super) fn find(&self, hay: &[u8]) -> Option<usize> {
        // The first candidate is almost always the delimiter (a CR ends a
        // line); the search for another stays out of the caller's loop.
        let p = self.first.find(hay)?;
        if self.rest_follows(&hay[p + 1..]) {
            return Some(p);
        }
        self.find_from(hay, p + 1)
    }

    /// The delimiters that follow one another from `buf[at..]` on, each
    /// ending a record: the end of the last one and how many there are.
    /// [`find`](Self::find) in a loop; for a two-byte delimiter (CRLF), a
    /// loop of its own with the search routine chosen once.
    // Not inlined: a loop of its own keeps its registers whatever the input
    // loop around its call looks like (inlined, it moved by 10 a line with
    // unrelated edits there).
    #[inline(never)]
    pub(super) fn find_run(&self, buf: &[u8], mut at: usize) -> (usize, usize) {
        let len = 1 + self.rest_len;
        let mut count = 0;
        #[cfg(target_arch = "x86_64")]
        if let (Some(one), 1) = (&self.first.avx2, self.rest_len) {
            // Two bytes (CRLF), the common case: the routine chosen once,
            // the second byte compared in place.
            let second = self.rest[0];
            while let Some(hay) = buf.get(at..) {
                let Some(p) = one.find(hay) else { break };
                let i = if hay.get(p + 1) == Some(&second) {
                    p
                } else {
                    match self.find_from(hay, p + 1) {
                        Some(i) => i,
                        None => break,
                    }
                };
                at += i + 2;
                count += 1;
            }
            return (at, count);
        }
        while let Some(i) = buf.get(at..).and_then(|hay| self.find(hay)) {
            at += i + len;
            count += 1;
        }
        (at, count)
    }

    /// [`find`](Self::find) from `at` on.
    #[cold]
    #[inline(never)]
    fn find_from(&self, hay: &[u8], mut at: usize) -> Option<usize> {
        while let Some(i) = self.first.find(&hay[at..]) {
            let p = at + i;
            if self.rest_follows(&hay[p + 1..]) {
                return Some(p);
            }
            at = p + 1;
        }
        None
    }

    /// Whether `after` starts with the delimiter's bytes after its first.
    /// Compared byte by byte: a library `memcmp` call costs more than the
    /// three bytes at most that are left to check.
    #[inline(always)]
    fn rest_follows(&self, after: &[u8]) -> bool {
        let n = self.rest_len;
        match (n, after) {
            (0, _) => true,
            (1, [b, ..]) => *b == self.rest[0],
            _ => after.len() >= n && after.iter().zip(&self.rest[..n]).all(|(a, b)| a == b),
        }
    }
}

/// Where the first empty line of `hay` is, which does not start it.
pub(super) enum BlankLineSearch {
    /// The record's data is `hay[..data_end]` (through the line ending
    /// before the empty line); the empty line ends at `line_end`.
    Found { data_end: usize, line_end: usize },
    /// None yet; the last `hold` bytes (`\n` or `\n\r`) may begin one.
    NotYet { hold: usize },
}

/// A `BlankLine` record whole at the start of `hay`, where a record
/// begins: the end of its data and of its empty line (an empty line first is
/// an empty record); `None` while it is not whole.
#[inline(always)]
pub(super) fn whole_blank_line_record(hay: &[u8]) -> Option<(usize, usize)> {
    match hay {
        [b'\n', ..] => Some((0, 1)),
        [b'\r', b'\n', ..] => Some((0, 2)),
        _ => match find_blank_line(hay) {
            BlankLineSearch::Found { data_end, line_end } => Some((data_end, line_end)),
            BlankLineSearch::NotYet { .. } => None,
        },
    }
}

// Inlined into the framing's one call: left to the compiler it was not,
// which cost an HTTP request about 35 instructions.
#[inline(always)]
pub(super) fn find_blank_line(hay: &[u8]) -> BlankLineSearch {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'\n', &hay[from..]).map(|i| from + i) {
        match hay.get(i + 1) {
            None => return BlankLineSearch::NotYet { hold: 1 },
            Some(b'\n') => {
                return BlankLineSearch::Found {
                    data_end: i + 1,
                    line_end: i + 2,
                }
            }
            Some(b'\r') => match hay.get(i + 2) {
                None => return BlankLineSearch::NotYet { hold: 2 },
                Some(b'\n') => {
                    return BlankLineSearch::Found {
                        data_end: i + 1,
                        line_end: i + 3,
                    }
                }
                _ => {}
            },
            _ => {}
        }
        from = i + 1;
    }
    BlankLineSearch::NotYet { hold: 0 }
}

/// The length of the longest proper prefix of `needle` that ends `haystack`, or 0
/// (asynchat's `find_prefix_at_end`). A one-byte or empty needle gives
/// 0 (the reference returns −1 for an empty needle, which the input loop never passes).
///
/// # Examples
///
/// ```
/// use asyncore_loop::chat::find_prefix_at_end;
///
/// assert_eq!(find_prefix_at_end(b"qwerty\r", b"\r\n"), 1);
/// assert_eq!(find_prefix_at_end(b"qwertydkjf", b"\r\n"), 0);
/// assert_eq!(find_prefix_at_end(b"ab\r\n.", b"\r\n.\r\n"), 3);
/// ```
// Spec: AC-CHAT-40…42.
pub fn find_prefix_at_end(haystack: &[u8], needle: &[u8]) -> usize {
    let longest = needle.len().saturating_sub(1).min(haystack.len());
    (1..=longest)
        .rev()
        .find(|&l| haystack.ends_with(&needle[..l]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    // TC-CH-13 and the AC-CHAT-42 examples.
    #[test]
    fn tc_ch_13_find_prefix_at_end() {
        assert_eq!(find_prefix_at_end(b"qwerty\r", b"\r\n"), 1);
        assert_eq!(find_prefix_at_end(b"qwertydkjf", b"\r\n"), 0);
        assert_eq!(find_prefix_at_end(b"abc", b"x"), 0);
        assert_eq!(find_prefix_at_end(b"ab\r\n.", b"\r\n.\r\n"), 3);
        assert_eq!(find_prefix_at_end(b"", b"\r\n"), 0);
        assert_eq!(find_prefix_at_end(b"plain ascii text\r\n", b"\r\n.\r\n"), 2);
        assert_eq!(find_prefix_at_end(b"abc", b""), 0); // AC-CHAT-41 (reference: -1)
        assert_eq!(find_prefix_at_end(b"ab", b"abab"), 2); // haystack shorter than needle
    }

    // A run of delimiters is `find` in a loop, from any start, with and
    // without the AVX2 routine (the fallback runs where AVX2 is missing).
    #[test]
    fn find_run_is_find_in_a_loop() {
        let long = [&b"x\r\ny"[..], &[b'\r'; 70], b"\n\r\r\n", &[b'z'; 40], b"\r\n"].concat();
        let hays: [&[u8]; 6] = [b"", b"\r", b"a\r\nb\r\n\r\nc", b"\r\r\n\n\r\n", b"ab\nab\n.ab", &long];
        for d in [&b"\n"[..], b"\r\n", b"\r\n.", b"ab"] {
            let with = ShortDelimiter::new(d).unwrap();
            #[allow(unused_mut)]
            let mut without = with;
            #[cfg(target_arch = "x86_64")]
            {
                without.first.avx2 = None;
            }
            for hay in hays {
                for from in 0..=hay.len() {
                    let (mut end, mut count) = (from, 0);
                    while let Some(i) = with.find(&hay[end..]) {
                        end += i + d.len();
                        count += 1;
                    }
                    let want = (end, count);
                    assert_eq!(with.find_run(hay, from), want, "{d:?} in {hay:?} from {from}");
                    assert_eq!(without.find_run(hay, from), want, "{d:?} in {hay:?} from {from}");
                }
            }
        }
    }

    // A short delimiter is found where `memmem` finds it: false first
    // bytes before it, a first byte at the very end, every length from 1
    // to 4 (and none longer), long haystacks (the AVX2 path).
    #[test]
    fn short_delimiters_match_memmem() {
        assert!(ShortDelimiter::new(b"").is_none());
        assert!(ShortDelimiter::new(b"abcde").is_none());
        let long = [&b"x\r"[..], &[b'y'; 100], b"\r\r\n", &[b'z'; 40]].concat();
        let hays: [&[u8]; 8] = [
            b"",
            b"\r",
            b"ab\r",
            b"a\rb\r\nc",
            b"\r\r\r\n",
            b"\n.\r\n.\r\n",
            b"abab\r\n.\r\n",
            &long,
        ];
        for d in [&b"\n"[..], b"\r\n", b"\r\n.", b"\r\n.\r", b"ab"] {
            let short = ShortDelimiter::new(d).unwrap();
            for hay in hays {
                assert_eq!(
                    short.find(hay),
                    memchr::memmem::find(hay, d),
                    "{d:?} in {hay:?}"
                );
            }
        }
    }
}
