#!/usr/bin/env bash
# systemd.sh BUILD_DIR - the service under a real systemd (PID 1 in the
# systemd-nspawn container of tests/systemd/container): the installed
# tsdb@.service against a bare unit running the same handler (ExecStart and
# the socket plumbing only), for with_id k=10 on databases of 1,000 and
# 100,000 series (L=100), at concurrency 1 and 8.  Each unit pair gets a
# socket of its own on the same database; the load generator
# (bench_service) runs inside the container.  Each cell is the median over
# ROUNDS runs of REQS requests, bare and shipped interleaved.
# Skipped (exit 0, said so) where no container can run.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
container=$here/tests/systemd/container
reqs=${REQS:-300}
rounds=${ROUNDS:-5}
if ! why=$("$container" usable); then
	echo "systemd.sh: skipped: $why"
	exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tsdb-bench-systemd.XXXXXX")
cleanup() {
	"$container" stop "$work" || true
	rm -rf "$work"
}
trap cleanup EXIT
"$container" boot "$work" >/dev/null
in_ct() { "$container" exec "$work" "$@"; }

in_ct sh -c 'cd /src && make install PREFIX=/usr/local BUILD='"$build"' >/dev/null'
in_ct systemctl enable --now tsdb.socket >/dev/null 2>&1

# For each size: a database, the shipped unit's copy on port 72NN, the
# bare unit on 73NN.
in_ct sh -s <<'EOF'
set -e
unit=/usr/local/lib/systemd/system
for n in 1000 100000; do
	db=/var/lib/tsdb-$n
	install -d -o tsdb -g tsdb "$db"
	runuser -u tsdb -- tsdb init --db "$db" --length 100 >/dev/null
	runuser -u tsdb -- sh -c "tsdb gen $n --length 100 | tsdb insert --db $db " >/dev/null
	port=$((n == 1000 ? 7201 : 7202))
	sed "s|^ListenStream=.*|ListenStream=127.0.0.1:$port|; /^Wants=/d; /^After=/d" \
		"$unit/tsdb.socket" >"/etc/systemd/system/shipped$n.socket"
	sed "s|--db /var/lib/tsdb|--db $db|" "$unit/tsdb@.service" >"/etc/systemd/system/shipped$n@.service"
	sed "s|^ListenStream=.*|ListenStream=127.0.0.1:$((port + 100))|; /^Wants=/d; /^After=/d" \
		"$unit/tsdb.socket" >"/etc/systemd/system/bare$n.socket"
	cat >"/etc/systemd/system/bare$n@.service" <<E2
[Unit]
CollectMode=inactive-or-failed
[Service]
ExecStart=/usr/local/bin/tsdb-handler --db $db --timeout 2
StandardInput=socket
StandardOutput=socket
StandardError=journal
SyslogLevelPrefix=yes
E2
done
systemctl daemon-reload
systemctl start shipped1000.socket shipped100000.socket bare1000.socket bare100000.socket
EOF

median() { # lines of "p50 p99 rps errors" -> their column medians
	python3 -c '
import sys, statistics as st
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join("%.3f" % st.median(c) for c in zip(*rows)))'
}

printf '| series | concurrency | bare p50 | shipped p50 | bare p99 | shipped p99 | bare req/s | shipped req/s | shipped / bare (p50) |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for n in 1000 100000; do
	port=$((n == 1000 ? 7201 : 7202))
	for c in 1 8; do
		b=() s=()
		# warm-up: page cache and the units' first start
		in_ct "/src/$build/bench/bench_service" "127.0.0.1:$port" "$c" 50 "$n" 10 >/dev/null
		in_ct "/src/$build/bench/bench_service" "127.0.0.1:$((port + 100))" "$c" 50 "$n" 10 >/dev/null
		for _ in $(seq "$rounds"); do
			b+=("$(in_ct "/src/$build/bench/bench_service" "127.0.0.1:$((port + 100))" "$c" "$reqs" "$n" 10)")
			s+=("$(in_ct "/src/$build/bench/bench_service" "127.0.0.1:$port" "$c" "$reqs" "$n" 10)")
		done
		read -r bp50 bp99 brps berr <<<"$(printf '%s\n' "${b[@]}" | median)"
		read -r sp50 sp99 srps serr <<<"$(printf '%s\n' "${s[@]}" | median)"
		if [ "${berr%.*}" != 0 ] || [ "${serr%.*}" != 0 ]; then
			echo "systemd.sh: errors: bare $berr, shipped $serr" >&2
			exit 1
		fi
		printf '| %s | %s | %.2f ms | %.2f ms | %.1f ms | %.1f ms | %.0f | %.0f | %.2f |\n' \
			"$n" "$c" "$bp50" "$sp50" "$bp99" "$sp99" "$brps" "$srps" \
			"$(python3 -c "print($sp50 / $bp50)")"
	done
done
echo "exposure (systemd-analyze security, installed tsdb@.service): $(in_ct systemd-analyze security --no-pager tsdb@.service 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
