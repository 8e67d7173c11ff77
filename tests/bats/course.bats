#!/usr/bin/env bats
# course.bats - three CS207 course teams' similarity queries, byte for byte
# as their code sent them (tests/clients/course.py says who sent what),
# against a served database with ids of both kinds they used: strings
# (ts-000007, série-1) and numeric-looking ones ("12", "51886").  What tsdb
# accepts must answer exactly as the brute-force local search does; what it
# refuses is refused with the status and reason written here, and
# --as-tsdb shows that with tsdb's names the same requests answer exactly.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db" Q="$BATS_FILE_TMPDIR/q"
	mkdir -p "$Q"
	tsdb init --db "$DB" --length 64 >/dev/null
	# String ids ts-000000..ts-000039, and one that is not ASCII.
	tsdb gen --seed 7 --length 64 40 >"$Q/named.jsonl"
	tsdb gen --seed 5 --length 64 1 | jq -c '.id = "série-1"' >>"$Q/named.jsonl"
	# Numeric-looking ids "0".."29"; the two data files add 51886 and 169975.
	tsdb gen --seed 11 --length 64 30 |
		jq -c '.id = (.id | ltrimstr("ts-") | tonumber | tostring)' >"$Q/numbered.jsonl"
	tsdb insert --db "$DB" "$Q/named.jsonl" "$Q/numbered.jsonl" \
		"$TSDB_ROOT"/tests/data/*.dat_folded >/dev/null
	# Query series: a stored one (id "12") in the course's object form, one
	# that is not stored, and four points for the byte-for-byte checks.
	jq -c 'select(.id == "12") | {time_points: .t, data_points: .v}' \
		"$Q/numbered.jsonl" >"$Q/stored12.json"
	tsdb gen --seed 99 --length 64 1 | jq -c '{t: .t, v: .v}' >"$Q/fresh.json"
	echo '{"t": [0.0, 0.25, 0.5, 0.75], "v": [1, 2, 3, 2]}' >"$Q/tiny.json"
	serve_tcp TCP "$BATS_FILE_TMPDIR/tcp.log" --db "$DB"
	export TCP
}

teardown_file() {
	load helpers/handler
	stop_servers
}

setup() {
	load helpers/handler
	COURSE="$TSDB_ROOT/tests/clients/course.py"
}

# course ARGS...: course.py against the served database.
course() {
	"$PYTHON" "$COURSE" --server "$TCP" "$@"
}

# frame_hex TEXT: the frame pyclient.py (tsdb's framing) makes of the body
# TEXT, in hex, as course.py --dry-run prints one.
frame_hex() {
	"$PYTHON" "$FRAME" encode "$1" | od -An -v -tx1 | tr -d ' \n'
}

# exact BODY SEARCH-ARGS...: BODY is an OK response whose results are the
# brute-force local search's (tsdb search --brute SEARCH-ARGS), ids and
# distances exactly, and not empty.
exact() {
	local body=$1 want got
	shift
	want=$(tsdb search --db "$DB" --json --brute "$@") || return 1
	want=$(jq -c .results <<<"$want") || return 1
	got=$(jq -c .payload.results <<<"$body") || return 1
	if [ "$(jq -r .status <<<"$body")" != OK ] || [ "$got" != "$want" ] ||
		[ "$(jq length <<<"$want")" -lt 1 ]; then
		printf 'got:  %s\nwant: %s\n' "$body" "$want" >&2
		return 1
	fi
}

# --- the bytes on the wire ---------------------------------------------

@test "with_id frames: little-endian length counting the header, json.dumps spacing" {
	run -0 "$PYTHON" "$COURSE" --style gitrdone4-flask --id 12 --dry-run
	[ "${output:0:8}" = 29000000 ]
	[ "$output" = "$(frame_hex '{"type": "with_id", "id": 12, "n": 5}')" ]
	run -0 "$PYTHON" "$COURSE" --style cs207-2016-web --id ts-000001 --dry-run
	[ "${output:0:8}" = 28000000 ]
	[ "$output" = "$(frame_hex '{"op": "with_id", "id": "ts-000001"}')" ]
	run -0 "$PYTHON" "$COURSE" --style slac207-rest --id 12 --dry-run
	[ "${output:0:8}" = 4a000000 ]
	[ "$output" = "$(frame_hex '{"op": "simsearch_id", "id": 12, "n_closest": 5, "courtesy": "please"}')" ]
	# Non-ASCII is escaped, as json.dumps does by default.
	run -0 "$PYTHON" "$COURSE" --style cs207-2016-web --id série-1 --dry-run
	[ "$output" = "$(frame_hex '{"op": "with_id", "id": "s\u00e9rie-1"}')" ]
}

@test "with_ts frames: each team's series shape" {
	run -0 "$PYTHON" "$COURSE" --style cs207-2016-web --ts "$Q/tiny.json" --dry-run
	[ "$output" = "$(frame_hex '{"op": "with_ts", "ts": {"time_points": [0.0, 0.25, 0.5, 0.75], "data_points": [1, 2, 3, 2]}}')" ]
	run -0 "$PYTHON" "$COURSE" --style gitrdone4-flask --ts "$Q/tiny.json" --dry-run
	[ "$output" = "$(frame_hex '{"type": "with_ts", "ts": [[0.0, 1.0], [0.25, 2.0], [0.5, 3.0], [0.75, 2.0]], "n": 5}')" ]
	run -0 "$PYTHON" "$COURSE" --style slac207-rest --ts "$Q/tiny.json" --dry-run
	[ "$output" = "$(frame_hex '{"op": "simsearch_ts", "ts": [[0.0, 0.25, 0.5, 0.75], [1, 2, 3, 2]], "n_closest": 5, "courtesy": "please"}')" ]
}

@test "the front ends' own refusals: integer ids, slac207's 0..999, no count for cs207-2016" {
	run -2 "$PYTHON" "$COURSE" --style gitrdone4-flask --id ts-000001 --dry-run
	[[ $output == *"not one"* ]]
	run -2 "$PYTHON" "$COURSE" --style slac207-rest --id 51886 --dry-run
	[[ $output == *"0..999"* ]]
	run -2 "$PYTHON" "$COURSE" --style cs207-2016-web --id ts-000001 --n 3 --dry-run
	[[ $output == *"no count"* ]]
}

# --- cs207-2016-web: accepted, exact; its reader wants another payload --

@test "cs207-2016-web with_id, string ids: the brute-force answer exactly" {
	local id
	for id in ts-000000 ts-000017 ts-000039 série-1 12 51886; do
		run -0 course --style cs207-2016-web --id "$id"
		exact "$output" --id "$id" -k 5
	done
}

@test "cs207-2016-web with_ts, the {time_points, data_points} object: exact" {
	run -0 course --style cs207-2016-web --ts "$Q/stored12.json"
	exact "$output" -k 5 "$Q/stored12.json"
	[ "$(jq -r '.payload.results[0] | "\(.id) \(.distance == 0)"' <<<"$output")" = "12 true" ]
	run -0 course --style cs207-2016-web --ts "$Q/fresh.json"
	exact "$output" -k 5 "$Q/fresh.json"
}

@test "cs207-2016-web's reader fails: it wants 'payload' as a JSON string of series" {
	run -5 course --style cs207-2016-web --id ts-000001 --team
	[[ $output == *"OK answer"*"payload"*"not a string"* ]]
	run -5 course --style cs207-2016-web --id nope --team
	[[ $output == *"INVALID_KEY answer"* ]]
}

# --- gitrdone4-flask: "type" instead of "op" is refused ------------------

@test "gitrdone4-flask: INVALID_OPERATION, missing field 'op'" {
	run -4 course --style gitrdone4-flask --id 12
	[ "$(status)" = INVALID_OPERATION ]
	[ "$(jq -r .error <<<"$output")" = "missing field 'op'" ]
	[ "$(jq -c .op <<<"$output")" = null ]
	run -4 course --style gitrdone4-flask --ts "$Q/fresh.json"
	[ "$(jq -r .error <<<"$output")" = "missing field 'op'" ]
	run -5 course --style gitrdone4-flask --id 12 --team
	[[ $output == *"is not a distance with an id"* ]]
	run -5 course --style gitrdone4-flask --ts "$Q/fresh.json" --team
	[[ $output == *"KeyError: 'n_closest_dict'"* ]]
}

@test "gitrdone4-flask --as-tsdb (op, k): integer ids answer exactly" {
	local id
	for id in 0 12 29 51886 169975; do
		run -0 course --style gitrdone4-flask --as-tsdb --id "$id"
		exact "$output" --id "$id" -k 5
	done
	run -0 course --style gitrdone4-flask --as-tsdb --id 12 --n 8
	exact "$output" --id 12 -k 8
	[ "$(jq '.payload.results | length' <<<"$output")" -eq 8 ]
	run -0 course --style gitrdone4-flask --as-tsdb --ts "$Q/fresh.json"
	exact "$output" -k 5 "$Q/fresh.json"
	run -0 course --style gitrdone4-flask --as-tsdb --ts "$TSDB_ROOT/tests/data/169975.dat_folded"
	exact "$output" -k 5 "$TSDB_ROOT/tests/data/169975.dat_folded"
}

# --- slac207-rest: its op names are not tsdb's --------------------------

@test "slac207-rest: INVALID_OPERATION, unknown op 'simsearch_id' / 'simsearch_ts'" {
	run -4 course --style slac207-rest --id 12
	[ "$(status)" = INVALID_OPERATION ]
	[[ $(jq -r .error <<<"$output") == "unknown op 'simsearch_id' "* ]]
	run -4 course --style slac207-rest --ts "$Q/fresh.json"
	[[ $(jq -r .error <<<"$output") == "unknown op 'simsearch_ts' "* ]]
	run -5 course --style slac207-rest --id 12 --team
	[[ $output == *"no list 'id'"* ]]
}

@test "slac207-rest --as-tsdb (with_id, with_ts, k): exact, [[t..],[v..]] series" {
	local id
	for id in 0 7 12 29; do
		run -0 course --style slac207-rest --as-tsdb --id "$id"
		exact "$output" --id "$id" -k 5
	done
	run -0 course --style slac207-rest --as-tsdb --id 3 --n 3
	exact "$output" --id 3 -k 3
	run -0 course --style slac207-rest --as-tsdb --ts "$Q/stored12.json"
	exact "$output" -k 5 "$Q/stored12.json"
	run -0 course --style slac207-rest --as-tsdb --ts "$TSDB_ROOT/tests/data/51886.dat_folded"
	exact "$output" -k 5 "$TSDB_ROOT/tests/data/51886.dat_folded"
}
