/*
 * proto.c - the wire protocol codec: frames, requests, responses.
 *
 * Knows nothing of storage or search; docs/PROTOCOL.md is the reference.
 *
 * Invariants:
 *  - Everything the peer controls is bounded before it costs anything: a
 *    frame's length is checked before its body is allocated, the whole
 *    frame must arrive within one deadline (CLOCK_MONOTONIC, so a clock
 *    step cannot stretch it), JSON nesting is bounded (jansson's own parse
 *    limit of 2048 keeps its recursive parser off the stack's edge; ours is
 *    checked after parsing by an iterative walk), and every field has a
 *    type and a range.
 *  - Strings from the wire are handled with their length: requests are
 *    parsed with JSON_ALLOW_NUL so that "\u0000" in an id reaches
 *    tsdb_id_validate and is refused as a control character, rather than
 *    being cut short by a NUL-terminated comparison somewhere.
 *  - A decoded request owns its series; tsdb_request_free is safe on a
 *    request in any state decode leaves it in.
 */
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

void tsdb_limits_default(tsdb_limits *lim)
{
	lim->max_frame = 8u * 1024u * 1024u;
	lim->timeout_ms = 5000;
	lim->max_k = 1000;
	lim->max_points = 1000000;
	lim->max_limit = 100000;
}

/* ---- names ---------------------------------------------------------- */

static const char *const op_names[] = {
	[TSDB_OP_WITH_ID] = "with_id",
	[TSDB_OP_WITH_TS] = "with_ts",
	[TSDB_OP_GET] = "get",
	[TSDB_OP_INFO] = "info",
	[TSDB_OP_LIST] = "list",
	[TSDB_OP_WITHIN] = "within",
	[TSDB_OP_SELECT] = "select",
};
#define N_OPS (sizeof op_names / sizeof op_names[0])

const char *tsdb_op_name(enum tsdb_op op)
{
	if ((unsigned)op >= N_OPS)
		return NULL;
	return op_names[op];
}

int tsdb_op_from_name(const char *name, size_t len, enum tsdb_op *op)
{
	for (size_t i = 0; i < N_OPS; i++) {
		if (strlen(op_names[i]) == len && memcmp(op_names[i], name, len) == 0) {
			*op = (enum tsdb_op)i;
			return 0;
		}
	}
	return -1;
}

/* Every status name in wire order (the course's first), with the code a
 * client maps it back to.  PYPE_ERROR is never sent; it is listed so that
 * old clients' names stay known. */
static const struct {
	const char *name;
	enum tsdb_errcode code;
} statuses[] = {
	{"OK", TSDB_E_NONE},
	{"UNKNOWN_ERROR", TSDB_E_UNKNOWN},
	{"INVALID_OPERATION", TSDB_E_INVALID_OP},
	{"INVALID_KEY", TSDB_E_INVALID_KEY},
	{"INVALID_COMPONENT", TSDB_E_INVALID_ARG},
	{"PYPE_ERROR", TSDB_E_UNKNOWN},
	{"INVALID_SERIES", TSDB_E_INVALID_SERIES},
	{"TOO_LARGE", TSDB_E_TOO_LARGE},
	{"TIMEOUT", TSDB_E_TIMEOUT},
	{"BAD_REQUEST", TSDB_E_BAD_REQUEST},
	{"DB_UNAVAILABLE", TSDB_E_UNAVAILABLE},
	{"DB_CORRUPT", TSDB_E_CORRUPT},
	{"IO_ERROR", TSDB_E_IO},
};

/* Codes that share a status with another: the client cannot tell a
 * duplicate id from a malformed one, nor ENOSPC from EIO, and need not. */
static enum tsdb_errcode canonical(enum tsdb_errcode code)
{
	switch (code) {
	case TSDB_E_DUPLICATE: return TSDB_E_INVALID_KEY;
	case TSDB_E_VERSION: return TSDB_E_CORRUPT;
	case TSDB_E_NOSPACE: return TSDB_E_IO;
	default: return code;
	}
}

