#!/usr/bin/env bats
# systemd.bats - tsdb under a real systemd: a Debian 12 root booted by
# systemd-nspawn (tests/systemd/container) with systemd as PID 1.  The
# operator's set-up is done as the README says (make install, then
# systemctl enable --now tsdb.socket tsdb-ingest.timer), then: every op
# through the socket, the journal's priorities, the timer's ingestion, a
# load while ingesting, a burst past the trigger limit, a slow-loris, the
# handler's sandbox probed inside a unit made from tsdb@.service, and no
# failed unit at the end.  Where no container can run (not root, no
# nspawn), every test is skipped and says why.
#
# shellcheck disable=SC2016 # sh -c scripts expand their $ inside the container

bats_require_minimum_version 1.5.0

load helpers/container

setup_file() {
	ct_boot
	[ -z "$CT_SKIP" ] || return 0
	# The operator's two commands (the programs are already built).
	in_ct sh -c 'cd /src && make install PREFIX=/usr/local' >"$BATS_FILE_TMPDIR/install.log" 2>&1
	in_ct systemctl enable --now tsdb.socket tsdb-ingest.timer >>"$BATS_FILE_TMPDIR/install.log" 2>&1
}

teardown_file() {
	ct_stop
}

setup() {
	ct_skip_unless
}

pyc() {
	in_ct python3 /src/tests/clients/pyclient.py --server "$ADDR" "$@"
}

@test "set-up: make install and one systemctl command give users, directories, a database and a listening socket" {
	cat "$BATS_FILE_TMPDIR/install.log"
	run -0 in_ct getent passwd tsdb tsdb-handler
	[ "${#lines[@]}" -eq 2 ]
	run -0 in_ct stat -c '%U:%G %a' /var/lib/tsdb /var/lib/tsdb/tsdb.db /var/spool/tsdb/new
	[ "${lines[0]}" = "tsdb:tsdb 755" ]
	[ "${lines[1]}" = "tsdb:tsdb 644" ]
	[ "${lines[2]}" = "tsdb:tsdb 775" ]
	run -0 in_ct systemctl is-enabled tsdb.socket tsdb-ingest.timer
	run -0 in_ct systemctl is-active tsdb.socket tsdb-ingest.timer
	run -0 pyc '{"op":"info"}'
	[ "$(jq -r .status <<<"$output")" = OK ]
}

@test "the timer's ingest moves good files to done/ and a bad one to failed/ with its reason" {
	as_tsdb sh -c 'tsdb gen 3 --length 64 --seed 5 | sed "s/\"ts-/\"spool-/" | split -l 1 - /var/spool/tsdb/new/.tmp-;
		for f in /var/spool/tsdb/new/.tmp-*; do mv "$f" "/var/spool/tsdb/new/good${f##*-}.json"; done;
		printf "0.1 1\n0.2 oops\n" >/var/spool/tsdb/new/.bad && mv /var/spool/tsdb/new/.bad /var/spool/tsdb/new/bad.dat'
	# OnCalendar=minutely: the next run is within a minute (and 5 s accuracy);
	# 90 s leaves room for the run itself
	for _ in $(seq 180); do
		if [ "$(in_ct find /var/spool/tsdb/new -type f ! -name '.*' | wc -l)" -eq 0 ]; then break; fi
		sleep 0.5
	done
	run -0 in_ct ls /var/spool/tsdb/done /var/spool/tsdb/failed
	echo "$output"
	run -0 in_ct find /var/spool/tsdb/done -name 'good*.json'
	[ "${#lines[@]}" -eq 3 ]
	run -0 in_ct cat /var/spool/tsdb/failed/bad.dat.reason
	[[ "$output" == *"line 2: value 'oops' is not a number"* ]]
	run -0 pyc '{"op":"get","id":"spool-000001"}'
	[ "$(jq -r .status <<<"$output")" = OK ]
	# it was the timer that ran it
	run -0 in_ct journalctl -u tsdb-ingest.service -o cat --no-pager
	[[ "$output" == *"ingested 3 files (3 series inserted"*"; 1 failed"* ]]
}

@test "every op answers through tsdb.socket" {
	as_tsdb sh -c 'tsdb gen 300 --length 128 | tsdb insert --db /var/lib/tsdb' >/dev/null
	local req
	for req in '{"op":"info"}' '{"op":"list","limit":5}' '{"op":"get","id":"ts-000007"}' \
		'{"op":"with_id","id":"ts-000001","k":10}' '{"op":"with_id","id":"ts-000001","k":3,"shape":16}' \
		'{"op":"with_ts","ts":[[0,0.25,0.5,0.75],[1,2,3,2]],"k":4}' '{"op":"within","id":"ts-000001","radius":0.5}'; do
		run -0 pyc "$req"
		[ "$(jq -r .status <<<"$output")" = OK ] || { echo "$req: $output"; return 1; }
	done
	run -0 pyc '{"op":"with_id","id":"ts-000001","k":10}'
	[ "$(jq '.payload.results | length' <<<"$output")" -eq 10 ]
	# the same answer as the local search
	run -0 in_ct tsdb search --db /var/lib/tsdb --id ts-000001 -k 10 --json
	[ "$(jq -c '.results' <<<"$output")" = "$(pyc '{"op":"with_id","id":"ts-000001","k":10}' | jq -c .payload.results)" ]
}

