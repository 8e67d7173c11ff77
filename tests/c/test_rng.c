/*
 * test_rng.c - the PRNG streams are pinned (they seed generated data sets
 * and vantage-point choices, so a change would silently change databases),
 * the derived distributions have the right ranges, and the synthetic
 * generator is reproducible and produces valid series.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "rng.h"
#include "series.h"
#include "synth.h"
#include "tap.h"

/* Reference values computed independently (a Python transcription of
 * Vigna's splitmix64.c and xoshiro256starstar.c). */
static void test_splitmix_known_values(void)
{
	uint64_t st = 0;
	CHECK(tsdb_splitmix64(&st) == 0xe220a8397b1dcdafu);
	CHECK(tsdb_splitmix64(&st) == 0x6e789e6aa1b965f4u);
	CHECK(tsdb_splitmix64(&st) == 0x06c45d188009454fu);
	CHECK(tsdb_splitmix64(&st) == 0xf88bb8a8724c81ecu);
}

static void test_xoshiro_known_values(void)
{
	static const struct {
		uint64_t seed;
		uint64_t first[4];
	} cases[] = {
		{0, {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au, 0x1a5f849d4933e6e0u,
		     0x6aa594f1262d2d2cu}},
		{42, {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu, 0xae17533239e499a1u,
		      0xecb8ad4703b360a1u}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		tsdb_rng r;
		tsdb_rng_seed(&r, cases[c].seed);
		for (int i = 0; i < 4; i++) {
			uint64_t x = tsdb_rng_next(&r);
			CHECKF(x == cases[c].first[i], "seed %llu output %d: %016llx",
			       (unsigned long long)cases[c].seed, i, (unsigned long long)x);
		}
	}
	tsdb_rng r;
	tsdb_rng_seed(&r, 12345);
	CHECK(tsdb_rng_uniform(&r) == 0.7438081631565894);
	CHECK(tsdb_rng_uniform(&r) == 0.13004553462783452);
	CHECK(tsdb_rng_uniform(&r) == 0.9633344930128545);
}

static void test_reproducible(void)
{
	tsdb_rng a, b, c;
	tsdb_rng_seed(&a, 7);
	tsdb_rng_seed(&b, 7);
	tsdb_rng_seed(&c, 8);
	int differs = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = tsdb_rng_next(&a);
		CHECK(x == tsdb_rng_next(&b));
		differs += x != tsdb_rng_next(&c);
	}
	CHECK(differs > 990);
	double n1 = tsdb_rng_normal(&a), n2 = tsdb_rng_normal(&b);
	CHECK(memcmp(&n1, &n2, sizeof n1) == 0);
}

static void test_uniform(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 1);
	double sum = 0.0, lo = 1.0, hi = 0.0;
	const int n = 100000;
	for (int i = 0; i < n; i++) {
		double u = tsdb_rng_uniform(&r);
		REQUIRE(u >= 0.0 && u < 1.0);
		/* 53 random bits: u * 2^53 is an integer */
		double scaled = u * 0x1p53;
		CHECK(scaled == floor(scaled));
		sum += u;
		lo = fmin(lo, u);
		hi = fmax(hi, u);
	}
	CHECKF(fabs(sum / n - 0.5) < 0.01, "mean %g", sum / n);
	CHECK(lo < 0.001 && hi > 0.999);
}

static void test_below(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 2);
	CHECK(tsdb_rng_below(&r, 0) == 0);
	for (int i = 0; i < 100; i++)
		CHECK(tsdb_rng_below(&r, 1) == 0);
	const uint64_t ns[] = {2, 3, 7, 1000, (1ull << 63) + 1, UINT64_MAX};
	for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
		for (int i = 0; i < 1000; i++)
			CHECK(tsdb_rng_below(&r, ns[k]) < ns[k]);
	/* every residue appears about equally often */
	int count[3] = {0};
	for (int i = 0; i < 30000; i++)
		count[tsdb_rng_below(&r, 3)]++;
	for (int i = 0; i < 3; i++)
		CHECKF(count[i] > 9500 && count[i] < 10500, "count[%d] = %d", i, count[i]);
	/* n = 2^63 + 1 rejects almost half of all words; the results must
	 * still cover [0, n) evenly: half of them at or above 2^62 */
	int upper = 0;
	for (int i = 0; i < 1000; i++)
		upper += tsdb_rng_below(&r, (1ull << 63) + 1) >= (1ull << 62);
	CHECKF(upper > 430 && upper < 570, "%d of 1000 in the upper half", upper);
}

