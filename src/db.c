/*
 * db.c - opening a database snapshot and reading from it (see db.h).
 *
 * Everything read from the file is checked before use: commit words,
 * params record, series records (bounds against the mapping, sizes against
 * the database parameters).  A damaged file gives TSDB_E_CORRUPT with the
 * offset, never a read outside the mapping.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "dbformat.h"
#include "le.h"
#include "path.h"

const char *tsdb_db_dir(const char *dir)
{
	if (dir && *dir)
		return dir;
	const char *env = getenv("TSDB_DB");
	return env && *env ? env : TSDB_DEFAULT_DB;
}

void tsdb_params_default(tsdb_params *p)
{
	p->L = 1024;
	p->mult = 1.0;
	p->nvp = 20;
	p->seed = 1;
}

size_t tsdb_params_vp_bytes(uint32_t L)
{
	return VP_ID_BYTES + 8 + 8 * (tsdb_spectrum_doubles(L) + L);
}

int tsdb_params_check(const tsdb_params *p, tsdb_err *err)
{
	if (p->L < TSDB_L_MIN || p->L > TSDB_L_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "grid length %u is outside [%u, %u]", p->L, TSDB_L_MIN,
				 TSDB_L_MAX);
	if (!(p->mult > 0 && p->mult <= TSDB_MULT_MAX))
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "kernel multiplier %g is outside (0, %g]", p->mult,
				 TSDB_MULT_MAX);
	if (p->nvp < 1 || p->nvp > TSDB_VP_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%u vantage points is outside [1, %u]", p->nvp, TSDB_VP_MAX);
	return 0;
}

static int bad(tsdb_err *err, const tsdb_db *db, const char *fmt, unsigned long long off)
{
	char what[200];
	snprintf(what, sizeof what, fmt, off);
	return tsdb_errf(err, TSDB_E_CORRUPT, "%s: %s", db->path, what);
}

static int read_params(tsdb_db *db, tsdb_err *err)
{
	const cow_snap *s = &db->snap;
	uint64_t off = db->params_off;
	const uint8_t *p = cow_ptr(s, off, PARAMS_FIXED);
	if (!p || off % 8)
		return bad(err, db, "params record offset %llu is outside the file", off);
	uint32_t size = le32_get(p + 8);
	if (le32_get(p) != PARAMS_MAGIC || size < PARAMS_FIXED || !cow_ptr(s, off, size))
		return bad(err, db, "params record at %llu is damaged", off);
	if (le32_get(p + 4) != crc32c(0, p + 8, size - 8))
		return bad(err, db, "params record at %llu fails its checksum", off);
	tsdb_params *pa = &db->params;
	pa->L = le32_get(p + 12);
	pa->mult = lef64_get(p + 16);
	pa->seed = le64_get(p + 24);
	pa->nvp = le32_get(p + 32);
	db->nchosen = le32_get(p + 36);
	if (tsdb_params_check(pa, err) < 0)
		return tsdb_errctx(err, "%s: params record", db->path);
	if (db->nchosen != 0 && db->nchosen != pa->nvp)
		return bad(err, db, "params record at %llu has a partial vantage point set", off);
	size_t vpb = tsdb_params_vp_bytes(pa->L);
	if ((uint64_t)size != PARAMS_FIXED + (uint64_t)db->nchosen * vpb)
		return bad(err, db, "params record at %llu has the wrong size", off);
	for (uint32_t i = 0; i < db->nchosen; i++) {
		const uint8_t *v = p + PARAMS_FIXED + i * vpb;
		tsdb_vp *vp = &db->vp[i];
		vp->id_len = v[0];
		vp->id = (const char *)v + 1;
		vp->log_self = lef64_get(v + VP_ID_BYTES);
		vp->spectrum = (const double *)(const void *)(v + VP_ID_BYTES + 8);
		vp->grid = vp->spectrum + tsdb_spectrum_doubles(pa->L);
		if (!isfinite(vp->log_self))
			return bad(err, db, "params record at %llu: vantage point self-kernel is not finite", off);
	}
	return 0;
}

static int open_common(tsdb_db *db, tsdb_err *err)
{
	const cow_meta *m = &db->snap.meta;
	if (m->nwords >= W_VP0 && m->words[W_MAGIC] == TSDB_DB_MAGIC_V1)
		return tsdb_errf(err, TSDB_E_VERSION,
				 "%s: written by an older tsdb in a layout this build does not read; "
				 "export its series with that version and insert them anew",
				 db->path);
	int v3 = m->nwords >= W_VP0 && m->words[W_MAGIC] == TSDB_DB_MAGIC_V3;
	if (m->nwords < W_VP0 || (m->words[W_MAGIC] != TSDB_DB_MAGIC_V2 && !v3))
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: not a tsdb database (its commit record has no database words)",
				 db->path);
	db->params_off = m->words[W_PARAMS];
	if (m->words[W_NEXT_ROW] > UINT32_MAX)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: row counter out of range", db->path);
	db->next_row = (uint32_t)m->words[W_NEXT_ROW];
	db->ids = (rbt_root){m->words[W_ID_ROOT], m->words[W_ID_COUNT]};
	db->nseries = db->ids.count;
	/* Each series has an id node of at least RBT_NODE_HEADER + 2 bytes in
	 * the file.  Bounding the count by that keeps the buffers sized by it
	 * (check, compact, reindex) small and their sizes from overflowing. */
	if (db->nseries > db->snap.size / (RBT_NODE_HEADER + 2))
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: %llu series cannot fit in %llu bytes", db->path,
				 (unsigned long long)db->nseries, (unsigned long long)db->snap.size);
	if (read_params(db, err) < 0)
		return -1;
	if (m->words[W_CHOSEN] != db->nchosen)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: commit and params record disagree on the vantage points",
				 db->path);
	uint32_t nwords = W_VP0 + 2 * db->nchosen + (v3 ? 2 : 0);
	if (m->nwords != nwords)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: commit record has %u words for %u vantage points", db->path,
				 m->nwords, db->nchosen);
	db->format = v3 ? 3 : 2;
	if (v3) {
		db->midx_off = m->words[nwords - 2];
		db->dead_bytes = m->words[nwords - 1];
		if (db->dead_bytes > db->snap.size)
			return tsdb_errf(err, TSDB_E_CORRUPT, "%s: %llu dead bytes in a file of %llu", db->path,
					 (unsigned long long)db->dead_bytes, (unsigned long long)db->snap.size);
	}
	if (db->midx_off) {
		if (tsdb_midx_read(&db->snap, db->midx_off, db->midx, &db->nmidx, &db->midx_bytes, err) < 0)
			return tsdb_errctx(err, "%s", db->path);
		for (uint32_t i = 0; i < db->nmidx; i++)
			if (db->midx[i].root.count > db->nseries)
				return tsdb_errf(err, TSDB_E_CORRUPT,
						 "%s: metadata index '%s' holds %llu entries for %llu series", db->path,
						 db->midx[i].field, (unsigned long long)db->midx[i].root.count,
						 (unsigned long long)db->nseries);
	}
	for (uint32_t i = 0; i < db->nchosen; i++) {
		db->vpidx[i] = (rbt_root){m->words[W_VP0 + 2 * i], m->words[W_VP0 + 2 * i + 1]};
		if (db->vpidx[i].count != db->nseries)
			return tsdb_errf(err, TSDB_E_CORRUPT,
					 "%s: vantage point index %u holds %llu series but the id index %llu", db->path, i,
					 (unsigned long long)db->vpidx[i].count, (unsigned long long)db->nseries);
	}
	return 0;
}

