/*
 * kernel.c - grid interpolation, standardization and the kernel distance
 * of docs/DESIGN.md, on FFTW (double precision, r2c/c2r, FFTW_ESTIMATE).
 *
 * Invariants:
 *  - tsdb_kernel_distance allocates nothing: it runs one c2r plan made in
 *    init on the kernel's own fftw_malloc'ed buffers, so the alignment the
 *    plan was made for always holds.  Callers' spectra are copied in and
 *    out, since they may live unaligned in a mapped file.
 *  - log K(x, x) from tsdb_kernel_prepare is computed by the very code that
 *    computes log K(x, y) in tsdb_kernel_distance, so d(x, x) is exactly 0
 *    (same inputs, same plan, same operations, bit-identical result).
 *    The code is chosen per CPU (generic or AVX2+FMA) once in init; FFTW
 *    also picks codelets per CPU, so log_self stored by one machine can
 *    differ in the last bits on another, where d(x, x) is then ~1e-8.
 *  - A grid is a pure function of the points (sorted with input index as
 *    tie-break, so equal times are averaged in a fixed order).
 * Planning is not thread-safe in FFTW: create kernels from one thread.
 */
#include "kernel.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct kernel_priv {
	double *real;       /* L reals: r2c input, c2r output; direct: ccor */
	fftw_complex *half; /* L/2 + 1 complex: r2c output, c2r input */
	double *twice;      /* tsdb_direct_twice_doubles(L): for log_self_direct */
	fftw_plan r2c, c2r; /* NULL in direct mode */
	/* log K(x, y) in the variant for this CPU; fixed for the kernel's
	 * life so that log_self and distances always come from the same code */
	double (*log_kernel)(const struct tsdb_kernel *k, const double *a, const double *b);
	double (*log_kernel_direct)(const struct tsdb_kernel *k, const double *twice, const double *y);
};

size_t tsdb_spectrum_doubles(uint32_t L)
{
	return 2 * ((size_t)L / 2 + 1);
}

/* ---- grid --------------------------------------------------------------- */

struct point {
	double t, v;
	size_t i; /* input index: makes the sort order total, hence reproducible */
};

static int point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

static int constant(tsdb_err *err)
{
	return tsdb_errf(err, TSDB_E_INVALID_SERIES, "constant series has no shape");
}

/* Mean 0, population standard deviation 1.  Two passes, the second one
 * corrected by the rounding error of the mean (Chan, Golub, LeVeque).
 * A std below 1e-12 of the largest magnitude is treated as zero: such a
 * "shape" lives in the last dozen bits of the values, where interpolation
 * rounding (an ulp or two per point) is a sizeable part of it, and
 * standardizing would blow that noise up to unit variance. */
static int standardize(double *g, uint32_t L, tsdb_err *err)
{
	double sum = 0.0, amax = 0.0;
	for (uint32_t i = 0; i < L; i++) {
		sum += g[i];
		amax = fmax(amax, fabs(g[i]));
	}
	double mean = sum / L;
	double sd = 0.0, ss = 0.0;
	for (uint32_t i = 0; i < L; i++) {
		double d = g[i] - mean;
		sd += d;
		ss += d * d;
	}
	double std = sqrt((ss - sd * sd / L) / L);
	if (!isfinite(std) || !(std > 1e-12 * amax))
		return constant(err);
	for (uint32_t i = 0; i < L; i++)
		g[i] = (g[i] - mean) / std;
	return 0;
}

/* Writes the periodic linear interpolation of the m distinct sorted points
 * at t_i = i/L.  Grid times outside [u_0, u_{m-1}) fall on the segment that
 * wraps from the last point to the first point + 1. */
static void interpolate(const struct point *u, size_t m, uint32_t L, double *g)
{
	const struct point *first = &u[0], *last = &u[m - 1];
	double wrap = (1.0 - last->t) + first->t;
	size_t j = 0;
	for (uint32_t i = 0; i < L; i++) {
		double x = (double)i / L;
		while (j + 1 < m && u[j + 1].t <= x)
			j++;
		const struct point *lo, *hi;
		double dx, width;
		if (x < first->t) {
			lo = last, hi = first;
			dx = x + (1.0 - last->t);
			width = wrap;
		} else if (j + 1 == m) {
			lo = last, hi = first;
			dx = x - last->t;
			width = wrap;
		} else {
			lo = &u[j], hi = &u[j + 1];
			dx = x - lo->t;
			width = hi->t - lo->t;
		}
		g[i] = lo->v + (hi->v - lo->v) * (dx / width);
	}
}

