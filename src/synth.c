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
#include "numparse.h"
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

int tsdb_synth_meta(uint64_t seed, uint64_t index, tsdb_series *s, tsdb_err *err)
{
	/* another stream than the points': xor a constant into the seed */
	uint64_t h = seed ^ 0x6d657461u;
	h = tsdb_splitmix64(&h) ^ (index * 0x9e3779b97f4a7c15u);
	tsdb_rng r;
	tsdb_rng_seed(&r, h);
	long order = (long)tsdb_rng_below(&r, 11) - 5;
	int blarg = 1 + (int)tsdb_rng_below(&r, 2);
	int vp = tsdb_rng_below(&r, 20) == 0;
	char level = (char)('A' + tsdb_rng_below(&r, 6));
	double sum = 0, sq = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	double mean = s->n ? sum / (double)s->n : 0;
	for (size_t i = 0; i < s->n; i++)
		sq += (s->v[i] - mean) * (s->v[i] - mean);
	double std = s->n ? sqrt(sq / (double)s->n) : 0;
	char m[TSDB_DOUBLE_TEXT_MAX], d[TSDB_DOUBLE_TEXT_MAX];
	tsdb_format_double(mean, m);
	tsdb_format_double(std, d);
	char buf[256];
	int len = snprintf(buf, sizeof buf,
			   "{\"order\":%ld,\"blarg\":%d,\"mean\":%s,\"std\":%s,\"vp\":%s,\"level\":\"%c\"}",
			   order, blarg, m, d, vp ? "true" : "false", level);
	char *text = len > 0 && (size_t)len < sizeof buf ? strdup(buf) : NULL;
	if (!text)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for metadata");
	free(s->meta);
	s->meta = text;
	s->meta_len = (size_t)len;
	return 0;
}
