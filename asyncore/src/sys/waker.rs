//! An eventfd that other threads write to wake the loop's wait.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The descriptor is replaceable ([`renew`](Waker::renew)) because remote
/// handles on other threads share the waker.
#[derive(Debug)]
pub(crate) struct Waker {
    fd: AtomicI32,
}

fn eventfd() -> io::Result<i32> {
    // SAFETY: plain syscall; the result is checked before use.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

impl Waker {
    pub(crate) fn new() -> io::Result<Waker> {
        Ok(Waker {
            fd: AtomicI32::new(eventfd()?),
        })
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd.load(Ordering::Acquire)
    }

    /// Replaces the eventfd with a new, unwritten one (in a forked child,
    /// whose inherited eventfd the parent shares).
    pub(crate) fn renew(&self) -> io::Result<()> {
        let old = self.fd.swap(eventfd()?, Ordering::AcqRel);
        // SAFETY: this waker owned `old`, which nothing reads any more.
        unsafe { libc::close(old) };
        Ok(())
    }

    /// Makes the descriptor readable. A full counter (EAGAIN) is already
    /// readable, so that is success too.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64.
        let n = unsafe { libc::write(self.fd(), (&one as *const u64).cast(), 8) };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Resets the counter so the descriptor stops being readable.
    pub(crate) fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN (nothing to
        // read) is fine.
        unsafe { libc::read(self.fd(), (&mut value as *mut u64).cast(), 8) };
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: the waker owns its descriptor and closes it once.
        unsafe { libc::close(*self.fd.get_mut()) };
    }
}