const char *tsdb_status_name(enum tsdb_errcode code)
{
	code = canonical(code);
	/* The first row with the code: UNKNOWN_ERROR, never PYPE_ERROR. */
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (statuses[i].code == code)
			return statuses[i].name;
	return "UNKNOWN_ERROR";
}

enum tsdb_errcode tsdb_status_code(const char *name)
{
	if (!name)
		return TSDB_E_UNKNOWN;
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (strcmp(statuses[i].name, name) == 0)
			return statuses[i].code;
	return TSDB_E_UNKNOWN;
}

/* ---- deadlines and waiting ------------------------------------------ */

static int mono_ns(int64_t *out, tsdb_err *err)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return tsdb_errno(err, errno, "clock_gettime");
	*out = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	return 0;
}

int tsdb_deadline_start(tsdb_deadline *dl, int timeout_ms, tsdb_err *err)
{
	dl->timeout_ms = timeout_ms;
	dl->end_ns = 0;
	if (timeout_ms < 0)
		return 0;
	if (mono_ns(&dl->end_ns, err))
		return -1;
	dl->end_ns += (int64_t)timeout_ms * 1000000;
	return 0;
}

int tsdb_deadline_left_ms(const tsdb_deadline *dl)
{
	if (dl->timeout_ms < 0)
		return -1;
	int64_t now = 0;
	if (mono_ns(&now, NULL) || now >= dl->end_ns)
		return 0;  /* a clock that cannot be read counts as expired: never hang */
	/* Round up, so a wait never ends early and spins. */
	return (int)((dl->end_ns - now + 999999) / 1000000);
}

int tsdb_fd_wait(int fd, short events, const tsdb_deadline *dl, tsdb_err *err)
{
	for (;;) {
		int ms = tsdb_deadline_left_ms(dl);
		if (ms == 0)
			return 1;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return tsdb_errno(err, errno, "poll");
	}
}

/* ---- frames ---------------------------------------------------------- */

/* Reads n bytes into buf, which starts at byte `off` of a frame of `total`
 * bytes (0 while the header is not yet read), for the messages. */
static int read_exact(int fd, unsigned char *buf, size_t n, size_t off, size_t total,
		      const tsdb_deadline *dl, tsdb_err *err)
{
	size_t got = 0;
	while (got < n) {
		int w = tsdb_fd_wait(fd, POLLIN, dl, err);
		if (w < 0)
			return -1;
		if (w > 0) {
			if (total)
				return tsdb_errf(err, TSDB_E_TIMEOUT,
						 "timed out after %d ms with %zu of %zu bytes received",
						 dl->timeout_ms, off + got, total);
			return tsdb_errf(err, TSDB_E_TIMEOUT,
					 "timed out after %d ms with %zu of %u header bytes received",
					 dl->timeout_ms, off + got, TSDB_FRAME_HEADER);
		}
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return tsdb_errno(err, errno, "reading a frame");
		}
		if (r == 0) {
			if (total)
				return tsdb_errf(err, TSDB_E_IO, "connection closed after %zu of %zu bytes",
						 off + got, total);
			if (off + got == 0)
				return tsdb_errf(err, TSDB_E_IO, "connection closed before a frame");
			return tsdb_errf(err, TSDB_E_IO, "connection closed after %zu of %u header bytes",
					 off + got, TSDB_FRAME_HEADER);
		}
		got += (size_t)r;
	}
	return 0;
}

