/*
 * writer.c - every change to a database (see writer.h).
 *
 * Shape of every operation:
 *     prepare (no lock)  ->  lock  ->  re-read the newest commit  ->
 *     append records, change trees in memory  ->  flush + commit once  ->  unlock
 * Nothing reaches the file before the commit step except appended bytes
 * past the last commit, which no reader maps and the next writer cuts off;
 * so any failure, crash or kill leaves the last commit as the database.
 */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "dbformat.h"
#include "grow.h"
#include "le.h"
#include "path.h"
#include "pool.h"
#include "rng.h"

/* ---- the locked writer state ------------------------------------------- */

typedef struct wstate {
	char *path;
	int lock_fd;
	cow_writer w;
	tsdb_db db;                   /* view of w.snap */
	rbt_wtree ids;
	rbt_wtree vp[TSDB_VP_MAX];
	uint32_t nvp_trees;           /* vantage-point trees open */
	uint32_t nmidx;               /* metadata indexes of the next commit */
	tsdb_midx midx[TSDB_MIDX_MAX];  /* their fields (roots: set at commit) */
	rbt_wtree mtree[TSDB_MIDX_MAX];
	uint64_t params_off;          /* for the next commit */
	uint32_t nchosen;
	uint32_t next_row;
	uint64_t dead;                /* dead bytes of the next commit, trees' copies aside */
	uint8_t *buf;                 /* record scratch */
	size_t buf_cap;
} wstate;

/* Exclusive lock on DIR/LOCK; the descriptor is the lock (closing it or
 * dying releases it, so a killed writer never leaves a stale lock). */
static int lock_dir(const char *dir, int create, tsdb_err *err)
{
	char *path;
	if (tsdb_path_join(&path, dir, TSDB_LOCK_FILE, err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT)
			tsdb_errf(err, TSDB_E_UNAVAILABLE, "no database in %s (create one with: tsdb init --db %s)", dir, dir);
		else
			tsdb_errno(err, e, "%s: cannot open lock file", path);
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			tsdb_errno(err, errno, "%s: flock", path);
			close(fd);
			free(path);
			return -1;
		}
	}
	free(path);
	return fd;
}

static void ws_trees_free(wstate *ws)
{
	rbt_w_free(&ws->ids);
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		rbt_w_free(&ws->vp[i]);
	ws->nvp_trees = 0;
	for (uint32_t i = 0; i < ws->nmidx; i++)
		rbt_w_free(&ws->mtree[i]);
	ws->nmidx = 0;
}

static void ws_close(wstate *ws)
{
	ws_trees_free(ws);
	tsdb_db_detach(&ws->db);
	cow_writer_close(&ws->w);
	if (ws->lock_fd >= 0)
		close(ws->lock_fd);
	free(ws->path);
	free(ws->buf);
	memset(ws, 0, sizeof *ws);
	ws->lock_fd = -1;
}

/* Opens the trees of the newest commit for changing. */
static void ws_trees_open(wstate *ws)
{
	rbt_w_open(&ws->ids, &ws->w.snap, &rbt_key_bytes, ws->db.ids);
	ws->nvp_trees = ws->db.nchosen;
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		rbt_w_open(&ws->vp[i], &ws->w.snap, &rbt_key_distrow, ws->db.vpidx[i]);
	ws->nmidx = ws->db.nmidx;
	for (uint32_t i = 0; i < ws->nmidx; i++) {
		ws->midx[i] = ws->db.midx[i];
		rbt_w_open(&ws->mtree[i], &ws->w.snap, &rbt_key_metarow, ws->db.midx[i].root);
	}
	ws->params_off = ws->db.params_off;
	ws->dead = ws->db.dead_bytes;
	ws->nchosen = ws->db.nchosen;
	ws->next_row = ws->db.next_row;
}

static int ws_open(wstate *ws, const char *dir, tsdb_err *err)
{
	memset(ws, 0, sizeof *ws);
	ws->lock_fd = -1;
	if ((ws->lock_fd = lock_dir(dir, 0, err)) < 0)
		goto fail;
	if (tsdb_path_join(&ws->path, dir, TSDB_DATA_FILE, err) < 0)
		goto fail;
	if (cow_writer_open(&ws->w, ws->path, err) < 0)
		goto fail;
	if (tsdb_db_attach(&ws->db, &ws->w.snap, ws->path, err) < 0)
		goto fail;
	ws_trees_open(ws);
	return 0;
fail:
	ws_close(ws);
	return -1;
}

static uint8_t *ws_buf(wstate *ws, size_t size, tsdb_err *err)
{
	if (size > ws->buf_cap) {
		uint8_t *b = realloc(ws->buf, size);
		if (!b) {
			tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for a %zu-byte record", size);
			return NULL;
		}
		ws->buf = b;
		ws->buf_cap = size;
	}
	memset(ws->buf, 0, size);
	return ws->buf;
}

/* The commit words' format-3 tail (db.h) after the vantage points'
 * words: the metadata index catalog (appended here when there are
 * indexes, the roots in ix) and the dead bytes.  Sets the number of words. */
static int put_tail(cow_writer *w, uint64_t *words, uint32_t nchosen, const tsdb_midx *ix, uint32_t nmidx,
		    uint64_t dead, uint32_t *nwords, tsdb_err *err)
{
	uint32_t at = W_VP0 + 2 * nchosen;
	words[W_MAGIC] = TSDB_DB_MAGIC_V3;
	words[at] = 0;
	words[at + 1] = dead;
	*nwords = at + 2;
	return nmidx ? tsdb_midx_append(w, ix, nmidx, &words[at], err) : 0;
}

/* Bytes of the committed file that the next commit stops reaching. */
static void ws_bury(wstate *ws, uint64_t bytes)
{
	ws->dead += bytes;
}

/* A stored series' record and pivot row, which the next commit stops
 * reaching (removed, replaced or rewritten). */
static void ws_bury_series(wstate *ws, const tsdb_rec *rec)
{
	ws_bury(ws, rec->size + (ws->db.nchosen ? tsdb_pivot_size(ws->db.nchosen) : 0));
}

/* The committed params record, superseded by a new one. */
static void ws_bury_params(wstate *ws)
{
	ws_bury(ws, le32_get(cow_ptr(&ws->w.snap, ws->db.params_off, PARAMS_FIXED) + 8));
}

/* Flushes every tree and commits; on failure nothing is committed. */
static int ws_commit(wstate *ws, tsdb_err *err)
{
	uint64_t words[W_VP0 + 2 * TSDB_VP_MAX + 2];
	uint32_t nwords;
	/* The nodes the trees copied, and the catalog this commit replaces. */
	uint64_t dead = ws->dead + ws->ids.superseded + ws->db.midx_bytes;
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		dead += ws->vp[i].superseded;
	for (uint32_t i = 0; i < ws->nmidx; i++)
		dead += ws->mtree[i].superseded;
	rbt_root r;
	words[W_PARAMS] = ws->params_off;
	words[W_NEXT_ROW] = ws->next_row;
	if (rbt_w_flush(&ws->ids, &ws->w, &r, err) < 0)
		goto fail;
	words[W_ID_ROOT] = r.node;
	words[W_ID_COUNT] = r.count;
	words[W_CHOSEN] = ws->nchosen;
	for (uint32_t i = 0; i < ws->nchosen; i++) {
		if (rbt_w_flush(&ws->vp[i], &ws->w, &r, err) < 0)
			goto fail;
		words[W_VP0 + 2 * i] = r.node;
		words[W_VP0 + 2 * i + 1] = r.count;
	}
	for (uint32_t i = 0; i < ws->nmidx; i++)
		if (rbt_w_flush(&ws->mtree[i], &ws->w, &ws->midx[i].root, err) < 0)
			goto fail;
	if (put_tail(&ws->w, words, ws->nchosen, ws->midx, ws->nmidx, dead, &nwords, err) < 0)
		goto fail;
	if (cow_commit(&ws->w, words, nwords, err) < 0)
		return -1;
	ws->dead = dead;
	ws->ids.superseded = 0;
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		ws->vp[i].superseded = 0;
	for (uint32_t i = 0; i < ws->nmidx; i++)
		ws->mtree[i].superseded = 0;
	return tsdb_db_attach(&ws->db, &ws->w.snap, ws->path, err);
fail:
	cow_rollback(&ws->w);
	return -1;
}

/* Commits ws when ok (the new txn in *txn) and closes it; when not ok, or
 * when the commit fails, nothing is committed.  0, or -1 with err set. */
