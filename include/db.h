/*
 * db.h - a tsdb database: one directory holding
 *     tsdb.db   the cowfile: params record, series records, id index and
 *               vantage-point indexes, all flipped by one commit record
 *     LOCK      the writers' flock (readers never touch it)
 *
 * This module is the read side: open the newest commit of a database
 * read-only and answer get / list / info from it.  A tsdb_db is one
 * snapshot: whatever writers commit later, it keeps seeing the state it
 * opened (decision 1 of docs/DESIGN.md).  Writing is writer.h; search is search.h.
 *
 * Commit words (cow_meta.words):
 *     [0] TSDB_DB_MAGIC   [1] params record offset   [2] next row number
 *     [3] id index root   [4] id index count          [5] vantage points chosen
 *     [6 + 2i], [7 + 2i]  root and count of vantage-point index i
 *   format 3 only (n vantage points chosen):
 *     [6 + 2n]            the metadata index catalog record (metaindex.h),
 *                         0 when there are no metadata indexes
 *     [7 + 2n]            dead bytes: how much of the file this commit no
 *                         longer reaches (superseded nodes and records),
 *                         counted by the writers since the file was made;
 *                         the writer compacts when they pass a share of it
 *
 * Series record (8-aligned; doubles little-endian, read in place):
 *     u32 magic "TSER", u32 crc32c of bytes [8, size), u32 size, u32 row,
 *     u32 npoints, u32 meta_len, u16 id_len, u16 nvp, u32 L,
 *     f64 log K(x,x), f64 grid[L], f64 spectrum[2*(L/2+1)], f64 vpdist[nvp],
 *     f64 t[npoints], f64 v[npoints], id bytes, meta bytes, zero padding.
 *     What a distance needs comes first, so a search reads one short
 *     prefix: log K(x,x) and the grid (direct kernel), or up to the
 *     spectrum (spectral kernel).
 * Params record (8-aligned):
 *     u32 magic "TPRM", u32 crc32c of bytes [8, size), u32 size, u32 L,
 *     f64 mult, u64 seed, u32 nvp (configured), u32 nchosen,
 *     then nchosen times: u8 id_len, u8 id[255], f64 log K(v,v),
 *     f64 spectrum[2*(L/2+1)], f64 grid[L].
 * Pivot row (8-aligned): u32 magic "TPIV", u32 row, u64 series record
 *     offset, f32 vpdist[nvp], zero padding to 8 -- the record's distances
 *     rounded to nearest float (a search widens the bounds they give by
 *     TSDB_PIVOT_F32_ERR, so they stay lower bounds), packed
 *     densely (a batch's rows are contiguous, compaction lays them out in
 *     the order of vantage-point index 0) so that a search, which reads the
 *     distances of thousands of series and the points of few, touches few
 *     pages.  Without them every candidate cost a page fault in a new
 *     handler process.
 * The id index maps id -> series record offset; vantage-point index i maps
 * (d(x, v_i), row) -> pivot row offset; metadata index j maps (value of
 * its field, row) -> series record offset (metaindex.h says which series
 * have an entry).  Every series is in the id index
 * and, once vantage points are chosen, in every vantage-point index, all
 * of whose entries for it point at the same pivot row.
 */
#ifndef TSDB_DB_H
#define TSDB_DB_H

#include <stddef.h>
#include <stdint.h>

#include "cowfile.h"
#include "err.h"
#include "kernel.h"
#include "metaindex.h"
#include "rbkeys.h"
#include "rbtree.h"
#include "series.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tsdb reads float64 arrays in place from its little-endian files: little-endian hosts only"
#endif

/* Format 3 is format 2 plus two commit words (the metadata index catalog
 * and the dead bytes).  Writers write format 3; format 2 files are read,
 * and become format 3 at their next commit (with no dead bytes counted
 * until they are compacted). */
#define TSDB_DB_MAGIC_V3 UINT64_C(0x3330424442445354) /* "TSDBDB03" */
#define TSDB_DB_MAGIC_V2 UINT64_C(0x3230424442445354) /* "TSDBDB02" */
/* The layout before grid-first records and float32 pivot rows. */
#define TSDB_DB_MAGIC_V1 UINT64_C(0x3130424442445354) /* "TSDBDB01" */
#define TSDB_VP_MAX 40u
#define TSDB_DATA_FILE "tsdb.db"
#define TSDB_LOCK_FILE "LOCK"

#ifndef TSDB_DEFAULT_DB
#define TSDB_DEFAULT_DB "/var/lib/tsdb"
#endif

/* The database directory to use: dir if given, else $TSDB_DB, else the
 * compiled-in default. */
const char *tsdb_db_dir(const char *dir);

typedef struct tsdb_params {
	uint32_t L;
	double mult;
	uint32_t nvp;     /* vantage points to choose */
	uint64_t seed;
} tsdb_params;

void tsdb_params_default(tsdb_params *p);   /* L 1024, mult 1, 20, seed 1 */

/* A vantage point as stored in the params record. */
typedef struct tsdb_vp {
	const char *id;   /* the series it was taken from (not NUL-terminated) */
	size_t id_len;
	double log_self;
	const double *spectrum;
	const double *grid;
} tsdb_vp;

