"""The HTTP client from asyncore's documentation (the seed's example), on
Python 3: `print` is a function and the buffer is bytes; the host and port
come from the command line instead of www.python.org:80.

    python http_client.py HOST PORT PATH
"""
import socket
import sys

import asyncore


class http_client(asyncore.dispatcher):
    def __init__(self, host, path):
        asyncore.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect( (host, port) )
        self.buffer = b'GET %s HTTP/1.0\r\n\r\n' % path.encode()
    def handle_connect(self):
        pass
    def handle_close(self):
        self.close()
    def handle_read(self):
        print(self.recv(8192))
    def writable(self):
        return (len(self.buffer) > 0)
    def handle_write(self):
        sent = self.send(self.buffer)
        self.buffer = self.buffer[sent:]


host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = http_client(host, path)
asyncore.loop()
