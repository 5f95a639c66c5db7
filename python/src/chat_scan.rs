//! asynchat's input side: one receive, then the terminator scan that hands
//! data to `collect_incoming_data` and calls `found_terminator`.
//!
//! The input is scanned in place: the buffer (what `ac_in_buffer` held plus
//! what `recv()` returned) is one `bytes` object, borrowed, never copied
//! byte by byte; each piece handed to `collect_incoming_data` is one slice.
//!
//! What Python code sees in `ac_in_buffer` during a callback is CPython's:
//! everything not yet consumed (in `collect_incoming_data`, the piece it is
//! given included; in `found_terminator`, what follows the terminator).
//! `async_chat.ac_in_buffer` is a property over `_ac_in`; during the scan
//! `_ac_in` holds an [`InBuffer`] view (the buffer and a position), and the
//! property makes the `bytes` only when something reads it, so the scan does
//! not copy the rest of the buffer at every callback. A subclass that
//! replaces the property (a class attribute of its own) gets the plain
//! attribute written before every callback instead. An assignment to
//! `ac_in_buffer` in a callback (e.g. `discard_buffers()`) is obeyed as
//! CPython obeys it: after `found_terminator` the value is the buffer; after
//! `collect_incoming_data`, CPython slices the value when the branch slices
//! (a terminator found, a count reached, a partial terminator kept) and
//! overwrites it with `b''` when the branch took everything.

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyBlockingIOError, PyOSError, PyTypeError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyInt, PySlice, PyString};
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::errors::handle_error;

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

/// The input not consumed yet during a scan: `data[pos:]`, made into a
/// `bytes` object only when `ac_in_buffer` is read.
#[pyclass(frozen, module = "asyncore_loop._engine", name = "_InBuffer")]
pub(crate) struct InBuffer {
    data: Py<PyBytes>,
    pos: AtomicUsize,
}

#[pymethods]
impl InBuffer {
    /// The unconsumed bytes (the buffer itself when nothing is consumed).
    fn value(&self, py: Python<'_>) -> Py<PyBytes> {
        remaining(self.data.bind(py), self.pos.load(Ordering::Relaxed)).unbind()
    }
}

/// `data[pos:]`, without a copy when `pos` is 0.
fn remaining<'py>(data: &Bound<'py, PyBytes>, pos: usize) -> Bound<'py, PyBytes> {
    if pos == 0 {
        data.clone()
    } else {
        let bytes = data.as_bytes();
        PyBytes::new_bound(data.py(), &bytes[pos.min(bytes.len())..])
    }
}

/// A bytes-like object as `bytes` (no copy for `bytes`; an `InBuffer` view
/// gives its unconsumed bytes).
fn as_bytes<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let py = obj.py();
    if let Ok(b) = obj.downcast::<PyBytes>() {
        return Ok(b.clone());
    }
    if let Ok(view) = obj.downcast::<InBuffer>() {
        return Ok(view.get().value(py).into_bound(py));
    }
    let buf = PyBuffer::<u8>::get_bound(obj)?;
    Ok(PyBytes::new_bound(py, &buf.to_vec(py)?))
}

/// `old + data` as CPython's `self.ac_in_buffer + data` computes it (any
/// bytes-like `data`; a `str` is a TypeError), as one `bytes` object.
fn join<'py>(old: &Bound<'py, PyAny>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let py = old.py();
    if let (Ok(o), Ok(d)) = (old.downcast::<PyBytes>(), data.downcast::<PyBytes>()) {
        let (o, d) = (o.as_bytes(), d.as_bytes());
        if o.is_empty() && data.is_exact_instance_of::<PyBytes>() {
            return Ok(data.downcast::<PyBytes>()?.clone());
        }
        return PyBytes::new_bound_with(py, o.len() + d.len(), |buf| {
            buf[..o.len()].copy_from_slice(o);
            buf[o.len()..].copy_from_slice(d);
            Ok(())
        });
    }
    as_bytes(&old.add(data)?)
}

/// `async_chat.handle_read`. `lazy`: the class keeps `async_chat`'s
/// `ac_in_buffer` property (the view is used); otherwise the attribute is
/// written before every callback.
// Spec: AC-CHAT-20..33
#[pyfunction]
#[pyo3(signature = (chat, lazy=false))]
pub(crate) fn chat_handle_read(
    py: Python<'_>,
    chat: &Bound<'_, PyAny>,
    lazy: bool,
) -> PyResult<()> {
    let size = chat.getattr(intern!(py, "ac_in_buffer_size"))?;
    let data = match chat.call_method1(intern!(py, "recv"), (size,)) {
        Ok(d) => d,
        Err(e) if e.is_instance_of::<PyBlockingIOError>(py) => return Ok(()),
        Err(e) if e.is_instance_of::<PyOSError>(py) => return handle_error(py, chat, e),
        Err(e) => return Err(e),
    };
    let attr = if lazy {
        intern!(py, "_ac_in")
    } else {
        intern!(py, "ac_in_buffer")
    };
    // Lazy: `_ac_in` read directly (a view there is a scan further up the
    // stack: a callback called handle_read); missing, the property says so.
    let old = match chat.getattr(attr) {
        Ok(v) if lazy && v.is_instance_of::<InBuffer>() => as_bytes(&v)?.into_any(),
        Ok(v) => v,
        Err(_) if lazy => chat.getattr(intern!(py, "ac_in_buffer"))?,
        Err(e) => return Err(e),
    };
    let whole = join(&old, &data)?;
    let mut scan = Scan {
        py,
        chat,
        attr,
        lazy,
        data: whole,
        pos: 0,
        view: None,
        shown: None,
        assigned_stands: false,
    };
    let result = scan.run();
    // The final state: what is left, unless a callback that failed had just
    // assigned `ac_in_buffer` itself, or the value a callback assigned could
    // not be used (CPython fails on it and leaves it there).
    let ours = || match &scan.shown {
        None => true,
        Some(shown) => chat.getattr(attr).map(|now| now.is(shown)).unwrap_or(false),
    };
    if !scan.assigned_stands && (result.is_ok() || ours()) {
        chat.setattr(attr, remaining(&scan.data, scan.pos))?;
    }
    result
}

