//! The DATA state: the message being received, line by line, with flat
//! memory.

/// The message being received in the DATA state, with flat memory.
#[derive(Debug, Default)]
pub(super) struct Incoming {
    pub(super) data: Vec<u8>,
    /// RFC 1870 size so far: content octets plus two per line end.
    size: usize,
    pub(super) overflow: bool,
    /// At the start of a line (nothing of it seen yet).
    line_start: bool,
    /// The current line began with a dot (removed).
    dot: bool,
    /// Content octets of the current line after the dot.
    line_len: usize,
    /// A CR ended the last piece: kept back until we know whether LF follows.
    pending_cr: bool,
    /// The previous line ended with a bare LF.
    prev_bare_lf: bool,
    /// An empty CRLF line right after a bare-LF line, held back: clients
    /// that send bare-LF data (smtplib with bytes, curl) add that CRLF before
    /// `.` themselves, so it is dropped if the end of data follows.
    deferred_blank: bool,
}

impl Incoming {
    pub(super) fn begin(&mut self) {
        *self = Incoming {
            line_start: true,
            ..Incoming::default()
        };
    }

    /// Content octets of the current line.
    fn append(&mut self, bytes: &[u8], max: usize) {
        if bytes.is_empty() {
            return;
        }
        if std::mem::take(&mut self.deferred_blank) {
            self.store(b"\n", max);
        }
        self.size = self.size.saturating_add(bytes.len());
        self.line_len += bytes.len();
        self.store(bytes, max);
    }

    /// Keeps `bytes` while the message is within `max`; past it, frees the
    /// message and keeps only counting.
    fn store(&mut self, bytes: &[u8], max: usize) {
        if self.size > max {
            if !self.overflow {
                self.overflow = true;
                self.data = Vec::new();
            }
            return;
        }
        // Grow by doubling, but never past the limit (a message at the limit
        // must not cost twice the limit in capacity).
        let need = self.data.len() + bytes.len();
        if need > self.data.capacity() {
            let target = need.max(self.data.capacity() * 2).min(max.max(need));
            self.data.reserve_exact(target - self.data.len());
        }
        self.data.extend_from_slice(bytes);
    }

    /// A piece of the current line.
    pub(super) fn collect(&mut self, mut piece: &[u8], max: usize) {
        if self.line_start && !piece.is_empty() {
            self.line_start = false;
            if piece[0] == b'.' {
                self.dot = true;
                piece = &piece[1..];
            }
        }
        if piece.is_empty() {
            return;
        }
        if std::mem::take(&mut self.pending_cr) {
            self.append(b"\r", max);
        }
        if let Some(head) = piece.strip_suffix(b"\r") {
            self.append(head, max);
            self.pending_cr = true;
        } else {
            self.append(piece, max);
        }
    }

    /// The line ended; true if it was the end-of-data line `.`.
    pub(super) fn end_line(&mut self, max: usize) -> bool {
        let crlf = std::mem::take(&mut self.pending_cr);
        // Only <CRLF>.<CRLF> ends the data. A dot line next to a bare LF is
        // content (its dot removed, as any leading dot): a relay that does
        // not end the data there would otherwise smuggle the commands after
        // it into this session ("SMTP smuggling").
        let last = self.dot && self.line_len == 0 && crlf && !self.prev_bare_lf;
        if last {
            self.deferred_blank = false;
        } else {
            self.size = self.size.saturating_add(2);
            if std::mem::take(&mut self.deferred_blank) {
                self.store(b"\n", max);
            }
            if self.line_len == 0 && !self.dot && crlf && self.prev_bare_lf {
                self.deferred_blank = true;
            } else {
                self.store(b"\n", max);
            }
            self.prev_bare_lf = !crlf;
        }
        self.line_start = true;
        self.dot = false;
        self.line_len = 0;
        last
    }
}
