/*
 * payload.h - the JSON payloads of docs/PROTOCOL.md built from database
 * answers, shared by the handler and `tsdb` (whose --json output is the
 * handler's payload, member for member).  Knows the database's read side
 * and jansson, nothing of frames or sockets.
 */
#ifndef TSDB_PAYLOAD_H
#define TSDB_PAYLOAD_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "search.h"

/* RFC 3339 UTC (whole seconds) of the last commit into buf, or NULL for a
 * database without series. */
const char *tsdb_commit_time(const tsdb_db *db, char *buf, size_t cap);

/* {"format_version", "length", "mult", "vantage_points",
 *  "vantage_points_chosen", "seed", "series", "txn", "last_commit",
 *  "file_bytes"} */
json_t *tsdb_payload_info(const tsdb_db *db, tsdb_err *err);

/* An id from the mapping as a JSON string; one that is not a valid id
 * (not UTF-8, control bytes, NUL) means the file is damaged
 * (TSDB_E_CORRUPT). */
json_t *tsdb_payload_id(const char *id, size_t len, tsdb_err *err);

/* A grid series resampled to m points; scratch holds m doubles. */
json_t *tsdb_payload_shape(const double *grid, uint32_t L, uint32_t m, double *scratch);

/* A search answer: {"k" | "radius", "series", "computed", ["truncated"],
 * ["filter"], "results": [{"id", "distance", ["shape"]}...],
 * ["query_shape"]}.  A filtered search (filtered != 0) adds "filter":
 * {"plan", "tested", then "matched" when every series was tested (scan,
 * brute), else "matched_estimate" from the planner's sample and "sampled"
 * (absent when the plan was forced: nothing was sampled)}.  With
 * within != 0 it is a radius search (k unused), else radius and truncated
 * are unused.  shape > 0 adds the shapes (query_grid is the query's), and
 * scratch must then hold shape doubles. */
typedef struct tsdb_search_answer {
	int within;
	uint32_t k;
	double radius;
	int truncated;
	const tsdb_hit *hits;
	uint32_t nhits;
	uint32_t shape;
	const double *query_grid;
	int filtered;
	tsdb_search_stats stats;   /* distances computed, the plan, the filter's counts */
} tsdb_search_answer;

json_t *tsdb_payload_search(const tsdb_db *db, const tsdb_search_answer *a, double *scratch,
			    tsdb_err *err);

#endif