int tsdb_frame_read(int fd, size_t max_frame, int timeout_ms, char **body,
		    size_t *len, tsdb_err *err)
{
	*body = NULL;
	*len = 0;
	tsdb_deadline dl;
	if (tsdb_deadline_start(&dl, timeout_ms, err))
		return -1;
	unsigned char hdr[TSDB_FRAME_HEADER];
	if (read_exact(fd, hdr, sizeof hdr, 0, 0, &dl, err))
		return -1;
	uint32_t total = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
			 (uint32_t)hdr[3] << 24;
	if (total < TSDB_FRAME_HEADER)
		return tsdb_errf(err, TSDB_E_BAD_REQUEST,
				 "frame length %" PRIu32 " is less than its %u-byte header", total,
				 TSDB_FRAME_HEADER);
	if (total > max_frame)
		return tsdb_errf(err, TSDB_E_TOO_LARGE,
				 "frame of %" PRIu32 " bytes exceeds the limit of %zu bytes", total,
				 max_frame);
	size_t n = total - TSDB_FRAME_HEADER;
	char *buf = malloc(n + 1);
	if (!buf)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for a frame of %" PRIu32 " bytes",
				 total);
	if (read_exact(fd, (unsigned char *)buf, n, TSDB_FRAME_HEADER, total, &dl, err)) {
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	*body = buf;
	*len = n;
	return 0;
}

/* Writes every byte of iov[0..cnt), advancing it.  send(MSG_NOSIGNAL) on
 * a socket turns a vanished reader into EPIPE instead of a SIGPIPE that
 * would kill the process; ENOTSOCK switches to plain writev for pipes. */
static int write_all(int fd, struct iovec *iov, int cnt, const tsdb_deadline *dl, tsdb_err *err)
{
	bool is_socket = true;
	size_t done = 0;
	while (cnt > 0) {
		if (iov->iov_len == 0) {
			iov++;
			cnt--;
			continue;
		}
		ssize_t r;
		if (is_socket) {
			struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
			r = sendmsg(fd, &mh, MSG_NOSIGNAL);
			if (r < 0 && errno == ENOTSOCK) {
				is_socket = false;
				continue;
			}
		} else {
			r = writev(fd, iov, cnt);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int w = tsdb_fd_wait(fd, POLLOUT, dl, err);
				if (w < 0)
					return -1;
				if (w > 0)
					return tsdb_errf(err, TSDB_E_TIMEOUT,
							 "timed out after %d ms with %zu bytes of a frame sent",
							 dl->timeout_ms, done);
				continue;
			}
			return tsdb_errno(err, errno, "writing a frame");
		}
		done += (size_t)r;
		size_t left = (size_t)r;
		while (cnt > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	return 0;
}

int tsdb_frame_write_timeout(int fd, const char *body, size_t len, int timeout_ms,
			     tsdb_err *err)
{
	if (len > UINT32_MAX - TSDB_FRAME_HEADER)
		return tsdb_errf(err, TSDB_E_TOO_LARGE,
				 "a body of %zu bytes does not fit in a frame", len);
	tsdb_deadline dl;
	if (tsdb_deadline_start(&dl, timeout_ms, err))
		return -1;
	uint32_t total = (uint32_t)(len + TSDB_FRAME_HEADER);
	unsigned char hdr[TSDB_FRAME_HEADER] = {
		(unsigned char)total, (unsigned char)(total >> 8),
		(unsigned char)(total >> 16), (unsigned char)(total >> 24),
	};
	/* One vector, so header and body leave in one segment where they fit. */
	struct iovec iov[2] = {
		{.iov_base = hdr, .iov_len = sizeof hdr},
		{.iov_base = (void *)(uintptr_t)body, .iov_len = len},
	};
	return write_all(fd, iov, 2, &dl, err);
}

int tsdb_frame_write(int fd, const char *body, size_t len, tsdb_err *err)
{
	return tsdb_frame_write_timeout(fd, body, len, -1, err);
}

/* ---- request decoding ------------------------------------------------ */

/* A short description of a JSON value for messages ("a string", "-1"). */
static const char *describe(const json_t *v, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return "a value";
}

/* The one helper for bounded integer fields: absent -> dflt; present ->
 * must be a JSON integer (not a real, not a string) in lo..hi. */
static int field_uint(const json_t *obj, const char *name, uint32_t lo, uint32_t hi,
		      uint32_t dflt, uint32_t *out, tsdb_err *err)
{
	const json_t *v = json_object_get(obj, name);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x >= (json_int_t)lo && x <= (json_int_t)hi) {
			*out = (uint32_t)x;
			return 0;
		}
	}
	char buf[32];
	return tsdb_errf(err, TSDB_E_INVALID_ARG, "field '%s' must be an integer in %" PRIu32
			 "..%" PRIu32 ", not %s", name, lo, hi, describe(v, buf, sizeof buf));
}

