"""asyncore for Python 3.12 and later, on the asyncore-loop engine.

A drop-in for the standard library module removed by PEP 594: channels
(``dispatcher`` subclasses) live in a map keyed by file descriptor, and
``loop()`` waits for readiness and calls their ``handle_*`` methods.

The classes are Python classes, as before, so existing subclasses keep
working. The loop itself -- the interest scan, the wait (with the GIL
released), the event decoding and the dispatch with asyncore's error
routing -- runs in Rust (``asyncore_loop._engine``).

Beyond the standard module: ``loop(..., use_epoll=True)`` keeps
registrations in the kernel and asks ``readable()``/``writable()`` only of
channels that ran or were touched (see ``touch``). The differences from the
standard module are listed in the package README.
"""

import os
import socket
import sys
from errno import (EAGAIN, EALREADY, EBADF, ECONNABORTED, ECONNRESET, EINPROGRESS,
                   EINVAL, EISCONN, EMFILE, ENFILE, ENOTCONN, EPIPE, ESHUTDOWN,
                   EWOULDBLOCK, errorcode)

from asyncore_loop import _engine

__all__ = [
    "ExitNow", "close_all", "compact_traceback", "dispatcher", "dispatcher_with_send",
    "file_dispatcher", "file_wrapper", "loop", "poll", "poll2", "poll3", "read",
    "readwrite", "socket_map", "touch", "write",
]

# Errnos meaning the peer is gone: send/recv turn them into handle_close().
_DISCONNECTED = frozenset({ECONNRESET, ENOTCONN, ESHUTDOWN, ECONNABORTED, EPIPE, EBADF})

# The default map; code may rebind it (it is looked up at call time).
socket_map = {}

ExitNow = _engine.ExitNow
ExitNow.__module__ = __name__

read = _engine.read
write = _engine.write
_exception = _engine.exception
readwrite = _engine.readwrite


def _strerror(err):
    """The OS message for errno ``err``, or its symbolic name."""
    try:
        return os.strerror(err)
    except (ValueError, OverflowError, NameError):
        return errorcode.get(err, "Unknown error %s" % err)


# ---------------------------------------------------------------- passes --

def poll(timeout=0.0, map=None):
    """One select() pass over ``map`` (the default map if None)."""
    _engine.select_pass(timeout, socket_map if map is None else map)


def poll2(timeout=0.0, map=None):
    """One poll() pass over ``map`` (the default map if None)."""
    _engine.poll_pass(timeout, socket_map if map is None else map)


poll3 = poll2

# loop() runs its passes in Rust unless the module's poll/poll2 were replaced.
_own_poll, _own_poll2 = poll, poll2


# Epoll state per map (keyed by id; the state keeps its map alive).
_epoll_maps = {}

# A forked child inherits its parent's epoll instances: the kernel's objects,
# shared, not copies. Kept, the child's registrations would land in the
# parent's interest lists, and two processes would read each other's reports
# as their own descriptors'. The child starts its epoll state afresh.
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_epoll_maps.clear)


def _epoll_for(map):
    state = _epoll_maps.get(id(map))
    if state is None or state.map is not map:
        state = _engine.EpollMap(map)
        _epoll_maps[id(map)] = state
    return state


# ASYNCORE_LOOP_EPOLL=1 in the environment makes loop() use the epoll mode
# when its caller does not say (use_epoll=None): unmodified programs opt in.
_EPOLL_BY_DEFAULT = os.environ.get("ASYNCORE_LOOP_EPOLL", "") not in ("", "0")


