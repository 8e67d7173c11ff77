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
	TSDB_OP_WITH_ID,   /* {"id", "k"?}                 top k by stored id */
	TSDB_OP_WITH_TS,   /* {"ts", "k"?}                 top k by a given series */
	TSDB_OP_GET,       /* {"id"}                       original points and meta */
	TSDB_OP_INFO,      /* {}                           parameters and counts */
	TSDB_OP_LIST,      /* {"after"?, "limit"?, "prefix"?} ids in order */
	TSDB_OP_WITHIN,    /* {"id" | "ts", "radius", "limit"?} all within radius */
};

/* Operation name as on the wire ("with_id", ...). */
const char *tsdb_op_name(enum tsdb_op op);

/* Status name for an error code ("OK" for TSDB_E_NONE). */
const char *tsdb_status_name(enum tsdb_errcode code);
/* Reverse mapping; TSDB_E_UNKNOWN for names it does not know. */
enum tsdb_errcode tsdb_status_code(const char *name);

typedef struct tsdb_request {
	enum tsdb_op op;
	int has_id;
	char id[TSDB_ID_MAX + 1];
	size_t id_len;
	int has_ts;
	tsdb_series ts;          /* owned; points validated */
	uint32_t k;              /* default 5; 1..max_k */
	double radius;           /* within: finite, >= 0 */
	uint32_t limit;          /* list/within: default 100 (list) or max_limit (within); 1..max_limit */
	int has_after;
	char after[TSDB_ID_MAX + 1];
	size_t after_len;
	int has_prefix;
	char prefix[TSDB_ID_MAX + 1];
	size_t prefix_len;
	uint32_t shape;          /* 0..256: points of each shape to return (sparklines) */
} tsdb_request;

/* Reads exactly one frame from fd: waits at most timeout_ms in total,
 * refuses a length below 4 or above max_frame (TSDB_E_TOO_LARGE) before
 * reading the body, and returns the body NUL-terminated in *body (malloc'd,
 * caller frees).  A peer that closes early or stalls is an error
 * (TSDB_E_IO / TSDB_E_TIMEOUT). */
int tsdb_frame_read(int fd, size_t max_frame, int timeout_ms, char **body,
		    size_t *len, tsdb_err *err);

/* Writes one frame holding body[0..len); retries short writes and EINTR. */
int tsdb_frame_write(int fd, const char *body, size_t len, tsdb_err *err);

/* Decodes a request body: valid UTF-8 JSON object, nesting at most
 * TSDB_JSON_MAX_DEPTH, fields checked against lim.  On failure *req is
 * left freed and err says which field is wrong. */
int tsdb_request_decode(const char *body, size_t len, const tsdb_limits *lim,
			tsdb_request *req, tsdb_err *err);
void tsdb_request_free(tsdb_request *req);

/* Encodes a response body (compact JSON, malloc'd).  payload is stolen
 * (may be NULL for JSON null); error is ignored when code is TSDB_E_NONE.
 * op_name may be NULL when the request was not understood. */
char *tsdb_response_encode(const char *op_name, enum tsdb_errcode code,
			   const char *error, json_t *payload, size_t *len);

#endif