/* A string field: *present says whether it is there; wrong type is an error. */
static int field_string(const json_t *obj, const char *name, bool required, bool *present,
			const char **s, size_t *len, tsdb_err *err)
{
	const json_t *v = json_object_get(obj, name);
	*present = v != NULL;
	if (!v) {
		if (required)
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "missing field '%s'", name);
		return 0;
	}
	if (!json_is_string(v)) {
		char buf[32];
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "field '%s' must be a string, not %s",
				 name, describe(v, buf, sizeof buf));
	}
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* An id-valued field ("id", "after"): a string that tsdb_id_validate
 * accepts; malformed is TSDB_E_INVALID_KEY whatever code the validator
 * chose, as the protocol promises. */
static int field_id(const json_t *obj, const char *name, bool required, int *has,
		    char out[TSDB_ID_MAX + 1], size_t *out_len, tsdb_err *err)
{
	bool present;
	const char *s = NULL;
	size_t len = 0;
	char num[TSDB_ID_NUM_MAX];
	const json_t *v = json_object_get(obj, name);
	if (v && json_is_integer(v)) {
		/* An integer id is its decimal text (PROTOCOL.md, "Ids"); every
		 * 64-bit integer fits num, so s is never NULL here. */
		present = true;
		s = tsdb_id_json_text(v, num, &len);
	} else if (field_string(obj, name, required, &present, &s, &len, err)) {
		return -1;
	}
	*has = present;
	if (!present)
		return 0;
	if (tsdb_id_validate(s, len, err)) {
		if (err)
			err->code = TSDB_E_INVALID_KEY;
		return tsdb_errctx(err, "field '%s'", name);
	}
	if (len > TSDB_ID_MAX)  /* the validator's job; never trust a copy bound to it */
		return tsdb_errf(err, TSDB_E_INVALID_KEY, "field '%s' is longer than %d bytes",
				 name, TSDB_ID_MAX);
	memcpy(out, s, len);
	out[len] = '\0';
	*out_len = len;
	return 0;
}

/* "prefix": any string of 0..TSDB_ID_MAX bytes that could begin an id. */
static int field_prefix(const json_t *obj, tsdb_request *req, tsdb_err *err)
{
	bool present;
	const char *s = NULL;
	size_t len = 0;
	if (field_string(obj, "prefix", false, &present, &s, &len, err))
		return -1;
	req->has_prefix = present;
	if (!present)
		return 0;
	if (len > TSDB_ID_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "field 'prefix' must be at most %d bytes, not %zu", TSDB_ID_MAX, len);
	/* A non-empty prefix obeys the id rules (no control characters), so
	 * a typo shows as an error rather than as an empty list. */
	if (len > 0 && tsdb_id_validate(s, len, err)) {
		if (err)
			err->code = TSDB_E_INVALID_ARG;
		return tsdb_errctx(err, "field 'prefix'");
	}
	memcpy(req->prefix, s, len);
	req->prefix[len] = '\0';
	req->prefix_len = len;
	return 0;
}

/* "ts": a series in any shape tsdb_series_from_json accepts. */
static int field_ts(const json_t *obj, const tsdb_limits *lim, tsdb_request *req,
		    tsdb_err *err)
{
	const json_t *v = json_object_get(obj, "ts");
	if (!v)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "missing field 'ts'");
	if (!json_is_object(v) && !json_is_array(v)) {
		char buf[32];
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "field 'ts' must be a series (an object or an array), not %s",
				 describe(v, buf, sizeof buf));
	}
	if (tsdb_series_from_json(v, lim->max_points, &req->ts, err))
		return tsdb_errctx(err, "field 'ts'");
	req->has_ts = 1;
	return 0;
}

