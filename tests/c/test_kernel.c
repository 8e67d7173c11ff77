/*
 * test_kernel.c - the grid and the distance against an independent
 * reference: docs/DESIGN.md's formulas written out as direct O(L^2) sums in
 * long double, with no FFT and no log-sum-exp.
 *
 * Tolerances: the distance is compared within 1e-9.  Below d ~ 1e-4 that
 * is not meaningful for any implementation: d = sqrt(2 (1 - kc)), and kc is
 * a ratio of sums known to ~1e-16 relative, so d^2 carries an absolute
 * error of ~1e-15 and d itself ~1e-15 / d.  There d^2 is compared within
 * 1e-12 instead.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "rng.h"
#include "series.h"
#include "tap.h"

#define LMAX 1024

/* ---- the reference ------------------------------------------------------ */

static long double ref_kernel(const double *x, const double *y, uint32_t L, double mult)
{
	long double K = 0.0L;
	for (uint32_t s = 0; s < L; s++) {
		long double c = 0.0L;
		for (uint32_t i = 0; i < L; i++)
			c += (long double)x[i] * y[(i + s) % L];
		K += expl(mult * (c / L));
	}
	return K;
}

static double ref_distance(const double *x, const double *y, uint32_t L, double mult)
{
	long double kc = ref_kernel(x, y, L, mult) /
			 sqrtl(ref_kernel(x, x, L, mult) * ref_kernel(y, y, L, mult));
	long double d2 = 2.0L * (1.0L - kc);
	return d2 > 0 ? (double)sqrtl(d2) : 0.0;
}

/* Periodic linear interpolation of distinct sorted points at t = i/L, by
 * brute force: the last point at or before t, or the wrap segment. */
static void ref_interpolate(const double *t, const double *v, size_t m, uint32_t L, double *g)
{
	for (uint32_t i = 0; i < L; i++) {
		double x = (double)i / L;
		size_t j = m;
		for (size_t k = 0; k < m; k++)
			if (t[k] <= x)
				j = k;
		double t0, v0, t1, v1;
		if (j == m || j == m - 1) { /* wrap: from the last point to the first + 1 */
			t0 = t[m - 1], v0 = v[m - 1], t1 = t[0] + 1.0, v1 = v[0];
			if (j == m)
				x += 1.0;
		} else {
			t0 = t[j], v0 = v[j], t1 = t[j + 1], v1 = v[j + 1];
		}
		g[i] = v0 + (v1 - v0) * (x - t0) / (t1 - t0);
	}
}

static void ref_standardize(double *g, uint32_t L)
{
	long double mean = 0.0L, var = 0.0L;
	for (uint32_t i = 0; i < L; i++)
		mean += g[i];
	mean /= L;
	for (uint32_t i = 0; i < L; i++)
		var += (g[i] - mean) * (g[i] - mean);
	long double std = sqrtl(var / L);
	for (uint32_t i = 0; i < L; i++)
		g[i] = (double)((g[i] - mean) / std);
}

/* ---- helpers ------------------------------------------------------------- */

struct prepared {
	double grid[LMAX];
	double spec[LMAX + 2];
	double log_self;
};

/* A random shape: a few harmonics with random phases plus noise. */
static void random_values(tsdb_rng *r, uint32_t L, double *v)
{
	double a[3], ph[3];
	for (int h = 0; h < 3; h++) {
		a[h] = tsdb_rng_uniform(r);
		ph[h] = 2 * M_PI * tsdb_rng_uniform(r);
	}
	double noise = 0.05 + tsdb_rng_uniform(r);
	for (uint32_t i = 0; i < L; i++) {
		double t = (double)i / L;
		v[i] = noise * tsdb_rng_normal(r);
		for (int h = 0; h < 3; h++)
			v[i] += a[h] * sin(2 * M_PI * (h + 1) * t + ph[h]);
	}
}

