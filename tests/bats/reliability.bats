#!/usr/bin/env bats
# reliability.bats - what tsdb survives: the writer killed at random
# instants while handlers answer, and a file system that fills up
# mid-batch.  TSDB_FULL=1 runs the kill test with 200 kills (the default
# run does 40); the figures are printed for the README ("What tsdb
# survives").

bats_require_minimum_version 1.5.0

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${TSDB_BIN:=$TSDB_ROOT/build/bin}"

@test "kill -9 the writer at random instants: committed batches whole, others absent, readers never fail" {
	local kills=40 key=writer-kills
	if [ "${TSDB_FULL:-0}" = 1 ]; then
		kills=200 key=writer-kills-full
	fi
	run -0 timeout 900 python3 "$TSDB_ROOT/tests/reliability/killtest.py" "$TSDB_BIN" "$BATS_TEST_TMPDIR" "$kills" 7
	echo "$output"
	# every kill landed, and both readers answered queries throughout
	[[ "${lines[-1]}" =~ ^kills=$kills\ .*\ queries=[0-9]+\ \(readers\ [1-9][0-9]*\+[1-9][0-9]*\)$ ]]
	echo "# writer kills survived: ${lines[-1]}" >&3
	echo "# figure $key: $kills" >&3
}

@test "the kill harness fails when a reader thread dies" {
	run -1 timeout 300 env KILLTEST_BREAK_READER=1 python3 "$TSDB_ROOT/tests/reliability/killtest.py" \
		"$TSDB_BIN" "$BATS_TEST_TMPDIR" 5 7
	echo "$output"
	[[ "$output" == *"FAIL: reader 1 died: RuntimeError: broken on purpose"* ]]
}

@test "a full disk mid-batch: clear error, database unchanged and valid, later inserts succeed" {
	if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=1m tmpfs "$BATS_TEST_TMPDIR" 2>/dev/null; then
		skip "needs root to mount a small tmpfs"
	fi
	umount "$BATS_TEST_TMPDIR"
	run -0 timeout 300 "$TSDB_ROOT/tests/reliability/fulldisk.sh" "$TSDB_BIN" "$BATS_TEST_TMPDIR"
	echo "$output"
	echo "# ${lines[-1]}" >&3
	[[ "${lines[-1]}" =~ ^fulldisk:\ tmpfs=([0-9]+)MiB\  ]]
	echo "# figure fulldisk: ${BASH_REMATCH[1]} MiB" >&3
}
