/*
 * query.c - the one search dispatch (see query.h).
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>

static int prepare(tsdb_db *db, const tsdb_query_spec *spec, tsdb_query *q, tsdb_err *err)
{
	if (spec->id)
		return tsdb_query_from_id(db, spec->id, spec->id_len, q, err);
	return tsdb_query_from_series(db, spec->series, q, err);
}

static int nearest(tsdb_db *db, const tsdb_query_spec *spec, tsdb_query_result *r,
		   tsdb_search_stats *st, tsdb_err *err)
{
	r->hits = calloc(spec->k, sizeof *r->hits);
	if (!r->hits)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %u results", spec->k);
	return (spec->brute ? tsdb_search_brute : tsdb_search_knn)(db, &r->query, spec->k, r->hits,
								   &r->answer.nhits, st, err);
}

static int within(tsdb_db *db, const tsdb_query_spec *spec, tsdb_query_result *r,
		  tsdb_search_stats *st, tsdb_err *err)
{
	return (spec->brute ? tsdb_search_brute_within : tsdb_search_within)(
		db, &r->query, spec->radius, spec->limit, &r->hits, &r->answer.nhits,
		&r->answer.truncated, st, err);
}

int tsdb_query_run(tsdb_db *db, const tsdb_query_spec *spec, tsdb_query_result *r,
		   tsdb_err *err)
{
	memset(r, 0, sizeof *r);
	if (prepare(db, spec, &r->query, err))
		return -1;
	r->query.where = spec->where;
	r->query.plan = spec->plan;
	tsdb_search_stats st = {0};
	if ((spec->within ? within : nearest)(db, spec, r, &st, err)) {
		tsdb_query_result_free(r);
		return -1;
	}
	r->answer.within = spec->within;
	r->answer.k = spec->k;
	r->answer.radius = spec->radius;
	r->answer.hits = r->hits;
	r->answer.filtered = spec->where != NULL;
	r->answer.stats = st;
	r->answer.query_grid = r->query.grid;
	return 0;
}

void tsdb_query_result_free(tsdb_query_result *r)
{
	free(r->hits);
	tsdb_query_free(&r->query);
	memset(r, 0, sizeof *r);
}
