#!/usr/bin/env bats
# plot.bats - simsearch --plot end to end, against a served database: by
# FILE, by --id and with --within the SVG parses as XML, has a polyline per
# series drawn (the query and each result), and its legend holds each
# result's id and distance exactly as simsearch's table prints them; an id
# with XML's special characters comes out escaped and parses; a search
# that fails (server down, bad file, unknown id, nothing found, a foreign
# server's answer without shapes) leaves no file, or the old file as it was.

bats_require_minimum_version 1.5.0

# An id with every XML special character (and a CDATA end).
HOSTILE=$'x&y<z>"q\'s]]>'

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db"
	make_db "$DB" 200 64
	# a copy of ts-000007 under the hostile id: the same shape, distance 0
	jq -c --arg id "$HOSTILE" 'select(.id == "ts-000007") | .id = $id' "$DB.jsonl" \
		>"$BATS_FILE_TMPDIR/hostile.jsonl"
	tsdb insert --db "$DB" "$BATS_FILE_TMPDIR/hostile.jsonl" >/dev/null
	export LOG="$BATS_FILE_TMPDIR/tcp.log"
	serve_tcp TCP "$LOG" --db "$DB"
	export TCP
}

teardown_file() {
	stop_servers
}

setup() {
	load helpers/handler
	OUT="$BATS_TEST_TMPDIR/plots/out.svg"
	mkdir -p "${OUT%/*}"
}

# svg_legend SVG: checks that SVG is a well-formed SVG document (root svg
# with width, height and viewBox, an axes box, tick labels, one polyline
# per legend row, the query's the last and thickest) and prints its legend:
# "query<TAB>LABEL", then "DISTANCE<TAB>ID" per match.
svg_legend() {
	"$PYTHON" -c '
import sys
import xml.etree.ElementTree as ET
NS = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == NS + "svg", root.tag
w, h = float(root.get("width")), float(root.get("height"))
assert root.get("viewBox") == "0 0 %g %g" % (w, h), root.get("viewBox")
assert root.find(NS + "title").text
assert root.find(".//%srect[@class=\"frame\"]" % NS) is not None, "no axes box"
ticks = [t.text for t in root.iter(NS + "text") if t.text in ("0", "0.25", "0.5", "0.75", "1")]
assert len(ticks) >= 5, ticks
lines = list(root.iter(NS + "polyline"))
query = [p for p in lines if p.get("class") == "query"]
assert len(query) == 1 and lines[-1] is query[0], "the query is not the one last line"
assert all(float(p.get("stroke-width")) < float(query[0].get("stroke-width")) for p in lines[:-1])
for p in lines:
    pts = p.get("points").split()
    assert len(pts) >= 4 and all(0 <= float(x) <= w and 0 <= float(y) <= h
                                 for x, y in (q.split(",") for q in pts)), "a point outside"
rows = root.findall(".//%sg[@class=\"legend\"]/%sg/%stext" % (NS, NS, NS))
assert len(rows) == len(lines), "%d legend rows, %d lines" % (len(rows), len(lines))
for r in rows:
    print("\t".join(t.text or "" for t in r.findall(NS + "tspan")))
' "$1"
}

# entries DIR: the names in DIR, hidden ones too, sorted, on one line.
entries() {
	find "$1" -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | paste -sd ' ' -
}

# table_rows: simsearch's table on stdin as "DISTANCE<TAB>ID" lines.
table_rows() {
	awk '$1 ~ /^[0-9]+$/ && NF == 3 { print $3 "\t" $2 }'
}

