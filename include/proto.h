/*
 * proto.h - the wire protocol: frames, requests, responses.  Knows nothing
 * of storage or search.
 *
 * A frame is a 4-byte unsigned little-endian length that counts the whole
 * frame (header included) followed by length - 4 bytes of UTF-8 JSON.  One
 * request frame and one response frame per connection.
 *
 * A request is a JSON object with "op"; unknown fields are ignored, missing
 * or mistyped known fields are errors (TSDB_E_INVALID_ARG), an unknown op is
 * TSDB_E_INVALID_OP.  A response is
 *     {"op": <op or null>, "status": <status name>, "payload": <value>}
 * plus "error": <message> when status is not "OK".  Status names begin with
 * the course's TSDBStatus values (OK, UNKNOWN_ERROR, INVALID_OPERATION,
 * INVALID_KEY, INVALID_COMPONENT, PYPE_ERROR) and continue with tsdb's own;
 * docs/PROTOCOL.md is the reference.
 */
#ifndef TSDB_PROTO_H
#define TSDB_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "predicate.h"
#include "series.h"

#define TSDB_FRAME_HEADER 4u
#define TSDB_JSON_MAX_DEPTH 64   /* nesting a request may use */

/* Bounds on what a client controls; tsdb_limits_default fills sane ones. */
typedef struct tsdb_limits {
	size_t max_frame;    /* bytes, header included (default 8 MiB) */
	int timeout_ms;      /* to receive a whole request (default 5000) */
	uint32_t max_k;      /* default 1000 */
	size_t max_points;   /* points in a query series (default 1,000,000) */
	uint32_t max_limit;  /* results of list/within (default 100,000) */
} tsdb_limits;

void tsdb_limits_default(tsdb_limits *lim);

enum tsdb_op {
	TSDB_OP_WITH_ID,   /* {"id", "k"?, "shape"?}       top k by stored id */
	TSDB_OP_WITH_TS,   /* {"ts", "k"?, "shape"?}       top k by a given series */
	TSDB_OP_GET,       /* {"id"}                       original points and meta */
	TSDB_OP_INFO,      /* {}                           parameters and counts */
	TSDB_OP_LIST,      /* {"after"?, "limit"?, "prefix"?} ids in order */
	TSDB_OP_WITHIN,    /* {"id" | "ts", "radius", "limit"?, "shape"?} all within radius */
	TSDB_OP_SELECT,    /* {"md"?, "fields"?, "additional"?: {"sort_by"?, "limit"?, "offset"?}}
	                    * the ids (and metadata) of the series matching md */
};

#define TSDB_SELECT_MAX_FIELDS 64   /* names in a select's "fields" */

/* Operation name as on the wire ("with_id", ...); NULL for a value that
 * names no op. */
const char *tsdb_op_name(enum tsdb_op op);
/* Reverse mapping of (name, len) (len bytes, NUL bytes included); 0 and
 * *op set when it names an op, -1 otherwise. */
int tsdb_op_from_name(const char *name, size_t len, enum tsdb_op *op);

/* Status name for an error code ("OK" for TSDB_E_NONE). */
const char *tsdb_status_name(enum tsdb_errcode code);
/* Reverse mapping; TSDB_E_UNKNOWN for names it does not know. */
enum tsdb_errcode tsdb_status_code(const char *name);

typedef struct tsdb_request {
	enum tsdb_op op;
	int op_known;            /* op is valid; kept even when decoding fails later,
	                          * so the error response can name the op */
	int has_id;
	char id[TSDB_ID_MAX + 1];
	size_t id_len;
	int has_ts;
	tsdb_series ts;          /* owned; points validated */
	uint32_t k;              /* default 5 (at most max_k); 1..max_k */
	double radius;           /* within: finite, >= 0 */
	uint32_t limit;          /* list: default 100 (at most max_limit); within: default max_limit; 1..max_limit */
	int has_after;
	char after[TSDB_ID_MAX + 1];
	size_t after_len;
	int has_prefix;
	char prefix[TSDB_ID_MAX + 1];
	size_t prefix_len;
	uint32_t shape;          /* 0..256: points of each shape to return (sparklines) */
	tsdb_pred *where;        /* owned; NULL: no filter.  with_id, with_ts, within:
	                          * "where"; select: "md" (or "where") */
	/* select */
	json_t *fields;          /* owned; NULL: ids only; []: all metadata; else names */
	int has_sort;
	char sort_field[TSDB_PRED_MAX_FIELD + 1];  /* "sort_by" without its sign */
	size_t sort_len;
	int sort_desc;           /* "-field" */
	uint32_t offset;         /* matches skipped before the first result (paging) */
} tsdb_request;

