"""What this package adds to asyncore/asynchat, and what it must keep:
the epoll mode, the fixes listed in the README, the GIL released during the
wait, Ctrl-C, the seed's HTTP client, interop with this project's Rust
examples. Every socket binds 127.0.0.1 port 0; every loop is bounded.

    python -m unittest test_engine        (from python/tests)

The interop tests need ASYNCORE_EXAMPLES=<dir with the built examples
echo_server and http_client>; they are skipped without it.
"""
import ast
import errno
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from fractions import Fraction

import asynchat
import asyncore

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.environ.get("ASYNCORE_EXAMPLES")
# CPython 3.11's smtpd.py (pure Python on asyncore/asynchat), for a real
# application on the package; ci.sh gives its path.
LEGACY_SMTPD = os.environ.get("ASYNCORE_LEGACY_SMTPD")


def run_until(pred, map, use_poll=True, use_epoll=False, limit=10.0):
    """Run passes until pred() holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        asyncore.loop(timeout=0.05, use_poll=use_poll, map=map, count=1, use_epoll=use_epoll)


# For a test's child process: this module's echo server, importable there.
ECHO_PRELUDE = (
    "import sys\n"
    f"sys.path.insert(0, {HERE!r})\n"
    "from test_engine import EchoServer\n"
)


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.send(data)

    def handle_close(self):
        self.close()


class EchoServer(asyncore.dispatcher):
    def __init__(self, map):
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(64)
        self.port = self.socket.getsockname()[1]

    def handle_accepted(self, sock, addr):
        EchoHandler(sock, map=self._map)


class Client(asyncore.dispatcher_with_send):
    def __init__(self, port, payload, map):
        asyncore.dispatcher_with_send.__init__(self, map=map)
        self.expected = len(payload)
        self.got = b""
        self.closed = False
        self.create_socket()
        self.connect(("127.0.0.1", port))
        self.send(payload)

    def handle_connect(self):
        pass

    def handle_read(self):
        self.got += self.recv(65536)
        if len(self.got) >= self.expected:
            self.close()
            self.closed = True

    def handle_close(self):
        self.close()
        self.closed = True


class EpollMode(unittest.TestCase):
    def test_echo_many_clients_bytes_checked(self):
        m = {}
        server = EchoServer(m)
        payloads = [bytes([i]) * (1000 + 5000 * i) for i in range(20)]
        clients = [Client(server.port, p, m) for p in payloads]
        run_until(lambda: all(c.closed for c in clients), m, use_epoll=True)
        for c, p in zip(clients, payloads):
            self.assertEqual(c.got, p)
        server.close()
        asyncore.close_all(m)

    def test_untouched_interest_change_waits_for_touch(self):
        # A channel whose writable() depends on a flag set from outside is
        # asked again only once touched (the documented rule).
        m = {}
        a, b = socket.socketpair()
        self.addCleanup(b.close)

        class Gated(asyncore.dispatcher):
            go = False
            writes = 0

            def readable(self):
                return False

            def writable(self):
                return self.go

            def handle_write(self):
                self.writes += 1
                self.go = False

        g = Gated(a, map=m)
        asyncore.loop(timeout=0.01, map=m, count=2, use_epoll=True)
        g.go = True
        asyncore.loop(timeout=0.01, map=m, count=2, use_epoll=True)
        self.assertEqual(g.writes, 0, "asked without being touched")
        g.touch()
        asyncore.loop(timeout=0.01, map=m, count=2, use_epoll=True)
        self.assertEqual(g.writes, 1)
        asyncore.close_all(m)

    def test_push_from_another_channel_is_seen(self):
        # async_chat.push touches its channel, so a broadcast from another
        # channel's handler goes out without an explicit touch.
        m = {}
        a1, b1 = socket.socketpair()
        a2, b2 = socket.socketpair()
        self.addCleanup(b1.close)
        self.addCleanup(b2.close)

        class Relay(asynchat.async_chat):
            peer = None

            def collect_incoming_data(self, data):
                self.peer.push(data)

            def found_terminator(self):
                pass

        r1, r2 = Relay(a1, map=m), Relay(a2, map=m)
        r1.set_terminator(None)
        r2.set_terminator(None)
        r1.peer, r2.peer = r2, r1
        asyncore.loop(timeout=0.01, map=m, count=2, use_epoll=True)
        b1.sendall(b"hello")
        b2.settimeout(5)
        got = b""

        def have_all():
            nonlocal got
            try:
                b2.setblocking(False)
                got += b2.recv(100)
            except BlockingIOError:
                pass
            return got == b"hello"

        run_until(have_all, m, use_epoll=True)
        asyncore.close_all(m)

    def test_entries_put_in_the_dict_directly_are_seen(self):
        # Duck-typed entries inserted without add_channel: the map's size
        # changed, so the pass re-reads the whole map.
        m = {}
        a, b = socket.socketpair()
        self.addCleanup(b.close)
        self.addCleanup(a.close)
        a.setblocking(False)
        seen = []

        class Duck:
            accepting = False

            def readable(self):
                return True

            def writable(self):
                return False

            def handle_read_event(self):
                seen.append(a.recv(10))

            def handle_close(self):
                del m[a.fileno()]

        m[a.fileno()] = Duck()
        b.sendall(b"quack")
        run_until(lambda: seen, m, use_epoll=True)
        self.assertEqual(seen, [b"quack"])

    def test_descriptor_numbers_reused_after_close(self):
        m = {}
        server = EchoServer(m)
        for round_ in range(5):
            c = Client(server.port, b"x" * (round_ + 1), m)
            run_until(lambda: c.closed, m, use_epoll=True)
            self.assertEqual(c.got, b"x" * (round_ + 1))
        server.close()
        asyncore.close_all(m)


class EpollModeAfterFork(unittest.TestCase):
    # A prefork server: the parent runs epoll passes (a warm-up connection),
    # then two children serve the same listener in epoll mode. Each child
    # must have its own epoll instance: sharing the parent's (the kernel's
    # object, inherited by fork) mixed their descriptors up, and clients
    # lost their connections (BlockingIOError in a handler, then a close).
    CODE = ECHO_PRELUDE + (
        "import asyncore, os, socket, threading, time\n"
        "m = {}\n"
        "srv = EchoServer(m)\n"
        "addr = ('127.0.0.1', srv.port)\n"
        "c = socket.create_connection(addr)\n"
        "c.sendall(b'hi')\n"
        "c.setblocking(False)\n"
        "got, end = b'', time.time() + 5\n"
        "while not got and time.time() < end:\n"
        "    asyncore.loop(timeout=0.02, map=m, count=1, use_epoll=True)\n"
        "    try:\n"
        "        got = c.recv(10)\n"
        "    except BlockingIOError:\n"
        "        pass\n"
        "c.close()\n"
        "asyncore.loop(timeout=0.02, map=m, count=3, use_epoll=True)\n"
        "kids = []\n"
        "for i in range(2):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        end = time.time() + 2\n"
        "        while time.time() < end:\n"
        "            asyncore.loop(timeout=0.05, map=m, count=1, use_epoll=True)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "srv.close()\n"
        "failed = []\n"
        "def client(i):\n"
        "    try:\n"
        "        s = socket.create_connection(addr, timeout=3)\n"
        "        for k in range(20):\n"
        "            msg = b'%d-%d;' % (i, k)\n"
        "            s.sendall(msg)\n"
        "            buf = b''\n"
        "            while len(buf) < len(msg):\n"
        "                d = s.recv(100)\n"
        "                if not d:\n"
        "                    raise EOFError('closed')\n"
        "                buf += d\n"
        "            assert buf == msg, (buf, msg)\n"
        "        s.close()\n"
        "    except Exception as e:\n"
        "        failed.append((i, repr(e)))\n"
        "ts = [threading.Thread(target=client, args=(i,)) for i in range(10)]\n"
        "[t.start() for t in ts]\n"
        "[t.join() for t in ts]\n"
        "for p in kids:\n"
        "    os.waitpid(p, 0)\n"
        "print(failed)\n"
    )

    def test_children_serve_on_their_own_epoll(self):
        p = subprocess.run([sys.executable, "-c", self.CODE], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-1000:])
        self.assertEqual(p.stdout.strip(), "[]", p.stderr[-1000:])


class Fixes(unittest.TestCase):
    def test_poll_hangup_after_eof_closes_once(self):
        # CPython: recv() sees EOF and calls handle_close, then POLLHUP in
        # the same report calls it again. Here: once.
        m = {}
        a, b = socket.socketpair()
        closes = []

        class Reader(asyncore.dispatcher):
            def writable(self):
                return False

            def handle_read(self):
                self.recv(100)

            def handle_close(self):
                closes.append(1)
                self.close()

        Reader(a, map=m)
        b.close()
        asyncore.loop(timeout=1, use_poll=True, map=m, count=2)
        self.assertEqual(closes, [1])

    def test_empty_udp_datagram_is_data(self):
        m = {}
        got = []

        class Udp(asyncore.dispatcher):
            def writable(self):
                return False

            def handle_read(self):
                got.append(self.recv(100))

        u = Udp(map=m)
        u.create_socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.sendto(b"", u.socket.getsockname())
        s.sendto(b"after", u.socket.getsockname())
        run_until(lambda: len(got) == 2, m)
        self.assertEqual(got, [b"", b"after"])
        self.assertIn(u._fileno, m)
        u.close()


    def test_emfile_keeps_the_listener(self):
        # A server limited to 40 descriptors, holding every connection it
        # accepts, meets 60 clients: it drops the ones it cannot take (they
        # see their connection end) and its listener stays open (CPython's
        # default handle_error closed it). In every wait mode.
        for use_poll, use_epoll in ((False, False), (True, False), (True, True)):
            with self.subTest(use_poll=use_poll, use_epoll=use_epoll):
                self.emfile_keeps_the_listener(use_poll, use_epoll)

    def emfile_keeps_the_listener(self, use_poll, use_epoll):
        code = (
            "import asyncore, resource, socket, sys, time\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))\n"
            "held = []\n"
            "class S(asyncore.dispatcher):\n"
            "    def handle_accepted(self, sock, addr):\n"
            "        held.append(sock)\n"
            "s = S()\n"
            "s.create_socket()\n"
            "s.bind(('127.0.0.1', 0))\n"
            "s.listen(128)\n"
            "print(s.socket.getsockname()[1], flush=True)\n"
            "sys.stdin.readline()\n"
            "asyncore.loop(timeout=0.05, use_poll=%r, use_epoll=%r, count=100)\n"
            "print(len(held), s._fileno in asyncore.socket_map, s.accepting, flush=True)\n"
            "sys.stdin.readline()\n"
        ) % (use_poll, use_epoll)
        p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        clients = []
        try:
            port = int(p.stdout.readline())
            for _ in range(60):
                clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            p.stdin.write("go\n")
            p.stdin.flush()
            held, listed, accepting = p.stdout.readline().split()
            # The server still runs (and holds its connections): a client
            # that can read now had its connection ended by the server.
            ended, _, _ = select.select(clients, [], [], 2.0)
            for c in ended:
                try:
                    self.assertEqual(c.recv(1), b"")
                except ConnectionResetError:
                    pass
            p.stdin.write("done\n")
            p.stdin.flush()
            p.communicate(timeout=30)
        finally:
            p.kill()
            p.wait()
            for c in clients:
                c.close()
        self.assertGreater(int(held), 20, "it served up to its limit")
        self.assertEqual(len(ended), 60 - int(held), "the others were dropped")
        self.assertEqual((listed, accepting), ("True", "True"))


class WaitReleasesTheGil(unittest.TestCase):
    def test_other_threads_run_while_the_loop_waits(self):
        m = {}
        a, b = socket.socketpair()
        self.addCleanup(b.close)

        class Idle(asyncore.dispatcher):
            def writable(self):
                return False

        Idle(a, map=m)
        ticks = [0]
        stop = threading.Event()

        def spin():
            while not stop.is_set():
                ticks[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        try:
            for use_poll, use_epoll in ((False, False), (True, False), (True, True)):
                before = ticks[0]
                asyncore.loop(timeout=0.3, use_poll=use_poll, map=m, count=1, use_epoll=use_epoll)
                self.assertGreater(ticks[0] - before, 0)
        finally:
            stop.set()
            t.join()
        # The counter alone cannot tell: the spinner also runs once the wait
        # has returned. A thread that wakes 0.1 s into a 0.5 s wait notes the
        # time as soon as it holds the GIL again; with the GIL kept through
        # the wait, that is only after the wait.
        for use_poll, use_epoll in ((False, False), (True, False), (True, True)):
            stamp = []
            t = threading.Thread(target=lambda: (time.sleep(0.1), stamp.append(time.monotonic())))
            t.start()
            asyncore.loop(timeout=0.5, use_poll=use_poll, map=m, count=1, use_epoll=use_epoll)
            ended = time.monotonic()
            t.join()
            self.assertLess(stamp[0], ended - 0.2, (use_poll, use_epoll))
        asyncore.close_all(m)

    def test_ctrl_c_interrupts_the_wait(self):
        for mode in ("select", "poll", "epoll"):
            code = (
                "import asyncore, socket, sys\n"
                "a, b = socket.socketpair()\n"
                "class Idle(asyncore.dispatcher):\n"
                "    def writable(self): return False\n"
                "Idle(a)\n"
                "print('ready', flush=True)\n"
                "try:\n"
                "    asyncore.loop(timeout=30, use_poll=%r, use_epoll=%r)\n"
                "except KeyboardInterrupt:\n"
                "    print('interrupted', flush=True)\n"
                % (mode != "select", mode == "epoll")
            )
            p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "ready")
                time.sleep(0.2)
                p.send_signal(signal.SIGINT)
                out, _ = p.communicate(timeout=10)
            finally:
                p.kill()
                p.wait()
            self.assertEqual(out.strip(), "interrupted", mode)

    def test_sigterm_handler_runs_in_an_idle_epoll_loop(self):
        # The bench peer's shape: a Python SIGTERM handler that exits, an
        # epoll loop with nothing to do (so no Python code runs between
        # waits to notice a signal by itself).
        code = (
            "import asyncore, signal, socket, sys\n"
            "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))\n"
            "a, b = socket.socketpair()\n"
            "class Idle(asyncore.dispatcher):\n"
            "    def writable(self): return False\n"
            "Idle(a)\n"
            "print('ready', flush=True)\n"
            "asyncore.loop(timeout=30, use_poll=True, use_epoll=True)\n"
        )
        for delay in (0.0, 0.05, 0.3):
            p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual(p.stdout.readline().strip(), "ready")
                time.sleep(delay)
                p.send_signal(signal.SIGTERM)
                self.assertEqual(p.wait(timeout=10), 3)
            finally:
                p.kill()
                p.wait()


class DaemonThreadAtExit(unittest.TestCase):
    """A loop in a daemon thread when the interpreter exits (a background
    server in a test suite, smtpd's documented use): the process ends as
    with CPython 3.11's pure-Python asyncore, exit code 0, no abort.

    Python 3.12 and 3.13 end a daemon thread that takes the GIL back during
    finalization with pthread_exit, whose unwinding through the engine's
    frames aborted the process ("FATAL: exception not rethrown")."""

    # An echo server looping in a daemon thread: "busy" keeps a client
    # sending, so the thread is likely inside a handler, not in the wait,
    # at exit.
    CODE = ECHO_PRELUDE + (
        "import asyncore, socket, threading, time\n"
        "mode, busy = sys.argv[1], sys.argv[2] == 'busy'\n"
        "srv = EchoServer(asyncore.socket_map)\n"
        "kw = dict(timeout=0.05, use_poll=mode != 'select', use_epoll=mode == 'epoll')\n"
        "threading.Thread(target=asyncore.loop, kwargs=kw, daemon=True).start()\n"
        "if busy:\n"
        "    def client():\n"
        "        c = socket.create_connection(('127.0.0.1', srv.port))\n"
        "        while True:\n"
        "            c.sendall(b'x' * 512)\n"
        "            c.recv(4096)\n"
        "    threading.Thread(target=client, daemon=True).start()\n"
        "time.sleep(0.3)\n"
        "print('exiting', flush=True)\n"
    )

    def test_the_process_exits_cleanly(self):
        for mode in ("select", "poll", "epoll"):
            for shape in ("idle", "busy"):
                for attempt in range(3):
                    p = subprocess.run(
                        [sys.executable, "-c", self.CODE, mode, shape],
                        capture_output=True,
                        text=True,
                        timeout=30,
                    )
                    what = f"{mode} {shape} #{attempt}: {p.stderr[-500:]}"
                    self.assertEqual(p.stdout.strip(), "exiting", what)
                    self.assertEqual(p.returncode, 0, what)
                    self.assertNotIn("FATAL", p.stderr, what)

    def test_an_atexit_function_still_runs_a_loop(self):
        # Registered before the package is imported, so it runs after the
        # package's own atexit hook: the finalizing thread is never parked.
        code = (
            "import atexit, socket\n"
            "def flush():\n"
            "    import asyncore\n"
            "    m = {}\n"
            "    a, b = socket.socketpair()\n"
            "    class Once(asyncore.dispatcher):\n"
            "        def readable(self): return False\n"
            "        def handle_write(self):\n"
            "            print('flushed', flush=True)\n"
            "            self.close()\n"
            "    Once(a, map=m)\n"
            "    asyncore.loop(timeout=1, map=m, count=2)\n"
            "atexit.register(flush)\n"
            "import asyncore\n"
            "print('exiting', flush=True)\n"
        )
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertEqual(p.stdout.split(), ["exiting", "flushed"], p.stderr[-500:])


def http_server(response):
    """A one-shot server (plain sockets, a thread): reads a request, answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)

    def serve():
        try:
            conn, _ = srv.accept()
            with conn:
                conn.settimeout(10)
                req = b""
                while b"\r\n\r\n" not in req:
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    req += chunk
                conn.sendall(response)
        finally:
            srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], t


