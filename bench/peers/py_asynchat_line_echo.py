"""CPython asynchat line echo: each CRLF-terminated line comes back with
CRLF. One thread, poll() loop.

    python3 py_asynchat_line_echo.py HOST:PORT    prints "listening on HOST:PORT"
"""
import resource
import signal
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asynchat  # noqa: E402  (CPython <= 3.11)
import asyncore  # noqa: E402


class LineEcho(asynchat.async_chat):
    def __init__(self, sock):
        asynchat.async_chat.__init__(self, sock)
        self.set_terminator(b"\r\n")
        self.buffer = []

    def collect_incoming_data(self, data):
        self.buffer.append(data)

    def found_terminator(self):
        line = b"".join(self.buffer)
        self.buffer = []
        self.push(line + b"\r\n")


class Server(asyncore.dispatcher):
    def __init__(self, host, port):
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.set_reuse_addr()
        self.bind((host, port))
        self.listen(4096)

    def handle_accepted(self, sock, addr):
        LineEcho(sock)


def main():
    host, _, port = sys.argv[1].rpartition(":")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(host, int(port))
    print("listening on %s:%d" % server.socket.getsockname()[:2], flush=True)
    try:
        asyncore.loop(timeout=30, use_poll=True)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
