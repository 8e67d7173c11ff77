/*
 * fuzz_request.c - libFuzzer target for the protocol codec (proto.h): the
 * frame reader, the request decoder and the response encoder, i.e. every
 * byte a client controls before the handler touches the database.
 *
 * Each input is used twice:
 *  1. as the raw bytes of a connection: written to a pipe whose write end
 *     is then closed, read back with tsdb_frame_read (a small max_frame so
 *     length checks are reachable), and the body, if a frame arrived,
 *     decoded;
 *  2. as a request body handed straight to tsdb_request_decode (most of
 *     the corpus is JSON, which a length prefix would otherwise hide).
 * Every decoded request is checked against the decoder's contract (ranges,
 * valid ids, a validated series) and answered with tsdb_response_encode;
 * the response must be valid JSON naming a known status.  A violated
 * contract aborts, which libFuzzer reports as a crash: those are bugs even
 * when no sanitizer fires.
 */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "proto.h"
#include "series.h"

/* Small enough that "frame too large" is reachable from a fuzzed header,
 * large enough for every input the fuzzer is given (-max_len). */
#define FUZZ_MAX_FRAME (1u << 20)
/* The write end is closed before reading, so nothing ever waits; the
 * timeout only guards against a harness bug turning into a hang. */
#define FUZZ_TIMEOUT_MS 2000
#define FUZZ_JSON_BUDGET (256u << 10)

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_request: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* A pipe holding exactly data[0..size) followed by end-of-file.  The pipe
 * is grown to 1 MiB first (Linux default is 64 KiB) so the write cannot
 * block this single thread; inputs beyond that are cut, which the fuzzer's
 * -max_len makes moot. */
static int pipe_with(const uint8_t *data, size_t size)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2 failed", NULL);
	int cap = fcntl(p[1], F_SETPIPE_SZ, (int)FUZZ_MAX_FRAME);
	if (cap < 0)
		cap = 65536;
	if (size > (size_t)cap)
		size = (size_t)cap;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(p[1], data + off, size - off);
		if (w <= 0)
			die("write to pipe failed", NULL);
		off += (size_t)w;
	}
	close(p[1]);
	return p[0];
}

/* The response must be a JSON object with a known status matching code;
 * an error response carries a string "error". */
static void check_response(const char *text, size_t len, enum tsdb_errcode code)
{
	if (!text)
		die("tsdb_response_encode returned NULL", NULL);
	if (strlen(text) != len)
		die("response length disagrees with its text", text);
	json_error_t jerr;
	json_t *r = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!json_is_object(r))
		die("response is not a JSON object", text);
	const char *status = json_string_value(json_object_get(r, "status"));
	if (!status)
		die("response has no status", text);
	/* The name must round-trip through the table clients use. */
	if (strcmp(tsdb_status_name(tsdb_status_code(status)), status) != 0)
		die("response status does not round-trip", status);
	if ((code == TSDB_E_NONE) != (strcmp(status, "OK") == 0))
		die("response status does not match the code", text);
	if (code != TSDB_E_NONE && !json_is_string(json_object_get(r, "error")))
		die("error response without an error string", text);
	if (!json_object_get(r, "payload") || !json_object_get(r, "op"))
		die("response lacks payload or op", text);
	json_decref(r);
}

