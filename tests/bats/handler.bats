#!/usr/bin/env bats
# handler.bats - tsdb-handler end to end: through systemd-socket-activate
# --accept (TCP and a unix socket, as tsdb.socket runs it) and inetd style
# (a frame piped into stdin): every op, every error status, the clients
# (simsearch, pyclient.py) and their exit codes, agreement with the local
# search, read-only operation as an unprivileged user, and the systemd units.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db"
	make_db "$DB" 300 64
	export TCP_LOG="$BATS_FILE_TMPDIR/tcp.log" SLOW_LOG="$BATS_FILE_TMPDIR/slow.log"
	serve_tcp TCP "$TCP_LOG" --db "$DB"
	serve_tcp SLOW "$SLOW_LOG" --db "$DB" --timeout 1
	export TCP SLOW
	# A unix socket path must fit in 108 bytes: a short directory of its own.
	SOCKDIR=$(mktemp -d /tmp/tsdb-bats.XXXXXX)
	export SOCKDIR UNIX_LOG="$BATS_FILE_TMPDIR/unix.log"
	serve "$SOCKDIR/tsdb.sock" "$UNIX_LOG" --db "$DB"
}

teardown_file() {
	stop_servers
	rm -rf "$SOCKDIR"
	# Directories made outside $BATS_FILE_TMPDIR (other users must reach them).
	[ ! -f "$BATS_FILE_TMPDIR/cleanup" ] || xargs -r rm -rf <"$BATS_FILE_TMPDIR/cleanup"
}

setup() {
	load helpers/handler
	load helpers/units
}

# --- every op, OK ------------------------------------------------------

@test "inetd: info describes the database, logs one <6> line" {
	run inetd '{"op":"info"}' --db "$DB"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.op, .status, .payload.length, .payload.series, .payload.vantage_points_chosen, has("error")]' <<<"$output")" = '["info","OK",64,300,true,false]' ]
	jq -e '.payload | (.format_version == 3) and (.mult == 1) and (.txn >= 2) and (.file_bytes > 4096)
		and (.last_commit | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))' <<<"$output"
	run cat "$BATS_TEST_TMPDIR/inetd.log"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" =~ ^\<6\>tsdb-handler:\ op=info\ status=OK\ series=300\ ms=[0-9.]+\ recv_ms=[0-9.]+$ ]]
}

@test "inetd: get returns the inserted points bit for bit" {
	run inetd '{"op":"get","id":"ts-000042"}' --db "$DB"
	[ "$status" -eq 0 ]
	"$PYTHON" - "$DB.jsonl" "$output" <<'EOF'
import json, struct, sys
want = next(s for s in map(json.loads, open(sys.argv[1])) if s["id"] == "ts-000042")
resp = json.loads(sys.argv[2])
assert resp["status"] == "OK" and resp["op"] == "get", resp
got = resp["payload"]
bits = lambda xs: [struct.pack("<d", float(x)) for x in xs]
assert got["id"] == "ts-000042" and got["meta"] is None, got
assert bits(got["t"]) == bits(want["t"]) and bits(got["v"]) == bits(want["v"])
EOF
}

@test "inetd: list pages through every id in byte order; prefix narrows it" {
	local after='' ids='' page
	while :; do
		if [ -z "$after" ]; then
			page=$(inetd '{"op":"list","limit":64}' --db "$DB")
		else
			page=$(inetd "{\"op\":\"list\",\"limit\":64,\"after\":\"$after\"}" --db "$DB")
		fi
		ids+=$(jq -r '.payload.ids[]' <<<"$page")$'\n'
		after=$(jq -r '.payload.ids[-1]' <<<"$page")
		[ "$(jq .payload.more <<<"$page")" = true ] || break
	done
	[ "$(grep -c . <<<"$ids")" -eq 300 ]
	diff <(grep . <<<"$ids") <(jq -r .id "$DB.jsonl" | LC_ALL=C sort)
	run inetd '{"op":"list","prefix":"ts-00001"}' --db "$DB"
	[ "$(jq -c '[(.payload.ids | length), .payload.ids[0], .payload.ids[9], .payload.more]' <<<"$output")" = '[10,"ts-000010","ts-000019",false]' ]
	run cat "$BATS_TEST_TMPDIR/inetd.log"
	[[ "$output" == "<6>tsdb-handler: op=list status=OK limit=100 results=10 series=300 "* ]]
}

