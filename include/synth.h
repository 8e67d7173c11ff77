/*
 * synth.h - the course's synthetic series generator, reproducible from a
 * seed: series `index` of a data set seeded with `seed` is
 *     t_i = i / L,  v_i = normal_pdf(t_i; m, s) + j * N(0, 1)
 * with m ~ U(0, 1), s ~ U(0.05, 0.4), j ~ U(0.05, 0.2) drawn per series.
 * Its id is "ts-<index>" zero-padded to 6 digits (sorts like the index).
 */
#ifndef TSDB_SYNTH_H
#define TSDB_SYNTH_H

#include <stdint.h>

#include "err.h"
#include "series.h"

int tsdb_synth_series(uint64_t seed, uint64_t index, uint32_t L, tsdb_series *out,
		      tsdb_err *err);

/* The course's metadata for series `index` of data set seed, set as s's
 * meta: {"order": integer in -5..5, "blarg": 1 or 2, "mean": and "std":
 * of s's values, "vp": true for about one series in 20, "level": "A".."F"},
 * each drawn uniformly from a stream of its own (the series' points do not
 * change with or without it).  -1 only when out of memory. */
int tsdb_synth_meta(uint64_t seed, uint64_t index, tsdb_series *s, tsdb_err *err);

#endif
