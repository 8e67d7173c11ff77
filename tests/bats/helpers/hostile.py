#!/usr/bin/env python3
"""hostile.py - hostile inputs for tsdb-handler, and what came back.

    hostile.py bytes [--length N] [--raw] SPEC
        the byte stream of the case on stdout (to look at one, or to feed a
        handler by other means)
    hostile.py inetd [--length N] [--raw] [--hold S] SPEC -- CMD [ARG...]
        runs CMD once (the handler, however wrapped) with the stream on its
        standard input, inetd style, and prints one JSON object describing
        the outcome (below); stdin is closed once everything is written, or,
        with --hold S, kept open and silent for S seconds or until CMD exits
        (a client that stops sending without leaving)
    hostile.py send ADDR [--length N] [--raw] [--shut] [--rcvbuf B]
                    [--read-after S] [--timeout S] SPEC
        the same through a connection to ADDR (HOST:PORT or unix:PATH):
        sends the stream (in a thread: a server that refuses early stops
        reading, and the answer must still be read), then reads until the
        server closes; --shut half-closes after sending; --rcvbuf sets a
        small receive buffer and --read-after waits before reading (a slow
        reader)

SPEC is a Python expression (this file's own helpers in scope) giving the
request body as bytes or str (UTF-8); the frame header is prepended with
the body's true length, or with N given by --length (an expression too,
e.g. 2**31).  With --raw, SPEC is the whole stream and nothing is added.
Helpers: MiB, KiB, req(op, **fields) (compact JSON), frame(body[, length]),
rep(item, n) (a JSON array of n copies), pairs(n) and arrays(n) (n-point
series in the two array forms).

The outcome, one line of JSON:
    {"rc": exit status (inetd), "secs": wall time, "bytes": bytes received,
     "frames": whole frames received, "status"/"op"/"error": of the first
     frame, "body": its first 4096 bytes, "log": stderr lines (inetd),
     "problem": what is wrong with the response itself, or null}
"problem" covers everything the protocol promises of any response: whole
frames only, exactly one of them at most, UTF-8 JSON object with exactly
op, status, payload (and error when status is not OK), payload null on
error, no NaN/Infinity.
"""

import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

HEADER = struct.Struct("<I")
KiB = 1 << 10
MiB = 1 << 20


def req(op, **fields):
    """A request body: {"op": op, ...fields} as compact UTF-8 JSON."""
    return json.dumps({"op": op, **fields}, separators=(",", ":"), ensure_ascii=False).encode()


def frame(body, length=None):
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    return HEADER.pack(len(body) + HEADER.size if length is None else length) + body


def arrays(n, t=b"0", v=(b"1", b"2")):
    """'[[t,...],[v,...]]' for n points, built as bytes (fast at 10^7)."""
    ts = b",".join([t] * n)
    vs = b",".join([v[0]] * (n - 1) + [v[1]]) if n > 1 else v[0]
    return b"[[" + ts + b"],[" + vs + b"]]"


def rep(item, n):
    """'[item,item,...]' with n items (bytes)."""
    return b"[" + b",".join([item] * n) + b"]"


def pairs(n):
    """'[[t,v],...]' for n points with distinct phases and a non-constant shape."""
    return b"[" + b",".join(b"[%r,%d]" % (i / n, i % 3) for i in range(n)) + b"]"


def build(spec, length, raw):
    env = {k: v for k, v in globals().items() if not k.startswith("_")}
    data = eval(spec, env)  # noqa: S307 - the specs are this repository's tests
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if raw:
        return data
    return frame(data, None if length is None else int(eval(length, env)))


