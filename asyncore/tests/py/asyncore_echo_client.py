"""A CPython 3.11 asyncore client: sends N pseudo-random bytes to an echo
server and checks that exactly the same bytes come back.

usage: python3 -W ignore asyncore_echo_client.py HOST PORT NBYTES
Exits 0 on success; prints the reason and exits 1 otherwise. Gives up after 20 s.
"""
import asyncore
import random
import signal
import socket
import sys


class EchoClient(asyncore.dispatcher):
    def __init__(self, host, port, data):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect((host, port))
        self.out = memoryview(data)
        self.expected = data
        self.got = bytearray()

    def handle_connect(self):
        pass

    def writable(self):
        return len(self.out) > 0

    def handle_write(self):
        sent = self.send(self.out[:65536])
        self.out = self.out[sent:]

    def handle_read(self):
        self.got += self.recv(65536)
        if len(self.got) >= len(self.expected):
            self.close()

    def handle_close(self):
        self.close()


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    signal.alarm(20)
    data = random.Random(1234).randbytes(n)
    c = EchoClient(host, port, data)
    asyncore.loop(timeout=1.0)
    if bytes(c.got) != data:
        print(f"mismatch: got {len(c.got)} bytes, expected {n}")
        sys.exit(1)
    print(f"ok {n}")


main()
