/*
 * predicate.h - metadata filters: the `where` of a filtered search.
 *
 * A filter is a JSON object (docs/PROTOCOL.md, "Filters (`where`)"):
 *
 *     P      := { MEMBER, ... }        all members hold; {} matches every series
 *     MEMBER := "FIELD": COND          FIELD a top-level key of the metadata
 *             | "$and": [P, ...] | "$or": [P, ...] | "$not": P
 *     COND   := SCALAR                 equality
 *             | { OP: SCALAR, ..., "in": [SCALAR, ...], "exists": BOOL }
 *     OP     := "<" | "<=" | ">" | ">=" | "==" | "!="
 *     SCALAR := number | string | true | false
 *
 * tsdb_pred_compile checks it once and builds an immutable predicate;
 * matching it never allocates, never fails and never modifies it, so one
 * predicate serves every series a search visits.  Anything the matcher
 * could not evaluate exactly as documented is refused at compile time,
 * never ignored.
 *
 * Two matchers, which agree on every input:
 *  - tsdb_pred_match_json on a parsed metadata object;
 *  - tsdb_pred_match_text on the stored JSON text (record field `meta`),
 *    the fast path: no allocation, no jansson, one pass over the text.
 * For every byte string t of n bytes,
 *
 *     tsdb_pred_match_text(p, t, n) ==
 *         tsdb_pred_match_json(p, json_loadb(t, n, TSDB_PRED_META_JSON_FLAGS, NULL))
 *
 * where a NULL or non-object result of json_loadb counts as "no
 * metadata": text that jansson would reject (damaged, truncated, an
 * integer beyond 64 bits, a real that overflows) or that is not an
 * object is treated exactly like a series without metadata.  Duplicate
 * keys count with their last value, as jansson keeps it.
 */
#ifndef TSDB_PREDICATE_H
#define TSDB_PREDICATE_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* Bounds of a filter; each is refused with a message when exceeded. */
#define TSDB_PRED_MAX_DEPTH 32        /* predicates nested in $and, $or, $not (the top one is 1) */
#define TSDB_PRED_MAX_CONDITIONS 1024 /* comparisons, plus each $and/$or element and each $not */
#define TSDB_PRED_MAX_IN 1024         /* elements of one "in" list */
#define TSDB_PRED_MAX_VALUES 4096     /* scalar operands in all, "in" elements included */
#define TSDB_PRED_MAX_FIELD 255       /* bytes of a field name (at least 1, no NUL) */
#define TSDB_PRED_MAX_STRING 4096     /* bytes of a string operand */

/* The jansson flags that define how stored metadata text reads: those of
 * tsdb_series_to_json, so a filter sees exactly the metadata `get` shows
 * (a string holding "\u0000" included). */
#define TSDB_PRED_META_JSON_FLAGS JSON_ALLOW_NUL

typedef struct tsdb_pred tsdb_pred;

/* Compiles where into *out (free with tsdb_pred_free).  On a refusal
 * returns -1, sets *out to NULL and fills err: TSDB_E_TOO_LARGE past a
 * bound above, TSDB_E_INVALID_ARG otherwise, with a message naming the
 * place, e.g. `where.$or[2].level: "<" needs a number or a string, not
 * true`.  Integers beyond json_int_t never reach here: jansson refuses to
 * parse them (the request decoder answers BAD_REQUEST). */
int tsdb_pred_compile(const json_t *where, tsdb_pred **out, tsdb_err *err);

/* The same, with messages naming the filter `name` instead of "where"
 * (the course's select passes its metadata filter as "md"). */
int tsdb_pred_compile_named(const json_t *where, const char *name, tsdb_pred **out,
			    tsdb_err *err);

void tsdb_pred_free(tsdb_pred *p);

/* 1 if the series whose metadata is meta matches, else 0.  meta is an
 * object, or NULL for a series without metadata (anything but an object
 * counts as NULL). */
int tsdb_pred_match_json(const tsdb_pred *p, const json_t *meta);

/* The same on the stored text: meta[0..len) as written by the writer
 * (compact JSON), or any bytes at all; NULL (or text jansson rejects):
 * no metadata.  The text is only read, never beyond len. */
int tsdb_pred_match_text(const tsdb_pred *p, const char *meta, size_t len);

/* For the planner.  The distinct field names the predicate reads, in
 * byte order (memcmp, a prefix first): field i is NUL-terminated and
 * *len (if len is non-NULL) is its length.  A series matches or not
 * depending only on these top-level members of its metadata. */
size_t tsdb_pred_field_count(const tsdb_pred *p);
const char *tsdb_pred_field(const tsdb_pred *p, size_t i, size_t *len);

/* A predicate that reads no field is constant: always true ({} and
 * {"$and": [{}]}) or always false ({"$not": {}}).  These answer 1 for
 * those and 0 for every predicate that reads a field (even one that
 * happens to be a tautology).  Whether series without metadata can match
 * is tsdb_pred_match_text(p, NULL, 0). */
int tsdb_pred_always_true(const tsdb_pred *p);
int tsdb_pred_always_false(const tsdb_pred *p);

/* For a planner with a sorted index per field: the values of one field a
 * matching series can hold, as a few ranges to look up instead of
 * testing every series.  A number is placed by its value as a double, an
 * integer rounded to nearest: the indexes order int64 and real values on
 * one axis, and rounding is monotone, so an integer x <= n still gives
 * round(x) <= round(n) (distinct integers beyond 2^53 may round alike,
 * which only widens a range). */
enum tsdb_pred_range_kind { TSDB_PRED_RANGE_NUMBER, TSDB_PRED_RANGE_STRING, TSDB_PRED_RANGE_BOOL };

typedef struct tsdb_pred_range {
	enum tsdb_pred_range_kind kind;
	/* NUMBER: lo <= round(x) <= hi, where round(x) is the value as a double (an integer
	 * rounded to nearest, which is monotone, so bounds from integer operands rounded the
	 * same way stay valid); -INFINITY / INFINITY when unbounded.
	 * BOOL: lo <= x <= hi with false = 0, true = 1. */
	double lo, hi;
	/* STRING: slo <= x <= shi in byte order (memcmp, a prefix first); NULL = unbounded.
	 * They point into the predicate (valid while it lives). */
	const char *slo, *shi;
	size_t slo_len, shi_len;
} tsdb_pred_range;

/* An "in" list is the widest single test, so one fits whole. */
#define TSDB_PRED_MAX_RANGES TSDB_PRED_MAX_IN

/* A necessary condition on field i (as numbered by tsdb_pred_field): every metadata
 * object the predicate matches has, as top-level member field i, a number, a string or a
 * boolean lying in one of the returned ranges (bounds inclusive).  Returns how many
 * ranges were written to out (room for TSDB_PRED_MAX_RANGES): 0 means no series can
 * match at all; -1 means the predicate bounds that field in no such way (a matching
 * series may lack it, or hold any value, e.g. under "!=", "exists", "$not"), and also
 * answers an i past the fields.  The ranges are sorted (numbers, then strings, then
 * booleans; within a kind by lower bound) and disjoint (overlapping or touching ranges
 * merged), so enumerating them never meets a series twice.  They may be wider than the
 * exact set (the caller re-tests the predicate), never narrower: a strict bound stays
 * inclusive, and where the exact answer would take more than TSDB_PRED_MAX_RANGES ranges
 * (or memory runs out) a wider one is given.  Allocates scratch memory, frees it. */
int tsdb_pred_field_ranges(const tsdb_pred *p, size_t i, tsdb_pred_range *out);

#endif
