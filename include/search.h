/*
 * search.h - exact similarity search over a database snapshot.
 *
 * k nearest: walks the vantage-point index whose vantage point is nearest
 * the query outward from d(q, v) in both directions; every series met gets
 * the lower bound max_i |d(q, v_i) - d(x, v_i)| from its stored distances,
 * and its true distance is computed only when that bound could still beat
 * the current k-th best; a direction stops when its own gap does.  The
 * answer is exactly the brute-force answer: sorted by distance, ties by id.
 * Computed distances carry rounding error (largest near 0, where
 * d = sqrt(2(1 - kc)) amplifies it to ~1e-8), so pruning keeps a slack of
 * TSDB_PRUNE_SLACK: a candidate is skipped only when its bound exceeds the
 * k-th best by more than that.
 */
#ifndef TSDB_SEARCH_H
#define TSDB_SEARCH_H

#include <stdint.h>

#include "db.h"
#include "err.h"
#include "series.h"

#define TSDB_PRUNE_SLACK 1e-6

/* A query prepared against one database: its spectrum and distances to the
 * vantage points. */
typedef struct tsdb_query {
	double *grid;       /* L, owned */
	double *spectrum;   /* owned */
	double *twice;      /* owned: the grid twice over, for direct kernels */
	double log_self;
	double vpdist[TSDB_VP_MAX];
	int64_t exclude_row; /* -1: none; by-id queries leave their series out */
} tsdb_query;

int tsdb_query_from_series(tsdb_db *db, const tsdb_series *s, tsdb_query *q, tsdb_err *err);
int tsdb_query_from_id(tsdb_db *db, const char *id, size_t id_len, tsdb_query *q, tsdb_err *err);
void tsdb_query_free(tsdb_query *q);

typedef struct tsdb_hit {
	double distance;
	const char *id;     /* into the mapping */
	size_t id_len;
	uint64_t off;       /* the series record */
} tsdb_hit;

typedef struct tsdb_search_stats {
	uint64_t computed;  /* true distances to stored series */
	uint64_t visited;   /* index entries looked at */
} tsdb_search_stats;

/* The k nearest; hits must hold k entries; *nhits <= k. */
int tsdb_search_knn(tsdb_db *db, const tsdb_query *q, uint32_t k, tsdb_hit *hits, uint32_t *nhits,
		    tsdb_search_stats *st, tsdb_err *err);

/* All within radius, sorted, at most limit (then *truncated = 1); *hits is
 * malloc'd. */
int tsdb_search_within(tsdb_db *db, const tsdb_query *q, double radius, uint32_t limit,
		       tsdb_hit **hits, uint32_t *nhits, int *truncated, tsdb_search_stats *st,
		       tsdb_err *err);

/* The reference: every stored series, true distances, the k nearest. */
int tsdb_search_brute(tsdb_db *db, const tsdb_query *q, uint32_t k, tsdb_hit *hits,
		      uint32_t *nhits, tsdb_search_stats *st, tsdb_err *err);

/* The reference for tsdb_search_within: every distance (tsdb_search_brute
 * over all stored series), then those within radius, at most limit (then
 * *truncated = 1).  *hits is malloc'd; NULL after a failure. */
int tsdb_search_brute_within(tsdb_db *db, const tsdb_query *q, double radius, uint32_t limit,
			     tsdb_hit **hits, uint32_t *nhits, int *truncated,
			     tsdb_search_stats *st, tsdb_err *err);

/* (distance, id) order. */
int tsdb_hit_cmp(const tsdb_hit *a, const tsdb_hit *b);

#endif