static int field_radius(const json_t *obj, double *out, tsdb_err *err)
{
	const json_t *v = json_object_get(obj, "radius");
	if (!v)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "missing field 'radius'");
	if (json_is_number(v)) {
		double r = json_number_value(v);
		if (isfinite(r) && r >= 0) {
			*out = r + 0.0;  /* -0 becomes +0 */
			return 0;
		}
	}
	char buf[32];
	return tsdb_errf(err, TSDB_E_INVALID_ARG,
			 "field 'radius' must be a finite number >= 0, not %s",
			 describe(v, buf, sizeof buf));
}

static bool is_container(const json_t *v)
{
	return json_is_object(v) || json_is_array(v);
}

/* Iterative, so a hostile document cannot recurse us off the stack; the
 * stack is fixed because the walk stops as soon as it would outgrow it.
 * The root object is depth 1. */
static int check_depth(json_t *root, tsdb_err *err)
{
	struct level {
		json_t *v;
		size_t index;   /* arrays */
		void *iter;     /* objects */
	} st[TSDB_JSON_MAX_DEPTH];
	if (!is_container(root))
		return 0;
	size_t depth = 1;
	st[0] = (struct level){.v = root, .iter = json_object_iter(root)};
	while (depth > 0) {
		struct level *l = &st[depth - 1];
		json_t *child = NULL;
		if (json_is_array(l->v)) {
			if (l->index < json_array_size(l->v))
				child = json_array_get(l->v, l->index++);
		} else if (l->iter) {
			child = json_object_iter_value(l->iter);
			l->iter = json_object_iter_next(l->v, l->iter);
		}
		if (!child) {
			depth--;
			continue;
		}
		if (!is_container(child))
			continue;
		if (depth == TSDB_JSON_MAX_DEPTH)
			return tsdb_errf(err, TSDB_E_BAD_REQUEST,
					 "request nests deeper than %d levels", TSDB_JSON_MAX_DEPTH);
		st[depth++] = (struct level){.v = child, .iter = json_object_iter(child)};
	}
	return 0;
}

/* Copies at most max bytes of s for a message, control bytes as '?'. */
static void printable(const char *s, size_t len, char *out, size_t max)
{
	size_t n = len < max ? len : max;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[n] = '\0';
}

/* A filter field (predicate.h): absent -> NULL. */
static int field_where(const json_t *obj, const char *name, tsdb_request *req, tsdb_err *err)
{
	const json_t *v = json_object_get(obj, name);
	if (!v)
		return 0;
	if (req->where)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "give the filter as 'md' or as 'where', not both");
	return tsdb_pred_compile_named(v, name, &req->where, err);
}

/* select's "fields": absent or null -> ids only; an array of names. */
static int field_names(const json_t *obj, tsdb_request *req, tsdb_err *err)
{
	const json_t *v = json_object_get(obj, "fields");
	if (!v || json_is_null(v))
		return 0;
	char buf[32];
	if (!json_is_array(v))
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "field 'fields' must be null or an array of field names, not %s",
				 describe(v, buf, sizeof buf));
	if (json_array_size(v) > TSDB_SELECT_MAX_FIELDS)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "field 'fields' names %zu fields, more than %d",
				 json_array_size(v), TSDB_SELECT_MAX_FIELDS);
	size_t i;
	const json_t *name;
	json_array_foreach(v, i, name) {
		size_t len = json_is_string(name) ? json_string_length(name) : 0;
		if (!json_is_string(name) || len == 0 || len > TSDB_PRED_MAX_FIELD ||
		    memchr(json_string_value(name), '\0', len))
			return tsdb_errf(err, TSDB_E_INVALID_ARG,
					 "fields[%zu] must be a field name of 1..%d bytes without NUL",
					 i, TSDB_PRED_MAX_FIELD);
	}
	req->fields = json_incref((json_t *)v);
	return 0;
}