static int grid_of(tsdb_kernel *k, const double *v, double *grid)
{
	double t[LMAX];
	for (uint32_t i = 0; i < k->L; i++)
		t[i] = (double)i / k->L;
	tsdb_err err = {0};
	int rc = tsdb_kernel_grid(k, t, v, k->L, grid, &err);
	if (rc)
		printf("# grid: %s\n", err.msg);
	return rc;
}

static int random_prepared(tsdb_kernel *k, tsdb_rng *r, struct prepared *p)
{
	double v[LMAX];
	random_values(r, k->L, v);
	if (grid_of(k, v, p->grid))
		return -1;
	tsdb_kernel_prepare(k, p->grid, p->spec, &p->log_self);
	return 0;
}

static double dist(tsdb_kernel *k, const struct prepared *a, const struct prepared *b)
{
	return tsdb_kernel_distance(k, a->spec, a->log_self, b->spec, b->log_self);
}

static int close_to_ref(double d, double ref)
{
	if (ref < 1e-4)
		return fabs(d * d - ref * ref) <= 1e-12;
	return fabs(d - ref) <= 1e-9;
}

#define CHECK_REF(d, ref, L, mult)                                                \
	CHECKF(close_to_ref(d, ref), "L=%u mult=%g: d=%.17g reference=%.17g", L, mult, d, ref)

static const uint32_t Ls[] = {4, 5, 7, 16, 100, 128, 1024};

/* The distance tests run once with the variant init picks for this CPU
 * and once more with the portable one, so both are checked here. */
static int force_generic;

static int kinit(tsdb_kernel *k, uint32_t L, double mult)
{
	tsdb_err err = {0};
	if (tsdb_kernel_init(k, L, mult, &err)) {
		printf("# %s\n", err.msg);
		return -1;
	}
	if (force_generic)
		tsdb_kernel_use_generic(k);
	return 0;
}
static const double mults[] = {1.0, 10.0};

/* ---- life cycle ----------------------------------------------------------- */

