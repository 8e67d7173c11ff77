#!/usr/bin/env bats
# spool.bats - `tsdb ingest --spool`: files move from new/ to done/ or to
# failed/ with a reason; re-runs after every crash state are idempotent;
# kill -9 at random moments never loses or duplicates a file or a series.
#
# tests/run puts the built programs first on PATH and sets TSDB_ROOT.

bats_require_minimum_version 1.5.0

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
DATA="$TSDB_ROOT/tests/data"

setup() {
	DB="$BATS_TEST_TMPDIR/db"
	SP="$BATS_TEST_TMPDIR/spool"
	unset TSDB_DB
	tsdb init --db "$DB" --length 64 --vantage-points 4 >/dev/null
}

# drop NAME CONTENT: a producer's atomic drop (write a hidden file, rename).
drop() {
	mkdir -p "$SP/new"
	printf '%s\n' "$2" >"$SP/new/.tmp.$1"
	mv "$SP/new/.tmp.$1" "$SP/new/$1"
}

# drop_gen PREFIX N SEED: N one-series JSON files PREFIX-i.json, whose ids
# are their names.
drop_gen() {
	local prefix=$1 n=$2 seed=$3 i=0 line
	while IFS= read -r line; do
		drop "$prefix-$i.json" "$line"
		i=$((i + 1))
	done < <(tsdb gen "$n" --length 64 --seed "$seed" |
		sed "s/^{\"id\":\"ts-0*\([0-9]\)/{\"id\":\"$prefix-\1/")
}

count() {   # count DIR: regular files in DIR, hidden ones and reasons excepted
	find "$1" -maxdepth 1 -type f ! -name '.*' ! -name '*.reason' | wc -l
}

@test "ingest moves stored files to done/ and bad ones to failed/ with the reason" {
	drop_gen ok 6 1
	drop "bad.dat" $'0.1 1\n0.2 x\n0.3 3\n0.4 4'
	drop "flat.dat" $'0.1 1\n0.2 1\n0.3 1\n0.4 1'
	# the same id in two files: the first in name order wins
	drop "dupa.json" '{"id":"twin","t":[0,0.25,0.5,0.75],"v":[1,2,3,2]}'
	drop "dupb.json" '{"id":"twin","t":[0,0.25,0.5,0.75],"v":[1,2,3,9]}'
	drop "dupc.json" '{"id":"twin","t":[0,0.25,0.5,0.75],"v":[1,2,3,7]}'
	cp "$DATA/51886.dat_folded" "$SP/new/"
	drop $'ctl\x01name.dat' $'0.1 1\n0.2 2\n0.3 3\n0.4 4'
	ln -s "$DATA/169975.dat_folded" "$SP/new/link.dat"
	mkdir "$SP/new/subdir"
	echo partial >"$SP/new/.incoming"

	run -0 --separate-stderr tsdb ingest --db "$DB" --spool "$SP" --batch 4
	[[ "$output" =~ ^"ingested 8 files (8 series inserted, 0 unchanged) in "[0-9]+" batches, last txn "[0-9]+"; 5 failed, 0 left in new/"$ ]]
	[ "$(count "$SP/done")" -eq 8 ]
	[ -f "$SP/done/51886.dat_folded" ]
	[ -f "$SP/done/dupa.json" ]
	[ "$(count "$SP/failed")" -eq 5 ]
	for f in bad.dat flat.dat dupb.json dupc.json $'ctl\x01name.dat'; do
		[ -f "$SP/failed/$f" ] && [ -s "$SP/failed/$f.reason" ] || { echo "no $f"; return 1; }
	done
	grep -q "bad.dat line 2: value 'x' is not a number" "$SP/failed/bad.dat.reason"
	grep -q "constant series" "$SP/failed/flat.dat.reason"
	grep -q "'twin'" "$SP/failed/dupb.json.reason"
	grep -q "'twin'" "$SP/failed/dupc.json.reason"
	grep -q "gives no valid id" "$SP/failed/"$'ctl\x01name.dat.reason'
	[[ "$stderr" == *"bad.dat line 2"*"(moved to failed/)"* ]]
	# what is not a regular file, or hidden, stays where it is
	[ -L "$SP/new/link.dat" ]
	[ -d "$SP/new/subdir" ]
	[ -f "$SP/new/.incoming" ]
	run -0 tsdb list --db "$DB"
	[ "$output" = "$(printf '%s\n' 51886 ok-0 ok-1 ok-2 ok-3 ok-4 ok-5 twin)" ]
	run -0 tsdb get --db "$DB" twin
	[ "${lines[3]}" = "0.75 2" ]
	tsdb get --db "$DB" ok-3 --json | python3 -c '
import json, sys
a = json.load(sys.stdin); b = json.load(open(sys.argv[1]))
assert [x.hex() for x in map(float, a["v"])] == [x.hex() for x in map(float, b["v"])]' "$SP/done/ok-3.json"

	# nothing new: nothing happens
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[[ "$output" == "ingested 0 files (0 series inserted, 0 unchanged) in 0 batches; 0 failed, 0 left in new/" ]]
	run -0 tsdb check --db "$DB" --deep
}