/* select's "additional": {"sort_by": "+f" | "-f" | "f", "limit", "offset"}. */
static int field_additional(const json_t *obj, const tsdb_limits *lim, tsdb_request *req,
			    tsdb_err *err)
{
	uint32_t list_dflt = lim->max_limit < 100 ? lim->max_limit : 100;
	const json_t *add = json_object_get(obj, "additional");
	char buf[32];
	if (!add || json_is_null(add)) {
		req->limit = list_dflt;
		return 0;
	}
	if (!json_is_object(add))
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "field 'additional' must be an object, not %s",
				 describe(add, buf, sizeof buf));
	if (field_uint(add, "limit", 1, lim->max_limit, list_dflt, &req->limit, err) ||
	    field_uint(add, "offset", 0, INT32_MAX, 0, &req->offset, err))
		return tsdb_errctx(err, "additional");
	bool present;
	const char *s = NULL;
	size_t len = 0;
	if (field_string(add, "sort_by", false, &present, &s, &len, err))
		return tsdb_errctx(err, "additional");
	if (!present)
		return 0;
	req->sort_desc = len > 0 && s[0] == '-';
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		s++;
		len--;
	}
	if (len == 0 || len > TSDB_PRED_MAX_FIELD || memchr(s, '\0', len))
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "additional.sort_by must be a field name of 1..%d bytes, optionally after '+' or '-'",
				 TSDB_PRED_MAX_FIELD);
	memcpy(req->sort_field, s, len);
	req->sort_field[len] = '\0';
	req->sort_len = len;
	req->has_sort = 1;
	return 0;
}

static int decode_op(const json_t *root, tsdb_request *req, tsdb_err *err)
{
	const json_t *v = json_object_get(root, "op");
	if (!v)
		return tsdb_errf(err, TSDB_E_INVALID_OP, "missing field 'op'");
	if (!json_is_string(v)) {
		char buf[32];
		return tsdb_errf(err, TSDB_E_INVALID_OP, "field 'op' must be a string, not %s",
				 describe(v, buf, sizeof buf));
	}
	if (tsdb_op_from_name(json_string_value(v), json_string_length(v), &req->op) == 0) {
		req->op_known = 1;
		return 0;
	}
	char name[65];
	printable(json_string_value(v), json_string_length(v), name, sizeof name - 1);
	return tsdb_errf(err, TSDB_E_INVALID_OP,
			 "unknown op '%s%s' (known: with_id, with_ts, get, info, list, within, select)",
			 name, json_string_length(v) >= sizeof name ? "..." : "");
}

/* Per-op fields, after the op itself is known. */
static int decode_fields(const json_t *root, const tsdb_limits *lim, tsdb_request *req,
			 tsdb_err *err)
{
	const uint32_t max_shape = 256;
	uint32_t k_dflt = lim->max_k < 5 ? lim->max_k : 5;
	uint32_t list_dflt = lim->max_limit < 100 ? lim->max_limit : 100;

	switch (req->op) {
	case TSDB_OP_WITH_ID:
	case TSDB_OP_WITH_TS:
		if (req->op == TSDB_OP_WITH_ID) {
			if (field_id(root, "id", true, &req->has_id, req->id, &req->id_len, err))
				return -1;
		} else if (field_ts(root, lim, req, err)) {
			return -1;
		}
		if (field_uint(root, "k", 1, lim->max_k, k_dflt, &req->k, err))
			return -1;
		if (field_where(root, "where", req, err))
			return -1;
		return field_uint(root, "shape", 0, max_shape, 0, &req->shape, err);
	case TSDB_OP_SELECT:
		if (field_where(root, "md", req, err) || field_where(root, "where", req, err) ||
		    field_names(root, req, err))
			return -1;
		return field_additional(root, lim, req, err);
	case TSDB_OP_GET:
		return field_id(root, "id", true, &req->has_id, req->id, &req->id_len, err);
	case TSDB_OP_INFO:
		return 0;
	case TSDB_OP_LIST:
		if (field_id(root, "after", false, &req->has_after, req->after, &req->after_len, err))
			return -1;
		if (field_prefix(root, req, err))
			return -1;
		return field_uint(root, "limit", 1, lim->max_limit, list_dflt, &req->limit, err);
	case TSDB_OP_WITHIN: {
		bool has_id = json_object_get(root, "id") != NULL;
		bool has_ts = json_object_get(root, "ts") != NULL;
		if (has_id == has_ts)
			return tsdb_errf(err, TSDB_E_INVALID_ARG,
					 "within needs exactly one of the fields 'id' and 'ts'");
		if (has_id) {
			if (field_id(root, "id", true, &req->has_id, req->id, &req->id_len, err))
				return -1;
		} else if (field_ts(root, lim, req, err)) {
			return -1;
		}
		if (field_radius(root, &req->radius, err))
			return -1;
		if (field_uint(root, "limit", 1, lim->max_limit, lim->max_limit, &req->limit, err))
			return -1;
		if (field_where(root, "where", req, err))
			return -1;
		return field_uint(root, "shape", 0, max_shape, 0, &req->shape, err);
	}
	}
	return tsdb_errf(err, TSDB_E_INVALID_OP, "op %d has no decoder", (int)req->op);
}

