"""A small HTTP server for `asyncore get`'s tests: the same file, framed in
different ways, and some broken responses.

    python3 -u chunked_server.py DIR [--bind ADDR]

Prints "Serving HTTP on ADDR port N" once listening (port 0: any free
port). Paths (NAME is a file in DIR):

    /chunked/NAME           HTTP/1.1, Transfer-Encoding: chunked, random chunk
                            sizes, chunk extensions, trailers
    /close/NAME             HTTP/1.0, no Content-Length: the close ends the body
    /length/NAME            HTTP/1.1 with Content-Length
    /interim/NAME           100 Continue and 103 Early Hints, then /length
    /truncated/NAME         Content-Length of the whole file, half of it sent
    /truncated-chunked/NAME chunked, closed in the middle of a chunk
    /badchunk               a chunk size that is not hexadecimal
    /missing                404 with a body
"""

import argparse
import os
import random
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    directory = "."

    def log_message(self, format, *args):
        pass

    def raw(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def body_of(self, name):
        path = os.path.join(self.directory, os.path.basename(name))
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def do_GET(self):
        self.close_connection = True
        parts = self.path.split("/", 2)
        mode = parts[1] if len(parts) > 1 else ""
        body = self.body_of(parts[2]) if len(parts) > 2 else None
        if mode == "badchunk":
            self.raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\nzz\r\nbroken\r\n0\r\n\r\n")
            return
        if body is None:
            text = b"not found\n"
            self.raw(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(text), text))
            return
        if mode == "chunked":
            self.chunked(body, len(body))
        elif mode == "truncated-chunked":
            self.chunked(body, len(body) // 2)
        elif mode == "close":
            self.raw(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            self.pieces(body)
        elif mode in ("length", "interim", "truncated"):
            if mode == "interim":
                self.raw(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.raw(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n")
            self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
            self.pieces(body if mode != "truncated" else body[: len(body) // 2])
        else:
            self.raw(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def pieces(self, data):
        """Sends `data` in writes of random sizes."""
        rng = random.Random()
        i = 0
        while i < len(data):
            n = rng.choice([1, 7, 100, 1000, 4096, 65536, 200000])
            self.wfile.write(data[i : i + n])
            i += n
        self.wfile.flush()

    def chunked(self, data, stop_at):
        """Chunked coding with random sizes; stops (mid-chunk) at `stop_at`
        bytes when that is before the end."""
        rng = random.Random()
        self.raw(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Transfer-Encoding: chunked\r\nTrailer: X-Body-Length\r\n\r\n")
        i = 0
        while i < len(data):
            n = min(len(data) - i, rng.choice([1, 2, 15, 16, 255, 4096, 10000, 70000]))
            size = ("%x" if rng.random() < 0.5 else "%X") % n
            ext = rng.choice(["", ";a=b", ' ; name="quoted;value"', ";x"])
            self.wfile.write(("%s%s\r\n" % (size, ext)).encode("ascii"))
            if i + n > stop_at:
                self.wfile.write(data[i : stop_at])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                return
            self.wfile.write(data[i : i + n])
            self.wfile.write(b"\r\n")
            i += n
        self.raw(b"0;done\r\nX-Body-Length: %d\r\n\r\n" % len(data))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    Handler.directory = args.directory
    ThreadingHTTPServer.daemon_threads = True
    if ":" in args.bind:
        ThreadingHTTPServer.address_family = socket.AF_INET6
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    print("Serving HTTP on %s port %d" % (args.bind, server.server_address[1]), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
