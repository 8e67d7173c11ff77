#!/usr/bin/env bats
# deb.bats - the Debian packages through their whole life under a real
# systemd: make deb's build (lintian-clean), then in a fresh Debian 12
# root booted by systemd-nspawn (tests/systemd/container) apt installs
# them (users, directories, a database, tsdb.socket and the ingest timer
# enabled and running), simsearch, the Python module and man use them,
# apt remove keeps the data and a reinstall serves it again, and apt purge
# leaves nothing of tsdb but its two system users.  The tests run in file
# order, each on the state the previous one left.  Where no container can
# run, or the Debian build tools are missing, every test is skipped and
# says why.
#
# shellcheck disable=SC2016 # sh -c scripts expand their $ inside the container

bats_require_minimum_version 1.5.0

load helpers/container
DEBS=/var/cache/tsdb-debs   # inside the container

setup_file() {
	export OUT="$BATS_FILE_TMPDIR/deb"
	local why=""
	command -v dpkg-buildpackage >/dev/null || why="dpkg-buildpackage is missing (make deps installs it)"
	command -v lintian >/dev/null || why="lintian is missing (make deps installs it)"
	ct_boot "$why"
	[ -z "$CT_SKIP" ] || return 0
	# The build's output and status are checked by the first test.
	local rc=0
	"$TSDB_ROOT/scripts/mkdeb" "$OUT" >"$BATS_FILE_TMPDIR/mkdeb.log" 2>&1 || rc=$?
	echo "$rc" >"$BATS_FILE_TMPDIR/mkdeb.status"
	mkdir -p "$CT/root$DEBS"
	cp "$OUT"/tsdb_*.deb "$OUT"/python3-tsdbclient_*.deb "$CT/root$DEBS/" 2>/dev/null || true
	# their paths inside the container
	TSDB_DEB=$DEBS/$(cd "$OUT" && ls tsdb_*.deb 2>/dev/null)
	PY_DEB=$DEBS/$(cd "$OUT" && ls python3-tsdbclient_*.deb 2>/dev/null)
	export TSDB_DEB PY_DEB
}

teardown_file() {
	ct_stop
}

setup() {
	ct_skip_unless
}

apt_ct() {
	in_ct env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 "$@"
}

@test "make deb builds tsdb and python3-tsdbclient, and lintian finds no error and no unexplained warning" {
	cat "$BATS_FILE_TMPDIR/mkdeb.log"
	[ "$(cat "$BATS_FILE_TMPDIR/mkdeb.status")" -eq 0 ]
	[[ "$(cat "$BATS_FILE_TMPDIR/mkdeb.log")" == *"lintian found no error and no unexplained warning"* ]]
	run -0 dpkg-deb -c "$OUT"/tsdb_*_amd64.deb
	local f
	for f in ./usr/bin/tsdb ./usr/bin/tsdb-handler ./usr/bin/simsearch \
		./lib/systemd/system/tsdb.socket ./lib/systemd/system/tsdb@.service \
		./lib/systemd/system/tsdb-ingest.timer ./usr/lib/sysusers.d/tsdb.conf \
		./usr/lib/tmpfiles.d/tsdb.conf ./usr/share/man/man1/tsdb.1.gz \
		./usr/share/man/man1/simsearch.1.gz ./usr/share/man/man8/tsdb-handler.8.gz \
		./usr/share/man/man7/tsdb-service.7.gz ./usr/share/doc/tsdb/copyright \
		./usr/share/bash-completion/completions/tsdb ./usr/share/bash-completion/completions/simsearch; do
		[[ "$output" == *" $f"* ]] || { echo "missing: $f"; return 1; }
	done
	run -0 dpkg-deb -c "$OUT"/python3-tsdbclient_*_all.deb
	[[ "$output" == *" ./usr/lib/python3/dist-packages/tsdbclient.py"* ]]
	# the package's version is the programs'
	run -0 dpkg-deb -f "$OUT"/tsdb_*_amd64.deb Version
	local version=$output
	run -0 "$TSDB_BIN/tsdb" --version
	[[ "$output" == *" $version" ]]
}

@test "apt installs them: users, directories and a database made, tsdb.socket and the timer enabled and running" {
	run -0 apt_ct install "$TSDB_DEB" "$PY_DEB"
	echo "$output"
	run -0 in_ct getent passwd tsdb tsdb-handler
	[ "${#lines[@]}" -eq 2 ]
	run -0 in_ct systemctl is-enabled tsdb.socket tsdb-ingest.timer
	run -0 in_ct systemctl is-active tsdb.socket tsdb-ingest.timer
	# tsdb.socket pulls in tsdb-init, which made the database
	run -0 in_ct stat -c '%U:%G %a' /var/lib/tsdb /var/lib/tsdb/tsdb.db /var/spool/tsdb/new
	[ "${lines[0]}" = "tsdb:tsdb 755" ]
	[ "${lines[1]}" = "tsdb:tsdb 644" ]
	[ "${lines[2]}" = "tsdb:tsdb 775" ]
	run -0 in_ct sh -c 'command -v tsdb simsearch tsdb-handler'
	[ "${lines[0]}" = /usr/bin/tsdb ]
}