int tsdb_db_open(tsdb_db *db, const char *dir, tsdb_err *err)
{
	memset(db, 0, sizeof *db);
	db->snap.fd = -1;
	if (!(db->dir = strdup(dir)) || tsdb_path_join(&db->path, dir, TSDB_DATA_FILE, err) < 0) {
		tsdb_db_close(db);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	}
	if (cow_snap_open(&db->snap, db->path, err) < 0) {
		if (err && err->code == TSDB_E_UNAVAILABLE)
			tsdb_errf(err, TSDB_E_UNAVAILABLE, "no database in %s (create one with: tsdb init --db %s)", dir,
				  dir);
		tsdb_db_close(db);
		return -1;
	}
	if (open_common(db, err) < 0) {
		tsdb_db_close(db);
		return -1;
	}
	return 0;
}

int tsdb_db_open_fd(tsdb_db *db, int fd, const char *name, tsdb_err *err)
{
	memset(db, 0, sizeof *db);
	db->snap.fd = -1;
	if (!(db->dir = strdup(".")) || !(db->path = strdup(name))) {
		tsdb_db_close(db);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	}
	if (cow_snap_open_fd(&db->snap, fd, name, err) < 0 || open_common(db, err) < 0) {
		tsdb_db_close(db);
		return -1;
	}
	return 0;
}

