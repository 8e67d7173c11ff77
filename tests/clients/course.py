#!/usr/bin/env python3
"""course.py - the similarity queries of three CS207 (Harvard, fall 2016)
course teams, sent to a tsdb server with the very bytes their code put on
the wire, and their responses read the way their code read them.

    course.py --style STYLE [--server HOST:PORT] [--timeout SECS] [--n N]
              [--as-tsdb] [--dry-run | --team] (--id ID | --ts FILE)

--id ID asks for the series nearest to a stored one, --ts FILE for those
nearest to the series in FILE (JSON {"t": [..], "v": [..]} or
{"time_points": [..], "data_points": [..]}, or text: time and value in
the first two whitespace-separated columns, '#' comments).  The output is
the response body as received, on one line.  --dry-run prints the request
frame in hex instead and connects nowhere.  --team prints, as JSON, what
the team's code makes of the response, or says on standard error how that
code fails on it.  --n sets the team's own count field (default 5, the
number their front ends always sent).  --as-tsdb replaces the team's op
and field names by tsdb's (type -> op, n / n_closest -> k, simsearch_id ->
with_id, simsearch_ts -> with_ts), everything else unchanged: NOT the
team's bytes, but what a server-side alias for them would amount to.

Exit status: 0 status OK (with --team: the team's code got through), 2
usage error or an input the team's front end itself refuses, 3 no usable
response, 4 any other status, 5 (--team) the team's code fails on the
response.  The default server is $TSDB_SERVER, else 127.0.0.1:7411.

The styles.  All three frame a message alike: a 4-byte little-endian
unsigned length that counts the whole frame, its 4 header bytes included,
then the JSON text made by Python's json.dumps with its default settings
(", " and ": " separators, non-ASCII escaped as \\uXXXX, keys in insertion
order), sent with one socket send() and answered by reading one recv() of
a fixed size.  This is tsdb's framing, so tsdb reads all their frames.

cs207-2016-web  "CS207 Team 3", github.com/cs207-2016/cs207project: the
    Flask site src/website/website.py (GET /simquery?id=ID, POST /simquery)
    through the op classes of src/dbserver/dbserver/tsdb_ops.py and the
    framing of src/dbserver/dbserver/tsdb_deserialize.py.  Sends
        {"op": "with_id", "id": "ID"}       the id is a string, as the
                                            query string gave it (the
                                            database names series after
                                            their files)
        {"op": "with_ts", "ts": {"time_points": [..], "data_points": [..]}}
                                            the uploaded JSON object, which
                                            the page requires to hold both
    and nothing else: no count (its server always answered with 6 series).
    Reads recv(65000), skips the 4 length bytes and parses the rest without
    checking that the frame is complete; then takes "payload" alone, which
    must be a JSON *string* holding a list of JSON strings, each a series
    {"time_points": .., "data_points": ..}.  "status" is never read (its
    server sent the TSDBStatus number there, 0 for OK).

gitrdone4-flask  github.com/gitrdone4/cs207project: the Flask API
    cs207project/flask/app/views.py (GET /simquery?the_id=ID takes
    int(ID); POST /simquery takes {"time": [..], "value": [..]}) through
    cs207project/socketclient/client.py and serialization.py.  Sends
        {"type": "with_id", "id": 12, "n": 5}       an integer id
        {"type": "with_ts", "ts": [[t, v], ...], "n": 5}
                                                   times and values as
                                                   floats; the front end
                                                   refuses repeated times
    The op is named by "type", not "op", and the count is "n" (always 5
    from the front end).  Reads recv(8192) once (if the frame is not all
    there it sleeps up to 15 s without reading more, then fails).  The
    answer it expects is the bare result object, no op/status/payload:
    {"error_type": .., "error": ..} on failure, else for with_id an object
    whose keys are distances and whose values are ids, which the view
    turns into [{"id": int(value), "distance": float(key)}, ...] in key
    order; for with_ts {"n_closest_dict": {distance: id, ..}, "tsid": id}.

slac207-rest  github.com/slac207/cs207project: the Flask API
    APIServer/rest.py (GET /simquery?id=ID&topn=N: an integer id in 0..999
    or HTTP 400; POST /simquery with {"ts": [[t..], [v..]]}) framing with
    TimeseriesDB/MessageFormatting.py.  Sends
        {"op": "simsearch_id", "id": 12, "n_closest": 5, "courtesy": "please"}
        {"op": "simsearch_ts", "ts": [[t, ...], [v, ...]], "n_closest": 5,
         "courtesy": "please"}
    (its server refused a request without the "courtesy").  Reads
    recv(8192) once and hands the parsed object unchanged to the web page
    (www/html/js/timeseries.js), which reads the ids from its "id" member,
    a list.

Written from reading those files, not copied from them: the code below is
this repository's own, and it only reproduces what went over the wire and
what was looked at in the answer.
"""