@test "TCP: with_id gives exactly the local search's results (and brute force's)" {
	local id
	for id in ts-000000 ts-000123 ts-000299; do
		run pyc --server "$TCP" "{\"op\":\"with_id\",\"id\":\"$id\",\"k\":10}"
		[ "$status" -eq 0 ]
		local remote=$output
		run tsdb search --db "$DB" --id "$id" -k 10 --json
		[ "$status" -eq 0 ]
		local pruned=$output
		run tsdb search --db "$DB" --id "$id" -k 10 --json --brute
		[ "$status" -eq 0 ]
		"$PYTHON" - "$remote" "$pruned" "$id" "$output" <<'EOF'
import json, sys
remote = json.loads(sys.argv[1])["payload"]
local, brute = json.loads(sys.argv[2]), json.loads(sys.argv[4])
pairs = lambda rs: [(r["id"], r["distance"]) for r in rs]
assert remote["k"] == 10 and remote["series"] == 300 and 10 <= remote["computed"] <= 299, remote
assert len(remote["results"]) == 10, remote
assert remote == local, (remote, local)   # the same payload, byte for byte in value
assert pairs(remote["results"]) == pairs(brute["results"]), (remote, brute)
assert sys.argv[3] not in [r["id"] for r in remote["results"]]
keys = [(r["distance"], r["id"].encode()) for r in remote["results"]]
assert keys == sorted(keys)
EOF
	done
}

@test "TCP: with_ts finds the stored series itself first, in every series shape" {
	local ts
	ts=$(jq -c 'select(.id == "ts-000005") | {t, v}' "$DB.jsonl")
	local shapes=(
		"$ts"
		"$(jq -c '{time_points: .t, data_points: .v}' <<<"$ts")"
		"$(jq -c '[.t, .v]' <<<"$ts")"
		"$(jq -c '[.t, .v] | transpose' <<<"$ts")"
	)
	local first=''
	for s in "${shapes[@]}"; do
		run pyc --server "$TCP" "{\"op\":\"with_ts\",\"ts\":$s,\"k\":4}"
		[ "$status" -eq 0 ]
		jq -e '.op == "with_ts" and .payload.k == 4 and (.payload.results | length) == 4
			and .payload.results[0].id == "ts-000005" and .payload.results[0].distance < 1e-6' <<<"$output"
		local got
		got=$(jq -c '.payload.results' <<<"$output")
		[ -z "$first" ] || [ "$got" = "$first" ]
		first=$got
	done
}

@test "TCP: within holds every series within the radius, sorted; limit truncates" {
	run pyc --server "$TCP" '{"op":"with_id","id":"ts-000007","k":8}'
	local r
	r=$(jq '.payload.results[7].distance' <<<"$output")
	run pyc --server "$TCP" "{\"op\":\"within\",\"id\":\"ts-000007\",\"radius\":$r}"
	[ "$status" -eq 0 ]
	jq -e --argjson r "$r" '.op == "within" and .payload.radius == $r and .payload.series == 300
		and .payload.truncated == false and (.payload.results | length) >= 8
		and all(.payload.results[]; .distance <= $r and .id != "ts-000007")
		and ([.payload.results[].distance] == ([.payload.results[].distance] | sort))' <<<"$output"
	run pyc --server "$TCP" '{"op":"within","id":"ts-000007","radius":2,"limit":3}'
	jq -e '.payload.truncated == true and (.payload.results | length) == 3' <<<"$output"
	run pyc --server "$TCP" '{"op":"within","ts":[[0,0.25,0.5,0.75],[1,2,3,2]],"radius":0}'
	jq -e '.status == "OK" and .payload.radius == 0 and .payload.truncated == false' <<<"$output"
}

