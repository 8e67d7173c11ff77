"""tsdbclient - a client for tsdb servers (docs/PROTOCOL.md), standard library only.

    from tsdbclient import Client, InvalidKey
    c = Client("127.0.0.1:7411", timeout=10)
    c.info()["series"]
    for hit in c.with_id("ts-000001", k=5):
        print(hit["id"], hit["distance"])
    c.with_ts({"t": [0, .25, .5, .75], "v": [1, 2, 3, 2]}, k=3)
    c.within("ts-000001", radius=0.3)
    c.get("ts-000001")["v"]
    c.list(prefix="ts-00", limit=10)
    c.with_id("ts-000001", k=10, where={"level": "C", "order": {">=": 4}})
    c.select(where={"level": "C"}, fields=["order"], sort_by="-order", limit=10)

Each call opens one connection, sends one request and reads one response,
as the protocol says.  An answer other than OK raises the exception of its
status (InvalidKey for INVALID_KEY, TooLarge for TOO_LARGE, ...), each a
subclass of StatusError carrying .status, .error and .response; a failed
exchange (nobody listening, a timeout, a malformed frame) raises
ProtocolError.  Results are plain Python objects: dicts, lists, strings,
floats.  Addresses are "HOST:PORT", "[IPV6]:PORT", "HOST" (port 7411),
"unix:PATH" or "unix:@NAME" (an abstract socket).
"""

import json
import socket
import struct
import time

__all__ = [
    "Client", "TsdbError", "ProtocolError", "StatusError", "UnknownError", "InvalidOperation",
    "InvalidKey", "InvalidComponent", "PypeError", "InvalidSeries", "TooLarge", "Timeout",
    "BadRequest", "DbUnavailable", "DbCorrupt", "IoError", "DEFAULT_PORT",
]

DEFAULT_PORT = 7411
_HEADER = struct.Struct("<I")  # the whole frame's length, this header included
_MAX_RESPONSE = 256 << 20


class TsdbError(Exception):
    """Every error this module raises."""


class ProtocolError(TsdbError):
    """No usable response: address, connection, timeout, framing or JSON."""


class StatusError(TsdbError):
    """The server answered with a status other than OK."""

    status = None

    def __init__(self, error, response):
        super().__init__("%s: %s" % (response.get("status"), error))
        self.error = error
        self.response = response


def _status_class(name, status, doc):
    return type(name, (StatusError,), {"status": status, "__doc__": doc})


UnknownError = _status_class("UnknownError", "UNKNOWN_ERROR", "An internal failure of the server.")
InvalidOperation = _status_class("InvalidOperation", "INVALID_OPERATION", "An op the server does not know.")
InvalidKey = _status_class("InvalidKey", "INVALID_KEY", "An id that is malformed or not stored.")
InvalidComponent = _status_class("InvalidComponent", "INVALID_COMPONENT",
                                 "A request field missing, mistyped or out of range.")
PypeError = _status_class("PypeError", "PYPE_ERROR", "Never sent by tsdb (a course status).")
InvalidSeries = _status_class("InvalidSeries", "INVALID_SERIES", "A query series that fails validation.")
TooLarge = _status_class("TooLarge", "TOO_LARGE", "A request or an answer beyond the server's bounds.")
Timeout = _status_class("Timeout", "TIMEOUT", "The request did not arrive within the server's deadline.")
BadRequest = _status_class("BadRequest", "BAD_REQUEST", "A frame that is not a request.")
DbUnavailable = _status_class("DbUnavailable", "DB_UNAVAILABLE", "The server has no database.")
DbCorrupt = _status_class("DbCorrupt", "DB_CORRUPT", "The server's database is damaged.")
IoError = _status_class("IoError", "IO_ERROR", "A system call failed on the server.")

_BY_STATUS = {cls.status: cls for cls in (
    UnknownError, InvalidOperation, InvalidKey, InvalidComponent, PypeError, InvalidSeries,
    TooLarge, Timeout, BadRequest, DbUnavailable, DbCorrupt, IoError)}


def _parse_address(address):
    """(family, target) for an address string."""
    if address.startswith("unix:"):
        path = address[5:]
        if not path or path == "@":
            raise ProtocolError("%s: a unix socket needs a path or @NAME" % address)
        return socket.AF_UNIX, "\0" + path[1:] if path.startswith("@") else path
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or address[end + 1:end + 2] not in ("", ":"):
            raise ProtocolError("%s: expected [IPV6]:PORT" % address)
        host, port = address[1:end], address[end + 2:] or None
    else:
        host, sep, port = address.rpartition(":")
        if not sep:
            host, port = address, None
        elif ":" in host:
            raise ProtocolError("%s: write an IPv6 address as [ADDR]:PORT" % address)
    if not host:
        raise ProtocolError("%s: expected HOST:PORT, [IPV6]:PORT or unix:PATH" % address)
    if port is None:
        port = str(DEFAULT_PORT)
    if not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ProtocolError("%s: the port must be a number in 1..65535" % address)
    return None, (host, int(port))