static void test_init_bounds(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	CHECK(tsdb_kernel_init(&k, 3, 1.0, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
	CHECK(k.priv == NULL);
	CHECK(tsdb_kernel_init(&k, TSDB_L_MAX + 1, 1.0, &err) == -1);
	CHECK(tsdb_kernel_init(&k, 100, 0.0, &err) == -1);
	CHECK(tsdb_kernel_init(&k, 100, -1.0, &err) == -1);
	CHECK(tsdb_kernel_init(&k, 100, NAN, &err) == -1);
	CHECK(tsdb_kernel_init(&k, 100, TSDB_MULT_MAX * 1.01, &err) == -1);
	CHECK(tsdb_kernel_init(&k, TSDB_L_MIN, TSDB_MULT_MAX, &err) == 0);
	tsdb_kernel_free(&k);
	CHECK(k.priv == NULL);
	tsdb_kernel_free(&k); /* safe on a freed kernel */
	CHECK(tsdb_kernel_init(&k, TSDB_L_MAX, 1.0, &err) == 0);
	tsdb_kernel_free(&k);
	CHECK(tsdb_spectrum_doubles(4) == 6 && tsdb_spectrum_doubles(5) == 6);
	CHECK(tsdb_spectrum_doubles(100) == 102 && tsdb_spectrum_doubles(1024) == 1026);
}

/* ---- grid ----------------------------------------------------------------- */

static void test_grid_on_grid(void)
{
	tsdb_kernel k;
	tsdb_rng r;
	tsdb_rng_seed(&r, 11);
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++) {
		REQUIRE(kinit(&k, Ls[li], 1.0) == 0);
		uint32_t L = k.L;
		double v[LMAX], g[LMAX], want[LMAX];
		random_values(&r, L, v);
		REQUIRE(grid_of(&k, v, g) == 0);
		/* points on the grid come back as they are, then standardized */
		memcpy(want, v, L * sizeof(double));
		ref_standardize(want, L);
		double sum = 0.0, sq = 0.0;
		for (uint32_t i = 0; i < L; i++) {
			CHECKF(fabs(g[i] - want[i]) < 1e-13, "L=%u g[%u]=%.17g want %.17g", L, i,
			       g[i], want[i]);
			sum += g[i];
			sq += g[i] * g[i];
		}
		CHECK(fabs(sum / L) < 1e-15 && fabs(sq / L - 1.0) < 1e-14);
		tsdb_kernel_free(&k);
	}
}

static void test_grid_duplicates(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	REQUIRE(tsdb_kernel_init(&k, 4, 1.0, &err) == 0);
	/* t = 0.25 twice: its value is the mean, 2 */
	double t[] = {0.0, 0.25, 0.5, 0.25, 0.75}, v[] = {1.0, 1.0, 5.0, 3.0, 0.0};
	double g[4], want[4] = {1.0, 2.0, 5.0, 0.0};
	REQUIRE(tsdb_kernel_grid(&k, t, v, 5, g, &err) == 0);
	ref_standardize(want, 4);
	for (int i = 0; i < 4; i++)
		CHECKF(fabs(g[i] - want[i]) < 1e-15, "g[%d]=%.17g want %.17g", i, g[i], want[i]);
	/* three copies, off the grid: (0.1, mean of 1, 2, 6 = 3) then 0.6 */
	double t2[] = {0.1, 0.6, 0.1, 0.1}, v2[] = {1.0, 7.0, 2.0, 6.0};
	double ut[] = {0.1, 0.6}, uv[] = {3.0, 7.0};
	double g2[4];
	REQUIRE(tsdb_kernel_grid(&k, t2, v2, 4, g2, &err) == 0);
	ref_interpolate(ut, uv, 2, 4, want);
	ref_standardize(want, 4);
	for (int i = 0; i < 4; i++)
		CHECKF(fabs(g2[i] - want[i]) < 1e-14, "g2[%d]=%.17g want %.17g", i, g2[i], want[i]);
	tsdb_kernel_free(&k);
}

static void test_grid_wrap(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	REQUIRE(tsdb_kernel_init(&k, 10, 1.0, &err) == 0);
	double t[] = {0.1, 0.4, 0.6}, v[] = {1.0, 2.0, 4.0};
	double g[10], want[10];
	REQUIRE(tsdb_kernel_grid(&k, t, v, 3, g, &err) == 0);
	ref_interpolate(t, v, 3, 10, want);
	/* by hand: the wrap segment runs from (0.6, 4) to (1.1, 1) */
	CHECK(fabs(want[0] - 1.6) < 1e-15 && fabs(want[9] - 2.2) < 1e-15);
	CHECK(fabs(want[7] - 3.4) < 1e-15 && fabs(want[1] - 1.0) < 1e-15);
	CHECK(fabs(want[5] - 3.0) < 1e-15);
	ref_standardize(want, 10);
	for (int i = 0; i < 10; i++)
		CHECKF(fabs(g[i] - want[i]) < 1e-14, "g[%d]=%.17g want %.17g", i, g[i], want[i]);
	tsdb_kernel_free(&k);
}

static void test_grid_unsorted(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	tsdb_rng r;
	tsdb_rng_seed(&r, 12);
	REQUIRE(tsdb_kernel_init(&k, 64, 1.0, &err) == 0);
	enum { N = 50 };
	double t[N], v[N], st[N], sv[N], g1[64], g2[64], want[64];
	/* distinct sorted times, random values */
	for (int i = 0; i < N; i++) {
		st[i] = (i + 0.9 * tsdb_rng_uniform(&r)) / N;
		sv[i] = tsdb_rng_normal(&r);
	}
	memcpy(t, st, sizeof t);
	memcpy(v, sv, sizeof v);
	for (int i = N - 1; i > 0; i--) { /* Fisher-Yates, same permutation for t and v */
		int j = (int)tsdb_rng_below(&r, (uint64_t)i + 1);
		double x = t[i];
		t[i] = t[j], t[j] = x;
		x = v[i];
		v[i] = v[j], v[j] = x;
	}
	REQUIRE(tsdb_kernel_grid(&k, st, sv, N, g1, &err) == 0);
	REQUIRE(tsdb_kernel_grid(&k, t, v, N, g2, &err) == 0);
	CHECK(memcmp(g1, g2, sizeof g1) == 0);
	ref_interpolate(st, sv, N, 64, want);
	ref_standardize(want, 64);
	for (int i = 0; i < 64; i++)
		CHECKF(fabs(g1[i] - want[i]) < 1e-13, "g[%d]=%.17g want %.17g", i, g1[i], want[i]);
	tsdb_kernel_free(&k);
}

static void test_grid_rejects(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	REQUIRE(tsdb_kernel_init(&k, 16, 1.0, &err) == 0);
	double g[16];
	double t[] = {0.1, 0.3, 0.5, 0.7}, v[] = {2.0, 2.0, 2.0, 2.0};
	CHECK(tsdb_kernel_grid(&k, t, v, 4, g, &err) == -1);
	CHECK(err.code == TSDB_E_INVALID_SERIES && strcmp(err.msg, "constant series has no shape") == 0);
	double zero[] = {0.0, -0.0, 0.0, 0.0};
	CHECK(tsdb_kernel_grid(&k, t, zero, 4, g, &err) == -1);
	/* one distinct time: constant after averaging */
	double t1[] = {0.5, 0.5, 0.5}, v1[] = {1.0, 2.0, 3.0};
	CHECK(tsdb_kernel_grid(&k, t1, v1, 3, g, &err) == -1 && err.code == TSDB_E_INVALID_SERIES);
	CHECK(tsdb_kernel_grid(&k, t1, v1, 1, g, &err) == -1);
	CHECK(tsdb_kernel_grid(&k, t1, v1, 0, g, &err) == -1);
	/* differences in the last bits are rounding noise, not a shape */
	double vn[] = {1.0, 1.0 + 0x1p-52, 1.0, 1.0 - 0x1p-53};
	CHECK(tsdb_kernel_grid(&k, t, vn, 4, g, &err) == -1);
	CHECK(strcmp(err.msg, "constant series has no shape") == 0);
	double vbig[] = {1e6, 1e6 + 1e-7, 1e6, 1e6};
	CHECK(tsdb_kernel_grid(&k, t, vbig, 4, g, &err) == -1);
	/* bad points are refused, not trusted */
	double tbad[] = {0.1, 1.0, 0.5, 0.7}, vok[] = {1.0, 2.0, 3.0, 4.0};
	CHECK(tsdb_kernel_grid(&k, tbad, vok, 4, g, &err) == -1 && strstr(err.msg, "t[1]"));
	double tnan[] = {0.1, NAN, 0.5, 0.7};
	CHECK(tsdb_kernel_grid(&k, tnan, vok, 4, g, &err) == -1);
	double vinf[] = {1.0, 2.0, INFINITY, 4.0};
	CHECK(tsdb_kernel_grid(&k, t, vinf, 4, g, &err) == -1 && strstr(err.msg, "v[2]"));
	tsdb_kernel_free(&k);
}

static void test_grid_extreme_values(void)
{
	tsdb_kernel k;
	tsdb_err err = {0};
	REQUIRE(tsdb_kernel_init(&k, 8, 1.0, &err) == 0);
	double t[] = {0.0, 0.2, 0.45, 0.7}, g[8];
	/* sums of these would overflow without scaling */
	double vhuge[] = {1.7e308, -1.7e308, 1.7e308, -1.0e308};
	double vtiny[] = {4e-320, -4e-320, 1e-321, 0.0};
	const double *vs[] = {vhuge, vtiny};
	for (int c = 0; c < 2; c++) {
		REQUIRE(tsdb_kernel_grid(&k, t, vs[c], 4, g, &err) == 0);
		double sum = 0.0, sq = 0.0;
		for (int i = 0; i < 8; i++) {
			CHECK(isfinite(g[i]));
			sum += g[i];
			sq += g[i] * g[i];
		}
		CHECKF(fabs(sum) < 1e-13 && fabs(sq / 8 - 1.0) < 1e-13, "case %d: %g %g", c, sum, sq);
	}
	/* scaling is by a power of two, so it changes no bits */
	double v1[] = {3.0, -1.5, 0.25, 7.0}, v2[4], g1[8], g2[8];
	for (int i = 0; i < 4; i++)
		v2[i] = v1[i] * 0x1p-1000;
	REQUIRE(tsdb_kernel_grid(&k, t, v1, 4, g1, &err) == 0);
	REQUIRE(tsdb_kernel_grid(&k, t, v2, 4, g2, &err) == 0);
	CHECK(memcmp(g1, g2, sizeof g1) == 0);
	tsdb_kernel_free(&k);
}

/* ---- distance ------------------------------------------------------------- */

/* ccor_s = out[s] / L^2: the stored log K(x, x) equals the direct sum. */
static void test_normalization(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 13);
	static struct prepared p;
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			REQUIRE(random_prepared(&k, &r, &p) == 0);
			double want = (double)logl(ref_kernel(p.grid, p.grid, k.L, k.mult));
			CHECKF(fabs(p.log_self - want) <= 1e-13 * fabs(want), "L=%u mult=%g: %.17g vs %.17g",
			       k.L, k.mult, p.log_self, want);
			tsdb_kernel_free(&k);
		}
}