class SeedHttpClient(unittest.TestCase):
    def test_the_seed_client_prints_the_response(self):
        response = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        port, t = http_server(response)
        script = os.path.join(HERE, "..", "examples", "http_client.py")
        out = subprocess.run([sys.executable, script, "127.0.0.1", str(port), "/"],
                             capture_output=True, timeout=20)
        t.join(5)
        self.assertEqual(out.returncode, 0, out.stderr)
        # The seed prints each recv() result (Python 3: the bytes' repr),
        # the last one the empty read that saw the server close.
        reads = [ast.literal_eval(line) for line in out.stdout.decode().splitlines()]
        self.assertEqual(b"".join(reads), response)
        self.assertEqual(reads[-1], b"")


@unittest.skipUnless(LEGACY_SMTPD, "ASYNCORE_LEGACY_SMTPD (CPython 3.11's smtpd.py) not given")
class LegacySmtpd(unittest.TestCase):
    """CPython 3.11's smtpd module, unchanged but for its refusal to load
    after 3.11, serving smtplib from a daemon thread."""

    def load_smtpd(self):
        import importlib.util
        import shutil
        import tempfile

        with open(LEGACY_SMTPD) as f:
            source = f.read()
        refusal = "_deprecated(__name__, _DEPRECATION_MSG, remove=(3, 12))"
        self.assertIn(refusal, source)
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        path = os.path.join(d, "smtpd.py")
        with open(path, "w") as f:
            f.write(source.replace(refusal, "pass"))
        spec = importlib.util.spec_from_file_location("legacy_smtpd", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_smtplib_delivers_through_smtpd(self):
        import smtplib

        smtpd = self.load_smtpd()
        got = []
        m = {}

        class Server(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kw):
                got.append((mailfrom, rcpttos, data, kw.get("mail_options")))

        srv = Server(("127.0.0.1", 0), None, map=m, decode_data=False)
        port = srv.socket.getsockname()[1]
        stop = threading.Event()

        def serve():
            while not stop.is_set() and m:
                asyncore.loop(timeout=0.05, map=m, count=1)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            body = b"x" * 100_000
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
                c.ehlo()
                refused = c.sendmail(
                    "a@example.com",
                    ["b@example.com", "c@example.com"],
                    b"Subject: one\r\n\r\n.leading dot\r\n" + body + b"\r\n",
                )
                self.assertEqual(refused, {})
                c.sendmail("d@example.com", ["e@example.com"], b"Subject: two\r\n\r\nsecond\r\n")
            deadline = time.monotonic() + 10
            while len(got) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            stop.set()
            t.join(5)
            asyncore.close_all(m)
        self.assertEqual([g[0] for g in got], ["a@example.com", "d@example.com"])
        self.assertEqual(got[0][1], ["b@example.com", "c@example.com"])
        # smtpd undoes the dot-stuffing and ends lines with \n.
        self.assertEqual(got[0][2], b"Subject: one\n\n.leading dot\n" + body)
        self.assertEqual(got[1][2], b"Subject: two\n\nsecond")
        self.assertTrue(got[0][3] and got[0][3][0].startswith("SIZE="))


@unittest.skipUnless(EXAMPLES, "ASYNCORE_EXAMPLES (built Rust examples) not given")
class Interop(unittest.TestCase):
    def test_rust_client_against_python_server(self):
        # A server on this package answers; the Rust example writes exactly
        # the bytes it received to stdout.
        body = bytes(range(256)) * 400
        response = b"HTTP/1.0 200 OK\r\n\r\n" + body

        class Answer(asyncore.dispatcher_with_send):
            req = b""

            def handle_read(self):
                self.req += self.recv(4096)
                if b"\r\n\r\n" in self.req:
                    self.send(response)

            def handle_write(self):
                self.initiate_send()
                if not self.out_buffer and self.req:
                    self.close()

            def handle_close(self):
                self.close()

        class Server(asyncore.dispatcher):
            def handle_accepted(self, sock, addr):
                Answer(sock, map=m)

        m = {}
        srv = Server(map=m)
        srv.create_socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        port = srv.socket.getsockname()[1]
        p = subprocess.Popen([os.path.join(EXAMPLES, "http_client"), "127.0.0.1", str(port), "/"],
                             stdout=subprocess.PIPE)
        try:
            out = []
            reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
            reader.start()
            run_until(lambda: not reader.is_alive(), m, use_epoll=True, limit=20)
            reader.join()
            self.assertEqual(p.wait(timeout=10), 0)
        finally:
            p.kill()
            p.wait()
        self.assertEqual(out[0], response)
        asyncore.close_all(m)

    def test_python_client_against_rust_server(self):
        p = subprocess.Popen([os.path.join(EXAMPLES, "echo_server"), "127.0.0.1:0", "epoll"],
                             stdout=subprocess.PIPE, text=True)
        try:
            line = p.stdout.readline()
            port = int(line.rsplit(":", 1)[1])
            for use_poll, use_epoll in ((False, False), (True, False), (True, True)):
                m = {}
                payloads = [os.urandom(10000 + 777 * i) for i in range(8)]
                clients = [Client(port, pl, m) for pl in payloads]
                run_until(lambda: all(c.closed for c in clients), m,
                          use_poll=use_poll, use_epoll=use_epoll, limit=20)
                for c, pl in zip(clients, payloads):
                    self.assertEqual(c.got, pl)
                asyncore.close_all(m)
        finally:
            p.kill()
            p.wait()


class LoopLikeCPython(unittest.TestCase):
    """loop() and the passes as CPython 3.11's asyncore runs them."""

    def stale_channel(self, m):
        # A channel whose socket its handler closed directly (socket.close()
        # instead of self.close()): the map still holds the dead number.
        a, b = socket.socketpair()
        self.addCleanup(b.close)
        calls = []

        class Stale(asyncore.dispatcher):
            def readable(self):
                calls.append("readable")
                return True

            def writable(self):
                return False

            def handle_read(self):
                calls.append("read")

            def handle_close(self):
                calls.append("close")
                self.close()

            def handle_error(self):
                calls.append("error")
                self.close()

        Stale(a, map=m)
        a.close()
        return calls

    def test_select_mode_raises_ebadf_for_a_descriptor_closed_behind_its_back(self):
        # It spun at 100% CPU without calling a handler (count=None never
        # returned); CPython's select() raises OSError(EBADF) out of loop().
        m = {}
        calls = self.stale_channel(m)
        self.addCleanup(m.clear)
        started = time.monotonic()
        with self.assertRaises(OSError) as cm:
            asyncore.loop(timeout=5, use_poll=False, map=m, count=1000)
        self.assertEqual(cm.exception.errno, errno.EBADF)
        self.assertEqual(calls, ["readable"])
        self.assertEqual(len(m), 1)
        self.assertLess(time.monotonic() - started, 2)
        with self.assertRaises(OSError) as cm:
            asyncore.poll(5, m)
        self.assertEqual(cm.exception.errno, errno.EBADF)

    def test_poll_mode_closes_a_descriptor_closed_behind_its_back(self):
        m = {}
        calls = self.stale_channel(m)
        asyncore.loop(timeout=5, use_poll=True, map=m, count=1000)
        self.assertEqual(calls, ["readable", "close"])
        self.assertEqual(m, {})

    def test_count_may_be_any_number(self):
        # CPython runs passes while `count > 0`, subtracting 1 after each:
        # 2.5 gives 3 passes (it raised TypeError for anything but an int).
        passes = []

        class Ready(asyncore.dispatcher):
            def writable(self):
                return False

            def handle_read(self):
                passes.append(1)  # leaves the byte: readable every pass

        modes = [dict(use_poll=False), dict(use_poll=True),
                 dict(use_poll=True, use_epoll=True)]
        cases = [(2.5, 3), (1.0, 1), (0.5, 1), (0.0, 0), (-1.5, 0), (True, 1),
                 (Fraction(3, 2), 2), (3, 3), (0, 0)]
        for mode in modes:
            m = {}
            a, b = socket.socketpair()
            self.addCleanup(b.close)
            b.sendall(b"x")
            r = Ready(a, map=m)
            for count, expected in cases:
                del passes[:]
                asyncore.loop(timeout=5, map=m, count=count, **mode)
                self.assertEqual(len(passes), expected, (mode, count))
            with self.assertRaises(TypeError):
                asyncore.loop(timeout=0, map=m, count="2", **mode)
            self.assertIn(r._fileno, m)
            asyncore.close_all(m)

    def test_engine_os_errors_carry_their_errno(self):
        # Out of descriptors, the epoll mode cannot open its epoll instance:
        # OSError(EMFILE, ...) with e.errno set (it was errno None and the
        # text 'Too many open files (os error 24)').
        code = (
            "import asyncore, os, resource, socket\n"
            "m = {}\n"
            "a, b = socket.socketpair()\n"
            "asyncore.dispatcher(a, map=m)\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
            "held = []\n"
            "try:\n"
            "    while True:\n"
            "        held.append(os.open(os.devnull, os.O_RDONLY))\n"
            "except OSError:\n"
            "    pass\n"
            "try:\n"
            "    asyncore.loop(timeout=0, map=m, count=1, use_epoll=True)\n"
            "    print('no error')\n"
            "except OSError as e:\n"
            "    print(type(e).__name__, e.errno, repr(e.strerror), str(e))\n"
        )
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-1000:])
        self.assertEqual(
            p.stdout.strip(),
            "OSError %d %r [Errno %d] %s" % (errno.EMFILE, os.strerror(errno.EMFILE),
                                             errno.EMFILE, os.strerror(errno.EMFILE)))

    def test_loop_calls_a_replaced_poll_or_poll2(self):
        # CPython's loop() looks poll/poll2 up when called: a replacement
        # (a test double, a wrapper) runs each pass.
        m = {}
        a, b = socket.socketpair()
        self.addCleanup(b.close)
        d = asyncore.dispatcher(a, map=m)
        self.addCleanup(d.close)
        calls = []
        for name, use_poll in (("poll", False), ("poll2", True)):
            self.addCleanup(setattr, asyncore, name, getattr(asyncore, name))
            setattr(asyncore, name, lambda timeout=0.0, map=None, name=name:
                    calls.append((name, timeout, map)))
            asyncore.loop(0.25, use_poll, m, 3)
        self.assertEqual(calls, [("poll", 0.25, m)] * 3 + [("poll2", 0.25, m)] * 3)


