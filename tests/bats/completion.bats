#!/usr/bin/env bats
# completion.bats - the bash completion of completions/tsdb (one file for
# tsdb and simsearch; completions/simsearch is a link to it), sourced into
# this bash (no bash-completion), with
# COMP_WORDS split the way bash splits them: the commands, each command's
# options, directories for --db, files, stored ids from a real database
# (tsdb list) and from a served one (simsearch list), nothing and no
# message, at once, when no server answers; and that what they offer is
# what the programs' --help says and the programs accept, so that they
# cannot drift apart.
#
# tests/run puts the built programs first on PATH and sets TSDB_ROOT.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers/handler
	# ts-000000 .. ts-000011
	export CDB="$BATS_FILE_TMPDIR/db"
	make_db "$CDB" 12 64
	serve_tcp SERVER "$BATS_FILE_TMPDIR/server.log" --db "$CDB"
	export SERVER
}

teardown_file() {
	load helpers/handler
	stop_servers
}

setup() {
	load helpers/handler
	unset TSDB_DB TSDB_SERVER
	COMP="$TSDB_ROOT/completions"
	# shellcheck source=completions/tsdb
	source "$COMP/tsdb"
	# a directory of its own: bats keeps files in $BATS_TEST_TMPDIR
	mkdir "$BATS_TEST_TMPDIR/cwd"
	cd "$BATS_TEST_TMPDIR/cwd" || return 1
	mkdir -p dir1 dir2/sub
	touch file1 dir1/inner
}

