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

/* The kind whose nodes carry id, NULL for an unknown id. */
const rbt_keykind *rbt_keykind_by_id(uint8_t id);

void rbt_distrow_put(uint8_t out[12], double distance, uint32_t row);
double rbt_distrow_distance(const uint8_t *key);
uint32_t rbt_distrow_row(const uint8_t *key);
/* Encodes len (1..255) bytes; returns the key size or 0 if len is bad. */
uint32_t rbt_bytes_put(uint8_t out[RBT_KEY_MAX], const void *bytes, size_t len);

#endif
