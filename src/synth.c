/*
 * synth.c - the course's synthetic series, reproducible from (seed, index).
 *
 * Invariants: series `index` depends only on (seed, index, L), not on which
 * other series were generated or in what order, so any subset of a data set
 * can be regenerated independently.  Within one seed, distinct indices get
 * distinct generator seeds (index * odd constant is a bijection mod 2^64).
 */
#include "synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "rng.h"

int tsdb_synth_series(uint64_t seed, uint64_t index, uint32_t L, tsdb_series *out,
		      tsdb_err *err)
{
	memset(out, 0, sizeof *out);
	if (L < TSDB_L_MIN || L > TSDB_L_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "series length %u is outside [%u, %u]",
				 L, TSDB_L_MIN, TSDB_L_MAX);
	/* hash the seed first so that nearby seeds do not give related
	 * streams after the xor with the index */
	uint64_t h = seed;
	h = tsdb_splitmix64(&h) ^ (index * 0x9e3779b97f4a7c15u);
	tsdb_rng r;
	tsdb_rng_seed(&r, h);
	double m = tsdb_rng_uniform(&r);
	double s = 0.05 + 0.35 * tsdb_rng_uniform(&r);
	double j = 0.05 + 0.15 * tsdb_rng_uniform(&r);

	tsdb_series x = {0};
	x.t = malloc(sizeof(double) * L);
	x.v = malloc(sizeof(double) * L);
	if (!x.t || !x.v) {
		tsdb_series_free(&x);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %u points", L);
	}
	x.n = L;
	double norm = s * sqrt(2.0 * M_PI);
	for (uint32_t i = 0; i < L; i++) {
		double t = (double)i / L;
		x.t[i] = t;
		x.v[i] = exp(-(t - m) * (t - m) / (2.0 * s * s)) / norm + j * tsdb_rng_normal(&r);
	}
	x.id_len = (size_t)snprintf(x.id, sizeof x.id, "ts-%06llu", (unsigned long long)index);
	/* valid by construction; checked anyway so a generator bug cannot
	 * slip an invalid series into a database */
	if (tsdb_series_validate(&x, L, err)) {
		tsdb_series_free(&x);
		return -1;
	}
	*out = x;
	return 0;
}