def loop(timeout=30.0, use_poll=False, map=None, count=None, *, use_epoll=None):
    """Run passes until ``map`` is empty, or ``count`` passes.

    ``use_poll`` picks poll() over select(). ``use_epoll=True`` (Linux)
    keeps registrations in the kernel and asks readable()/writable() only of
    channels that ran a handler in the previous pass or were touched (see
    ``touch``); a pass then costs O(active channels) instead of O(all).
    ``use_epoll=None`` follows the ASYNCORE_LOOP_EPOLL environment variable.
    """
    if map is None:
        map = socket_map
    if not use_epoll:
        # CPython looks poll/poll2 up at each call: a replacement (a test
        # double, a wrapper) runs every pass, as there (also when
        # ASYNCORE_LOOP_EPOLL is set: the program expects its function).
        poll_fun = poll2 if use_poll else poll
        if poll_fun is not (_own_poll2 if use_poll else _own_poll):
            if count is None:
                while map:
                    poll_fun(timeout, map)
            else:
                while map and count > 0:
                    poll_fun(timeout, map)
                    count = count - 1
            return
        if use_epoll is None:
            use_epoll = _EPOLL_BY_DEFAULT
    epoll = _epoll_for(map) if use_epoll else None
    _engine.run_loop(timeout, bool(use_poll), map, count, epoll)


def touch(fd, map=None):
    """Epoll mode: ask the channel under ``fd`` for its interest next pass.

    Needed only when a channel's readable()/writable() answer changed
    because of something other than its own handlers or this package's own
    send/push methods (for example a flag set by another channel). Costs a
    dict lookup when the map is not run in epoll mode.
    """
    state = _epoll_maps.get(id(socket_map if map is None else map))
    if state is not None:
        state.touch(fd)


def close_all(map=None, ignore_all=False):
    """close() every channel of ``map``, then empty it."""
    if map is None:
        map = socket_map
    for channel in list(map.values()):
        try:
            channel.close()
        except OSError as err:
            if err.errno == EBADF:
                pass
            elif not ignore_all:
                raise
        except (ExitNow, KeyboardInterrupt, SystemExit):
            raise
        except:  # noqa: E722  (any other error, as asyncore did)
            if not ignore_all:
                raise
    map.clear()
    _epoll_maps.pop(id(map), None)


def compact_traceback():
    """((file, function, line), type, value, info) of the current exception."""
    exc_type, exc_value, tb = sys.exc_info()
    if tb is None:
        raise AssertionError("traceback does not exist")
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name, str(tb.tb_lineno)))
        tb = tb.tb_next
    info = " ".join("[%s|%s|%s]" % f for f in frames)
    return frames[-1], exc_type, exc_value, info


# ------------------------------------------------------------ dispatcher --