static void test_against_reference(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 14);
	enum { N = 4 };
	static struct prepared p[N];
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			for (int i = 0; i < N; i++)
				REQUIRE(random_prepared(&k, &r, &p[i]) == 0);
			for (int i = 0; i < N; i++)
				for (int j = i + 1; j < N; j++) {
					double d = dist(&k, &p[i], &p[j]);
					double ref = ref_distance(p[i].grid, p[j].grid, k.L, k.mult);
					CHECK_REF(d, ref, k.L, k.mult);
					CHECK(d >= 0.0 && d <= sqrt(2.0));
				}
			tsdb_kernel_free(&k);
		}
}

/* Direct evaluation (no FFT) against the reference and the spectral one;
 * a direct-mode kernel makes no FFT plans and still grids series. */
static void test_direct(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 15);
	enum { N = 4 };
	static struct prepared p[N];
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k, kd;
			tsdb_err err;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			REQUIRE(tsdb_kernel_init_mode(&kd, Ls[li], mults[mi], TSDB_KERNEL_DIRECT, &err) == 0);
			CHECK(kd.direct && !k.direct);
			if (force_generic)
				tsdb_kernel_use_generic(&kd);
			for (int i = 0; i < N; i++)
				REQUIRE(random_prepared(&k, &r, &p[i]) == 0);
			for (int i = 0; i < N; i++) {
				double ls = tsdb_kernel_log_self_direct(&kd, p[i].grid);
				double twice[2 * LMAX + 16];
				REQUIRE(tsdb_direct_twice_doubles(kd.L) <= 2 * LMAX + 16);
				tsdb_kernel_direct_twice(&kd, p[i].grid, twice);
				CHECKF(fabs(ls - p[i].log_self) <= 1e-12 * fabs(p[i].log_self), "log self %.17g vs %.17g", ls,
				       p[i].log_self);
				CHECK(tsdb_kernel_distance_direct(&kd, twice, ls, p[i].grid, ls) == 0.0);
				for (int j = i + 1; j < N; j++) {
					double d = tsdb_kernel_distance_direct(&kd, twice, p[i].log_self, p[j].grid,
									       p[j].log_self);
					double ref = ref_distance(p[i].grid, p[j].grid, kd.L, kd.mult);
					CHECK_REF(d, ref, kd.L, kd.mult);
					CHECK(fabs(d - dist(&k, &p[i], &p[j])) <= 1e-9);
				}
			}
			tsdb_kernel_free(&k);
			tsdb_kernel_free(&kd);
		}
}

