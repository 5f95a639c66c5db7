"""A CPython 3.11 asynchat server for the line/block echo protocol.

usage: python3 -W ignore asynchat_line_server.py
Prints "port N" once listening on 127.0.0.1, serves one client, and exits
when that client's connection closes, after printing
"served lines=L blocks=B received=R sent=S". Gives up after 20 s.

Protocol (terminator CRLF): a line is echoed with CRLF; "LEN n" switches to
a count terminator of n bytes, and the block is echoed as "BLOCK n\\r\\n" +
the n bytes; then back to CRLF.
"""
import asynchat
import asyncore
import signal
import socket
import sys


class Handler(asynchat.async_chat):
    def __init__(self, sock, stats):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator(b"\r\n")
        self.parts = []
        self.block = None
        self.stats = stats

    def collect_incoming_data(self, data):
        self.stats["received"] += len(data)
        self.parts.append(data)

    def found_terminator(self):
        data = b"".join(self.parts)
        self.parts = []
        if self.block is not None:
            out = b"BLOCK %d\r\n" % self.block + data
            self.block = None
            self.stats["blocks"] += 1
            self.set_terminator(b"\r\n")
        else:
            self.stats["received"] += 2
            if data.startswith(b"LEN "):
                n = int(data[4:])
                if n > 0:
                    self.block = n
                    self.set_terminator(n)
                    return
                out = b"BLOCK 0\r\n"
                self.stats["blocks"] += 1
            else:
                out = data + b"\r\n"
                self.stats["lines"] += 1
        self.stats["sent"] += len(out)
        self.push(out)

    def handle_close(self):
        self.close()
        raise asyncore.ExitNow()


class Server(asyncore.dispatcher):
    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)
        self.stats = {"lines": 0, "blocks": 0, "received": 0, "sent": 0}

    def handle_accepted(self, sock, addr):
        Handler(sock, self.stats)


signal.alarm(20)
server = Server()
print("port", server.socket.getsockname()[1], flush=True)
try:
    asyncore.loop(timeout=1.0)
except asyncore.ExitNow:
    pass
s = server.stats
print(
    "served lines=%d blocks=%d received=%d sent=%d"
    % (s["lines"], s["blocks"], s["received"], s["sent"]),
    flush=True,
)
sys.exit(0)
