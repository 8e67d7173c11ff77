# hostile.bash - for hostile.bats: one hostile input to a fresh tsdb-handler,
# and every check the protocol promises for it.  Load after handler.bash
# (make_db, serve_tcp, wait_log, stop_servers).
#
# A case is three fields: EXPECT | OPTIONS | SPEC
#   EXPECT   the response's status (alternatives as A/B), or "none": no
#            frame at all (the peer left before a whole request)
#   OPTIONS  words: handler options (--timeout 1, --max-frame 17 ...) and
#            these for the case itself:
#              len=EXPR   the frame header says EXPR bytes (a lie)
#              raw        SPEC is the whole stream, no header added
#              hold=S     inetd: keep stdin open and silent S seconds
#              shut       socket: half-close after sending
#              secs=S     the exchange must end within S s (default 5)
#              rss=SIZE   peak RSS bound (K/M/G suffix; default the
#                         unit's MemoryMax); only where /usr/bin/time is
#              addr=VAR   socket: the server in $VAR (default $HOSTILE_TCP)
#   SPEC     a Python expression for the body (hostile.py: req(), frame(),
#            arrays(), MiB ...)
#
# Every case, whatever EXPECT: the handler exits 0 within the time, under
# prlimit --as=MemoryMax (as under the unit), with peak RSS below the bound;
# at most one whole frame comes back, a UTF-8 JSON object shaped as
# PROTOCOL.md says; exactly one log line <3>/<4>/<6>, naming the same op
# and status as the response, with the priority the status calls for.

HOSTILE_PY="$TSDB_ROOT/tests/bats/helpers/hostile.py"

# hostile_mem_max: MemoryMax of units/tsdb@.service in bytes (512M if
# the unit does not say).
hostile_mem_max() {
	local v
	v=$(sed -n 's/^MemoryMax=\([0-9]*[KMG]\?\)$/\1/p' "$TSDB_ROOT/units/tsdb@.service" 2>/dev/null | tail -n 1)
	hostile_bytes "${v:-512M}"
}

# hostile_bytes SIZE: 8M -> 8388608.
hostile_bytes() {
	local n=${1%[KMG]}
	case $1 in
	*K) echo $((n << 10)) ;;
	*M) echo $((n << 20)) ;;
	*G) echo $((n << 30)) ;;
	*) echo "$n" ;;
	esac
}

# A sanitizer build (make test-asan) maps terabytes of shadow memory and
# keeps freed blocks in quarantine: no address-space limit can hold it and
# its RSS says nothing about the real handler's, so both bounds are off
# there (every other check stays).
hostile_sanitized() {
	nm -D "$TSDB_BIN/tsdb-handler" 2>/dev/null | grep -q ' __asan_init$'
}

# hostile_limit: the command prefix that bounds the handler's memory.
hostile_limit() {
	[ "${HOSTILE_SAN:-0}" = 1 ] || echo "prlimit --as=$HOSTILE_MEM_MAX"
}

# GNU time measures the handler's peak RSS (it forks the handler itself, so
# the figure is the handler's, not its parent's); without it, prlimit alone
# bounds the memory.
if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
	HOSTILE_TIME=/usr/bin/time
else
	HOSTILE_TIME=
fi

# The log priority a status calls for: <6> answered OK, <3> the server's
# fault, <4> the client's.
hostile_priority() {
	case $1 in
	OK) echo 6 ;;
	UNKNOWN_ERROR | DB_UNAVAILABLE | DB_CORRUPT | IO_ERROR) echo 3 ;;
	*) echo 4 ;;
	esac
}

# hostile_check_log LINE EXPECT_STATUS OP_IN_RESPONSE: the one log line
# against the response (or, for "none", against no response).
hostile_check_log() {
	local line=$1 status=$2 op=$3 want
	[[ "$line" =~ ^\<([346])\>tsdb-handler:\ op=([^ ]+)\ status=([A-Z_]+)( |$) ]] ||
		{ echo "log line malformed: $line"; return 1; }
	local prio=${BASH_REMATCH[1]} lop=${BASH_REMATCH[2]} lstatus=${BASH_REMATCH[3]}
	if [ "$status" = none ]; then
		if [ "$lstatus" != IO_ERROR ] || [ "$prio" != 4 ] || [[ "$line" != *" response=none"* ]]; then
			echo "no response was due; the log should say <4> IO_ERROR response=none: $line"
			return 1
		fi
		return 0
	fi
	[ "$lstatus" = "$status" ] || { echo "log says status=$lstatus, the response $status: $line"; return 1; }
	[ "$lop" = "${op:--}" ] || { echo "log says op=$lop, the response ${op:-null}: $line"; return 1; }
	want=$(hostile_priority "$status")
	[ "$prio" = "$want" ] || { echo "log priority <$prio>, $status calls for <$want>: $line"; return 1; }
	[[ "$line" != *" response=none"* ]] || { echo "log says response=none but a frame came: $line"; return 1; }
}