@test "simsearch answers through the packaged service, exactly as the local brute force" {
	as_tsdb sh -c 'tsdb gen 200 --length 64 --seed 3 | tsdb insert --db /var/lib/tsdb' >/dev/null
	run -0 in_ct simsearch --server "$ADDR" --json --id ts-000007 -k 5
	local served=$output
	[ "$(jq '.results | length' <<<"$served")" -eq 5 ]
	run -0 in_ct tsdb search --db /var/lib/tsdb --id ts-000007 -k 5 --json --brute
	[ "$(jq -c '[.results[] | [.id, .distance]]' <<<"$served")" = "$(jq -c '[.results[] | [.id, .distance]]' <<<"$output")" ]
	run -0 in_ct simsearch --server "$ADDR" --id ts-000007 -k 5
	[[ "$output" == *ts-0001* || "$output" == *ts-0000* ]]
}

@test "python3 imports tsdbclient from the system path and it queries the service" {
	run -0 in_ct python3 -c 'import tsdbclient; print(tsdbclient.__file__)'
	[ "$output" = /usr/lib/python3/dist-packages/tsdbclient.py ]
	run -0 in_ct python3 -c 'import tsdbclient
c = tsdbclient.Client("127.0.0.1:7411", 5)
print(len(c.with_id("ts-000007", k=5)))
print(c.with_id("ts-000007", k=5)[0]["id"])'
	[ "${lines[0]}" -eq 5 ]
	[ "${lines[1]}" = "$(in_ct simsearch --server "$ADDR" --json --id ts-000007 -k 1 | jq -r '.results[0].id')" ]
}

@test "man finds every page the package installs" {
	run -0 in_ct man -w tsdb simsearch tsdb-handler tsdb-service
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = /usr/share/man/man1/tsdb.1.gz ]
	[ "${lines[2]}" = /usr/share/man/man8/tsdb-handler.8.gz ]
	[ "${lines[3]}" = /usr/share/man/man7/tsdb-service.7.gz ]
	run -0 in_ct sh -c 'MANWIDTH=80 man tsdb 2>&1'
	[[ "$output" == *"tsdb insert"* ]]
}

@test "apt remove stops the units and keeps the data; reinstalling serves it again" {
	run -0 in_ct simsearch --server "$ADDR" --json --id ts-000007 -k 5
	local before=$output
	run -0 apt_ct remove tsdb
	run -0 in_ct test -f /var/lib/tsdb/tsdb.db
	run -0 in_ct test -d /var/spool/tsdb/new
	run -1 in_ct test -e /usr/bin/tsdb
	run -1 in_ct test -e /lib/systemd/system/tsdb.socket
	run -3 in_ct systemctl is-active tsdb.socket tsdb-ingest.timer
	# nothing listens any more (the client package is still installed)
	run -0 in_ct python3 -c 'import tsdbclient
try:
    tsdbclient.Client("127.0.0.1:7411", 2).info()
except tsdbclient.TsdbError as e:
    print(type(e).__name__)'
	[ "$output" = ProtocolError ]
	run -0 apt_ct install "$TSDB_DEB"
	run -0 in_ct systemctl is-active tsdb.socket tsdb-ingest.timer
	run -0 in_ct simsearch --server "$ADDR" --json --id ts-000007 -k 5
	[ "$output" = "$before" ]
}

@test "apt purge removes the database, the spool and every unit, and leaves no failed unit" {
	run -0 apt_ct purge tsdb python3-tsdbclient
	run -1 in_ct test -e /var/lib/tsdb
	run -1 in_ct test -e /var/spool/tsdb
	run -1 in_ct test -e /usr/lib/python3/dist-packages/tsdbclient.py
	run -0 in_ct sh -c 'ls /etc/systemd/system/*/tsdb* /lib/systemd/system/tsdb* 2>/dev/null | wc -l'
	[ "$output" -eq 0 ]
	run -1 in_ct dpkg-query -W tsdb python3-tsdbclient
	[[ "$output" == *"no packages found matching tsdb"*"no packages found matching python3-tsdbclient"* ]]
	run -0 in_ct systemctl list-units --failed --plain --no-legend
	[ -z "$output" ] || { echo "failed units: $output"; in_ct journalctl --no-pager -n 40; false; }
}