import argparse
import json
import os
import socket
import struct
import sys
import time

DEFAULT_SERVER = "127.0.0.1:7411"
HEADER = struct.Struct("<I")   # little-endian u32, header included


class Usage(Exception):
    """An argument the team's front end would not have let through."""


class TeamFails(Exception):
    """The team's code cannot read this response."""


def course_dumps(obj):
    """The JSON text as json.dumps(obj) writes it with no arguments."""
    return json.dumps(obj)


def frame(body_text):
    body = body_text.encode("utf-8")
    return HEADER.pack(len(body) + HEADER.size) + body


def unframe_like_the_course(first_recv):
    """(body bytes, complete?) of what one recv() returned, read the course
    way: the length from the first 4 bytes, the body up to that length."""
    if len(first_recv) < HEADER.size:
        return b"", False
    (total,) = HEADER.unpack(first_recv[:HEADER.size])
    return first_recv[HEADER.size:total], len(first_recv) >= total > 0


def parse_or_none(body):
    """The course Deserializer: the decoded JSON, or None when it is not."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def int_id(text, style):
    try:
        return int(text)
    except ValueError:
        raise Usage(f"{style}'s front end turns the id into an integer: {text!r} is not one") from None


class Cs2072016Web:
    name = "cs207-2016-web"
    recv_size = 65000

    def with_id(self, ident, n):
        if n is not None:
            raise Usage(f"{self.name} sends no count (--n)")
        return {"op": "with_id", "id": ident}

    def with_ts(self, times, values, n):
        if n is not None:
            raise Usage(f"{self.name} sends no count (--n)")
        return {"op": "with_ts", "ts": {"time_points": times, "data_points": values}}

    def read(self, kind, first_recv):
        body, _ = unframe_like_the_course(first_recv)
        msg = parse_or_none(body)
        if not isinstance(msg, dict):
            raise TeamFails("TypeError: the response did not parse, and None has no 'payload'")
        if "payload" not in msg:
            raise TeamFails("KeyError: 'payload'")
        payload = msg["payload"]
        if not isinstance(payload, str):
            raise TeamFails("TypeError: json.loads() of 'payload', which is "
                            f"{type(payload).__name__}, not a string")
        series = []
        try:
            for text in json.loads(payload):
                series.append(json.loads(text))
        except (TypeError, ValueError) as e:
            raise TeamFails(f"'payload' is not a JSON list of JSON texts: {e}") from None
        return {"similar_ids": list(range(6)), "similar_ts": series}


class Gitrdone4Flask:
    name = "gitrdone4-flask"
    recv_size = 8192

    def with_id(self, ident, n):
        return {"type": "with_id", "id": int_id(ident, self.name), "n": 5 if n is None else n}

    def with_ts(self, times, values, n):
        if len(set(times)) != len(times):
            raise Usage(f"{self.name}'s front end refuses repeated times (ValueError)")
        pairs = [[float(t), float(v)] for t, v in zip(times, values)]
        return {"type": "with_ts", "ts": pairs, "n": 5 if n is None else n}

    def read(self, kind, first_recv):
        body, complete = unframe_like_the_course(first_recv)
        if not complete:
            raise TeamFails("the frame did not come in one recv(8192): it waits 15 s, then fails")
        msg = parse_or_none(body)
        if not isinstance(msg, dict):
            raise TeamFails("TypeError: the response did not parse (None)")
        if "error_type" in msg:
            raise TeamFails(f"ValueError: {msg.get('error')}")
        if kind == "with_id":
            out = []
            for key in sorted(msg):
                try:
                    out.append({"id": int(msg[key]), "distance": float(key)})
                except (TypeError, ValueError) as e:
                    raise TeamFails(f"member {key!r} is not a distance with an id: "
                                    f"{type(e).__name__}: {e}") from None
            return out
        if "n_closest_dict" not in msg:
            raise TeamFails("KeyError: 'n_closest_dict'")
        closest = msg["n_closest_dict"]
        if not isinstance(closest, dict):
            raise TeamFails("AttributeError: 'n_closest_dict' has no items()")
        return {"n_closest_dict": dict(sorted(closest.items())), "tsid": msg.get("tsid")}


class Slac207Rest:
    name = "slac207-rest"
    recv_size = 8192

    def with_id(self, ident, n):
        value = int_id(ident, self.name)
        if not 0 <= value <= 999:
            raise Usage(f"{self.name}'s front end answers HTTP 400 to ids outside 0..999")
        return {"op": "simsearch_id", "id": value, "n_closest": 5 if n is None else n,
                "courtesy": "please"}

    def with_ts(self, times, values, n):
        return {"op": "simsearch_ts", "ts": [times, values], "n_closest": 5 if n is None else n,
                "courtesy": "please"}

    def read(self, kind, first_recv):
        body, _ = unframe_like_the_course(first_recv)
        msg = parse_or_none(body)
        ids = msg.get("id") if isinstance(msg, dict) else None
        if not isinstance(ids, list):
            raise TeamFails("TypeError in the page: the answer has no list 'id' "
                            "(it reads series.id.length)")
        return msg


STYLES = {s.name: s for s in (Cs2072016Web(), Gitrdone4Flask(), Slac207Rest())}

# --as-tsdb: the names a server alias would have to map, in place.
TSDB_NAMES = {"type": "op", "n": "k", "n_closest": "k"}
TSDB_OPS = {"simsearch_id": "with_id", "simsearch_ts": "with_ts"}


def as_tsdb(request):
    out = {}
    for key, value in request.items():
        key = TSDB_NAMES.get(key, key)
        if key == "op":
            value = TSDB_OPS.get(value, value)
        out[key] = value
    return out


def read_series(path):
    """(times, values) of the one series in path."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.lstrip()[:1] == "{":
        obj = json.loads(text)
        for tk, vk in (("t", "v"), ("time_points", "data_points")):
            if tk in obj and vk in obj:
                return list(obj[tk]), list(obj[vk])
        raise Usage(f"{path}: a JSON series needs t and v, or time_points and data_points")
    times, values = [], []
    for no, line in enumerate(text.splitlines(), 1):
        cols = line.split("#", 1)[0].split()
        if not cols:
            continue
        if len(cols) < 2:
            raise Usage(f"{path}:{no}: expected a time and a value")
        times.append(float(cols[0]))
        values.append(float(cols[1]))
    return times, values


def split_addr(addr):
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise Usage(f"{addr}: expected HOST:PORT (the teams spoke TCP)")
    return host.strip("[]"), int(port)


def exchange(addr, data, recv_size, timeout):
    """Sends data with one send() and returns (first recv(recv_size), the
    whole response frame's body).  The first is what the team's code had
    to work with; the second is read on to the frame's end, for checking
    the server's answer."""
    deadline = time.monotonic() + timeout
    with socket.create_connection(split_addr(addr), timeout=timeout) as sock:
        sent = sock.send(data)
        if sent != len(data):
            raise ConnectionError(f"one send() took {sent} of {len(data)} bytes: "
                                  "the team's client would have stopped there")
        first = sock.recv(recv_size)
        buf = first
        while True:
            if len(buf) >= HEADER.size:
                (total,) = HEADER.unpack(buf[:HEADER.size])
                if total < HEADER.size:
                    raise ConnectionError(f"frame length {total} is less than its header")
                if len(buf) >= total:
                    return first, buf[HEADER.size:total]
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionError(f"timed out with {len(buf)} bytes received")
            sock.settimeout(left)
            chunk = sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError(f"connection closed after {len(buf)} bytes")
            buf += chunk


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Send a course team's similarity query, byte for byte, to a tsdb server.")
    ap.add_argument("--style", required=True, choices=sorted(STYLES))
    ap.add_argument("--server", default=os.environ.get("TSDB_SERVER") or DEFAULT_SERVER)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--n", type=int, help="the team's count field (default 5)")
    ap.add_argument("--as-tsdb", action="store_true",
                    help="tsdb's op and field names instead of the team's")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the frame in hex")
    mode.add_argument("--team", action="store_true", help="print what the team's code reads")
    query = ap.add_mutually_exclusive_group(required=True)
    query.add_argument("--id")
    query.add_argument("--ts", metavar="FILE")
    args = ap.parse_args(argv)
    style = STYLES[args.style]

    try:
        if args.id is not None:
            kind, request = "with_id", style.with_id(args.id, args.n)
        else:
            times, values = read_series(args.ts)
            kind, request = "with_ts", style.with_ts(times, values, args.n)
        if args.as_tsdb:
            request = as_tsdb(request)
        data = frame(course_dumps(request))
        if args.dry_run:
            print(data.hex())
            return 0
        split_addr(args.server)
    except (Usage, OSError, ValueError) as e:
        print(f"course.py: {e}", file=sys.stderr)
        return 2

    try:
        first, body = exchange(args.server, data, style.recv_size, args.timeout)
    except OSError as e:
        print(f"course.py: {args.server}: {e}", file=sys.stderr)
        return 3
    resp = parse_or_none(body)
    if not isinstance(resp, dict) or not isinstance(resp.get("status"), str):
        print(f"course.py: {args.server}: not a tsdb response: {body[:200]!r}", file=sys.stderr)
        return 3
    if not args.team:
        sys.stdout.write(body.decode("utf-8") + "\n")
        return 0 if resp["status"] == "OK" else 4
    try:
        seen = style.read(kind, first)
    except TeamFails as e:
        print(f"course.py: {style.name}'s code fails on the {resp['status']} answer: {e}",
              file=sys.stderr)
        return 5
    print(json.dumps(seen, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
