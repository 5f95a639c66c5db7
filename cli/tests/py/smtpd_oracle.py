"""The oracle of the smtpd tests: what `python3 -m smtpd -n -c DebuggingServer
-u -s SIZE 127.0.0.1:PORT` runs (CPython 3.11's smtpd module), but bound to
127.0.0.1 port 0, printing the address it got once it listens:

    python smtpd: listening on 127.0.0.1:PORT

so the test never has to guess a free port. Usage: smtpd_oracle.py SIZE.
"""

import sys
import warnings

warnings.simplefilter("ignore")

import asyncore  # noqa: E402  (deprecated in 3.11: warnings off first)
import smtpd  # noqa: E402


def main():
    size = int(sys.argv[1])
    # As `-m smtpd`: the remote address is the default ('localhost', 25),
    # unused by DebuggingServer; -u is enable_SMTPUTF8; -n: no setuid.
    server = smtpd.DebuggingServer(
        ("127.0.0.1", 0), ("localhost", 25), size, enable_SMTPUTF8=True
    )
    host, port = server.socket.getsockname()[:2]
    print("python smtpd: listening on %s:%d" % (host, port), flush=True)
    try:
        asyncore.loop()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
