/*
 * benchutil.h - what the benchmarks share: a monotonic clock in seconds
 * and percentiles (nearest rank) of a sample, which they sort in place.
 */
#ifndef TSDB_BENCHUTIL_H
#define TSDB_BENCHUTIL_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-th quantile (0..1) of v[0..n), n > 0; sorts v. */
static inline double bench_pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

#endif
