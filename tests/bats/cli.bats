#!/usr/bin/env bats
# cli.bats - the tsdb command line end to end: help texts and exit codes,
# every subcommand, all-or-nothing inserts (the database file byte for byte
# unchanged after a refused batch), duplicate ids, bit-exact get, the two
# light curves, concurrent writers and a reader during inserts.
#
# tests/run puts the built programs first on PATH and sets TSDB_ROOT.

bats_require_minimum_version 1.5.0

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
DATA="$TSDB_ROOT/tests/data"

setup() {
	DB="$BATS_TEST_TMPDIR/db"
	unset TSDB_DB
}

# newdb [init options...]: an empty database in $DB (length 64 by default).
newdb() {
	tsdb init --db "$DB" --length 64 "$@" >/dev/null
}

# floats_equal A B: the two JSON documents hold the same floats bit for bit
# (compared as float.hex, so -0.0 differs from 0.0) and the same ids/meta.
floats_equal() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
def norm(x):
    if isinstance(x, float):
        return ("f", x.hex())
    if isinstance(x, int) and not isinstance(x, bool):
        return ("f", float(x).hex())
    if isinstance(x, list):
        return [norm(y) for y in x]
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items()}
    return x
a, b = (json.loads(open(p).read()) for p in sys.argv[1:3])
if norm(a) != norm(b):
    print("differ:\n", a, "\n", b)
    sys.exit(1)
EOF
}

# ---- help and usage ---------------------------------------------------------

@test "tsdb --help lists every command; no command is a usage error" {
	run -0 tsdb --help
	for c in init insert remove get list info check compact reindex gen search ingest help; do
		[[ "$output" == *"    $c "* ]] || { echo "missing $c"; return 1; }
	done
	[[ "$output" == *"EXIT STATUS"* && "$output" == *"TSDB_DB"* ]]
	run -2 tsdb
	[[ "$output" == *"usage: tsdb COMMAND"* ]]
	run -2 tsdb frobnicate
	[[ "$output" == *"tsdb: no command 'frobnicate'"* ]]
	run -0 tsdb help
	[[ "$output" == *"COMMANDS"* ]]
}

@test "every command has a manual page, the same from help CMD and CMD --help" {
	for c in init insert remove get list info check compact reindex gen search ingest; do
		run -0 tsdb help "$c"
		local page=$output
		for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT EXAMPLES; do
			[[ "$page" == *"$section"* ]] || { echo "$c lacks $section"; return 1; }
		done
		[[ "$page" == *"--db DIR"* && "$page" == *"tsdb $c"* ]]
		run -0 tsdb "$c" --help
		[ "$output" = "$page" ]
		run -0 tsdb "$c" -h
		[ "$output" = "$page" ]
	done
	run -2 tsdb help nosuch
}

@test "usage errors exit 2 and say what is wrong" {
	run -2 --separate-stderr tsdb init --db "$DB" --bogus
	[[ "$stderr" == *"tsdb init: unrecognized option '--bogus'"* ]]
	[[ "$stderr" == *"Try 'tsdb init --help'."* ]]
	run -2 --separate-stderr tsdb init --db "$DB" --length 3
	[[ "$stderr" == *"--length: '3' is not an integer in 4..65536"* ]]
	run -2 tsdb init --db "$DB" --length 12x
	run -2 tsdb init --db "$DB" --length -5
	run -2 tsdb init --db "$DB" --length 99999999999999999999999
	run -2 --separate-stderr tsdb init --db "$DB" --mult 0
	[[ "$stderr" == *"--mult: '0' is not a number in (0, 1000]"* ]]
	run -2 tsdb init --db "$DB" --mult nan
	run -2 tsdb init --db "$DB" --vantage-points 41
	run -2 tsdb init --db "$DB" extra
	run -2 tsdb get --db "$DB"
	run -2 tsdb get --db "$DB" a b
	run -2 tsdb remove --db "$DB"
	run -2 --separate-stderr tsdb insert --db "$DB" --id x a.dat b.dat
	[[ "$stderr" == *"--id names the series of a single FILE"* ]]
	run -2 tsdb search --db "$DB"
	run -2 tsdb search --db "$DB" --id a file.dat
	run -2 tsdb search --db "$DB" --id a -k 0
	run -2 tsdb search --db "$DB" --id a -k 3 --within 0.5
	run -2 tsdb search --db "$DB" --id a --limit 3
	run -2 tsdb search --db "$DB" --id a --within -1
	run -2 tsdb list --db "$DB" --limit 0
	run -2 tsdb gen
	run -2 tsdb gen 10 --length 2
	run -2 --separate-stderr tsdb ingest --db "$DB"
	[[ "$stderr" == *"--spool DIR is required"* ]]
	run -2 tsdb ingest --db "$DB" --spool x --batch 0
	[ ! -e "$DB" ]
}

