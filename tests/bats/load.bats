#!/usr/bin/env bats
# load.bats - many handlers at once, while the writer commits: readers never
# block and never fail (docs/DESIGN.md, decision 1), every client gets a whole,
# correct answer, and every handler process exits 0.

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db" LOG="$BATS_FILE_TMPDIR/server.log"
	make_db "$DB" 400 64
	serve_tcp ADDR "$LOG" --db "$DB"
	export ADDR
	# The writer's batches: 200 files of 10 series with ids of their own.
	mkdir "$BATS_FILE_TMPDIR/batches"
	tsdb gen --seed 99 --length 64 2000 | jq -c '.id = "w-" + .id' |
		split -l 10 -d -a 3 --additional-suffix=.jsonl - "$BATS_FILE_TMPDIR/batches/b"
}

teardown_file() {
	stop_servers
}

setup() {
	load helpers/handler
}

@test "200 concurrent connections answered correctly while a writer inserts batches" {
	local stop="$BATS_TEST_TMPDIR/stop" count="$BATS_TEST_TMPDIR/inserted"
	echo 0 >"$count"
	# The writer: one batch after another until the clients are done.
	(
		n=0
		for f in "$BATS_FILE_TMPDIR"/batches/b*.jsonl; do
			if [ -e "$stop" ]; then break; fi
			tsdb insert --db "$DB" "$f" >/dev/null || exit 1
			n=$((n + 1))
			echo "$n" >"$count"
		done
	) 3>&- &
	local writer=$!

	local ids=() i
	for i in $(seq 0 37 399); do ids+=("$(printf 'ts-%06d' "$i")"); done
	# Three rounds of 200 simultaneous connections.
	run "$PYTHON" "$TSDB_ROOT/tests/bats/helpers/concurrency.py" --rounds 3 \
		--verify "$DB" "$BATS_FILE_TMPDIR/batches" 400 "$ADDR" 200 10 "${ids[@]}"
	touch "$stop"
	local writer_rc=0
	wait "$writer" || writer_rc=$?
	echo "$output"
	echo "writer: exit $writer_rc, $(cat "$count") batches"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "600 ok, 0 failed" ]
	[ "$writer_rc" -eq 0 ]
	# The answers came from more than one snapshot: commits happened meanwhile.
	[ "${lines[-2]}" != "snapshots: 1" ]
	# ... and each was the local search's answer on its snapshot
	[ "${lines[-3]}" = "verified: 600 answers against the local search, 0 differ" ]

	# Every handler logged one OK line and exited 0.
	wait_log "$LOG" '^<6>tsdb-handler: op=with_id status=OK k=10 results=10 ' 600
	wait_log "$LOG" '^Child [0-9]+ died with code 0$' 600
	run grep -E '^<[0-5]>|died with code [1-9]|killed|dumped' "$LOG"
	[ "$status" -eq 1 ]

	# And the database holds every batch the writer committed.
	run pyc --server "$ADDR" '{"op":"info"}'
	[ "$(jq .payload.series <<<"$output")" -eq $((400 + 10 * $(cat "$count"))) ]
}
