/*
 * writer.h - every change to a database.  Only this module writes under a
 * database directory.
 *
 * Each call prepares what it can without the lock (parsing is the caller's;
 * grids, spectra, self-kernels and vantage-point distances are computed
 * here), then takes an exclusive flock on DIR/LOCK, re-reads the newest
 * commit, appends, commits once and unlocks.  A failure at any point leaves
 * the database exactly as it was (bytes past the commit are cut by the next
 * writer), and so does a crash or kill.
 */
#ifndef TSDB_WRITER_H
#define TSDB_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "series.h"

/* Creates an empty database in dir (made if missing); refuses to touch an
 * existing one. */
int tsdb_init(const char *dir, const tsdb_params *p, tsdb_err *err);
/* The same with metadata indexes on fields[0..nfields) from the start. */
int tsdb_init_indexed(const char *dir, const tsdb_params *p, const char *const *fields, const size_t *lens,
		      size_t nfields, tsdb_err *err);

typedef struct tsdb_insert_opts {
	int replace;                  /* an id already stored is replaced, not an error */
	int unchanged_ok;             /* an id stored with identical points and meta is skipped, not an error */
	/* progress: called now and then with (done, total) while preparing */
	void (*progress)(void *ctx, const char *stage, size_t done, size_t total);
	void *progress_ctx;
	/* threads computing grids, spectra and vantage-point distances before
	 * the lock; 0: tsdb_pool_default_workers().  Any number gives the same
	 * bytes on disk. */
	unsigned workers;
	int no_compact;               /* never compact after the commit (see tsdb_compact_due) */
} tsdb_insert_opts;

/* Series per chunk of the preparing workers. */
#define TSDB_PREPARE_CHUNK 64u

typedef struct tsdb_insert_result {
	size_t inserted, replaced, unchanged;
	int chose_vantage_points;
	uint64_t txn;
	/* After the commit, when tsdb_compact_due: compacted (bytes_before ->
	 * bytes_after), or compact_failed with compact_err (the insert itself
	 * stands). */
	int compacted, compact_failed;
	uint64_t bytes_before, bytes_after;
	tsdb_err compact_err;
} tsdb_insert_result;

/* Inserts the series (all of them or none).  Ids must be set and unique
 * within the batch. */
int tsdb_insert(const char *dir, const tsdb_series *series, size_t n, const tsdb_insert_opts *o,
		tsdb_insert_result *r, tsdb_err *err);

/* Removes the ids (all of them or none: an unknown id is TSDB_E_INVALID_KEY). */
int tsdb_remove(const char *dir, const char *const *ids, const size_t *lens, size_t n,
		uint64_t *txn, tsdb_err *err);

/* Rewrites the live data of the newest commit into a fresh file and swaps
 * it in; readers that have the old file open keep it.  Transaction ids go
 * on from the old file's. */
int tsdb_compact(const char *dir, uint64_t *bytes_before, uint64_t *bytes_after, tsdb_err *err);

/* Whether db's file is worth compacting: at least TSDB_COMPACT_MIN_BYTES,
 * more than TSDB_COMPACT_DEAD_SHARE of it dead (db.h).  tsdb_insert
 * compacts after its commit when so: a file grown by batches then stays
 * within 1 / (1 - share) of its live size, about 1.43 times, and each
 * compaction copies the live bytes, about (1 - share) / share = 2.3 times
 * the bytes made dead since the one before. */
#define TSDB_COMPACT_MIN_BYTES (1u << 20)
#define TSDB_COMPACT_DEAD_SHARE 0.3
int tsdb_compact_due(const tsdb_db *db);

/* Chooses vantage points anew (with nvp and seed; 0 keeps the stored ones)
 * and rebuilds every vantage-point index, in one commit. */
int tsdb_reindex(const char *dir, uint32_t nvp, uint64_t seed, int seed_given, tsdb_err *err);

/* Adds metadata indexes on fields[0..n) (metaindex.h) and fills them
 * from every stored series, in one commit: readers see the database
 * without them or with them complete. */
int tsdb_index_add(const char *dir, const char *const *fields, const size_t *lens, size_t n, uint64_t *txn,
		   tsdb_err *err);
/* Drops the metadata index on field (TSDB_E_INVALID_KEY if there is none). */
int tsdb_index_drop(const char *dir, const char *field, size_t len, uint64_t *txn, tsdb_err *err);

#endif
