# container.bash - what the bats files under a real systemd share
# (systemd.bats, deb.bats): the container's command, its address, and
# running commands inside it.  Loaded at the top of the file, so setup_file
# and the tests see the same definitions.
#
#   ct_boot                  boots a fresh container in $CT, or sets
#                            CT_SKIP to why none can run here
#   ct_stop, ct_skip_unless  teardown_file's and setup's part
#   in_ct CMD...             CMD inside the container
#   as_tsdb CMD...           CMD inside, as the writer's user

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
CONTAINER="$TSDB_ROOT/tests/systemd/container"
# shellcheck disable=SC2034 # used by the files that load this one
ADDR=127.0.0.1:7411

# ct_boot [WHY]: WHY non-empty skips the file with that reason instead.
ct_boot() {
	export CT="$BATS_FILE_TMPDIR/ct"
	CT_SKIP=${1:-}
	[ -n "$CT_SKIP" ] || CT_SKIP=$("$CONTAINER" usable) || true
	export CT_SKIP
	[ -z "$CT_SKIP" ] || return 0
	mkdir -p "$CT"
	"$CONTAINER" boot "$CT" >/dev/null
}

ct_stop() {
	[ -z "${CT_SKIP:-}" ] || return 0
	"$CONTAINER" stop "$CT"
}

ct_skip_unless() {
	[ -z "$CT_SKIP" ] || skip "$CT_SKIP"
}

in_ct() {
	"$CONTAINER" exec "$CT" "$@"
}

as_tsdb() {
	in_ct runuser -u tsdb -- "$@"
}