@test "TCP: shape > 0 adds shape arrays of that length, else none" {
	run pyc --server "$TCP" '{"op":"with_id","id":"ts-000001","k":3,"shape":16}'
	jq -e '(.payload.query_shape | length) == 16 and all(.payload.results[]; (.shape | length) == 16)' <<<"$output"
	run pyc --server "$TCP" '{"op":"within","id":"ts-000001","radius":0.5,"limit":5,"shape":3}'
	jq -e '(.payload.query_shape | length) == 3 and all(.payload.results[]; (.shape | length) == 3)' <<<"$output"
	run pyc --server "$TCP" '{"op":"with_id","id":"ts-000001","k":3}'
	jq -e '(.payload | has("query_shape") | not) and all(.payload.results[]; has("shape") | not)' <<<"$output"
}

@test "TCP: the log line names the op, counts and the peer" {
	run pyc --server "$TCP" '{"op":"with_id","id":"ts-000002","k":10}'
	[ "$status" -eq 0 ]
	wait_log "$TCP_LOG" '^<6>tsdb-handler: op=with_id status=OK k=10 results=10 computed=[0-9]+ series=300 ms=[0-9.]+ recv_ms=[0-9.]+ peer=127\.0\.0\.1:[0-9]+$'
	run pyc --server "$TCP" '{"op":"get","id":"no such id"}'
	[ "$status" -eq 4 ]
	wait_log "$TCP_LOG" "^<4>tsdb-handler: op=get status=INVALID_KEY series=300 .* error=\"no series with id 'no such id'\"$"
}

@test "unix socket: pyclient and simsearch get answers; the log says peer=unix" {
	run pyc --server "unix:$SOCKDIR/tsdb.sock" '{"op":"info"}'
	[ "$status" -eq 0 ]
	[ "$(status)" = OK ]
	run simsearch --server "unix:$SOCKDIR/tsdb.sock" --id ts-000001 -k 3
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^ +[0-9]+ +ts-[0-9]{6} +[0-9.]+$' <<<"$output")" -eq 3 ]
	wait_log "$UNIX_LOG" '^<6>tsdb-handler: op=with_id status=OK k=3 .* peer=unix$'
}

@test "integer ids: a series file's \"id\": 105 is the series \"105\", found by {\"id\": 105} and by simsearch" {
	local db="$BATS_TEST_TMPDIR/idb" addr
	tsdb init --db "$db" --length 64 >/dev/null
	tsdb gen 20 --length 64 | jq -c '.id = (100 + (.id[3:] | tonumber))' >"$BATS_TEST_TMPDIR/int.jsonl"
	grep -q '"id":105,' "$BATS_TEST_TMPDIR/int.jsonl"
	tsdb insert --db "$db" "$BATS_TEST_TMPDIR/int.jsonl" >/dev/null
	run -0 tsdb list --db "$db" --limit 1
	[ "$output" = 100 ]
	run inetd '{"op":"get","id":105}' --db "$db"
	[ "$(status)" = OK ]
	[ "$(jq -r .payload.id <<<"$output")" = 105 ]
	local by_int by_string
	run inetd '{"op":"with_id","id":105,"k":3}' --db "$db"
	by_int=$(jq -c .payload <<<"$output")
	run inetd '{"op":"with_id","id":"105","k":3}' --db "$db"
	by_string=$(jq -c .payload <<<"$output")
	[ "$(jq '.results | length' <<<"$by_int")" -eq 3 ]
	[ "$by_int" = "$by_string" ]
	run inetd '{"op":"list","after":118}' --db "$db"
	[ "$(jq -c .payload.ids <<<"$output")" = '["119"]' ]
	serve_tcp addr "$BATS_TEST_TMPDIR/int.log" --db "$db"
	run -0 simsearch --server "$addr" --id 105 -k 3 --json
	[ "$(jq -c . <<<"$output")" = "$by_int" ]
}

