/*
 * numparse.h - the one strict parser of unsigned decimal integers that the
 * programs' option handling shares: the whole string must be digits (no
 * sign, no blanks, no trailing bytes) and the value within [lo, hi].
 */
#ifndef TSDB_NUMPARSE_H
#define TSDB_NUMPARSE_H

#include <stdint.h>

/* 0 and *out on success; -1 (and *out untouched) otherwise. */
int tsdb_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

#endif
