/*
 * batchinsert.h - inserting a loaded batch (input.h) with the policy of
 * `tsdb insert`: a failure caused by one series names where it came from,
 * and in skip mode such a series is reported, left out and the rest
 * retried, so that what can be stored is stored in one commit.
 *
 * Both functions report each series they leave out to on_invalid (the
 * error names the file or line, and the reason) and count it in
 * b->skipped.  Everything about finding the culprit lives here.
 */
#ifndef TSDB_BATCHINSERT_H
#define TSDB_BATCHINSERT_H

#include "err.h"
#include "input.h"
#include "writer.h"

/* Told about each series left out (skip mode). */
typedef void (*tsdb_batch_invalid_fn)(void *ctx, const tsdb_err *err);

/* tsdb_insert of b into dir.  A failure about one series gets its place
 * ("batch.jsonl line 3: ...") in front; with skip, that series is reported,
 * removed from b and the rest inserted again, until a commit succeeds or
 * b is empty (0, with *res all zero).  -1 for any other failure. */
int tsdb_batch_insert(const char *dir, tsdb_batch *b, const tsdb_insert_opts *io, int skip,
		      tsdb_batch_invalid_fn on_invalid, void *ctx, tsdb_insert_result *res,
		      tsdb_err *err);

/* Skip mode without replace: the series whose ids are already stored in
 * dir are reported (TSDB_E_DUPLICATE, "PLACE: id 'x' is already stored in
 * DIR") and removed from b in one pass, rather than one failed commit at
 * a time.  A database that cannot be opened leaves b as it is (the insert
 * then reports that).  -1 only when out of memory. */
int tsdb_batch_drop_stored(const char *dir, tsdb_batch *b, tsdb_batch_invalid_fn on_invalid,
			   void *ctx, tsdb_err *err);

#endif