static void test_large_mult(void)
{
	/* mult = 1000: exp(1000) overflows a double; log-sum-exp must not */
	tsdb_rng r;
	tsdb_rng_seed(&r, 15);
	static struct prepared a, b;
	const uint32_t L[] = {7, 100};
	for (int li = 0; li < 2; li++) {
		tsdb_kernel k;
		REQUIRE(kinit(&k, L[li], TSDB_MULT_MAX) == 0);
		REQUIRE(random_prepared(&k, &r, &a) == 0);
		REQUIRE(random_prepared(&k, &r, &b) == 0);
		CHECK(isfinite(a.log_self) && a.log_self > 999.0);
		double d = dist(&k, &a, &b);
		CHECK_REF(d, ref_distance(a.grid, b.grid, k.L, k.mult), k.L, k.mult);
		CHECK(dist(&k, &a, &a) == 0.0);
		tsdb_kernel_free(&k);
	}
}

static void test_identical_is_zero(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 16);
	static struct prepared a, b;
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			for (int rep = 0; rep < 5; rep++) {
				REQUIRE(random_prepared(&k, &r, &a) == 0);
				/* prepared again into other buffers: same bits */
				memcpy(b.grid, a.grid, sizeof a.grid);
				tsdb_kernel_prepare(&k, b.grid, b.spec, &b.log_self);
				CHECK(memcmp(&a.log_self, &b.log_self, sizeof(double)) == 0);
				CHECKF(dist(&k, &a, &b) == 0.0, "L=%u: %g", k.L, dist(&k, &a, &b));
				CHECK(dist(&k, &a, &a) == 0.0);
			}
			tsdb_kernel_free(&k);
		}
}