int tsdb_db_attach(tsdb_db *db, const cow_snap *snap, const char *path, tsdb_err *err)
{
	int kernel_ready = db->kernel_ready;
	tsdb_kernel kernel = db->kernel;
	char *p = db->path;
	memset(db, 0, sizeof *db);
	db->snap = *snap;
	db->borrowed = 1;
	db->path = p ? p : strdup(path);
	db->kernel = kernel;
	db->kernel_ready = kernel_ready;
	if (!db->path)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	return open_common(db, err);
}

void tsdb_db_detach(tsdb_db *db)
{
	if (db->kernel_ready)
		tsdb_kernel_free(&db->kernel);
	free(db->path);
	memset(db, 0, sizeof *db);
	db->snap.fd = -1;
}

void tsdb_db_close(tsdb_db *db)
{
	if (db->borrowed) {
		tsdb_db_detach(db);
		return;
	}
	if (db->kernel_ready)
		tsdb_kernel_free(&db->kernel);
	if (db->snap.base || db->snap.fd >= 0)
		cow_snap_close(&db->snap);
	free(db->dir);
	free(db->path);
	memset(db, 0, sizeof *db);
	db->snap.fd = -1;
}

int tsdb_db_kernel_mode(tsdb_db *db, enum tsdb_kernel_mode mode, tsdb_err *err)
{
	if (db->kernel_ready)
		return (db->kernel.direct == (mode == TSDB_KERNEL_DIRECT)) ? 0
			: tsdb_errf(err, TSDB_E_UNKNOWN, "%s: the kernel's mode is already set", db->path);
	if (tsdb_kernel_init_mode(&db->kernel, db->params.L, db->params.mult, mode, err) < 0)
		return -1;
	db->kernel_ready = 1;
	return 0;
}

int tsdb_db_kernel(tsdb_db *db, tsdb_err *err)
{
	if (db->kernel_ready)
		return 0;
	/* A reader computes few distances: at small L, evaluating them directly
	 * is cheaper than making FFT plans (see kernel.h). */
	return tsdb_db_kernel_mode(db, db->params.L <= TSDB_DIRECT_MAX_L ? TSDB_KERNEL_DIRECT : TSDB_KERNEL_SPECTRAL,
				   err);
}

void tsdb_prepare_stored(tsdb_kernel *k, const double *grid, double *spectrum, double *log_self)
{
	tsdb_kernel_prepare(k, grid, spectrum, log_self);
	if (k->L <= TSDB_DIRECT_MAX_L)
		*log_self = tsdb_kernel_log_self_direct(k, grid);
}

size_t tsdb_rec_size(uint32_t L, uint32_t nvp, size_t npoints, size_t id_len, size_t meta_len)
{
	size_t doubles = 1 + nvp + tsdb_spectrum_doubles(L) + L + 2 * npoints;
	return (REC_FIXED + 8 * doubles + id_len + meta_len + 7) & ~(size_t)7;
}

/* Checks the fixed part of the series record at off (p: its first
 * REC_FIXED bytes, wherever they were read) against the database and the
 * mapping, and fills rec's scalars. */
static int rec_header(const tsdb_db *db, uint64_t off, const uint8_t *p, tsdb_rec *rec, tsdb_err *err)
{
	if (le32_get(p) != REC_MAGIC)
		return bad(err, db, "no series record at offset %llu", off);
	rec->off = off;
	rec->size = le32_get(p + 8);
	rec->row = le32_get(p + 12);
	rec->npoints = le32_get(p + 16);
	rec->meta_len = le32_get(p + 20);
	rec->id_len = le16_get(p + 24);
	rec->nvp = le16_get(p + 26);
	uint32_t L = le32_get(p + 28);
	if (L != db->params.L || rec->nvp != db->nchosen || rec->id_len < 1 || rec->id_len > TSDB_ID_MAX ||
	    rec->npoints < TSDB_SERIES_MIN_POINTS)
		return bad(err, db, "series record at %llu does not fit the database parameters", off);
	uint64_t want = tsdb_rec_size(L, rec->nvp, rec->npoints, rec->id_len, rec->meta_len);
	if (rec->size != want || !cow_ptr(&db->snap, off, rec->size))
		return bad(err, db, "series record at %llu has a bad size", off);
	return 0;
}