@test "simsearch: exit 0 answered, 2 usage, 3 nobody listening, 4 error status" {
	run simsearch --server "$TCP" --id ts-000010 -k 5 --json
	[ "$status" -eq 0 ]
	jq -e '(.results | length) == 5' <<<"$output"
	run simsearch --server "$TCP" --no-such-option
	[ "$status" -eq 2 ]
	run simsearch --server "127.0.0.1:$(free_port)" info
	[ "$status" -eq 3 ]
	# get prints the shortest text of each double, as tsdb get does
	run -0 simsearch --server "$TCP" get ts-000003
	[ "$(grep -v '^#' <<<"$output")" = "$(tsdb get --db "$DB" ts-000003 | grep -v '^#')" ]
	run simsearch --server "$TCP" get nope
	[ "$status" -eq 4 ]
	[[ "$output" == *INVALID_KEY*"no series with id 'nope'"* ]]
	run simsearch --server "$TCP" --within 0.3 --id ts-000010
	[ "$status" -eq 0 ]
}

@test "pyclient: every op answers correctly through the Python client" {
	run pyc --server "$TCP" '{"op":"info"}'
	[ "$status" -eq 0 ]
	jq -e '.payload.series == 300 and .payload.length == 64' <<<"$output"
	run pyc --server "$TCP" '{"op":"list","limit":2,"after":"ts-000100"}'
	[ "$(jq -c .payload <<<"$output")" = '{"ids":["ts-000101","ts-000102"],"more":true}' ]
	run pyc --server "$TCP" '{"op":"get","id":"ts-000299"}'
	jq -e '.payload.id == "ts-000299" and (.payload.t | length) == 64' <<<"$output"
	run pyc --server "$TCP" '{"op":"with_id","id":"ts-000299"}'
	jq -e '.payload.k == 5 and (.payload.results | length) == 5' <<<"$output"
	run pyc --server "$TCP" '{"op":"nope"}'
	[ "$status" -eq 4 ]
}

# --- every error status ------------------------------------------------

@test "TOO_LARGE: a frame over max-frame is refused unread; so are too many points" {
	# 9 MiB against the default 8 MiB: answered before the body is read.
	head -c $((9 << 20)) /dev/zero | tr '\0' ' ' >"$BATS_TEST_TMPDIR/big"
	run pyc --server "$TCP" --raw - <"$BATS_TEST_TMPDIR/big"
	[ "$status" -eq 4 ]
	[ "$(jq -c '[.op, .status, .payload]' <<<"$output")" = '[null,"TOO_LARGE",null]' ]
	[[ "$(jq -r .error <<<"$output")" == "frame of 9437188 bytes exceeds the limit of 8388608 bytes" ]]
	run inetd '{"op":"info","pad":"0123456789"}' --db "$DB" --max-frame 20
	[ "$status" -eq 0 ]
	[ "$(status)" = TOO_LARGE ]
	grep -q '^<4>tsdb-handler: op=- status=TOO_LARGE' "$BATS_TEST_TMPDIR/inetd.log"
	run inetd '{"op":"with_ts","ts":{"t":[0,0.1,0.2,0.3,0.4,0.5],"v":[1,2,3,4,5,6]}}' --db "$DB" --max-points 5
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '["with_ts","TOO_LARGE"]' ]
}

@test "TOO_LARGE: a response with more shape values than allowed" {
	run inetd '{"op":"within","id":"ts-000001","radius":2,"shape":256}' --db "$DB" --max-shape-values 10000
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '["within","TOO_LARGE"]' ]
	[[ "$(jq -r .error <<<"$output")" == *"76800 shape values (299 results)"* ]]
	run inetd '{"op":"within","id":"ts-000001","radius":2,"limit":30,"shape":256}' --db "$DB" --max-shape-values 10000
	[ "$(status)" = OK ]
}

