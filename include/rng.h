/*
 * rng.h - a small, seeded, reproducible PRNG (splitmix64 seeding a
 * xoshiro256**), the same on every platform, so that generated data and
 * vantage-point choices can be reproduced from a seed.
 */
#ifndef TSDB_RNG_H
#define TSDB_RNG_H

#include <stdint.h>

typedef struct tsdb_rng { uint64_t s[4]; } tsdb_rng;

/* One step of splitmix64: advances *state and returns a well-mixed word.
 * Used to seed xoshiro and to derive independent seeds from (seed, index). */
uint64_t tsdb_splitmix64(uint64_t *state);

void tsdb_rng_seed(tsdb_rng *r, uint64_t seed);
uint64_t tsdb_rng_next(tsdb_rng *r);
/* uniform in [0, 1) with 53 random bits */
double tsdb_rng_uniform(tsdb_rng *r);
/* uniform integer in [0, n), unbiased (rejection); returns 0 for n == 0 */
uint64_t tsdb_rng_below(tsdb_rng *r, uint64_t n);
/* standard normal, Marsaglia's polar method; no cached second value, so
 * the stream depends only on the state (deterministic, no hidden state) */
double tsdb_rng_normal(tsdb_rng *r);

#endif