/* Every jansson allocation carries its size in a header so frees can be
 * counted against the budget. */
static size_t json_budget, json_cap, json_used;
static int json_budget_hit;   /* an allocation was refused since the last reset */

typedef union alloc_header {
	size_t size;
	max_align_t align;
} alloc_header;

/* What an allocation really costs: jansson's many small blocks (a number
 * is 24 bytes) are dominated by the header and malloc's own overhead. */
static size_t charge(size_t size)
{
	return (size + sizeof(alloc_header) + 2 * sizeof(size_t) + 15) & ~(size_t)15;
}

static void *budget_malloc(size_t size)
{
	if (size > SIZE_MAX / 2)
		return NULL;
	size_t c = charge(size);
	if (json_cap && (c > json_cap || json_used > json_cap - c)) {
		json_budget_hit = 1;
		return NULL;
	}
	alloc_header *h = malloc(sizeof *h + size);
	if (!h)
		return NULL;
	h->size = size;
	json_used += c;
	return h + 1;
}

static void budget_free(void *p)
{
	if (!p)
		return;
	alloc_header *h = (alloc_header *)p - 1;
	json_used -= charge(h->size);
	free(h);
}

void tsdb_json_budget(size_t bytes)
{
	/* Requests are refused by json_cost before parsing; the allocator's
	 * cap is a backstop above it, because jansson's lexer asserts (aborts)
	 * when some of its allocations fail. */
	json_budget = bytes;
	json_cap = bytes / 2 > SIZE_MAX - bytes ? SIZE_MAX : bytes + bytes / 2;
	json_set_alloc_funcs(budget_malloc, budget_free);
}

/* An upper estimate of what jansson allocates to parse body, from one pass
 * over its tokens: per value as measured with jansson 2.14 and this
 * allocator's accounting (an empty object costs ~315 bytes, an empty
 * array ~220, a string ~155 plus its bytes, a number ~90, a literal ~16). */
static size_t json_cost(const char *body, size_t len)
{
	size_t cost = 0;
	int in_string = 0, escaped = 0, in_token = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];
		if (in_string) {
			cost += 1;
			if (escaped)
				escaped = 0;
			else if (c == '\\')
				escaped = 1;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		int token_char = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
				 c == '.' || c == 'E';
		if (token_char && !in_token)
			cost += (c >= 'a' && c <= 'z' && c != 'e') ? 16 : 96;
		in_token = token_char;
		if (c == '{')
			cost += 320;
		else if (c == '[')
			cost += 224;
		else if (c == '"') {
			cost += 160;
			in_string = 1;
		}
	}
	return cost;
}