class dispatcher:
    """A channel: a non-blocking socket in a map, with event handlers."""

    debug = False
    connected = False
    accepting = False
    connecting = False
    closing = False
    addr = None
    ignore_log_types = frozenset({"warning"})
    # Set when the library delivered handle_close(): the loop delivers it once.
    _close_delivered = False

    def __init__(self, sock=None, map=None):
        self._map = socket_map if map is None else map
        self._fileno = None
        if sock is None:
            self.socket = None
            return
        sock.setblocking(False)
        self.set_socket(sock, map)
        self.connected = True
        try:
            self.addr = sock.getpeername()
        except OSError as err:
            if err.errno in (ENOTCONN, EINVAL):
                # An unconnected socket (a listener, or UDP): stays registered.
                self.connected = False
            else:
                self.del_channel(map)
                raise

    def __repr__(self):
        cls = self.__class__
        parts = ["%s.%s" % (cls.__module__, cls.__qualname__)]
        if self.accepting and self.addr:
            parts.append("listening")
        elif self.connected:
            parts.append("connected")
        if self.addr is not None:
            try:
                parts.append("%s:%d" % self.addr)
            except TypeError:
                parts.append(repr(self.addr))
        return "<%s at %#x>" % (" ".join(parts), id(self))

    # -- the map
    def add_channel(self, map=None):
        if map is None:
            map = self._map
        map[self._fileno] = self
        _touch_map(map, self._fileno)

    def del_channel(self, map=None):
        fd = self._fileno
        if map is None:
            map = self._map
        if fd in map:
            del map[fd]
            _touch_map(map, fd)
        self._fileno = None

    def touch(self):
        """Epoll mode: ask this channel's readable()/writable() next pass."""
        if self._fileno is not None:
            _touch_map(self._map, self._fileno)

    # -- socket set-up
    def create_socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM):
        self.family_and_type = family, type
        sock = socket.socket(family, type)
        sock.setblocking(False)
        self.set_socket(sock)

    def set_socket(self, sock, map=None):
        self.socket = sock
        self._fileno = sock.fileno()
        self._close_delivered = False
        self.add_channel(map)

    def set_reuse_addr(self):
        try:
            on = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, on | 1)
        except OSError:
            pass

    # -- interest
    def readable(self):
        return True

    def writable(self):
        return True

    # -- socket operations
    def listen(self, num):
        _reserve_spare_fd()
        self.accepting = True
        self.touch()
        if os.name == "nt" and num > 5:
            num = 5
        return self.socket.listen(num)

    def bind(self, addr):
        self.addr = addr
        return self.socket.bind(addr)

    def connect(self, address):
        self.connected = False
        self.connecting = True
        err = self.socket.connect_ex(address)
        if err in (EINPROGRESS, EALREADY, EWOULDBLOCK) or (err == EINVAL and os.name == "nt"):
            self.addr = address
            self.touch()
            return
        if err in (0, EISCONN):
            self.addr = address
            self.handle_connect_event()
        else:
            raise OSError(err, errorcode[err])

    def accept(self):
        try:
            conn, addr = self.socket.accept()
        except TypeError:
            return None
        except OSError as err:
            if err.errno in (EWOULDBLOCK, ECONNABORTED, EAGAIN):
                return None
            if err.errno in (EMFILE, ENFILE) and _shed_one(self.socket):
                self.log_info("out of file descriptors: dropped a waiting connection", "warning")
                return None
            raise
        return conn, addr

    def send(self, data):
        try:
            return self.socket.send(data)
        except OSError as err:
            if err.errno == EWOULDBLOCK:
                return 0
            if err.errno in _DISCONNECTED:
                self._deliver_close()
                return 0
            raise

    def recv(self, buffer_size):
        try:
            data = self.socket.recv(buffer_size)
        except OSError as err:
            if err.errno in _DISCONNECTED:
                self._deliver_close()
                return b""
            raise
        if not data and self._is_datagram():
            # An empty datagram is data, not the end of a stream.
            return data
        if not data:
            self._deliver_close()
        return data

    def _is_datagram(self):
        try:
            return self.socket.type == socket.SOCK_DGRAM
        except AttributeError:
            return False

    def _deliver_close(self):
        self._close_delivered = True
        self.handle_close()

    def close(self):
        self.connected = False
        self.accepting = False
        self.connecting = False
        self.del_channel()
        if self.socket is not None:
            try:
                self.socket.close()
            except OSError as err:
                if err.errno not in (ENOTCONN, EBADF):
                    raise

    # -- logging
    def log(self, message):
        sys.stderr.write("log: %s\n" % str(message))

    def log_info(self, message, type="info"):
        if type not in self.ignore_log_types:
            print("%s: %s" % (type, message))

    # -- event entry points
    def handle_read_event(self):
        if self.accepting:
            self.handle_accept()
        elif not self.connected:
            if self.connecting:
                self.handle_connect_event()
            self.handle_read()
        else:
            self.handle_read()

    def handle_connect_event(self):
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            raise OSError(err, _strerror(err))
        self.handle_connect()
        self.connected = True
        self.connecting = False

    def handle_write_event(self):
        if self.accepting:
            return
        if not self.connected and self.connecting:
            self.handle_connect_event()
        self.handle_write()

    def handle_expt_event(self):
        err = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err != 0:
            self._deliver_close()
        else:
            self.handle_expt()

    def handle_error(self):
        nil, t, v, tbinfo = compact_traceback()
        try:
            self_repr = repr(self)
        except:  # noqa: E722
            self_repr = "<__repr__(self) failed for object at %0x>" % id(self)
        self.log_info(
            "uncaptured python exception, closing channel %s (%s:%s %s)"
            % (self_repr, t, v, tbinfo),
            "error",
        )
        self.handle_close()

    # -- handlers to override
    def handle_expt(self):
        self.log_info("unhandled incoming priority event", "warning")

    def handle_read(self):
        self.log_info("unhandled read event", "warning")

    def handle_write(self):
        self.log_info("unhandled write event", "warning")

    def handle_connect(self):
        self.log_info("unhandled connect event", "warning")

    def handle_accept(self):
        pair = self.accept()
        if pair is not None:
            self.handle_accepted(*pair)

    def handle_accepted(self, sock, addr):
        sock.close()
        self.log_info("unhandled accepted event", "warning")

    def handle_close(self):
        self.log_info("unhandled close event", "warning")
        self.close()


