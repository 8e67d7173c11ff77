/*
 * gen.h - a synthetic data set (synth.h) written as JSON Lines, the input
 * `tsdb insert -` reads: one series object per line, ids ts-000000, ...
 *
 * The output depends only on (seed, n, L), never on the number of threads
 * that format it.
 */
#ifndef TSDB_GEN_H
#define TSDB_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* Writes series [0, n) of data set seed, L points each, to out.  -1 when
 * a series cannot be made or serialized (err says why), or when writing
 * fails (ferror(out) is then set and err is TSDB_E_IO). */
int tsdb_gen_write(FILE *out, uint64_t seed, uint64_t n, uint32_t L, tsdb_err *err);
/* The same, each series with the course's metadata when meta != 0
 * (tsdb_synth_meta). */
int tsdb_gen_write_meta(FILE *out, uint64_t seed, uint64_t n, uint32_t L, int meta, tsdb_err *err);

#endif
