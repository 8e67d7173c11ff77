#!/usr/bin/env bash
# handler.sh BUILD_DIR - service latency through systemd-socket-activate
# --accept (one handler process per connection), for with_id k=10 on
# databases of 1,000 and 100,000 series (L=100), at concurrency 1 and 8;
# in the same run the same load against empty-handler (linked like the
# handler, answering without a database): the floor of process-per-
# connection.  Each cell is the median over ROUNDS runs of REQS requests,
# the floor's and the handler's runs interleaved.  SIZES="1000 100000"
# sets the database sizes; HANDLER_DB_N=DIR uses the database in DIR for
# size N (its ids ts-000000...) instead of building one, and keeps it.
set -euo pipefail
build=${1:-build}
bin="$build/bin"
reqs=${REQS:-300}
rounds=${ROUNDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/tsdb-bench-handler.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# serve PROGRAM ARGS... ; sets $port
serve() {
	port=$(free_port)
	systemd-socket-activate --accept -l "127.0.0.1:$port" "$@" 2>/dev/null &
	pids+=($!)
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && return
		sleep 0.05
	done
	echo "handler.sh: server on $port did not come up" >&2
	exit 1
}

median() { # lines of "p50 p99 rps errors" on stdin -> their column medians
	python3 -c '
import sys, statistics as st
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%.3f" % st.median(c) for c in zip(*rows)))'
}

# pair FLOOR_ADDR REAL_ADDR CONC NSERIES: ROUNDS rounds, floor and real
# interleaved so that both see the same machine; sets $floor and $real.
pair() {
	local f=() r=()
	for _ in $(seq "$rounds"); do
		f+=("$("$build/bench/bench_service" "$1" "$3" "$reqs" "$4" 10)")
		r+=("$("$build/bench/bench_service" "$2" "$3" "$reqs" "$4" 10)")
	done
	floor=$(printf '%s\n' "${f[@]}" | median)
	real=$(printf '%s\n' "${r[@]}" | median)
}

printf 'service benchmark: with_id k=10 through systemd-socket-activate --accept, %s requests x %s rounds (medians)\n' "$reqs" "$rounds"
printf '%8s %-14s %4s %10s %10s %10s %8s %14s\n' series handler conc "p50 ms" "p99 ms" "req/s" errors "p50 / floor"
for n in ${SIZES:-1000 100000}; do
	db="$work/db$n"
	given="HANDLER_DB_$n"
	if [ -n "${!given:-}" ]; then
		db=${!given}
	else
		"$bin/tsdb" init --db "$db" --length 100 >/dev/null
		"$bin/tsdb" gen "$n" --seed 1 --length 100 | "$bin/tsdb" insert --db "$db" - >/dev/null
	fi
	serve "$build/bench/empty-handler"
	floor_addr="127.0.0.1:$port"
	serve "$bin/tsdb-handler" --db "$db"
	real_addr="127.0.0.1:$port"
	for conc in 1 8; do
		pair "$floor_addr" "$real_addr" "$conc" "$n"
		read -r f50 f99 frps ferr <<<"$floor"
		read -r r50 r99 rrps rerr <<<"$real"
		printf '%8s %-14s %4s %10s %10s %10.0f %8.0f %14s\n' "$n" empty-handler "$conc" "$f50" "$f99" "$frps" "$ferr" "1.00"
		printf '%8s %-14s %4s %10s %10s %10.0f %8.0f %14s\n' "$n" tsdb-handler "$conc" "$r50" "$r99" "$rrps" "$rerr" \
			"$(python3 -c "print('%.2f' % ($r50 / $f50))")"
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	pids=()
	[ -n "${!given:-}" ] || rm -rf "$db"
done