def judge(out):
    """Frames in out and the first one's fields; problem is None when fine."""
    res = {"bytes": len(out), "frames": 0, "status": None, "op": None, "error": None,
           "body": None, "problem": None}
    pos, bodies = 0, []
    while pos < len(out):
        if len(out) - pos < HEADER.size:
            res["problem"] = f"{len(out) - pos} stray bytes after {len(bodies)} frame(s)"
            break
        (total,) = HEADER.unpack_from(out, pos)
        if total < HEADER.size or pos + total > len(out):
            res["problem"] = (f"frame {len(bodies) + 1} says {total} bytes, "
                              f"{len(out) - pos} arrived")
            break
        bodies.append(out[pos + HEADER.size:pos + total])
        pos += total
    res["frames"] = len(bodies)
    if not bodies:
        return res
    body = bodies[0]
    res["body"] = body[:4096].decode("utf-8", "replace")
    if res["problem"] is None and len(bodies) > 1:
        res["problem"] = f"{len(bodies)} frames: one request gets one answer"

    def bad_constant(c):
        raise ValueError(f"{c} in a response")
    try:
        pairs_seen = []
        resp = json.loads(body.decode("utf-8"), parse_constant=bad_constant,
                          object_pairs_hook=lambda kv: (pairs_seen.append([k for k, _ in kv])
                                                        or dict(kv)))
    except (UnicodeDecodeError, ValueError) as e:
        res["problem"] = res["problem"] or f"response is not UTF-8 JSON: {e}"
        return res
    if not isinstance(resp, dict):
        res["problem"] = res["problem"] or "response is not an object"
        return res
    res.update(status=resp.get("status"), op=resp.get("op"), error=resp.get("error"))
    want = ["op", "status", "payload"] + ([] if resp.get("status") == "OK" else ["error"])
    problem = None
    if pairs_seen[-1] != want:
        problem = f"response members {pairs_seen[-1]}, expected {want}"
    elif not isinstance(resp["status"], str):
        problem = "status is not a string"
    elif resp["op"] is not None and not isinstance(resp["op"], str):
        problem = "op is neither null nor a string"
    elif resp["status"] != "OK" and (resp["payload"] is not None or not isinstance(resp["error"], str)):
        problem = "an error response needs payload null and a string error"
    res["problem"] = res["problem"] or problem
    return res


def feed(write, close, data, hold, done):
    """Writes data, then holds (until done is set or hold runs out), then
    closes; a reader that went away (EPIPE, reset) is not an error here."""
    try:
        write(data)
        if hold > 0:
            done.wait(hold)
    except OSError:
        pass
    finally:
        try:
            close()
        except OSError:
            pass


def run_inetd(a, data):
    t0 = time.monotonic()
    p = subprocess.Popen(a.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    done = threading.Event()

    def write(d):
        p.stdin.write(d)
        p.stdin.flush()
    w = threading.Thread(target=feed, args=(write, p.stdin.close, data, a.hold, done), daemon=True)
    w.start()
    err_chunks = []
    e = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()), daemon=True)
    e.start()
    out = p.stdout.read()
    rc = p.wait()
    secs = time.monotonic() - t0
    done.set()
    w.join(5)
    e.join(5)
    res = judge(out)
    err = b"".join(err_chunks).decode("utf-8", "replace")
    res.update(rc=rc, secs=round(secs, 3), log=err.splitlines(), log_ends_in_newline=err.endswith("\n"))
    return res


def connect(addr, timeout, rcvbuf):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target = addr[5:]
    else:
        host, _, port = addr.rpartition(":")
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(target)
    return s


def run_send(a, data):
    t0 = time.monotonic()
    deadline = t0 + a.timeout
    s = connect(a.addr, a.timeout, a.rcvbuf)
    done = threading.Event()
    shut = (lambda: s.shutdown(socket.SHUT_WR)) if a.shut else (lambda: None)
    w = threading.Thread(target=feed, args=(s.sendall, shut, data, 0, done), daemon=True)
    w.start()
    if a.read_after:
        time.sleep(a.read_after)
    chunks, note = [], None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            note = "timed out waiting for the server to close"
            break
        s.settimeout(left)
        try:
            c = s.recv(1 << 16)
        except socket.timeout:
            note = "timed out waiting for the server to close"
            break
        except OSError as e:
            note = f"receiving: {e.strerror or e}"
            break
        if not c:
            break
        chunks.append(c)
    secs = time.monotonic() - t0
    done.set()
    s.close()
    w.join(5)
    res = judge(b"".join(chunks))
    res.update(secs=round(secs, 3), recv_note=note)
    if note and res["problem"] is None and not note.startswith("timed out"):
        # Data then a reset: whatever arrived is judged; a reset that cut
        # a frame short shows as a problem above.
        res["reset"] = True
    if note and note.startswith("timed out"):
        res["problem"] = res["problem"] or note
    return res


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    for name in ("bytes", "inetd", "send"):
        p = sub.add_parser(name)
        if name == "send":
            p.add_argument("addr")
            p.add_argument("--shut", action="store_true")
            p.add_argument("--rcvbuf", type=int, default=0)
            p.add_argument("--read-after", type=float, default=0)
            p.add_argument("--timeout", type=float, default=10)
        if name == "inetd":
            p.add_argument("--hold", type=float, default=0)
        p.add_argument("--length")
        p.add_argument("--raw", action="store_true")
        p.add_argument("spec")
        if name == "inetd":
            p.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    data = build(a.spec, a.length, a.raw)
    if a.cmd_name == "bytes":
        sys.stdout.buffer.write(data)
        return 0
    if a.cmd_name == "inetd":
        if a.cmd[:1] == ["--"]:
            a.cmd = a.cmd[1:]
        res = run_inetd(a, data)
    else:
        res = run_send(a, data)
    print(json.dumps(res, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