int tsdb_request_decode(const char *body, size_t len, const tsdb_limits *lim,
			tsdb_request *req, tsdb_err *err)
{
	memset(req, 0, sizeof *req);
	json_error_t jerr;
	/* json_loadb rejects invalid UTF-8, trailing garbage, NaN/Infinity and
	 * reals that overflow, and stops at a nesting of 2048. */
	const size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;
	if (json_budget && json_cost(body, len) > json_budget)
		return tsdb_errf(err, TSDB_E_TOO_LARGE,
				 "request would need about %zu MiB to parse, more than the %zu MiB allowed",
				 json_cost(body, len) >> 20, json_budget >> 20);
	json_budget_hit = 0;
	json_t *root = json_loadb(body, len, flags, &jerr);
	if (!root) {
		/* jansson does not always say "out of memory" when it is. */
		if (json_budget_hit)
			return tsdb_errf(err, TSDB_E_TOO_LARGE,
					 "request needs more memory to parse than the %zu MiB allowed",
					 json_cap >> 20);
		if (json_error_code(&jerr) == json_error_stack_overflow)
			return tsdb_errf(err, TSDB_E_BAD_REQUEST,
					 "request nests deeper than %d levels", TSDB_JSON_MAX_DEPTH);
		if (json_error_code(&jerr) == json_error_out_of_memory)
			return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory parsing the request");
		return tsdb_errf(err, TSDB_E_BAD_REQUEST, "request is not valid JSON: %s (byte %d)",
				 jerr.text, jerr.position);
	}
	int rc = -1;
	if (!json_is_object(root)) {
		char buf[32];
		tsdb_errf(err, TSDB_E_BAD_REQUEST, "request must be a JSON object, not %s",
			  describe(root, buf, sizeof buf));
	} else if (check_depth(root, err) == 0 && decode_op(root, req, err) == 0 &&
		   decode_fields(root, lim, req, err) == 0) {
		rc = 0;
	}
	json_decref(root);
	if (rc) {
		enum tsdb_op op = req->op;
		int known = req->op_known;
		tsdb_request_free(req);
		req->op = op;
		req->op_known = known;
	}
	return rc;
}

void tsdb_request_free(tsdb_request *req)
{
	if (!req)
		return;
	tsdb_series_free(&req->ts);
	tsdb_pred_free(req->where);
	json_decref(req->fields);
	memset(req, 0, sizeof *req);
}

/* ---- responses ------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A copy of s with each byte that starts no valid UTF-8 sequence replaced
 * by '?': a message truncated mid-character (or quoting a peer's bytes)
 * must still make a valid JSON string. */
static char *utf8_sanitize(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq(u + i, n - i);
		if (l == 0) {
			out[i++] = '?';
			continue;
		}
		memcpy(out + i, s + i, l);
		i += l;
	}
	out[n] = '\0';
	return out;
}

char *tsdb_response_encode(const char *op_name, enum tsdb_errcode code,
			   const char *error, json_t *payload, size_t *len)
{
	char *text = NULL;
	json_t *obj = json_object();
	if (!payload)
		payload = json_null();
	if (!obj) {
		json_decref(payload);
		return NULL;
	}
	json_t *op = op_name ? json_string(op_name) : NULL;
	int bad = json_object_set_new(obj, "op", op ? op : json_null());
	bad |= json_object_set_new(obj, "status", json_string(tsdb_status_name(code)));
	bad |= json_object_set_new(obj, "payload", payload);  /* steals, also on failure */
	if (code != TSDB_E_NONE) {
		char *msg = utf8_sanitize(error ? error : tsdb_status_name(code));
		bad |= msg ? json_object_set_new(obj, "error", json_string(msg)) : -1;
		free(msg);
	}
	/* Into malloc'd memory of our own, not json_dumps's: that comes from
	 * jansson's allocator, which tsdb_json_budget may have replaced. */
	size_t need = bad ? 0 : json_dumpb(obj, NULL, 0, JSON_COMPACT);
	if (need && (text = malloc(need + 1)) && json_dumpb(obj, text, need, JSON_COMPACT) == need) {
		text[need] = '\0';
		if (len)
			*len = need;
	} else {
		free(text);
		text = NULL;
	}
	json_decref(obj);
	return text;
}