@test "TIMEOUT: a request that does not arrive in time gets a TIMEOUT frame" {
	local t0=$SECONDS
	# The header promises 100 bytes; 6 come, then nothing.
	run "$PYTHON" "$FRAME" send "$SLOW" --length 100 '{"op":'
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '[null,"TIMEOUT"]' ]
	[[ "$(jq -r .error <<<"$output")" == "timed out after 1000 ms with 10 of 100 bytes received" ]]
	[ $((SECONDS - t0)) -le 3 ]
	wait_log "$SLOW_LOG" '^<4>tsdb-handler: op=- status=TIMEOUT .*recv_ms=1[0-9]{3}\.'
}

@test "TIMEOUT: the deadline is total: a byte every 0.2 s does not extend it" {
	run bash -c '{ "$PYTHON" "$1" encode --length 50 "{"; for i in $(seq 9); do sleep 0.2; printf x; done; } |
		"$2" --db "$3" --timeout 1 2>"$4" | "$PYTHON" "$1" decode' _ "$FRAME" "$HANDLER" "$DB" "$BATS_TEST_TMPDIR/log"
	[ "$(status)" = TIMEOUT ]
	grep -qE 'recv_ms=1[0-9]{3}\.' "$BATS_TEST_TMPDIR/log"
}

# Each of these sends its requests one per handler, inetd style, and checks
# every answer's [op, status]; $output is printed on failure.

@test "BAD_REQUEST: malformed frames and bodies that are not a JSON object" {
	local deep65 deep64
	deep65=$(printf '{"op":"info","x":%s1%s}' "$(printf '[%.0s' {1..64})" "$(printf ']%.0s' {1..64})")
	deep64=$(printf '{"op":"info","x":%s1%s}' "$(printf '[%.0s' {1..63})" "$(printf ']%.0s' {1..63})")
	run inetd_many --db "$DB" < <(printf '%s\n' '' '{"op":' '[1,2]' '"info"' '{"op":"info"} x' \
		'{"op":"info","op":"get"}' '{"op":"info","x":NaN}' '{"op":"info","x":1e400}' \
		$'{"op":"get","id":"\xff"}' "$deep65" "$deep64")
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 11 ]
	[ "$(head -n 10 <<<"$output" | jq -c '[.op, .status, .payload]' | sort -u)" = '[null,"BAD_REQUEST",null]' ]
	# 63 levels inside the request object are fine (64 in all).
	[ "$(tail -n 1 <<<"$output" | jq -r .status)" = OK ]
	[ "$(grep -c '^<4>tsdb-handler: op=- status=BAD_REQUEST' "$BATS_TEST_TMPDIR/inetd.log")" -eq 10 ]
	# A length below the header's own 4 bytes.
	run "$PYTHON" "$FRAME" send "$TCP" --length 3 ''
	[ "$(status)" = BAD_REQUEST ]
	[[ "$(jq -r .error <<<"$output")" == "frame length 3 is less than its 4-byte header" ]]
}

@test "INVALID_OPERATION: unknown, missing or non-string op" {
	run inetd_many --db "$DB" < <(printf '%s\n' '{"op":"drop"}' '{"op":"INFO"}' '{}' '{"op":1}' '{"op":null}')
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 5 ]
	[ "$(jq -c '[.op, .status]' <<<"$output" | sort -u)" = '[null,"INVALID_OPERATION"]' ]
	[[ "$(head -n 1 <<<"$output" | jq -r .error)" == "unknown op 'drop'"* ]]
}

@test "INVALID_KEY: ids that are not stored or not ids" {
	run inetd_many --db "$DB" < <(printf '%s\n' '{"op":"get","id":"nope"}' '{"op":"with_id","id":"nope"}' \
		'{"op":"within","id":"nope","radius":1}' '{"op":"get","id":""}' '{"op":"get","id":"a\u0001b"}' \
		"{\"op\":\"list\",\"after\":\"$(printf 'x%.0s' {1..256})\"}")
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.op, .status]' <<<"$output" | tr '\n' ' ')" = '["get","INVALID_KEY"] ["with_id","INVALID_KEY"] ["within","INVALID_KEY"] ["get","INVALID_KEY"] ["get","INVALID_KEY"] ["list","INVALID_KEY"] ' ]
	[ "$(sed -n 2p <<<"$output" | jq -r .error)" = "no series with id 'nope'" ]
}