static int ws_finish(wstate *ws, int ok, uint64_t *txn, tsdb_err *err)
{
	int rc = ok && ws_commit(ws, err) == 0 ? 0 : -1;
	if (rc == 0 && txn)
		*txn = ws->w.snap.meta.txn;
	if (rc < 0)
		cow_rollback(&ws->w);
	ws_close(ws);
	return rc;
}

/* ---- records ------------------------------------------------------------ */

/* A series ready to be stored: original points plus derived data. */
typedef struct prepared {
	const tsdb_series *s;
	double *grid, *spectrum;      /* owned */
	double log_self;
	double vpdist[TSDB_VP_MAX];
	int vp_epoch;                 /* vpdist computed against the unlocked snapshot's vantage points */
	uint64_t old_off;             /* record it replaces, 0 if none */
	int skip;                     /* already stored unchanged */
	uint32_t row;
	uint64_t off;                 /* its new record */
} prepared;

static int append_record(wstate *ws, const tsdb_series *s, uint32_t row, double log_self, const double *vpdist,
			 uint32_t nvp, const double *spectrum, const double *grid, uint64_t *off, tsdb_err *err)
{
	uint32_t L = ws->db.params.L;
	size_t size = tsdb_rec_size(L, nvp, s->n, s->id_len, s->meta_len);
	if (size > UINT32_MAX)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "series '%s' is too large to store (%zu points)", s->id, s->n);
	uint8_t *b = ws_buf(ws, size, err);
	if (!b)
		return -1;
	le32_put(b, REC_MAGIC);
	le32_put(b + 8, (uint32_t)size);
	le32_put(b + 12, row);
	le32_put(b + 16, (uint32_t)s->n);
	le32_put(b + 20, (uint32_t)s->meta_len);
	b[24] = (uint8_t)s->id_len;
	b[25] = (uint8_t)(s->id_len >> 8);
	b[26] = (uint8_t)nvp;
	b[27] = 0;
	le32_put(b + 28, L);
	uint8_t *p = b + REC_FIXED;
	size_t nspec = tsdb_spectrum_doubles(L);
	memcpy(p, &log_self, 8);
	p += 8;
	memcpy(p, grid, 8 * (size_t)L);
	p += 8 * (size_t)L;
	memcpy(p, spectrum, 8 * nspec);
	p += 8 * nspec;
	memcpy(p, vpdist, 8 * (size_t)nvp);
	p += 8 * (size_t)nvp;
	memcpy(p, s->t, 8 * s->n);
	p += 8 * s->n;
	memcpy(p, s->v, 8 * s->n);
	p += 8 * s->n;
	memcpy(p, s->id, s->id_len);
	p += s->id_len;
	if (s->meta_len)
		memcpy(p, s->meta, s->meta_len);
	le32_put(b + 4, crc32c(0, b + 8, size - 8));
	return cow_append(&ws->w, b, size, 8, off, err);
}

/* A stored record again, with new vantage-point distances. */
static int rewrite_record(wstate *ws, const tsdb_rec *rec, const double *vpdist, uint32_t nvp, uint64_t *off,
			  tsdb_err *err)
{
	tsdb_series s;
	memset(&s, 0, sizeof s);
	memcpy(s.id, rec->id, rec->id_len);
	s.id_len = rec->id_len;
	s.n = rec->npoints;
	s.t = (double *)rec->t;
	s.v = (double *)rec->v;
	s.meta = (char *)rec->meta;
	s.meta_len = rec->meta_len;
	return append_record(ws, &s, rec->row, rec->log_self, vpdist, nvp, rec->spectrum, rec->grid, off, err);
}

static int append_params(wstate *ws, const tsdb_params *p, uint32_t nchosen, const char *const *vp_ids,
			 const size_t *vp_id_lens, const double *const *vp_grids, const double *const *vp_specs,
			 const double *vp_log_self, uint64_t *off, tsdb_err *err)
{
	size_t vpb = tsdb_params_vp_bytes(p->L), nspec = tsdb_spectrum_doubles(p->L);
	size_t size = PARAMS_FIXED + nchosen * vpb;
	uint8_t *b = ws_buf(ws, size, err);
	if (!b)
		return -1;
	le32_put(b, PARAMS_MAGIC);
	le32_put(b + 8, (uint32_t)size);
	le32_put(b + 12, p->L);
	lef64_put(b + 16, p->mult);
	le64_put(b + 24, p->seed);
	le32_put(b + 32, p->nvp);
	le32_put(b + 36, nchosen);
	for (uint32_t i = 0; i < nchosen; i++) {
		uint8_t *v = b + PARAMS_FIXED + i * vpb;
		v[0] = (uint8_t)vp_id_lens[i];
		memcpy(v + 1, vp_ids[i], vp_id_lens[i]);
		lef64_put(v + VP_ID_BYTES, vp_log_self[i]);
		memcpy(v + VP_ID_BYTES + 8, vp_specs[i], 8 * nspec);
		memcpy(v + VP_ID_BYTES + 8 + 8 * nspec, vp_grids[i], 8 * (size_t)p->L);
	}
	le32_put(b + 4, crc32c(0, b + 8, size - 8));
	return cow_append(&ws->w, b, size, 8, off, err);
}

/* ---- init --------------------------------------------------------------- */

/* The indexes fields[0..n) (distinct valid names, at most TSDB_MIDX_MAX),
 * empty, into ix. */
static int midx_fields(const char *const *fields, const size_t *lens, size_t n, tsdb_midx *ix, tsdb_err *err)
{
	if (n > TSDB_MIDX_MAX)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "%zu indexes asked for; a database has at most %u", n,
				 TSDB_MIDX_MAX);
	for (size_t i = 0; i < n; i++) {
		if (tsdb_midx_field_check(fields[i], lens[i], err) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (lens[j] == lens[i] && !memcmp(fields[j], fields[i], lens[i]))
				return tsdb_errf(err, TSDB_E_DUPLICATE, "field '%s' is named twice", fields[i]);
		memset(&ix[i], 0, sizeof ix[i]);
		memcpy(ix[i].field, fields[i], lens[i]);
		ix[i].field_len = lens[i];
	}
	return 0;
}

int tsdb_init(const char *dir, const tsdb_params *p, tsdb_err *err)
{
	return tsdb_init_indexed(dir, p, NULL, NULL, 0, err);
}

int tsdb_init_indexed(const char *dir, const tsdb_params *p, const char *const *fields, const size_t *lens,
		      size_t nfields, tsdb_err *err)
{
	tsdb_midx ix[TSDB_MIDX_MAX];
	if (tsdb_params_check(p, err) < 0 || midx_fields(fields, lens, nfields, ix, err) < 0)
		return -1;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return tsdb_errno(err, errno, "%s: cannot create directory", dir);
	int lock_fd = lock_dir(dir, 1, err);
	if (lock_fd < 0)
		return -1;
	char *path = NULL, *tmp = NULL;
	int rc = -1;
	wstate ws;
	memset(&ws, 0, sizeof ws);
	ws.lock_fd = -1;
	if (tsdb_path_join(&path, dir, TSDB_DATA_FILE, err) < 0 ||
	    tsdb_path_join(&tmp, dir, TSDB_DATA_FILE ".new", err) < 0)
		goto out;
	if (access(path, F_OK) == 0) {
		tsdb_errf(err, TSDB_E_DUPLICATE, "%s already holds a database", dir);
		goto out;
	}
	unlink(tmp); /* left by an init that died */
	if (cow_create(tmp, NULL, 0, err) < 0 || cow_writer_open(&ws.w, tmp, err) < 0)
		goto out;
	ws.db.params = *p;
	uint64_t words[W_VP0 + 2] = {0};
	uint32_t nwords;
	if (append_params(&ws, p, 0, NULL, NULL, NULL, NULL, NULL, &words[W_PARAMS], err) < 0 ||
	    put_tail(&ws.w, words, 0, ix, (uint32_t)nfields, 0, &nwords, err) < 0 ||
	    cow_commit(&ws.w, words, nwords, err) < 0)
		goto out;
	cow_writer_close(&ws.w);
	rc = cow_replace(tmp, path, err);
out:
	cow_writer_close(&ws.w);
	free(ws.buf);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	close(lock_fd);
	return rc;
}

/* ---- vantage points ----------------------------------------------------- */

