#!/usr/bin/env python3
"""concurrency.py [--rounds R] [--verify DB BATCHES BASE] ADDR N K ID... -
N clients at once, each one with_id k=K; R rounds of that (default 1).

In each round all N threads connect and send together (a barrier releases
them), so the server sees N simultaneous connections.  Client i asks for
ID[i % len(ID)].  Every response must be status OK with exactly K results,
sorted by (distance, id) and without the query itself.

With --verify, every answer is also compared with the local search's:
the database DB held BASE series, then the writer added the files
BATCHES/b* in name order, 10 series each, so an answer that reports S
series was computed on the base and the first (S - BASE) / 10 batches.
`tsdb search --brute` ranks every stored series for each query id on DB
as it is after the run; the expected answer is the first K of that
ranking among the series of that snapshot, ids and distances exactly.
Prints every
failure, then "snapshots: S" (how many different database sizes the
answers reported: more than one means writers committed during the run)
and "M ok, F failed"; exit 0 only when all succeeded.
"""

import glob
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients"))
import pyclient  # noqa: E402


def check(resp, qid, k):
    if resp.get("status") != "OK":
        return f"status {resp.get('status')}: {resp.get('error')}"
    results = resp["payload"]["results"]
    if len(results) != k:
        return f"{len(results)} results, not {k}"
    keys = [(r["distance"], r["id"].encode()) for r in results]
    if keys != sorted(keys):
        return "results not sorted by (distance, id)"
    if any(r["id"] == qid for r in results):
        return "the query itself is among the results"
    return None


def verify(answers, db, batches, base, k):
    """Failures of the answers [(qid, payload)] against the local search."""
    files = sorted(glob.glob(os.path.join(batches, "b*")))
    batch_ids = []
    for path in files:
        with open(path) as f:
            batch_ids.append([json.loads(line)["id"] for line in f if line.strip()])
    ranking = {}
    for qid in sorted({q for q, _ in answers}):
        out = subprocess.run(["tsdb", "search", "--db", db, "--id", qid, "-k", "1000000", "--json",
                              "--brute"], check=True, stdout=subprocess.PIPE).stdout
        ranking[qid] = [(r["id"], r["distance"]) for r in json.loads(out)["results"]]
    failures = []
    for qid, payload in answers:
        n = payload["series"]
        if (n - base) % 10 or not 0 <= (n - base) // 10 <= len(batch_ids):
            failures.append(f"{qid}: {n} series is no snapshot the writer made")
            continue
        live = set(i for b in batch_ids[:(n - base) // 10] for i in b)
        want = [r for r in ranking[qid] if not r[0].startswith("w-") or r[0] in live][:k]
        got = [(r["id"], r["distance"]) for r in payload["results"]]
        if got != want:
            failures.append(f"{qid} at {n} series: {got[:3]}... is not the local search's {want[:3]}...")
    return failures


def main():
    args = sys.argv[1:]
    rounds = 1
    ref = None
    while args[:1] in (["--rounds"], ["--verify"]):
        if args[0] == "--rounds":
            rounds, args = int(args[1]), args[2:]
        else:
            ref, args = (args[1], args[2], int(args[3])), args[4:]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    addr, n, k, ids = args[0], int(args[1]), int(args[2]), args[3:]
    failures = []
    sizes = set()
    answers = []
    lock = threading.Lock()

    def client(i, barrier):
        qid = ids[i % len(ids)]
        try:
            barrier.wait(timeout=60)
            resp = pyclient.call(addr, {"op": "with_id", "id": qid, "k": k}, timeout=60)
            problem = check(resp, qid, k)
        except Exception as err:  # every failure is a result to report
            problem = f"{type(err).__name__}: {err}"
        with lock:
            if problem:
                failures.append(f"client {i} ({qid}): {problem}")
            else:
                sizes.add(resp["payload"]["series"])
                answers.append((qid, resp["payload"]))

    for _ in range(rounds):
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=client, args=(i, barrier)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if ref:
        wrong = verify(answers, ref[0], ref[1], ref[2], k)
        failures += wrong
        print(f"verified: {len(answers)} answers against the local search, {len(wrong)} differ")
    for f in failures:
        print(f)
    print(f"snapshots: {len(sizes)}")
    print(f"{n * rounds - len(failures)} ok, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