@test "INVALID_COMPONENT: missing, mistyped and out-of-range fields" {
	run inetd_many --db "$DB" --max-k 8 < <(printf '%s\n' '{"op":"with_id"}' \
		'{"op":"with_id","id":"ts-000001","k":0}' '{"op":"with_id","id":"ts-000001","k":9}' \
		'{"op":"with_id","id":"ts-000001","k":2.5}' '{"op":"with_id","id":"ts-000001","k":"5"}' \
		'{"op":"with_id","id":"ts-000001","shape":257}' '{"op":"with_id","id":5.5}' \
		'{"op":"with_ts","ts":"x"}' '{"op":"with_ts"}' '{"op":"within","id":"ts-000001"}' \
		'{"op":"within","id":"ts-000001","radius":-1}' '{"op":"within","radius":1}' \
		'{"op":"within","id":"ts-000001","ts":[[0,1],[0.5,2],[0.25,0],[0.75,1]],"radius":1}' \
		'{"op":"list","limit":0}' '{"op":"list","prefix":7}')
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 15 ]
	[ "$(jq -r .status <<<"$output" | sort -u)" = INVALID_COMPONENT ]
	[ "$(jq -r .op <<<"$output" | sort -u | tr '\n' ' ')" = 'list with_id with_ts within ' ]
	# The configured bound is the one named.
	[ "$(sed -n 3p <<<"$output" | jq -r .error)" = "field 'k' must be an integer in 1..8, not 9" ]
}

@test "INVALID_SERIES: query series that fail validation" {
	local ts
	run inetd_many --db "$DB" < <(for ts in '{"t":[0,0.25,0.5,0.75],"v":[1,1,1,1]}' '{"t":[0,0.5,0.7],"v":[1,2,3]}' \
		'{"t":[0,0.25,0.5,1.0],"v":[1,2,3,4]}' '{"t":[0,0.25,0.5,0.75],"v":[1,2,3]}' \
		'{"t":[0,0.25,0.5,0.75],"v":[1,2,3,4],"band":"V"}' '{"t":[0,0.25,0.5,0.75],"v":[1,"2",3,4]}'; do
		echo "{\"op\":\"with_ts\",\"ts\":$ts}"
		echo "{\"op\":\"within\",\"ts\":$ts,\"radius\":1}"
	done)
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 12 ]
	[ "$(jq -c .status <<<"$output" | sort -u)" = '"INVALID_SERIES"' ]
}

@test "DB_UNAVAILABLE: no database there (and a bad request never opens it)" {
	run inetd '{"op":"info"}' --db "$BATS_TEST_TMPDIR/none"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '["info","DB_UNAVAILABLE"]' ]
	grep -q '^<3>tsdb-handler: op=info status=DB_UNAVAILABLE' "$BATS_TEST_TMPDIR/inetd.log"
	# Without --db: $TSDB_DB.
	TSDB_DB="$BATS_TEST_TMPDIR/none" run inetd '{"op":"info"}'
	[ "$(status)" = DB_UNAVAILABLE ]
	TSDB_DB="$DB" run inetd '{"op":"info"}'
	[ "$(status)" = OK ]
	run inetd '{"op":"nope"}' --db "$BATS_TEST_TMPDIR/none"
	[ "$(status)" = INVALID_OPERATION ]
}