int tsdb_kernel_grid(tsdb_kernel *k, const double *t, const double *v, size_t n,
		     double *grid, tsdb_err *err)
{
	if (n < 2)
		return constant(err);
	if (n > SIZE_MAX / sizeof(struct point))
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "%zu points", n);
	double vmax = 0.0;
	for (size_t i = 0; i < n; i++) {
		if (!(t[i] >= 0.0 && t[i] < 1.0))
			return tsdb_errf(err, TSDB_E_INVALID_SERIES, "t[%zu] is outside [0, 1)", i);
		if (!isfinite(v[i]))
			return tsdb_errf(err, TSDB_E_INVALID_SERIES, "v[%zu] is not finite", i);
		vmax = fmax(vmax, fabs(v[i]));
	}
	if (vmax == 0.0)
		return constant(err);
	/* Scale by a power of two so |v| <= 1: sums and differences below
	 * cannot overflow, and since every step (interpolation, mean, std,
	 * division) commutes exactly with power-of-two scaling, the
	 * standardized grid is the same as unscaled arithmetic would give. */
	int e;
	frexp(vmax, &e);

	struct point *u = malloc(n * sizeof *u);
	if (!u)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %zu points", n);
	for (size_t i = 0; i < n; i++)
		u[i] = (struct point){t[i], ldexp(v[i], -e), i};
	qsort(u, n, sizeof *u, point_cmp);

	/* duplicate times (exactly equal) become one point at their mean */
	size_t m = 0;
	for (size_t j = 0; j < n;) {
		size_t r = j;
		double sum = 0.0;
		for (; r < n && u[r].t == u[j].t; r++)
			sum += u[r].v;
		u[m].t = u[j].t;
		u[m].v = sum / (double)(r - j);
		m++;
		j = r;
	}
	if (m < 2) {
		free(u);
		return constant(err);
	}
	interpolate(u, m, k->L, grid);
	free(u);
	return standardize(grid, k->L, err);
}

/* ---- kernel ------------------------------------------------------------- */

/*
 * The sum of L exponentials is most of a distance's cost, so it uses an exp
 * of our own on explicit vectors of LANES doubles (GCC/Clang vector
 * extensions); libm's exp is an opaque scalar call with special-case
 * branches, about three times slower here.  Arguments are mult * ccor_s
 * minus their maximum, so they lie in [-2 mult, 0] (|ccor_s| <= 1 for
 * standardized series); anything below EXP_FLOOR is clamped there:
 * exp(-708) ~ 3e-308 added to a sum >= 1 changes nothing.
 * exp(x) = 2^k exp(r) with k = round(x / ln 2), |r| <= ln(2)/2, and exp(r)
 * by its Taylor polynomial of degree 13: truncation error < 1e-17, so the
 * result is within a couple of ulps, like libm's.
 */
#define EXP_FLOOR (-708.0)
#define EXP_DEGREE 13
#define LANES 4

typedef double vdouble __attribute__((vector_size(LANES * sizeof(double))));
typedef int64_t vint __attribute__((vector_size(LANES * sizeof(int64_t))));

static const double exp_coef[EXP_DEGREE + 1] = {
	1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040,
	1.0 / 40320, 1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600,
	1.0 / 6227020800,
};

/* *x = exp(*x) lane by lane, for lanes <= 0.  Pointers, not values: a
 * vector argument would change the ABI between CPU variants. */
static inline __attribute__((always_inline)) void vexp_nonpos(vdouble *x)
{
	const double shifter = 0x1.8p52; /* adding it rounds to an integer in the low bits */
	const double ln2_hi = 0x1.62e42feep-1;  /* 32 bits: k * ln2_hi is exact */
	const double ln2_lo = 0x1.a39ef35793c76p-33;
	const vdouble zero = {0};
	/* the clamp is written on scalars: vector compares wider than the
	 * machine's registers are scalarized by GCC, while this form becomes
	 * max instructions */
	double xs[LANES];
	memcpy(xs, x, sizeof xs);
	for (int q = 0; q < LANES; q++)
		xs[q] = xs[q] < EXP_FLOOR ? EXP_FLOOR : xs[q];
	vdouble v;
	memcpy(&v, xs, sizeof v);
	vdouble kd = v * 0x1.71547652b82fep0 + shifter; /* x / ln 2, rounded */
	vint kbits = (vint)kd;
	kd = kd - shifter;
	vdouble r = (v - kd * ln2_hi) - kd * ln2_lo;
	vdouble p = zero + exp_coef[EXP_DEGREE];
#pragma GCC unroll 16
	for (int i = EXP_DEGREE; i-- > 0;)
		p = p * r + exp_coef[i];
	/* the low bits of kbits hold k in two's complement; k + 1023 is in
	 * [1, 1023] for x in [EXP_FLOOR, 0], a normal exponent */
	vint sbits = (kbits + 1023) << 52;
	*x = p * (vdouble)sbits;
}