typedef struct tsdb_db {
	char *dir;
	char *path;                  /* dir/tsdb.db */
	cow_snap snap;
	tsdb_params params;
	uint64_t params_off;
	uint32_t next_row;
	uint32_t nchosen;            /* 0 until the vantage points are chosen */
	tsdb_vp vp[TSDB_VP_MAX];
	rbt_root ids;
	rbt_root vpidx[TSDB_VP_MAX];
	uint64_t nseries;
	uint32_t format;             /* 2 or 3 */
	uint64_t dead_bytes;         /* format 3: bytes no longer reachable */
	uint64_t midx_off;           /* the catalog record, 0 if none */
	uint32_t midx_bytes;         /* its size */
	uint32_t nmidx;              /* metadata indexes */
	tsdb_midx midx[TSDB_MIDX_MAX];
	tsdb_kernel kernel;          /* FFT plans: made on first use */
	int kernel_ready;
	int borrowed;                /* snap belongs to a writer (tsdb_db_attach) */
} tsdb_db;

/* Opens the newest commit of the database in dir read-only.
 * TSDB_E_UNAVAILABLE when there is none, TSDB_E_CORRUPT / TSDB_E_VERSION
 * when it cannot be read. */
int tsdb_db_open(tsdb_db *db, const char *dir, tsdb_err *err);
/* The same from an already open tsdb.db descriptor (fuzzing, tests). */
int tsdb_db_open_fd(tsdb_db *db, int fd, const char *name, tsdb_err *err);
void tsdb_db_close(tsdb_db *db);

/* Makes db->kernel usable (FFTW plans). */
int tsdb_db_kernel(tsdb_db *db, tsdb_err *err);
/* The same with a mode of the caller's choosing (benchmarks); before any
 * search on db. */
int tsdb_db_kernel_mode(tsdb_db *db, enum tsdb_kernel_mode mode, tsdb_err *err);

/* A stored series, pointing into the mapping (valid while db is open). */
typedef struct tsdb_rec {
	uint64_t off;
	uint32_t size, row, npoints, nvp;
	const char *id;
	size_t id_len;
	const char *meta;            /* NULL when none */
	size_t meta_len;
	double log_self;
	const double *vpdist, *spectrum, *grid, *t, *v;
} tsdb_rec;

/* Decodes the record at off, checking every bound against the mapping and
 * the database parameters; with verify != 0 also its checksum. */
int tsdb_rec_read(const tsdb_db *db, uint64_t off, int verify, tsdb_rec *rec, tsdb_err *err);

/* The same for a search, which needs only the leading part of a record:
 * its fixed fields, log K(x,x) and grid, and with with_spectrum the
 * spectrum too.  They are copied with pread(2) into buf, which must hold
 * tsdb_rec_hot_bytes(db, with_spectrum) bytes and 8-byte alignment; rec's
 * log_self, grid and spectrum (NULL without with_spectrum) point into
 * buf, its vpdist, t, v, id and meta into the mapping, untouched until
 * used.  Why: a search computes hundreds of distances to records scattered
 * over the file, and in a fresh process touching each through the mapping
 * costs a page fault that also maps and later unmaps its neighbours; a
 * copy from the page cache is cheaper (a whole handler process answering
 * with_id on 100,000 series: 4.8 -> 3.7 ms, median). */
size_t tsdb_rec_hot_bytes(const tsdb_db *db, int with_spectrum);
int tsdb_rec_read_hot(const tsdb_db *db, uint64_t off, int with_spectrum, double *buf, tsdb_rec *rec,
		      tsdb_err *err);

typedef struct tsdb_pivot {
	uint64_t off, rec_off;
	uint32_t row;
	const float *vpdist;         /* db->nchosen of them */
} tsdb_pivot;

/* A distance is in [0, 2]; rounded to float it moves by at most half an
 * ulp of 2, 2^-24.  Twice that, to spare the reasoning any edge. */
#define TSDB_PIVOT_F32_ERR 0x1p-23

/* Decodes the pivot row at off, checking bounds and magic. */
int tsdb_pivot_read(const tsdb_db *db, uint64_t off, tsdb_pivot *pv, tsdb_err *err);

/* Looks an id up (TSDB_E_INVALID_KEY when absent) and reads its record,
 * checksum verified. */
int tsdb_db_find(const tsdb_db *db, const char *id, size_t id_len, tsdb_rec *rec, tsdb_err *err);

/* The original points, id and metadata of a record, copied out. */
int tsdb_rec_series(const tsdb_rec *rec, tsdb_series *out, tsdb_err *err);

/* Ids in byte order: those after `after` (if non-NULL; it need not be
 * stored) that start with `prefix` (if non-NULL), at most limit of them,
 * each passed to fn.  *more says whether further ids match. */
typedef int (*tsdb_id_fn)(void *ctx, const char *id, size_t len, tsdb_err *err);
int tsdb_db_list(const tsdb_db *db, const char *after, size_t after_len, const char *prefix,
		 size_t prefix_len, uint64_t limit, tsdb_id_fn fn, void *ctx, int *more, tsdb_err *err);

/* The metadata index of field, or NULL when it has none. */
const tsdb_midx *tsdb_db_midx(const tsdb_db *db, const char *field, size_t len);

/* Resamples a grid series to m points (for sparklines). */
void tsdb_shape(const double *grid, uint32_t L, double *out, uint32_t m);

#endif