/* A series that may become a vantage point. */
typedef struct candidate {
	const char *id;
	size_t id_len;
	const double *grid, *spectrum;
	double log_self;
} candidate;

static int cand_cmp(const void *a, const void *b)
{
	const candidate *x = a, *y = b;
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = memcmp(x->id, y->id, n);
	return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

/* The vantage points as the next commit will have them: those in the
 * params record at ws->params_off, readable only once committed, so they
 * are taken from the candidates when just chosen. */
typedef struct vpset {
	uint32_t n;
	const double *spectrum[TSDB_VP_MAX];
	double log_self[TSDB_VP_MAX];
} vpset;

static void vps_from_db(const tsdb_db *db, vpset *v)
{
	v->n = db->nchosen;
	for (uint32_t i = 0; i < v->n; i++) {
		v->spectrum[i] = db->vp[i].spectrum;
		v->log_self[i] = db->vp[i].log_self;
	}
}

#define TSDB_VP_CANDIDATES 200u /* series choose_spread weighs */
#define TSDB_VP_PAIRS 1000u      /* pairs it weighs them on */

/* Moves m seeded random picks of c[at..n) to c[at..at + m). */
static void shuffle_in(candidate *c, size_t at, size_t m, size_t n, tsdb_rng *rng)
{
	for (size_t i = at; i < at + m && i < n; i++) {
		size_t j = i + (size_t)tsdb_rng_below(rng, n - i);
		candidate t = c[i];
		c[i] = c[j];
		c[j] = t;
	}
}

/*
 * Incremental pivot selection (Bustos, Navarro and Chavez, "Pivot
 * selection techniques for proximity searching in metric spaces", 2003):
 * the search's lower bound for a pair (a, b) is max_i |d(a, v_i) - d(b,
 * v_i)|, and the larger it is on average, the fewer distances a search
 * computes and the narrower its bands.  So the vantage points are taken
 * one at a time, each the candidate that raises the mean bound over
 * sample pairs the most.  Candidates are c[0..nc), the pairs' series
 * c[nc..nc + 2 * npairs); the chosen ones end up in c[0..nvp).  Random
 * choice, the former rule, keeps the bound's mean about 15% lower at
 * 100,000 series of the course's data (bench_db).
 */
static int choose_spread(tsdb_kernel *k, candidate *c, size_t nc, size_t npairs, uint32_t nvp, tsdb_err *err)
{
	size_t ns = 2 * npairs;
	double *d = malloc(nc * ns * sizeof *d), *lb = calloc(npairs, sizeof *lb);
	if (!d || !lb) {
		free(d);
		free(lb);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	}
	for (size_t v = 0; v < nc; v++)
		for (size_t x = 0; x < ns; x++)
			d[v * ns + x] = tsdb_kernel_distance(k, c[nc + x].spectrum, c[nc + x].log_self, c[v].spectrum,
							     c[v].log_self);
	for (uint32_t i = 0; i < nvp; i++) {
		size_t best = i;
		double best_mean = -1;
		for (size_t v = i; v < nc; v++) {
			double sum = 0;
			for (size_t a = 0; a < npairs; a++) {
				double g = fabs(d[v * ns + 2 * a] - d[v * ns + 2 * a + 1]);
				sum += g > lb[a] ? g : lb[a];
			}
			if (sum > best_mean) {
				best_mean = sum;
				best = v;
			}
		}
		for (size_t a = 0; a < npairs; a++) {
			double g = fabs(d[best * ns + 2 * a] - d[best * ns + 2 * a + 1]);
			lb[a] = g > lb[a] ? g : lb[a];
		}
		/* swap candidate best into place i, rows of d with it */
		candidate t = c[i];
		c[i] = c[best];
		c[best] = t;
		for (size_t x = 0; x < ns; x++) {
			double u = d[i * ns + x];
			d[i * ns + x] = d[best * ns + x];
			d[best * ns + x] = u;
		}
	}
	free(d);
	free(lb);
	return 0;
}

/* Chooses p->nvp of the candidates (sorted by id, then seeded random
 * picks: the same database contents and seed give the same choice) --
 * by choose_spread among TSDB_VP_CANDIDATES picks when there are enough
 * series for its sample, else the first picks -- writes a params record
 * naming them and makes them *vs. */
static int choose_vps(wstate *ws, tsdb_kernel *k, const tsdb_params *p, candidate *c, size_t n, vpset *vs,
		      tsdb_err *err)
{
	qsort(c, n, sizeof *c, cand_cmp);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, p->seed);
	size_t nc = TSDB_VP_CANDIDATES, npairs = TSDB_VP_PAIRS;
	if (n >= nc + 2 * npairs) {
		shuffle_in(c, 0, nc + 2 * npairs, n, &rng);
		if (choose_spread(k, c, nc, npairs, p->nvp, err) < 0)
			return -1;
	} else {
		shuffle_in(c, 0, p->nvp, n, &rng);
	}
	const char *ids[TSDB_VP_MAX];
	size_t lens[TSDB_VP_MAX];
	const double *grids[TSDB_VP_MAX], *specs[TSDB_VP_MAX];
	double ls[TSDB_VP_MAX];
	for (uint32_t i = 0; i < p->nvp; i++) {
		ids[i] = c[i].id;
		lens[i] = c[i].id_len;
		grids[i] = c[i].grid;
		specs[i] = c[i].spectrum;
		ls[i] = c[i].log_self;
	}
	ws_bury_params(ws);
	if (append_params(ws, p, p->nvp, ids, lens, grids, specs, ls, &ws->params_off, err) < 0)
		return -1;
	ws->nchosen = p->nvp;
	vs->n = p->nvp;
	for (uint32_t i = 0; i < p->nvp; i++) {
		vs->spectrum[i] = specs[i];
		vs->log_self[i] = ls[i];
	}
	return 0;
}

static void vpdist_compute(tsdb_kernel *k, const vpset *v, const double *spectrum, double log_self,
			   double *out)
{
	for (uint32_t i = 0; i < v->n; i++)
		out[i] = tsdb_kernel_distance(k, spectrum, log_self, v->spectrum[i], v->log_self[i]);
}

/* Pending vantage-point index insertions, sorted per tree before they go
 * in: neighbouring keys share their paths, so a sorted batch copies far
 * fewer nodes and stays in cache. */
typedef struct vpkey {
	double d;
	uint32_t row;
	uint64_t off;
} vpkey;

static inline int vpkey_less(const vpkey *x, const vpkey *y)
{
	return x->d < y->d || (x->d == y->d && x->row < y->row);
}

/* Sorts keys in place: quicksort with median-of-three pivots, recursing
 * into the smaller side (depth <= log2 n), insertion sort for short runs.
 * Specialized because a batch sorts V * n keys and qsort's indirect
 * comparisons were a tenth of the insert time. */