/* log sum_s exp(scale * out[s]), shifted by the largest term so no mult
 * can overflow and the sum is at least 1.  A last partial block is padded
 * with out[0] for the maximum and masked to 0 for the sum. */
static inline __attribute__((always_inline)) double log_sum_exp(const double *out, uint32_t L,
								double scale)
{
	uint32_t full = L - L % LANES, rest = L % LANES;
	vdouble block, tail;
	vint tail_mask;
	double hi[LANES];
	for (int q = 0; q < LANES; q++) {
		tail[q] = (uint32_t)q < rest ? out[full + q] : out[0];
		tail_mask[q] = (uint32_t)q < rest ? -1 : 0;
		hi[q] = tail[q];
	}
	for (uint32_t s = 0; s < full; s += LANES)
		for (int q = 0; q < LANES; q++) /* scalar form: see vexp_nonpos */
			hi[q] = out[s + q] > hi[q] ? out[s + q] : hi[q];
	double top = hi[0];
	for (int q = 1; q < LANES; q++)
		top = hi[q] > top ? hi[q] : top;

	vdouble acc = {0};
	for (uint32_t s = 0; s < full; s += LANES) {
		memcpy(&block, out + s, sizeof block);
		block = (block - top) * scale;
		vexp_nonpos(&block);
		acc = acc + block;
	}
	if (rest) {
		tail = (tail - top) * scale;
		vexp_nonpos(&tail);
		acc = acc + (vdouble)((vint)tail & tail_mask);
	}
	double sum = 0.0;
	for (int q = 0; q < LANES; q++)
		sum += acc[q];
	return scale * top + log(sum);
}

_Static_assert(LANES == 4, "cmul_conj2 works on two complex numbers per vector");
#if defined(__clang__) || __GNUC__ >= 12
#define SHUFFLE4(v, a, b, c, d) __builtin_shufflevector(v, v, a, b, c, d)
#else
#define SHUFFLE4(v, a, b, c, d) __builtin_shuffle(v, (vint){a, b, c, d})
#endif

/* z = conj(a) * b for two complex numbers (four doubles, re, im, re, im):
 * re = ar br + ai bi, im = ar bi - ai br. */
static inline __attribute__((always_inline)) void cmul_conj2(const double *a, const double *b,
							      double *z)
{
	const vdouble sign = {1.0, -1.0, 1.0, -1.0};
	vdouble va, vb;
	memcpy(&va, a, sizeof va);
	memcpy(&vb, b, sizeof vb);
	vdouble are = SHUFFLE4(va, 0, 0, 2, 2);
	vdouble aim = SHUFFLE4(va, 1, 1, 3, 3);
	vdouble bswap = SHUFFLE4(vb, 1, 0, 3, 2);
	vdouble vz = are * vb + aim * sign * bswap;
	memcpy(z, &vz, sizeof vz);
}

/* log K(x, y) = log sum_s exp(mult * ccor_s) from the two spectra.  With
 * FFTW's unnormalized transforms, c2r(conj(X) Y)[s] = L * sum_i x_i y_{i+s},
 * so ccor_s = out[s] / L^2. */
static inline __attribute__((always_inline)) double log_kernel(const tsdb_kernel *k,
							       const double *a, const double *b)
{
	struct kernel_priv *p = k->priv;
	double *z = (double *)p->half;
	size_t n = tsdb_spectrum_doubles(k->L), i;
	for (i = 0; i + 4 <= n; i += 4)
		cmul_conj2(a + i, b + i, z + i);
	if (i < n) { /* one complex number left: pad it to a block */
		double ta[4] = {a[i], a[i + 1], 0, 0}, tb[4] = {b[i], b[i + 1], 0, 0}, tz[4];
		cmul_conj2(ta, tb, tz);
		z[i] = tz[0];
		z[i + 1] = tz[1];
	}
	fftw_execute(p->c2r);
	return log_sum_exp(p->real, k->L, k->mult / ((double)k->L * (double)k->L));
}

/* log K(x, y) directly, O(L^2): ccor_s = (1/L) sum_j y_j x_{(j-s) mod L},
 * each a dot product of y with x rotated by s, read from x written out
 * "twice over" (tsdb_kernel_direct_twice) so every rotation is one
 * contiguous run: twice[m] = x[(m - TWICE_PAD) mod L]; the pad lets a
 * group of shifts read up to SHIFTS - 1 doubles before the start of its
 * first rotation. */