@test "the handler's journal lines carry their priorities" {
	run -4 pyc '{"op":"get","id":"no-such-id"}'
	run -0 pyc '{"op":"info"}'
	sleep 0.5
	run -0 in_ct journalctl -o json --no-pager -n 200 SYSLOG_IDENTIFIER=tsdb-handler
	local ok warn
	ok=$(jq -r 'select(.MESSAGE | startswith("tsdb-handler: op=info status=OK")) | .PRIORITY' <<<"$output" | tail -n 1)
	warn=$(jq -r 'select(.MESSAGE | contains("status=INVALID_KEY")) | .PRIORITY' <<<"$output" | tail -n 1)
	[ "$ok" = 6 ]
	[ "$warn" = 4 ]
}

@test "200 concurrent connections are answered while the ingest service runs" {
	as_tsdb sh -c 'tsdb gen 400 --length 128 --seed 9 | sed "s/\"ts-/\"load-/" | split -l 1 - /var/spool/tsdb/new/.l-;
		for f in /var/spool/tsdb/new/.l-*; do mv "$f" "/var/spool/tsdb/new/load${f##*-}.json"; done'
	in_ct systemctl start --no-block tsdb-ingest.service
	run -0 in_ct python3 /src/tests/bats/helpers/concurrency.py --rounds 1 "$ADDR" 200 10 ts-000001 ts-000100 ts-000200
	echo "$output"
	[ "${lines[-1]}" = "200 ok, 0 failed" ]
	# the ingest finished and stored everything
	for _ in $(seq 100); do
		if [ "$(in_ct systemctl is-active tsdb-ingest.service)" = inactive ]; then break; fi
		sleep 0.2
	done
	run -0 in_ct find /var/spool/tsdb/done -name 'load*.json'
	[ "${#lines[@]}" -eq 400 ]
}

@test "a burst of 3,000 connections: all answered, the socket still listens, the next request is answered" {
	run -0 in_ct python3 /src/tests/systemd/load.py burst "$ADDR" 3000 16
	echo "$output"
	local burst=$output
	[ "$(jq .failed <<<"$burst")" -eq 0 ]
	[ "$(jq '.ok + .closed' <<<"$burst")" -eq 3000 ]
	run -0 in_ct systemctl is-active tsdb.socket
	run -0 pyc '{"op":"info"}'
	echo "# burst: $(jq -r '"\(.ok) answered, \(.closed) closed, in \(.seconds) s"' <<<"$burst")" >&3
}

@test "a slow-loris past MaxConnections: the extra connection is closed cleanly, a good client waits under the receive deadline" {
	run -0 in_ct python3 /src/tests/systemd/load.py slowloris "$ADDR" 300
	echo "$output"
	[ "$(jq -r .extra <<<"$output")" = "clean close" ]
	# tsdb@.service gives a silent client 2 s (--timeout 2)
	jq -e '.good_wait_s < 3' <<<"$output"
	echo "# slow-loris: 300 idle connections; a good client answered after $(jq .good_wait_s <<<"$output") s" >&3
	run -0 pyc '{"op":"info"}'
}

@test "the sandbox, probed in a unit with tsdb@.service's settings: no write, open, exec, socket, other process or privilege" {
	# The unit: tsdb@.service's own [Service] settings, its ExecStart and
	# socket plumbing replaced by the probe (which calls the handler's
	# sandbox function, then tries each forbidden thing).
	in_ct sh -c 'sed -e "s|^ExecStart=.*|ExecStart=/src/build/tests/sandbox-probe /var/lib/tsdb|" \
		-e "/^StandardInput=/d" -e "/^StandardOutput=/d" -e "s|^CollectMode=.*||" \
		/usr/local/lib/systemd/system/tsdb@.service >/etc/systemd/system/tsdb-probe.service &&
		printf "[Service]\nType=oneshot\nStandardOutput=journal\n" >>/etc/systemd/system/tsdb-probe.service &&
		install -o tsdb -g tsdb -m 0666 /dev/null /var/lib/tsdb/probe-victim && systemctl daemon-reload'
	run in_ct systemctl start tsdb-probe.service
	local rc=$status
	run -0 in_ct systemctl start tsdb-probe.service  # a second instance
	run -0 in_ct journalctl -u tsdb-probe.service -o cat --no-pager
	echo "$output"
	[ "$rc" -eq 0 ]
	# both ran in the one shared private network namespace, not the host's
	local nets
	nets=$(grep '^netns: ' <<<"$output" | sort -u)
	[ "$(wc -l <<<"$nets")" -eq 1 ]
	[ "$nets" != "netns: $(in_ct readlink /proc/1/ns/net)" ]
	# rlimits are the unit's (LimitCORE=0, TasksMax=4; setrlimit is in its
	# @resources deny list); no Landlock inside systemd-nspawn's own filter
	[[ "$output" == *"applied: "*"no_new_privs"*"seccomp"* ]]
	[ "$(grep -c '^0 failed$' <<<"$output")" -eq 2 ]
	[ "$(grep -c '^probe ok ' <<<"$output")" -ge 60 ]
	# the victim, world-writable, is untouched
	run -0 in_ct stat -c '%s' /var/lib/tsdb/probe-victim
	[ "$output" -eq 0 ]
	in_ct sh -c 'rm -f /var/lib/tsdb/probe-victim /etc/systemd/system/tsdb-probe.service; systemctl daemon-reload'
}

@test "systemd-analyze security scores the installed tsdb@.service at most 2.5" {
	run -0 in_ct systemd-analyze security --no-pager tsdb@.service
	local score
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$output")
	echo "exposure: $score"
	[ -n "$score" ]
	awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'
	echo "# figure exposure-real-tsdb: $score" >&3
}

@test "no unit failed" {
	run -0 in_ct systemctl --failed --no-legend --plain
	echo "$output"
	[ -z "$output" ]
}
