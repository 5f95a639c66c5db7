//! asyncore's module-level map (`socket_map`) and the functions that use it.
//!
//! The default map is **per thread**: each thread that uses these
//! functions gets its own [`EventLoop`], so tests and programs on different
//! threads never share channels by accident. Inside a handler, use the
//! handler's [`Cx`](crate::Cx) instead: the default loop is busy then.

use crate::event_loop::{timeout_from_secs, EventLoop};
use crate::sys::Backend;
use std::cell::RefCell;
use std::io;

// AC-Q-21: the default map is per thread.
thread_local! {
    static DEFAULT_LOOP: RefCell<EventLoop> = RefCell::new(EventLoop::new());
}

/// Runs `f` on this thread's default loop (asyncore's `socket_map`).
///
/// # Panics
///
/// If called again from inside `f`, or from a handler run by the default
/// loop: handlers reach the loop through their `Cx`.
///
/// # Examples
///
/// ```
/// use asyncore_loop::{with_default_loop, Dispatcher, AF_INET, SOCK_DGRAM};
/// struct Idle;
/// impl Dispatcher for Idle {}
/// with_default_loop(|ev| ev.add(Idle).create_socket(AF_INET, SOCK_DGRAM))?;
/// assert_eq!(with_default_loop(|ev| ev.len()), 1);
/// asyncore_loop::close_all(false)?;
/// asyncore_loop::loop_(30.0, false, None)?; // empty map: returns at once
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn with_default_loop<R>(f: impl FnOnce(&mut EventLoop) -> R) -> R {
    DEFAULT_LOOP.with(|cell| match cell.try_borrow_mut() {
        Ok(mut ev) => f(&mut ev),
        Err(_) => panic!(
            "asyncore's default loop is already in use on this thread; inside a handler, use its Cx"
        ),
    })
}

/// asyncore's `loop(timeout, use_poll, count)` on the default map.
pub fn loop_(timeout: f64, use_poll: bool, count: Option<usize>) -> io::Result<()> {
    with_default_loop(|ev| ev.loop_(timeout, use_poll, count))
}

/// `loop()` on the default map with the default loop's backend (epoll unless
/// changed) and asyncore's 30 s pass timeout.
pub fn run() -> io::Result<()> {
    with_default_loop(|ev| ev.run())
}

/// asyncore's `poll(timeout)`: one select pass over the default map.
pub fn poll(timeout: f64) -> io::Result<()> {
    one_pass(timeout, Backend::Select)
}

/// asyncore's `poll2(timeout)` (alias `poll3`): one poll pass over the default map.
pub fn poll2(timeout: f64) -> io::Result<()> {
    one_pass(timeout, Backend::Poll)
}

fn one_pass(timeout: f64, backend: Backend) -> io::Result<()> {
    let timeout = timeout_from_secs(timeout)?;
    with_default_loop(|ev| {
        ev.set_backend(backend);
        ev.poll(timeout)
    })
}

/// asyncore's `close_all(ignore_all=...)` on the default map.
pub fn close_all(ignore_all: bool) -> io::Result<()> {
    with_default_loop(|ev| ev.close_all(ignore_all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn every_default_loop_function_returns_at_once_on_an_empty_map() {
        // A fresh thread: its default map is its own, and empty.
        std::thread::spawn(|| {
            let start = Instant::now();
            loop_(30.0, false, None).unwrap();
            loop_(30.0, true, None).unwrap();
            run().unwrap();
            poll(0.0).unwrap();
            poll2(0.0).unwrap();
            close_all(false).unwrap();
            assert!(start.elapsed() < Duration::from_secs(5), "a call waited");
            assert!(with_default_loop(|ev| ev.is_empty()));
        })
        .join()
        .unwrap();
    }
}