@test "DB_CORRUPT: a damaged file header, commit records or series record" {
	local bad="$BATS_TEST_TMPDIR/bad"
	cp -r "$DB" "$bad"
	printf 'XXXXXXXX' | dd of="$bad/tsdb.db" bs=1 seek=0 conv=notrunc status=none
	run inetd '{"op":"info"}' --db "$bad"
	[ "$status" -eq 0 ]
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '["info","DB_CORRUPT"]' ]
	grep -q '^<3>tsdb-handler: op=info status=DB_CORRUPT' "$BATS_TEST_TMPDIR/inetd.log"

	rm -rf "$bad"
	cp -r "$DB" "$bad"
	printf '\xff\xff\xff\xff' | dd of="$bad/tsdb.db" bs=1 seek=1100 conv=notrunc status=none
	printf '\xff\xff\xff\xff' | dd of="$bad/tsdb.db" bs=1 seek=2124 conv=notrunc status=none
	run inetd '{"op":"list"}' --db "$bad"
	[ "$(status)" = DB_CORRUPT ]

	# One byte of one series record: that record fails its checksum.
	rm -rf "$bad"
	cp -r "$DB" "$bad"
	"$PYTHON" - "$bad/tsdb.db" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b"ts-000005", 4096)
assert at > 0
data[at - 8] ^= 0xff   # inside the record's float data, before its id
open(sys.argv[1], "wb").write(data)
EOF
	run inetd '{"op":"get","id":"ts-000005"}' --db "$bad"
	[ "$(jq -c '[.op, .status]' <<<"$output")" = '["get","DB_CORRUPT"]' ]
	run inetd '{"op":"get","id":"ts-000006"}' --db "$bad"
	[ "$(status)" = OK ]
}

# --- connections that go wrong -------------------------------------------

@test "a peer that leaves before a request gets no frame, just a log line" {
	"$PYTHON" -c 'import socket, sys; h, p = sys.argv[1].rsplit(":", 1); socket.create_connection((h, int(p))).close()' "$TCP"
	wait_log "$TCP_LOG" '^<4>tsdb-handler: op=- status=IO_ERROR .*peer=127\.0\.0\.1:[0-9]+ response=none error="connection closed before a frame"$'
	# Half a frame, then the client stops writing: still nothing to answer.
	run "$PYTHON" "$FRAME" send "$TCP" --shut --length 100 '{"op":'
	[ "$status" -eq 3 ]
	wait_log "$TCP_LOG" 'status=IO_ERROR .*error="connection closed after 10 of 100 bytes"$'
	# inetd: an empty stdin.
	run "$HANDLER" --db "$DB" </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == "<4>tsdb-handler: op=- status=IO_ERROR "*" response=none error=\"connection closed before a frame\"" ]]
	# The server goes on serving.
	run pyc --server "$TCP" '{"op":"info"}'
	[ "$status" -eq 0 ]
}

@test "only one frame is read: bytes after it are left alone" {
	run bash -c '{ "$PYTHON" "$1" encode "{\"op\":\"info\"}"; printf "garbage"; } | "$2" --db "$3" 2>/dev/null | "$PYTHON" "$1" decode' \
		_ "$FRAME" "$HANDLER" "$DB"
	[ "$status" -eq 0 ]
	[ "$(status)" = OK ]
}

# --- process and deployment --------------------------------------------