# ---- init and the database directory -----------------------------------------

@test "init creates a database once; --db, then TSDB_DB, picks the directory" {
	run -0 tsdb init --db "$DB" --length 128 --mult 2.5 --vantage-points 7 --seed 42
	[[ "$output" == "initialized $DB: length 128, mult 2.5, 7 vantage points, seed 42" ]]
	[ -f "$DB/tsdb.db" ]
	run -1 --separate-stderr tsdb init --db "$DB"
	[[ "$stderr" == "tsdb: "*"$DB"* ]]
	run -0 tsdb info --db "$DB" --json
	python3 -c 'import json,sys; p=json.loads(sys.argv[1]); assert (p["length"],p["mult"],p["vantage_points"],p["seed"],p["series"]) == (128,2.5,7,42,0), p' "$output"

	TSDB_DB="$DB" run -0 tsdb info --json
	[[ "$output" == *'"length":128'* ]]
	# --db wins over TSDB_DB
	TSDB_DB="$BATS_TEST_TMPDIR/elsewhere" run -0 tsdb info --db "$DB" --json
	[[ "$output" == *'"length":128'* ]]
	TSDB_DB="$BATS_TEST_TMPDIR/elsewhere" run -1 --separate-stderr tsdb info
	[[ "$stderr" == "tsdb: "*"$BATS_TEST_TMPDIR/elsewhere"* ]]
}

@test "commands on a missing database fail with status 1 naming the directory" {
	for cmd in "get x" "list" "info" "check" "search --id x" "remove x" "compact" "reindex"; do
		# shellcheck disable=SC2086 # $cmd is a command and its arguments
		run -1 --separate-stderr tsdb $cmd --db "$BATS_TEST_TMPDIR/none"
		[[ "$stderr" == "tsdb: "*"$BATS_TEST_TMPDIR/none"* ]] || { echo "$cmd: $stderr"; return 1; }
	done
	echo "0 1" >"$BATS_TEST_TMPDIR/x.dat"
	run -1 tsdb insert --db "$BATS_TEST_TMPDIR/none" "$DATA/51886.dat_folded"
}

# ---- the light curves -----------------------------------------------------------

