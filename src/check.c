/*
 * check.c - `tsdb check` (see check.h).  Read-only: it opens the database
 * as any reader does and walks everything reachable from the commit.
 */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dbformat.h"
#include "le.h"

typedef struct rowoff {
	uint32_t row;
	uint64_t off;
} rowoff;

/* A pivot row holds its record's distances rounded to float. */
static int pivot_matches(const tsdb_pivot *pv, const tsdb_rec *rec)
{
	for (uint32_t i = 0; i < rec->nvp; i++) {
		float f = (float)rec->vpdist[i];
		if (memcmp(&pv->vpdist[i], &f, sizeof f) != 0)
			return 0;
	}
	return 1;
}

static int rowoff_by_row(const void *a, const void *b)
{
	const rowoff *x = a, *y = b;
	return (x->row > y->row) - (x->row < y->row);
}

/* Whether recomputed values agree with stored ones.  Not bit for bit: FFTW
 * and the kernel pick SIMD code paths by CPU, so a database written on one
 * machine is recomputed with different rounding on another. */
static int close_enough(const double *a, const double *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(fabs(a[i] - b[i]) <= 1e-9 * (1 + fabs(b[i]))))
			return 0;
	return 1;
}

static int recompute_matches(tsdb_db *db, tsdb_kernel *k, const tsdb_rec *rec, double *grid, double *spec,
			     tsdb_err *err)
{
	uint32_t L = db->params.L;
	double ls;
	if (tsdb_kernel_grid(k, rec->t, rec->v, rec->npoints, grid, err) < 0)
		return tsdb_errctx(err, "series '%.*s'", (int)rec->id_len, rec->id);
	tsdb_prepare_stored(k, grid, spec, &ls);
	if (!close_enough(grid, rec->grid, L) || !close_enough(spec, rec->spectrum, tsdb_spectrum_doubles(L)) ||
	    !close_enough(&ls, &rec->log_self, 1))
		return tsdb_errf(err, TSDB_E_CORRUPT, "series '%.*s' (record %llu): derived data differs from its points",
				 (int)rec->id_len, rec->id, (unsigned long long)rec->off);
	for (uint32_t i = 0; i < rec->nvp; i++) {
		double d = tsdb_kernel_distance(k, spec, ls, db->vp[i].spectrum, db->vp[i].log_self);
		/* Distances near 0 carry ~1e-8 of rounding (sqrt of a difference). */
		if (!(fabs(d - rec->vpdist[i]) <= 1e-6))
			return tsdb_errf(err, TSDB_E_CORRUPT,
					 "series '%.*s' (record %llu): distance to vantage point %u is stale",
					 (int)rec->id_len, rec->id, (unsigned long long)rec->off, i);
	}
	return 0;
}