@test "the spool and its directories are made when missing" {
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[ -d "$SP/new" ]
	[ -d "$SP/done" ]
	[ -d "$SP/failed" ]
	run -1 --separate-stderr tsdb ingest --db "$DB" --spool "$BATS_TEST_TMPDIR/no/such/dir"
	[[ "$stderr" == *"cannot create spool"* ]]
}

@test "crash after the commit, before the move: the re-run moves it to done/, stores nothing twice" {
	drop_gen c 5 3
	# the state a kill between commit and rename leaves: stored, still in new/
	tsdb insert --db "$DB" "$SP/new/c-1.json" "$SP/new/c-3.json" >/dev/null
	cp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[[ "$output" == "ingested 5 files (3 series inserted, 2 unchanged) in 1 batch, last txn "* ]]
	[ "$(count "$SP/done")" -eq 5 ]
	[ "$(count "$SP/new")" -eq 0 ]
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 5 ]

	# all of the batch already stored: the database does not change at all
	cp "$SP/done/c-0.json" "$SP/done/c-4.json" "$SP/new/"
	cp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[[ "$output" == "ingested 2 files (0 series inserted, 2 unchanged)"* ]]
	cmp "$DB/tsdb.db" "$BATS_TEST_TMPDIR/before.db"
	run -0 tsdb check --db "$DB" --deep
}

@test "crash between the reason and the move: the re-run finishes the move" {
	mkdir -p "$SP/failed"
	drop "bad.dat" $'0.1 1\n0.2 y\n'
	echo "stale reason" >"$SP/failed/bad.dat.reason"
	echo "half-written reason" >"$SP/failed/.reason.tmp"
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[ -f "$SP/failed/bad.dat" ]
	[ ! -e "$SP/new/bad.dat" ]
	grep -q "bad.dat line 2: value 'y' is not a number" "$SP/failed/bad.dat.reason"
	run -1 grep -q stale "$SP/failed/bad.dat.reason"
	[ ! -e "$SP/failed/.reason.tmp" ]
}

@test "an id stored with other content fails that file only; the rest is stored" {
	drop_gen k 4 5
	tsdb gen 1 --length 64 --seed 99 | sed 's/"id":"ts-000000"/"id":"k-2"/' | tsdb insert --db "$DB" >/dev/null
	run -0 --separate-stderr tsdb ingest --db "$DB" --spool "$SP"
	[[ "$output" == "ingested 3 files (3 series inserted, 0 unchanged) in 1 batch"*"; 1 failed, 0 left in new/" ]]
	[ -f "$SP/failed/k-2.json" ]
	grep -q "$SP/new/k-2.json: .*'k-2'" "$SP/failed/k-2.json.reason"
	[ "$(count "$SP/done")" -eq 3 ]
	run -0 tsdb list --db "$DB"
	[ "${#lines[@]}" -eq 4 ]
}

