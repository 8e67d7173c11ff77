/*
 * batchinsert.c - insert a batch, leaving out what is invalid (see
 * batchinsert.h).
 *
 * The culprit of a failed tsdb_insert is the series its error names
 * (where.item, see err.h) as tsdb_batch_blame reads it; each retry is a whole new attempt, so the
 * commit that finally succeeds holds exactly the series left in b.
 */
#include "batchinsert.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* Removes series i from b. */
static int drop_one(tsdb_batch *b, size_t i, tsdb_err *err)
{
	unsigned char *drop = calloc(b->n, 1);
	if (!drop)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	drop[i] = 1;
	tsdb_batch_remove(b, drop);
	free(drop);
	return 0;
}

int tsdb_batch_insert(const char *dir, tsdb_batch *b, const tsdb_insert_opts *io, int skip,
		      tsdb_batch_invalid_fn on_invalid, void *ctx, tsdb_insert_result *res,
		      tsdb_err *err)
{
	for (;;) {
		memset(res, 0, sizeof *res);
		if (tsdb_insert(dir, b->series, b->n, io, res, err) == 0)
			return 0;
		ptrdiff_t i = tsdb_batch_series_error(err->code) ? tsdb_batch_blame(b, err) : -1;
		if (i < 0)
			return -1;
		char where[1024];
		tsdb_batch_where(b, (size_t)i, where, sizeof where);
		tsdb_errctx(err, "%s", where);
		if (!skip)
			return -1;
		if (on_invalid)
			on_invalid(ctx, err);
		b->skipped++;
		if (drop_one(b, (size_t)i, err))
			return -1;
		if (b->n == 0)
			return 0;
	}
}

int tsdb_batch_drop_stored(const char *dir, tsdb_batch *b, tsdb_batch_invalid_fn on_invalid,
			   void *ctx, tsdb_err *err)
{
	tsdb_db d;
	tsdb_err ignore;
	if (b->n == 0 || tsdb_db_open(&d, dir, &ignore))
		return 0;
	unsigned char *drop = calloc(b->n, 1);
	if (!drop) {
		tsdb_db_close(&d);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	}
	for (size_t i = 0; i < b->n; i++) {
		tsdb_rec rec;
		if (tsdb_db_find(&d, b->series[i].id, b->series[i].id_len, &rec, &ignore) != 0)
			continue;
		char where[1024];
		tsdb_batch_where(b, i, where, sizeof where);
		tsdb_errf(err, TSDB_E_DUPLICATE, "%s: id '%s' is already stored in %s", where,
			  b->series[i].id, dir);
		if (on_invalid)
			on_invalid(ctx, err);
		b->skipped++;
		drop[i] = 1;
	}
	tsdb_batch_remove(b, drop);
	free(drop);
	tsdb_db_close(&d);
	return 0;
}