/* The kernel sums over all shifts, so a circular shift of x has the same
 * K(x, y) terms in another order: d is 0 in exact arithmetic.  The FFT
 * rounds each ccor_s differently (~1e-16), the kernel multiplies that by
 * mult, and d = sqrt(2 (1 - kc)) turns an error e in kc into sqrt(2 e):
 * about 1e-8 * sqrt(mult), hence the bound 1e-7 * sqrt(mult). */
static void test_shift(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 17);
	static struct prepared a, b;
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			uint32_t L = k.L;
			REQUIRE(random_prepared(&k, &r, &a) == 0);
			const uint32_t shifts[] = {1, 2, L / 2, L - 1};
			for (int si = 0; si < 4; si++) {
				for (uint32_t i = 0; i < L; i++)
					b.grid[i] = a.grid[(i + shifts[si]) % L];
				tsdb_kernel_prepare(&k, b.grid, b.spec, &b.log_self);
				double d = dist(&k, &a, &b);
				CHECKF(d < 1e-7 * sqrt(k.mult), "L=%u mult=%g shift %u: d=%g", L, k.mult,
				       shifts[si], d);
			}
			tsdb_kernel_free(&k);
		}
}

static void test_negation(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 18);
	static struct prepared a, b;
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			REQUIRE(random_prepared(&k, &r, &a) == 0);
			for (uint32_t i = 0; i < k.L; i++)
				b.grid[i] = -a.grid[i];
			tsdb_kernel_prepare(&k, b.grid, b.spec, &b.log_self);
			/* K(-x, -x) = K(x, x) */
			CHECK(fabs(a.log_self - b.log_self) <= 1e-13 * fabs(a.log_self));
			/* no bound on d itself: a pure sinusoid's negation is a
			 * half-period shift, at distance 0 */
			double d = dist(&k, &a, &b);
			CHECK_REF(d, ref_distance(a.grid, b.grid, k.L, k.mult), k.L, k.mult);
			tsdb_kernel_free(&k);
		}
}

/* A spike and its negation, in closed form.  The standardized spike is
 * x_0 = sqrt(L-1), x_i = -1/sqrt(L-1); its ccor is 1 at shift 0 and
 * -1/(L-1) elsewhere, so K(x, x) = e^m + (L-1) e^(-m/(L-1)) and
 * K(x, -x) = e^-m + (L-1) e^(m/(L-1)), with K(-x, -x) = K(x, x). */
