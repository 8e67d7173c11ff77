#!/usr/bin/env python3
"""killtest.py - SIGKILL the writer at random instants while handlers answer.

Runs insert and remove batches (5 series each) through `tsdb`, and now and
then adds or drops a metadata index or compacts, killing the writer
process at a random moment in most runs.  The database keeps a metadata index on each
series' batch number from the start.  Meanwhile reader threads
query through `tsdb-handler` (inetd mode: one process per request).  After
every writer run, killed or not:
  - `tsdb check` passes (the database opens and every index agrees);
  - every batch reported committed (exit 0) is fully present, every batch
    never started or removed is fully absent, and the batch in flight when
    the kill landed is either fully present or fully absent;
  - the next writer proceeds without repair (flock dies with its holder).
Readers must never get an error status, and never an inconsistent answer:
the series count they see, and the count of a select on the indexed
batch number, are always whole numbers of batches.

usage: killtest.py TSDB_BIN_DIR WORK_DIR KILLS [SEED]
Prints one summary line: "kills=N committed=N rolled_back=N queries=N
(readers A+B)".  Fails (exit 1) on any wrong answer or error, when a
reader thread dies of an exception or answered no query at all, or when
fewer kills landed than asked for.
"""
import json
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time

BATCH = 5
L = 32


def main():
    bindir, work, kills = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    rng = random.Random(seed)
    tsdb = os.path.join(bindir, "tsdb")
    handler = os.path.join(bindir, "tsdb-handler")
    db = os.path.join(work, "db")
    run([tsdb, "init", "--db", db, "--length", str(L), "--vantage-points", "4", "--index", "batch"])

    def batch_file(b):
        path = os.path.join(work, "batch-%05d.jsonl" % b)
        with open(path, "w") as f:
            for i in range(BATCH):
                r = random.Random(b * 100 + i)
                t = [j / 40 for j in range(40)]
                v = [r.gauss(0, 1) for _ in range(40)]
                f.write(json.dumps({"id": "b%05d-%d" % (b, i), "t": t, "v": v,
                                    "meta": {"batch": b, "i": i}}) + "\n")
        return path

    present = set()          # batches committed and not removed
    indexed_i = False        # whether the index on i exists
    failures = []
    stop = threading.Event()
    answered = [0, 0]        # per reader
    died = []                # readers that ended by an exception
    # KILLTEST_BREAK_READER=K makes reader K raise after its first answer:
    # the harness's own test that a dead reader fails the run.
    broken = int(os.environ.get("KILLTEST_BREAK_READER", "-1"))

    def reader(k):
        try:
            read_loop(k)
        except BaseException as e:  # any way out but `stop` is a failure
            died.append(k)
            failures.append("reader %d died: %s: %s" % (k, type(e).__name__, e))

    def read_loop(k):
        r = random.Random(seed * 7 + k)
        series = {"t": [j / 16 for j in range(16)], "v": [r.gauss(0, 1) for _ in range(16)]}
        while not stop.is_set():
            if k == broken and answered[k]:
                raise RuntimeError("broken on purpose (KILLTEST_BREAK_READER)")
            x = r.random()
            if x < 0.4:
                req = {"op": "with_ts", "ts": series, "k": 7}
            elif x < 0.7:
                req = {"op": "select", "md": {"batch": {"<": r.randrange(1, 40)}}, "fields": None}
            else:
                req = {"op": "info"}
            body = json.dumps(req).encode()
            p = subprocess.run([handler, "--db", db], input=struct.pack("<I", len(body) + 4) + body,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20)
            out = p.stdout
            if p.returncode != 0 or len(out) < 4 or struct.unpack("<I", out[:4])[0] != len(out):
                failures.append("reader: handler exit %d, %d bytes" % (p.returncode, len(out)))
                continue
            resp = json.loads(out[4:])
            if resp.get("status") != "OK":
                failures.append("reader: %s: %s" % (resp.get("status"), resp.get("error")))
                continue
            pl = resp["payload"]
            if req["op"] == "select":
                if pl["count"] % BATCH:
                    failures.append("reader's select counted %d series: a partial batch" % pl["count"])
                answered[k] += 1
                continue
            n = pl["series"]
            if n % BATCH:
                failures.append("reader saw %d series: a partial batch" % n)
            if req["op"] == "with_ts" and len(pl["results"]) != min(7, n):
                failures.append("reader got %d results from %d series" % (len(pl["results"]), n))
            answered[k] += 1

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()

    next_batch = 0
    durations = []
    killed = committed = rolled_back = 0
    try:
        while killed < kills and not failures:
            x = rng.random()
            if x < 0.08:
                cmd = [tsdb, "index", ("drop" if indexed_i else "add"), "--db", db, "i"]
                op = ("index", None)
            elif x < 0.14:
                cmd = [tsdb, "compact", "--db", db]
                op = ("compact", None)
            elif present and x < 0.35:
                b = rng.choice(sorted(present))
                cmd = [tsdb, "remove", "--db", db] + ["b%05d-%d" % (b, i) for i in range(BATCH)]
                op = ("remove", b)
            else:
                b = next_batch
                next_batch += 1
                cmd = [tsdb, "insert", "--db", db, batch_file(b)]
                op = ("insert", b)
            # Kill at a random instant within the typical run time (most
            # runs), or let it finish (some runs), so kills land everywhere.
            typical = sorted(durations)[len(durations) // 2] if durations else 0.02
            delay = rng.uniform(0, 1.5 * typical) if rng.random() < 0.85 else None
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if delay is not None:
                time.sleep(delay)
                p.send_signal(signal.SIGKILL)
            _, err = p.communicate()
            if p.returncode == 0:
                durations.append(time.monotonic() - t0)
            ids = set(run([tsdb, "list", "--db", db, "--limit", "100000"]).split())
            got = {}
            for i in ids:
                got.setdefault(int(i[1:6]), set()).add(i)
            for bb, members in got.items():
                if len(members) != BATCH:
                    failures.append("batch %d partly present: %s" % (bb, sorted(members)))
            now = set(got)
            b = op[1]
            after = present | {b} if op[0] == "insert" else present - {b} if op[0] == "remove" else present
            if op[0] == "compact" and [f for f in os.listdir(db) if f.endswith(".compact")] and p.returncode == 0:
                failures.append("compact left its temporary file behind")
            if op[0] == "index":
                listed = run([tsdb, "index", "list", "--db", db]).split()
                was, indexed_i = indexed_i, "i" in listed
                if p.returncode == 0 and indexed_i == was:
                    failures.append("index %s reported committed but did not happen" % cmd[2])
                if "batch" not in listed:
                    failures.append("the index on batch went missing")
            if p.returncode == 0:
                committed += 1
                if now != after:
                    failures.append("%s %d reported committed but the database differs" % op)
            elif p.returncode == -signal.SIGKILL:
                killed += 1
                # The batch in flight landed whole or not at all; nothing else changed.
                if now == after:
                    committed += 1
                elif now == present:
                    rolled_back += 1
                else:
                    failures.append("after killing %s %d: batches %s changed" % (op + (sorted(now ^ present),)))
            else:
                failures.append("%s exited %d: %s" % (" ".join(cmd[:2]), p.returncode, err.decode().strip()))
            present = now
            chk = subprocess.run([tsdb, "check", "--db", db], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if chk.returncode != 0:
                failures.append("check after %s %d: %s" % (op[0], b, chk.stdout.decode().strip()))
    finally:
        stop.set()
        for t in threads:
            t.join()
    for k, t in enumerate(threads):
        if k not in died and answered[k] == 0:
            failures.append("reader %d answered no query" % k)
    if killed < kills and not failures:
        failures.append("only %d of %d kills landed" % (killed, kills))
    for f in failures[:10]:
        print("FAIL:", f)
    print("kills=%d committed=%d rolled_back=%d queries=%d (readers %s)"
          % (killed, committed, rolled_back, sum(answered), "+".join(map(str, answered))))
    return 1 if failures else 0


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode()))
    return p.stdout.decode()


if __name__ == "__main__":
    sys.exit(main())