#define SHIFTS 8
#define TWICE_PAD 8
_Static_assert(TWICE_PAD >= SHIFTS - 1 && SHIFTS == 2 * LANES, "see log_kernel_direct");

static inline __attribute__((always_inline)) double log_kernel_direct(const tsdb_kernel *k,
								      const double *twice, const double *y)
{
	struct kernel_priv *p = k->priv;
	uint32_t L = k->L, full = L - L % LANES;
	double *out = p->real;
	/*
	 * SHIFTS shifts at a time, so that that many sums share each load of
	 * y.  The block of shift s + q at position i is x[i - s - q ..], and
	 * the block of shift s + q + LANES at position i + LANES is the same
	 * one: each step loads only LANES new blocks of x and reuses the other
	 * LANES from the step before (loads, not arithmetic, bounded this
	 * loop).  Each sum is accumulated in the same order however the shifts
	 * are grouped.  Shifts past L - 1 in the last group are computed and
	 * dropped.
	 */
	for (uint32_t s = 0; s < L; s += SHIFTS) {
		vdouble acc[SHIFTS], xb[SHIFTS], a;
		const double *base = twice + L + TWICE_PAD - s; /* base[j] = x[(j - s) mod L] */
#pragma GCC unroll 8
		for (int q = 0; q < SHIFTS; q++) {
			acc[q] = (vdouble){0};
			memcpy(&xb[q], base - q, sizeof xb[q]);
		}
		for (uint32_t i = 0; i < full; i += LANES) {
			if (i) {
#pragma GCC unroll 8
				for (int q = SHIFTS - 1; q >= LANES; q--)
					xb[q] = xb[q - LANES];
#pragma GCC unroll 8
				for (int q = 0; q < LANES; q++)
					memcpy(&xb[q], base + i - q, sizeof xb[q]);
			}
			memcpy(&a, y + i, sizeof a);
#pragma GCC unroll 8
			for (int q = 0; q < SHIFTS; q++)
				acc[q] = acc[q] + a * xb[q];
		}
		for (uint32_t q = 0; q < SHIFTS && s + q < L; q++) {
			double dot = acc[q][0] + acc[q][1] + acc[q][2] + acc[q][3];
			for (uint32_t i = full; i < L; i++)
				dot += y[i] * base[(ptrdiff_t)i - (ptrdiff_t)q];
			out[s + q] = dot;
		}
	}
	return log_sum_exp(out, L, k->mult / (double)L);
}

static double log_kernel_generic(const tsdb_kernel *k, const double *a, const double *b)
{
	return log_kernel(k, a, b);
}

static double log_kernel_direct_generic(const tsdb_kernel *k, const double *twice, const double *y)
{
	return log_kernel_direct(k, twice, y);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_VARIANT 1
/* The same code for CPUs with AVX2 and FMA, chosen in init: 4-wide vectors
 * and fused multiply-adds (GCC contracts only when told to) make it about
 * twice as fast.  FMAs round differently, so this variant's bits differ
 * from the generic one's; a kernel keeps one variant for its life. */
#if !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
__attribute__((target("avx2,fma"))) static double log_kernel_avx2(const tsdb_kernel *k,
								 const double *a,
								 const double *b)
{
	return log_kernel(k, a, b);
}

#if !defined(__clang__)
__attribute__((optimize("fp-contract=fast")))
#endif
__attribute__((target("avx2,fma"))) static double log_kernel_direct_avx2(const tsdb_kernel *k,
									const double *twice,
									const double *y)
{
	return log_kernel_direct(k, twice, y);
}
#endif

/* ---- life cycle and API ------------------------------------------------ */

void tsdb_kernel_free(tsdb_kernel *k)
{
	if (!k)
		return;
	struct kernel_priv *p = k->priv;
	if (p) {
		if (p->r2c)
			fftw_destroy_plan(p->r2c);
		if (p->c2r)
			fftw_destroy_plan(p->c2r);
		fftw_free(p->real);
		fftw_free(p->half);
		free(p->twice);
		free(p);
	}
	memset(k, 0, sizeof *k);
}

int tsdb_kernel_init(tsdb_kernel *k, uint32_t L, double mult, tsdb_err *err)
{
	return tsdb_kernel_init_mode(k, L, mult, TSDB_KERNEL_SPECTRAL, err);
}

int tsdb_kernel_init_mode(tsdb_kernel *k, uint32_t L, double mult, enum tsdb_kernel_mode mode,
			  tsdb_err *err)
{
	memset(k, 0, sizeof *k);
	if (L < TSDB_L_MIN || L > TSDB_L_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "grid length %u is outside [%u, %u]", L,
				 TSDB_L_MIN, TSDB_L_MAX);
	if (!(mult > 0.0 && mult <= TSDB_MULT_MAX))
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "kernel multiplier %g is outside (0, %g]", mult, TSDB_MULT_MAX);
	struct kernel_priv *p = calloc(1, sizeof *p);
	if (!p)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for a kernel");
	k->L = L;
	k->mult = mult;
	k->priv = p;
	p->real = fftw_malloc(sizeof(double) * L);
	p->half = fftw_malloc(sizeof(fftw_complex) * (L / 2 + 1));
	if (!p->real || !p->half) {
		tsdb_kernel_free(k);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for FFT buffers (L = %u)", L);
	}
	k->direct = mode == TSDB_KERNEL_DIRECT;
	if (!(p->twice = malloc(sizeof(double) * tsdb_direct_twice_doubles(L)))) {
		tsdb_kernel_free(k);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for a kernel (L = %u)", L);
	}
	if (!k->direct) {
		p->r2c = fftw_plan_dft_r2c_1d((int)L, p->real, p->half, FFTW_ESTIMATE);
		p->c2r = fftw_plan_dft_c2r_1d((int)L, p->half, p->real, FFTW_ESTIMATE);
		if (!p->r2c || !p->c2r) {
			tsdb_kernel_free(k);
			return tsdb_errf(err, TSDB_E_UNKNOWN, "FFTW could not plan length %u", L);
		}
	}
	p->log_kernel = log_kernel_generic;
	p->log_kernel_direct = log_kernel_direct_generic;
#ifdef HAVE_AVX2_VARIANT
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		p->log_kernel = log_kernel_avx2;
		p->log_kernel_direct = log_kernel_direct_avx2;
	}
