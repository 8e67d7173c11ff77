/*
 * kernel.h - the distance of docs/DESIGN.md, and nothing about storage.
 *
 * A database fixes the grid length L and the kernel multiplier mult.  A
 * series is linearly interpolated onto the grid t_i = i/L with periodic
 * wrap-around (duplicate times are replaced by the mean of their values),
 * then standardized (mean 0, population standard deviation 1).  For
 * standardized x, y:
 *     ccor_s(x, y) = (1/L) sum_i x[i] y[(i+s) mod L]
 *     K(x, y)      = sum_s exp(mult * ccor_s(x, y))
 *     kc(x, y)     = K(x, y) / sqrt(K(x, x) K(y, y))
 *     d(x, y)      = sqrt(max(0, 2 (1 - kc(x, y))))
 * K is kept as its logarithm (log-sum-exp) so no mult overflows.  A
 * series' spectrum (its r2c FFT) and log K(x, x) are computed once and
 * stored; a distance then costs one c2r FFT and L exponentials.
 *
 * A tsdb_kernel owns FFTW plans and work buffers: one per thread of use.
 */
#ifndef TSDB_KERNEL_H
#define TSDB_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define TSDB_L_MIN 4u
#define TSDB_L_MAX 65536u
#define TSDB_MULT_MAX 1000.0

/* Two exact ways to evaluate K.  Spectral: one c2r FFT per distance,
 * O(L log L), after FFTW plans that cost about 1 ms to make in every new
 * process.  Direct: the L dot products themselves, O(L^2), nothing to
 * prepare; at small L it beats paying for the plans in a process that
 * computes few distances (a handler answering one query). */
enum tsdb_kernel_mode { TSDB_KERNEL_SPECTRAL, TSDB_KERNEL_DIRECT };

/* Grid lengths up to this are evaluated directly at query time. */
#define TSDB_DIRECT_MAX_L 128u

typedef struct tsdb_kernel {
	uint32_t L;
	double mult;
	int direct;   /* made with TSDB_KERNEL_DIRECT: no FFT plans */
	void *priv; /* plans and buffers, owned */
} tsdb_kernel;

/* Checks TSDB_L_MIN <= L <= TSDB_L_MAX and 0 < mult <= TSDB_MULT_MAX. */
int tsdb_kernel_init(tsdb_kernel *k, uint32_t L, double mult, tsdb_err *err);
/* tsdb_kernel_init is the spectral mode.  A direct kernel must not be
 * given to tsdb_kernel_prepare or tsdb_kernel_distance. */
int tsdb_kernel_init_mode(tsdb_kernel *k, uint32_t L, double mult, enum tsdb_kernel_mode mode,
			  tsdb_err *err);
void tsdb_kernel_free(tsdb_kernel *k);

/* Number of doubles in a spectrum: 2 * (L/2 + 1), interleaved re, im. */
size_t tsdb_spectrum_doubles(uint32_t L);

/* Interpolates the n points (t in [0,1), any order, duplicates allowed)
 * onto the grid and standardizes: grid[L].  Points with exactly equal times
 * become one point at the mean of their values; the grid is the same for
 * any input order of distinct times.  Fails (TSDB_E_INVALID_SERIES) on a
 * time outside [0, 1) or a non-finite value, and when the result is
 * constant: fewer than two distinct times, or a standard deviation below
 * 1e-12 of the largest magnitude (rounding noise, not a shape). */
int tsdb_kernel_grid(tsdb_kernel *k, const double *t, const double *v, size_t n,
		     double *grid, tsdb_err *err);

/* From a standardized grid series: its spectrum (tsdb_spectrum_doubles(L)
 * doubles, any alignment) and log K(x, x).  No allocation. */
void tsdb_kernel_prepare(tsdb_kernel *k, const double *grid, double *spectrum,
			 double *log_self);

/* d(x, y) from prepared spectra and log self-kernels.  No allocation; d is
 * in [0, sqrt(2)], and exactly 0 when both sides were prepared from the
 * same grid by a kernel running the same variant (below). */
double tsdb_kernel_distance(tsdb_kernel *k, const double *spec_x, double log_self_x,
			    const double *spec_y, double log_self_y);

/* The implementation of log K this kernel runs, chosen for the CPU in init:
 * "generic" or "avx2+fma".  Variants agree to ~1e-15 but not bit for bit,
 * so log_self values are only exactly reproducible by the same variant. */
/* Direct evaluation from standardized grids (any mode); agrees with the
 * spectral functions to rounding.  x is given "twice over" (2L + 4
 * doubles, made once per query by tsdb_kernel_direct_twice) so that every
 * rotation of it is contiguous; y is a plain grid. */
size_t tsdb_direct_twice_doubles(uint32_t L);
void tsdb_kernel_direct_twice(const tsdb_kernel *k, const double *grid, double *twice);
double tsdb_kernel_log_self_direct(tsdb_kernel *k, const double *grid);
double tsdb_kernel_distance_direct(tsdb_kernel *k, const double *twice_x, double log_self_x,
				   const double *grid_y, double log_self_y);

const char *tsdb_kernel_variant(const tsdb_kernel *k);

/* Switches to the portable variant (for tests and benchmarks); call it
 * before preparing anything with this kernel. */
void tsdb_kernel_use_generic(tsdb_kernel *k);

#endif
