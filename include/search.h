/*
 * search.h - exact similarity search over a database snapshot.
 *
 * k nearest: walks one vantage-point index outward from d(q, v) in both
 * directions -- the index whose keys lie sparsest around d(q, v), found
 * by stepping a cursor 32 keys each way in every index (in a database
 * under 2,048 series, the index of the nearest vantage point); every series met gets
 * the lower bound max_i |d(q, v_i) - d(x, v_i)| from its stored distances,
 * and its true distance is computed only when that bound could still beat
 * the current k-th best; a direction stops when its own gap does.  The
 * answer is exactly the brute-force answer: sorted by distance, ties by id.
 * Computed distances carry rounding error (largest near 0, where
 * d = sqrt(2(1 - kc)) amplifies it to ~1e-8), so pruning keeps a slack of
 * TSDB_PRUNE_SLACK: a candidate is skipped only when its bound exceeds the
 * k-th best by more than that.
 *
 * Filtered (q->where): the answer is exactly the brute-force answer over
 * the series whose metadata matches -- min(k, matches) results -- found by
 * one of three plans, all exact, so choosing wrongly costs only time:
 *   walk  the walk above, testing the filter on each candidate before its
 *         distance (a failing candidate costs a metadata test, never a
 *         distance), until k matches bound the rest;
 *   scan  every series in id order: the filter, then the pivot lower
 *         bound against the k-th best, then the distance.
 *   index where a metadata index exists on a field the filter bounds
 *         (tsdb_pred_field_ranges): the series in that range only, the
 *         filter on each, then true distances in increasing lower bound
 *         until the bound rules out the rest.  Every match has an entry
 *         in range, so nothing is missed; the filter re-tested on each
 *         makes the rounding of keys harmless.
 * TSDB_PLAN_AUTO weighs them by cost, in units of one filter test on one
 * series: a scan costs n; a walk TSDB_PLAN_SCAN_K per candidate, and it
 * needs about k / s of them at selectivity s; the index plan
 * TSDB_PLAN_INDEX_COST per entry in range (a record read through the
 * mapping, the filter, a lower bound: measured about twice a scan's
 * step).  An index range of at most n / TSDB_PLAN_INDEX_DIVISOR entries
 * (between TSDB_PLAN_SAMPLE and TSDB_PLAN_INDEX_FIRST_MAX) is taken at
 * once, for k-nearest and radius searches alike.  Otherwise s comes from
 * a sample: the filter tested on the first ids (at least
 * TSDB_PLAN_SAMPLE, and on until TSDB_PLAN_SAMPLE_HITS matched or n / 16
 * were tested), and the cheapest of walk, scan and an index range
 * counted up to what they would cost wins.  A scan goes on from where
 * the sample stopped, so the sample costs it nothing.  A radius search
 * without a small index range walks: its work is the radius ball's,
 * whatever the filter.  Ranges are counted by walking them (the trees
 * keep no subtree counts), stopping at the cap: a count costs at most
 * the cap's node reads, and the field with the fewest entries in range
 * wins.
 */
#ifndef TSDB_SEARCH_H
#define TSDB_SEARCH_H

#include <stdint.h>

#include "db.h"
#include "err.h"
#include "predicate.h"
#include "series.h"

#define TSDB_PRUNE_SLACK 1e-6
#define TSDB_PLAN_SAMPLE 512u     /* ids the planner tests at least... */
#define TSDB_PLAN_SAMPLE_HITS 4u  /* ...and on, up to n / 16, until this many matched */
#define TSDB_PLAN_SCAN_K 5.0
#define TSDB_PLAN_INDEX_DIVISOR 64u     /* an index range this small is taken without a sample */
#define TSDB_PLAN_INDEX_FIRST_MAX 4096u /* nor larger than this */
#define TSDB_PLAN_INDEX_COST 2.0        /* per entry, in filter tests */

enum tsdb_plan {
	TSDB_PLAN_AUTO,   /* the planner's choice (see above) */
	TSDB_PLAN_WALK,
	TSDB_PLAN_SCAN,
	TSDB_PLAN_BRUTE,  /* every matching series' true distance: the reference */
	TSDB_PLAN_INDEX,  /* the series a metadata index puts in the filter's range */
};

/* "auto", "walk", "scan", "brute", "index". */
const char *tsdb_plan_name(enum tsdb_plan plan);
/* The reverse; -1 for a name that is none of them. */
int tsdb_plan_from_name(const char *name, enum tsdb_plan *plan);

/* A query prepared against one database: its spectrum and distances to the
 * vantage points. */
typedef struct tsdb_query {
	double *grid;       /* L, owned */
	double *spectrum;   /* owned */
	double *twice;      /* owned: the grid twice over, for direct kernels */
	double log_self;
	double vpdist[TSDB_VP_MAX];
	int64_t exclude_row; /* -1: none; by-id queries leave their series out */
	const tsdb_pred *where; /* borrowed; NULL: every series */
	enum tsdb_plan plan;    /* TSDB_PLAN_AUTO unless the caller forces one */
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
	uint64_t tested;    /* series the filter was tested on (the sample aside) */
	uint64_t matched;   /* of those, the ones it matched */
	uint32_t sampled, sample_matched; /* the planner's sample (AUTO, filtered) */
	enum tsdb_plan plan; /* the plan that ran: never AUTO */
	const char *index_field; /* INDEX: the indexed field (into the db) */
	uint64_t index_entries;  /* INDEX: its entries in range */
} tsdb_search_stats;

/* The metadata index a filter is best answered from: the one on a field
 * the filter bounds with the fewest entries in range, if at most cap.
 * ix is NULL when none qualifies.  select uses it too. */
typedef struct tsdb_index_plan {
	const tsdb_midx *ix;
	tsdb_pred_range *ranges;  /* owned */
	int nranges;
	uint64_t entries;
} tsdb_index_plan;

int tsdb_index_plan_choose(const tsdb_db *db, const tsdb_pred *where, uint64_t cap, tsdb_index_plan *ip,
			   tsdb_err *err);
void tsdb_index_plan_free(tsdb_index_plan *ip);

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