@test "one ingest per spool: a second one fails at once naming the lock" {
	drop_gen l 2 6
	exec 9>"$SP/.lock"
	flock -n 9
	run -1 --separate-stderr tsdb ingest --db "$DB" --spool "$SP"
	exec 9>&-
	[[ "$stderr" == *"spool $SP is busy: another ingest holds $SP/.lock"* ]]
	[ "$(count "$SP/new")" -eq 2 ]
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[ "$(count "$SP/done")" -eq 2 ]
}

@test "kill -9 at random moments: every file ends up stored once and in exactly one place" {
	# Rounds go on until 20 kills have landed (ingest died of SIGKILL, not
	# finished first); the delay is drawn within the last finished run's
	# duration so that kills fall everywhere in a run.
	local want=20 landed=0 finished=0 round=0 total=0 bad=0 pid rc t0 typical=50000 delay
	while [ "$landed" -lt "$want" ]; do
		round=$((round + 1))
		if [ "$round" -gt 200 ]; then
			echo "only $landed of $want kills landed in 200 rounds"
			return 1
		fi
		drop_gen "r$round" 12 "$round"
		drop "bad$round.dat" $'0.1 1\n0.2 oops\n'
		total=$((total + 13))
		bad=$((bad + 1))
		t0=${EPOCHREALTIME/./}
		tsdb ingest --db "$DB" --spool "$SP" --batch 3 >/dev/null 2>"$BATS_TEST_TMPDIR/ingest.err" 3>&- &
		pid=$!
		delay=$((RANDOM * typical / 32768))
		sleep "$((delay / 1000000)).$(printf %06d $((delay % 1000000)))"
		kill -9 "$pid" 2>/dev/null || true
		rc=0
		wait "$pid" || rc=$?
		case $rc in
		137) landed=$((landed + 1)) ;;
		0)
			finished=$((finished + 1))
			typical=$((${EPOCHREALTIME/./} - t0))
			;;
		*)
			echo "round $round: ingest exited with status $rc, not killed:"
			cat "$BATS_TEST_TMPDIR/ingest.err"
			return 1
			;;
		esac
		# at every instant each file is in exactly one of new/, done/, failed/
		local n d f
		n=$(count "$SP/new") d=$(count "$SP/done") f=$(count "$SP/failed")
		if [ $((n + d + f)) -ne "$total" ]; then
			echo "round $round: $n + $d + $f != $total"
			return 1
		fi
		# a failed file always has its reason
		for x in "$SP/failed"/*.dat; do
			[ -e "$x" ] || continue # none failed yet: the pattern itself
			[ -s "$x.reason" ] || { echo "$x without reason"; return 1; }
		done
		# every file in done/ is stored
		find "$SP/done" -mindepth 1 -maxdepth 1 -printf '%f\n' | sed 's/\.json$//' | sort >"$BATS_TEST_TMPDIR/done.ids"
		tsdb list --db "$DB" | sort >"$BATS_TEST_TMPDIR/db.ids"
		if comm -23 "$BATS_TEST_TMPDIR/done.ids" "$BATS_TEST_TMPDIR/db.ids" | grep -q .; then
			echo "round $round: in done/ but not stored:"
			comm -23 "$BATS_TEST_TMPDIR/done.ids" "$BATS_TEST_TMPDIR/db.ids"
			return 1
		fi
	done
	echo "# $landed kills landed, $finished runs finished first, in $round rounds" >&3
	echo "# figure spool-kills: $landed" >&3
	run -0 tsdb ingest --db "$DB" --spool "$SP"
	[ "$(count "$SP/new")" -eq 0 ]
	[ "$(count "$SP/failed")" -eq "$bad" ]
	[ "$(count "$SP/done")" -eq $((total - bad)) ]
	# the database holds each good file's series exactly once
	tsdb list --db "$DB" >"$BATS_TEST_TMPDIR/ids"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ids")" -eq $((total - bad)) ]
	[ -z "$(sort "$BATS_TEST_TMPDIR/ids" | uniq -d)" ]
	find "$SP/done" -mindepth 1 -maxdepth 1 -printf '%f\n' | sed 's/\.json$//' | sort | cmp - <(sort "$BATS_TEST_TMPDIR/ids")
	run -0 tsdb check --db "$DB" --deep
}
