#!/usr/bin/env bats
# runner.bats - the test runner and the lint cannot pass by accident: a
# skip is counted and shown, never passed; CI refuses one not allowed; a
# wrong or missing TAP plan, a hang and a silent non-zero exit fail; a dead
# assertion is caught.  Each case runs tests/run on a small fixture suite
# made here (C tests stood in for by shell scripts printing TAP).

bats_require_minimum_version 1.5.0

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"

setup() {
	FIX=$BATS_TEST_TMPDIR/fixture
	mkdir -p "$FIX/build/tests" "$FIX/bats"
	export TSDB_BATS_DIR=$FIX/bats
}

# ctest NAME BODY: a stand-in C test program printing BODY.
ctest() {
	printf '#!/bin/sh\n%s\n' "$2" >"$FIX/build/tests/$1"
	chmod +x "$FIX/build/tests/$1"
}

# batsfile NAME <BODY: a bats file of the fixture suite; BODY says "TEST"
# where the file will say "@test" (bats would take the fixture's tests for
# this file's own).
batsfile() {
	{
		echo '#!/usr/bin/env bats'
		sed 's/^\([[:space:]]*\)TEST /\1@test /'
	} >"$FIX/bats/$1"
}

# fresh [VAR=VALUE...] COMMAND...: COMMAND in an environment without this
# bats run's variables, nor its libexec directory on PATH (where "bats" is
# an internal script): a bats run inside another must not share its state.
fresh() {
	local path
	path=$(tr ':' '\n' <<<"$PATH" | grep -v bats-core | paste -sd:)
	env -i PATH="$path" HOME="$HOME" TSDB_BATS_DIR="$TSDB_BATS_DIR" "$@"
}

runner() {
	fresh "$@" "$TSDB_ROOT/tests/run" "$FIX/build"
}

@test "a skipped test is counted as skipped, with its reason, not as passed" {
	ctest test_a "echo 'ok 1 - fine'; echo 'ok 2 - later # skip no widget here'; echo 1..2"
	batsfile b.bats <<-'EOF'
		TEST "runs" { true; }
		TEST "skips" { skip "needs a frobnicator"; }
	EOF
	run --separate-stderr runner
	echo "$output"; echo "$stderr"
	[ "$status" -eq 0 ]
	echo "$output"
	echo "$stderr"
	[ "${lines[-1]}" = "2 passed, 0 failed, 2 skipped" ]
	[[ "$stderr" == *"skip: test_a: later: no widget here"* ]]
	[[ "$stderr" == *"skip: b.bats: skips: needs a frobnicator"* ]]
}

@test "in CI (TSDB_STRICT=1) a skip fails unless tests/skips-allowed lists it" {
	ctest test_a "echo 'ok 1 - later # skip no widget here'; echo 1..1"
	batsfile b.bats <<-'EOF'
		TEST "skips" { skip "needs a frobnicator"; }
	EOF
	run -1 --separate-stderr runner TSDB_STRICT=1 TSDB_SKIPS_ALLOWED=/dev/null
	[ "${lines[-1]}" = "0 passed, 2 failed, 2 skipped" ]
	[[ "$stderr" == *"not ok - b.bats: 'skips' skipped, and tests/skips-allowed does not allow it"* ]]
	printf '# why it is allowed\nneeds a frobnicator  # none in CI\n' >"$BATS_TEST_TMPDIR/allow"
	run -1 runner TSDB_STRICT=1 TSDB_SKIPS_ALLOWED="$BATS_TEST_TMPDIR/allow"
	[ "${lines[-1]}" = "0 passed, 1 failed, 2 skipped" ]
}

@test "a program that stops before its plan, or prints none, fails" {
	ctest test_short "echo 'ok 1 - one'; echo 1..3"
	ctest test_noplan "echo 'ok 1 - one'"
	run -1 --separate-stderr runner
	[ "${lines[-1]}" = "2 passed, 2 failed, 0 skipped" ]
	[[ "$stderr" == *"not ok - test_short: plan 1..3, but 1 results"* ]]
	[[ "$stderr" == *"not ok - test_noplan: 0 TAP plans (1..N) where one was due"* ]]
}

@test "a hanging program is stopped by its timeout and fails" {
	ctest test_hang "echo 'ok 1 - one'; sleep 30; echo 1..1"
	SECONDS=0
	run -1 --separate-stderr runner TSDB_TEST_TIMEOUT=1
	[ "$SECONDS" -lt 20 ]
	[ "${lines[-1]}" = "1 passed, 1 failed, 0 skipped" ]
	[[ "$stderr" == *"not ok - test_hang: timed out"* ]]
}

@test "a non-zero exit with every test passed fails" {
	ctest test_exit "echo 'ok 1 - one'; echo 1..1; exit 3"
	run -1 --separate-stderr runner
	[ "${lines[-1]}" = "1 passed, 1 failed, 0 skipped" ]
	[[ "$stderr" == *"not ok - test_exit: exited with status 3"* ]]
}

@test "the lint catches an assertion that cannot fail" {
	# two dead checks (both false, yet the test passes), then live forms
	batsfile dead.bats <<-'EOF'
		TEST "dead" {
			[ 1 -eq 2 ] && [ 3 -eq 3 ]
			! grep -q / /dev/null
			[ -e / ] || { echo missing; return 1; }
			if [ 1 -eq 2 ] && true; then false; fi
			[[ 1 -eq 1 && 2 -eq 2 ]]
		}
	EOF
	run -1 "$TSDB_ROOT/scripts/lint-chains" "$FIX/bats/dead.bats"
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == *"dead.bats:3: only the last command of an && chain can fail the test"* ]]
	[[ "${lines[1]}" == *"dead.bats:4: '!' does not fail a bats test"* ]]
	# and bats does pass that test: the reason for the lint
	run fresh bats --tap "$FIX/bats/dead.bats"
	echo "$output"
	[ "$status" -eq 0 ]
}