static void test_spike_closed_form(void)
{
	static struct prepared a, b;
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, Ls[li], mults[mi]) == 0);
			uint32_t L = k.L;
			double m = k.mult, v[LMAX];
			for (uint32_t i = 0; i < L; i++)
				v[i] = i == 0 ? 1.0 : 0.0;
			REQUIRE(grid_of(&k, v, a.grid) == 0);
			CHECK(fabs(a.grid[0] - sqrt(L - 1.0)) < 1e-14 * L);
			for (uint32_t i = 0; i < L; i++)
				b.grid[i] = -a.grid[i];
			tsdb_kernel_prepare(&k, a.grid, a.spec, &a.log_self);
			tsdb_kernel_prepare(&k, b.grid, b.spec, &b.log_self);
			double kxx = exp(m) + (L - 1) * exp(-m / (L - 1));
			double kxy = exp(-m) + (L - 1) * exp(m / (L - 1));
			double want = sqrt(2.0 * (1.0 - kxy / kxx));
			CHECK(fabs(a.log_self - log(kxx)) < 1e-13 * log(kxx));
			double d = dist(&k, &a, &b);
			CHECKF(fabs(d - want) < 1e-9, "L=%u mult=%g: d=%.17g want %.17g", L, m, d, want);
			CHECK(d > 0.01);
			tsdb_kernel_free(&k);
		}
}

/* Distances far below 1e-4, where only d^2 can be compared. */
static void test_near_identical(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 19);
	static struct prepared a, b;
	const double eps[] = {1e-3, 1e-5, 1e-7};
	for (size_t li = 0; li < sizeof Ls / sizeof Ls[0]; li++) {
		tsdb_kernel k;
		REQUIRE(kinit(&k, Ls[li], 1.0) == 0);
		REQUIRE(random_prepared(&k, &r, &a) == 0);
		for (int e = 0; e < 3; e++) {
			double v[LMAX];
			for (uint32_t i = 0; i < k.L; i++)
				v[i] = a.grid[i] + eps[e] * tsdb_rng_normal(&r);
			REQUIRE(grid_of(&k, v, b.grid) == 0);
			tsdb_kernel_prepare(&k, b.grid, b.spec, &b.log_self);
			double d = dist(&k, &a, &b);
			CHECK_REF(d, ref_distance(a.grid, b.grid, k.L, k.mult), k.L, k.mult);
		}
		tsdb_kernel_free(&k);
	}
}

static void test_symmetry_and_triangle(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 20);
	enum { N = 30 };
	static struct prepared p[N];
	static double d[N][N];
	const uint32_t L[] = {7, 100};
	for (int li = 0; li < 2; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			REQUIRE(kinit(&k, L[li], mults[mi]) == 0);
			for (int i = 0; i < N; i++)
				REQUIRE(random_prepared(&k, &r, &p[i]) == 0);
			for (int i = 0; i < N; i++)
				for (int j = 0; j < N; j++)
					d[i][j] = dist(&k, &p[i], &p[j]);
			int asym = 0, violations = 0;
			for (int i = 0; i < N; i++) {
				CHECK(d[i][i] == 0.0);
				for (int j = 0; j < N; j++) {
					asym += fabs(d[i][j] - d[j][i]) > 1e-12;
					for (int m = 0; m < N; m++)
						violations += d[i][m] > d[i][j] + d[j][m] + 1e-9;
				}
			}
			CHECKF(asym == 0, "L=%u mult=%g: %d asymmetric pairs", k.L, k.mult, asym);
			CHECKF(violations == 0, "L=%u mult=%g: %d triangle violations", k.L, k.mult,
			       violations);
			tsdb_kernel_free(&k);
		}
}

/* ---- the two real light curves -------------------------------------------- */

static int load_curve(const char *path, tsdb_series *s)
{
	char *buf;
	size_t len;
	tsdb_err err = {0};
	if (tsdb_read_file(path, 1 << 20, &buf, &len, &err) ||
	    tsdb_series_parse_text(buf, len, path, 100000, s, &err)) {
		printf("# %s\n", err.msg);
		free(buf); /* NULL when the read failed */
		return -1;
	}
	free(buf);
	return 0;
}