# hostile_case MODE EXPECT OPTIONS SPEC: one case; MODE is "inetd" or
# "socket".  Prints why on failure.  The outcome (hostile.py's JSON) is
# left in $BATS_TEST_TMPDIR/hostile.json.
hostile_case() {
	local mode=$1 expect=$2 opts=$3 spec=$4
	local -a py=() hargs=()
	local secs=5 rss="" addr_var=HOSTILE_TCP w pending=""
	rss=$HOSTILE_MEM_MAX
	for w in $opts; do
		if [ -n "$pending" ]; then
			hargs+=("$w")
			pending=""
			continue
		fi
		case $w in
		len=*) py+=(--length "${w#len=}") ;;
		raw) py+=(--raw) ;;
		hold=*) py+=(--hold "${w#hold=}") ;;
		shut) py+=(--shut) ;;
		secs=*) secs=${w#secs=} ;;
		rss=*) rss=$(hostile_bytes "${w#rss=}") ;;
		addr=*) addr_var=${w#addr=} ;;
		--*=*) hargs+=("$w") ;;
		--*) hargs+=("$w") pending=1 ;;
		*) echo "hostile_case: unknown option '$w'"; return 1 ;;
		esac
	done
	local out="$BATS_TEST_TMPDIR/hostile.json" rssf="$BATS_TEST_TMPDIR/hostile.rss"
	local log before=0 why=""
	rm -f "$rssf"
	if [ "$mode" = inetd ]; then
		local -a cmd=(timeout -k 1 "$(awk -v s="$secs" 'BEGIN { print s + 5 }')")
		[ -z "$HOSTILE_TIME" ] || [ "${HOSTILE_SAN:-0}" = 1 ] || cmd+=("$HOSTILE_TIME" -f %M -o "$rssf")
		# shellcheck disable=SC2207
		cmd+=($(hostile_limit) "$TSDB_BIN/tsdb-handler" --db "$HOSTILE_DB" "${hargs[@]}")
		"$PYTHON" "$HOSTILE_PY" inetd "${py[@]}" "$spec" -- "${cmd[@]}" >"$out" </dev/null ||
			{ echo "hostile.py failed on: $spec"; return 1; }
	else
		log=${addr_var}_LOG
		log=${!log}
		before=$(grep -c '^<[0-9]>tsdb-handler:' "$log")
		"$PYTHON" "$HOSTILE_PY" send "${!addr_var}" "${py[@]}" --timeout "$(awk -v s="$secs" 'BEGIN { print s + 5 }')" \
			"$spec" >"$out" </dev/null || { echo "hostile.py failed on: $spec"; return 1; }
	fi
	local rc=0 r_secs frames bytes status op problem nlog nl log0
	eval "$(jq -r '@sh "rc=\(.rc // 0) r_secs=\(.secs) frames=\(.frames) bytes=\(.bytes) status=\(.status // "") op=\(.op // "") problem=\(.problem // "") nlog=\(.log // [] | length) nl=\(.log_ends_in_newline // true) log0=\(.log[0] // "")"' "$out")"

	if [ "$rc" -ne 0 ]; then
		why="handler exited with $rc (124: killed by timeout after $((${secs%.*} + 5)) s)"
	elif awk -v a="$r_secs" -v b="$secs" 'BEGIN { exit !(a > b) }'; then
		why="took $r_secs s, more than $secs s"
	elif [ -n "$problem" ]; then
		why="bad response: $problem"
	elif [ "$expect" = none ] && [ "$bytes" -ne 0 ]; then
		why="expected no frame, got $bytes bytes (status ${status:-?})"
	elif [ "$expect" != none ] && [ "$frames" -ne 1 ]; then
		why="expected one frame with $expect, got $frames frames"
	elif [ "$expect" != none ] && [[ "/$expect/" != *"/$status/"* ]]; then
		why="expected $expect, got $status"
	elif [ "$expect" = TIMEOUT ] && awk -v a="$r_secs" 'BEGIN { exit !(a < 0.9) }'; then
		why="TIMEOUT after only $r_secs s"
	fi
	if [ -z "$why" ] && [ "$mode" = inetd ]; then
		if [ "$nlog" -ne 1 ] || [ "$nl" != true ]; then
			why="expected exactly one log line, got $nlog: $(jq -c .log "$out")"
		else
			why=$(hostile_check_log "$log0" "${status:-none}" "$op") || true
		fi
		if [ -z "$why" ] && [ -n "$HOSTILE_TIME" ] && [ "${HOSTILE_SAN:-0}" != 1 ]; then
			local kb
			kb=$(tail -n 1 "$rssf" 2>/dev/null)
			if ! [[ "$kb" =~ ^[0-9]+$ ]]; then
				why="no RSS figure from $HOSTILE_TIME"
			elif [ $((kb * 1024)) -ge "$rss" ]; then
				why="peak RSS $((kb / 1024)) MiB, the bound is $((rss >> 20)) MiB"
			fi
			# The largest figure of the file, for the summary.
			local top
			top=$(cat "$BATS_FILE_TMPDIR/hostile.maxrss" 2>/dev/null || echo 0)
			[ "$kb" -le "$top" ] || echo "$kb" >"$BATS_FILE_TMPDIR/hostile.maxrss"
		fi
	elif [ -z "$why" ]; then
		# One log line per connection, in the server's log.
		if ! wait_log "$log" '^<[0-9]>tsdb-handler:' $((before + 1)) >/dev/null 2>&1; then
			why="no log line in $log"
		else
			why=$(hostile_check_log "$(grep '^<[0-9]>tsdb-handler:' "$log" | sed -n "$((before + 1))p")" \
				"${status:-none}" "$op") || true
		fi
	fi
	if [ -n "$why" ]; then
		printf 'FAILED [%s] %s | %s | %.200s\n  %s\n  outcome: %.600s\n' "$mode" "$expect" "$opts" "$spec" \
			"$why" "$(cat "$out")"
		return 1
	fi
}

