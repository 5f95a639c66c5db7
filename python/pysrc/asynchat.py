"""asynchat for Python 3.12 and later, on the asyncore-loop engine.

``async_chat`` splits the input at a terminator (bytes, a byte count, or
None for "everything") and queues output; the input scanning runs in Rust.
"""

from collections import deque

import asyncore
from asyncore_loop import _engine

__all__ = ["async_chat", "find_prefix_at_end", "simple_producer"]


class async_chat(asyncore.dispatcher):
    """A dispatcher that collects input up to a terminator and queues output."""

    ac_in_buffer_size = 65536
    ac_out_buffer_size = 65536
    use_encoding = 0
    encoding = "latin-1"

    def __init__(self, sock=None, map=None):
        self.ac_in_buffer = b""
        self.incoming = []
        self.producer_fifo = deque()
        asyncore.dispatcher.__init__(self, sock, map)

    # -- input
    def collect_incoming_data(self, data):
        raise NotImplementedError("must be implemented in subclass")

    def _collect_incoming_data(self, data):
        self.incoming.append(data)

    def _get_data(self):
        data = b"".join(self.incoming)
        del self.incoming[:]
        return data

    def found_terminator(self):
        raise NotImplementedError("must be implemented in subclass")

    def set_terminator(self, term):
        """bytes: a delimiter; int: a byte count; None: no terminator."""
        if isinstance(term, str) and self.use_encoding:
            term = bytes(term, self.encoding)
        elif isinstance(term, int) and term < 0:
            raise ValueError("the number of received bytes must be positive")
        self.terminator = term

    def get_terminator(self):
        return self.terminator

    # During handle_read's scan, the bytes not yet consumed are a view held
    # by the engine (_InBuffer), made into bytes only when this is read: a
    # callback sees what CPython showed it, without a copy of the rest of
    # the buffer at every callback.
    def _get_ac_in_buffer(self):
        try:
            value = self._ac_in
        except AttributeError:
            raise AttributeError("%r object has no attribute 'ac_in_buffer'"
                                 % type(self).__name__) from None
        if type(value) is _InBuffer:
            return value.value()
        return value

    def _set_ac_in_buffer(self, value):
        self._ac_in = value

    def _del_ac_in_buffer(self):
        del self._ac_in

    ac_in_buffer = property(_get_ac_in_buffer, _set_ac_in_buffer, _del_ac_in_buffer,
                            "Received bytes not yet handed to collect_incoming_data.")

    def handle_read(self):
        # A subclass that replaced the property gets the plain attribute.
        _engine.chat_handle_read(self, type(self).ac_in_buffer is _AC_IN_BUFFER)

    # -- output
    def handle_write(self):
        self.initiate_send()

    def handle_close(self):
        self.close()

    def push(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data argument must be byte-ish (%r)" % type(data))
        size = self.ac_out_buffer_size
        if len(data) > size:
            for i in range(0, len(data), size):
                self.producer_fifo.append(data[i:i + size])
        else:
            self.producer_fifo.append(data)
        self._touch_out()
        self.initiate_send()

    def push_with_producer(self, producer):
        self.producer_fifo.append(producer)
        self._touch_out()
        self.initiate_send()

    def readable(self):
        return 1

    def writable(self):
        return self.producer_fifo or (not self.connected)

    def close_when_done(self):
        self.producer_fifo.append(None)
        self._touch_out()

    def _touch_out(self):
        if asyncore._epoll_maps:
            self.touch()

    def initiate_send(self):
        fifo = self.producer_fifo
        while fifo and self.connected:
            first = fifo[0]
            if not first:
                # An empty entry is dropped; None means "close now".
                del fifo[0]
                if first is None:
                    self.handle_close()
                    return
            size = self.ac_out_buffer_size
            try:
                data = first[:size]
            except TypeError:
                data = first.more()
                if data:
                    fifo.appendleft(data)
                else:
                    del fifo[0]
                continue
            if isinstance(data, str) and self.use_encoding:
                data = bytes(data, self.encoding)
            try:
                sent = self.send(data)
            except OSError:
                self.handle_error()
                return
            if sent:
                if sent < len(data) or size < len(first):
                    fifo[0] = first[sent:]
                else:
                    del fifo[0]
            return

    def discard_buffers(self):
        self.ac_in_buffer = b""
        del self.incoming[:]
        self.producer_fifo.clear()


_InBuffer = _engine._InBuffer
_AC_IN_BUFFER = async_chat.ac_in_buffer


class simple_producer:
    """Hands out ``data`` in pieces of ``buffer_size`` bytes."""

    def __init__(self, data, buffer_size=512):
        self.data = data
        self.buffer_size = buffer_size

    def more(self):
        if len(self.data) <= self.buffer_size:
            # The rest as it is; what is left is b'' (as 3.11, even for str).
            piece, self.data = self.data, b''
            return piece
        piece, self.data = self.data[:self.buffer_size], self.data[self.buffer_size:]
        return piece


def find_prefix_at_end(haystack, needle):
    """Length of the longest proper prefix of ``needle`` ending ``haystack``
    (-1 for an empty ``needle``, as 3.11's)."""
    if not needle:
        return -1
    if isinstance(haystack, (bytes, bytearray)) and isinstance(needle, (bytes, bytearray)):
        return _engine.find_prefix_at_end_bytes(haystack, needle)
    for k in range(min(len(needle) - 1, len(haystack)), 0, -1):
        if haystack.endswith(needle[:k]):
            return k
    return 0