/* Points rec's arrays at the doubles that follow the fixed part (d) and
 * its id and metadata into the mapping. */
static void rec_arrays(const tsdb_db *db, const double *d, tsdb_rec *rec)
{
	const uint8_t *p = db->snap.base + rec->off;
	size_t L = db->params.L, nspec = tsdb_spectrum_doubles(db->params.L);
	rec->log_self = d[0];
	rec->grid = d + 1;
	rec->spectrum = rec->grid + L;
	rec->vpdist = (const double *)(const void *)(p + REC_FIXED + 8 * (1 + L + nspec));
	rec->t = rec->vpdist + rec->nvp;
	rec->v = rec->t + rec->npoints;
	rec->id = (const char *)(rec->v + rec->npoints);
	rec->meta = rec->meta_len ? rec->id + rec->id_len : NULL;
}

int tsdb_rec_read(const tsdb_db *db, uint64_t off, int verify, tsdb_rec *rec, tsdb_err *err)
{
	const uint8_t *p = cow_ptr(&db->snap, off, REC_FIXED + 8);
	if (!p || off % 8)
		return bad(err, db, "series record offset %llu is outside the file", off);
	if (rec_header(db, off, p, rec, err) < 0)
		return -1;
	if (verify && le32_get(p + 4) != crc32c(0, p + 8, rec->size - 8))
		return bad(err, db, "series record at %llu fails its checksum", off);
	rec_arrays(db, (const double *)(const void *)(p + REC_FIXED), rec);
	return 0;
}

size_t tsdb_rec_hot_bytes(const tsdb_db *db, int with_spectrum)
{
	return REC_FIXED + 8 * (1 + (size_t)db->params.L + (with_spectrum ? tsdb_spectrum_doubles(db->params.L) : 0));
}

int tsdb_rec_read_hot(const tsdb_db *db, uint64_t off, int with_spectrum, double *buf, tsdb_rec *rec,
		      tsdb_err *err)
{
	size_t n = tsdb_rec_hot_bytes(db, with_spectrum);
	if (off % 8 || !cow_ptr(&db->snap, off, n))
		return bad(err, db, "series record offset %llu is outside the file", off);
	/* The bytes are those of the mapping: committed data is never
	 * rewritten (cowfile.h). */
	ssize_t got = pread(db->snap.fd, buf, n, (off_t)off);
	if (got < 0)
		return tsdb_errno(err, errno, "%s: reading the series record at %llu", db->path,
				  (unsigned long long)off);
	if ((size_t)got != n)
		return bad(err, db, "series record at %llu is cut short", off);
	const uint8_t *p = (const uint8_t *)buf;
	if (rec_header(db, off, p, rec, err) < 0)
		return -1;
	rec_arrays(db, (const double *)(const void *)(p + REC_FIXED), rec);
	if (!with_spectrum)
		rec->spectrum = NULL;
	return 0;
}

int tsdb_pivot_read(const tsdb_db *db, uint64_t off, tsdb_pivot *pv, tsdb_err *err)
{
	const uint8_t *p = cow_ptr(&db->snap, off, tsdb_pivot_size(db->nchosen));
	if (!p || off % 8 || le32_get(p) != PIVOT_MAGIC)
		return bad(err, db, "no pivot row at offset %llu", off);
	pv->off = off;
	pv->row = le32_get(p + 4);
	pv->rec_off = le64_get(p + 8);
	pv->vpdist = (const float *)(const void *)(p + PIVOT_FIXED);
	return 0;
}