@test "as an unprivileged user: answers every op and changes nothing under the db" {
	local ro
	# Outside $BATS_FILE_TMPDIR, whose 0700 parents nobody cannot traverse.
	ro=$(mktemp -d /tmp/tsdb-ro.XXXXXX)
	echo "$ro" >>"$BATS_FILE_TMPDIR/cleanup"
	chmod 755 "$ro"
	cp -r "$DB" "$ro/db"
	cp "$HANDLER" "$ro/tsdb-handler"
	chown -R root:root "$ro"
	chmod 755 "$ro/db"
	chmod 644 "$ro/db"/*
	local before after req nobody
	nobody="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
	before=$(find "$ro/db" -printf '%p %s %T@ %m %u\n' | sort)
	run $nobody touch "$ro/db/probe"   # the premise: nobody cannot write there
	[ "$status" -ne 0 ]
	for req in '{"op":"info"}' '{"op":"list"}' '{"op":"get","id":"ts-000003"}' \
		'{"op":"with_id","id":"ts-000003","k":10,"shape":8}' '{"op":"within","id":"ts-000003","radius":0.2}' \
		'{"op":"with_ts","ts":[[0,0.25,0.5,0.75],[1,2,3,2]]}' '{"op":"get","id":"nope"}'; do
		run bash -c '"$PYTHON" "$1" encode "$2" | $3 "$4/tsdb-handler" --db "$4/db" 2>/dev/null | "$PYTHON" "$1" decode' \
			_ "$FRAME" "$req" "$nobody" "$ro"
		[ "$status" -eq 0 ]
		[[ "$(status)" =~ ^(OK|INVALID_KEY)$ ]] || { echo "$req -> $output"; false; }
	done
	after=$(find "$ro/db" -printf '%p %s %T@ %m %u\n' | sort)
	[ "$before" = "$after" ]
}

@test "socket activation: LISTEN_FDS for us other than 1 is refused; another pid's is ignored" {
	run sh -c 'LISTEN_PID=$$ LISTEN_FDS=2 exec "$0" --db "$1" </dev/null' "$HANDLER" "$DB"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == "<3>tsdb-handler: LISTEN_FDS=2: expected exactly one connection"* ]]
	LISTEN_PID=1 LISTEN_FDS=1 run inetd '{"op":"info"}' --db "$DB"
	[ "$status" -eq 0 ]
	[ "$(status)" = OK ]
	# Accept=no (a listening socket as fd 3) is a misconfiguration, said so.
	local log="$BATS_TEST_TMPDIR/noaccept.log" port
	port=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$port" "$HANDLER" --db "$DB" >"$log" 2>&1 3>&- &
	echo "$!" >>"$BATS_FILE_TMPDIR/servers.pid"
	wait_log "$log" '^Listening on'
	run "$PYTHON" "$FRAME" send "127.0.0.1:$port" --timeout 2 '{"op":"info"}'
	[ "$status" -eq 3 ]   # reset or timed out: no answer
	wait_log "$log" '^<3>tsdb-handler: fd 3 is a listening socket: tsdb.socket needs Accept=yes$'
}

@test "options: --help, --version, and usage errors exit 2" {
	run "$HANDLER" --help
	[ "$status" -eq 0 ]
	[[ "$output" == "Usage: tsdb-handler"* ]]
	run "$HANDLER" --version
	[ "$status" -eq 0 ]
	[[ "$output" == "tsdb-handler (tsdb) "* ]]
	local bad
	for bad in --bogus "--max-k 0" "--max-frame 4" "--timeout 0" "--timeout 1x" "--max-points 3" \
		"--max-limit -1" "--db" "extra"; do
		# shellcheck disable=SC2086 # $bad is an option and its argument
		run "$HANDLER" $bad </dev/null
		[ "$status" -eq 2 ] || { echo "$bad -> $status $output"; false; }
		[[ "$output" == *"Try 'tsdb-handler --help'"* ]]
	done
}

@test "units: systemd-analyze verify accepts the substituted units" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local u="$BATS_TEST_TMPDIR/units"
	units_render "$u" "$TSDB_BIN" "$DB" "$BATS_TEST_TMPDIR/spool"
	# no manual pages installed here: install.bats checks that Documentation= resolves
	run systemd-analyze verify --man=no "$u/tsdb.socket" "$u/tsdb@.service" "$u/tsdb-ingest.service" "$u/tsdb-ingest.timer" \
		"$u/tsdb-init.service" "$u/tsdb-netns.service"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "units: systemd-analyze security scores tsdb@.service at most 2.5, the writers' services under 2.0" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
	local u="$BATS_TEST_TMPDIR/units" unit score
	units_render "$u" "$TSDB_BIN" "$DB" "$BATS_TEST_TMPDIR/spool"
	for unit in tsdb@.service tsdb-ingest.service tsdb-init.service; do
		score=$(units_exposure "$u/$unit")
		echo "# $unit exposure: $score" >&3
		[ -n "$score" ]
		if [ "$unit" = tsdb@.service ]; then
			awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'
		else
			awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'
		fi
		echo "# figure exposure-${unit%%[@.]*}: $score" >&3
	done
}