@test "the two light curves: insert, get them back exactly, search between them" {
	newdb
	run -0 tsdb insert --db "$DB" "$DATA/169975.dat_folded" "$DATA/51886.dat_folded"
	[[ "$output" =~ ^"inserted 2 series (0 replaced) in txn "[0-9]+$ ]]
	run -0 tsdb list --db "$DB"
	[ "$output" = $'169975\n51886' ]

	# get prints time and value of every line, in file order, bit for bit
	for id in 51886 169975; do
		tsdb get --db "$DB" "$id" >"$BATS_TEST_TMPDIR/$id.out"
		python3 - "$DATA/$id.dat_folded" "$BATS_TEST_TMPDIR/$id.out" <<'EOF'
import sys
def cols(path):
    rows = []
    for line in open(path):
        line = line.split("#")[0].split()
        if line:
            rows.append((float(line[0]).hex(), float(line[1]).hex()))
    return rows
a, b = cols(sys.argv[1]), cols(sys.argv[2])
assert len(a) > 200 and a == b, (len(a), len(b))
EOF
	done

	run -0 tsdb search --db "$DB" --id 51886 -k 5
	local tab=$'\t'
	[[ "$output" =~ ^1${tab}169975${tab}0\.[0-9]+ ]]
	[ "${#lines[@]}" -eq 1 ]
	local d=${output##*$'\t'}
	run -0 tsdb search --db "$DB" --id 169975 -k 1
	# symmetric, up to rounding in the FFTs
	python3 -c 'import sys; a, b = map(float, sys.argv[1:]); assert abs(a - b) < 1e-12' \
		"${output##*$'\t'}" "$d"
	# a file as the query: itself at distance 0, then the other one
	run -0 tsdb search --db "$DB" "$DATA/51886.dat_folded" -k 2
	[[ "${lines[0]}" == $'1\t51886\t0' ]]
	[[ "${lines[1]}" == $'2\t169975\t'* ]]
	run -0 tsdb check --db "$DB" --deep
}

# ---- get is exact ------------------------------------------------------------------

@test "get returns the inserted doubles bit for bit, as JSON and as text" {
	newdb
	cat >"$BATS_TEST_TMPDIR/awk.json" <<'EOF'
{"id":"awkward","t":[0.0,0.1,1e-300,5e-324,0.30000000000000004,0.9999999999999999,0.5,0.1],
 "v":[-0.0,0.1,1e-300,5e-324,1234567890123456789.0,-2.2250738585072014e-308,0.3333333333333333,7],
 "meta":{"band":"V","list":[1,2.5,null,true],"text":"caf\u00e9 \"quoted\""}}
EOF
	run -0 tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/awk.json"
	tsdb get --db "$DB" awkward --json >"$BATS_TEST_TMPDIR/got.json"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/got.json")" -eq 1 ]
	floats_equal "$BATS_TEST_TMPDIR/awk.json" "$BATS_TEST_TMPDIR/got.json"

	# the text form reads back as the same doubles, and carries the meta
	run -0 tsdb get --db "$DB" awkward
	[ "${lines[0]}" = '# meta: {"band":"V","list":[1,2.5,null,true],"text":"café \"quoted\""}' ]
	# each number is the shortest text that reads back as the same double
	[ "${lines[1]}" = "0 -0" ]
	[ "${lines[2]}" = "0.1 0.1" ]
	[ "${lines[3]}" = "1e-300 1e-300" ]
	[ "${lines[4]}" = "5e-324 5e-324" ]
	[ "${lines[5]}" = "0.30000000000000004 1.2345678901234568e+18" ]
	[ "${lines[6]}" = "0.9999999999999999 -2.2250738585072014e-308" ]
	[ "${lines[7]}" = "0.5 0.3333333333333333" ]
	[ "${lines[8]}" = "0.1 7" ]
	tsdb get --db "$DB" awkward >"$BATS_TEST_TMPDIR/awk.dat"
	run -0 tsdb insert --db "$DB" --id copy "$BATS_TEST_TMPDIR/awk.dat"
	tsdb get --db "$DB" copy --json | python3 -c '
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(sys.stdin)
assert [x.hex() for x in map(float, a["t"])] == [x.hex() for x in map(float, b["t"])]
assert [x.hex() for x in map(float, a["v"])] == [x.hex() for x in map(float, b["v"])]
assert b["id"] == "copy" and b["meta"] is None' "$BATS_TEST_TMPDIR/got.json"

	run -1 --separate-stderr tsdb get --db "$DB" nosuch
	[[ "$stderr" == *"nosuch"* ]]
}

# ---- all or nothing -------------------------------------------------------------------

