/*
 * rng.c - splitmix64 and xoshiro256** (Vigna's reference algorithms).
 *
 * Invariants: the whole generator state is the four words of tsdb_rng (no
 * globals, no cached normal deviate), so a stream is a pure function of the
 * seed and identical on every platform for the integer and uniform outputs.
 * A seeded state is never all zero: splitmix64 is a bijection of its
 * counter, and four consecutive outputs cannot all be zero.
 */
#include "rng.h"

#include <math.h>

uint64_t tsdb_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

void tsdb_rng_seed(tsdb_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = tsdb_splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t tsdb_rng_next(tsdb_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double tsdb_rng_uniform(tsdb_rng *r)
{
	/* the top 53 bits are the best ones of xoshiro's output */
	return (double)(tsdb_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t tsdb_rng_below(tsdb_rng *r, uint64_t n)
{
	if (n == 0)
		return 0;
	/* 2^64 mod n low outputs would be over-represented by x % n; skip them */
	uint64_t threshold = (0 - n) % n;
	for (;;) {
		uint64_t x = tsdb_rng_next(r);
		if (x >= threshold)
			return x % n;
	}
}

double tsdb_rng_normal(tsdb_rng *r)
{
	for (;;) {
		double u = 2.0 * tsdb_rng_uniform(r) - 1.0;
		double v = 2.0 * tsdb_rng_uniform(r) - 1.0;
		double s = u * u + v * v;
		if (s > 0.0 && s < 1.0)
			return u * sqrt(-2.0 * log(s) / s);
	}
}
