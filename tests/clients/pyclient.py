#!/usr/bin/env python3
"""pyclient.py - an independent tsdb client, written from docs/PROTOCOL.md
with the Python standard library only, so that end-to-end tests check the
server against the document rather than against the C client's own code.

    pyclient.py [--server ADDR] [--timeout SECS] [--raw] [--pretty] REQUEST

REQUEST is the request's JSON text ("-" reads standard input).  The
response body is printed as received (or indented with --pretty).  --raw
sends REQUEST's bytes unchecked, for testing how a server treats bad
requests.  ADDR is HOST:PORT, [IPV6]:PORT, HOST (port 7411), unix:PATH or
unix:@NAME (abstract); the default is $TSDB_SERVER, else 127.0.0.1:7411.

Exit status: 0 status OK, 2 usage error, 3 no usable response (connection,
timeout, framing, malformed JSON), 4 any other status.

As a module: call(addr, request_dict_or_bytes, timeout) -> response dict.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

DEFAULT_SERVER = "127.0.0.1:7411"
DEFAULT_PORT = 7411
HEADER = struct.Struct("<I")        # little-endian u32: the whole frame's length
MAX_RESPONSE = 256 * 1024 * 1024


class ProtocolError(Exception):
    """No usable response: connection, timeout, framing or JSON."""


def parse_addr(addr):
    """(family, sockaddr) for an address string."""
    if addr.startswith("unix:"):
        path = addr[5:]
        if not path:
            raise ProtocolError(f"{addr}: empty socket path")
        if path.startswith("@"):
            path = "\0" + path[1:]
        return socket.AF_UNIX, path
    if addr.startswith("["):
        close = addr.find("]")
        if close < 0 or addr[close + 1:close + 2] not in ("", ":"):
            raise ProtocolError(f"{addr}: expected [IPV6]:PORT")
        host, port = addr[1:close], addr[close + 2:] or None
    else:
        host, sep, port = addr.rpartition(":")
        if not sep:
            host, port = addr, None
        elif ":" in host:
            raise ProtocolError(f"{addr}: write an IPv6 address as [ADDR]:PORT")
    if not host:
        raise ProtocolError(f"{addr}: expected HOST:PORT, [IPV6]:PORT or unix:PATH")
    if port is None:
        port = DEFAULT_PORT
    elif not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ProtocolError(f"{addr}: the port must be a number in 1..65535")
    return None, (host, int(port))


def connect(addr, deadline):
    family, target = parse_addr(addr)
    if family == socket.AF_UNIX:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(target)
        except OSError as e:
            sock.close()
            raise ProtocolError(f"cannot connect to {addr}: {e.strerror or e}") from None
        return sock
    try:
        return socket.create_connection(target, timeout=max(deadline - time.monotonic(), 0.001))
    except socket.timeout:
        raise ProtocolError(f"cannot connect to {addr}: timed out") from None
    except OSError as e:
        raise ProtocolError(f"cannot connect to {addr}: {e.strerror or e}") from None


def encode_frame(body):
    return HEADER.pack(len(body) + HEADER.size) + body


def recv_exact(sock, n, deadline, got_before, total):
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProtocolError(f"timed out with {got_before + got} of {total} bytes received")
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            raise ProtocolError(f"timed out with {got_before + got} of {total} bytes received") from None
        if not chunk:
            raise ProtocolError(f"connection closed after {got_before + got} of {total} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(sock, deadline, max_frame=MAX_RESPONSE):
    """The body of one frame."""
    (total,) = HEADER.unpack(recv_exact(sock, HEADER.size, deadline, 0, "4 header"))
    if total < HEADER.size:
        raise ProtocolError(f"frame length {total} is less than its 4-byte header")
    if total > max_frame:
        raise ProtocolError(f"frame of {total} bytes exceeds the limit of {max_frame}")
    return recv_exact(sock, total - HEADER.size, deadline, HEADER.size, total)


def call_raw(addr, body, timeout=10.0):
    """Sends body (bytes) as one frame and returns the response body (bytes)."""
    deadline = time.monotonic() + timeout
    sock = connect(addr, deadline)
    try:
        send_error = None
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.sendall(encode_frame(body))
        except socket.timeout:
            raise ProtocolError(f"{addr}: timed out sending the request") from None
        except OSError as e:
            # A server that refuses early answers and closes: read that answer.
            send_error = e
        try:
            return read_frame(sock, deadline)
        except ProtocolError as e:
            if send_error is not None:
                raise ProtocolError(f"{addr}: sending: {send_error.strerror or send_error}") from None
            raise ProtocolError(f"{addr}: {e}") from None
    finally:
        sock.close()


def decode_response(addr, body):
    try:
        resp = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"{addr}: malformed response: {e}") from None
    if not isinstance(resp, dict) or not isinstance(resp.get("status"), str):
        raise ProtocolError(f'{addr}: malformed response: not an object with a string "status"')
    return resp


def call(addr, request, timeout=10.0):
    """One request (a dict, or bytes sent as they are) -> the response dict."""
    if isinstance(request, (bytes, bytearray)):
        body = bytes(request)
    else:
        body = json.dumps(request, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")
    return decode_response(addr, call_raw(addr, body, timeout))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Send one request to a tsdb server and print the response.")
    ap.add_argument("--server", default=os.environ.get("TSDB_SERVER") or DEFAULT_SERVER,
                    help="HOST:PORT, [IPV6]:PORT, HOST or unix:PATH "
                         "(default: $TSDB_SERVER, else %(default)s)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds in all (default 10)")
    ap.add_argument("--raw", action="store_true", help="send REQUEST's bytes unchecked")
    ap.add_argument("--pretty", action="store_true", help="indent the response")
    ap.add_argument("request", help='the request JSON, e.g. \'{"op":"info"}\' ("-": stdin)')
    args = ap.parse_args(argv)   # exits 2 on a usage error

    text = sys.stdin.buffer.read() if args.request == "-" else os.fsencode(args.request)
    if not args.raw:
        try:
            json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            print(f"pyclient.py: the request is not JSON: {e} (use --raw to send it anyway)",
                  file=sys.stderr)
            return 2
    try:
        body = call_raw(args.server, text, args.timeout)
        resp = decode_response(args.server, body)
    except ProtocolError as e:
        print(f"pyclient.py: {e}", file=sys.stderr)
        return 3
    if args.pretty:
        print(json.dumps(resp, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(body.decode("utf-8") + "\n")
    return 0 if resp["status"] == "OK" else 4


if __name__ == "__main__":
    sys.exit(main())
