/*
 * numparse.c - strict numbers (see numparse.h).
 * strtoull alone would accept "-1" (as 2^64 - 1), leading blanks and "+5";
 * strtod alone would accept "1x" as 1, "nan" and "1e999" (as infinity).
 */
#include "numparse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

int tsdb_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (s[0] < '0' || s[0] > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int tsdb_parse_double(const char *s, double lo, int open_lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < lo || (open_lo && v == lo) || v > hi)
		return -1;
	*out = v;
	return 0;
}
