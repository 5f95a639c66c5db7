"""A TLS client (CPython's ssl module) driving the library's TLS tests.

usage: tls_client.py MODE PORT CAFILE
Prints lines the test reads: "connected" once the TCP (or TLS) connection
is up, then a result line ("ok ...", or what the mode reports).
Every mode ends by itself; socket waits are bounded.
"""
import os
import select
import socket
import ssl
import sys
import time

mode, port, cafile = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def out(line):
    print(line, flush=True)


def context():
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def tls():
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    return context().wrap_socket(raw, server_hostname="localhost")


def recv_exactly(s, n):
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(min(65536, n - len(got)))
        if not chunk:
            break
        got += chunk
    return bytes(got)


if mode in ("echo12", "echo13"):
    ctx = context()
    v = ssl.TLSVersion.TLSv1_2 if mode == "echo12" else ssl.TLSVersion.TLSv1_3
    ctx.minimum_version = ctx.maximum_version = v
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                        server_hostname="localhost")
    out("connected %s %s" % (s.version(), s.cipher()[0]))
    data = b"hello over tls\n" * 1000
    s.sendall(data)
    back = recv_exactly(s, len(data))
    s.unwrap()  # close_notify both ways
    out("ok" if back == data else "mismatch %d" % len(back))
elif mode == "big16k":
    s = tls()
    out("connected")
    s.sendall(b"x" * 16384)  # one record
    reply = recv_exactly(s, 2)
    out("ok" if reply == b"ok" else "bad reply %r" % reply)
    s.close()
elif mode == "truncate":
    s = tls()
    out("connected")
    s.sendall(b"partial body")
    time.sleep(0.2)
    # End the TCP stream without close_notify.
    socket.socket(fileno=os.dup(s.fileno())).shutdown(socket.SHUT_RDWR)
    out("ok")
    time.sleep(0.5)
elif mode == "clean":
    s = tls()
    out("connected")
    s.sendall(b"whole body")
    time.sleep(0.2)
    try:
        s.unwrap()
    except (OSError, ssl.SSLError):
        pass  # the server may close right after its own close_notify
    out("ok")
elif mode == "silent":
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    out("connected")
    time.sleep(float(os.environ.get("HOLD", "4")))
elif mode == "half_hello":
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context().wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(hello[: len(hello) // 2])
    out("connected")
    time.sleep(float(os.environ.get("HOLD", "4")))
elif mode == "stream":
    s = tls()
    out("connected")
    while True:  # until the test kills us
        s.sendall(b"y" * 4096)
elif mode == "reset":
    s = tls()
    out("connected")
    s.sendall(b"z" * (4 << 20))  # the echo's output backs up: we never read
    time.sleep(0.3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    socket.socket(fileno=os.dup(s.fileno())).close()
    s.close()
    out("ok")
    time.sleep(0.5)
elif mode == "full8m":
    # One thread sends and receives at once over a non-blocking socket: an
    # SSL object must not be used from two threads (OpenSSL's rule; a reader
    # thread beside sendall saw spurious end-of-stream now and then).
    s = tls()
    out("connected")
    s.setblocking(False)
    n = 8 << 20
    data = bytes(range(256)) * (n // 256)
    sent, back, eof = 0, bytearray(), False
    deadline = time.monotonic() + 60
    while len(back) < n and not eof and time.monotonic() < deadline:
        select.select([s], [s] if sent < n else [], [], 0.5)
        if sent < n:
            try:
                sent += s.send(data[sent:sent + 65536])
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
        while True:  # what is decrypted already is invisible to select()
            try:
                chunk = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            if not chunk:
                eof = True
                break
            back += chunk
    if back == data:
        out("ok")
    else:
        first = next((i for i, (a, b) in enumerate(zip(back, data)) if a != b), None)
        out("mismatch: sent %d, %d bytes back, first difference at %s, eof %s"
            % (sent, len(back), first, eof))
    s.close()
elif mode == "garbage":
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    out("connected")
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    got = s.recv(1024)  # an alert, then EOF; or EOF at once
    while got:
        got = s.recv(1024)
    out("ok")
elif mode == "server_closes":
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    s = context().wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    out("connected")
    s.sendall(b"bye")
    got = b""
    try:
        while True:
            chunk = s.recv(1024)
            if not chunk:
                break
            got += chunk
        out("clean %s" % got.decode())
    except ssl.SSLEOFError:
        out("ragged %s" % got.decode())
elif mode == "slow_reader":
    # A small receive buffer and a late start: the server's output backs up
    # inside its TLS session, and it closes before the socket took it all.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(20)
    raw.connect(("127.0.0.1", port))
    s = context().wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
    out("connected")
    # CHATTY: bytes the server never reads before its close (left unread,
    # they would turn the final close into a reset).
    s.sendall(b"go" + b"j" * int(os.environ.get("CHATTY", "0")))
    time.sleep(float(os.environ.get("HOLD", "1")))
    got, clean = 0, False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                clean = True
                break
            got += len(chunk)
    except (ssl.SSLEOFError, ConnectionResetError):
        pass
    out("%s %d" % ("clean" if clean else "ragged", got))
elif mode == "paused":
    s = tls()
    out("connected")
    s.sendall(b"p" * 16384)
    reply = recv_exactly(s, 2)
    out("ok" if reply == b"ok" else "bad reply %r" % reply)
    s.close()
elif mode == "starttls":
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    out("connected")
    raw.sendall(b"NOOP\r\nSTARTTLS\r\n")
    f = raw.makefile("rb")
    first, second = f.readline(), f.readline()
    s = context().wrap_socket(raw, server_hostname="localhost")
    s.sendall(b"NOOP\r\n")
    third = s.recv(1024)
    s.unwrap()
    out("%r %r %r" % (first, second, third))
elif mode == "starttls_inject":
    raw = socket.create_connection(("127.0.0.1", port), timeout=20)
    out("connected")
    raw.sendall(b"STARTTLS\r\nRSET\r\n")  # one segment
    got = b""
    while True:
        chunk = raw.recv(1024)
        if not chunk:
            break
        got += chunk
    out("%r" % got)
else:
    sys.exit("unknown mode " + mode)
