/*
 * metaindex.h - metadata indexes: one copy-on-write red-black tree per
 * indexed field, mapping (typed value, row) -> series record offset.
 *
 * What goes in: a series whose metadata (read as jansson reads it, with
 * TSDB_PRED_META_JSON_FLAGS: what `get` shows and what filters see) is
 * an object whose member FIELD is a number, a string or a boolean has
 * exactly one entry in FIELD's index; any other series (no metadata, no
 * such member, null, an array, an object) has none.  Keys are
 * rbt_key_metarow (rbkeys.h): numbers rounded to double, strings cut at
 * RBT_META_STRING_MAX bytes, so an index answers "which series may match
 * this range" with a superset and the filter decides.
 *
 * The catalog record (8-aligned), appended with every commit of a
 * database that has indexes and named by a commit word (db.h):
 *     u32 magic "TMIX", u32 crc32c of bytes [8, size), u32 size,
 *     u32 count, then count times: u64 root, u64 entries, u8 name length
 *     (1..255), the name; zero padding to 8.
 * Names are distinct and in the order the indexes were added.
 */
#ifndef TSDB_METAINDEX_H
#define TSDB_METAINDEX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cowfile.h"
#include "err.h"
#include "predicate.h"
#include "rbtree.h"

#define TSDB_MIDX_MAX 16u         /* indexed fields per database */
#define TSDB_MIDX_FIELD_MAX 255u  /* bytes of an indexed field's name */
#define MIDX_MAGIC 0x58494d54u    /* "TMIX" */

typedef struct tsdb_midx {
	char field[TSDB_MIDX_FIELD_MAX + 1]; /* NUL-terminated copy */
	size_t field_len;
	rbt_root root;
} tsdb_midx;

/* A field name an index can have: the names a filter can test (1 to 255
 * bytes, no NUL, valid UTF-8, as JSON object keys are). */
int tsdb_midx_field_check(const char *field, size_t len, tsdb_err *err);

/* The stored metadata text as an object (a new reference), or NULL when
 * it is absent or not an object: the series then has no entries. */
json_t *tsdb_midx_parse(const char *meta, size_t len);

/* The key of the series at row in the index of field, from its parsed
 * metadata (NULL allowed); 0 when it has no entry there. */
uint32_t tsdb_midx_key(const json_t *meta, const char *field, uint32_t row, uint8_t key[RBT_KEY_MAX]);

/* Reads and verifies the catalog record at off (bounds, magic, checksum,
 * names valid and distinct). */
int tsdb_midx_read(const cow_snap *s, uint64_t off, tsdb_midx *out, uint32_t *count, uint32_t *bytes,
		   tsdb_err *err);

/* Appends a catalog record for ix[0..count). */
int tsdb_midx_append(cow_writer *w, const tsdb_midx *ix, uint32_t count, uint64_t *off, tsdb_err *err);

/* Calls fn with the value (record offset) of every entry of the index at
 * root whose key lies in one of ranges[0..nranges) (sorted and disjoint,
 * as tsdb_pred_field_ranges gives them), in key order, stopping early
 * (with *more = 1) before the entry that would be the limit + 1-th.
 * *seen counts the entries passed to fn.  fn returns 0 to go on, -1 on
 * error. */
typedef int (*tsdb_midx_fn)(void *ctx, uint64_t value, tsdb_err *err);
int tsdb_midx_range(const cow_snap *s, rbt_root root, const tsdb_pred_range *ranges, int nranges,
		    uint64_t limit, tsdb_midx_fn fn, void *ctx, uint64_t *seen, int *more, tsdb_err *err);

#endif
