/*
 * bench_kernel.c - nanoseconds per distance, the search's hot path: the
 * spectral kernel (tsdb_kernel_distance) for L = 100 and L = 1024, and the
 * direct one that readers use at L <= 128 (tsdb_kernel_distance_direct)
 * for L = 64, 100 and 128 (mult = 1), on synthetic series, with the
 * variant init picks for this CPU and with the portable one.  One query
 * against a block of prepared spectra, as a brute-force scan does; the
 * median of several rounds is reported so one preemption does not skew
 * the figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int bench(uint32_t L, int generic, int direct)
{
	tsdb_err err = {0};
	tsdb_kernel k;
	if (tsdb_kernel_init_mode(&k, L, 1.0, direct ? TSDB_KERNEL_DIRECT : TSDB_KERNEL_SPECTRAL, &err)) {
		fprintf(stderr, "bench_kernel: %s\n", err.msg);
		return -1;
	}
	if (generic)
		tsdb_kernel_use_generic(&k);
	/* per series: its spectrum, or its grid for the direct kernel */
	size_t sd = direct ? L : tsdb_spectrum_doubles(L);
	double *spec = malloc(sizeof(double) * sd * NSERIES);
	double *self = malloc(sizeof(double) * NSERIES);
	double *grid = malloc(sizeof(double) * L);
	double *twice = malloc(sizeof(double) * tsdb_direct_twice_doubles(L));
	int rc = -1;
	if (!spec || !self || !grid || !twice) {
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
		if (direct) {
			memcpy(spec + i * sd, grid, sizeof(double) * L);
			self[i] = tsdb_kernel_log_self_direct(&k, grid);
		} else {
			tsdb_kernel_prepare(&k, grid, spec + i * sd, &self[i]);
		}
	}
	/* enough distances per round for ~10 ms of work at either length */
	size_t reps = L <= 128 ? 20 : 2;
	double per[ROUNDS];
	double sink = 0.0;
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns(), acc = 0.0;
		for (size_t rep = 0; rep < reps; rep++) {
			const double *q = spec + rep % NSERIES * sd;
			if (direct)
				tsdb_kernel_direct_twice(&k, q, twice);
			for (size_t i = 0; i < NSERIES; i++)
				acc += direct ? tsdb_kernel_distance_direct(&k, twice, self[rep % NSERIES],
									    spec + i * sd, self[i])
					      : tsdb_kernel_distance(&k, q, self[rep % NSERIES], spec + i * sd,
								     self[i]);
		}
		per[r] = (now_ns() - t0) / (double)(reps * NSERIES);
		sink += acc;
	}
	if (!(sink >= 0.0)) /* uses the results, so no call can be optimized away */
		fprintf(stderr, "bench_kernel: bad distance sum %g\n", sink);
	qsort(per, ROUNDS, sizeof per[0], cmp_double);
	printf("kernel_distance %-8s L=%-5u mult=1 %-9s %8.1f ns/distance (median of %d rounds, min %.1f)\n",
	       direct ? "direct" : "spectral", L, tsdb_kernel_variant(&k), per[ROUNDS / 2], ROUNDS, per[0]);
	rc = 0;
out:
	free(spec);
	free(self);
	free(grid);
	free(twice);
	tsdb_kernel_free(&k);
	return rc;
}

int main(void)
{
	for (int generic = 0; generic < 2; generic++)
		if (bench(100, generic, 0) || bench(1024, generic, 0) || bench(64, generic, 1) ||
		    bench(100, generic, 1) || bench(128, generic, 1))
			return 1;
	return 0;
}