int tsdb_db_find(const tsdb_db *db, const char *id, size_t id_len, tsdb_rec *rec, tsdb_err *err)
{
	uint8_t key[RBT_KEY_MAX];
	if (!rbt_bytes_put(key, id, id_len))
		return tsdb_errf(err, TSDB_E_INVALID_KEY, "id is %zu bytes (must be 1 to 255)", id_len);
	uint64_t off;
	int r = rbt_lookup(&db->snap, &rbt_key_bytes, db->ids, key, &off, err);
	if (r < 0)
		return tsdb_errctx(err, "%s", db->path);
	if (r == 0)
		return tsdb_errf(err, TSDB_E_INVALID_KEY, "no series with id '%.*s'", (int)id_len, id);
	if (tsdb_rec_read(db, off, 1, rec, err) < 0)
		return -1;
	if (rec->id_len != id_len || memcmp(rec->id, id, id_len) != 0)
		return bad(err, db, "id index entry points at another series (record %llu)", off);
	return 0;
}

int tsdb_rec_series(const tsdb_rec *rec, tsdb_series *out, tsdb_err *err)
{
	memset(out, 0, sizeof *out);
	out->t = malloc(rec->npoints * sizeof(double));
	out->v = malloc(rec->npoints * sizeof(double));
	if (rec->meta_len)
		out->meta = malloc(rec->meta_len + 1);
	if (!out->t || !out->v || (rec->meta_len && !out->meta)) {
		tsdb_series_free(out);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	}
	memcpy(out->t, rec->t, rec->npoints * sizeof(double));
	memcpy(out->v, rec->v, rec->npoints * sizeof(double));
	out->n = rec->npoints;
	memcpy(out->id, rec->id, rec->id_len);
	out->id[rec->id_len] = '\0';
	out->id_len = rec->id_len;
	if (rec->meta_len) {
		memcpy(out->meta, rec->meta, rec->meta_len);
		out->meta[rec->meta_len] = '\0';
		out->meta_len = rec->meta_len;
	}
	return 0;
}

int tsdb_db_list(const tsdb_db *db, const char *after, size_t after_len, const char *prefix,
		 size_t prefix_len, uint64_t limit, tsdb_id_fn fn, void *ctx, int *more, tsdb_err *err)
{
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_bytes, db->ids);
	uint8_t key[RBT_KEY_MAX];
	int r;
	*more = 0;
	/* Start at the first id past `after` and not below `prefix`. */
	int use_after = after && after_len > 0 && (!prefix || prefix_len == 0 ||
						   memcmp(after, prefix, after_len < prefix_len ? after_len : prefix_len) >= 0);
	if (use_after && rbt_bytes_put(key, after, after_len)) {
		r = rbt_seek_ge(&c, key, err);
		if (r == 1 && c.node.key[0] == after_len && !memcmp(c.node.key + 1, after, after_len))
			r = rbt_next(&c, err);
	} else if (prefix && prefix_len > 0 && rbt_bytes_put(key, prefix, prefix_len)) {
		r = rbt_seek_ge(&c, key, err);
	} else {
		r = rbt_first(&c, err);
	}
	uint64_t n = 0;
	for (; r == 1; r = rbt_next(&c, err)) {
		size_t len = c.node.key[0];
		const char *id = (const char *)c.node.key + 1;
		if (prefix && prefix_len && (len < prefix_len || memcmp(id, prefix, prefix_len) != 0)) {
			/* Ids with the prefix are contiguous: once past them, stop. */
			if (memcmp(id, prefix, len < prefix_len ? len : prefix_len) > 0)
				break;
			continue;
		}
		if (n == limit) {
			*more = 1;
			break;
		}
		if (fn(ctx, id, len, err) < 0)
			return -1;
		n++;
	}
	if (r < 0)
		return tsdb_errctx(err, "%s", db->path);
	return 0;
}

void tsdb_shape(const double *grid, uint32_t L, double *out, uint32_t m)
{
	/* Mean of each of m equal slices of the grid (the nearest point when
	 * a slice is narrower than a grid step). */
	for (uint32_t j = 0; j < m; j++) {
		size_t a = (size_t)j * L / m, b = (size_t)(j + 1) * L / m;
		if (b <= a)
			b = a + 1;
		double s = 0;
		for (size_t i = a; i < b; i++)
			s += grid[i];
		out[j] = s / (double)(b - a);
	}
}

const tsdb_midx *tsdb_db_midx(const tsdb_db *db, const char *field, size_t len)
{
	for (uint32_t i = 0; i < db->nmidx; i++)
		if (db->midx[i].field_len == len && !memcmp(db->midx[i].field, field, len))
			return &db->midx[i];
	return NULL;
}