static void vpkeys_sort(vpkey *a, size_t n)
{
	while (n > 16) {
		size_t m = n / 2;
		if (vpkey_less(&a[m], &a[0])) { vpkey t = a[m]; a[m] = a[0]; a[0] = t; }
		if (vpkey_less(&a[n - 1], &a[0])) { vpkey t = a[n - 1]; a[n - 1] = a[0]; a[0] = t; }
		if (vpkey_less(&a[n - 1], &a[m])) { vpkey t = a[n - 1]; a[n - 1] = a[m]; a[m] = t; }
		vpkey pivot = a[m];
		size_t i = 0, j = n - 1;
		for (;;) {
			while (vpkey_less(&a[i], &pivot))
				i++;
			while (vpkey_less(&pivot, &a[j]))
				j--;
			if (i >= j)
				break;
			vpkey t = a[i];
			a[i++] = a[j];
			a[j--] = t;
		}
		/* [0, j] <= pivot <= [j + 1, n) */
		size_t left = j + 1;
		if (left < n - left) {
			vpkeys_sort(a, left);
			a += left;
			n -= left;
		} else {
			vpkeys_sort(a + left, n - left);
			n = left;
		}
	}
	for (size_t i = 1; i < n; i++) {
		vpkey x = a[i];
		size_t j = i;
		for (; j > 0 && vpkey_less(&x, &a[j - 1]); j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

typedef struct vpkeys {
	vpkey *k;
	size_t n, cap;
} vpkeys;

static int vpkeys_add(vpkeys *ks, double d, uint32_t row, uint64_t off, tsdb_err *err)
{
	vpkey *k = tsdb_grow(ks->k, &ks->cap, ks->n + 1, sizeof *k, err);
	if (!k)
		return -1;
	ks->k = k;
	ks->k[ks->n++] = (vpkey){d, row, off};
	return 0;
}

typedef struct vpkeys_job {
	wstate *ws;
	vpkeys *ks;
} vpkeys_job;

/* Vantage-point trees [begin, end): each tree is its own rbt_wtree over
 * the shared read-only snapshot, so trees go in on different workers. */
static int vpkeys_insert_trees(void *arg, unsigned worker, size_t begin, size_t end, tsdb_err *err)
{
	(void)worker;
	vpkeys_job *job = arg;
	for (size_t i = begin; i < end; i++) {
		vpkeys *ks = &job->ks[i];
		vpkeys_sort(ks->k, ks->n);
		for (size_t j = 0; j < ks->n; j++) {
			uint8_t key[12];
			rbt_distrow_put(key, ks->k[j].d, ks->k[j].row);
			int r = rbt_w_insert(&job->ws->vp[i], key, ks->k[j].off, 0, err);
			if (r < 0)
				return -1;
			if (r == 0)
				return tsdb_errf(err, TSDB_E_CORRUPT, "%s: row %u is already in vantage point index %zu",
						 job->ws->path, ks->k[j].row, i);
		}
	}
	return 0;
}

static int vpkeys_insert(wstate *ws, vpkeys *ks, unsigned workers, tsdb_err *err)
{
	vpkeys_job job = {ws, ks};
	return tsdb_pool_run(workers, ws->nchosen, 1, vpkeys_insert_trees, &job, err);
}

/* Pivot rows of a batch, encoded as they come and appended as one block
 * after the batch's records (see db.h).  The rows hold the distances as
 * floats; the index keys take the exact doubles, kept beside them. */
typedef struct pivots {
	uint32_t nvp;
	uint8_t *buf;
	double *dist;       /* nvp per row */
	size_t n, cap;      /* rows */
} pivots;

static void pivots_free(pivots *pv)
{
	free(pv->buf);
	free(pv->dist);
}

static int pivots_add(pivots *pv, uint32_t row, uint64_t rec_off, const double *vpdist, tsdb_err *err)
{
	size_t size = tsdb_pivot_size(pv->nvp);
	if (pv->n == pv->cap) {
		/* buf and dist grow together, so they always share cap */
		size_t cap = pv->cap, cap2 = pv->cap;
		uint8_t *b = tsdb_grow(pv->buf, &cap, pv->n + 1, size, err);
		if (b)
			pv->buf = b;
		double *d = b ? tsdb_grow(pv->dist, &cap2, cap, pv->nvp * sizeof *d, err) : NULL;
		if (!d)
			return -1;
		pv->dist = d;
		pv->cap = cap;
	}
	uint8_t *p = pv->buf + pv->n * size;
	memset(p, 0, size);
	le32_put(p, PIVOT_MAGIC);
	le32_put(p + 4, row);
	le64_put(p + 8, rec_off);
	for (uint32_t i = 0; i < pv->nvp; i++)
		lef32_put(p + PIVOT_FIXED + 4 * i, (float)vpdist[i]);
	memcpy(pv->dist + pv->n * pv->nvp, vpdist, pv->nvp * sizeof *vpdist);
	pv->n++;
	return 0;
}

/* Appends the block and queues every row's index keys. */
static int pivots_flush(wstate *ws, pivots *pv, vpkeys *ks, tsdb_err *err)
{
	if (!pv->n || !pv->nvp)
		return 0;
	size_t size = tsdb_pivot_size(pv->nvp);
	uint64_t base;
	if (cow_append(&ws->w, pv->buf, pv->n * size, 8, &base, err) < 0)
		return -1;
	for (size_t r = 0; r < pv->n; r++) {
		const uint8_t *p = pv->buf + r * size;
		for (uint32_t i = 0; i < pv->nvp; i++)
			if (vpkeys_add(&ks[i], pv->dist[r * pv->nvp + i], le32_get(p + 4), base + r * size, err) < 0)
				return -1;
	}
	pv->n = 0;
	return 0;
}

static void vpkeys_free(vpkeys *ks)
{
	for (uint32_t i = 0; i < TSDB_VP_MAX; i++)
		free(ks[i].k);
}

static int vp_delete(wstate *ws, const tsdb_rec *rec, tsdb_err *err)
{
	for (uint32_t i = 0; i < ws->nvp_trees; i++) {
		uint8_t key[12];
		rbt_distrow_put(key, rec->vpdist[i], rec->row);
		int r = rbt_w_delete(&ws->vp[i], key, NULL, err);
		if (r < 0)
			return -1;
		if (r == 0)
			return tsdb_errf(err, TSDB_E_CORRUPT, "%s: series '%.*s' is missing from vantage point index %u",
					 ws->path, (int)rec->id_len, rec->id, i);
	}
	return 0;
}

/* The entries of the series at row (record at off, metadata meta) in
 * metadata indexes [from, nmidx): added, or pointed at off if present. */
static int midx_put(wstate *ws, uint32_t from, const char *meta, size_t meta_len, uint32_t row, uint64_t off,
		    tsdb_err *err)
{
	if (from >= ws->nmidx)
		return 0;
	json_t *m = tsdb_midx_parse(meta, meta_len);
	int rc = 0;
	for (uint32_t i = from; i < ws->nmidx && rc == 0; i++) {
		uint8_t key[RBT_KEY_MAX];
		if (tsdb_midx_key(m, ws->midx[i].field, row, key) &&
		    rbt_w_insert(&ws->mtree[i], key, off, 1, err) < 0)
			rc = -1;
	}
	json_decref(m);
	return rc;
}

/* The stored series rec leaves every metadata index. */
static int midx_delete(wstate *ws, const tsdb_rec *rec, tsdb_err *err)
{
	if (!ws->nmidx)
		return 0;
	json_t *m = tsdb_midx_parse(rec->meta, rec->meta_len);
	int rc = 0;
	for (uint32_t i = 0; i < ws->nmidx && rc == 0; i++) {
		uint8_t key[RBT_KEY_MAX];
		if (!tsdb_midx_key(m, ws->midx[i].field, rec->row, key))
			continue;
		int r = rbt_w_delete(&ws->mtree[i], key, NULL, err);
		if (r == 0)
			tsdb_errf(err, TSDB_E_CORRUPT, "%s: series '%.*s' is missing from metadata index '%s'",
				  ws->path, (int)rec->id_len, rec->id, ws->midx[i].field);
		rc = r == 1 ? 0 : -1;
	}
	json_decref(m);
	return rc;
}

/* Whether the committed id entry n is still in the batch's id tree with
 * the same record (not removed or replaced by this batch). */
static int still_stored(wstate *ws, const rbt_node *n, tsdb_err *err)
{
	uint64_t cur;
	int found = rbt_w_lookup(&ws->ids, n->key, &cur, err);
	if (found < 0)
		return -1;
	return found && cur == n->value;
}

/* Calls fn with every stored series (except those being replaced) and
 * its id-tree node, in id order, until fn fails. */
typedef int (*stored_fn)(void *ctx, wstate *ws, const rbt_node *node, const tsdb_rec *rec,
			 tsdb_err *err);

static int each_stored(wstate *ws, stored_fn fn, void *ctx, tsdb_err *err)
{
	rbt_cursor c;
	rbt_cursor_init(&c, &ws->w.snap, &rbt_key_bytes, ws->db.ids);
	int r;
	for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err)) {
		int keep = still_stored(ws, &c.node, err);
		if (keep < 0)
			return -1;
		if (!keep)
			continue;
		tsdb_rec rec;
		if (tsdb_rec_read(&ws->db, c.node.value, 1, &rec, err) < 0 ||
		    fn(ctx, ws, &c.node, &rec, err) < 0)
			return -1;
	}
	return r < 0 ? -1 : 0;
}

typedef struct cand_list {
	candidate *c;
	size_t n, cap;
} cand_list;

static int add_candidate(void *ctx, wstate *ws, const rbt_node *node, const tsdb_rec *rec,
			 tsdb_err *err)
{
	(void)node;
	cand_list *l = ctx;
	if (l->n == l->cap)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: more series than the id index counts",
				 ws->path);
	l->c[l->n++] = (candidate){rec->id, rec->id_len, rec->grid, rec->spectrum, rec->log_self};
	return 0;
}

/* The stored series (except those being replaced) as vantage-point
 * candidates, at most cap of them. */