# Out of descriptors (EMFILE), accept() cannot take the waiting connection,
# the listener stays readable and asyncore's default handle_error closed
# the listener. Instead one descriptor is kept in reserve (opened by the
# first listen()): it is freed to accept and close the waiting connection,
# then taken again, so the listener stays open and the loop does not spin.
_spare_fd = None


def _reserve_spare_fd():
    global _spare_fd
    if _spare_fd is None:
        try:
            _spare_fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _spare_fd = None


def _shed_one(sock):
    global _spare_fd
    if _spare_fd is None:
        return False
    os.close(_spare_fd)
    _spare_fd = None
    try:
        conn, _ = sock.accept()
        conn.close()
    except OSError:
        pass
    _reserve_spare_fd()
    return True


def _touch_map(map, fd):
    if _epoll_maps:
        state = _epoll_maps.get(id(map))
        if state is not None:
            state.touch(fd)


class dispatcher_with_send(dispatcher):
    """A dispatcher with an unbounded output buffer: send() never blocks."""

    def __init__(self, sock=None, map=None):
        dispatcher.__init__(self, sock, map)
        self.out_buffer = b""

    def initiate_send(self):
        sent = dispatcher.send(self, self.out_buffer[:65536])
        self.out_buffer = self.out_buffer[sent:]

    def handle_write(self):
        self.initiate_send()

    def writable(self):
        return (not self.connected) or len(self.out_buffer)

    def send(self, data):
        if self.debug:
            self.log_info("sending %s" % repr(data))
        was_empty = not self.out_buffer
        self.out_buffer = self.out_buffer + data
        self.initiate_send()
        if was_empty and self.out_buffer and _epoll_maps:
            self.touch()


# ----------------------------------------------------------------- files --

if os.name == "posix":

    class file_wrapper:
        """A file descriptor with the socket methods a dispatcher calls."""

        def __init__(self, fd):
            self.fd = os.dup(fd)

        def __del__(self):
            if self.fd >= 0:
                import warnings
                warnings.warn("unclosed file %r" % self, ResourceWarning, source=self)
            self.close()

        def recv(self, *args):
            return os.read(self.fd, *args)

        def send(self, *args):
            return os.write(self.fd, *args)

        def getsockopt(self, level, optname, buflen=None):
            if level == socket.SOL_SOCKET and optname == socket.SO_ERROR and not buflen:
                return 0
            raise NotImplementedError("Only asyncore specific behaviour implemented.")

        read = recv
        write = send

        def close(self):
            if self.fd < 0:
                return
            fd, self.fd = self.fd, -1
            os.close(fd)

        def fileno(self):
            return self.fd

    class file_dispatcher(dispatcher):
        """A dispatcher over a file descriptor (a pipe, a tty, a file)."""

        def __init__(self, fd, map=None):
            dispatcher.__init__(self, None, map)
            self.connected = True
            try:
                fd = fd.fileno()
            except AttributeError:
                pass
            self.set_file(fd)
            os.set_blocking(fd, False)

        def set_file(self, fd):
            self.socket = file_wrapper(fd)
            self._fileno = self.socket.fileno()
            self._close_delivered = False
            self.add_channel()
