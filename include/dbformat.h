/*
 * dbformat.h - on-disk constants of a database shared by the reader
 * (db.c), the writer (writer.c) and the checker (check.c).  The layouts
 * themselves are described in db.h.
 */
#ifndef TSDB_DBFORMAT_H
#define TSDB_DBFORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

enum {
	W_MAGIC = 0,
	W_PARAMS = 1,
	W_NEXT_ROW = 2,
	W_ID_ROOT = 3,
	W_ID_COUNT = 4,
	W_CHOSEN = 5,
	W_VP0 = 6,
};

#define REC_MAGIC 0x52455354u     /* "TSER" */
#define PARAMS_MAGIC 0x4d525054u  /* "TPRM" */
#define REC_FIXED 32u             /* bytes before log_self */
#define PARAMS_FIXED 40u          /* bytes before the first vantage point */
#define VP_ID_BYTES 256u          /* u8 length + 255 bytes */
#define PIVOT_MAGIC 0x56495054u   /* "TPIV" */
#define PIVOT_FIXED 16u           /* bytes before vpdist[] */

static inline size_t tsdb_pivot_size(uint32_t nvp)
{
	return (PIVOT_FIXED + 4 * (size_t)nvp + 7) & ~(size_t)7;
}

static inline uint16_t le16_get(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

/* Bytes of one vantage point in the params record. */
size_t tsdb_params_vp_bytes(uint32_t L);
/* Bytes of a series record. */
size_t tsdb_rec_size(uint32_t L, uint32_t nvp, size_t npoints, size_t id_len, size_t meta_len);
int tsdb_params_check(const tsdb_params *p, tsdb_err *err);

/* Spectrum and self-kernel as stored in a series record.  The stored
 * log K(x, x) is the one readers compute for a query: directly when
 * L <= TSDB_DIRECT_MAX_L (see tsdb_db_kernel), so a query equal to a
 * stored series is at distance exactly 0 from it. */
void tsdb_prepare_stored(tsdb_kernel *k, const double *grid, double *spectrum, double *log_self);

/* Fills db from a snapshot it does not own (the writer's): db->snap is a
 * copy of *snap and tsdb_db_close will not unmap it.  Call again after
 * every commit. */
int tsdb_db_attach(tsdb_db *db, const cow_snap *snap, const char *path, tsdb_err *err);
void tsdb_db_detach(tsdb_db *db);

#endif
