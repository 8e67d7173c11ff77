/*
 * series.h - a time series as a user gives it, and its parsers.
 *
 * A tsdb_series holds the original points exactly as parsed (float64 times
 * and values, in input order, duplicates kept), an id and optional metadata
 * (the compact JSON text of an object).  Parsers accept the text format
 * (whitespace-separated columns: time, value, ignored extra columns; '#'
 * comments and blank lines ignored) and the JSON shapes documented in
 * README.md:
 *     {"id": "...", "t": [...], "v": [...], "meta": {...}}
 *     {"time_points": [...], "data_points": [...]}      (course shape)
 *     [[t...], [v...]]                                   (course shape)
 *     [[t, v], [t, v], ...]                              (list of pairs)
 * Every parser bounds the number of points it accepts (max_points) and
 * rejects, with a message naming the line or field: non-numeric or
 * non-finite numbers, times outside [0, 1), mismatched lengths, fewer than
 * TSDB_SERIES_MIN_POINTS points, a constant series, a bad id, metadata that
 * is not an object.
 *
 * Decisions:
 *  - Text numbers must be decimal floating syntax ([+-]digits[.digits][e..]);
 *    "nan", "inf" and hex floats are refused, as is anything strtod would
 *    stop short of.  Uses strtod, so a program must leave LC_NUMERIC at
 *    "C" (the default unless it calls setlocale).
 *  - [[a, ...], [b, ...]] (exactly two arrays) is read as [[t...], [v...]]
 *    unless both inner arrays have length 2; then it is two [t, v] pairs.
 *    Both readings of that ambiguous case are 2 points, which validation
 *    rejects, so the choice never decides what is stored.
 *  - In the object forms, "id" and "meta" may be null (= absent); any field
 *    other than id, meta, t, v, time_points, data_points is an error, and
 *    t/v cannot be mixed with time_points/data_points.
 *  - JSON integers become the nearest double.
 *  - On failure a parser leaves *out zeroed (nothing to free); on success
 *    *out is overwritten without being freed first.
 */
#ifndef TSDB_SERIES_H
#define TSDB_SERIES_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

#define TSDB_ID_MAX 255
#define TSDB_SERIES_MIN_POINTS 4
#define TSDB_META_MAX (64u * 1024u)   /* bytes of compact metadata JSON */

typedef struct tsdb_series {
	char id[TSDB_ID_MAX + 1]; /* NUL-terminated; id_len == 0 means "not given" */
	size_t id_len;
	size_t n;                 /* number of points */
	double *t;                /* n times, each in [0, 1), input order */
	double *v;                /* n values, finite */
	char *meta;               /* compact JSON object text, or NULL */
	size_t meta_len;
} tsdb_series;

/* Frees what the series owns and zeroes it; safe on a zeroed series. */
void tsdb_series_free(tsdb_series *s);

/* An id is 1..TSDB_ID_MAX bytes of valid UTF-8 without control characters
 * (bytes < 0x20 and 0x7f).  Slashes are allowed: ids are keys, never paths. */
int tsdb_id_validate(const char *id, size_t len, tsdb_err *err);

/* The text of an id given in JSON: a string as it is, or an integer as
 * its decimal digits (course clients send {"id": 12}), written into num;
 * NULL for any other type (a real is not an id: 12.0 and 12 would be one
 * series under two spellings). */
#define TSDB_ID_NUM_MAX 24 /* "-9223372036854775808" and its NUL */
const char *tsdb_id_json_text(const json_t *v, char num[TSDB_ID_NUM_MAX], size_t *len);

/* Sets s->id from (id, len) after validating it. */
int tsdb_series_set_id(tsdb_series *s, const char *id, size_t len, tsdb_err *err);

/* Checks the points: n >= MIN_POINTS, n <= max_points, every time finite
 * and in [0, 1), every value finite, not all values equal. */
int tsdb_series_validate(const tsdb_series *s, size_t max_points, tsdb_err *err);

/* Parses the text format.  `name` is used in messages ("51886.dat_folded
 * line 12: ...").  The id is left empty. */
int tsdb_series_parse_text(const char *buf, size_t len, const char *name,
			   size_t max_points, tsdb_series *out, tsdb_err *err);

/* Parses a series from a JSON value of any accepted shape; fills id and
 * meta when the object form carries them.  Validates the points. */
int tsdb_series_from_json(const json_t *j, size_t max_points, tsdb_series *out,
			  tsdb_err *err);

/* {"id":..., "t":[...], "v":[...], "meta":{...}}, with "id" and "meta"
 * null when absent; every number is a JSON real, which jansson prints with
 * 17 significant digits, so a dump and a parse give back every bit
 * (including -0.0 and subnormals).  NULL on allocation failure. */
json_t *tsdb_series_to_json(const tsdb_series *s);

/* Reads a whole file (or stdin for "-") into a NUL-terminated buffer of at
 * most max_bytes (TSDB_E_TOO_LARGE beyond); the caller frees *buf.  On
 * failure *buf is NULL and the message names the path. */
/* The same from an open descriptor; name is used in messages.  Refuses
 * directories; regular files larger than max_bytes fail before reading. */
int tsdb_read_fd(int fd, const char *name, size_t max_bytes, char **buf, size_t *len,
		 tsdb_err *err);

int tsdb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len,
		   tsdb_err *err);

#endif