static int collect_stored(wstate *ws, candidate *cands, size_t cap, size_t *nc, tsdb_err *err)
{
	cand_list l = {cands, 0, cap};
	int rc = each_stored(ws, add_candidate, &l, err);
	*nc = l.n;
	return rc;
}

typedef struct restamp_ctx {
	tsdb_kernel *k;
	const vpset *vs;
	pivots *pv;
} restamp_ctx;

static int restamp_one(void *ctx, wstate *ws, const rbt_node *node, const tsdb_rec *rec,
		       tsdb_err *err)
{
	restamp_ctx *cx = ctx;
	double vpd[TSDB_VP_MAX];
	vpdist_compute(cx->k, cx->vs, rec->spectrum, rec->log_self, vpd);
	uint64_t off;
	ws_bury_series(ws, rec);
	if (rewrite_record(ws, rec, vpd, cx->vs->n, &off, err) < 0 ||
	    rbt_w_insert(&ws->ids, node->key, off, 1, err) < 0 ||
	    midx_put(ws, 0, rec->meta, rec->meta_len, rec->row, off, err) < 0)
		return -1;
	return cx->vs->n ? pivots_add(cx->pv, rec->row, off, vpd, err) : 0;
}

/* Rewrites every stored series (except those being replaced) with
 * distances to the vantage points vs, queueing their index keys. */
static int restamp_stored(wstate *ws, tsdb_kernel *k, const vpset *vs, pivots *pv, tsdb_err *err)
{
	restamp_ctx cx = {k, vs, pv};
	return each_stored(ws, restamp_one, &cx, err);
}

/* Replaces the vantage-point trees by empty ones for nchosen points. */
static void vp_trees_reset(wstate *ws)
{
	for (uint32_t i = 0; i < ws->db.nchosen; i++)
		ws_bury(ws, ws->db.vpidx[i].count * rbt_node_file_bytes(rbt_key_distrow.max_size));
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		rbt_w_free(&ws->vp[i]);
	ws->nvp_trees = ws->nchosen;
	for (uint32_t i = 0; i < ws->nvp_trees; i++)
		rbt_w_open(&ws->vp[i], &ws->w.snap, &rbt_key_distrow, (rbt_root){0, 0});
}

/* ---- insert ------------------------------------------------------------- */

static void prepared_free(prepared *pr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pr[i].grid);
		free(pr[i].spectrum);
	}
	free(pr);
}

static int same_params_record(const tsdb_db *a, const tsdb_db *b)
{
	const uint8_t *pa = cow_ptr(&a->snap, a->params_off, PARAMS_FIXED);
	const uint8_t *pb = cow_ptr(&b->snap, b->params_off, PARAMS_FIXED);
	uint32_t size = le32_get(pa + 8);
	return size == le32_get(pb + 8) && !memcmp(pa, pb, size);
}

static int same_series(const tsdb_rec *rec, const tsdb_series *s)
{
	return rec->npoints == s->n && rec->meta_len == s->meta_len &&
	       !memcmp(rec->t, s->t, 8 * s->n) && !memcmp(rec->v, s->v, 8 * s->n) &&
	       (!s->meta_len || !memcmp(rec->meta, s->meta, s->meta_len));
}

static void progress(const tsdb_insert_opts *o, const char *stage, size_t done, size_t total)
{
	if (o && o->progress && (done % 1024 == 0 || done == total))
		o->progress(o->progress_ctx, stage, done, total);
}

static int id_cmp_series(const void *a, const void *b)
{
	const tsdb_series *x = *(const tsdb_series *const *)a, *y = *(const tsdb_series *const *)b;
	size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
	int c = memcmp(x->id, y->id, n);
	return c ? c : (x->id_len > y->id_len) - (x->id_len < y->id_len);
}

static int batch_ids_unique(const tsdb_series *series, size_t n, tsdb_err *err)
{
	const tsdb_series **v = malloc((n ? n : 1) * sizeof *v);
	if (!v)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	for (size_t i = 0; i < n; i++)
		v[i] = &series[i];
	qsort(v, n, sizeof *v, id_cmp_series);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (tsdb_id_validate(v[i]->id, v[i]->id_len, err) < 0)
			rc = -1;
		else if (i && id_cmp_series(&v[i - 1], &v[i]) == 0)
			rc = tsdb_errf(err, TSDB_E_DUPLICATE, "id '%s' appears twice in the batch", v[i]->id);
		if (rc)
			tsdb_err_item(err, (size_t)(v[i] - series), v[i]->id, v[i]->id_len);
	}
	free(v);
	return rc;
}

/* One insert in progress: what each phase reads and fills.  The phases
 * run in order; each returns -1 with err set, and tsdb_insert frees
 * everything whatever phase failed. */
typedef struct insert_txn {
	const char *dir;
	const tsdb_series *series;
	size_t n;
	const tsdb_insert_opts *o;
	tsdb_insert_result *res;
	tsdb_db db0;                  /* the unlocked snapshot the series were prepared against */
	int db0_open;
	tsdb_params params;
	tsdb_kernel k;
	int kernel_ready;
	wstate ws;
	int ws_ready;                 /* ws is open: the lock is held */
	prepared *pr;                 /* n entries */
	size_t nnew;                  /* series that get a new record */
	vpset vs;                     /* the vantage points of the commit */
	int same_vps;                 /* vs are the ones pr[].vpdist were computed against */
	pivots pv;
	vpkeys ks[TSDB_VP_MAX];
} insert_txn;

/* Every id valid and unique, every series valid: checked before anything
 * is computed, so a bad batch costs nothing. */
