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

/* One check in progress: what the phases share. */
typedef struct check_txn {
	tsdb_db *db;
	int deep;
	tsdb_check_report *rep;
	tsdb_kernel k;                /* deep: the writer's (spectral) kernel, as insert used */
	double *grid, *spec;          /* deep: scratch for recomputing */
	rowoff *rows;                 /* every stored series' (row, record), by row */
	size_t n;
} check_txn;

static int check_prepare(check_txn *cx, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	if (!(cx->rows = malloc((db->nseries ? db->nseries : 1) * sizeof *cx->rows)))
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	if (!cx->deep)
		return 0;
	cx->grid = malloc(8 * (size_t)db->params.L);
	cx->spec = malloc(8 * tsdb_spectrum_doubles(db->params.L));
	if (!cx->grid || !cx->spec)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	return tsdb_kernel_init(&cx->k, db->params.L, db->params.mult, err);
}

/* Each vantage point's spectrum and self-kernel must be those of its
 * grid: readers use one or the other depending on L. */
static int check_vantage_points(check_txn *cx, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	for (uint32_t i = 0; cx->deep && i < db->nchosen; i++) {
		double ls;
		tsdb_prepare_stored(&cx->k, db->vp[i].grid, cx->spec, &ls);
		if (!close_enough(cx->spec, db->vp[i].spectrum, tsdb_spectrum_doubles(db->params.L)) ||
		    !close_enough(&ls, &db->vp[i].log_self, 1))
			return tsdb_errf(err, TSDB_E_CORRUPT,
					 "%s: vantage point %u: spectrum or self-kernel differs from its grid",
					 db->path, i);
	}
	return 0;
}

/* One id entry: its record, intact, naming the same id. */
static int check_id_entry(check_txn *cx, const rbt_node *node, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	tsdb_rec rec;
	if (tsdb_rec_read(db, node->value, 1, &rec, err) < 0)
		return -1;
	if (rec.id_len != node->key[0] || memcmp(rec.id, node->key + 1, rec.id_len))
		return tsdb_errf(err, TSDB_E_CORRUPT,
				 "%s: id index entry '%.*s' points at the record of '%.*s'", db->path,
				 (int)node->key[0], (const char *)node->key + 1, (int)rec.id_len, rec.id);
	if (tsdb_id_validate(rec.id, rec.id_len, err) < 0)
		return tsdb_errctx(err, "%s: record %llu", db->path, (unsigned long long)rec.off);
	if (rec.row >= db->next_row)
		return tsdb_errf(err, TSDB_E_CORRUPT,
				 "%s: series '%.*s' has row %u beyond the row counter %u", db->path,
				 (int)rec.id_len, rec.id, rec.row, db->next_row);
	if (cx->deep && recompute_matches(db, &cx->k, &rec, cx->grid, cx->spec, err) < 0)
		return tsdb_errctx(err, "%s", db->path);
	cx->rows[cx->n++] = (rowoff){rec.row, rec.off};
	cx->rep->live_bytes += rec.size;
	return 0;
}

/* The id tree, every entry in it, and rows that are distinct. */
static int check_ids(check_txn *cx, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	rbt_stats st;
	if (rbt_check(&db->snap, &rbt_key_bytes, db->ids, &st, err) < 0)
		return tsdb_errctx(err, "%s: id index", db->path);
	cx->rep->nodes += st.nodes;
	cx->rep->live_bytes += st.bytes;
	cx->rep->trees = 1;
	cx->rep->live_bytes += le32_get(db->snap.base + db->params_off + 8);
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_bytes, db->ids);
	int r;
	for (r = rbt_first(&c, err); r == 1 && cx->n < db->nseries; r = rbt_next(&c, err))
		if (check_id_entry(cx, &c.node, err) < 0)
			return -1;
	if (r < 0)
		return -1;
	if (r == 1)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: the id index holds more than %llu entries",
				 db->path, (unsigned long long)db->nseries);
	qsort(cx->rows, cx->n, sizeof *cx->rows, rowoff_by_row);
	for (size_t i = 1; i < cx->n; i++)
		if (cx->rows[i].row == cx->rows[i - 1].row)
			return tsdb_errf(err, TSDB_E_CORRUPT, "%s: two series share row %u", db->path,
					 cx->rows[i].row);
	return 0;
}

/* Every entry of vantage-point index i: a pivot row naming a stored
 * series' row and record, holding that record's distances, keyed by
 * exactly the distance the record holds.  Equal counts and distinct rows
 * make each index a permutation of the id index. */
