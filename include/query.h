/*
 * query.h - one search as the server and `tsdb search` both run it: the
 * query from a stored id or from a series, then the k nearest or all
 * within a radius, pruned by the vantage points or by brute force.  The
 * result is what tsdb_payload_search prints, so the two cannot drift.
 */
#ifndef TSDB_QUERY_H
#define TSDB_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "payload.h"
#include "search.h"
#include "series.h"

typedef struct tsdb_query_spec {
	const char *id;            /* query by this stored series (left out of the results)... */
	size_t id_len;
	const tsdb_series *series; /* ...or, when id is NULL, by this one */
	int within;                /* all within radius (at most limit), else the k nearest */
	uint32_t k;                /* >= 1 */
	double radius;
	uint32_t limit;
	int brute;                 /* every distance instead of the index (the reference) */
	const tsdb_pred *where;    /* only series whose metadata matches; NULL: all */
	enum tsdb_plan plan;       /* with where: TSDB_PLAN_AUTO, or the plan to force */
} tsdb_query_spec;

/* answer is ready for tsdb_payload_search (shape 0: set answer.shape to
 * add shapes); its hits and query_grid point into the result. */
typedef struct tsdb_query_result {
	tsdb_search_answer answer;
	tsdb_query query;
	tsdb_hit *hits;
} tsdb_query_result;

/* Runs spec against db.  On failure *r is freed already (and free again
 * is harmless). */
int tsdb_query_run(tsdb_db *db, const tsdb_query_spec *spec, tsdb_query_result *r,
		   tsdb_err *err);
void tsdb_query_result_free(tsdb_query_result *r);

#endif
