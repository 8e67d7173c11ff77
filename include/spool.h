/*
 * spool.h - `tsdb ingest --spool SPOOL`: batch ingestion of the files that
 * producers drop into SPOOL/new/.
 *
 * SPOOL holds new/, done/ and failed/ (made when missing) and a lock file
 * .lock (one ingest per spool at a time).  Producers write a file under a
 * name starting with '.' (skipped) or outside the spool and rename it into
 * new/ when complete; a file in new/ is never changed afterwards, and a
 * name is never reused (a reused name replaces the earlier file of that
 * name in done/ or failed/).  Each
 * file holds series as `tsdb insert` reads them (input.h); its name
 * without the extension must be a valid id, and a single series without
 * an id of its own takes that name.  A file ends up in exactly one of:
 *     done/NAME      every series in it is stored (inserted now, or
 *                    found stored with identical points and meta)
 *     failed/NAME    with failed/NAME.reason: why it was not stored (a
 *                    name too long to take the suffix gets no .reason;
 *                    the reason then only goes to the caller's callback)
 *     new/NAME       left for the next run: it could not be read (an
 *                    I/O error may be transient); counted as left
 * What is not a regular file (a directory, a symbolic link) or is hidden
 * is not ingested, not counted and never moved.
 * Files are taken in name order; a file repeating an id that an earlier
 * file holds fails unless its series is identical (the first one wins,
 * whatever the batch size).  spool.c explains why a kill at any instant
 * loses and duplicates nothing.
 */
#ifndef TSDB_SPOOL_H
#define TSDB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "input.h"

#define TSDB_SPOOL_BATCH 1000u   /* files per insert by default */

enum tsdb_spool_fate {
	TSDB_SPOOL_DONE,
	TSDB_SPOOL_FAILED,
	TSDB_SPOOL_LEFT,
};

typedef struct tsdb_spool_opts {
	size_t batch;                /* files per tsdb_insert call (>= 1) */
	tsdb_input_opts input;       /* bounds (its mode and callback are not used) */
	/* told where each file went; reason is NULL for DONE */
	void (*on_file)(void *ctx, const char *name, enum tsdb_spool_fate fate,
			const char *reason);
	void *ctx;
	/* passed on to tsdb_insert */
	void (*progress)(void *ctx, const char *stage, size_t done, size_t total);
	void *progress_ctx;
} tsdb_spool_opts;

void tsdb_spool_opts_default(tsdb_spool_opts *o);

typedef struct tsdb_spool_result {
	size_t done, failed, left;     /* files */
	size_t inserted, unchanged;    /* series */
	size_t batches;                /* tsdb_insert calls that succeeded */
	uint64_t txn;                  /* of the last of them; 0 if none */
	size_t compactions;            /* compactions after them (tsdb_compact_due) */
	size_t compact_failures;       /* ... that failed; the batch stood */
	tsdb_err compact_err;          /* the last such failure */
} tsdb_spool_result;

/* Ingests every file in SPOOL/new/ into the database in dbdir, in name
 * order, batch files per commit.  Fails (leaving the files not yet
 * ingested in new/) on what no single file causes: the database cannot
 * be written, the spool cannot be read or renamed in, another ingest holds
 * the spool's lock. */
int tsdb_spool_ingest(const char *dbdir, const char *spool, const tsdb_spool_opts *o,
		      tsdb_spool_result *r, tsdb_err *err);

#endif
