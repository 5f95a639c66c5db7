//! `RawSelector`, the public selector without a loop, on every backend:
//! read and write readiness reach the right key, a timeout reports nothing,
//! epoll's registrations persist across waits and can be removed.

#[macro_use]
mod util;
use util::*;

use asyncore_loop::raw_selector::{RawSelector, Readiness, WANT_READ, WANT_WRITE};
use asyncore_loop::{Backend, POLLIN, POLLOUT};
use std::io::Write;
use std::os::fd::AsRawFd;

/// Tell the selector about `fd` the way its backend wants it.
fn want(sel: &mut RawSelector, fd: i32, key: u64, old: u8, new: u8) {
    if sel.backend() == Backend::Epoll {
        sel.register(fd, key, old, new).unwrap();
    } else {
        sel.watch(fd, key, new).unwrap();
    }
}

fn bits_for(out: &[Readiness], key: u64) -> i16 {
    out.iter()
        .filter(|r| r.key == key)
        .fold(0, |acc, r| acc | r.ready)
}

fn reports_read_and_write_readiness_by_key(b: Backend) {
    let (a, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut sel = RawSelector::new(b).unwrap();
    let mut out = Vec::new();

    // Nothing to read yet: a bounded wait reports nothing.
    sel.begin_pass();
    want(&mut sel, a.as_raw_fd(), 3, 0, WANT_READ);
    sel.wait(Some(ms(20)), &mut out).unwrap();
    assert!(out.is_empty(), "{out:?}");

    peer.write_all(b"x").unwrap();
    sel.begin_pass();
    if b != Backend::Epoll {
        // select and poll are told the whole set again; epoll keeps it.
        want(&mut sel, a.as_raw_fd(), 3, 0, WANT_READ);
    }
    sel.wait(Some(secs(5)), &mut out).unwrap();
    assert!(bits_for(&out, 3) & POLLIN != 0, "{out:?}");

    out.clear();
    sel.begin_pass();
    want(&mut sel, a.as_raw_fd(), 4, WANT_READ, WANT_WRITE);
    sel.wait(Some(secs(5)), &mut out).unwrap();
    assert!(bits_for(&out, 4) & POLLOUT != 0, "{out:?}");
    assert_eq!(bits_for(&out, 3), 0, "{out:?}");

    // Removing the registration (epoll) / not watching it (select, poll).
    out.clear();
    sel.begin_pass();
    if b == Backend::Epoll {
        sel.register(a.as_raw_fd(), 4, WANT_WRITE, 0).unwrap();
    }
    sel.wait(Some(ms(20)), &mut out).unwrap();
    assert!(out.is_empty(), "{out:?}");
}

fn watch_is_refused_on_epoll_only(b: Backend) {
    let (a, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut sel = RawSelector::new(b).unwrap();
    let r = sel.watch(a.as_raw_fd(), 1, WANT_READ);
    assert_eq!(r.is_err(), b == Backend::Epoll);
}

backend_tests!(
    reports_read_and_write_readiness_by_key,
    watch_is_refused_on_epoll_only
);