#endif
	return 0;
}

const char *tsdb_kernel_variant(const tsdb_kernel *k)
{
	const struct kernel_priv *p = k->priv;
	return p->log_kernel == log_kernel_generic ? "generic" : "avx2+fma";
}

void tsdb_kernel_use_generic(tsdb_kernel *k)
{
	struct kernel_priv *p = k->priv;
	p->log_kernel = log_kernel_generic;
	p->log_kernel_direct = log_kernel_direct_generic;
}

void tsdb_kernel_prepare(tsdb_kernel *k, const double *grid, double *spectrum,
			 double *log_self)
{
	struct kernel_priv *p = k->priv;
	memcpy(p->real, grid, sizeof(double) * k->L);
	fftw_execute(p->r2c);
	memcpy(spectrum, p->half, sizeof(double) * tsdb_spectrum_doubles(k->L));
	*log_self = p->log_kernel(k, spectrum, spectrum);
}

/* d from log K(x, y) - (log K(x, x) + log K(y, y)) / 2. */
static double distance_from_log(double delta)
{
	/* 1 - kc = -expm1(log kc): no cancellation when kc is close to 1 */
	double d2 = -2.0 * expm1(delta);
	if (d2 > 0.0)
		return sqrt(d2);
	/* rounding can put kc a hair above 1; a NaN from bad input stays NaN */
	return isnan(d2) ? d2 : 0.0;
}

double tsdb_kernel_distance(tsdb_kernel *k, const double *spec_x, double log_self_x,
			    const double *spec_y, double log_self_y)
{
	const struct kernel_priv *p = k->priv;
	return distance_from_log(p->log_kernel(k, spec_x, spec_y) - 0.5 * (log_self_x + log_self_y));
}

size_t tsdb_direct_twice_doubles(uint32_t L)
{
	return 2 * (size_t)L + TWICE_PAD;
}

void tsdb_kernel_direct_twice(const tsdb_kernel *k, const double *grid, double *twice)
{
	uint32_t L = k->L;
	for (size_t m = 0; m < 2 * (size_t)L + TWICE_PAD; m++)
		twice[m] = grid[(m + 2 * (size_t)L - TWICE_PAD) % L];
}

double tsdb_kernel_log_self_direct(tsdb_kernel *k, const double *grid)
{
	const struct kernel_priv *p = k->priv;
	tsdb_kernel_direct_twice(k, grid, p->twice);
	return p->log_kernel_direct(k, p->twice, grid);
}

double tsdb_kernel_distance_direct(tsdb_kernel *k, const double *twice_x, double log_self_x,
				   const double *grid_y, double log_self_y)
{
	const struct kernel_priv *p = k->priv;
	return distance_from_log(p->log_kernel_direct(k, twice_x, grid_y) - 0.5 * (log_self_x + log_self_y));
}
