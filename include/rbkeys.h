/*
 * rbkeys.h - the key kinds of a database's trees, as rbtree.h vtables.
 * Their encodings and ids are part of the on-disk format (db.h): every
 * node records its kind's id, and a kind's order is the order its tree
 * was built in, so neither may change.
 */
#ifndef TSDB_RBKEYS_H
#define TSDB_RBKEYS_H

#include <stddef.h>
#include <stdint.h>

#include "rbtree.h"

/* (float64 distance, uint32 row): 12 bytes, by distance then row; a NaN
 * distance is not a key.  Id 1. */
extern const rbt_keykind rbt_key_distrow;
/* u8 length (1..255) + bytes: byte-wise order, a prefix first.  Id 2. */
extern const rbt_keykind rbt_key_bytes;

/* (typed value, uint32 row): a metadata index's key.  u8 tag, then the
 * value -- RBT_META_NUMBER: f64 (integers rounded to nearest, -0 as 0,
 * never NaN); RBT_META_STRING: u8 length + at most RBT_META_STRING_MAX
 * bytes, a longer string cut there; RBT_META_BOOL: u8 0 or 1 -- then the
 * row.  Order: tag, value (numbers numerically, strings byte-wise with a
 * prefix first, false before true), row.  Rounding and cutting are
 * monotone (x <= y gives key(x) <= key(y)), so a range of values maps to
 * a range of keys that holds every series in it and maybe a few more,
 * which is what an index needs: whoever reads it re-tests the filter.
 * Id 3. */
extern const rbt_keykind rbt_key_metarow;
enum { RBT_META_NUMBER = 1, RBT_META_STRING = 2, RBT_META_BOOL = 3 };
#define RBT_META_STRING_MAX 240u

/* The kind whose nodes carry id, NULL for an unknown id. */
const rbt_keykind *rbt_keykind_by_id(uint8_t id);

void rbt_distrow_put(uint8_t out[12], double distance, uint32_t row);
double rbt_distrow_distance(const uint8_t *key);
uint32_t rbt_distrow_row(const uint8_t *key);
/* Encodes len (1..255) bytes; returns the key size or 0 if len is bad. */
uint32_t rbt_bytes_put(uint8_t out[RBT_KEY_MAX], const void *bytes, size_t len);

/* Encoders of rbt_key_metarow keys; each returns the key size (0 for a
 * NaN).  A string longer than RBT_META_STRING_MAX is cut. */
uint32_t rbt_metarow_number(uint8_t out[RBT_KEY_MAX], double value, uint32_t row);
uint32_t rbt_metarow_string(uint8_t out[RBT_KEY_MAX], const char *s, size_t len, uint32_t row);
uint32_t rbt_metarow_bool(uint8_t out[RBT_KEY_MAX], int value, uint32_t row);
uint32_t rbt_metarow_row(const uint8_t *key);

#endif
