#!/usr/bin/env bats
# valgrind.bats - tsdb-handler under valgrind (memcheck): every op and a
# sample of error paths, inetd style and once socket-activated; no memory
# error and no definite leak.  Skipped when valgrind is not installed.
#
# build/bin/tsdb-handler is linked static-pie: valgrind cannot replace
# malloc in a static binary (it reports "0 allocs" and then false
# "uninitialised value" errors inside static glibc's own start-up), so this
# test links a dynamic copy of the same objects (the handler's main object
# and libtsdb.a of the build under test) into $BATS_FILE_TMPDIR.

# Why this file is skipped, if it is (bats 1.8 cannot skip from setup_file).
vg_unusable() {
	local build=$1
	command -v valgrind >/dev/null || { echo "valgrind is not installed"; return; }
	if [ ! -f "$build/obj/cmd/tsdb-handler.o" ] || [ ! -f "$build/libtsdb.a" ]; then
		echo "no $build/obj/cmd/tsdb-handler.o or $build/libtsdb.a: run make first"
		return
	fi
	# A sanitizer build (make test-asan) cannot run under valgrind.
	! nm -A "$build/libtsdb.a" 2>/dev/null | grep -q ' U __asan_' ||
		echo "the build under test uses sanitizers"
}

setup_file() {
	load helpers/handler
	local build=${TSDB_BIN%/bin}
	VG_SKIP=$(vg_unusable "$build")
	export VG_SKIP
	[ -z "$VG_SKIP" ] || return 0
	export VG_HANDLER="$BATS_FILE_TMPDIR/tsdb-handler-dyn"
	# linked dynamically, as valgrind needs; the same objects as tsdb-handler
	# shellcheck disable=SC2046
	cc -o "$VG_HANDLER" "$build/obj/cmd/tsdb-handler.o" "$build/obj/man/tsdb-handler.o" "$build/libtsdb.a" \
		$(pkg-config --libs jansson fftw3 libseccomp 2>/dev/null || echo -ljansson -lfftw3 -lseccomp) -lm
	export VG_DB="$BATS_FILE_TMPDIR/db"
	tsdb init --db "$VG_DB" --length 64 --vantage-points 4 >/dev/null
	tsdb gen --length 64 --seed 1 200 | tsdb insert --db "$VG_DB" >/dev/null
}

teardown_file() {
	load helpers/handler
	stop_servers
}

setup() {
	[ -z "$VG_SKIP" ] || skip "$VG_SKIP"
	load helpers/handler
	load helpers/hostile
	VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
		--log-file="$BATS_TEST_TMPDIR/vg.%p")
}

# vg_table <TABLE: rows EXPECT | OPTIONS | SPEC as in hostile.bash (EXPECT a
# status or "none"; OPTIONS: handler options, len=, raw, hold=), each sent
# to the handler under valgrind; checks the status and that valgrind found
# nothing (exit 99 and its log say otherwise).
vg_table() {
	local row expect opts spec w pending n=0 failed=0 out="$BATS_TEST_TMPDIR/vg.json"
	local -a rows py hargs
	mapfile -t rows
	for row in "${rows[@]}"; do
		[[ "$row" =~ ^[[:space:]]*(#|$) ]] && continue
		IFS='|' read -r expect opts spec <<<"$row"
		expect=$(hostile_trim "$expect") spec=$(hostile_trim "$spec")
		py=() hargs=() pending=""
		for w in $opts; do
			if [ -n "$pending" ]; then hargs+=("$w"); pending=""; continue; fi
			case $w in
			len=*) py+=(--length "${w#len=}") ;;
			raw) py+=(--raw) ;;
			hold=*) py+=(--hold "${w#hold=}") ;;
			--*) hargs+=("$w") pending=1 ;;
			esac
		done
		n=$((n + 1))
		rm -f "$BATS_TEST_TMPDIR"/vg.[0-9]*
		"$PYTHON" "$HOSTILE_PY" inetd "${py[@]}" "$spec" -- timeout -k 2 60 "${VALGRIND[@]}" \
			"$VG_HANDLER" --no-sandbox --db "$VG_DB" "${hargs[@]}" >"$out" </dev/null
		local rc status frames problem vglog
		rc=$(jq -r .rc "$out") status=$(jq -r '.status // "none"' "$out") frames=$(jq -r .frames "$out")
		problem=$(jq -r '.problem // ""' "$out")
		vglog=$(cat "$BATS_TEST_TMPDIR"/vg.[0-9]* 2>/dev/null)
		if [ "$rc" -ne 0 ] || [ "$status" != "$expect" ] || [ -n "$problem" ] || [ -n "$vglog" ]; then
			echo "FAILED: $expect | $opts | ${spec:0:200}"
			echo "  exit $rc (99: valgrind found errors), status $status, $frames frame(s) $problem"
			head -n 60 <<<"$vglog"
			failed=$((failed + 1))
		fi
	done
	echo "$n requests under valgrind, $failed failed"
	echo "# figure valgrind-requests: $n" >&3
	if [ -n "${VG_FIGURE:-}" ]; then
		echo "# figure $VG_FIGURE: $n" >&3
	fi
	[ "$failed" -eq 0 ]
}

