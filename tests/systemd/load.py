#!/usr/bin/env python3
"""load.py - connection storms against tsdb.socket, run inside the container.

    load.py burst ADDR N THREADS
        N connections, THREADS at a time, each one `info` request on a new
        connection.  Prints JSON {"ok", "closed", "failed", "seconds",
        "errors"}: answered OK, closed by the server without an answer
        (connections beyond MaxConnections), anything else.

    load.py slowloris ADDR IDLE
        Opens IDLE connections that send nothing (more than MaxConnections:
        every handler slot is taken and held until its receive deadline),
        then: one more connection must be closed cleanly by systemd (EOF,
        no bytes); a well-behaved client retrying every 50 ms must be
        answered, and the time it waited is measured.  Prints JSON
        {"held", "extra", "good_wait_s", "good_tries"}.

Only 127.0.0.1; every socket is closed before exit.
"""
import json
import socket
import struct
import sys
import threading
import time



def addr_of(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def one_request(addr, timeout=30):
    """'ok', 'closed' (EOF before any byte) or an error text."""
    body = b'{"op":"info"}'
    s = socket.create_connection(addr, timeout=timeout)
    try:
        try:
            s.sendall(struct.pack("<I", len(body) + 4) + body)
        except (BrokenPipeError, ConnectionResetError):
            return "closed"
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return "closed" if not data else "reset mid-answer"
            if not chunk:
                break
            data += chunk
        if not data:
            return "closed"
        n = struct.unpack("<I", data[:4])[0]
        if n != len(data):
            return "short frame"
        resp = json.loads(data[4:])
        return "ok" if resp.get("status") == "OK" else "status " + str(resp.get("status"))
    finally:
        s.close()


def burst(addr, n, threads):
    counts = {"ok": 0, "closed": 0, "failed": 0}
    errors = {}
    lock = threading.Lock()
    next_i = [0]

    def worker():
        while True:
            with lock:
                if next_i[0] >= n:
                    return
                next_i[0] += 1
            try:
                r = one_request(addr)
            except OSError as e:
                r = type(e).__name__
            with lock:
                if r in ("ok", "closed"):
                    counts[r] += 1
                else:
                    counts["failed"] += 1
                    errors[r] = errors.get(r, 0) + 1

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    counts["seconds"] = round(time.monotonic() - t0, 2)
    counts["errors"] = errors
    return counts


def slowloris(addr, idle):
    held = []
    for _ in range(idle):
        s = socket.create_connection(addr, timeout=10)
        held.append(s)
    time.sleep(0.5)  # let systemd spawn a handler for each it accepted
    out = {"held": len(held)}
    # One more, sending nothing: beyond MaxConnections, systemd closes it.
    s = socket.create_connection(addr, timeout=10)
    try:
        t0 = time.monotonic()
        data = s.recv(1)
        out["extra"] = "clean close" if data == b"" else "got bytes"
        out["extra_close_s"] = round(time.monotonic() - t0, 3)
    except (ConnectionResetError, socket.timeout) as e:
        out["extra"] = type(e).__name__
    finally:
        s.close()
    # A well-behaved client: retry until answered.
    t0 = time.monotonic()
    tries = 0
    while True:
        tries += 1
        try:
            if one_request(addr, timeout=30) == "ok":
                break
        except OSError:
            pass
        if time.monotonic() - t0 > 60:
            break
        time.sleep(0.05)
    out["good_wait_s"] = round(time.monotonic() - t0, 3)
    out["good_tries"] = tries
    for s in held:
        s.close()
    return out


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, addr = sys.argv[1], addr_of(sys.argv[2])
    if cmd == "burst":
        print(json.dumps(burst(addr, int(sys.argv[3]), int(sys.argv[4]))))
    elif cmd == "slowloris":
        print(json.dumps(slowloris(addr, int(sys.argv[3]))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
