"""Normal SMTP senders for the soak: `threads` threads send messages for
`secs` seconds, each with smtplib (one connection per few messages), with a
unique Message-ID `<PREFIX-N@soak.invalid>` and a body with dot-leading
lines. Prints `ACCEPTED PREFIX-N` for each message the server accepted
(250 after DATA) and `ERROR N ...` for each failure."""
import smtplib
import sys
import threading

import time

host, port, secs, threads, prefix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
deadline = time.monotonic() + secs
lock = threading.Lock()


def say(line):
    with lock:
        print(line, flush=True)


def body(n):
    lines = [f"Message-ID: <{prefix}-{n}@soak.invalid>", f"Subject: soak {n}", ""]
    for i in range(n % 17 + 1):
        lines.append(("." if i % 3 == 0 else "") + f"line {i} of message {n} " + "x" * (n * 7 % 300))
    lines.append(".")
    lines.append(f"end {n}")
    return "\r\n".join(lines) + "\r\n"


def worker(k):
    n = k
    while time.monotonic() < deadline:
        try:
            with smtplib.SMTP(host, port, timeout=30) as s:
                for _ in range(3):
                    if time.monotonic() >= deadline:
                        break
                    s.sendmail("sender@soak.invalid", [f"rcpt{n % 5}@soak.invalid"], body(n))
                    say(f"ACCEPTED {prefix}-{n}")
                    n += threads
        except Exception as e:  # noqa: BLE001 - every failure is reported
            say(f"ERROR {n} {type(e).__name__}: {e}")
            n += threads


ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