@test "valgrind: every op answers with no memory error and no definite leak" {
	vg_table <<-'EOF'
		OK | | req("info")
		OK | | req("list")
		OK | | req("list", prefix="ts-0001", limit=3, after="ts-000100")
		OK | | req("get", id="ts-000007")
		OK | | req("with_id", id="ts-000001", k=10)
		OK | | req("with_id", id="ts-000001", k=3, shape=16)
		OK | | req("with_ts", ts=[[0, .25, .5, .75], [1, 2, 3, 2]], k=4)
		OK | | req("with_ts", ts={"t": [0, .25, .5, .75], "v": [1, 2, 3, 2], "id": "q", "meta": {"a": [1]}})
		OK | | req("with_ts", ts={"time_points": [0, .25, .5, .75], "data_points": [1, 2, 3, 2]}, shape=8)
		OK | | req("with_ts", ts=[[0, 1], [.25, 2], [.5, 3], [.75, 2]])
		OK | | req("within", id="ts-000001", radius=0.3)
		OK | | req("within", ts=[[0, .25, .5, .75], [1, 2, 3, 2]], radius=2, limit=5, shape=4)
	EOF
}

@test "valgrind: error paths free what they allocated" {
	VG_FIGURE=valgrind-error-paths vg_table <<-'EOF'
		BAD_REQUEST       | len=0                  | b''
		BAD_REQUEST       |                        | b'\xff'
		BAD_REQUEST       |                        | '{"op":"info","x":[1,2'
		BAD_REQUEST       |                        | '{"op":"info","x":' + '[' * 100000
		BAD_REQUEST       |                        | '{"op":"info","x":' + '[' * 64 + ']' * 64 + '}'
		BAD_REQUEST       |                        | '{"op":"info","op":"get"}'
		INVALID_OPERATION |                        | req("drop")
		INVALID_KEY       |                        | req("get", id="nope")
		INVALID_KEY       |                        | req("get", id="a\u0000b")
		INVALID_COMPONENT |                        | '{"op":"with_id","id":"ts-000001","k":2.5}'
		INVALID_SERIES    |                        | req("with_ts", ts=[[0, .25, .5], [1, 2, 3]])
		INVALID_SERIES    |                        | req("with_ts", ts={"t": [0, .25, .5, .75], "v": [1, 2, 3, 2], "x": 1})
		TOO_LARGE         | len=2**31              | b''
		TOO_LARGE         | --max-points 5         | req("with_ts", ts=[[0, .1, .2, .3, .4, .5], [1, 2, 3, 4, 5, 6]])
		TOO_LARGE         | --max-shape-values 100 | req("within", id="ts-000001", radius=2, shape=256)
		TIMEOUT           | --timeout 1 len=100 hold=5 | b'{"op":'
		none              | len=100                | b'{"op":'
		OK                | raw                    | frame(req("info")) + frame(req("info"))
		DB_UNAVAILABLE    | --db /nonexistent/tsdb | req("info")
	EOF
}

@test "valgrind: socket-activated (fd 3), a search and an error" {
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	local addr log="$BATS_TEST_TMPDIR/sa.log" out="$BATS_TEST_TMPDIR/sa.json"
	# valgrind runs the handler in its own process: LISTEN_PID still matches.
	HANDLER=valgrind serve_tcp addr "$log" -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite "$VG_HANDLER" --no-sandbox --db "$VG_DB"
	"$PYTHON" "$HOSTILE_PY" send "$addr" --timeout 30 'req("with_id", id="ts-000002", k=5, shape=8)' >"$out"
	jq -e '.problem == null and .status == "OK"' "$out"
	"$PYTHON" "$HOSTILE_PY" send "$addr" --timeout 30 'b"\xff"' >"$out"
	jq -e '.problem == null and .status == "BAD_REQUEST"' "$out"
	wait_log "$log" '^Child [0-9]+ died with code' 2
	cat "$log"
	[ "$(grep -c '^Child [0-9]* died with code 0$' "$log")" -eq 2 ]
	[ "$(grep -c '^<[0-9]>tsdb-handler:' "$log")" -eq 2 ]
	[ "$(grep -c '^==[0-9]*==' "$log")" -eq 0 ]
	echo "# figure valgrind-requests: 2" >&3
}
