#!/usr/bin/env bats
# query.bats - the query language (docs/QUERY.md) in both programs: each
# form through `simsearch --query` against a served database and through
# `tsdb search --query` on the database itself gives exactly the answer of
# the same request written with options; a mistake is a usage error (exit
# 2) naming its line and column.
#
# shellcheck disable=SC2016 # filters name "$and", "$or": JSON, not shell  test_querylang (C) checks the compiler
# form by form; fuzz_lang fuzzes it.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db"
	tsdb init --db "$DB" --length 64 >/dev/null
	tsdb gen --meta --seed 8 --length 64 1500 | tsdb insert --db "$DB" - >/dev/null
	serve_tcp TCP "$BATS_FILE_TMPDIR/tcp.log" --db "$DB"
	export TCP
}

teardown_file() {
	load helpers/handler
	stop_servers
}

setup() {
	load helpers/handler
}

pairs() {
	jq -c '[.results[] | [.id, .distance]]'
}

@test "(top K (like ID) (where ...)): the same answer as -k, --id and --where, served and local" {
	local want
	want=$(tsdb search --db "$DB" --json --brute --id ts-000010 -k 8 --where '{"$and":[{"order":{">=":2}},{"level":"C"}]}' | pairs)
	run -0 simsearch --server "$TCP" --json --query '(top 8 (like "ts-000010") (where (and (>= order 2) (= level "C"))))'
	[ "$(pairs <<<"$output")" = "$want" ]
	run -0 tsdb search --db "$DB" --json --query '(top 8 (like "ts-000010") (where (and (>= order 2) (= level "C"))))'
	[ "$(pairs <<<"$output")" = "$want" ]
	[ "$(jq '.results | length' <<<"$output")" -eq 8 ]
}

@test "(top K (like-file F)) and (within R (like-file F)): the file is read by the program" {
	local f="$TSDB_ROOT/tests/data/51886.dat_folded"
	run -0 simsearch --server "$TCP" --json --query "(top 4 (like-file \"$f\"))"
	[ "$(pairs <<<"$output")" = "$(tsdb search --db "$DB" --json -k 4 "$f" | pairs)" ]
	run -0 tsdb search --db "$DB" --json --query "(within 0.2 (like-file \"$f\") (limit 5))"
	[ "$(pairs <<<"$output")" = "$(tsdb search --db "$DB" --json --within 0.2 --limit 5 "$f" | pairs)" ]
	run -1 simsearch --server "$TCP" --query '(top 4 (like-file "/nonexistent/x.dat"))'
	[[ "$output" == *"/nonexistent/x.dat"* ]]
}

@test "(select ...): the same page as tsdb select, in both programs" {
	local q='(select (where (or (= level "A") (< mean 0.2))) (fields order mean) (sort -order) (limit 6) (offset 3))'
	local want
	want=$(tsdb select --db "$DB" --json --where '{"$or":[{"level":"A"},{"mean":{"<":0.2}}]}' --fields order,mean --sort -order --limit 6 --offset 3)
	run -0 simsearch --server "$TCP" --json --query "$q"
	[ "$output" = "$want" ]
	run -0 tsdb search --db "$DB" --json --query "$q"
	[ "$output" = "$want" ]
	run -0 simsearch --server "$TCP" --query "$q"
	[ "${#lines[@]}" -eq 7 ]   # 6 results, then the note that more follow
}

@test "(get ID), (info) and (list ...) through simsearch" {
	run -0 simsearch --server "$TCP" --json --query '(get "ts-000002")'
	[ "$output" = "$(simsearch --server "$TCP" --json get ts-000002)" ]
	run -0 simsearch --server "$TCP" --json --query '(list (prefix "ts-0001") (after "ts-000105") (limit 3))'
	[ "$(jq -c .ids <<<"$output")" = '["ts-000106","ts-000107","ts-000108"]' ]
	run -0 simsearch --server "$TCP" --json --query '(info)'
	[ "$(jq .series <<<"$output")" -eq 1500 ]
	# tsdb search runs searches only
	run -2 tsdb search --db "$DB" --query '(info)'
	[[ "$output" == *"(info ...) is not a search; use 'tsdb info'"* ]]
}

@test "a mistake is a usage error with its line and column, and nothing is sent" {
	run -2 simsearch --server "$TCP" --query '(top ten (like "x"))'
	[[ "$output" == *'--query: 1:6: expected a number after "top", got "ten"'* ]]
	run -2 tsdb search --db "$DB" --query $'(top 3\n  (like "ts-1")'
	[[ "$output" == *'--query: 2:'*'unclosed "(" opened at 1:1'* ]]
	run -2 simsearch --server "$TCP" --query '(top 3 (like "a"))' --id ts-000001
	[[ "$output" == *"--query is the whole request"* ]]
	# the server saw none of these: its one with_id is the first test's
	run -0 grep -c 'op=with_id' "$BATS_FILE_TMPDIR/tcp.log"
	[ "$output" -eq 1 ]
}
