//! asynchat's input side: one receive, then the terminator scan that hands
//! data to `collect_incoming_data` and calls `found_terminator`.
//!
//! The unconsumed input lives in a Rust buffer during the scan. `ac_in_buffer`
//! is written back before every `found_terminator` call (so a callback sees
//! exactly the bytes not yet consumed) and at the end; a callback that
//! assigns `ac_in_buffer` itself (e.g. `discard_buffers()`) is obeyed.

use crate::errors::handle_error;
use pyo3::exceptions::{PyBlockingIOError, PyOSError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PyString};

/// Largest `k < len(needle)` such that `haystack` ends with `needle[..k]`.
pub(crate) fn prefix_at_end(haystack: &[u8], needle: &[u8]) -> usize {
    let longest = needle.len().saturating_sub(1).min(haystack.len());
    (1..=longest)
        .rev()
        .find(|&k| haystack.ends_with(&needle[..k]))
        .unwrap_or(0)
}

/// `find_prefix_at_end` for bytes.
#[pyfunction]
pub(crate) fn find_prefix_at_end_bytes(haystack: &[u8], needle: &[u8]) -> usize {
    prefix_at_end(haystack, needle)
}

/// `async_chat.handle_read`.
// Spec: AC-CHAT-20..33
#[pyfunction]
pub(crate) fn chat_handle_read(py: Python<'_>, chat: &Bound<'_, PyAny>) -> PyResult<()> {
    let size = chat.getattr(intern!(py, "ac_in_buffer_size"))?;
    let data = match chat.call_method1(intern!(py, "recv"), (size,)) {
        Ok(d) => d,
        Err(e) if e.is_instance_of::<PyBlockingIOError>(py) => return Ok(()),
        Err(e) if e.is_instance_of::<PyOSError>(py) => return handle_error(py, chat, e),
        Err(e) => return Err(e),
    };
    let mut scan = Scan {
        py,
        chat,
        buf: chat
            .getattr(intern!(py, "ac_in_buffer"))?
            .extract::<Vec<u8>>()?,
        pos: 0,
    };
    scan.buf.extend_from_slice(&data.extract::<Vec<u8>>()?);
    let result = scan.run();
    let left = PyBytes::new_bound(py, &scan.buf[scan.pos..]);
    chat.setattr(intern!(py, "ac_in_buffer"), left)?;
    result
}

struct Scan<'a, 'py> {
    py: Python<'py>,
    chat: &'a Bound<'py, PyAny>,
    buf: Vec<u8>,
    pos: usize,
}

impl Scan<'_, '_> {
    fn run(&mut self) -> PyResult<()> {
        let py = self.py;
        while self.pos < self.buf.len() {
            let left = self.buf.len() - self.pos;
            let term = self.chat.call_method0(intern!(py, "get_terminator"))?;
            if term.is_none() || !term.is_truthy()? {
                // No terminator (or 0, or b''): everything is data.
                self.collect(left)?;
            } else if term.is_instance_of::<PyInt>() {
                let n: usize = term.extract()?;
                if left < n {
                    self.collect(left)?;
                    self.chat.setattr(intern!(py, "terminator"), n - left)?;
                } else {
                    self.collect(n)?;
                    self.chat.setattr(intern!(py, "terminator"), 0)?;
                    self.found()?;
                }
            } else {
                let delim = self.delimiter(&term)?;
                let rest = &self.buf[self.pos..];
                if let Some(i) = find(rest, &delim) {
                    if i > 0 {
                        self.collect(i)?;
                    }
                    self.pos += delim.len();
                    self.found()?;
                } else {
                    let keep = prefix_at_end(rest, &delim);
                    if keep == 0 {
                        self.collect(left)?;
                    } else {
                        // A possible start of the delimiter stays buffered.
                        if keep != left {
                            self.collect(left - keep)?;
                        }
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn delimiter(&self, term: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
        let py = self.py;
        if term.is_instance_of::<PyString>()
            && self
                .chat
                .getattr(intern!(py, "use_encoding"))?
                .is_truthy()?
        {
            let enc = self.chat.getattr(intern!(py, "encoding"))?;
            return term.call_method1(intern!(py, "encode"), (enc,))?.extract();
        }
        term.extract()
    }

    /// Hand the next `n` bytes to `collect_incoming_data`.
    fn collect(&mut self, n: usize) -> PyResult<()> {
        let chunk = PyBytes::new_bound(self.py, &self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.chat
            .call_method1(intern!(self.py, "collect_incoming_data"), (chunk,))?;
        Ok(())
    }

    /// Call `found_terminator` with `ac_in_buffer` showing what is left.
    fn found(&mut self) -> PyResult<()> {
        let py = self.py;
        let left = PyBytes::new_bound(py, &self.buf[self.pos..]);
        self.chat.setattr(intern!(py, "ac_in_buffer"), &left)?;
        self.chat.call_method0(intern!(py, "found_terminator"))?;
        let now = self.chat.getattr(intern!(py, "ac_in_buffer"))?;
        if !now.is(&left) {
            self.buf = now.extract()?;
            self.pos = 0;
        }
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}
