//! `file_wrapper`: a duplicated descriptor that reads and writes like a
//! socket, so pipes and other descriptors can be channels.

// AC-FILE-1..5: asyncore's file_wrapper.

use crate::sys::fd;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// asyncore's `file_wrapper`: owns a duplicate of a descriptor.
///
/// It holds the number itself (not an `OwnedFd`) because `close` must report
/// the `close(2)` error and leave the wrapper closed either way.
/// Dropping an open wrapper closes its duplicate.
///
/// # Examples
///
/// ```
/// use asyncore_loop::FileWrapper;
/// use std::os::fd::AsRawFd;
///
/// let (r, mut w) = std::io::pipe()?;
/// let mut reader = FileWrapper::new(r.as_raw_fd())?;
/// drop(r); // the wrapper owns its own duplicate
/// std::io::Write::write_all(&mut w, b"hello")?;
/// assert_eq!(reader.recv(5)?, b"hello");
/// reader.close()?;
/// assert_eq!(reader.fileno(), -1);
/// reader.close()?; // a second close does nothing
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct FileWrapper {
    // A raw number, not an OwnedFd: AC-FILE-4 (close reports its error and
    // leaves the wrapper closed either way).
    fd: RawFd,
}

impl FileWrapper {
    /// Wraps a duplicate of `fd` (close-on-exec); the caller keeps `fd`.
    pub fn new(fd: RawFd) -> io::Result<FileWrapper> {
        Ok(FileWrapper {
            fd: fd::dup_cloexec(fd)?,
        })
    }

    /// The duplicate's number, or -1 once closed.
    pub fn fileno(&self) -> RawFd {
        self.fd
    }

    /// One `read(2)` of at most `n` bytes; errors (EAGAIN included) propagate.
    pub fn recv(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let got = self.recv_into(&mut buf)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// `recv` by its file name.
    pub fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.recv(n)
    }

    /// One `read(2)` into `buf`; `Ok(0)` is end of file.
    pub fn recv_into(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        fd::read(self.fd, buf)
    }

    /// One `write(2)`; returns the count written. Errors (EAGAIN included) propagate.
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        fd::write(self.fd, data)
    }

    /// `send` by its file name.
    pub fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.send(data)
    }

    /// `getsockopt(SOL_SOCKET, SO_ERROR)` answers 0, so connection checks see
    /// "no error"; any other option is unsupported.
    ///
    /// # Examples
    ///
    /// ```
    /// # use std::os::fd::AsRawFd;
    /// # let f = std::fs::File::open("/dev/null")?;
    /// let w = asyncore_loop::FileWrapper::new(f.as_raw_fd())?;
    /// assert_eq!(w.getsockopt(libc::SOL_SOCKET, libc::SO_ERROR)?, 0);
    /// assert!(w.getsockopt(libc::SOL_SOCKET, libc::SO_RCVBUF).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn getsockopt(&self, level: i32, option: i32) -> io::Result<i32> {
        // AC-FILE-3: only SO_ERROR, always 0.
        if level == libc::SOL_SOCKET && option == libc::SO_ERROR {
            Ok(0)
        } else {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "only getsockopt(SOL_SOCKET, SO_ERROR) is supported on a file wrapper",
            ))
        }
    }

    /// Closes the duplicate. The wrapper is closed afterwards even if
    /// `close(2)` failed (that error is returned once); a second call is a
    /// silent no-op.
    pub fn close(&mut self) -> io::Result<()> {
        // AC-FILE-4: closed even if close(2) failed; a second call is a no-op.
        if self.fd < 0 {
            return Ok(());
        }
        let fd = std::mem::replace(&mut self.fd, -1);
        fd::close(fd)
    }
}

impl AsRawFd for FileWrapper {
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl Drop for FileWrapper {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{File, OpenOptions};

    #[test]
    fn reads_and_writes_through_its_own_duplicate() {
        let null = File::open("/dev/null").unwrap();
        let mut w = FileWrapper::new(null.as_raw_fd()).unwrap();
        assert_ne!(w.fileno(), null.as_raw_fd());
        assert!(w.recv(10).unwrap().is_empty(), "end of file");

        let zero = File::open("/dev/zero").unwrap();
        let mut w = FileWrapper::new(zero.as_raw_fd()).unwrap();
        assert_eq!(w.read(3).unwrap(), [0, 0, 0]);
        let mut buf = [1u8; 4];
        assert_eq!(w.recv_into(&mut buf).unwrap(), 4);
        assert_eq!(buf, [0; 4]);

        let sink = OpenOptions::new().write(true).open("/dev/null").unwrap();
        let mut w = FileWrapper::new(sink.as_raw_fd()).unwrap();
        assert_eq!(w.send(b"abc").unwrap(), 3);
        assert_eq!(w.write(b"abcd").unwrap(), 4);
    }

    #[test]
    fn close_is_idempotent_and_leaves_it_unusable() {
        let f = File::open("/dev/null").unwrap();
        let mut w = FileWrapper::new(f.as_raw_fd()).unwrap();
        w.close().unwrap();
        assert_eq!(w.fileno(), -1);
        w.close().unwrap();
        assert!(w.read(1).is_err());
    }
}