class Client:
    """A tsdb server at address; every call gives up after timeout seconds."""

    def __init__(self, address="127.0.0.1:%d" % DEFAULT_PORT, timeout=10.0):
        self.address = address
        self.timeout = float(timeout)
        self._family, self._target = _parse_address(address)

    # ---- the ops ---------------------------------------------------------

    def info(self):
        """The database's parameters and counts (a dict)."""
        return self.call({"op": "info"})

    def get(self, id):
        """A stored series as inserted: {"id", "t", "v", "meta"}."""
        return self.call({"op": "get", "id": id})

    def list(self, prefix=None, after=None, limit=None):
        """Stored ids in byte order: {"ids": [...], "more": bool}."""
        return self.call(_request("list", prefix=prefix, after=after, limit=limit))

    def with_id(self, id, k=5, shape=None, where=None):
        """The k stored series nearest to stored series id (itself left out):
        a list of {"id", "distance"} (with "shape" when asked).  where (a
        filter, a dict as in PROTOCOL.md's "Filters") keeps only the series
        whose metadata matches: the k nearest among them."""
        return self.call(_request("with_id", id=id, k=k, shape=shape, where=where))["results"]

    def with_ts(self, ts, k=5, shape=None, where=None):
        """The k stored series nearest to the series ts: {"t": [...], "v": [...]},
        [[t...], [v...]] or [[t, v], ...]; where as for with_id."""
        return self.call(_request("with_ts", ts=ts, k=k, shape=shape, where=where))["results"]

    def within(self, id=None, radius=0.0, ts=None, limit=None, shape=None, where=None):
        """Every stored series within radius of stored series id or of the
        series ts (matching where, if given): the payload, {"results": [...],
        "truncated": bool, ...}."""
        return self.call(_request("within", id=id, ts=ts, radius=radius, limit=limit, shape=shape,
                                  where=where))

    def select(self, where=None, fields=None, sort_by=None, limit=None, offset=None):
        """The series whose metadata matches where (all without it): the
        payload {"count", "offset", "more", "results": [{"id", ["meta"]}]}.
        fields None gives ids only, [] all the metadata, a list those fields;
        sort_by "FIELD", "+FIELD" or "-FIELD" (by id without it); limit and
        offset page through the matches."""
        additional = {k: v for k, v in (("sort_by", sort_by), ("limit", limit), ("offset", offset))
                      if v is not None}
        return self.call(_request("select", md=where, fields=fields, additional=additional or None))

    # ---- the exchange ----------------------------------------------------

    def call(self, request):
        """Sends request (a dict) and returns the OK answer's payload; raises
        the StatusError subclass of any other status, or ProtocolError."""
        response = self.exchange(request)
        status = response.get("status")
        if status == "OK":
            return response.get("payload")
        cls = _BY_STATUS.get(status, StatusError)
        raise cls(response.get("error", ""), response)

    def exchange(self, request):
        """The whole response (a dict) to request, whatever its status."""
        body = json.dumps(request, separators=(",", ":"), allow_nan=False).encode("utf-8")
        deadline = time.monotonic() + self.timeout
        sock = self._connect()
        try:
            try:
                sock.sendall(_HEADER.pack(len(body) + _HEADER.size) + body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a server refusing a large request answers before reading it all
            except socket.timeout:
                raise ProtocolError("%s: timed out sending the request" % self.address) from None
            length, = _HEADER.unpack(self._exactly(sock, _HEADER.size, deadline))
            if not _HEADER.size <= length <= _MAX_RESPONSE:
                raise ProtocolError("%s: bad frame length %d" % (self.address, length))
            text = self._exactly(sock, length - _HEADER.size, deadline)
        finally:
            sock.close()
        try:
            response = json.loads(text.decode("utf-8"))
        except ValueError as e:
            raise ProtocolError("%s: the response is not JSON: %s" % (self.address, e)) from None
        if not isinstance(response, dict) or not isinstance(response.get("status"), str):
            raise ProtocolError("%s: the response has no status" % self.address)
        return response

    def _connect(self):
        family = self._family or socket.AF_INET
        try:
            if family == socket.AF_UNIX:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(self._target)
                except BaseException:
                    sock.close()
                    raise
                return sock
            return socket.create_connection(self._target, timeout=self.timeout)
        except socket.timeout:
            raise ProtocolError("cannot connect to %s: timed out" % self.address) from None
        except OSError as e:
            raise ProtocolError("cannot connect to %s: %s" % (self.address, e.strerror or e)) from None

    def _exactly(self, sock, n, deadline):
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProtocolError("%s: timed out reading the response" % self.address)
            sock.settimeout(left)
            try:
                chunk = sock.recv(min(n - got, 1 << 20))
            except socket.timeout:
                raise ProtocolError("%s: timed out reading the response" % self.address) from None
            except OSError as e:
                raise ProtocolError("%s: %s" % (self.address, e.strerror or e)) from None
            if not chunk:
                raise ProtocolError("%s: connection closed after %d of %d bytes" % (self.address, got, n))
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def _request(op, **fields):
    """A request with the fields that are not None."""
    request = {"op": op}
    request.update((k, v) for k, v in fields.items() if v is not None)
    return request
