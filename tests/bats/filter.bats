#!/usr/bin/env bats
# filter.bats - metadata filters and select end to end: "where" on
# with_id, with_ts and within through tsdb-handler answers exactly as
# `tsdb search --brute --where` on the same database, every plan alike,
# with the plan and the filter's counts in the payload; select and
# `tsdb select` count, order and page; hostile filters are refused with a
# clear status and never ignored.  test_filter (C) is the differential
# test over thousands of queries; this file checks the wire and the
# command line.
#
# shellcheck disable=SC2016 # filters name "$or", "$not": JSON, not shell

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	export DB="$BATS_FILE_TMPDIR/db"
	tsdb init --db "$DB" --length 64 >/dev/null
	tsdb gen --meta --seed 4 --length 64 2000 >"$DB.jsonl"
	# a few series without metadata, and one whose order is a string
	tsdb gen --seed 5 --length 64 3 | sed 's/"ts-/"bare-/' >>"$DB.jsonl"
	tsdb gen --seed 6 --length 64 1 | jq -c '.id = "odd" | .meta = {"order": "5", "level": "C"}' >>"$DB.jsonl"
	tsdb insert --db "$DB" "$DB.jsonl" >/dev/null
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

# brute ARGS...: the reference results, as [[id, distance]...].
brute() {
	tsdb search --db "$DB" --json --brute "$@" | jq -c '[.results[] | [.id, .distance]]'
}

served() {
	jq -c '[.payload.results[] | [.id, .distance]]' <<<"$1"
}

@test "with_id with where answers as brute force over the matching series, and says how" {
	local where='{"level":{"in":["C","D"]},"order":{">=":0}}'
	run -0 inetd "{\"op\":\"with_id\",\"id\":\"ts-000011\",\"k\":10,\"where\":$where}" --db "$DB"
	[ "$(jq -r .status <<<"$output")" = OK ]
	[ "$(served "$output")" = "$(brute --id ts-000011 -k 10 --where "$where")" ]
	[ "$(jq '.payload.results | length' <<<"$output")" -eq 10 ]
	[ "$(jq -r '.payload.filter.plan' <<<"$output")" = walk ]
	[ "$(jq '.payload.filter.tested > 0' <<<"$output")" = true ]
	[ "$(jq '.payload.filter.sampled' <<<"$output")" -eq 512 ]
	[ "$(jq '.payload.filter.matched_estimate > 0' <<<"$output")" = true ]
}

@test "a filter matching a handful: min(k, matches) results, an exact count, the scan plan" {
	local where='{"vp":true,"level":"F","order":-5}'
	run -0 tsdb select --db "$DB" --where "$where" --json
	local matches
	matches=$(jq .count <<<"$output")
	[ "$matches" -lt 10 ]
	run -0 inetd "{\"op\":\"with_ts\",\"ts\":[[0,0.25,0.5,0.75],[1,2,3,2]],\"k\":10,\"where\":$where}" --db "$DB"
	[ "$(jq '.payload.results | length' <<<"$output")" -eq "$matches" ]
	[ "$(jq -r '.payload.filter.plan' <<<"$output")" = scan ]
	[ "$(jq '.payload.filter.matched' <<<"$output")" -eq "$matches" ]
}

@test "every plan gives the same answer; --explain says which ran" {
	local where='{"$or":[{"level":"A"},{"blarg":2}],"mean":{"<":0.8}}' plan want
	want=$(brute --id ts-000123 -k 20 --where "$where")
	for plan in auto walk scan; do
		run -0 tsdb search --db "$DB" --json --id ts-000123 -k 20 --where "$where" --plan "$plan"
		[ "$(jq -c '[.results[] | [.id, .distance]]' <<<"$output")" = "$want" ] || { echo "plan $plan"; return 1; }
	done
	run -0 --separate-stderr tsdb search --db "$DB" --id ts-000123 -k 3 --where "$where" --plan scan --explain
	[[ "$stderr" == "tsdb: plan scan over 2004 series: "*"filter tested on 2003 series, "*" matched" ]]
	[ "${#lines[@]}" -eq 3 ]
}

@test "within with where: every matching series within the radius, as brute force" {
	local where='{"order":{"in":[1,2,3]}}'
	run -0 inetd "{\"op\":\"within\",\"id\":\"ts-000005\",\"radius\":0.2,\"where\":$where}" --db "$DB"
	[ "$(served "$output")" = "$(brute --id ts-000005 --within 0.2 --where "$where")" ]
	[ "$(jq '.payload.results | length' <<<"$output")" -gt 0 ]
	# none of them has an order outside the list
	local ids
	ids=$(jq -r '.payload.results[].id' <<<"$output")
	run -0 tsdb select --db "$DB" --where "$where" --limit 100000
	local id
	for id in $ids; do
		grep -qx "$id" <<<"$output" || { echo "$id does not match"; return 1; }
	done
}

@test "a type mismatch or a missing field does not match, and != does not match it either" {
	run -0 tsdb select --db "$DB" --where '{"order":"5"}'
	[ "$output" = odd ]
	run -0 tsdb select --db "$DB" --where '{"order":{"!=":5},"level":"C"}' --limit 100000
	[[ "$output" != *odd* ]]
	[[ "$output" != *bare-* ]]
	run -0 tsdb select --db "$DB" --where '{"level":{"exists":false}}'
	[ "$output" = $'bare-000000\nbare-000001\nbare-000002' ]
	run -0 tsdb select --db "$DB" --where '{"$not":{"level":{"exists":true}}}'
	[ "$output" = $'bare-000000\nbare-000001\nbare-000002' ]
}

