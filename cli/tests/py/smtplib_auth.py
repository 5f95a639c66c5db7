"""smtplib's login() against `asyncore smtpd --auth-any`.

    python3 smtplib_auth.py HOST PORT

Logs in as applications do (login() picks the mechanism), then forces each
mechanism with and without an initial response, and sends a message after
each. Prints one "ok ..." line per step; any failure raises (exit 1).
"""

import smtplib
import sys

host, port = sys.argv[1], int(sys.argv[2])


def message(n):
    return "From: app@example\r\nTo: dev@example\r\nSubject: auth %s\r\n\r\nbody\r\n" % n


def session():
    s = smtplib.SMTP(host, port, timeout=10)
    s.ehlo("client.test")
    assert s.has_extn("auth"), s.esmtp_features
    mechanisms = s.esmtp_features["auth"].split()
    assert mechanisms == ["PLAIN", "LOGIN"], mechanisms
    return s


# login(): smtplib prefers PLAIN among what is advertised.
s = session()
code, text = s.login("alice", "any password")
assert code == 235, (code, text)
s.sendmail("app@example", ["dev@example"], message("login"))
s.quit()
print("ok login")

for mechanism in ["PLAIN", "LOGIN"]:
    for initial in [True, False]:
        s = session()
        s.user, s.password = "bob", "secret"
        method = s.auth_plain if mechanism == "PLAIN" else s.auth_login
        code, text = s.auth(mechanism, method, initial_response_ok=initial)
        assert code == 235, (mechanism, initial, code, text)
        # A second AUTH in the same session gets 503 (which smtplib takes
        # as "already authenticated").
        code, text = s.auth(mechanism, method)
        assert code == 503 and b"already authenticated" in text, (code, text)
        s.sendmail("app@example", ["dev@example"], message(mechanism))
        s.quit()
        print("ok %s initial=%s" % (mechanism, initial))
