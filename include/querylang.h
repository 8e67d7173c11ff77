/*
 * querylang.h - the query language of simsearch and tsdb search: one
 * s-expression compiled to one protocol request (a jansson object), e.g.
 *
 *     (top 10 (like "ts-000001") (where (>= order 4)))
 *         => {"op": "with_id", "id": "ts-000001", "k": 10,
 *             "where": {"order": {">=": 4}}}
 *
 * docs/QUERY.md is the reference: the grammar, each form's JSON, the
 * lexical rules, the errors and the bounds.  Knows nothing of files,
 * sockets or storage: (like-file "F") hands the file name back to the
 * caller, who reads the series and sets the request's "ts".
 *
 * Invariants of a successful compile: the request is a JSON object whose
 * "op" is one of with_id, with_ts, within, select, get, info, list; it
 * nests at most 64 levels (the protocol's bound, so a server never refuses
 * it as too deep); ts_file is set exactly when the op needs a series the
 * caller must supply (with_ts, and within without an id).  Every error
 * message starts with "LINE:COLUMN: " (both 1-based; columns count
 * characters, i.e. Unicode code points, a tab being one) and names what
 * was expected; error_at holds the same place as numbers.
 */
#ifndef TSDB_QUERYLANG_H
#define TSDB_QUERYLANG_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"

/* Bounds on what the text of a query may make the compiler do; past any of
 * them the query is refused (TSDB_E_TOO_LARGE), never truncated. */
#define TSDB_QL_MAX_SOURCE  (1u << 20)  /* bytes of query text */
#define TSDB_QL_MAX_DEPTH   64          /* nested parentheses */
#define TSDB_QL_MAX_TOKENS  100000u     /* tokens, parentheses included */
#define TSDB_QL_MAX_STRING  (64u << 10) /* bytes of one decoded string */
#define TSDB_QL_MAX_IN      1024u       /* values of one (in FIELD ...) */

/* Where a compile failed: the place its message starts with, and the
 * byte offset of that place in the text (for a caret under the query). */
typedef struct tsdb_ql_pos {
	size_t line;     /* 1-based */
	size_t column;   /* 1-based, in characters */
	size_t offset;   /* 0-based, in bytes */
} tsdb_ql_pos;

typedef struct tsdb_ql_result {
	json_t *request;    /* the request; owned (one reference) */
	char *ts_file;      /* NUL-terminated file name of (like-file "F"), NULL otherwise; owned */
	tsdb_ql_pos error_at; /* on failure: where; all 0 on success */
} tsdb_ql_result;

/* Compiles text[0..len) (need not be NUL-terminated; a NUL byte in it is
 * an error like any control character) into *out, which must not be NULL
 * and is overwritten.  0 on success with out->request (and out->ts_file)
 * set; -1 on failure with *out holding nothing to free, only error_at, and
 * err (if not NULL) filled: TSDB_E_TOO_LARGE for a bound, TSDB_E_UNKNOWN
 * for out of memory, TSDB_E_INVALID_ARG for everything else.  Never
 * prints, exits or reads a file; reentrant. */
int tsdb_ql_compile(const char *text, size_t len, tsdb_ql_result *out, tsdb_err *err);

/* Releases what a compile left in *r and zeroes it; safe on a zeroed or
 * failed result and safe to repeat. */
void tsdb_ql_result_free(tsdb_ql_result *r);

#endif
