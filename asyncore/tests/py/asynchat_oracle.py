#!/usr/bin/env python3
"""Differential oracle: runs input-splitting cases through CPython's real asynchat.

Input (stdin): one JSON case per line (a single JSON object also works):

    {"terminator": T, "chunks": ["<hex>", ...], "script": [T, ...]}

where a terminator T is encoded as null (none), an integer (byte count) or a string
of hex digits (a delimiter; "" is the empty delimiter). Each chunk is one receive,
i.e. one handle_read() call. At the k-th found_terminator(), script[k] (if present)
becomes the new terminator; once the script is used up the terminator is left alone.

Output (stdout): one JSON line per case, compact separators, keys in this order:

    {"events": [["c", "<hex>"] | ["T", T], ...], "rest": "<hex>", "terminator": T}

"c" is a collect_incoming_data() call, "T" a found_terminator() call together with the
terminator value at that moment (before the script changes it); "rest" is the input
buffer left at the end and "terminator" the final terminator value.

No socket is involved: recv() is replaced by a function returning the next chunk.
Needs Python <= 3.11 (asynchat was removed in 3.12).
"""

import json
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asynchat


def decode_terminator(t):
    if t is None or isinstance(t, int):
        return t
    return bytes.fromhex(t)


def encode_terminator(t):
    if t is None or isinstance(t, int):
        return t
    return t.hex()


class Recorder(asynchat.async_chat):
    """An async_chat without a socket that logs its two hooks."""

    def __init__(self, chunks, script):
        super().__init__()  # no socket: not connected, in no map
        self.chunks = list(chunks)
        self.script = list(script)
        self.events = []
        self.signals = 0

    def recv(self, buffer_size):
        return self.chunks.pop(0)

    def collect_incoming_data(self, data):
        self.events.append(["c", bytes(data).hex()])

    def found_terminator(self):
        self.events.append(["T", encode_terminator(self.get_terminator())])
        if self.signals < len(self.script):
            self.set_terminator(decode_terminator(self.script[self.signals]))
        self.signals += 1


def run(case):
    chat = Recorder(
        [bytes.fromhex(c) for c in case["chunks"]],
        case.get("script", []),
    )
    chat.set_terminator(decode_terminator(case["terminator"]))
    while chat.chunks:
        chat.handle_read()
    return {
        "events": chat.events,
        "rest": bytes(chat.ac_in_buffer).hex(),
        "terminator": encode_terminator(chat.get_terminator()),
    }


def main():
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(json.dumps(run(json.loads(line)), separators=(",", ":")))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
