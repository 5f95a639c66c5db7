//! `Cx::send_file`: a region of a file to the channel's socket with
//! sendfile(2), so file bodies do not pass through user space; channels
//! where the kernel cannot do that (TLS, files, the simulation) read the
//! region and `send` it.

use super::Cx;
use crate::channel::{closed_error, Io};
use crate::net::is_disconnected;
use crate::sys::fd;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};

/// Bytes read per call where the region is read and sent (TLS): a TLS
/// record holds 16 KiB, a socket buffer takes a few of them.
const READ_CHUNK: usize = 64 << 10;

impl<S: 'static> Cx<'_, S> {
    /// Sends up to `len` bytes of `file` starting at `offset`: one
    /// sendfile(2), the bytes going from the page cache to the socket
    /// without a copy through the program. Returns the bytes the OS took,
    /// like [`send`](Cx::send): would-block is `Ok(0)`, a broken connection
    /// is `Ok(0)` and the loop calls `handle_close`. The file's own position
    /// does not move, so one open file can serve several regions.
    ///
    /// On a TLS channel the region is read (at most 64 KiB per call) and
    /// sent through the TLS session instead; the result means the same.
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` when the file ends before `offset` (it shrank since
    /// its length was announced), and the OS's error otherwise.
    ///
    /// # Examples
    ///
    /// A dispatcher that sends a file and closes:
    ///
    /// ```
    /// use asyncore_loop::{Cx, Dispatcher};
    /// use std::{fs::File, io};
    ///
    /// struct SendFile { file: File, offset: u64, len: u64 }
    ///
    /// impl Dispatcher for SendFile {
    ///     fn writable(&self, _: &asyncore_loop::View<'_>) -> bool {
    ///         true
    ///     }
    ///     fn handle_write(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
    ///         let left = (self.len - self.offset) as usize;
    ///         self.offset += cx.send_file(&self.file, self.offset, left)? as u64;
    ///         if self.offset == self.len {
    ///             cx.close()?;
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn send_file(&mut self, file: impl AsFd, offset: u64, len: usize) -> io::Result<usize> {
        if len == 0 {
            return Ok(0);
        }
        let in_fd = file.as_fd().as_raw_fd();
        let plain_socket = match &self.ch.io {
            Io::Socket(s) => Some(s.as_raw_fd()),
            Io::Closed => return Err(closed_error()),
            _ => None,
        };
        #[cfg(feature = "tls")]
        let plain_socket = plain_socket.filter(|_| self.ch.tls.is_none());
        let Some(out_fd) = plain_socket else {
            return self.read_and_send(in_fd, offset, len);
        };
        let mut at = libc::off_t::try_from(offset).map_err(|_| past_any_file())?;
        let result = loop {
            match fd::sendfile(out_fd, in_fd, &mut at, len) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        match result {
            Ok(0) => Err(file_ended(offset)),
            Ok(n) => {
                self.note_sent(n);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) if is_disconnected(&e) => {
                self.owe_broken();
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    /// The region read with pread(2), then [`send`](Cx::send): for
    /// channels the kernel cannot sendfile to.
    fn read_and_send(&mut self, in_fd: RawFd, offset: u64, len: usize) -> io::Result<usize> {
        let at = libc::off_t::try_from(offset).map_err(|_| past_any_file())?;
        // The loop's receive buffer, lent as `recv_with` lends it: no
        // allocation per call.
        let n = len.min(READ_CHUNK);
        let mut buf = self.core.pass.scratch.lend(n);
        let sent = loop {
            match fd::pread(in_fd, &mut buf[..n], at) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(0) => break Err(file_ended(offset)),
                // What the socket does not take is read again at the next call.
                Ok(got) => break self.send(&buf[..got]),
                Err(e) => break Err(e),
            }
        };
        self.core.pass.scratch.restore(buf);
        sent
    }
}

fn file_ended(offset: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the file ends before offset {offset} (it shrank while being sent)"),
    )
}

fn past_any_file() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "file offset out of range")
}
