"""CPython asyncore echo server (the documentation's EchoHandler on
dispatcher_with_send), one thread, poll() loop.

    python3 py_asyncore_echo.py HOST:PORT    prints "listening on HOST:PORT"
"""
import resource
import signal
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402  (CPython <= 3.11)


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self, host, port):
        asyncore.dispatcher.__init__(self)
        self.create_socket()
        self.set_reuse_addr()
        self.bind((host, port))
        self.listen(4096)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock)


def main():
    host, _, port = sys.argv[1].rpartition(":")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = EchoServer(host, int(port))
    print("listening on %s:%d" % server.socket.getsockname()[:2], flush=True)
    try:
        asyncore.loop(timeout=30, use_poll=True)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
