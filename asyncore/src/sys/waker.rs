//! An eventfd that other threads write to wake the loop's wait.

use super::fd::OwnedRawFd;
use std::io;

#[derive(Debug)]
pub(crate) struct Waker {
    fd: OwnedRawFd,
}

impl Waker {
    pub(crate) fn new() -> io::Result<Waker> {
        // SAFETY: plain syscall; the result is checked before use.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Waker { fd: OwnedRawFd(fd) })
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd.0
    }

    /// Makes the descriptor readable. A full counter (EAGAIN) is already
    /// readable, so that is success too.
    pub(crate) fn wake(&self) -> io::Result<()> {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64.
        let n = unsafe { libc::write(self.fd.0, (&one as *const u64).cast(), 8) };
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
        unsafe { libc::read(self.fd.0, (&mut value as *mut u64).cast(), 8) };
    }
}