/* A point in time (CLOCK_MONOTONIC) by which an exchange must be done, so
 * that a sequence of waits (connect, send, receive) shares one budget. */
typedef struct tsdb_deadline {
	int timeout_ms;   /* as given; < 0: no deadline */
	int64_t end_ns;
} tsdb_deadline;

int tsdb_deadline_start(tsdb_deadline *dl, int timeout_ms, tsdb_err *err);
/* Milliseconds left, rounded up; 0 once passed, -1 without a deadline. */
int tsdb_deadline_left_ms(const tsdb_deadline *dl);
/* Waits (poll, EINTR-safe) until fd is ready for events (POLLIN, POLLOUT):
 * 0 when ready (or in error/hangup: the next read or write tells), 1 when
 * the deadline passed first (err untouched), -1 on failure (err filled). */
int tsdb_fd_wait(int fd, short events, const tsdb_deadline *dl, tsdb_err *err);

/* Bounds the memory jansson may hold at once in this process (requests
 * parse to ~70 bytes of tree per byte of JSON, so the frame bound alone
 * does not bound memory): past it, allocations fail and a request being
 * decoded is refused as TSDB_E_TOO_LARGE.  Process-wide; the handler sets
 * it once at start.  0 removes the bound. */
void tsdb_json_budget(size_t bytes);

/* Reads exactly one frame from fd: waits at most timeout_ms in total
 * (< 0: no deadline), refuses a length below 4 (TSDB_E_BAD_REQUEST) or above
 * max_frame (TSDB_E_TOO_LARGE) before reading or allocating the body, and
 * returns the body NUL-terminated in *body (malloc'd, caller frees; the body
 * itself may contain NUL bytes, *len is its true length).  A peer that
 * closes early or stalls is an error (TSDB_E_IO / TSDB_E_TIMEOUT).  Never
 * reads past the frame. */
int tsdb_frame_read(int fd, size_t max_frame, int timeout_ms, char **body,
		    size_t *len, tsdb_err *err);

/* Writes one frame holding body[0..len); retries short writes and EINTR.
 * Uses send(MSG_NOSIGNAL) on sockets, so a closed peer is EPIPE and never
 * SIGPIPE; falls back to write() for pipes and files (there the caller
 * ignores SIGPIPE if it must survive a closed reader).  A body that would
 * make the frame longer than 2^32 - 1 bytes is TSDB_E_TOO_LARGE.  Waits
 * without limit on a non-blocking fd that is full. */
int tsdb_frame_write(int fd, const char *body, size_t len, tsdb_err *err);
/* The same with a total deadline of timeout_ms (< 0: none) for the whole
 * frame; a peer that does not take it in time is TSDB_E_TIMEOUT. */
int tsdb_frame_write_timeout(int fd, const char *body, size_t len,
			     int timeout_ms, tsdb_err *err);

/* Decodes a request body: valid UTF-8 JSON object without duplicate keys,
 * nesting at most TSDB_JSON_MAX_DEPTH (else TSDB_E_BAD_REQUEST), a known
 * "op" (else TSDB_E_INVALID_OP), fields checked against lim (else
 * TSDB_E_INVALID_ARG, TSDB_E_INVALID_KEY for a malformed id, the series
 * parser's code for a bad "ts").  On failure *req is left freed (safe to
 * free again) with only op/op_known kept, and err names the field. */
int tsdb_request_decode(const char *body, size_t len, const tsdb_limits *lim,
			tsdb_request *req, tsdb_err *err);
void tsdb_request_free(tsdb_request *req);

/* Encodes a response body (compact JSON, malloc'd, NUL-terminated).
 * payload is stolen, also on failure (may be NULL for JSON null); error is
 * ignored when code is TSDB_E_NONE (NULL otherwise means the status name);
 * bytes of error that are not valid UTF-8 are replaced by '?'.  op_name may
 * be NULL when the request was not understood.  NULL on allocation failure. */
char *tsdb_response_encode(const char *op_name, enum tsdb_errcode code,
			   const char *error, json_t *payload, size_t *len);

#endif
