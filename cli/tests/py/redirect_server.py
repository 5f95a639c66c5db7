"""An HTTP server (http.server) for `asyncore get`'s redirect, header,
HEAD, --max-time and broken-pipe tests.

    python3 -u redirect_server.py

Prints "Serving HTTP on 127.0.0.1 port N" once listening on a free port.
Every answer carries X-Method (the request's method). Paths:

    /file.txt           200, "the target\n"
    /headers            200, the request's header lines as the body
    /a/b/relative       302, Location: ../../file.txt       (relative)
    /absolute           301, Location: http://127.0.0.1:N/file.txt
    /other-host         302, Location: http://localhost:N/headers
    /chain/K            307 to /chain/K-1; /chain/0 is 303 to /file.txt
    /loop               308, Location: /loop                 (forever)
    /to-https           302, Location: https://127.0.0.1:N/file.txt
    /no-location        302 without Location, body "no location\n"
    /trickle            200, Content-Length 100, one byte a second
    /big                200, 16 MiB
"""

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = bytes(range(256)) * (16 * 4096)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def answer(self, status, body=b"", headers=()):
        self.send_response(status)
        self.send_header("X-Method", self.command)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def redirect(self, status, location):
        self.answer(status, b"moved\n", [("Location", location)])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.close_connection = True
        port = self.server.server_address[1]
        path = self.path.split("?")[0]
        if path == "/file.txt":
            self.answer(200, b"the target\n")
        elif path == "/headers":
            self.answer(200, str(self.headers).encode("latin-1"))
        elif path == "/a/b/relative":
            self.redirect(302, "../../file.txt")
        elif path == "/absolute":
            self.redirect(301, "http://127.0.0.1:%d/file.txt" % port)
        elif path == "/other-host":
            self.redirect(302, "http://localhost:%d/headers" % port)
        elif path.startswith("/chain/"):
            left = int(path[len("/chain/"):])
            if left > 0:
                self.redirect(307, "/chain/%d" % (left - 1))
            else:
                self.redirect(303, "/file.txt")
        elif path == "/loop":
            self.redirect(308, "/loop")
        elif path == "/to-https":
            self.redirect(302, "https://127.0.0.1:%d/file.txt" % port)
        elif path == "/no-location":
            self.answer(302, b"no location\n")
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
        elif path == "/big":
            try:
                self.answer(200, BIG)
            except OSError:
                pass
        else:
            self.answer(404, b"not found\n")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print("Serving HTTP on 127.0.0.1 port %d" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