# fake_server VAR PAYLOAD: a server that answers every request with status
# OK and the JSON PAYLOAD (a foreign server); VAR is set to its address.
fake_server() {
	local var=$1 port pid i log="$BATS_TEST_TMPDIR/fake.log"
	printf '%s' "$2" >"$BATS_TEST_TMPDIR/fake.json"
	cat >"$BATS_TEST_TMPDIR/fake.py" <<'EOF'
import json, struct, sys
n = struct.unpack("<I", sys.stdin.buffer.read(4))[0]
req = json.loads(sys.stdin.buffer.read(n - 4))
body = json.dumps({"op": req.get("op"), "status": "OK",
                   "payload": json.load(open(sys.argv[1]))}).encode()
sys.stdout.buffer.write(struct.pack("<I", len(body) + 4) + body)
EOF
	port=$(free_port)
	systemd-socket-activate --accept --inetd -l "127.0.0.1:$port" "$PYTHON" \
		"$BATS_TEST_TMPDIR/fake.py" "$BATS_TEST_TMPDIR/fake.json" >"$log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/servers.pid"
	for ((i = 0; i < 200; i++)); do
		if grep -q '^Listening on' "$log"; then
			printf -v "$var" '%s' "127.0.0.1:$port"
			return 0
		fi
		sleep 0.02
	done
	cat "$log" >&2
	return 1
}

