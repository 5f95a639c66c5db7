"""Several chat clients at once against `asyncore chat` (used by cli/tests/chat.rs).

usage: chat_clients.py HOST PORT CLIENTS LINES

Each client picks a nickname, then all say LINES lines each (bare LF line
endings, as nc sends). Every client must receive every other client's lines,
in each sender's order, and none of its own. Prints "ok N" (lines checked)
and exits 0, or prints what went wrong and exits 1. Every socket operation
has a timeout; the whole run has a deadline.
"""

import socket
import sys
import threading
import time

DEADLINE = time.monotonic() + 30


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


class Client:
    def __init__(self, host, port, nick):
        self.nick = nick
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode() + b"\n")

    def line(self):
        while b"\n" not in self.buf:
            if time.monotonic() > DEADLINE:
                fail(f"{self.nick}: deadline passed waiting for a line")
            data = self.sock.recv(65536)
            if not data:
                fail(f"{self.nick}: connection closed early")
            self.buf += data
        raw, self.buf = self.buf.split(b"\n", 1)
        if not raw.endswith(b"\r"):
            fail(f"{self.nick}: server line without CRLF: {raw!r}")
        return raw[:-1].decode()

    def until(self, prefix):
        while True:
            text = self.line()
            if text.startswith(prefix):
                return text


def main():
    host, port, n, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    clients = []
    for i in range(n):
        c = Client(host, port, f"py{i}")
        c.until("* your nickname?")
        c.send(c.nick)
        c.until(f"* hello {c.nick};")
        clients.append(c)
    # Everyone has joined once the last join reached the first client.
    clients[0].until(f"* py{n - 1} joined")
    for c in clients[1:]:
        c.send("/who")
        who = c.until("* ")
        while not who.startswith(f"* {n} here"):
            who = c.until("* ")
    errors = []

    def speak(c):
        try:
            for k in range(lines):
                c.send(f"line {k} from {c.nick}")
        except OSError as e:
            errors.append(f"{c.nick}: {e}")

    def listen(c):
        try:
            nxt = {o.nick: 0 for o in clients if o is not c}
            while any(v < lines for v in nxt.values()):
                text = c.line()
                if not text.startswith("<"):
                    continue
                who, rest = text[1:].split("> ", 1)
                if who == c.nick:
                    errors.append(f"{c.nick} got its own line back")
                    return
                want = f"line {nxt[who]} from {who}"
                if rest != want:
                    errors.append(f"{c.nick}: expected {want!r}, got {rest!r}")
                    return
                nxt[who] += 1
        except SystemExit:
            errors.append(f"{c.nick}: gave up")

    threads = [threading.Thread(target=listen, args=(c,)) for c in clients]
    threads += [threading.Thread(target=speak, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, DEADLINE - time.monotonic()))
        if t.is_alive():
            fail("a client thread did not finish before the deadline")
    if errors:
        fail("; ".join(errors))
    for c in clients:
        c.send("/quit")
        c.until("* goodbye")
        c.sock.close()
    print("ok", n * (n - 1) * lines, flush=True)


if __name__ == "__main__":
    main()