/* What tsdb_request_decode promises about a request it accepted. */
static void check_request(const tsdb_request *req, const tsdb_limits *lim)
{
	char buf[64];
	if (!req->op_known || !tsdb_op_name(req->op))
		die("accepted request has no known op", NULL);
	if (req->has_id && (req->id_len != strlen(req->id) || tsdb_id_validate(req->id, req->id_len, NULL)))
		die("accepted request has an invalid id", NULL);
	if (req->has_after &&
	    (req->after_len != strlen(req->after) || tsdb_id_validate(req->after, req->after_len, NULL)))
		die("accepted request has an invalid 'after'", NULL);
	if (req->has_prefix && req->prefix_len != strlen(req->prefix))
		die("accepted request has a prefix with a NUL byte", NULL);
	if (req->has_ts && tsdb_series_validate(&req->ts, lim->max_points, NULL))
		die("accepted request has an invalid series", NULL);
	if (req->shape > 256)
		die("shape out of range", NULL);
	if (req->where && req->op != TSDB_OP_WITH_ID && req->op != TSDB_OP_WITH_TS &&
	    req->op != TSDB_OP_WITHIN && req->op != TSDB_OP_SELECT)
		die("a filter on an op that takes none", tsdb_op_name(req->op));
	/* a compiled filter answers on any metadata without crashing */
	if (req->where)
		(void)tsdb_pred_match_text(req->where, "{\"a\":1}", 7);
	switch (req->op) {
	case TSDB_OP_WITH_ID:
	case TSDB_OP_GET:
		if (!req->has_id)
			die("accepted by-id request without an id", tsdb_op_name(req->op));
		break;
	case TSDB_OP_WITH_TS:
		if (!req->has_ts)
			die("accepted with_ts without a series", NULL);
		break;
	case TSDB_OP_WITHIN:
		if (req->has_id == req->has_ts)
			die("accepted within without exactly one of id and ts", NULL);
		if (!isfinite(req->radius) || req->radius < 0 || signbit(req->radius))
			die("accepted within with a bad radius", NULL);
		if (req->limit < 1 || req->limit > lim->max_limit)
			die("accepted within with a bad limit", NULL);
		break;
	case TSDB_OP_LIST:
		if (req->limit < 1 || req->limit > lim->max_limit)
			die("accepted list with a bad limit", NULL);
		break;
	case TSDB_OP_INFO:
		break;
	case TSDB_OP_SELECT:
		if (req->limit < 1 || req->limit > lim->max_limit || req->offset > INT32_MAX)
			die("accepted select with a bad limit or offset", NULL);
		if (req->fields && (!json_is_array(req->fields) ||
				    json_array_size(req->fields) > TSDB_SELECT_MAX_FIELDS))
			die("accepted select with bad fields", NULL);
		if (req->has_sort && (req->sort_len == 0 || req->sort_len != strlen(req->sort_field)))
			die("accepted select with a bad sort field", NULL);
		break;
	default:
		snprintf(buf, sizeof buf, "%d", (int)req->op);
		die("accepted request with an op out of range", buf);
	}
	if ((req->op == TSDB_OP_WITH_ID || req->op == TSDB_OP_WITH_TS) &&
	    (req->k < 1 || req->k > lim->max_k))
		die("accepted search with k out of range", NULL);
}

/* A payload echoing the request, so the encoder sees strings from the
 * wire (ids, prefixes) and, for a series, tsdb_series_to_json's output. */
static json_t *echo_payload(const tsdb_request *req)
{
	json_t *p = json_object();
	if (!p)
		die("out of memory", NULL);
	json_object_set_new(p, "k", json_integer(req->k));
	json_object_set_new(p, "limit", json_integer(req->limit));
	json_object_set_new(p, "radius", json_real(req->radius));
	if (req->has_id)
		json_object_set_new(p, "id", json_stringn(req->id, req->id_len));
	if (req->has_after)
		json_object_set_new(p, "after", json_stringn(req->after, req->after_len));
	if (req->has_prefix) {
		/* a prefix may end inside a UTF-8 sequence: json_stringn refuses
		 * that (NULL), which set_new tolerates by failing */
		json_object_set_new(p, "prefix", json_stringn(req->prefix, req->prefix_len));
	}
	if (req->has_ts) {
		json_t *ts = tsdb_series_to_json(&req->ts);
		/* The decoder keeps a query's meta, so it must serialize like
		 * any other series' (meta holding "\u0000" included). */
		if (!ts)
			die("tsdb_series_to_json failed on a decoded series", NULL);
		json_object_set_new(p, "ts", ts ? ts : json_null());
	}
	return p;
}

