#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD SECONDS [NAME...] - runs each libFuzzer target
# BUILD/fuzz_NAME for SECONDS on a working copy of its corpus
# (BUILD/corpus/NAME, to which the committed tests/fuzz/corpus/NAME is added) and
# prints one line per target: executions, coverage (cov: edges, ft:
# features), corpus size, crashes.  Crash, leak, timeout and OOM inputs are
# kept as BUILD/NAME-crash-* (and -leak-, -timeout-, -oom-); the full log
# is BUILD/NAME.log.  Ends with "N passed, N failed": one test per target
# (a target that is missing, crashes or finds anything fails).  Exit status
# is non-zero when any target failed.
# Called by `make fuzz` / `make fuzz-smoke`; see tests/fuzz/README.md.
set -u
build=${1:?usage: run.sh BUILD SECONDS [NAME...]}
seconds=${2:?usage: run.sh BUILD SECONDS [NAME...]}
shift 2
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(request series dbfile handler pred lang)
here=$(cd "$(dirname "$0")" && pwd)

# Per target: the largest input (a request frame or series file bigger
# than this adds nothing but time; db seeds are < 64 KiB) and a dictionary.
max_len() {
	case $1 in
	dbfile) echo 65536 ;;
	*) echo 16384 ;;
	esac
}

# artifacts NAME: the crash, leak, timeout and OOM inputs kept for NAME.
artifacts() {
	find "$build" -maxdepth 1 -regex ".*/$1-\(crash\|leak\|timeout\|oom\)-.*" -printf '%f\n'
}

status=0
passed=0
failed=0
for name in "${names[@]}"; do
	bin="$build/fuzz_$name"
	corpus="$build/corpus/$name"
	log="$build/$name.log"
	if [ ! -x "$bin" ]; then
		echo "fuzz $name: $bin is missing (make fuzz-build)" >&2
		status=1
		failed=$((failed + 1))
		continue
	fi
	# The committed seeds join the working corpus on every run (without
	# overwriting), so new seeds and regress-* inputs are always replayed.
	mkdir -p "$corpus"
	if [ -d "$here/corpus/$name" ]; then
		cp -n "$here/corpus/$name"/* "$corpus"/
	fi
	dict=()
	d=$name
	[ "$name" = handler ] && d=request  # a handler input is a request body
	[ -f "$here/$d.dict" ] && dict=(-dict="$here/$d.dict")
	before=$(artifacts "$name" | wc -l)
	# -timeout: a reader that loops on a damaged file is a bug, reported
	# as a timeout artifact; -rss_limit_mb keeps a runaway allocation
	# from taking the shared machine down.
	"$bin" -max_total_time="$seconds" -max_len="$(max_len "$name")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/$name-" \
		"${dict[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	after=$(artifacts "$name" | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	last=$(grep -aE '^#[0-9]+' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
	files=$(find "$corpus" -mindepth 1 -maxdepth 1 | wc -l)
	crashes=$((after - before))
	[ $rc -ne 0 ] && [ $crashes -eq 0 ] && crashes=1  # died without an artifact
	# corpus: libFuzzer's live corpus (units/bytes); files: what the
	# working directory has accumulated, superseded inputs included
	printf 'fuzz %-8s %ss: executions=%s cov=%s ft=%s corpus=%s files=%s crashes=%s\n' \
		"$name" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$files" "$crashes"
	if [ $rc -ne 0 ]; then
		status=1
		echo "fuzz $name: FAILED (exit $rc); log: $log" >&2
		grep -aE '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+: )|runtime error' "$log" | head -n 5 >&2
		artifacts "$name" | sed "s|^|  artifact: $build/|" >&2
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
echo "$passed passed, $failed failed"
exit $status