@test "a batch with one bad series changes nothing, byte for byte, and names the line" {
	newdb
	tsdb gen 20 --length 64 >"$BATS_TEST_TMPDIR/ok.jsonl"
	tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/ok.jsonl" >/dev/null
	cp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	tsdb gen 40 --length 64 --seed 2 | sed 's/^{"id":"ts-/{"id":"b-/' >"$BATS_TEST_TMPDIR/batch.jsonl"
	# line 12 gets a string where a time should be
	sed -i '12s/"t":\[0.0,/"t":["zero",/' "$BATS_TEST_TMPDIR/batch.jsonl"
	run -1 --separate-stderr tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/ok.jsonl.none" "$BATS_TEST_TMPDIR/batch.jsonl"
	run -1 --separate-stderr tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/batch.jsonl"
	[[ "$stderr" == "tsdb: $BATS_TEST_TMPDIR/batch.jsonl line 12: t[0] is not a number" ]]
	cmp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"

	# a bad file among good ones, and a constant series (refused by the writer)
	printf '0.1 1\n0.2 1\n0.3 1\n0.4 1\n' >"$BATS_TEST_TMPDIR/flat.dat"
	run -1 --separate-stderr tsdb insert --db "$DB" "$DATA/51886.dat_folded" "$BATS_TEST_TMPDIR/flat.dat"
	[[ "$stderr" == *"flat.dat"*"constant"* ]]
	printf '0.5 1\n0.5 2\n0.5 3\n0.5 4\n' >"$BATS_TEST_TMPDIR/onetime.dat"
	run -1 --separate-stderr tsdb insert --db "$DB" "$DATA/51886.dat_folded" "$BATS_TEST_TMPDIR/onetime.dat"
	[[ "$stderr" == *"onetime"* ]]
	cmp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 20 ]

	# --skip-invalid reports each bad series and stores the rest
	sed -i '30s/"v":\[/"v":[1,/' "$BATS_TEST_TMPDIR/batch.jsonl"
	run -0 --separate-stderr tsdb insert --db "$DB" --skip-invalid "$BATS_TEST_TMPDIR/batch.jsonl" \
		"$BATS_TEST_TMPDIR/flat.dat" "$BATS_TEST_TMPDIR/onetime.dat" "$BATS_TEST_TMPDIR/ok.jsonl"
	[[ "$output" =~ ^"inserted 38 series (0 replaced) in txn "[0-9]+$ ]]
	[[ "$stderr" == *"batch.jsonl line 12: t[0] is not a number (skipped)"* ]]
	[[ "$stderr" == *"batch.jsonl line 30: t has 64 elements but v has 65 (skipped)"* ]]
	[[ "$stderr" == *"flat.dat"*"(skipped)"* ]]
	[[ "$stderr" == *"onetime.dat"*"(skipped)"* ]]          # refused by the writer
	[[ "$stderr" == *"ok.jsonl line 20: id 'ts-000019' is already stored"*"(skipped)"* ]]
	[[ "$stderr" == *"skipped 24 invalid inputs"* ]]
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 58 ]
	run -0 tsdb check --db "$DB"
}

@test "duplicate ids: within a batch an error naming both places; stored ones need --replace" {
	newdb
	tsdb gen 3 --length 64 >"$BATS_TEST_TMPDIR/a.jsonl"
	tsdb gen 3 --length 64 --seed 5 | tail -n 1 >"$BATS_TEST_TMPDIR/b.jsonl"   # ts-000002 again
	run -1 --separate-stderr tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/a.jsonl" "$BATS_TEST_TMPDIR/b.jsonl"
	[[ "$stderr" == "tsdb: duplicate id 'ts-000002': $BATS_TEST_TMPDIR/a.jsonl line 3 and $BATS_TEST_TMPDIR/b.jsonl line 1" ]]
	run -0 tsdb info --db "$DB" --json
	[[ "$output" == *'"series":0'* ]]

	run -0 tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/a.jsonl"
	cp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -1 --separate-stderr tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/b.jsonl"
	[[ "$stderr" == *"b.jsonl line 1"*"ts-000002"* ]]
	cmp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb insert --db "$DB" --replace "$BATS_TEST_TMPDIR/b.jsonl"
	[[ "$output" =~ ^"inserted 1 series (1 replaced) in txn "[0-9]+$ ]]
	tsdb get --db "$DB" ts-000002 --json >"$BATS_TEST_TMPDIR/got.json"
	floats_equal "$BATS_TEST_TMPDIR/b.jsonl" "$BATS_TEST_TMPDIR/got.json"
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 3 ]
}

# ---- inputs -----------------------------------------------------------------------------

@test "insert reads directories, standard input and every JSON shape" {
	newdb
	local in="$BATS_TEST_TMPDIR/in"
	mkdir -p "$in/sub"
	cp "$DATA/51886.dat_folded" "$in/"
	echo '{"time_points":[0,0.25,0.5,0.75],"data_points":[1,2,3,2]}' >"$in/course.json"
	echo '[[0,0.25,0.5,0.75],[1,2,3,5]]' >"$in/columns.json"
	echo '[[0,1],[0.25,2],[0.5,3],[0.75,9]]' >"$in/pairs.json"
	echo 'garbage' >"$in/.hidden"
	cp "$DATA/169975.dat_folded" "$in/sub/"
	run -0 tsdb insert --db "$DB" "$in"
	[[ "$output" == "inserted 4 series"* ]]
	run -0 tsdb list --db "$DB"
	[ "$output" = $'51886\ncolumns\ncourse\npairs' ]

	tsdb gen 3 --length 64 | tsdb insert --db "$DB" -
	tsdb gen 5 --length 64 | tail -n 2 | tsdb insert --db "$DB"   # - is the default
	tsdb get --db "$DB" 51886 | tsdb insert --db "$DB" --id from-stdin -
	run -0 tsdb list --db "$DB" --prefix ts-
	[ "${#lines[@]}" -eq 5 ]
	run -1 --separate-stderr tsdb insert --db "$DB" - <"$DATA/51886.dat_folded"
	[[ "$stderr" == *"standard input: a series in the text format needs --id"* ]]
	run -1 tsdb insert --db "$DB" --id x "$in"
	run -0 tsdb get --db "$DB" from-stdin
	[ "${#lines[@]}" -eq 275 ]
}

