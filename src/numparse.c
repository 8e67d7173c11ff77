/*
 * numparse.c - strict numbers (see numparse.h).
 * strtoull alone would accept "-1" (as 2^64 - 1), leading blanks and "+5";
 * strtod alone would accept "1x" as 1, "nan" and "1e999" (as infinity).
 */
#include "numparse.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* For a normal double, the nearest 15-digit decimal is within a quarter of
 * that precision's spacing of any shorter decimal that reads back as x
 * (which is within half an ulp, 2^-53 relative, of x): so if a decimal of
 * fewer than 15 digits round-trips, %.15g prints it (its trailing zeros
 * stripped), and a search may start at 15.  Subnormals carry fewer bits:
 * 5e-324 needs one digit, where %.15g would print fifteen that also
 * round-trip, so their search starts at 1. */
size_t tsdb_format_double(double x, char buf[TSDB_DOUBLE_TEXT_MAX])
{
	if (!isfinite(x))
		return (size_t)snprintf(buf, TSDB_DOUBLE_TEXT_MAX, "%s",
					isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
	int p = fabs(x) >= DBL_MIN ? 15 : 1;
	int n = 0;
	for (; p <= 17; p++) {
		n = snprintf(buf, TSDB_DOUBLE_TEXT_MAX, "%.*g", p, x);
		if (p == 17 || strtod(buf, NULL) == x)
			break;
	}
	/* == cannot tell -0 from 0, but %g keeps the sign, so both are exact. */
	return (size_t)n;
}
