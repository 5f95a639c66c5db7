"""A STARTTLS server (CPython's ssl module) for the client-side tests.

usage: tls_server.py MODE CERT KEY
Prints "port N", serves one connection, then prints what it saw:
  starttls         STARTTLS -> "220 go", TLS, NOOP -> "250 secure", close_notify
  starttls_inject  STARTTLS -> "220 go" and "250 injected" in one segment;
                   then reports whether the client closed or sent a ClientHello
Every socket wait is bounded.
"""
import socket
import ssl
import sys

mode, cert, key = sys.argv[1], sys.argv[2], sys.argv[3]
listener = socket.create_server(("127.0.0.1", 0))
print("port %d" % listener.getsockname()[1], flush=True)
listener.settimeout(20)
conn, _ = listener.accept()
conn.settimeout(20)
f = conn.makefile("rb")
command = f.readline()
if mode == "starttls":
    conn.sendall(b"220 go\r\n")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    s = ctx.wrap_socket(conn, server_side=True)
    line = s.recv(1024)
    s.sendall(b"250 secure\r\n")
    try:
        s.unwrap()
    except (OSError, ssl.SSLError):
        pass
    print("%r %r" % (command, line), flush=True)
elif mode == "starttls_inject":
    conn.sendall(b"220 go\r\n250 injected\r\n")
    first = conn.recv(1024)
    print("%r %s" % (command, "closed" if not first else "sent %d bytes" % len(first)), flush=True)
else:
    sys.exit("unknown mode " + mode)