@test "select: the count, the fields asked for, sorted by a field, ties by id" {
	run -0 inetd '{"op":"select","md":{"level":"C","order":5},"fields":["order","mean"],"additional":{"sort_by":"-mean","limit":5}}' --db "$DB"
	[ "$(jq -r .status <<<"$output")" = OK ]
	local count
	count=$(jq .payload.count <<<"$output")
	[ "$count" -eq "$(tsdb select --db "$DB" --where '{"level":"C","order":5}' --limit 100000 | wc -l)" ]
	[ "$(jq '.payload.results | length' <<<"$output")" -eq 5 ]
	[ "$(jq '.payload.more' <<<"$output")" = true ]
	[ "$(jq -c '[.payload.results[].meta | keys] | unique' <<<"$output")" = '[["mean","order"]]' ]
	[ "$(jq -c '[.payload.results[].meta.mean] == ([.payload.results[].meta.mean] | sort | reverse)' <<<"$output")" = true ]
	# fields null: ids only; fields []: all the metadata
	run -0 inetd '{"op":"select","md":{"level":"C"},"fields":null,"additional":{"limit":1}}' --db "$DB"
	[ "$(jq -c '.payload.results[0] | keys' <<<"$output")" = '["id"]' ]
	run -0 inetd '{"op":"select","md":{"level":"C","blarg":{"exists":true}},"fields":[],"additional":{"limit":1}}' --db "$DB"
	[ "$(jq -c '.payload.results[0].meta | keys' <<<"$output")" = '["blarg","level","mean","order","std","vp"]' ]
}

@test "select pages with offset: every match exactly once, in order" {
	local where='{"level":"B","blarg":1}' all paged="" off
	all=$(tsdb select --db "$DB" --where "$where" --sort order --limit 100000)
	for off in 0 37 74 111 148 185 222; do
		paged+=$(tsdb select --db "$DB" --where "$where" --sort order --limit 37 --offset "$off" 2>/dev/null)
		paged+=$'\n'
	done
	[ "$(grep -c . <<<"$all")" -gt 74 ]
	[ "$(grep . <<<"$paged")" = "$all" ]
}

@test "hostile filters are refused with a clear status, never ignored" {
	local deep='{"order":1}' i
	for i in $(seq 40); do deep="{\"\$not\":$deep}"; done
	run -0 inetd_many --db "$DB" <<EOF
{"op":"with_id","id":"ts-000001","where":"level"}
{"op":"with_id","id":"ts-000001","where":{"level":{"=~":"C"}}}
{"op":"with_id","id":"ts-000001","where":{"\$xor":[{"a":1}]}}
{"op":"with_id","id":"ts-000001","where":{"vp":{"<":true}}}
{"op":"with_id","id":"ts-000001","where":{"level":null}}
{"op":"with_id","id":"ts-000001","where":{"\$or":[]}}
{"op":"with_id","id":"ts-000001","where":$deep}
{"op":"with_id","id":"ts-000001","where":{"order":{"in":[$(seq -s, 2000)]}}}
{"op":"select","md":{"a":1},"where":{"a":1}}
{"op":"select","fields":"order"}
{"op":"select","additional":{"sort_by":"-"}}
EOF
	echo "$output"
	[ "${#lines[@]}" -eq 11 ]
	local want=(INVALID_COMPONENT INVALID_COMPONENT INVALID_COMPONENT INVALID_COMPONENT INVALID_COMPONENT
		INVALID_COMPONENT TOO_LARGE TOO_LARGE INVALID_COMPONENT INVALID_COMPONENT INVALID_COMPONENT)
	for i in "${!want[@]}"; do
		[ "$(jq -r .status <<<"${lines[$i]}")" = "${want[$i]}" ] || { echo "line $i"; return 1; }
		[ -n "$(jq -r .error <<<"${lines[$i]}")" ]
	done
	[[ "${lines[1]}" == *'where.level: unknown operator \"=~\"'* ]]
	# the command line says the same
	run -2 tsdb search --db "$DB" --id ts-000001 --where '{"level":{"=~":"C"}}'
	[[ "$output" == *'--where: where.level: unknown operator "=~"'* ]]
	run -2 tsdb search --db "$DB" --id ts-000001 --where '{"level":'
	[[ "$output" == *"--where: not JSON"* ]]
	run -2 tsdb search --db "$DB" --id ts-000001 --plan walk
	[[ "$output" == *"--plan applies to a search with --where"* ]]
}

@test "simsearch --where through a served database: the same answer; a refused filter exits 4 with the server's reason" {
	local where='{"blarg":2,"level":{"in":["A","B"]}}'
	run -0 simsearch --server "$TCP" --json --id ts-000042 -k 7 --where "$where"
	[ "$(jq -c '[.results[] | [.id, .distance]]' <<<"$output")" = "$(brute --id ts-000042 -k 7 --where "$where")" ]
	[ "$(jq -r .filter.plan <<<"$output")" = walk ]
	run -4 simsearch --server "$TCP" --id ts-000042 --where '{"blarg":{"~":2}}'
	[[ "$output" == *"INVALID_COMPONENT: where.blarg: unknown operator"* ]]
	run -2 simsearch --server "$TCP" --id ts-000042 --where '{"blarg":'
	[[ "$output" == *"--where: not JSON"* ]]
	run -2 simsearch --server "$TCP" --where '{}' info
	[[ "$output" == *"are for searches"* ]]
}
