//! Raw descriptor operations for the file wrapper and the backends: the only
//! place besides the backends that talks to libc directly.

use std::io;
use std::os::fd::RawFd;

/// An owned descriptor closed on drop (errors on drop are ignored).
#[derive(Debug)]
pub(crate) struct OwnedRawFd(pub(crate) RawFd);

impl Drop for OwnedRawFd {
    fn drop(&mut self) {
        // SAFETY: this value owns the descriptor and nobody closes it twice.
        unsafe { libc::close(self.0) };
    }
}

#[inline]
fn check(rc: isize) -> io::Result<usize> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc as usize)
    }
}

/// `dup(2)` with close-on-exec.
pub(crate) fn dup_cloexec(fd: RawFd) -> io::Result<RawFd> {
    // SAFETY: fcntl(F_DUPFD_CLOEXEC) does not touch memory; an invalid fd
    // gives EBADF.
    let rc = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    check(rc as isize).map(|n| n as RawFd)
}

/// Whether `fd` is an open descriptor (`fcntl(F_GETFD)` does not fail with EBADF).
pub(crate) fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags; any integer is a
    // valid argument (a closed one gives EBADF).
    let rc = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    rc >= 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EBADF)
}

/// `read(2)` into `buf`.
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    check(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// `write(2)` from `buf`.
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    check(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// `recv(2)` into `buf` (no flags): the hot path of `Cx::recv_into`, without
/// socket2's wrapping. Inlined into it: the echo path is a handful of
/// instructions around two system calls, and a call frame shows.
#[inline(always)]
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    check(unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) })
}

/// `send(2)` from `buf` with `flags` (the hot path of `Cx::send`, inlined
/// into it).
#[inline(always)]
pub(crate) fn send(fd: RawFd, buf: &[u8], flags: libc::c_int) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
    check(unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), flags) })
}

/// `sendmsg(2)` of several buffers at once with `flags` (TLS records: one
/// segment instead of one per record, so Nagle never holds one back).
#[cfg(feature = "tls")]
pub(crate) fn send_vectored(
    fd: RawFd,
    bufs: &[std::io::IoSlice<'_>],
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: a zeroed msghdr is valid (no name, no control data).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is ABI-compatible with iovec on Unix; sendmsg only reads them.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len().min(libc::UIO_MAXIOV as usize) as _;
    // SAFETY: msg points at `bufs`, each valid for reads of its length, for
    // the duration of the call.
    check(unsafe { libc::sendmsg(fd, &msg, flags) })
}

/// `sendfile(2)`: up to `count` bytes of the file `in_fd` from `*offset`
/// straight to the socket `out_fd`, without passing through user space;
/// `*offset` advances by what was sent (the file's own position does not
/// move). 0 means the file ends at `*offset`.
pub(crate) fn sendfile(
    out_fd: RawFd,
    in_fd: RawFd,
    offset: &mut libc::off_t,
    count: usize,
) -> io::Result<usize> {
    // SAFETY: `offset` is a valid, exclusive pointer for the call; the
    // kernel reads and writes only it and the two descriptors.
    check(unsafe { libc::sendfile(out_fd, in_fd, offset, count) })
}

/// `pread(2)`: reads into `buf` at `offset` without moving the file's
/// position.
pub(crate) fn pread(fd: RawFd, buf: &mut [u8], offset: libc::off_t) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
    check(unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), offset) })
}

/// `close(2)`, reporting its error. The caller gives up ownership of `fd`
/// whatever the result (Linux frees the number even on EINTR/EIO).
pub(crate) fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: the caller owns `fd` and never uses the number again.
    check(unsafe { libc::close(fd) } as isize).map(|_| ())
}

/// Switch `O_NONBLOCK` on for `fd` (shared by every duplicate of it).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL/F_SETFL reads and writes no memory.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFL) } as isize)? as libc::c_int;
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above.
        check(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } as isize)?;
    }
    Ok(())
}

/// One `recvfrom(2)` of at most `n` bytes into a fresh buffer.
pub(crate) fn recv_from(
    sock: &socket2::Socket,
    n: usize,
) -> io::Result<(Vec<u8>, socket2::SockAddr)> {
    let mut buf: Vec<u8> = Vec::with_capacity(n);
    let (got, addr) = sock.recv_from(&mut buf.spare_capacity_mut()[..n])?;
    // SAFETY: recv_from initialised the first `got` (<= n) bytes of the spare capacity.
    unsafe { buf.set_len(got) };
    Ok((buf, addr))
}
