/*
 * grow.h - arrays that grow by doubling.  Overflow of the byte count and
 * allocation failure are error values, and a failed growth leaves the old
 * array and its capacity as they were (still the caller's to free).
 */
#ifndef TSDB_GROW_H
#define TSDB_GROW_H

#include <stddef.h>

#include "err.h"

/* Returns p reallocated to hold at least want elements of size bytes and
 * sets *cap to its new capacity (doubling from *cap, or from 16), or p
 * itself when *cap already suffices.  NULL with err filled on failure. */
void *tsdb_grow(void *p, size_t *cap, size_t want, size_t size, tsdb_err *err);

#endif
