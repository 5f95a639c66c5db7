"""Sends many messages with smtplib over concurrent connections, then checks
every stored Maildir message byte for byte.

usage: smtplib_load.py HOST PORT MAILDIR THREADS PER_THREAD

Each message is sent as bytes with CRLF line ends (dot-stuffing is
smtplib's); the stored file must be the three envelope headers (X-Peer,
X-MailFrom, X-RcptTo) followed by exactly the sent bytes with CRLF turned
into LF. Content: plain ASCII, lines that start with dots (".", "..",
".x"), 8-bit Latin-1 (BODY=8BITMIME), UTF-8 addresses and text (SMTPUTF8),
lone CRs, empty lines, and one 10 MiB message. Prints one JSON summary line;
exit status 0 only if all messages were stored exactly once and match.
"""

import json
import os
import random
import signal
import smtplib
import sys
import threading

signal.alarm(300)  # a hard deadline: never hang the test run

host, port, maildir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
threads, per_thread = int(sys.argv[4]), int(sys.argv[5])


def body_lines(rng, kind, n):
    lines = []
    for i in range(n):
        r = rng.random()
        if r < 0.08:
            lines.append(b".")
        elif r < 0.16:
            lines.append(b".." + str(i).encode())
        elif r < 0.24:
            lines.append(b"." + bytes(rng.choice(b"abc .") for _ in range(rng.randint(0, 20))))
        elif r < 0.30:
            lines.append(b"")
        elif r < 0.34:
            lines.append(b"lone\rcr in the middle")
        elif kind == "8bit" and r < 0.6:
            lines.append(bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 60))))
        elif kind == "utf8" and r < 0.6:
            lines.append("żółć Grüße 日本語 ✉ #{}".format(i).encode("utf-8"))
        else:
            lines.append(bytes(rng.choice(b"abcdefghij KLMNOP.,:;-") for _ in range(rng.randint(0, 76))))
    return lines


def make(tid, i):
    rng = random.Random(tid * 100003 + i)
    kind = ["ascii", "8bit", "utf8"][(tid + i) % 3]
    test_id = "t{}-m{}".format(tid, i)
    sender = "sender{}@example.org".format(tid)
    rcpts = ["rcpt{}@example.net".format(k) for k in range(1 + i % 3)]
    if kind == "utf8":
        sender = "jörg{}@exämple.org".format(tid)
        rcpts.append("δοκιμή@παράδειγμα.δοκιμή")
    head = [
        b"X-Test-Id: " + test_id.encode(),
        b"Subject: load " + test_id.encode(),
        b"Content-Type: text/plain; charset=" + (b"utf-8" if kind != "8bit" else b"iso-8859-1"),
    ]
    lines = head + [b""] + body_lines(rng, kind, rng.randint(0, 60))
    if rng.random() < 0.3:
        lines.append(b".")  # a dot line at the very end of the content
    data = b"\r\n".join(lines) + b"\r\n"
    opts = []
    if kind == "8bit":
        opts = ["BODY=8BITMIME"]
    elif kind == "utf8":
        opts = ["BODY=8BITMIME", "SMTPUTF8"]
    return test_id, sender, rcpts, opts, data


def big():
    line = (b"0123456789" * 8)[:78]
    n = (10 * 1024 * 1024) // (len(line) + 2) + 1
    lines = [b"X-Test-Id: big", b"Subject: 10 MiB", b""]
    lines += [(b"." if k % 1000 == 0 else b"") + line for k in range(n)]
    return "big", "big@example.org", ["big@example.net"], ["BODY=8BITMIME"], b"\r\n".join(lines) + b"\r\n"


sent = {}
errors = []
lock = threading.Lock()


def worker(tid):
    try:
        with smtplib.SMTP(host, port, timeout=60) as s:
            s.ehlo("load{}".format(tid))
            jobs = [make(tid, i) for i in range(per_thread)]
            if tid == 0:
                jobs.insert(per_thread // 2, big())
            for test_id, sender, rcpts, opts, data in jobs:
                refused = s.sendmail(sender, rcpts, data, mail_options=opts)
                if refused:
                    raise RuntimeError("refused {}: {}".format(test_id, refused))
                with lock:
                    sent[test_id] = (sender, rcpts, data)
    except Exception as e:  # reported below
        with lock:
            errors.append("thread {}: {!r}".format(tid, e))


ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()

stored = {}
newdir = os.path.join(maildir, "new")
for name in os.listdir(newdir):
    with open(os.path.join(newdir, name), "rb") as f:
        raw = f.read()
    hdr = raw.split(b"\n", 3)
    if len(hdr) < 4:
        errors.append("short file " + name)
        continue
    content = hdr[3]
    test_id = content.split(b"\n", 1)[0].split(b": ", 1)[1].decode()
    if test_id in stored:
        errors.append("stored twice: " + test_id)
    stored[test_id] = (hdr[:3], content)

for test_id, (sender, rcpts, data) in sent.items():
    if test_id not in stored:
        errors.append("missing: " + test_id)
        continue
    env, content = stored[test_id]
    want_env = [
        b"X-Peer: 127.0.0.1",
        ("X-MailFrom: " + sender).encode("utf-8"),
        ("X-RcptTo: " + ", ".join(rcpts)).encode("utf-8"),
    ]
    if env != want_env:
        errors.append("envelope of {}: {!r} != {!r}".format(test_id, env, want_env))
    want = data.replace(b"\r\n", b"\n")
    if content != want:
        at = next((k for k in range(min(len(content), len(want))) if content[k] != want[k]), None)
        errors.append("content of {} differs at byte {} (got {} bytes, want {})".format(
            test_id, at, len(content), len(want)))

print(json.dumps({
    "sent": len(sent),
    "stored": len(stored),
    "big_bytes": len(sent.get("big", (0, 0, b""))[2]),
    "errors": errors[:20],
}))
sys.exit(1 if errors or len(sent) != threads * per_thread + 1 else 0)