static void decode_and_answer(const char *body, size_t len)
{
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request req;
	tsdb_err err = {.code = TSDB_E_NONE};
	size_t tlen = 0;
	char *text;
	/* A bound small enough (a request of ~4 KiB exceeds it) that refusing
	 * a request for its memory is reachable; lifted again for the checks
	 * and the answer, which are the harness's, not the client's. */
	tsdb_json_budget(FUZZ_JSON_BUDGET);
	int rc = tsdb_request_decode(body, len, &lim, &req, &err);
	tsdb_json_budget(0);
	if (rc == 0) {
		check_request(&req, &lim);
		text = tsdb_response_encode(tsdb_op_name(req.op), TSDB_E_NONE, NULL, echo_payload(&req),
					    &tlen);
		check_response(text, tlen, TSDB_E_NONE);
	} else {
		if (err.code == TSDB_E_NONE)
			die("decode failed without an error code", err.msg);
		if (req.has_ts || req.ts.t || req.ts.v || req.ts.meta)
			die("failed decode left a series behind", err.msg);
		text = tsdb_response_encode(req.op_known ? tsdb_op_name(req.op) : NULL, err.code, err.msg,
					    NULL, &tlen);
		check_response(text, tlen, err.code);
	}
	free(text);
	tsdb_request_free(&req);
	tsdb_request_free(&req); /* documented as safe to repeat */
}

/* A body that was read must come back the same through the writer. */
static void frame_roundtrip(const char *body, size_t len)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe2 failed", NULL);
	if (fcntl(p[1], F_SETPIPE_SZ, (int)FUZZ_MAX_FRAME + 4096) < 0 && len + 4 > 65536) {
		close(p[0]);
		close(p[1]);
		return; /* cannot hold it without blocking; -max_len keeps this rare */
	}
	tsdb_err err;
	if (tsdb_frame_write(p[1], body, len, &err) != 0)
		die("tsdb_frame_write failed", err.msg);
	close(p[1]);
	char *back = NULL;
	size_t blen = 0;
	if (tsdb_frame_read(p[0], FUZZ_MAX_FRAME, FUZZ_TIMEOUT_MS, &back, &blen, &err) != 0)
		die("re-reading a written frame failed", err.msg);
	if (blen != len || memcmp(back, body, len) != 0 || back[blen] != '\0')
		die("frame did not round-trip", NULL);
	free(back);
	close(p[0]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The handler bounds jansson's memory (tsdb_json_budget) before any
	 * JSON exists, as the allocator must not change under live JSON;
	 * decode_and_answer applies the bound around decoding. */
	tsdb_json_budget(0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 1: the bytes as a connection */
	int fd = pipe_with(data, size);
	char *body = NULL;
	size_t len = 0;
	tsdb_err err = {.code = TSDB_E_NONE};
	if (tsdb_frame_read(fd, FUZZ_MAX_FRAME, FUZZ_TIMEOUT_MS, &body, &len, &err) == 0) {
		if (!body || body[len] != '\0' || len + 4 > FUZZ_MAX_FRAME || len + 4 > size)
			die("tsdb_frame_read returned an impossible body", NULL);
		decode_and_answer(body, len);
		frame_roundtrip(body, len);
		free(body);
	} else {
		if (body || len)
			die("failed tsdb_frame_read left a body", err.msg);
		if (err.code == TSDB_E_NONE)
			die("tsdb_frame_read failed without an error code", err.msg);
		/* The handler answers every failure but a vanished peer. */
		size_t tlen = 0;
		char *text = tsdb_response_encode(NULL, err.code, err.msg, NULL, &tlen);
		check_response(text, tlen, err.code);
		free(text);
	}
	close(fd);

	/* 2: the bytes as a request body */
	decode_and_answer((const char *)data, size);
	return 0;
}