@test "by FILE: the query and k results, z-scored lines, legend = the table" {
	tsdb get --db "$DB" ts-000042 >"$BATS_TEST_TMPDIR/q.dat"
	run -0 --separate-stderr simsearch --server "$TCP" -k 5 --plot "$OUT" "$BATS_TEST_TMPDIR/q.dat"
	[ "$stderr" = "simsearch: plot of the query and 5 results written to $OUT" ]
	local table
	table=$(table_rows <<<"$output")
	[ "$(wc -l <<<"$table")" -eq 5 ]
	run -0 svg_legend "$OUT"
	[ "${#lines[@]}" -eq 6 ]
	[ "${lines[0]}" = "query"$'\t'"$BATS_TEST_TMPDIR/q.dat" ]
	[ "$(tail -n +2 <<<"$output")" = "$table" ]
	# the query file is stored as ts-000042: it is the first result, at 0
	[ "${lines[1]}" = "0.000000"$'\t'"ts-000042" ]
	# nothing else was left in the directory
	[ "$(entries "${OUT%/*}")" = out.svg ]
}

@test "by --id: the query and k results; standard input as the query is named so" {
	run -0 --separate-stderr simsearch --server "$TCP" --id ts-000010 -k 7 --plot "$OUT"
	[ "$stderr" = "simsearch: plot of the query and 7 results written to $OUT" ]
	local table
	table=$(table_rows <<<"$output")
	run -0 svg_legend "$OUT"
	[ "${#lines[@]}" -eq 8 ]
	[ "${lines[0]}" = "query"$'\t'"ts-000010" ]
	[ "$(tail -n +2 <<<"$output")" = "$table" ]
	# --json with --plot: the payload printed, the plot the same
	run -0 --separate-stderr simsearch --server "$TCP" --id ts-000010 -k 7 --json --plot "$OUT"
	[ "$(jq -c '[.results[] | (.shape | length)] | unique' <<<"$output")" = '[256]' ]
	tsdb get --db "$DB" ts-000011 | simsearch --server "$TCP" -k 2 --plot "$OUT" - >/dev/null
	run -0 svg_legend "$OUT"
	[ "${lines[0]}" = "query"$'\t'"standard input" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "--within: every result drawn, legend = the table; none found is an error and no file" {
	run -0 --separate-stderr simsearch --server "$TCP" --within 0.4 --limit 12 --id ts-000003 --plot "$OUT"
	[[ "${stderr##*$'\n'}" == "simsearch: plot of the query and "*" written to $OUT" ]]
	local table n
	table=$(table_rows <<<"$output")
	n=$(wc -l <<<"$table")
	[ "$n" -ge 1 ]
	run -0 svg_legend "$OUT"
	[ "${#lines[@]}" -eq $((n + 1)) ]
	[ "$(tail -n +2 <<<"$output")" = "$table" ]
	rm "$OUT"
	run -1 --separate-stderr simsearch --server "$TCP" --within 0 --id ts-000003 --plot "$OUT"
	[[ "$stderr" == *"nothing to plot"*"$OUT not written"* ]]
	[ ! -e "$OUT" ]
}

@test "an id with & < > \" ' comes out escaped, parses, and reads back exactly" {
	tsdb get --db "$DB" ts-000007 >"$BATS_TEST_TMPDIR/q.dat"
	run -0 simsearch --server "$TCP" -k 3 --plot "$OUT" "$BATS_TEST_TMPDIR/q.dat"
	local table
	table=$(table_rows <<<"$output")
	grep -qF "$HOSTILE" <<<"$table"
	grep -qF 'x&amp;y&lt;z&gt;&quot;q&apos;s]]&gt;' "$OUT"
	run -0 svg_legend "$OUT"
	[ "$(tail -n +2 <<<"$output")" = "$table" ]
	[ "${lines[2]}" = "0.000000"$'\t'"$HOSTILE" ]
	# as the query's label too
	run -0 simsearch --server "$TCP" --id "$HOSTILE" -k 2 --plot "$OUT"
	run -0 svg_legend "$OUT"
	[ "${lines[0]}" = "query"$'\t'"$HOSTILE" ]
	[ "${lines[1]}" = "0.000000"$'\t'"ts-000007" ]
}

@test "a failed search leaves no file, and an old file as it was" {
	run -3 simsearch --server "127.0.0.1:$(free_port)" --id ts-000001 --plot "$OUT"
	[ ! -e "$OUT" ]
	printf 'not a series\n' >"$BATS_TEST_TMPDIR/bad.dat"
	run -1 simsearch --server "$TCP" --plot "$OUT" "$BATS_TEST_TMPDIR/bad.dat"
	[ ! -e "$OUT" ]
	run -4 simsearch --server "$TCP" --id no-such-id --plot "$OUT"
	[ ! -e "$OUT" ]
	echo old >"$OUT"
	run -3 simsearch --server "127.0.0.1:$(free_port)" --id ts-000001 --plot "$OUT"
	run -4 simsearch --server "$TCP" --id no-such-id --plot "$OUT"
	[ "$(cat "$OUT")" = old ]
	# an unwritable place: exit 1, says so, leaves nothing
	run -1 --separate-stderr simsearch --server "$TCP" --id ts-000001 --plot "${OUT%/*}/no/such/dir/p.svg"
	[[ "$stderr" == "simsearch: --plot: cannot create a temporary file beside ${OUT%/*}/no/such/dir/p.svg: No such file or directory; "* ]]
	# a directory in the way: the rename fails, and the temporary file
	# beside it is removed
	mkdir "${OUT%/*}/sub"
	run -1 simsearch --server "$TCP" --id ts-000001 --plot "${OUT%/*}/sub"
	[ "$(entries "${OUT%/*}")" = "out.svg sub" ]
	[ -z "$(entries "${OUT%/*}/sub")" ]
	[ "$(cat "$OUT")" = old ]
	# usage errors
	run -2 simsearch --server "$TCP" --plot "$OUT" info
	run -2 simsearch --server "$TCP" --plot '' --id ts-000001
	run -2 simsearch --server "$TCP" --id ts-000001 --plot
	[ "$(cat "$OUT")" = old ]
}

@test "a foreign server's results without shapes, or with non-numbers: exit 3, no file" {
	local addr
	fake_server addr '{"k": 1, "series": 9, "computed": 1, "results": [{"id": "a", "distance": 0.5}]}'
	run -3 --separate-stderr simsearch --server "$addr" --id x --plot "$OUT"
	[[ "$stderr" == "simsearch: --plot: the server's answer has no \"query_shape\" array"*"; $OUT not written" ]]
	# the table was still printed
	[ "$(table_rows <<<"$output")" = "0.500000"$'\t'"a" ]
	[ ! -e "$OUT" ]
	fake_server addr '{"results": [{"id": "a", "distance": 0.5, "shape": [1, "2", 3, 4]}], "query_shape": [1, 2, 3, 4]}'
	run -3 --separate-stderr simsearch --server "$addr" --id x --plot "$OUT"
	[[ "$stderr" == *'result 1 without a "shape" of 4 numbers'* ]]
	[ ! -e "$OUT" ]
	fake_server addr '{"results": [{"id": "a", "distance": "near", "shape": [1, 2, 3, 4]}], "query_shape": [1, 2, 3, 4]}'
	run -3 simsearch --server "$addr" --id x --plot "$OUT"
	[ ! -e "$OUT" ]
	fake_server addr '[1, 2, 3]'
	run -3 simsearch --server "$addr" --id x --plot "$OUT"
	[ ! -e "$OUT" ]
	[ -z "$(entries "${OUT%/*}")" ]
}