# ---- list, info, remove, compact, reindex ----------------------------------------------

@test "list pages through ids in byte order" {
	newdb
	tsdb gen 25 --length 64 | tsdb insert --db "$DB" >/dev/null
	run -0 tsdb list --db "$DB" --limit 10
	[ "${#lines[@]}" -eq 10 ]
	[ "${lines[9]}" = ts-000009 ]
	run -0 tsdb list --db "$DB" --after ts-000009 --limit 10
	[ "${lines[0]}" = ts-000010 ]
	[ "${#lines[@]}" -eq 10 ]
	run -0 tsdb list --db "$DB" --prefix ts-00001
	[ "${#lines[@]}" -eq 10 ]
	run -0 tsdb list --db "$DB" --prefix nope
	[ -z "$output" ]
	run -0 tsdb list --db "$DB" --after ts-000023x
	[ "$output" = ts-000024 ]
}

@test "info reports parameters, vantage points, txn, commit time and size" {
	newdb --vantage-points 4 --seed 9
	tsdb gen 50 --length 64 | tsdb insert --db "$DB" >/dev/null
	run -0 tsdb info --db "$DB"
	[[ "$output" == *"length          64"* ]]
	[[ "$output" == *"vantage points  4 (4 chosen)"* ]]
	[[ "$output" == *"  vantage point 3: ts-"* ]]
	[[ "$output" == *"series          50"* ]]
	[[ "$output" =~ "last commit     "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ]]
	run -0 tsdb info --db "$DB" --json
	python3 - "$output" "$(stat -c %s "$DB/tsdb.db")" <<'EOF'
import json, sys, datetime
p = json.loads(sys.argv[1])
assert list(p) == ["format_version", "length", "mult", "vantage_points", "vantage_points_chosen",
                   "seed", "series", "txn", "last_commit", "file_bytes", "dead_bytes", "indexes"], list(p)
assert p["vantage_points"] == 4 and p["vantage_points_chosen"] is True and p["seed"] == 9
assert p["series"] == 50 and p["file_bytes"] == int(sys.argv[2])
t = datetime.datetime.strptime(p["last_commit"], "%Y-%m-%dT%H:%M:%SZ")
assert abs((datetime.datetime.utcnow() - t).total_seconds()) < 600
EOF
}

@test "remove is all or nothing; compact keeps every series and shrinks the file" {
	newdb
	tsdb gen 30 --length 64 | tsdb insert --db "$DB" >/dev/null
	cp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -1 --separate-stderr tsdb remove --db "$DB" ts-000001 nosuch
	[[ "$stderr" == *"nosuch"* ]]
	cmp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb remove --db "$DB" ts-000001 ts-000002
	[[ "$output" =~ ^"removed 2 series in txn "[0-9]+$ ]]
	run -1 tsdb get --db "$DB" ts-000001
	tsdb get --db "$DB" ts-000007 --json >"$BATS_TEST_TMPDIR/g1.json"
	run -0 tsdb search --db "$DB" --id ts-000007 -k 5
	local before=$output
	run -0 tsdb compact --db "$DB"
	[[ "$output" =~ ^"compacted $DB: "([0-9]+)" bytes before, "([0-9]+)" bytes after"$ ]]
	[ "${BASH_REMATCH[2]}" -lt "${BASH_REMATCH[1]}" ]
	tsdb get --db "$DB" ts-000007 --json >"$BATS_TEST_TMPDIR/g2.json"
	cmp "$BATS_TEST_TMPDIR/g1.json" "$BATS_TEST_TMPDIR/g2.json"
	run -0 tsdb search --db "$DB" --id ts-000007 -k 5
	[ "$output" = "$before" ]
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 28 ]
	run -0 tsdb check --db "$DB" --deep
}