# comp LINE: completes LINE as bash does on TAB, with the cursor at its end
# or where LINE has "@@": COMP_WORDS split at unquoted blanks, and at the '='
# and ':' of COMP_WORDBREAKS in a word with no quoting (a run of them is a
# word of its own), then the function `complete -p` names for the command;
# prints COMPREPLY sorted, one per line.
comp() {
	local line=${1/@@/} point spec fn c i j q='' st=-1 run rest off
	local -a w=() at=()
	point=${1%%@@*}
	point=${#point}
	# blanks outside quotes end a word; a backslash takes the next character
	for ((i = 0; i <= ${#line}; i++)); do
		c=${line:i:1}
		if ((i == ${#line})) || { [ -z "$q" ] && [[ $c == [[:blank:]] ]]; }; then
			((st < 0)) || { w+=("${line:st:i-st}"); at+=("$st"); }
			st=-1
			continue
		fi
		((st >= 0)) || st=$i
		if [[ $c == "\\" && $q != "'" ]]; then
			i=$((i + 1))
		elif [[ $c == [\'\"] ]]; then
			if [ -z "$q" ]; then q=$c; elif [ "$q" = "$c" ]; then q=''; fi
		fi
	done
	# the cursor's word; after a blank, a new empty one
	local -a words=() starts=()
	for ((i = 0; i < ${#w[@]}; i++)); do
		if [[ ${w[i]} == *[\'\"\\]* ]]; then
			words+=("${w[i]}")
			starts+=("${at[i]}")
			continue
		fi
		rest=${w[i]}
		off=${at[i]}
		while [ -n "$rest" ]; do
			if [[ $rest == [=:]* ]]; then run=${rest%%[!=:]*}; else run=${rest%%[=:]*}; fi
			words+=("$run")
			starts+=("$off")
			off=$((off + ${#run}))
			rest=${rest#"$run"}
		done
	done
	COMP_CWORD=-1
	for ((j = 0; j < ${#words[@]}; j++)); do
		if ((starts[j] <= point && point <= starts[j] + ${#words[j]})); then
			COMP_CWORD=$j
		fi
	done
	if ((COMP_CWORD < 0)); then
		# in blanks: an empty word there
		for ((j = 0; j < ${#words[@]} && starts[j] < point; j++)); do :; done
		words=("${words[@]:0:j}" '' "${words[@]:j}")
		COMP_CWORD=$j
	fi
	COMP_WORDS=("${words[@]}")
	COMP_LINE=$line
	COMP_POINT=$point
	COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
	spec=$(complete -p "${words[0]##*/}") || return 1
	fn=${spec#*-F }
	fn=${fn%% *}
	COMPREPLY=()
	"$fn" "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}" || return 1
	if ((${#COMPREPLY[@]})); then
		printf '%s\n' "${COMPREPLY[@]}" | sort
	fi
}

# offers LINE WORD...: completing LINE offers exactly WORD... (in any order),
# and says nothing on standard error.
offers() {
	local line=$1 want
	shift
	run -0 --separate-stderr comp "$line"
	want=$(if (($#)); then printf '%s\n' "$@" | sort; fi)
	if [ "$output" != "$want" ] || [ -n "$stderr" ]; then
		printf 'completing [%s]\nwanted:\n%s\ngot:\n%s\nstderr:\n%s\n' "$line" "$want" "$output" "$stderr"
		return 1
	fi
}

# offers_all LINE WORD...: completing LINE offers (at least) each WORD, and
# says nothing on standard error; for lists that grow with the programs.
offers_all() {
	local line=$1 w
	shift
	run -0 --separate-stderr comp "$line"
	for w in "$@"; do
		if ! grep -qxF -- "$w" <<<"$output" || [ -n "$stderr" ]; then
			printf 'completing [%s]: no %s in:\n%s\nstderr:\n%s\n' "$line" "$w" "$output" "$stderr"
			return 1
		fi
	done
}

# ids FROM TO: the ids numbered FROM to TO (ts-%06d, as tsdb gen makes
# them) in the array ids.
ids() {
	local i
	ids=()
	for ((i = $1; i <= $2; i++)); do
		ids+=("$(printf 'ts-%06d' "$i")")
	done
}

# help_options HELP-TEXT INDENT: the options of the options section of a
# help text as the manual writes them, one per line: the option lines are
# those indented by INDENT spaces that begin with '-'.
help_options() {
	sed -n '/^\(OPTIONS\|Options:\)$/,/^[^ ]/p' <<<"$1" | grep -E "^ {$2}-" |
		sed -E 's/^ +//; s/  .*//' | grep -oE -- '(^| )-{1,2}[A-Za-z0-9][A-Za-z0-9-]*' | tr -d ' '
}

# help_meta HELP-TEXT INDENT OPT: the metavariable (DIR, ID, N: an
# upper-case word ending the line) of the option line of OPT (see
# help_options); nothing for a flag.
help_meta() {
	local line
	line=$(sed -n '/^\(OPTIONS\|Options:\)$/,/^[^ ]/p' <<<"$1" | grep -E "^ {$2}-" |
		sed -E 's/^ +//; s/  .*//' | grep -E -- "(^|[ ,])$3( |,|$)")
	if [[ $line =~ \ ([A-Z]+)$ ]]; then echo "${BASH_REMATCH[1]}"; fi
}

# takes OPT META PROG...: PROG... (the program, its command and options
# that keep it harmless) accepts the option OPT, with a value if META is set:
# then, given last, OPT is refused for its missing value (and not as
# unknown); as a flag, OPT followed by an unknown option refuses that one
# (or acts at once: --help, --version).  Either way nothing is run.
takes() {
	local opt=$1 meta=$2
	shift 2
	if [ -n "$meta" ]; then
		run -2 --separate-stderr "$@" "$opt" </dev/null
		[[ $stderr == *"requires an argument"* || $stderr == *"missing argument"* ]] ||
			{ echo "$* $opt: $stderr"; return 1; }
	else
		run --separate-stderr "$@" "$opt" --no-such-option </dev/null
		[ "$status" -eq 0 ] || [[ $status -eq 2 && $stderr == *"'--no-such-option'"* ]] ||
			{ echo "$* $opt --no-such-option: $status $stderr"; return 1; }
	fi
}

# ---- tsdb ---------------------------------------------------------------------

@test "tsdb: the commands of tsdb help, and --help" {
	local -a cmds
	mapfile -t cmds < <(tsdb help | sed -n '/^COMMANDS$/,/^[^ ]/p' | sed -nE 's/^    ([a-z]+) .*/\1/p')
	[ "${#cmds[@]}" -ge 13 ]
	offers 'tsdb ' "${cmds[@]}"
	offers_all 'tsdb i' init insert info ingest
	offers_all 'tsdb sea' search
	offers 'tsdb -' --help -h
	offers 'tsdb help ' "${cmds[@]}"
	offers_all 'tsdb help c' check compact
	# a path to the program; no such program; no such command
	offers "$TSDB_BIN/tsdb rei" reindex
	offers "$BATS_TEST_TMPDIR/nosuch/tsdb "
	offers 'tsdb nosuch --'
}

@test "tsdb: each command's options" {
	offers_all 'tsdb search --' --id --within --limit --json --brute --db --help
	offers_all 'tsdb search -' -k -h
	offers_all 'tsdb search --w' --within
	offers_all 'tsdb init --' --length --mult --vantage-points --seed --db --help
	offers_all 'tsdb insert --db x --r' --replace
	offers_all 'tsdb ingest --' --spool --batch --db --help
	offers_all 'tsdb list --' --prefix --after --limit --db --help
	# no short options for --
	run -0 comp 'tsdb search --'
	run -1 grep -xE -- '-[^-].*' <<<"$output"
	# an option's value is not an option; after -- nothing is
	offers 'tsdb list --prefix -'
	offers 'tsdb search -- -'
}

@test "tsdb: --db and --spool complete directories, FILE arguments files" {
	offers 'tsdb list --db ' dir1 dir2
	offers 'tsdb list --db d' dir1 dir2
	offers 'tsdb list --db=d' dir1 dir2
	offers 'tsdb list --db dir2/' dir2/sub
	offers 'tsdb ingest --db dir1 --spool ' dir1 dir2
	offers 'tsdb search --db dir1 ' dir1 dir2 file1
	offers 'tsdb search --db dir1 f' file1
	offers 'tsdb insert --db dir1 ' dir1 dir2 file1
	offers 'tsdb insert --db dir1 file1 dir1/' dir1/inner
	# numbers: nothing
	offers 'tsdb init --length '
	offers 'tsdb gen '
	offers 'tsdb list --db dir1 --limit '
}

@test "tsdb: ids from tsdb list, on the --db of the line, else \$TSDB_DB" {
	local -a ids all
	ids 0 11
	all=("${ids[@]}")
	ids 0 9
	offers "tsdb get --db $CDB " "${all[@]}"
	offers "tsdb get --db $CDB ts-00000" "${ids[@]}"
	offers "tsdb get --db=$CDB ts-00001" ts-000010 ts-000011
	offers "tsdb get ts-00001@@ --db $CDB" ts-000010 ts-000011
	offers "tsdb get @@ --db=$CDB" "${all[@]}"
	offers "tsdb remove --db $CDB ts-000003 ts-000011 ts-00000" "${ids[@]}"
	offers "tsdb search --db $CDB --id ts-0000" "${all[@]}"
	offers "tsdb search --db $CDB --id=ts-00001" ts-000010 ts-000011
	offers "tsdb list --db $CDB --after ts-00001" ts-000010 ts-000011
	# get takes one ID
	offers "tsdb get --db $CDB ts-000001 "
	# insert --id is a new id; a stored one only with --replace
	offers "tsdb insert --db $CDB --id ts-00001"
	offers "tsdb insert --db $CDB --replace --id ts-00001" ts-000010 ts-000011
	TSDB_DB=$CDB offers 'tsdb get ts-00001' ts-000010 ts-000011
	TSDB_DB=$CDB offers "tsdb get --db $BATS_TEST_TMPDIR/cwd/dir1 ts-"
	# no database: nothing, no message
	offers "tsdb get --db $BATS_TEST_TMPDIR/nodb "
}

@test "tsdb: ids with ':' and blanks complete as readline replaces them" {
	local db="$BATS_TEST_TMPDIR/odd"
	tsdb init --db "$db" --length 64 >/dev/null
	tsdb gen --length 64 3 |
		jq -c '.id |= {"ts-000000": "run:a1", "ts-000001": "run:a2", "ts-000002": "two words"}[.]' |
		tsdb insert --db "$db" >/dev/null
	# readline keeps what is up to the last ':' of the word
	offers "tsdb get --db $db run:" a1 a2
	offers "tsdb get --db $db run:a" a1 a2
	offers "tsdb get --db $db r" run:a1 run:a2
	offers "tsdb search --db $db --id=run:a2" a2
	offers "tsdb get --db $db tw" 'two\ words'
	offers "tsdb get --db $db two\\ w" 'two\ words'
}

# ---- simsearch ----------------------------------------------------------------

@test "simsearch: options, and modes or files for the first argument" {
	offers_all 'simsearch -' -k --within --id --limit --prefix --after --server --timeout --json \
		--no-sparkline -h --help --version
	offers_all 'simsearch --ser' --server
	offers 'simsearch ' dir1 dir2 file1 get info list
	offers 'simsearch -k 3 f' file1
	offers 'simsearch l' list
	offers 'simsearch --server unix:' dir1 dir2 file1
	offers 'simsearch --server=unix:dir1/' dir1/inner
	offers 'simsearch --server u' unix:
	offers 'simsearch -k '
	offers 'simsearch info '
	offers 'simsearch file1 '
}

@test "simsearch: ids from the served database, of --server, else \$TSDB_SERVER" {
	local -a ids all
	ids 0 11
	all=("${ids[@]}")
	ids 0 9
	offers "simsearch --server $SERVER get " "${all[@]}"
	offers "simsearch --server=$SERVER get ts-00001" ts-000010 ts-000011
	offers "simsearch get ts-00001@@ --server $SERVER" ts-000010 ts-000011
	offers "simsearch --server $SERVER --id ts-00000" "${ids[@]}"
	offers "simsearch --server $SERVER -k 2 --id=ts-00001" ts-000010 ts-000011
	offers "simsearch --server $SERVER list --after ts-00001" ts-000010 ts-000011
	offers "simsearch --server $SERVER get ts-000001 "
	TSDB_SERVER=$SERVER offers 'simsearch get ts-00001' ts-000010 ts-000011
}

@test "simsearch: no server, or one that does not answer: nothing, no message, no wait" {
	local port silent t0
	port=$(free_port)
	t0=$SECONDS
	offers "simsearch --server 127.0.0.1:$port get "
	offers "simsearch --server 127.0.0.1:$port --id ts-"
	TSDB_SERVER=127.0.0.1:$port offers 'simsearch get '
	offers "simsearch --server unix:$BATS_TEST_TMPDIR/nosock get "
	[ $((SECONDS - t0)) -le 2 ]
	# a name that does not resolve (or a resolver that does not answer:
	# the completion's 3 s in all)
	t0=$SECONDS
	offers "simsearch --server no.such.host.invalid get "
	[ $((SECONDS - t0)) -le 4 ]
	# A server that takes the connection and never answers: simsearch's
	# --timeout 1 of the completion.
	silent=$(free_port)
	"$PYTHON" -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); print("listening", flush=True); time.sleep(60)' \
		"$silent" >"$BATS_TEST_TMPDIR/silent.log" 2>&1 3>&- &
	echo "$!" >>"$BATS_FILE_TMPDIR/servers.pid"
	wait_log "$BATS_TEST_TMPDIR/silent.log" '^listening'
	t0=$SECONDS
	offers "simsearch --server 127.0.0.1:$silent get ts-"
	[ $((SECONDS - t0)) -le 4 ]
}

# ---- what they offer is what the programs say and accept -----------------------

# value OPT META PROG...: completing PROG... OPT, a value of OPT, offers
# what META names: directories, files, stored ids or nothing.
value() {
	local opt=$1 meta=$2
	shift 2
	case $meta in
	DIR | SPOOL) offers "$* $opt d" dir1 dir2 ;;
	FILE | SVG) offers "$* $opt f" file1 ;;
	ID) offers "$* $opt ts-00001" ts-000010 ts-000011 ;;
	ADDR) offers "$* $opt u" unix: ;;
	*) offers "$* $opt 1" ;;
	esac
}

@test "anti-drift: tsdb's options are those of each command's --help, and tsdb takes them" {
	local c o m help n=0
	local -a cmds want got metas
	mapfile -t cmds < <(tsdb help | sed -n '/^COMMANDS$/,/^[^ ]/p' | sed -nE 's/^    ([a-z]+) .*/\1/p')
	for c in "${cmds[@]}"; do
		help=$(tsdb "$c" --help)
		mapfile -t want < <(help_options "$help" 4)
		[[ " ${want[*]} " == *" --db "*" --help "* ]] || { echo "$c: ${want[*]}"; return 1; }
		offers "tsdb $c -" "${want[@]}"
		mapfile -t got <<<"$output"
		for o in "${got[@]}"; do
			m=$(help_meta "$help" 4 "$o")
			takes "$o" "$m" tsdb "$c" --db "$BATS_TEST_TMPDIR/nodb"
			[ -z "$m" ] || _tsdb_comp_kind "$m" ||
				{ echo "tsdb $c $o $m: $m is not known to _tsdb_comp_kind"; return 1; }
			if [ "$c $m" = "insert ID" ]; then
				value "$o" "$m" tsdb "$c" --db "$CDB" --replace
			elif [ -n "$m" ]; then
				value "$o" "$m" tsdb "$c" --db "$CDB"
			fi
			n=$((n + 1))
		done
		# the metavariables of the synopsis too
		mapfile -t metas < <(sed -n '/^SYNOPSIS$/{n;p;}' <<<"$help" | grep -oE '[A-Z]+')
		for m in "${metas[@]}"; do
			_tsdb_comp_kind "$m" || { echo "tsdb $c: $m is not known to _tsdb_comp_kind"; return 1; }
		done
	done
	echo "$n options of ${#cmds[@]} commands"
	[ "$n" -ge 40 ]
}

@test "anti-drift: simsearch's options are those of its --help, and simsearch takes them" {
	local help o m
	local -a want got metas
	help=$(simsearch --help)
	mapfile -t want < <(help_options "$help" 2)
	[ "${#want[@]}" -ge 12 ]
	offers 'simsearch -' "${want[@]}"
	mapfile -t got <<<"$output"
	for o in "${got[@]}"; do
		m=$(help_meta "$help" 2 "$o")
		takes "$o" "$m" simsearch --server 127.0.0.1:1 --timeout 1
		[ -z "$m" ] || _simsearch_comp_kind "$m" ||
			{ echo "simsearch $o $m: $m is not known to _simsearch_comp_kind"; return 1; }
		[ -z "$m" ] || value "$o" "$m" simsearch --server "$SERVER"
	done
	# the metavariables and modes of the Usage lines
	mapfile -t metas < <(sed -n '/^Usage:$/,/^[^ ]/p' <<<"$help" | sed -E 's/^ +//; s/  .*//' |
		grep -oE '(^| )[A-Z]+\b' | tr -d ' ')
	[ "${#metas[@]}" -ge 4 ]
	for m in "${metas[@]}"; do
		[ "$m" = OPTIONS ] || _simsearch_comp_kind "$m" ||
			{ echo "simsearch: $m is not known to _simsearch_comp_kind"; return 1; }
	done
	for o in get info list; do
		[[ "$help" == *"simsearch [OPTIONS] $o"* ]]
	done
	offers 'simsearch -k 2 ' dir1 dir2 file1 get info list
}

@test "one file for both: simsearch links to tsdb, either registers both, ShellCheck passes" {
	local f
	[ -L "$COMP/simsearch" ]
	[ "$(readlink "$COMP/simsearch")" = tsdb ]
	for f in tsdb simsearch; do
		# shellcheck disable=SC2016 # $1 is the inner bash's
		run -0 --separate-stderr env -i PATH="$PATH" bash --norc --noprofile -c \
			'source "$1" && complete -p tsdb simsearch' bash "$COMP/$f"
		[ -z "$stderr" ]
		[ "${lines[0]}" = "complete -F _tsdb tsdb" ]
		[ "${lines[1]}" = "complete -F _simsearch simsearch" ]
		[ "${#lines[@]}" -eq 2 ]
	done
	run -0 shellcheck -s bash "$COMP/tsdb" "$COMP/simsearch"
}
