#!/usr/bin/env bats
# tsdbclient.bats - the Python client module (client/python/tsdbclient.py)
# against served databases: every op as plain Python objects, the same
# answers as the local search, one exception class per status, TCP and
# unix addresses, integer ids, filters and select.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db"
	make_db "$DB" 200 64
	serve_tcp TCP "$BATS_FILE_TMPDIR/tcp.log" --db "$DB" --max-points 100
	serve_tcp NODB "$BATS_FILE_TMPDIR/nodb.log" --db "$BATS_FILE_TMPDIR/none"
	export SOCK="$BATS_FILE_TMPDIR/tsdb.sock"
	serve "$SOCK" "$BATS_FILE_TMPDIR/unix.log" --db "$DB"
	# with the course's metadata, for the filters
	export MDB="$BATS_FILE_TMPDIR/mdb"
	tsdb init --db "$MDB" --length 64 >/dev/null
	tsdb gen --meta --length 64 500 | tsdb insert --db "$MDB" - >/dev/null
	serve_tcp META "$BATS_FILE_TMPDIR/meta.log" --db "$MDB"
	export TCP NODB META
}

teardown_file() {
	load helpers/handler
	stop_servers
}

setup() {
	load helpers/handler
}

# py CODE: CODE with tsdbclient importable and c = Client(TCP).
py() {
	PYTHONPATH="$TSDB_ROOT/client/python" "$PYTHON" -c "
import json, os, sys
from tsdbclient import *
c = Client(os.environ['TCP'], timeout=10)
$1"
}

@test "every op answers with plain Python objects" {
	run -0 py '
info = c.info()
assert info["series"] == 200 and info["length"] == 64, info
hits = c.with_id("ts-000001", k=5)
assert len(hits) == 5 and all(type(h["id"]) is str and type(h["distance"]) is float for h in hits)
assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
s = c.get("ts-000001")
assert s["id"] == "ts-000001" and len(s["t"]) == len(s["v"]) > 0
near = c.with_ts({"t": s["t"], "v": s["v"]}, k=1)
assert near[0]["id"] == "ts-000001" and near[0]["distance"] < 1e-6, near
w = c.within("ts-000001", radius=2, limit=3)
assert len(w["results"]) == 3 and w["truncated"] is True
page = c.list(prefix="ts-00001", limit=4)
assert page["ids"] == ["ts-000010", "ts-000011", "ts-000012", "ts-000013"], page
print("ok")'
	[ "$output" = ok ]
}

@test "answers are the local search's, ids and distances exactly" {
	run -0 py 'print(json.dumps(c.with_id("ts-000007", k=10)))'
	local mine=$output
	run -0 tsdb search --db "$DB" --id ts-000007 -k 10 --json
	[ "$(jq -c .results <<<"$output")" = "$(jq -c . <<<"$mine")" ]
}

@test "each status raises its own exception class, with status, error and response" {
	run -0 py '
def raises(cls, f):
    try:
        f()
    except cls as e:
        assert isinstance(e, StatusError) and e.status == cls.status, e
        assert e.response["status"] == cls.status and e.error, e.response
        return
    raise AssertionError("no %s" % cls.__name__)
raises(InvalidKey, lambda: c.get("nope"))
raises(InvalidComponent, lambda: c.with_id("ts-000001", k=0))
raises(InvalidOperation, lambda: c.call({"op": "drop"}))
raises(InvalidSeries, lambda: c.with_ts([[0, 0.5], [1, 2]]))
raises(TooLarge, lambda: c.with_ts([[i / 200 for i in range(200)], [i % 7 for i in range(200)]]))
raises(DbUnavailable, lambda: Client(os.environ["NODB"]).info())
print("ok")'
	[ "$output" = ok ]
}

@test "a failed exchange is a ProtocolError; addresses are checked" {
	run -0 py '
for bad in ("nobody:listening:here", "unix:", "host:99999", "[::1"):
    try:
        Client(bad)
    except ProtocolError:
        continue
    raise AssertionError(bad)
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
try:
    Client("127.0.0.1:%d" % port, timeout=2).info()
    raise AssertionError("answered")
except ProtocolError as e:
    assert "cannot connect" in str(e), e
print("ok")'
	[ "$output" = ok ]
}

@test "a unix socket address, and integer ids" {
	run -0 py '
u = Client("unix:" + os.environ["SOCK"])
assert u.info()["series"] == 200
assert u.with_id("ts-000003", k=2) == c.with_id("ts-000003", k=2)
try:
    c.get(12)
except InvalidKey as e:
    assert "12" in e.error, e.error
print("ok")'
	[ "$output" = ok ]
}

@test "filters and select: the local answers, exactly" {
	local where='{"level": "C", "order": {">=": 0}}'
	run -0 env WHERE="$where" PYTHONPATH="$TSDB_ROOT/client/python" "$PYTHON" -c '
import json, os
from tsdbclient import Client, InvalidComponent
c = Client(os.environ["META"], timeout=10)
where = json.loads(os.environ["WHERE"])
print(json.dumps([[h["id"], h["distance"]] for h in c.with_id("ts-000003", k=7, where=where)]))
page = c.select(where=where, fields=["order"], sort_by="-order", limit=5)
assert page["more"] is True and len(page["results"]) == 5, page
orders = [r["meta"]["order"] for r in page["results"]]
assert orders == sorted(orders, reverse=True), orders
print(page["count"])
try:
    c.select(where={"level": {"=~": "C"}})
except InvalidComponent as e:
    print(e.error)'
	echo "$output"
	[ "$(jq -c . <<<"${lines[0]}")" = "$(tsdb search --db "$MDB" --json --brute --id ts-000003 -k 7 --where "$where" | jq -c '[.results[] | [.id, .distance]]')" ]
	[ "${lines[1]}" -eq "$(tsdb select --db "$MDB" --where "$where" --limit 100000 | wc -l)" ]
	[ "${lines[2]}" = 'md.level: unknown operator "=~"' ]
}