static int insert_validate(const tsdb_series *series, size_t n, tsdb_err *err)
{
	if (batch_ids_unique(series, n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (tsdb_series_validate(&series[i], SIZE_MAX, err) < 0) {
			tsdb_errctx(err, "series '%s'", series[i].id);
			tsdb_err_item(err, i, series[i].id, series[i].id_len);
			return -1;
		}
	return 0;
}

static unsigned insert_workers(const tsdb_insert_opts *o)
{
	return o && o->workers ? o->workers : tsdb_pool_default_workers();
}

/* What the workers of insert_prepare share: a kernel each (FFTW plans
 * are made one at a time, before the workers start: making them is not
 * thread-safe, running them is). */
typedef struct prepare_ctx {
	insert_txn *tx;
	vpset vs0;                    /* the unlocked snapshot's vantage points */
	tsdb_kernel k[TSDB_POOL_MAX]; /* k[0] is tx->k */
	_Atomic size_t done;
} prepare_ctx;

static int prepare_chunk(void *arg, unsigned worker, size_t begin, size_t end, tsdb_err *err)
{
	prepare_ctx *cx = arg;
	insert_txn *tx = cx->tx;
	tsdb_kernel *k = &cx->k[worker];
	size_t nspec = tsdb_spectrum_doubles(tx->params.L);
	for (size_t i = begin; i < end; i++) {
		const tsdb_series *s = &tx->series[i];
		prepared *p = &tx->pr[i];
		p->s = s;
		p->grid = malloc(tx->params.L * sizeof(double));
		p->spectrum = malloc(nspec * sizeof(double));
		if (!p->grid || !p->spectrum)
			return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		if (tsdb_kernel_grid(k, s->t, s->v, s->n, p->grid, err) < 0) {
			tsdb_errctx(err, "series '%s'", s->id);
			tsdb_err_item(err, i, s->id, s->id_len);
			return -1;
		}
		tsdb_prepare_stored(k, p->grid, p->spectrum, &p->log_self);
		if (cx->vs0.n) {
			vpdist_compute(k, &cx->vs0, p->spectrum, p->log_self, p->vpdist);
			p->vp_epoch = 1;
		}
	}
	size_t done = atomic_fetch_add(&cx->done, end - begin) + (end - begin);
	if (worker == 0 && tx->o && tx->o->progress) /* the caller's thread only */
		tx->o->progress(tx->o->progress_ctx, "preparing", done, tx->n);
	return 0;
}

/* Unlocked, so that readers and other writers are not held up by the
 * FFTs: each series' grid, spectrum and (when the database has vantage
 * points) its distances to them, on a pool of workers (pool.h).  Every
 * series is computed alone by the same code whatever worker runs it, so
 * the results are those of one worker, bit for bit. */
static int insert_prepare(insert_txn *tx, tsdb_err *err)
{
	if (tsdb_db_open(&tx->db0, tx->dir, err) < 0)
		return -1;
	tx->db0_open = 1;
	tx->params = tx->db0.params;
	if (tsdb_kernel_init(&tx->k, tx->params.L, tx->params.mult, err) < 0)
		return -1;
	tx->kernel_ready = 1;
	if (!(tx->pr = calloc(tx->n ? tx->n : 1, sizeof *tx->pr)))
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	prepare_ctx *cx = calloc(1, sizeof *cx);
	if (!cx)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	cx->tx = tx;
	vps_from_db(&tx->db0, &cx->vs0);
	unsigned workers = insert_workers(tx->o);
	size_t chunks = (tx->n + TSDB_PREPARE_CHUNK - 1) / TSDB_PREPARE_CHUNK;
	if (workers > chunks)
		workers = chunks ? (unsigned)chunks : 1;
	if (workers > TSDB_POOL_MAX)
		workers = TSDB_POOL_MAX;
	cx->k[0] = tx->k;
	unsigned made = 1;
	int rc = 0;
	for (; made < workers && rc == 0; made++)
		rc = tsdb_kernel_init(&cx->k[made], tx->params.L, tx->params.mult, err);
	if (rc < 0)
		made--;
	else
		rc = tsdb_pool_run(workers, tx->n, TSDB_PREPARE_CHUNK, prepare_chunk, cx, err);
	for (unsigned w = 1; w < made; w++)
		tsdb_kernel_free(&cx->k[w]);
	free(cx);
	return rc;
}

/* Takes the lock.  The distances computed unlocked stay good if the
 * vantage points are still the same ones (a reindex may have run in
 * between). */
static int insert_lock(insert_txn *tx, tsdb_err *err)
{
	if (ws_open(&tx->ws, tx->dir, err) < 0)
		return -1;
	tx->ws_ready = 1;
	const tsdb_params *now = &tx->ws.db.params;
	if (now->L != tx->params.L || now->mult != tx->params.mult)
		return tsdb_errf(err, TSDB_E_UNKNOWN,
				 "%s was re-created while this insert was prepared; run it again", tx->dir);
	tx->params = *now;
	tx->same_vps = tx->db0.nchosen && same_params_record(&tx->db0, &tx->ws.db);
	return 0;
}

/* Each id against what is stored: new (a row), replaced (a row, and the
 * old record to unindex), unchanged (skipped) or refused. */
static int insert_resolve_ids(insert_txn *tx, tsdb_err *err)
{
	wstate *ws = &tx->ws;
	const tsdb_insert_opts *o = tx->o;
	for (size_t i = 0; i < tx->n; i++) {
		const tsdb_series *s = &tx->series[i];
		tsdb_rec old;
		tsdb_err why;
		int r = tsdb_db_find(&ws->db, s->id, s->id_len, &old, &why);
		if (r < 0 && why.code != TSDB_E_INVALID_KEY) {
			if (err)
				*err = why;
			return -1;
		}
		if (r == 0) {
			if (o && o->unchanged_ok && same_series(&old, s)) {
				tx->pr[i].skip = 1;
				tx->res->unchanged++;
				continue;
			}
			if (!o || !o->replace) {
				tsdb_errf(err, TSDB_E_DUPLICATE,
					  "id '%s' is already stored in %s (use --replace to overwrite it)",
					  s->id, tx->dir);
				tsdb_err_item(err, i, s->id, s->id_len);
				return -1;
			}
			tx->pr[i].old_off = old.off;
			tx->res->replaced++;
		}
		if (ws->next_row == UINT32_MAX)
			return tsdb_errf(err, TSDB_E_TOO_LARGE, "%s: row numbers exhausted", tx->dir);
		tx->pr[i].row = ws->next_row++;
		tx->nnew++;
	}
	return 0;
}

/* Replaced series leave every index first. */
static int insert_unindex_replaced(insert_txn *tx, tsdb_err *err)
{
	for (size_t i = 0; i < tx->n; i++) {
		if (!tx->pr[i].old_off)
			continue;
		tsdb_rec old;
		uint8_t key[RBT_KEY_MAX];
		rbt_bytes_put(key, tx->series[i].id, tx->series[i].id_len);
		if (tsdb_rec_read(&tx->ws.db, tx->pr[i].old_off, 1, &old, err) < 0 ||
		    vp_delete(&tx->ws, &old, err) < 0 || midx_delete(&tx->ws, &old, err) < 0 ||
		    rbt_w_delete(&tx->ws.ids, key, NULL, err) < 0)
			return -1;
		ws_bury_series(&tx->ws, &old);
	}
	return 0;
}

/* When this batch brings the database to nvp series: choose the vantage
 * points among everything present (stored and new), then give every
 * stored series its distances to them. */
static int insert_choose_vps(insert_txn *tx, tsdb_err *err)
{
	wstate *ws = &tx->ws;
	uint64_t after = ws->db.nseries - tx->res->replaced + tx->nnew;
	if (ws->nchosen || after < tx->params.nvp)
		return 0;
	candidate *cands = malloc(after * sizeof *cands);
	if (!cands)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	size_t nc = 0;
	int rc = collect_stored(ws, cands, after, &nc, err);
	for (size_t i = 0; rc == 0 && i < tx->n; i++)
		if (!tx->pr[i].skip && nc < after)
			cands[nc++] = (candidate){tx->series[i].id, tx->series[i].id_len, tx->pr[i].grid,
						  tx->pr[i].spectrum, tx->pr[i].log_self};
	if (rc == 0)
		rc = choose_vps(ws, &tx->k, &tx->params, cands, nc, &tx->vs, err);
	if (rc == 0) {
		vp_trees_reset(ws);
		tx->pv.nvp = tx->vs.n;
		rc = restamp_stored(ws, &tx->k, &tx->vs, &tx->pv, err);
	}
	if (rc == 0) {
		tx->res->chose_vantage_points = 1;
		for (size_t i = 0; i < tx->n; i++)
			tx->pr[i].vp_epoch = 0;
	}
	free(cands);
	return rc;
}

/* The new records, their ids and their vantage-point keys. */
static int insert_append(insert_txn *tx, tsdb_err *err)
{
	const vpset *vs = &tx->vs;
	for (size_t i = 0; i < tx->n; i++) {
		prepared *p = &tx->pr[i];
		if (p->skip)
			continue;
		if (vs->n && !(tx->same_vps && p->vp_epoch))
			vpdist_compute(&tx->k, vs, p->spectrum, p->log_self, p->vpdist);
		if (append_record(&tx->ws, &tx->series[i], p->row, p->log_self, p->vpdist, vs->n,
				  p->spectrum, p->grid, &p->off, err) < 0) {
			tsdb_err_item(err, i, tx->series[i].id, tx->series[i].id_len);
			return -1;
		}
		uint8_t key[RBT_KEY_MAX];
		rbt_bytes_put(key, tx->series[i].id, tx->series[i].id_len);
		const tsdb_series *s = &tx->series[i];
		if (rbt_w_insert(&tx->ws.ids, key, p->off, 1, err) < 0 ||
		    midx_put(&tx->ws, 0, s->meta, s->meta_len, p->row, p->off, err) < 0)
			return -1;
		if (vs->n && pivots_add(&tx->pv, p->row, p->off, p->vpdist, err) < 0)
			return -1;
		progress(tx->o, "writing", i + 1, tx->n);
	}
	tx->pv.nvp = vs->n;
	return 0;
}

static int insert_commit(insert_txn *tx, tsdb_err *err)
{
	if (pivots_flush(&tx->ws, &tx->pv, tx->ks, err) < 0 ||
	    vpkeys_insert(&tx->ws, tx->ks, insert_workers(tx->o), err) < 0 ||
	    ws_commit(&tx->ws, err) < 0)
		return -1;
	tx->res->inserted = tx->nnew;
	return 0;
}

static int compact(const char *dir, int only_if_due, int *done, uint64_t *bytes_before, uint64_t *bytes_after,
		   tsdb_err *err);

int tsdb_insert(const char *dir, const tsdb_series *series, size_t n, const tsdb_insert_opts *o,
		tsdb_insert_result *res, tsdb_err *err)
{
	tsdb_insert_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof *res);
	if (insert_validate(series, n, err) < 0)
		return -1;
	insert_txn tx;
	memset(&tx, 0, sizeof tx);
	tx.dir = dir;
	tx.series = series;
	tx.n = n;
	tx.o = o;
	tx.res = res;
	int rc = -1;
	if (insert_prepare(&tx, err) == 0 && insert_lock(&tx, err) == 0 &&
	    insert_resolve_ids(&tx, err) == 0 && insert_unindex_replaced(&tx, err) == 0) {
		if (tx.nnew == 0) /* nothing new: no commit */
			rc = 0;
		else {
			vps_from_db(&tx.ws.db, &tx.vs);
			tx.pv.nvp = tx.vs.n;
			if (insert_choose_vps(&tx, err) == 0 && insert_append(&tx, err) == 0 &&
			    insert_commit(&tx, err) == 0)
				rc = 0;
		}
	}
	int committed = 0;
	if (tx.ws_ready) {
		if (rc == 0)
			res->txn = tx.ws.w.snap.meta.txn;
		else
			cow_rollback(&tx.ws.w);
		committed = rc == 0 && tx.nnew > 0;
		ws_close(&tx.ws);
	}
	pivots_free(&tx.pv);
	vpkeys_free(tx.ks);
	if (tx.pr)
		prepared_free(tx.pr, n);
	if (tx.kernel_ready)
		tsdb_kernel_free(&tx.k);
	if (tx.db0_open)
		tsdb_db_close(&tx.db0);
	/* The batch is committed whatever happens now: a compaction that
	 * fails leaves the database as the commit left it, and says why. */
	if (committed && !(o && o->no_compact) &&
	    compact(dir, 1, &res->compacted, &res->bytes_before, &res->bytes_after, &res->compact_err) < 0)
		res->compact_failed = 1;
	return rc;
}

/* ---- remove ------------------------------------------------------------- */

int tsdb_remove(const char *dir, const char *const *ids, const size_t *lens, size_t n, uint64_t *txn,
		tsdb_err *err)
{
	wstate ws;
	if (ws_open(&ws, dir, err) < 0)
		return -1;
	int ok = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t key[RBT_KEY_MAX];
		if (!rbt_bytes_put(key, ids[i], lens[i])) {
			tsdb_errf(err, TSDB_E_INVALID_KEY, "id is %zu bytes (must be 1 to 255)", lens[i]);
			goto out;
		}
		uint64_t off;
		int r = rbt_w_delete(&ws.ids, key, &off, err);
		if (r < 0)
			goto out;
		if (r == 0) {
			/* Gone already: named twice in this call, or never stored. */
			int twice = 0;
			for (size_t j = 0; j < i && !twice; j++)
				twice = lens[j] == lens[i] && !memcmp(ids[j], ids[i], lens[i]);
			if (twice)
				continue;
			tsdb_errf(err, TSDB_E_INVALID_KEY, "no series with id '%.*s' in %s", (int)lens[i], ids[i], dir);
			goto out;
		}
		tsdb_rec rec;
		if (tsdb_rec_read(&ws.db, off, 0, &rec, err) < 0 || vp_delete(&ws, &rec, err) < 0 ||
		    midx_delete(&ws, &rec, err) < 0)
			goto out;
		ws_bury_series(&ws, &rec);
	}
	ok = 1;
out:
	return ws_finish(&ws, ok, txn, err);
}

