/*
 * select.h - the course's select: the series whose metadata matches a
 * filter, as ids (and metadata), sorted by id or by one field, a page at
 * a time.  Shared by the handler's "select" op and `tsdb select`, whose
 * --json output is the same payload.
 *
 * Order: by id (bytes) without a sort field.  With one, series whose
 * field is a number come first (numerically, integers and reals alike,
 * exactly), then those where it is a string (by bytes), then booleans
 * (false, true), then the rest (field missing, null, an array or an
 * object); "-field" reverses the order within each of the first three
 * groups, the rest still last.  Ties always by id, so a page boundary
 * is well defined and paging with offset never skips or repeats a series
 * of one snapshot.
 */
#ifndef TSDB_SELECT_H
#define TSDB_SELECT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "predicate.h"

typedef struct tsdb_select_spec {
	const tsdb_pred *where;   /* NULL: every series */
	const json_t *fields;     /* NULL: ids only; []: all metadata; else these names */
	const char *sort_field;   /* NULL: by id */
	size_t sort_len;
	int sort_desc;
	uint32_t offset;          /* matches skipped before the first result */
	uint32_t limit;           /* results at most (>= 1) */
} tsdb_select_spec;

/* {"count": matches, "offset", "more": bool, "results": [{"id"[, "meta"]}...]}
 * where "meta" holds the requested fields the series has ({} when none),
 * or its whole metadata for fields []; NULL and err filled on failure. */
json_t *tsdb_select_run(const tsdb_db *db, const tsdb_select_spec *spec, tsdb_err *err);

#endif
