#!/usr/bin/env bash
# fulldisk.sh TSDB_BIN_DIR WORK_DIR - the writer on a file system that fills
# up mid-batch.  Mounts a 3 MiB tmpfs (needs root), creates a database on it,
# fills the rest with a file, then inserts until a batch fails.  Requires:
# a clear "No space left" error, the database byte-for-byte as it was and
# passing `tsdb check`, and a later insert succeeding once space is freed.
# Prints "fulldisk: tmpfs=3MiB batches_before_full=N error='...'".
set -euo pipefail
bin=$1 work=$2
mnt="$work/mnt"
mkdir -p "$mnt"
size_mib=3
mount -t tmpfs -o size=${size_mib}m tmpfs "$mnt"
cleanup() { umount "$mnt" 2>/dev/null || true; }
trap cleanup EXIT

db="$mnt/db"
"$bin/tsdb" init --db "$db" --length 64 --vantage-points 4 >/dev/null
# Leave about 400 KiB free, then add batches of about 100 KiB each.
avail_kib=$(df --output=avail -k "$mnt" | tail -n 1 | tr -d ' ')
dd if=/dev/zero of="$mnt/filler" bs=1K count=$((avail_kib - 400)) status=none
n=0
while :; do
	"$bin/tsdb" gen 40 --seed "$n" --length 64 | sed "s/\"ts-/\"b$n-/" >"$work/batch.jsonl"
	cp "$db/tsdb.db" "$work/before.db"
	if ! "$bin/tsdb" insert --db "$db" "$work/batch.jsonl" >/dev/null 2>"$work/err"; then
		break
	fi
	n=$((n + 1))
	[ "$n" -lt 100 ] || { echo "fulldisk: never filled up" >&2; exit 1; }
done
grep -q "No space left on device" "$work/err" || { echo "fulldisk: unclear error: $(cat "$work/err")" >&2; exit 1; }
cmp -s "$work/before.db" "$db/tsdb.db" || { echo "fulldisk: the failed insert changed tsdb.db" >&2; exit 1; }
"$bin/tsdb" check --db "$db" >/dev/null
rm -f "$mnt/filler"
"$bin/tsdb" insert --db "$db" "$work/batch.jsonl" >/dev/null
"$bin/tsdb" check --db "$db" >/dev/null
echo "fulldisk: tmpfs=${size_mib}MiB batches_before_full=$n error='$(head -c 200 "$work/err")'"
