/*
 * numparse.h - the strict number parsers that the programs' option
 * handling shares: the whole string must be the number (no blanks, no
 * trailing bytes) and the value within its bounds; and their inverse for
 * doubles, the shortest text that reads back exactly.
 */
#ifndef TSDB_NUMPARSE_H
#define TSDB_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/* An unsigned decimal integer in [lo, hi]: digits only, no sign.  0 and
 * *out on success; -1 (and *out untouched) otherwise. */
int tsdb_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* A finite number (strtod syntax, no overflow or underflow) in [lo, hi];
 * with open_lo, lo itself is excluded.  0 and *out on success; -1 (and
 * *out untouched) otherwise.  -0 is returned as it was written. */
int tsdb_parse_double(const char *s, double lo, int open_lo, double hi, double *out);

/* The shortest decimal (in %g style: "0.00441654748283", "1e+23",
 * "5e-324", "-0") that strtod reads back as x, bit for bit; of several
 * that short, the nearest to x.  "nan", "inf" and "-inf" for the others.
 * Returns its length; buf holds it NUL-terminated. */
#define TSDB_DOUBLE_TEXT_MAX 32
size_t tsdb_format_double(double x, char buf[TSDB_DOUBLE_TEXT_MAX]);

#endif
