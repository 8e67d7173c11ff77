/*
 * grow.c - arrays that grow by doubling (see grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *tsdb_grow(void *p, size_t *cap, size_t want, size_t size, tsdb_err *err)
{
	if (p && want <= *cap)
		return p;
	size_t n = *cap ? *cap : 16;
	while (n < want)
		n = n > SIZE_MAX / 2 ? want : n * 2;
	if (n > SIZE_MAX / size) {
		tsdb_errf(err, TSDB_E_TOO_LARGE, "too many elements (%zu)", want);
		return NULL;
	}
	void *q = realloc(p, n * size);
	if (!q) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %zu entries", want);
		return NULL;
	}
	*cap = n;
	return q;
}
