#!/usr/bin/env python3
"""frame.py - the frames pyclient.py will not send, for the handler's tests.

    frame.py encode [--length N] TEXT
        one frame holding TEXT's UTF-8 bytes on stdout; --length puts N in
        the header instead of the true length (a lie, or a malformed frame)
    frame.py decode
        reads stdin, which must hold exactly one whole frame, and prints its
        body; exit 3 when it does not (nothing, a short frame, extra bytes)
    frame.py send ADDR [--length N] [--shut] [--timeout S] TEXT
        connects to ADDR (as pyclient.py spells it), sends the frame, and
        prints the body of the one frame it gets back (exit 3 if none);
        --shut half-closes after sending, as a client that gave up writing
    frame.py inetd HANDLER [ARG...]
        for each line of stdin (a request body, sent as its bytes): runs
        HANDLER ARG... once with that frame on its stdin, inetd style, and
        prints the response body on one line ("NO FRAME" when there is none);
        exit 1 if any handler exits non-zero (its log goes to stderr)

The connection and framing code is pyclient.py's: one implementation of the
client side in Python, written from docs/PROTOCOL.md.
"""

import argparse
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients"))
import pyclient  # noqa: E402


def encode(text, length=None):
    # surrogateescape: bytes of argv that are not UTF-8 go out unchanged,
    # so a test can send invalid UTF-8 as $'\xff'.
    body = text.encode("utf-8", "surrogateescape")
    total = len(body) + pyclient.HEADER.size if length is None else length
    return pyclient.HEADER.pack(total) + body


def decode(data):
    if len(data) < pyclient.HEADER.size:
        raise ValueError(f"{len(data)} bytes: no frame header")
    (total,) = pyclient.HEADER.unpack(data[:pyclient.HEADER.size])
    if total < pyclient.HEADER.size or total != len(data):
        raise ValueError(f"header says {total} bytes, got {len(data)}")
    return data[pyclient.HEADER.size:]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--length", type=int)
    e.add_argument("text")
    sub.add_parser("decode")
    s = sub.add_parser("send")
    s.add_argument("addr")
    s.add_argument("--length", type=int)
    s.add_argument("--shut", action="store_true")
    s.add_argument("--timeout", type=float, default=10.0)
    s.add_argument("text")
    i = sub.add_parser("inetd")
    i.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()

    if a.cmd == "encode":
        sys.stdout.buffer.write(encode(a.text, a.length))
        return 0
    if a.cmd == "decode":
        try:
            body = decode(sys.stdin.buffer.read())
        except ValueError as err:
            print(f"frame.py: {err}", file=sys.stderr)
            return 3
        sys.stdout.buffer.write(body + b"\n")
        return 0
    if a.cmd == "inetd":
        rc = 0
        for line in sys.stdin.buffer.read().splitlines():
            # bytes: lines that are not UTF-8 are sent as they are
            body = pyclient.HEADER.pack(len(line) + pyclient.HEADER.size) + line
            p = subprocess.run(a.argv, input=body, stdout=subprocess.PIPE, timeout=60)
            if p.returncode != 0:
                print(f"frame.py: {a.argv[0]} exited with {p.returncode} for {line!r}", file=sys.stderr)
                rc = 1
            try:
                out = decode(p.stdout)
            except ValueError:
                out = b"NO FRAME"
            sys.stdout.buffer.write(out + b"\n")
            sys.stdout.flush()
        return rc
    deadline = time.monotonic() + a.timeout
    try:
        sock = pyclient.connect(a.addr, deadline)
        try:
            sock.sendall(encode(a.text, a.length))
            if a.shut:
                sock.shutdown(socket.SHUT_WR)
            body = pyclient.read_frame(sock, deadline)
        finally:
            sock.close()
    except (pyclient.ProtocolError, OSError) as err:
        print(f"frame.py: {err}", file=sys.stderr)
        return 3
    sys.stdout.buffer.write(body + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