static int check_vp_index(check_txn *cx, uint32_t i, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	rbt_stats st;
	if (rbt_check(&db->snap, &rbt_key_distrow, db->vpidx[i], &st, err) < 0)
		return tsdb_errctx(err, "%s: vantage point index %u", db->path, i);
	cx->rep->nodes += st.nodes;
	cx->rep->live_bytes += st.bytes;
	cx->rep->trees++;
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_distrow, db->vpidx[i]);
	int r;
	for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err)) {
		rowoff key = {rbt_distrow_row(c.node.key), 0};
		rowoff *hit = bsearch(&key, cx->rows, cx->n, sizeof *cx->rows, rowoff_by_row);
		double d = rbt_distrow_distance(c.node.key);
		tsdb_rec rec;
		tsdb_pivot pv;
		if (!hit || tsdb_pivot_read(db, c.node.value, &pv, err) < 0 || pv.row != key.row ||
		    pv.rec_off != hit->off || tsdb_rec_read(db, hit->off, 0, &rec, err) < 0 ||
		    memcmp(&rec.vpdist[i], &d, 8) != 0 || !pivot_matches(&pv, &rec))
			return tsdb_errf(err, TSDB_E_CORRUPT,
					 "%s: vantage point index %u entry (%.17g, row %u) does not match a stored series",
					 db->path, i, d, key.row);
		if (i == 0)
			cx->rep->live_bytes += tsdb_pivot_size(db->nchosen);
	}
	return r < 0 ? -1 : 0;
}

/* The key metadata index ix gives the record at off; 0 when none. */
static uint32_t expected_key(const tsdb_db *db, const tsdb_midx *ix, uint64_t off, uint8_t key[RBT_KEY_MAX],
			     tsdb_err *err)
{
	tsdb_rec rec;
	if (tsdb_rec_read(db, off, 0, &rec, err) < 0)
		return UINT32_MAX;
	json_t *m = tsdb_midx_parse(rec.meta, rec.meta_len);
	uint32_t size = tsdb_midx_key(m, ix->field, rec.row, key);
	json_decref(m);
	return size;
}

/* Every entry of metadata index j is the key its record's metadata gives,
 * pointing at that record; and as many series give a key as it holds
 * entries.  Keys are unique, so that makes it exactly the set of keys the
 * stored series give. */
static int check_midx(check_txn *cx, uint32_t j, tsdb_err *err)
{
	tsdb_db *db = cx->db;
	const tsdb_midx *ix = &db->midx[j];
	rbt_stats st;
	if (rbt_check(&db->snap, &rbt_key_metarow, ix->root, &st, err) < 0)
		return tsdb_errctx(err, "%s: metadata index '%s'", db->path, ix->field);
	cx->rep->nodes += st.nodes;
	cx->rep->live_bytes += st.bytes;
	cx->rep->trees++;
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_metarow, ix->root);
	uint8_t key[RBT_KEY_MAX];
	int r;
	for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err)) {
		rowoff want = {rbt_metarow_row(c.node.key), 0};
		rowoff *hit = bsearch(&want, cx->rows, cx->n, sizeof *cx->rows, rowoff_by_row);
		uint32_t size = hit ? expected_key(db, ix, hit->off, key, err) : 0;
		if (size == UINT32_MAX)
			return -1;
		if (!hit || hit->off != c.node.value || size != c.node.keysize || memcmp(key, c.node.key, size)) {
			char what[RBT_KEY_MAX * 4 + 32];
			rbt_key_metarow.describe(c.node.key, what, sizeof what);
			return tsdb_errf(err, TSDB_E_CORRUPT,
					 "%s: metadata index '%s' entry %s does not match a stored series", db->path,
					 ix->field, what);
		}
	}
	if (r < 0)
		return tsdb_errctx(err, "%s: metadata index '%s'", db->path, ix->field);
	uint64_t keyed = 0;
	for (size_t i = 0; i < cx->n; i++) {
		uint32_t size = expected_key(db, ix, cx->rows[i].off, key, err);
		if (size == UINT32_MAX)
			return -1;
		keyed += size != 0;
	}
	if (keyed != ix->root.count)
		return tsdb_errf(err, TSDB_E_CORRUPT,
				 "%s: metadata index '%s' holds %llu entries but %llu series have the field",
				 db->path, ix->field, (unsigned long long)ix->root.count, (unsigned long long)keyed);
	return 0;
}

int tsdb_check(tsdb_db *db, int deep, tsdb_check_report *rep, tsdb_err *err)
{
	memset(rep, 0, sizeof *rep);
	rep->txn = db->snap.meta.txn;
	rep->file_bytes = db->snap.file_bytes;
	check_txn cx = {.db = db, .deep = deep, .rep = rep};
	int rc = check_prepare(&cx, err);
	if (rc == 0 && db->snap.lost[0])
		rc = tsdb_errf(err, TSDB_E_CORRUPT, "%s: %s (opened txn %llu instead)", db->path,
			       db->snap.lost, (unsigned long long)db->snap.meta.txn);
	if (rc == 0)
		rc = check_vantage_points(&cx, err);
	if (rc == 0)
		rc = check_ids(&cx, err);
	for (uint32_t i = 0; rc == 0 && i < db->nchosen; i++)
		rc = check_vp_index(&cx, i, err);
	for (uint32_t j = 0; rc == 0 && j < db->nmidx; j++)
		rc = check_midx(&cx, j, err);
	if (rc == 0)
		rep->series = cx.n;
	tsdb_kernel_free(&cx.k);
	free(cx.rows);
	free(cx.grid);
	free(cx.spec);
	return rc < 0 ? -1 : 0;
}
