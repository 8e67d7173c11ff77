#!/usr/bin/env bats
# lint.bats - the code checks itself: the shell code passes ShellCheck and
# no bats assertion is one that cannot fail (scripts/lint, `make lint`);
# the modules and programs keep the layering rules (scripts/layers, `make
# layers`) in the build under test.

bats_require_minimum_version 1.5.0

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"

@test "shellcheck and the dead-assertion check pass on every shell file" {
	run -0 "$TSDB_ROOT/scripts/lint"
	echo "$output"
	[[ "${lines[-1]}" == "lint: "*": ok" ]]
}

@test "the modules and the linked programs keep the layering rules" {
	run -0 "$TSDB_ROOT/scripts/layers" "${TSDB_BIN%/bin}"
	echo "$output"
	[[ "${lines[-1]}" == "layers: "*": ok" ]]
}
