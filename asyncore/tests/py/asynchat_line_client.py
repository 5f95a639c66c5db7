"""A CPython 3.11 asynchat client for the line/block echo protocol.

usage: python3 -W ignore asynchat_line_client.py HOST PORT

Protocol (both directions, terminator CRLF):
  * a line ``text\\r\\n`` is echoed as ``text\\r\\n``;
  * ``LEN n\\r\\n`` followed by n bytes is echoed as ``BLOCK n\\r\\n`` + the n bytes.

Pushes every message at once (before the connect completes), checks every
byte that comes back, prints ``ok lines=L blocks=B sent=S received=R`` and
exits 0 once all echoes arrived; on a mismatch prints ``FAIL ...`` and exits 1.
Gives up after 20 s.
"""
import asynchat
import asyncore
import random
import signal
import socket
import sys


LETTERS = bytes(97 + i % 26 for i in range(256))


def messages(seed=12345):
    """600 lines of 0..3999 lowercase letters and 15 binary blocks of
    1..131072 bytes (plus CRLF and "LEN "/"BLOCK " look-alikes), interleaved:
    well over 1 MiB."""
    rng = random.Random(seed)
    out = []
    for i in range(600):
        out.append(("line", rng.randbytes(rng.randrange(4000)).translate(LETTERS)))
        if i % 40 == 39:
            block = rng.randbytes(1 + rng.randrange(131072))
            out.append(("block", block + b"\r\nLEN 5\r\nBLOCK 3\r\n"))
    return out


def fail(msg):
    print("FAIL", msg, flush=True)
    sys.exit(1)


class Client(asynchat.async_chat):
    def __init__(self, host, port, msgs):
        asynchat.async_chat.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect((host, port))
        self.set_terminator(b"\r\n")
        self.expected = msgs
        self.idx = 0
        self.parts = []
        self.block = None
        self.sent = 0
        self.received = 0
        self.done = False
        for kind, data in msgs:
            if kind == "line":
                out = data + b"\r\n"
            else:
                out = b"LEN %d\r\n" % len(data) + data
            self.sent += len(out)
            self.push(out)

    def handle_connect(self):
        pass

    def collect_incoming_data(self, data):
        self.received += len(data)
        self.parts.append(data)

    def found_terminator(self):
        data = b"".join(self.parts)
        self.parts = []
        if self.idx >= len(self.expected):
            fail("unexpected extra record %r" % data[:50])
        kind, exp = self.expected[self.idx]
        if self.block is None:
            self.received += 2  # the CRLF, never delivered
        if self.block is not None:
            if kind != "block" or data != exp:
                fail("block %d differs (got %d bytes)" % (self.idx, len(data)))
            self.block = None
            self.idx += 1
            self.set_terminator(b"\r\n")
        elif data.startswith(b"BLOCK "):
            n = int(data[6:])
            if kind != "block" or n != len(exp):
                fail("record %d: unexpected %r" % (self.idx, data))
            self.block = n
            self.set_terminator(n)
        else:
            if kind != "line" or data != exp:
                fail("line %d differs: %r..." % (self.idx, data[:40]))
            self.idx += 1
        if self.idx == len(self.expected):
            self.done = True
            self.close()

    def handle_close(self):
        self.close()
        if not self.done:
            fail("server closed after %d of %d records" % (self.idx, len(self.expected)))


def main():
    signal.alarm(20)
    host, port = sys.argv[1], int(sys.argv[2])
    msgs = messages()
    client = Client(host, port, msgs)
    asyncore.loop(timeout=1.0)
    if not client.done:
        fail("loop ended after %d of %d records" % (client.idx, len(msgs)))
    lines = sum(1 for k, _ in msgs if k == "line")
    print(
        "ok lines=%d blocks=%d sent=%d received=%d"
        % (lines, len(msgs) - lines, client.sent, client.received),
        flush=True,
    )


if __name__ == "__main__":
    main()