int tsdb_check(tsdb_db *db, int deep, tsdb_check_report *rep, tsdb_err *err)
{
	memset(rep, 0, sizeof *rep);
	rep->txn = db->snap.meta.txn;
	rep->file_bytes = db->snap.file_bytes;
	int rc = -1;
	rowoff *rows = malloc((db->nseries ? db->nseries : 1) * sizeof *rows);
	double *grid = NULL, *spec = NULL;
	if (!rows)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	/* Recomputing uses the writer's (spectral) kernel, as insert did. */
	tsdb_kernel k = {0};
	if (deep) {
		grid = malloc(8 * (size_t)db->params.L);
		spec = malloc(8 * tsdb_spectrum_doubles(db->params.L));
		if (!grid || !spec) {
			tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
			goto out;
		}
		if (tsdb_kernel_init(&k, db->params.L, db->params.mult, err) < 0)
			goto out;
	}
	if (db->snap.lost[0]) {
		tsdb_errf(err, TSDB_E_CORRUPT, "%s: %s (opened txn %llu instead)", db->path, db->snap.lost,
			  (unsigned long long)db->snap.meta.txn);
		goto out;
	}
	/* Each vantage point's spectrum and self-kernel must be those of its
	 * grid: readers use one or the other depending on L. */
	for (uint32_t i = 0; deep && i < db->nchosen; i++) {
		double ls;
		tsdb_prepare_stored(&k, db->vp[i].grid, spec, &ls);
		if (!close_enough(spec, db->vp[i].spectrum, tsdb_spectrum_doubles(db->params.L)) ||
		    !close_enough(&ls, &db->vp[i].log_self, 1)) {
			tsdb_errf(err, TSDB_E_CORRUPT, "%s: vantage point %u: spectrum or self-kernel differs from its grid",
				  db->path, i);
			goto out;
		}
	}
	rbt_stats st;
	if (rbt_check(&db->snap, &rbt_key_bytes, db->ids, &st, err) < 0) {
		tsdb_errctx(err, "%s: id index", db->path);
		goto out;
	}
	rep->nodes += st.nodes;
	rep->live_bytes += st.bytes;
	rep->trees = 1;
	rep->live_bytes += le32_get(db->snap.base + db->params_off + 8);

	/* Every id entry: its record, intact, naming the same id. */
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_bytes, db->ids);
	size_t n = 0;
	int r;
	for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err)) {
		tsdb_rec rec;
		if (tsdb_rec_read(db, c.node.value, 1, &rec, err) < 0)
			goto out;
		if (rec.id_len != c.node.key[0] || memcmp(rec.id, c.node.key + 1, rec.id_len)) {
			tsdb_errf(err, TSDB_E_CORRUPT, "%s: id index entry '%.*s' points at the record of '%.*s'", db->path,
				  (int)c.node.key[0], (const char *)c.node.key + 1, (int)rec.id_len, rec.id);
			goto out;
		}
		if (tsdb_id_validate(rec.id, rec.id_len, err) < 0) {
			tsdb_errctx(err, "%s: record %llu", db->path, (unsigned long long)rec.off);
			goto out;
		}
		if (rec.row >= db->next_row) {
			tsdb_errf(err, TSDB_E_CORRUPT, "%s: series '%.*s' has row %u beyond the row counter %u", db->path,
				  (int)rec.id_len, rec.id, rec.row, db->next_row);
			goto out;
		}
		if (deep && recompute_matches(db, &k, &rec, grid, spec, err) < 0) {
			tsdb_errctx(err, "%s", db->path);
			goto out;
		}
		rows[n++] = (rowoff){rec.row, rec.off};
		rep->live_bytes += rec.size;
	}
	if (r < 0)
		goto out;
	qsort(rows, n, sizeof *rows, rowoff_by_row);
	for (size_t i = 1; i < n; i++)
		if (rows[i].row == rows[i - 1].row) {
			tsdb_errf(err, TSDB_E_CORRUPT, "%s: two series share row %u", db->path, rows[i].row);
			goto out;
		}

	/* Every vantage-point entry: a pivot row naming a stored series' row
	 * and record, holding that record's distances, keyed by exactly the
	 * distance the record holds.  Equal counts and distinct
	 * rows make each index a permutation of the id index. */
	for (uint32_t i = 0; i < db->nchosen; i++) {
		if (rbt_check(&db->snap, &rbt_key_distrow, db->vpidx[i], &st, err) < 0) {
			tsdb_errctx(err, "%s: vantage point index %u", db->path, i);
			goto out;
		}
		rep->nodes += st.nodes;
		rep->live_bytes += st.bytes;
		rep->trees++;
		rbt_cursor_init(&c, &db->snap, &rbt_key_distrow, db->vpidx[i]);
		for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err)) {
			rowoff key = {rbt_distrow_row(c.node.key), 0};
			rowoff *hit = bsearch(&key, rows, n, sizeof *rows, rowoff_by_row);
			double d = rbt_distrow_distance(c.node.key);
			tsdb_rec rec;
			tsdb_pivot pv;
			if (!hit || tsdb_pivot_read(db, c.node.value, &pv, err) < 0 || pv.row != key.row ||
			    pv.rec_off != hit->off || tsdb_rec_read(db, hit->off, 0, &rec, err) < 0 ||
			    memcmp(&rec.vpdist[i], &d, 8) != 0 || !pivot_matches(&pv, &rec)) {
				tsdb_errf(err, TSDB_E_CORRUPT,
					  "%s: vantage point index %u entry (%.17g, row %u) does not match a stored series",
					  db->path, i, d, key.row);
				goto out;
			}
			if (i == 0)
				rep->live_bytes += tsdb_pivot_size(db->nchosen);
		}
		if (r < 0)
			goto out;
	}
	rep->series = n;
	/* Node bytes: a fixed-size header plus the key. */
	rc = 0;
out:
	tsdb_kernel_free(&k);
	free(rows);
	free(grid);
	free(spec);
	return rc;
}