class ChatScan(unittest.TestCase):
    def test_find_prefix_at_end_on_bytes(self):
        f = asynchat.find_prefix_at_end
        self.assertEqual(f(b"qwerty\r", b"\r\n"), 1)
        self.assertEqual(f(b"qwertydkjf", b"\r\n"), 0)
        self.assertEqual(f(b"ab", b"abc"), 2)
        self.assertEqual(f(b"", b"abc"), 0)
        self.assertEqual(f(b"xabc", b"abc"), 0)

    def test_terminators_split_across_reads_and_discard_in_callback(self):
        m = {}
        a, b = socket.socketpair()
        self.addCleanup(b.close)
        got = []

        class Lines(asynchat.async_chat):
            def collect_incoming_data(self, data):
                self._collect_incoming_data(data)

            def found_terminator(self):
                item = self._get_data()
                got.append(item)
                if item == b"count":
                    self.set_terminator(3)
                elif item == b"DROP":
                    self.discard_buffers()
                else:
                    self.set_terminator(b"\r\n")

        c = Lines(a, map=m)
        c.set_terminator(b"\r\n")
        for piece in (b"one\r", b"\ntwo\r\ncou", b"nt\r\nxyzthree\r\n",
                      b"DROP\r\nlost\r\n"):
            b.sendall(piece)
            asyncore.loop(timeout=1, map=m, count=1)
        self.assertEqual(got, [b"one", b"two", b"count", b"xyz", b"three", b"DROP"])
        self.assertEqual(c.ac_in_buffer, b"")
        c.close()

    def test_assignments_to_ac_in_buffer_in_collect_incoming_data(self):
        # CPython 3.11 slices what collect_incoming_data left in
        # ac_in_buffer when the branch slices (a terminator found, a count
        # reached, a partial terminator kept) and overwrites it when the
        # piece was everything: discard_buffers() there drops the rest of
        # the input. The expected logs are 3.11's own output.
        class Sock:
            def __init__(self, chunks):
                self.chunks = list(chunks)

            def recv(self, n):
                return self.chunks.pop(0) if self.chunks else b""

            def close(self):
                pass

        def run(term, chunks, on_collect=None, reads=None):
            log = []

            class C(asynchat.async_chat):
                def collect_incoming_data(self, d):
                    log.append(("cid", bytes(d)))
                    if on_collect:
                        on_collect(self, bytes(d))

                def found_terminator(self):
                    log.append(("ft",))

            c = C()
            c.socket = Sock(chunks)
            c.connected = True
            c.terminator = term
            for _ in range(reads or len(chunks)):
                c.handle_read()
                log.append(("left", bytes(c.ac_in_buffer), c.terminator))
            return log

        def discard_too_long(c, d):
            if d == b"TOO-LONG":
                c.discard_buffers()

        def append_xy(c, d):
            if d == b"ab":
                c.ac_in_buffer = c.ac_in_buffer + b"XY"

        cases = [
            (run(b"\n", [b"TOO-LONG\nnext\nx"], discard_too_long),
             [("cid", b"TOO-LONG"), ("ft",), ("left", b"", b"\n")]),
            (run(b"\r\n", [b"TOO-LONG\r", b"\nz\r\n"], discard_too_long),
             [("cid", b"TOO-LONG"), ("left", b"", b"\r\n"), ("cid", b"\nz"), ("ft",),
              ("left", b"", b"\r\n")]),
            (run(b"\n", [b"ab\ncd"], append_xy),
             [("cid", b"ab"), ("ft",), ("cid", b"cdXY"), ("left", b"", b"\n")]),
            (run(2, [b"abcdef"], append_xy),
             [("cid", b"ab"), ("ft",), ("cid", b"cdefXY"), ("left", b"", 0)]),
            (run(b"\r\n", [b"ab\r"], append_xy),
             [("cid", b"ab"), ("left", b"Y", b"\r\n")]),
            (run(None, [b"ab"], append_xy),
             [("cid", b"ab"), ("left", b"", None)]),
            # Counts of any size, as Python ints.
            (run(2**64, [b"abc"]),
             [("cid", b"abc"), ("left", b"", 18446744073709551613)]),
            (run(-2**64, [b"abc"], reads=1),
             [("cid", b""), ("ft",), ("cid", b"abc"), ("left", b"", 0)]),
            (run(-1, [b"ab"], reads=1),
             [("cid", b"a"), ("ft",), ("cid", b"b"), ("left", b"", 0)]),
        ]
        for got, want in cases:
            self.assertEqual(got, want)

    def test_an_unusable_value_assigned_to_ac_in_buffer_stays_there(self):
        # 3.11: a value it cannot slice or search fails there and stays in
        # ac_in_buffer; a false one (None) just ends the scan.
        class Sock:
            def recv(self, n):
                return b"ab\ncd"

        def run(term, assign, where):
            class C(asynchat.async_chat):
                def collect_incoming_data(self, d):
                    if where == "cid":
                        self.ac_in_buffer = assign

                def found_terminator(self):
                    if where == "ft":
                        self.ac_in_buffer = assign

            c = C()
            c.socket = Sock()
            c.connected = True
            c.terminator = term
            try:
                c.handle_read()
                outcome = "ok"
            except TypeError:
                outcome = "TypeError"
            return outcome, c.ac_in_buffer

        self.assertEqual(run(b"\n", None, "cid"), ("TypeError", None))
        self.assertEqual(run(2, None, "cid"), ("TypeError", None))
        self.assertEqual(run(b"\n", None, "ft"), ("ok", None))
        self.assertEqual(run(b"\n", "text", "ft"), ("TypeError", "text"))

    def test_find_prefix_at_end_and_simple_producer_edges(self):
        # 3.11's answers: -1 for an empty needle; a simple_producer's data
        # ends as b"" whatever it held.
        self.assertEqual(asynchat.find_prefix_at_end(b"abc", b""), -1)
        self.assertEqual(asynchat.find_prefix_at_end("abc", ""), -1)
        p = asynchat.simple_producer("abc", 8)
        self.assertEqual((p.more(), p.data), ("abc", b""))
        p = asynchat.simple_producer(b"abcdef", 4)
        self.assertEqual((p.more(), p.more(), p.data), (b"abcd", b"ef", b""))

    def test_received_and_terminator_buffer_types(self):
        # As CPython 3.11: recv() may return any bytes-like object (it is
        # appended to the bytes buffer), a terminator may be bytes, bytearray
        # or memoryview; collected pieces are bytes. A str or list
        # terminator is a TypeError (it was taken as a list of byte values).
        class Chat(asynchat.async_chat):
            def __init__(self, data, term):
                asynchat.async_chat.__init__(self)
                self.recv = lambda n: data
                self.terminator = term
                self.log = []

            def collect_incoming_data(self, data):
                self.log.append((type(data), data))

            def found_terminator(self):
                self.log.append("found")

        expected = [(bytes, b"ab"), "found", (bytes, b"cd"), "found", (bytes, b"e")]
        for data in (b"ab\ncd\ne", bytearray(b"ab\ncd\ne"), memoryview(b"ab\ncd\ne"),
                     pickle.PickleBuffer(b"ab\ncd\ne")):
            c = Chat(data, b"\n")
            c.handle_read()
            self.assertEqual(c.log, expected, type(data))
            self.assertIs(type(c.ac_in_buffer), bytes)
            self.assertEqual(c.ac_in_buffer, b"")
        for term in (b"--", bytearray(b"--"), memoryview(b"--")):
            c = Chat(b"ab--cd--e", term)
            c.handle_read()
            self.assertEqual(c.log, expected, type(term))
        for term in ("--", [45, 45], 2.5, pickle.PickleBuffer(b"--")):
            c = Chat(b"ab--cd--e", term)
            with self.assertRaises(TypeError, msg=repr(term)):
                c.handle_read()
            self.assertEqual(c.log, [])
            self.assertEqual(c.ac_in_buffer, b"ab--cd--e")
        c = Chat("text", b"\n")
        with self.assertRaisesRegex(TypeError, "can't concat str to bytes"):
            c.handle_read()
        # Left over from the previous read, then a bytearray.
        c = Chat(bytearray(b"d\n"), b"\n")
        c.ac_in_buffer = b"abc"
        c.handle_read()
        self.assertEqual(c.log, [(bytes, b"abcd"), "found"])

    def test_ac_in_buffer_during_callbacks(self):
        # CPython: collect_incoming_data() sees ac_in_buffer still holding
        # everything not yet consumed, the piece it is given included;
        # found_terminator() sees what follows the terminator. (During
        # collect_incoming_data it showed the old value, b"" here.) Also for
        # a subclass that shadows the attribute with a class attribute, and
        # for a handle_read called again from a callback.
        log = []

        class Chat(asynchat.async_chat):
            def collect_incoming_data(self, data):
                log.append(("collect", data, self.ac_in_buffer))

            def found_terminator(self):
                log.append(("found", self.ac_in_buffer))
                if self.ac_in_buffer.startswith(b"SKIP"):
                    self.ac_in_buffer = self.ac_in_buffer[4:]
                elif self.ac_in_buffer.startswith(b"5"):
                    self.set_terminator(2)

        class Shadowing(Chat):
            ac_in_buffer = b""

        for cls in (Chat, Shadowing):
            m = {}
            a, b = socket.socketpair()
            self.addCleanup(b.close)
            del log[:]
            c = cls(a, map=m)
            c.set_terminator(b"\r\n")
            for piece in (b"abc\r\ndef\r", b"\nSKIPgh\r\n5", b"6789"):
                b.sendall(piece)
                asyncore.loop(timeout=1, map=m, count=1)
            self.assertEqual(log, [
                ("collect", b"abc", b"abc\r\ndef\r"),
                ("found", b"def\r"),
                ("collect", b"def", b"def\r"),
                ("found", b"SKIPgh\r\n5"),
                ("collect", b"gh", b"gh\r\n5"),
                ("found", b"5"),
                ("collect", b"5", b"5"),
                ("collect", b"6", b"6789"),
                ("found", b"789"),
                ("collect", b"789", b"789"),
            ], cls)
            self.assertEqual(c.ac_in_buffer, b"")
            c.close()

        class Nested(asynchat.async_chat):
            # found_terminator reads more input itself.
            def collect_incoming_data(self, data):
                log.append(("collect", data, self.ac_in_buffer))

            def found_terminator(self):
                log.append(("found", self.ac_in_buffer))
                if self.more:
                    self.recv = lambda n, d=self.more.pop(0): d
                    self.handle_read()

        del log[:]
        c = Nested()
        c.set_terminator(b";")
        c.more = [b"c;d", b"e;"]
        c.recv = lambda n: b"a;b"
        c.handle_read()
        self.assertEqual(log, [
            ("collect", b"a", b"a;b"),
            ("found", b"b"),
            ("collect", b"bc", b"bc;d"),
            ("found", b"d"),
            ("collect", b"de", b"de;"),
            ("found", b""),
        ])
        self.assertEqual(c.ac_in_buffer, b"")

class Identity(unittest.TestCase):
    def test_modules_are_this_package(self):
        self.assertTrue(hasattr(asyncore, "_engine"))
        self.assertTrue(hasattr(asynchat, "_engine"))


if __name__ == "__main__":
    unittest.main()