@test "reindex chooses new vantage points; answers stay exactly the same" {
	newdb --vantage-points 3
	tsdb gen 200 --length 64 | tsdb insert --db "$DB" >/dev/null
	run -0 tsdb search --db "$DB" --id ts-000042 -k 10 --json
	local before=$output
	run -0 tsdb reindex --db "$DB" --vantage-points 8 --seed 77
	[[ "$output" =~ ^"reindexed $DB: 8 vantage points chosen (seed 77) in txn "[0-9]+$ ]]
	run -0 tsdb info --db "$DB" --json
	[[ "$output" == *'"vantage_points":8,'*'"seed":77,'* ]]
	run -0 tsdb search --db "$DB" --id ts-000042 -k 10 --json
	python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert a["results"] == b["results"], (a, b)' "$before" "$output"
	run -0 tsdb check --db "$DB" --deep
}

# ---- gen and search -----------------------------------------------------------------------

@test "gen writes reproducible JSON Lines" {
	run -0 tsdb gen 0
	[ -z "$output" ]
	tsdb gen 700 --seed 3 --length 32 >"$BATS_TEST_TMPDIR/a.jsonl"
	tsdb gen 700 --seed 3 --length 32 >"$BATS_TEST_TMPDIR/b.jsonl"
	cmp "$BATS_TEST_TMPDIR/a.jsonl" "$BATS_TEST_TMPDIR/b.jsonl"
	tsdb gen 700 --seed 4 --length 32 >"$BATS_TEST_TMPDIR/c.jsonl"
	run -1 cmp -s "$BATS_TEST_TMPDIR/a.jsonl" "$BATS_TEST_TMPDIR/c.jsonl"
	python3 - "$BATS_TEST_TMPDIR/a.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 701
for i, line in enumerate(lines[:-1]):
    o = json.loads(line)
    assert o["id"] == "ts-%06d" % i and len(o["t"]) == 32 and len(o["v"]) == 32, o["id"]
    assert o["t"][5] == 5 / 32 and o["meta"] is None
EOF
	# a prefix of a data set is the smaller data set
	tsdb gen 10 --seed 3 --length 32 | cmp - <(head -n 10 "$BATS_TEST_TMPDIR/a.jsonl")
}

@test "search: pruned answers equal brute force, k nearest and within a radius" {
	newdb --vantage-points 6
	tsdb gen 400 --length 64 --seed 11 | tsdb insert --db "$DB" >/dev/null
	for q in ts-000000 ts-000123 ts-000399; do
		run -0 tsdb search --db "$DB" --id "$q" -k 7 --json
		local fast=$output
		run -0 tsdb search --db "$DB" --id "$q" -k 7 --json --brute
		python3 - "$fast" "$output" "$q" <<'EOF'
import json, sys
a, b, q = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
assert list(a) == ["k", "series", "computed", "results"], list(a)
assert a["k"] == 7 and a["series"] == 400 and len(a["results"]) == 7
assert a["results"] == b["results"]
assert b["computed"] == 399 and a["computed"] <= 399
assert all(r["id"] != q for r in a["results"])
keys = [(r["distance"], r["id"]) for r in a["results"]]
assert keys == sorted(keys)
EOF
		run -0 tsdb search --db "$DB" --id "$q" --within 0.3 --json
		local fastw=$output
		run -0 tsdb search --db "$DB" --id "$q" --within 0.3 --json --brute
		python3 - "$fastw" "$output" <<'EOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert list(a) == ["radius", "series", "computed", "truncated", "results"], list(a)
assert a["results"] == b["results"] and a["truncated"] is False
assert all(r["distance"] <= 0.3 for r in a["results"])
EOF
	done
	run -0 tsdb search --db "$DB" --id ts-000005 --within 2 --limit 3 --json
	[[ "$output" == *'"truncated":true'* ]]
	# a query read from standard input, with no id at all
	tsdb get --db "$DB" ts-000005 | tsdb search --db "$DB" - -k 1 >"$BATS_TEST_TMPDIR/s.out"
	[[ "$(cat "$BATS_TEST_TMPDIR/s.out")" == $'1\tts-000005\t0' ]]
	run -1 --separate-stderr tsdb search --db "$DB" --id nosuch
	[[ "$stderr" == *"nosuch"* ]]
	tsdb gen 2 --length 64 >"$BATS_TEST_TMPDIR/two.jsonl"
	run -1 --separate-stderr tsdb search --db "$DB" "$BATS_TEST_TMPDIR/two.jsonl"
	[[ "$stderr" == *"holds 2 series; search takes one"* ]]
}