static void test_light_curves(void)
{
	tsdb_series a, b;
	REQUIRE(load_curve("tests/data/169975.dat_folded", &a) == 0);
	if (load_curve("tests/data/51886.dat_folded", &b)) {
		tsdb_series_free(&a);
		REQUIRE(0);
	}
	CHECK(a.n == 300 && b.n == 275);
	static struct prepared pa, pb, pb2;
	const uint32_t L[] = {1024, 100};
	for (int li = 0; li < 2; li++)
		for (size_t mi = 0; mi < 2; mi++) {
			tsdb_kernel k;
			tsdb_err err = {0};
			REQUIRE(kinit(&k, L[li], mults[mi]) == 0);
			CHECK(tsdb_kernel_grid(&k, a.t, a.v, a.n, pa.grid, &err) == 0);
			CHECK(tsdb_kernel_grid(&k, b.t, b.v, b.n, pb.grid, &err) == 0);
			tsdb_kernel_prepare(&k, pa.grid, pa.spec, &pa.log_self);
			tsdb_kernel_prepare(&k, pb.grid, pb.spec, &pb.log_self);
			double d = dist(&k, &pa, &pb);
			double ref = ref_distance(pa.grid, pb.grid, k.L, k.mult);
			CHECK_REF(d, ref, k.L, k.mult);
			CHECK(d > 0.01);
			CHECK(dist(&k, &pa, &pa) == 0.0 && dist(&k, &pb, &pb) == 0.0);
			/* prepared again into other buffers: still exactly 0 */
			memcpy(pb2.grid, pb.grid, sizeof pb.grid);
			tsdb_kernel_prepare(&k, pb2.grid, pb2.spec, &pb2.log_self);
			CHECK(dist(&k, &pb, &pb2) == 0.0);
			tsdb_kernel_free(&k);
		}
	tsdb_series_free(&a);
	tsdb_series_free(&b);
}

static void test_variant_names(void)
{
	tsdb_kernel k;
	REQUIRE(kinit(&k, 16, 1.0) == 0);
	const char *v = tsdb_kernel_variant(&k);
	CHECK(strcmp(v, "generic") == 0 || strcmp(v, "avx2+fma") == 0);
	printf("# variant: %s\n", v);
	tsdb_kernel_use_generic(&k);
	CHECK(strcmp(tsdb_kernel_variant(&k), "generic") == 0);
	tsdb_kernel_free(&k);
}

int main(void)
{
	RUN(test_init_bounds);
	RUN(test_grid_on_grid);
	RUN(test_grid_duplicates);
	RUN(test_grid_wrap);
	RUN(test_grid_unsorted);
	RUN(test_grid_rejects);
	RUN(test_grid_extreme_values);
	RUN(test_normalization);
	RUN(test_against_reference);
	RUN(test_direct);
	RUN(test_large_mult);
	RUN(test_identical_is_zero);
	RUN(test_shift);
	RUN(test_negation);
	RUN(test_spike_closed_form);
	RUN(test_near_identical);
	RUN(test_symmetry_and_triangle);
	RUN(test_light_curves);
	RUN(test_variant_names);

	static const struct {
		const char *name;
		void (*fn)(void);
	} again[] = {
		{"test_normalization (generic)", test_normalization},
		{"test_against_reference (generic)", test_against_reference},
		{"test_direct (generic)", test_direct},
		{"test_large_mult (generic)", test_large_mult},
		{"test_identical_is_zero (generic)", test_identical_is_zero},
		{"test_shift (generic)", test_shift},
		{"test_negation (generic)", test_negation},
		{"test_spike_closed_form (generic)", test_spike_closed_form},
		{"test_near_identical (generic)", test_near_identical},
		{"test_symmetry_and_triangle (generic)", test_symmetry_and_triangle},
		{"test_light_curves (generic)", test_light_curves},
	};
	force_generic = 1;
	for (size_t i = 0; i < sizeof again / sizeof again[0]; i++)
		tap_run(again[i].name, again[i].fn);
	return tap_done();
}
