/*
 * pool.h - a range of independent work items run on a few threads.
 *
 * tsdb_pool_run calls fn on consecutive chunks of [0, n), handed out in
 * increasing order to `workers` threads, the caller being worker 0 (so
 * one worker means no thread at all).  fn may keep per-worker state
 * indexed by its worker argument (FFT plans, scratch buffers); it must
 * not touch another chunk's items.
 *
 * Failures are deterministic: when chunks fail, the error returned is
 * that of the failing chunk that starts lowest, exactly what one worker
 * running the chunks in order would have met first.  Chunks below a
 * failed one still run; chunks above it are skipped.
 */
#ifndef TSDB_POOL_H
#define TSDB_POOL_H

#include <stddef.h>

#include "err.h"

#define TSDB_POOL_MAX 64u

typedef int (*tsdb_pool_fn)(void *ctx, unsigned worker, size_t begin, size_t end, tsdb_err *err);

/* The default number of workers: $TSDB_WORKERS if set to 1..TSDB_POOL_MAX,
 * else one per online CPU (at most TSDB_POOL_MAX). */
unsigned tsdb_pool_default_workers(void);

/* Runs fn over [0, n) in chunks of `chunk` items (>= 1) on at most
 * `workers` threads (1..TSDB_POOL_MAX; never more than there are chunks).
 * 0, or -1 with fn's error.  A thread that cannot start is not an
 * error: the others, the caller at least, do its share. */
int tsdb_pool_run(unsigned workers, size_t n, size_t chunk, tsdb_pool_fn fn, void *ctx, tsdb_err *err);

#endif
