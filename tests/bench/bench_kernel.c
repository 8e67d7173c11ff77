/*
 * bench_kernel.c - nanoseconds per tsdb_kernel_distance, the search's hot
 * path, for L = 100 and L = 1024 (mult = 1) on synthetic series, with the
 * variant init picks for this CPU and with the portable one.  One query
 * against a block of prepared spectra, as a brute-force scan does; the
 * median of several rounds is reported so one preemption does not skew
 * the figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernel.h"
#include "series.h"
#include "synth.h"

#define NSERIES 1000
#define ROUNDS 9

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int bench(uint32_t L, int generic)
{
	tsdb_err err = {0};
	tsdb_kernel k;
	if (tsdb_kernel_init(&k, L, 1.0, &err)) {
		fprintf(stderr, "bench_kernel: %s\n", err.msg);
		return -1;
	}
	if (generic)
		tsdb_kernel_use_generic(&k);
	size_t sd = tsdb_spectrum_doubles(L);
	double *spec = malloc(sizeof(double) * sd * NSERIES);
	double *self = malloc(sizeof(double) * NSERIES);
	double *grid = malloc(sizeof(double) * L);
	int rc = -1;
	if (!spec || !self || !grid) {
		fprintf(stderr, "bench_kernel: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < NSERIES; i++) {
		tsdb_series s;
		if (tsdb_synth_series(7, i, L, &s, &err) ||
		    tsdb_kernel_grid(&k, s.t, s.v, s.n, grid, &err)) {
			fprintf(stderr, "bench_kernel: %s\n", err.msg);
			tsdb_series_free(&s);
			goto out;
		}
		tsdb_series_free(&s);
		tsdb_kernel_prepare(&k, grid, spec + i * sd, &self[i]);
	}
	/* enough distances per round for ~10 ms of work at either length */
	size_t reps = L <= 128 ? 20 : 2;
	double per[ROUNDS];
	double sink = 0.0;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns(), acc = 0.0;
		for (size_t rep = 0; rep < reps; rep++)
			for (size_t i = 0; i < NSERIES; i++)
				acc += tsdb_kernel_distance(&k, spec + rep % NSERIES * sd, self[rep % NSERIES],
							    spec + i * sd, self[i]);
		per[r] = (now_ns() - t0) / (double)(reps * NSERIES);
		sink += acc;
	}
	if (!(sink >= 0.0)) /* uses the results, so no call can be optimized away */
		fprintf(stderr, "bench_kernel: bad distance sum %g\n", sink);
	qsort(per, ROUNDS, sizeof per[0], cmp_double);
	printf("kernel_distance L=%-5u mult=1 %-9s %8.1f ns/distance (median of %d rounds, min %.1f)\n",
	       L, tsdb_kernel_variant(&k), per[ROUNDS / 2], ROUNDS, per[0]);
	rc = 0;
out:
	free(spec);
	free(self);
	free(grid);
	tsdb_kernel_free(&k);
	return rc;
}

int main(void)
{
	for (int generic = 0; generic < 2; generic++)
		if (bench(100, generic) || bench(1024, generic))
			return 1;
	return 0;
}