# hostile_trim TEXT: TEXT without leading and trailing blanks.
hostile_trim() {
	local t=${1#"${1%%[![:space:]]*}"}
	printf '%s' "${t%"${t##*[![:space:]]}"}"
}

# hostile_table MODE <TABLE: every row of TABLE (EXPECT | OPTIONS | SPEC;
# blank lines and lines starting with # are skipped) through hostile_case;
# all rows run, failures are listed, and the count of cases is added to
# $BATS_FILE_TMPDIR/hostile.count.  Fails if any case failed.
hostile_table() {
	local mode=$1 row expect opts spec n=0 failed=0
	local -a rows
	mapfile -t rows
	for row in "${rows[@]}"; do
		[[ "$row" =~ ^[[:space:]]*(#|$) ]] && continue
		IFS='|' read -r expect opts spec <<<"$row"
		expect=$(hostile_trim "$expect") opts=$(hostile_trim "$opts") spec=$(hostile_trim "$spec")
		n=$((n + 1))
		hostile_case "$mode" "$expect" "$opts" "$spec" || failed=$((failed + 1))
	done
	echo $(($(cat "$BATS_FILE_TMPDIR/hostile.count" 2>/dev/null || echo 0) + n)) >"$BATS_FILE_TMPDIR/hostile.count"
	echo "$n cases, $failed failed"
	if [ "$mode" = socket ]; then
		echo "# figure hostile-socket: $n" >&3
	fi
	[ "$failed" -eq 0 ]
}

# hostile_serve VAR LOG [handler options...]: a systemd-socket-activate
# --accept server on a free 127.0.0.1 port whose handlers run under
# prlimit --as=MemoryMax (prlimit execs the handler in the same process, so
# LISTEN_PID still names it); sets VAR to the address and VAR_LOG to LOG.
hostile_serve() {
	local var=$1 log=$2
	shift 2
	if [ "${HOSTILE_SAN:-0}" = 1 ]; then
		serve_tcp "$var" "$log" --db "$HOSTILE_DB" "$@" || return 1
	else
		HANDLER=$(command -v prlimit) serve_tcp "$var" "$log" "--as=$HOSTILE_MEM_MAX" \
			"$TSDB_BIN/tsdb-handler" --db "$HOSTILE_DB" "$@" || return 1
	fi
	printf -v "${var}_LOG" '%s' "$log"
}