/* ---- reindex ------------------------------------------------------------ */

int tsdb_reindex(const char *dir, uint32_t nvp, uint64_t seed, int seed_given, tsdb_err *err)
{
	wstate ws;
	if (ws_open(&ws, dir, err) < 0)
		return -1;
	int rc = -1;
	tsdb_params p = ws.db.params;
	if (nvp)
		p.nvp = nvp;
	if (seed_given)
		p.seed = seed;
	tsdb_kernel k;
	int kernel_ready = 0;
	candidate *cands = NULL;
	vpkeys ks[TSDB_VP_MAX];
	memset(ks, 0, sizeof ks);
	pivots pv = {0};
	if (tsdb_params_check(&p, err) < 0 || tsdb_kernel_init(&k, p.L, p.mult, err) < 0)
		goto out;
	kernel_ready = 1;
	vpset vs = {0};
	if (ws.db.nseries >= p.nvp) {
		if (!(cands = malloc(ws.db.nseries * sizeof *cands))) {
			tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
			goto out;
		}
		size_t nc;
		if (collect_stored(&ws, cands, ws.db.nseries, &nc, err) < 0 ||
		    choose_vps(&ws, &k, &p, cands, nc, &vs, err) < 0)
			goto out;
	} else {
		/* Too few series to choose from: wait for inserts, as init does. */
		ws_bury_params(&ws);
		if (append_params(&ws, &p, 0, NULL, NULL, NULL, NULL, NULL, &ws.params_off, err) < 0)
			goto out;
		ws.nchosen = 0;
	}
	vp_trees_reset(&ws);
	pv.nvp = vs.n;
	if (restamp_stored(&ws, &k, &vs, &pv, err) < 0 || pivots_flush(&ws, &pv, ks, err) < 0 ||
	    vpkeys_insert(&ws, ks, tsdb_pool_default_workers(), err) < 0 || ws_commit(&ws, err) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		cow_rollback(&ws.w);
	pivots_free(&pv);
	free(cands);
	vpkeys_free(ks);
	if (kernel_ready)
		tsdb_kernel_free(&k);
	ws_close(&ws);
	return rc;
}

/* ---- metadata indexes --------------------------------------------------- */

typedef struct index_add_ctx {
	uint32_t from;
} index_add_ctx;

static int index_one(void *ctx, wstate *ws, const rbt_node *node, const tsdb_rec *rec, tsdb_err *err)
{
	(void)node;
	const index_add_ctx *cx = ctx;
	return midx_put(ws, cx->from, rec->meta, rec->meta_len, rec->row, rec->off, err);
}

int tsdb_index_add(const char *dir, const char *const *fields, const size_t *lens, size_t n, uint64_t *txn,
		   tsdb_err *err)
{
	wstate ws;
	if (ws_open(&ws, dir, err) < 0)
		return -1;
	tsdb_midx ix[TSDB_MIDX_MAX];
	index_add_ctx cx = {ws.nmidx};
	if (n > TSDB_MIDX_MAX - ws.nmidx) {
		tsdb_errf(err, TSDB_E_TOO_LARGE, "%s has %u indexes; a database has at most %u", dir, ws.nmidx,
			  TSDB_MIDX_MAX);
		return ws_finish(&ws, 0, txn, err);
	}
	if (midx_fields(fields, lens, n, ix, err) < 0)
		return ws_finish(&ws, 0, txn, err);
	for (size_t i = 0; i < n; i++) {
		if (tsdb_db_midx(&ws.db, ix[i].field, ix[i].field_len)) {
			tsdb_errf(err, TSDB_E_DUPLICATE, "field '%s' is already indexed in %s", ix[i].field, dir);
			return ws_finish(&ws, 0, txn, err);
		}
		ws.midx[ws.nmidx] = ix[i];
		rbt_w_open(&ws.mtree[ws.nmidx++], &ws.w.snap, &rbt_key_metarow, (rbt_root){0, 0});
	}
	return ws_finish(&ws, each_stored(&ws, index_one, &cx, err) == 0, txn, err);
}

int tsdb_index_drop(const char *dir, const char *field, size_t len, uint64_t *txn, tsdb_err *err)
{
	wstate ws;
	if (ws_open(&ws, dir, err) < 0)
		return -1;
	uint32_t at = 0;
	while (at < ws.nmidx && !(ws.midx[at].field_len == len && !memcmp(ws.midx[at].field, field, len)))
		at++;
	if (at == ws.nmidx) {
		tsdb_errf(err, TSDB_E_INVALID_KEY, "field '%.*s' is not indexed in %s", (int)len, field, dir);
		return ws_finish(&ws, 0, txn, err);
	}
	/* The dropped tree's nodes stay in the file until compaction, like
	 * every superseded node: no reader can see them after this commit. */
	rbt_cursor *c = malloc(sizeof *c);
	if (!c) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		return ws_finish(&ws, 0, txn, err);
	}
	rbt_cursor_init(c, &ws.w.snap, &rbt_key_metarow, ws.db.midx[at].root);
	int r;
	for (r = rbt_first(c, err); r == 1; r = rbt_next(c, err))
		ws_bury(&ws, rbt_node_file_bytes(c->node.keysize));
	free(c);
	if (r < 0)
		return ws_finish(&ws, 0, txn, err);
	rbt_w_free(&ws.mtree[at]);
	for (uint32_t i = at; i + 1 < ws.nmidx; i++) {
		ws.midx[i] = ws.midx[i + 1];
		ws.mtree[i] = ws.mtree[i + 1];
	}
	ws.nmidx--;
	return ws_finish(&ws, 1, txn, err);
}

