"""A CPython 3.11 asyncore echo server (the docs' example, AC-EX-2).

usage: python3 -W ignore asyncore_echo_server.py
Prints "port N" once listening on 127.0.0.1, serves one client, and exits
when that client's connection closes. Gives up after 20 s.
"""
import asyncore
import signal
import socket
import sys


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)

    def handle_close(self):
        self.close()
        raise asyncore.ExitNow()


class EchoServer(asyncore.dispatcher):
    def __init__(self):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock)


signal.alarm(20)
server = EchoServer()
print("port", server.socket.getsockname()[1], flush=True)
try:
    asyncore.loop(timeout=1.0)
except asyncore.ExitNow:
    pass
sys.exit(0)
