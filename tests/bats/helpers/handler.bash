# handler.bash - shared by handler.bats and load.bats: small databases, raw
# frames, and socket-activated servers, each started here and killed by its
# own pid (recorded in $BATS_FILE_TMPDIR/servers.pid) in teardown_file.
#
# tests/run sets TSDB_BIN (the built programs, also first on PATH) and
# TSDB_ROOT (the repository).

: "${TSDB_ROOT:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
: "${TSDB_BIN:=$TSDB_ROOT/build/bin}"
export PATH="$TSDB_BIN:$PATH"
HANDLER="$TSDB_BIN/tsdb-handler"
# The interpreter itself, not a version manager's shim (which costs ~0.1 s
# a call); exported so that the tests reuse what setup_file found.
: "${PYTHON:=$(python3 -c 'import sys; print(sys.executable)')}"
export PYTHON
PYCLIENT="$TSDB_ROOT/tests/clients/pyclient.py"
FRAME="$TSDB_ROOT/tests/bats/helpers/frame.py"

# make_db DIR N [L [SEED]]: a database of N synthetic series of length L;
# the series inserted are kept in DIR.jsonl.
make_db() {
	local dir=$1 n=$2 len=${3:-64} seed=${4:-7}
	tsdb init --db "$dir" --length "$len" >/dev/null &&
		tsdb gen --seed "$seed" --length "$len" "$n" >"$dir.jsonl" &&
		tsdb insert --db "$dir" "$dir.jsonl" >/dev/null
}

# inetd REQUEST [handler options...]: pipes one frame into tsdb-handler (the
# inetd way: stdin/stdout) and prints the response body; the handler's log
# goes to $BATS_TEST_TMPDIR/inetd.log and its exit status is the function's.
inetd() {
	local req=$1 rc
	shift
	"$PYTHON" "$FRAME" encode "$req" | "$HANDLER" "$@" >"$BATS_TEST_TMPDIR/inetd.out" \
		2>"$BATS_TEST_TMPDIR/inetd.log"
	rc=${PIPESTATUS[1]}
	"$PYTHON" "$FRAME" decode <"$BATS_TEST_TMPDIR/inetd.out" || return 99
	return "$rc"
}

# inetd_many [handler options...] <REQUESTS: each line of stdin through a
# tsdb-handler of its own (one Python process for all: they are slow to
# start); one response body per line ("NO FRAME" if none); the handlers'
# log lines go to $BATS_TEST_TMPDIR/inetd.log.  Fails if a handler did.
inetd_many() {
	"$PYTHON" "$FRAME" inetd "$HANDLER" "$@" 2>"$BATS_TEST_TMPDIR/inetd.log"
}

# pyc ARGS...: the Python client.
pyc() {
	"$PYTHON" "$PYCLIENT" "$@"
}

# free_port: a TCP port on 127.0.0.1 that is free now (the kernel's choice,
# so parallel runs do not collide).
free_port() {
	"$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# serve LISTEN LOG [handler options...]: systemd-socket-activate --accept on
# LISTEN (127.0.0.1:PORT or a socket path) running tsdb-handler; its output
# and every handler's log line go to LOG.  Returns once it listens.
serve() {
	local listen=$1 log=$2 pid i
	shift 2
	# 3>&-: bats reads fd 3; a background job holding it would stall bats.
	systemd-socket-activate --accept -l "$listen" "$HANDLER" "$@" >"$log" 2>&1 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/servers.pid"
	for ((i = 0; i < 200; i++)); do
		grep -q '^Listening on' "$log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	echo "systemd-socket-activate on $listen did not start:" >&2
	cat "$log" >&2
	return 1
}

# serve_tcp VAR LOG [handler options...]: serve on a free port and set VAR
# to its address.  Retries when another process took the port meanwhile.
serve_tcp() {
	local var=$1 log=$2 port
	shift 2
	for _ in 1 2 3 4 5; do
		port=$(free_port) || return 1
		if serve "127.0.0.1:$port" "$log" "$@" 2>/dev/null; then
			printf -v "$var" '%s' "127.0.0.1:$port"
			return 0
		fi
	done
	return 1
}

# stop_servers: kills the systemd-socket-activate processes started here,
# each by its pid.
stop_servers() {
	local pid
	[ -f "$BATS_FILE_TMPDIR/servers.pid" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$BATS_FILE_TMPDIR/servers.pid"
	rm -f "$BATS_FILE_TMPDIR/servers.pid"
}

# wait_log LOG PATTERN [COUNT]: waits (up to 10 s) until LOG has COUNT
# (default 1) lines matching the extended regex PATTERN: a handler writes
# its log line just after its response, so the client may be faster.
wait_log() {
	local log=$1 pat=$2 want=${3:-1} i
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -cE -- "$pat" "$log")" -ge "$want" ] && return 0
		sleep 0.02
	done
	echo "wanted $want lines matching '$pat' in $log:" >&2
	cat "$log" >&2
	return 1
}

# status: the "status" of the response body in $output.
status() {
	jq -r .status <<<"$output"
}