struct Scan<'a, 'py> {
    py: Python<'py>,
    chat: &'a Bound<'py, PyAny>,
    /// `_ac_in` (lazy) or `ac_in_buffer`.
    attr: &'a Bound<'py, PyString>,
    lazy: bool,
    /// The buffer: `data[pos..]` is not consumed yet.
    data: Bound<'py, PyBytes>,
    pos: usize,
    /// Lazy: the view over `data` (kept while `data` is).
    view: Option<Bound<'py, InBuffer>>,
    /// What this scan last stored in `attr` (None: nothing yet).
    shown: Option<Bound<'py, PyAny>>,
    /// A value a callback assigned is left in `ac_in_buffer`: a false one
    /// (the scan ends), or one that could not be sliced or read as bytes
    /// (the error goes up).
    assigned_stands: bool,
}

/// A terminator's bytes: borrowed from a `bytes` terminator, copied otherwise.
type Delim<'t> = Cow<'t, [u8]>;

impl<'py> Scan<'_, 'py> {
    fn left(&self) -> usize {
        self.data.as_bytes().len() - self.pos
    }

    fn run(&mut self) -> PyResult<()> {
        let py = self.py;
        // `while self.ac_in_buffer:` (a callback may have replaced it).
        while self.left() > 0 {
            let left = self.left();
            let term = self.chat.call_method0(intern!(py, "get_terminator"))?;
            if !term.is_truthy()? {
                // No terminator (None, 0, b''): everything is data.
                self.collect(left, Then::Clear)?;
            } else if term.is_instance_of::<PyInt>() {
                // Any Python int: one larger than a usize is more than any
                // buffer; a negative one slices as Python does, `buf[:n]`.
                // (what to collect, and then: `buf[n:]`, which for a
                // negative n keeps the last -n bytes).
                let take = match term.extract::<usize>() {
                    Ok(n) if n <= left => Some((n, Then::Slice(n))),
                    Ok(_) => None,
                    Err(_) if term.gt(0)? => None,
                    Err(_) => {
                        let keep = term
                            .extract::<i64>()
                            .ok()
                            .and_then(|n| usize::try_from(n.unsigned_abs()).ok())
                            .unwrap_or(usize::MAX);
                        Some((left.saturating_sub(keep), Then::KeepLast(keep)))
                    }
                };
                match take {
                    None => {
                        self.collect(left, Then::Clear)?;
                        // CPython: self.terminator = self.terminator - lb
                        let now = self.chat.getattr(intern!(py, "terminator"))?;
                        self.chat
                            .setattr(intern!(py, "terminator"), now.sub(left)?)?;
                    }
                    Some((take, then)) => {
                        self.collect(take, then)?;
                        self.chat.setattr(intern!(py, "terminator"), 0)?;
                        self.found()?;
                    }
                }
            } else {
                let delim = delimiter(&term)?;
                let rest = &self.data.as_bytes()[self.pos..];
                if let Some(i) = memchr::memmem::find(rest, &delim) {
                    let past = i + delim.len();
                    if i > 0 {
                        self.collect(i, Then::Slice(past))?;
                    } else {
                        self.advance(past);
                    }
                    self.found()?;
                } else {
                    let keep = prefix_at_end(rest, &delim);
                    if keep == 0 {
                        self.collect(left, Then::Clear)?;
                    } else {
                        // A possible start of the terminator stays buffered.
                        if keep != left {
                            self.collect(left - keep, Then::KeepLast(keep))?;
                        }
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Make `ac_in_buffer` show `data[pos..]` to the next callback.
    fn show(&mut self) -> PyResult<()> {
        if !self.lazy || (self.pos == 0 && self.view.is_none()) {
            // Nothing consumed yet: the buffer itself is the value.
            if self.pos == 0 && matches!(&self.shown, Some(s) if s.is(&self.data)) {
                return Ok(());
            }
            let now = remaining(&self.data, self.pos).into_any();
            self.chat.setattr(self.attr, &now)?;
            self.shown = Some(now);
            return Ok(());
        }
        let view = match &self.view {
            Some(v) => v.clone(),
            None => {
                let v = Bound::new(
                    self.py,
                    InBuffer {
                        data: self.data.clone().unbind(),
                        pos: AtomicUsize::new(self.pos),
                    },
                )?;
                self.view = Some(v.clone());
                v
            }
        };
        view.get().pos.store(self.pos, Ordering::Relaxed);
        let installed = matches!(&self.shown, Some(s) if s.is(&view));
        if !installed {
            self.chat.setattr(self.attr, &view)?;
            self.shown = Some(view.into_any());
        }
        Ok(())
    }

    /// Whether a callback left `ac_in_buffer` as this scan showed it;
    /// otherwise the value now there.
    fn replaced(&mut self) -> PyResult<Option<Bound<'py, PyAny>>> {
        let now = self.chat.getattr(self.attr)?;
        if matches!(&self.shown, Some(s) if s.is(&now)) {
            return Ok(None);
        }
        self.shown = None;
        Ok(Some(now))
    }

    /// Hand the next `n` bytes to `collect_incoming_data`, then update the
    /// buffer as `then` says.
    fn collect(&mut self, n: usize, then: Then) -> PyResult<()> {
        let py = self.py;
        self.show()?;
        let whole = self.pos == 0 && n == self.data.as_bytes().len();
        let chunk = if whole {
            self.data.clone()
        } else {
            PyBytes::new_bound(py, &self.data.as_bytes()[self.pos..self.pos + n])
        };
        self.chat
            .call_method1(intern!(py, "collect_incoming_data"), (chunk,))?;
        let assigned = self.replaced()?;
        match (then, assigned) {
            (Then::Clear, _) | (_, None) => {
                let skip = match then {
                    Then::Slice(past) => past,
                    Then::Clear | Then::KeepLast(_) => n,
                };
                self.advance(skip);
            }
            // CPython slices what the callback left there.
            (Then::Slice(past), Some(now)) => {
                let from = isize::try_from(past).unwrap_or(isize::MAX);
                self.replace_with_slice(&now, from)?;
            }
            (Then::KeepLast(keep), Some(now)) => {
                let from = isize::try_from(keep).map_or(isize::MIN, |k| -k);
                self.replace_with_slice(&now, from)?;
            }
        }
        Ok(())
    }

    /// CPython's `self.ac_in_buffer = self.ac_in_buffer[from:]` on a value
    /// a callback assigned.
    fn replace_with_slice(&mut self, value: &Bound<'py, PyAny>, from: isize) -> PyResult<()> {
        match value.get_item(PySlice::new_bound(self.py, from, isize::MAX, 1)) {
            Ok(sliced) => self.replace_with(&sliced),
            Err(e) => {
                self.assigned_stands = true;
                Err(e)
            }
        }
    }

    /// A value a callback assigned to `ac_in_buffer` is the buffer from now
    /// on.
    fn replace_with(&mut self, value: &Bound<'py, PyAny>) -> PyResult<()> {
        if !value.is_instance_of::<PyBytes>() && !value.is_truthy()? {
            // CPython's `while self.ac_in_buffer:` ends on any false value
            // (None, ''), which stays there.
            self.assigned_stands = true;
            self.data = PyBytes::new_bound(self.py, b"");
            self.pos = 0;
            self.view = None;
            return Ok(());
        }
        match as_bytes(value) {
            Ok(data) => {
                self.data = data;
                self.pos = 0;
                self.view = None;
                Ok(())
            }
            Err(e) => {
                self.assigned_stands = true;
                Err(e)
            }
        }
    }

    /// Consume `n` bytes (a view shows the change at once).
    fn advance(&mut self, n: usize) {
        self.pos += n;
        if let Some(view) = &self.view {
            view.get().pos.store(self.pos, Ordering::Relaxed);
        }
    }

    /// Call `found_terminator` with `ac_in_buffer` showing what is left;
    /// a value it assigns there is the buffer from then on.
    fn found(&mut self) -> PyResult<()> {
        self.show()?;
        self.chat
            .call_method0(intern!(self.py, "found_terminator"))?;
        if let Some(now) = self.replaced()? {
            self.replace_with(&now)?;
        }
        Ok(())
    }
}

/// What CPython does with `ac_in_buffer` after `collect_incoming_data`:
/// overwrites it with `b''` (the piece was all of it), or slices what the
/// callback left there, `[past:]` or `[-keep:]`.
#[derive(Clone, Copy)]
enum Then {
    Clear,
    Slice(usize),
    KeepLast(usize),
}

/// A delimiter's bytes, checked as CPython's `len(terminator)` then
/// `bytes.find(terminator)` check it: any bytes-like object.
fn delimiter<'t>(term: &'t Bound<'_, PyAny>) -> PyResult<Delim<'t>> {
    if let Ok(b) = term.downcast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    term.len()?;
    match PyBuffer::<u8>::get_bound(term) {
        Ok(buf) => Ok(Cow::Owned(buf.to_vec(term.py())?)),
        Err(_) => Err(PyTypeError::new_err(format!(
            "argument should be integer or bytes-like object, not '{}'",
            term.get_type().qualname()?
        ))),
    }
}