# ---- concurrency ------------------------------------------------------------------------

@test "two writers started together: both batches land" {
	newdb
	tsdb gen 300 --length 64 --seed 1 >"$BATS_TEST_TMPDIR/a.jsonl"
	tsdb gen 300 --length 64 --seed 2 | sed 's/"id":"ts-/"id":"b-/' >"$BATS_TEST_TMPDIR/b.jsonl"
	tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/a.jsonl" >"$BATS_TEST_TMPDIR/a.out" 2>&1 3>&- &
	local pa=$!
	tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/b.jsonl" >"$BATS_TEST_TMPDIR/b.out" 2>&1 3>&- &
	local pb=$!
	wait "$pa"
	wait "$pb"
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 600 ]
	run -0 tsdb list --db "$DB" --prefix b-
	[ "${#lines[@]}" -eq 300 ]
	run -0 tsdb check --db "$DB" --deep
}

@test "a reader searching during inserts never fails and sees whole batches" {
	newdb
	tsdb gen 50 --length 64 | tsdb insert --db "$DB" >/dev/null
	for i in 1 2 3 4 5 6; do
		tsdb gen 100 --length 64 --seed $((i + 10)) | sed "s/\"id\":\"ts-/\"id\":\"w$i-/"
	done >"$BATS_TEST_TMPDIR/all.jsonl"
	(
		for i in 1 2 3 4 5 6; do
			grep "\"id\":\"w$i-" "$BATS_TEST_TMPDIR/all.jsonl" | tsdb insert --db "$DB" >/dev/null || exit 1
		done
	) 3>&- &
	local writer=$!
	local n=0 fails=0
	while kill -0 "$writer" 2>/dev/null || [ "$n" -lt 5 ]; do
		if ! out=$(tsdb search --db "$DB" --id ts-000001 -k 3 --json 2>&1); then
			echo "search failed: $out"
			fails=$((fails + 1))
		fi
		# the count a reader sees is always 50 plus whole batches of 100
		s=$(tsdb info --db "$DB" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["series"])')
		[ $(((s - 50) % 100)) -eq 0 ] || { echo "saw $s series"; fails=$((fails + 1)); }
		n=$((n + 1))
	done
	wait "$writer"
	[ "$fails" -eq 0 ]
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 650 ]
	run -0 tsdb check --db "$DB" --deep
}

@test "check fails with status 1 on a damaged database" {
	newdb
	tsdb gen 20 --length 64 | tsdb insert --db "$DB" >/dev/null
	run -0 tsdb check --db "$DB"
	[[ "$output" =~ ^"ok: $DB: txn "[0-9]+", 20 series, " ]]
	# after compaction every byte is live: change one in the middle
	tsdb compact --db "$DB" >/dev/null
	local size
	size=$(stat -c %s "$DB/tsdb.db")
	printf '\xaa' | dd of="$DB/tsdb.db" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
	run -1 --separate-stderr tsdb check --db "$DB"
	[[ "$stderr" == "tsdb: "* ]]
}

@test "check names a commit lost to a file truncated after it" {
	newdb
	tsdb gen 10 --length 64 | tsdb insert --db "$DB" >/dev/null
	tsdb gen 20 --length 64 --seed 2 | sed 's/"ts-/"u-/' | tsdb insert --db "$DB" >/dev/null
	run -0 tsdb info --db "$DB" --json
	local txn size
	txn=$(jq -r .txn <<<"$output")
	size=$(stat -c %s "$DB/tsdb.db")
	truncate -s $((size - 100)) "$DB/tsdb.db"
	run -1 --separate-stderr tsdb check --db "$DB"
	[[ "$stderr" == *"commit txn $txn ends at byte $size but the file has $((size - 100)): truncated after that commit (opened txn $((txn - 1)) instead)"* ]]
	# readers still get the previous commit, whole
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 10 ]
	echo "# figure lost-commit: names the lost commit" >&3
}