/* ---- compact ------------------------------------------------------------ */

typedef struct offmap {
	uint64_t old, new_;
} offmap;

static int offmap_cmp(const void *a, const void *b)
{
	const offmap *x = a, *y = b;
	return (x->old > y->old) - (x->old < y->old);
}

typedef struct remap_ctx {
	offmap *m;
	size_t n;
} remap_ctx;

static int remap_off(void *p, uint64_t v, uint64_t *out, tsdb_err *err)
{
	remap_ctx *cx = p;
	offmap key = {v, 0};
	offmap *hit = bsearch(&key, cx->m, cx->n, sizeof *cx->m, offmap_cmp);
	if (!hit)
		return tsdb_errf(err, TSDB_E_CORRUPT, "index entry points at %llu, which nothing live starts at",
				 (unsigned long long)v);
	*out = hit->new_;
	return 0;
}

/* One compaction in progress: the new file being written and the maps
 * from old to new offsets that the copied trees are rewritten through. */
typedef struct compact_txn {
	wstate ws;                    /* the locked database (the old file) */
	cow_writer nw;                /* the new file */
	uint64_t words[W_VP0 + 2 * TSDB_VP_MAX + 2];
	tsdb_midx midx[TSDB_MIDX_MAX];  /* the copied metadata indexes */
	remap_ctx rm, pm;             /* records, pivot rows: old -> new offsets */
} compact_txn;

/* The params record and the counters. */
static int compact_header(compact_txn *cx, tsdb_err *err)
{
	const tsdb_db *db = &cx->ws.db;
	const uint8_t *params = cow_ptr(&db->snap, db->params_off, PARAMS_FIXED);
	if (cow_append(&cx->nw, params, le32_get(params + 8), 8, &cx->words[W_PARAMS], err) < 0)
		return -1;
	cx->words[W_NEXT_ROW] = db->next_row;
	cx->words[W_CHOSEN] = db->nchosen;
	return 0;
}

/* Every live record in id order, then the id tree pointing at them. */
static int compact_records(compact_txn *cx, tsdb_err *err)
{
	const tsdb_db *db = &cx->ws.db;
	remap_ctx *rm = &cx->rm;
	if (!(rm->m = malloc((db->nseries ? db->nseries : 1) * sizeof *rm->m)))
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_bytes, db->ids);
	int r;
	for (r = rbt_first(&c, err); r == 1 && rm->n < db->nseries; r = rbt_next(&c, err)) {
		tsdb_rec rec;
		if (tsdb_rec_read(db, c.node.value, 1, &rec, err) < 0)
			return -1;
		rm->m[rm->n].old = rec.off;
		if (cow_append(&cx->nw, db->snap.base + rec.off, rec.size, 8, &rm->m[rm->n].new_, err) < 0)
			return -1;
		rm->n++;
	}
	if (r < 0)
		return -1;
	qsort(rm->m, rm->n, sizeof *rm->m, offmap_cmp);
	rbt_root root;
	if (rbt_copy(&db->snap, &rbt_key_bytes, db->ids, &cx->nw, remap_off, rm, &root, err) < 0)
		return -1;
	cx->words[W_ID_ROOT] = root.node;
	cx->words[W_ID_COUNT] = root.count;
	return 0;
}

/* One pivot row per series, in the order of index 0, pointing at the new
 * records. */
static int compact_pivots(compact_txn *cx, tsdb_err *err)
{
	const tsdb_db *db = &cx->ws.db;
	remap_ctx *pm = &cx->pm;
	if (!db->nchosen)
		return 0;
	if (!(pm->m = malloc((db->nseries ? db->nseries : 1) * sizeof *pm->m)))
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	size_t size = tsdb_pivot_size(db->nchosen);
	uint8_t *row = ws_buf(&cx->ws, size, err);
	if (!row)
		return -1;
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_distrow, db->vpidx[0]);
	int r;
	for (r = rbt_first(&c, err); r == 1 && pm->n < db->nseries; r = rbt_next(&c, err)) {
		tsdb_pivot pv;
		uint64_t rec_off;
		if (tsdb_pivot_read(db, c.node.value, &pv, err) < 0 ||
		    remap_off(&cx->rm, pv.rec_off, &rec_off, err) < 0)
			return -1;
		memcpy(row, db->snap.base + pv.off, size);
		le64_put(row + 8, rec_off);
		pm->m[pm->n].old = pv.off;
		if (cow_append(&cx->nw, row, size, 8, &pm->m[pm->n].new_, err) < 0)
			return -1;
		pm->n++;
	}
	if (r < 0)
		return -1;
	qsort(pm->m, pm->n, sizeof *pm->m, offmap_cmp);
	return 0;
}

/* Every vantage-point index, pointing at the new pivot rows. */
static int compact_vp_trees(compact_txn *cx, tsdb_err *err)
{
	const tsdb_db *db = &cx->ws.db;
	for (uint32_t i = 0; i < db->nchosen; i++) {
		rbt_root root;
		if (rbt_copy(&db->snap, &rbt_key_distrow, db->vpidx[i], &cx->nw, remap_off, &cx->pm,
			     &root, err) < 0)
			return -1;
		cx->words[W_VP0 + 2 * i] = root.node;
		cx->words[W_VP0 + 2 * i + 1] = root.count;
	}
	return 0;
}

/* Every metadata index, pointing at the new records. */
static int compact_midx_trees(compact_txn *cx, tsdb_err *err)
{
	const tsdb_db *db = &cx->ws.db;
	for (uint32_t i = 0; i < db->nmidx; i++) {
		cx->midx[i] = db->midx[i];
		if (rbt_copy(&db->snap, &rbt_key_metarow, db->midx[i].root, &cx->nw, remap_off, &cx->rm,
			     &cx->midx[i].root, err) < 0)
			return -1;
	}
	return 0;
}

int tsdb_compact_due(const tsdb_db *db)
{
	return db->snap.size >= TSDB_COMPACT_MIN_BYTES &&
	       (double)db->dead_bytes > TSDB_COMPACT_DEAD_SHARE * (double)db->snap.size;
}

/* Compacts dir (only when tsdb_compact_due says so, with only_if_due),
 * setting *done. */
static int compact(const char *dir, int only_if_due, int *done, uint64_t *bytes_before, uint64_t *bytes_after,
		   tsdb_err *err)
{
	compact_txn cx;
	memset(&cx, 0, sizeof cx);
	cx.nw.wfd = -1;
	*done = 0;
	if (ws_open(&cx.ws, dir, err) < 0)
		return -1;
	if (only_if_due && !tsdb_compact_due(&cx.ws.db)) {
		ws_close(&cx.ws);
		return 0;
	}
	int rc = -1;
	char *tmp = NULL;
	if (tsdb_path_join(&tmp, dir, TSDB_DATA_FILE ".compact", err) < 0)
		goto out;
	unlink(tmp);
	uint32_t nwords;
	if (cow_create_at(tmp, cx.ws.w.snap.meta.txn, NULL, 0, err) < 0 || cow_writer_open(&cx.nw, tmp, err) < 0 ||
	    compact_header(&cx, err) < 0 || compact_records(&cx, err) < 0 ||
	    compact_pivots(&cx, err) < 0 || compact_vp_trees(&cx, err) < 0 ||
	    compact_midx_trees(&cx, err) < 0 ||
	    put_tail(&cx.nw, cx.words, cx.ws.db.nchosen, cx.midx, cx.ws.db.nmidx, 0, &nwords, err) < 0 ||
	    cow_commit(&cx.nw, cx.words, nwords, err) < 0)
		goto out;
	if (bytes_before)
		*bytes_before = cx.ws.w.snap.size;
	if (bytes_after)
		*bytes_after = cx.nw.snap.size;
	cow_writer_close(&cx.nw);
	/* the new file is complete and synced: one rename makes it the database */
	if (cow_replace(tmp, cx.ws.path, err) < 0)
		goto out;
	rc = 0;
	*done = 1;
out:
	if (cx.nw.wfd >= 0)
		cow_writer_close(&cx.nw);
	if (rc < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(cx.rm.m);
	free(cx.pm.m);
	ws_close(&cx.ws);
	return rc;
}

int tsdb_compact(const char *dir, uint64_t *bytes_before, uint64_t *bytes_after, tsdb_err *err)
{
	int done;
	return compact(dir, 0, &done, bytes_before, bytes_after, err);
}