static void test_normal(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 3);
	const int n = 100000;
	double sum = 0.0, sq = 0.0;
	int beyond3 = 0;
	for (int i = 0; i < n; i++) {
		double x = tsdb_rng_normal(&r);
		REQUIRE(isfinite(x));
		sum += x;
		sq += x * x;
		beyond3 += fabs(x) > 3.0;
	}
	double mean = sum / n, var = sq / n - mean * mean;
	CHECKF(fabs(mean) < 0.02, "mean %g", mean);
	CHECKF(fabs(var - 1.0) < 0.02, "variance %g", var);
	CHECKF(beyond3 > 150 && beyond3 < 400, "%d beyond 3 sigma", beyond3); /* expect 270 */
}

static void test_synth_reproducible(void)
{
	tsdb_err err = {0};
	tsdb_series a, b, c;
	REQUIRE(tsdb_synth_series(99, 42, 100, &a, &err) == 0);
	REQUIRE(tsdb_synth_series(99, 42, 100, &b, &err) == 0);
	REQUIRE(tsdb_synth_series(99, 43, 100, &c, &err) == 0);
	CHECK(a.n == 100 && b.n == 100 && c.n == 100);
	CHECK(memcmp(a.t, b.t, 100 * sizeof(double)) == 0);
	CHECK(memcmp(a.v, b.v, 100 * sizeof(double)) == 0);
	CHECK(memcmp(a.v, c.v, 100 * sizeof(double)) != 0);
	CHECK(strcmp(a.id, "ts-000042") == 0 && a.id_len == 9);
	CHECK(strcmp(c.id, "ts-000043") == 0);
	CHECK(a.meta == NULL);
	tsdb_series_free(&a);
	tsdb_series_free(&b);
	tsdb_series_free(&c);

	/* another seed, same index: another series */
	REQUIRE(tsdb_synth_series(100, 42, 100, &a, &err) == 0);
	REQUIRE(tsdb_synth_series(99, 42, 100, &b, &err) == 0);
	CHECK(memcmp(a.v, b.v, 100 * sizeof(double)) != 0);
	tsdb_series_free(&a);
	tsdb_series_free(&b);

	REQUIRE(tsdb_synth_series(1, 1234567, 8, &a, &err) == 0);
	CHECK(strcmp(a.id, "ts-1234567") == 0);
	tsdb_series_free(&a);
	REQUIRE(tsdb_synth_series(1, UINT64_MAX, 8, &a, &err) == 0);
	CHECK(strcmp(a.id, "ts-18446744073709551615") == 0);
	tsdb_series_free(&a);
}

static void test_synth_sane(void)
{
	tsdb_err err = {0};
	const uint32_t Ls[] = {TSDB_L_MIN, 7, 100, 1024};
	for (size_t k = 0; k < sizeof Ls / sizeof Ls[0]; k++) {
		uint32_t L = Ls[k];
		for (uint64_t idx = 0; idx < 50; idx++) {
			tsdb_series s;
			REQUIRE(tsdb_synth_series(5, idx, L, &s, &err) == 0);
			CHECK(s.n == L);
			for (uint32_t i = 0; i < L; i++) {
				CHECK(s.t[i] == (double)i / L);
				/* pdf peak <= 1/(0.05 sqrt(2 pi)) ~ 8, noise 0.2 * N(0,1) */
				CHECK(isfinite(s.v[i]) && fabs(s.v[i]) < 20.0);
			}
			CHECK(tsdb_series_validate(&s, L, &err) == 0);
			tsdb_series_free(&s);
		}
	}
	tsdb_series s;
	CHECK(tsdb_synth_series(5, 0, 3, &s, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
	CHECK(s.t == NULL && s.n == 0);
	CHECK(tsdb_synth_series(5, 0, TSDB_L_MAX + 1, &s, &err) == -1);
}

int main(void)
{
	RUN(test_splitmix_known_values);
	RUN(test_xoshiro_known_values);
	RUN(test_reproducible);
	RUN(test_uniform);
	RUN(test_below);
	RUN(test_normal);
	RUN(test_synth_reproducible);
	RUN(test_synth_sane);
	return tap_done();
}
