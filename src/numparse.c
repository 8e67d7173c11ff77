/*
 * numparse.c - strict unsigned decimal integers (see numparse.h).
 * strtoull alone would accept "-1" (as 2^64 - 1), leading blanks and "+5".
 */
#include "numparse.h"

#include <errno.h>
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
