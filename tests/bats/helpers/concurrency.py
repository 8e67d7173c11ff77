#!/usr/bin/env python3
"""concurrency.py [--rounds R] ADDR N K ID... - N clients at once, each
one with_id k=K; R rounds of that (default 1).

In each round all N threads connect and send together (a barrier releases
them), so the server sees N simultaneous connections.  Client i asks for
ID[i % len(ID)].  Every response must be status OK with exactly K results,
sorted by (distance, id) and without the query itself.  Prints every
failure, then "snapshots: S" (how many different database sizes the
answers reported: more than one means writers committed during the run)
and "M ok, F failed"; exit 0 only when all succeeded.
"""

import os
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


def main():
    args = sys.argv[1:]
    rounds = 1
    if args[:1] == ["--rounds"]:
        rounds, args = int(args[1]), args[2:]
    if len(args) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    addr, n, k, ids = args[0], int(args[1]), int(args[2]), args[3:]
    failures = []
    sizes = set()
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

    for _ in range(rounds):
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=client, args=(i, barrier)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for f in failures:
        print(f)
    print(f"snapshots: {len(sizes)}")
    print(f"{n * rounds - len(failures)} ok, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
