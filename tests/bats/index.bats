#!/usr/bin/env bats
# index.bats - metadata indexes from the command line and the wire:
# `tsdb init --index`, `tsdb index add | drop | list`, what info and
# check say, the index plan in `tsdb search --explain` and in the
# handler's payload, and answers identical to those without indexes.
# test_midx and test_filter (C) are the differential and maintenance
# tests; this file checks the commands.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db" PLAIN="$BATS_FILE_TMPDIR/plain"
	tsdb gen --meta --seed 4 --length 64 3000 >"$BATS_FILE_TMPDIR/s.jsonl"
	tsdb init --db "$DB" --length 64 --index order >/dev/null
	tsdb init --db "$PLAIN" --length 64 >/dev/null
	tsdb insert --db "$DB" "$BATS_FILE_TMPDIR/s.jsonl" >/dev/null
	tsdb insert --db "$PLAIN" "$BATS_FILE_TMPDIR/s.jsonl" >/dev/null
}

setup() {
	load helpers/handler
}

@test "init --index: info, index list and check show the index, format 3" {
	run -0 tsdb info --db "$DB"
	[[ "$output" == *"format version  3"* ]]
	[[ "$output" == *"index order: 3000 entries"* ]]
	run -0 tsdb index list --db "$DB"
	[ "$output" = "$(printf 'order\t3000')" ]
	run -0 tsdb check --db "$DB"
	[[ "$output" == "ok: "* ]]
	run -0 tsdb info --db "$PLAIN" --json
	[ "$(jq -c '[.format_version, .indexes]' <<<"$output")" = '[3,[]]' ]
}

@test "index add on a populated database, then searches use it and answer as without" {
	run -0 tsdb index add --db "$DB" level mean
	[[ "${lines[0]}" == "indexed level in $DB: 3000 series have it (txn "* ]]
	[[ "${lines[1]}" == "indexed mean in $DB: 3000 series have it (txn "* ]]
	run -0 tsdb check --db "$DB"
	local where='{"level":"C","order":4}'
	run -0 tsdb search --db "$DB" --id ts-000011 -k 10 --where "$where" --explain
	[[ "$output" == *"plan index over 3000 series"* ]]
	[[ "$output" == *"(index on order: "*" entries in range)"* ]]
	local with without
	with=$(tsdb search --db "$DB" --id ts-000011 -k 10 --where "$where" --json | jq -c '.results')
	without=$(tsdb search --db "$PLAIN" --id ts-000011 -k 10 --where "$where" --json | jq -c '.results')
	[ "$with" = "$without" ]
	[ "$(jq length <<<"$with")" -eq 10 ]
	# the narrowest field wins: mean in a thin band beats level's sixth
	run -0 tsdb search --db "$DB" --id ts-000011 -k 3 --where '{"level":"C","mean":{">=":0.5,"<":0.51}}' --explain
	[[ "$output" == *"(index on mean: "* ]]
}

@test "the handler's payload names the index plan; select answers as without indexes" {
	local where='{"order":{"in":[2]},"vp":true}'
	run -0 inetd "{\"op\":\"with_id\",\"id\":\"ts-000011\",\"k\":5,\"where\":$where}" --db "$DB"
	[ "$(jq -r '.payload.filter.plan' <<<"$output")" = index ]
	[ "$(jq -r '.payload.filter.index' <<<"$output")" = order ]
	[ "$(jq '.payload.filter.index_entries > 0 and .payload.filter.matched > 0' <<<"$output")" = true ]
	local a b
	a=$(tsdb select --db "$DB" --where "$where" --fields order,mean --sort -mean --json)
	b=$(tsdb select --db "$PLAIN" --where "$where" --fields order,mean --sort -mean --json)
	[ "$a" = "$b" ]
	[ "$(jq .count <<<"$a")" -gt 0 ]
}

@test "insert, remove, replace, reindex and compact keep the indexes; check verifies them" {
	tsdb gen --meta --seed 9 --length 64 50 | sed 's/"ts-/"new-/' >"$BATS_TEST_TMPDIR/new.jsonl"
	tsdb insert --db "$DB" "$BATS_TEST_TMPDIR/new.jsonl" >/dev/null
	tsdb remove --db "$DB" ts-000001 ts-000002 new-000003 >/dev/null
	tsdb gen --meta --seed 10 --length 64 5 >"$BATS_TEST_TMPDIR/repl.jsonl"
	tsdb insert --db "$DB" --replace "$BATS_TEST_TMPDIR/repl.jsonl" >/dev/null
	run -0 tsdb check --db "$DB"
	tsdb reindex --db "$DB" --seed 3 >/dev/null
	run -0 tsdb check --db "$DB"
	tsdb compact --db "$DB" >/dev/null
	run -0 tsdb check --db "$DB" --deep
	# 3000 + 50 - 3, and two of the five replacements were removed ids
	[ "$(tsdb info --db "$DB" --json | jq -c '[.series, (.indexes[] | .entries)]')" = '[3049,3049,3049,3049]' ]
}

@test "index refusals: clear errors, nothing changed" {
	local txn
	txn=$(tsdb info --db "$DB" --json | jq .txn)
	run -1 tsdb index add --db "$DB" order
	[[ "$output" == *"field 'order' is already indexed"* ]]
	run -1 tsdb index drop --db "$DB" nosuch
	[[ "$output" == *"field 'nosuch' is not indexed"* ]]
	run -2 tsdb index frob --db "$DB" x
	[[ "$output" == *"no index action 'frob' (add, drop or list)"* ]]
	run -2 tsdb index --db "$DB"
	run -2 tsdb index add --db "$DB"
	run -1 tsdb index add --db "$DB" a b c d e f g h i j k l m n
	[[ "$output" == *"a database has at most 16"* ]]
	run -1 tsdb init --db "$BATS_TEST_TMPDIR/x" --index a --index a
	[[ "$output" == *"field 'a' is named twice"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/x/tsdb.db" ]
	[ "$(tsdb info --db "$DB" --json | jq .txn)" = "$txn" ]
}

@test "index drop: searches fall back to the other plans, same answers; nothing indexed is left" {
	local where='{"level":"C","order":{">=":4}}' before
	before=$(tsdb search --db "$DB" --id ts-000011 -k 10 --where "$where" --json | jq -c '.results')
	for f in order level mean; do
		run -0 tsdb index drop --db "$DB" "$f"
		[[ "$output" == "dropped the index on $f in $DB (txn "* ]]
	done
	run -0 tsdb search --db "$DB" --id ts-000011 -k 10 --where "$where" --explain
	[[ "$output" != *"plan index"* ]]
	[ "$(tsdb search --db "$DB" --id ts-000011 -k 10 --where "$where" --json | jq -c '.results')" = "$before" ]
	[ "$(tsdb info --db "$DB" --json | jq -c .indexes)" = '[]' ]
	run -0 tsdb check --db "$DB"
}
