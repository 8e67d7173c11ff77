/*
 * fuzz_handler.c - libFuzzer target for one whole connection of the server
 * (handler.h): the input is a request body; the harness frames it, feeds it
 * to tsdb_handle against a small real database made at start-up, and checks
 * the response frame against what the library computes directly:
 *  - the status is the one tsdb_request_decode gives for the same body when
 *    that fails; an OK answer has the fields docs/PROTOCOL.md lists;
 *  - get returns the inserted points bit for bit and the inserted metadata
 *    (decision 5 of docs/DESIGN.md);
 *  - list returns exactly the stored ids after `after` with `prefix`, in
 *    byte order, at most `limit`, and `more` is right;
 *  - with_id, with_ts and within return exactly what a brute-force scan
 *    returns, ids and distance bits, ties by id (decision 6);
 *  - every shape array has `shape` numbers.
 * The database holds series chosen to make that hard: exact duplicates
 * under several ids (distance ties), a phase-shifted copy (distance ~0),
 * ids that are prefixes of each other, non-ASCII ids and metadata.
 * The request goes over a unix socketpair, as a connection would.  Seeds:
 * the request corpus (bodies).  The frame reader is fuzz_request's.
 */
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db.h"
#include "handler.h"
#include "proto.h"
#include "search.h"
#include "series.h"
#include "synth.h"
#include "writer.h"

#define NSYNTH 40
#define MAX_STORED 64
/* Bytes of JSON trees per request: a request of 2 KiB or so, or an answer
 * with a few thousand shape values, runs out of it. */
#define FUZZ_JSON_BUDGET (128u << 10)
/* Shape values per answer (the default, 1,000,000, is out of reach of this
 * small database): 16 results with 256-point shapes exceed it. */
#define FUZZ_MAX_SHAPE_VALUES 4096u

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_handler: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static char dbdir[64];
static tsdb_series stored[MAX_STORED];
static size_t nstored;
static tsdb_db db;          /* the oracle's own snapshot */
static char ids_sorted[MAX_STORED][TSDB_ID_MAX + 1];
static size_t ids_len[MAX_STORED];

static void cleanup(void)
{
	char path[128];
	tsdb_db_close(&db);
	snprintf(path, sizeof path, "%s/%s", dbdir, TSDB_DATA_FILE);
	unlink(path);
	snprintf(path, sizeof path, "%s/%s", dbdir, TSDB_LOCK_FILE);
	unlink(path);
	rmdir(dbdir);
}

/* A copy of src's points under another id and metadata. */
static void add_copy(const tsdb_series *src, const char *id, const char *meta, double shift)
{
	tsdb_series *s = &stored[nstored++];
	tsdb_err err;
	memset(s, 0, sizeof *s);
	s->n = src->n;
	s->t = malloc(s->n * sizeof(double));
	s->v = malloc(s->n * sizeof(double));
	if (!s->t || !s->v)
		die("out of memory", NULL);
	for (size_t i = 0; i < s->n; i++) {
		s->t[i] = fmod(src->t[i] + shift, 1.0);
		s->v[i] = src->v[i];
	}
	if (tsdb_series_set_id(s, id, strlen(id), &err) != 0)
		die("bad id in the harness", err.msg);
	if (meta) {
		s->meta = strdup(meta);
		s->meta_len = strlen(meta);
	}
}

static int collect_id(void *ctx, const char *id, size_t len, tsdb_err *err)
{
	(void)err;
	size_t *n = ctx;
	if (*n >= MAX_STORED)
		die("more ids listed than stored", NULL);
	memcpy(ids_sorted[*n], id, len);
	ids_sorted[*n][len] = '\0';
	ids_len[(*n)++] = len;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tsdb_err err;
	/* As src/cmd/tsdb-handler.c does before anything touches jansson (the
	 * allocator must not change under live JSON), but much smaller, so
	 * that running out of it mid-request is reachable: every answer must
	 * then still be a well-formed error frame.  Lifted while the harness
	 * parses the response (tsdb_json_budget(0)). */
	tsdb_json_budget(FUZZ_JSON_BUDGET);
	snprintf(dbdir, sizeof dbdir, "/tmp/tsdb-fuzz-handler-XXXXXX");
	if (!mkdtemp(dbdir))
		die("mkdtemp failed", NULL);
	atexit(cleanup);
	tsdb_params p;
	tsdb_params_default(&p);
	p.L = 16;
	p.nvp = 4;
	p.seed = 9;
	if (tsdb_init(dbdir, &p, &err) != 0)
		die("tsdb_init", err.msg);
	for (size_t i = 0; i < NSYNTH; i++)
		if (tsdb_synth_series(3, i, 12 + (uint32_t)(i % 9), &stored[nstored++], &err) != 0)
			die("tsdb_synth_series", err.msg);
	/* exact duplicates: three series at distance 0 from each other */
	add_copy(&stored[5], "dup-a", "{\"copy\":\"ts-000005\"}", 0);
	add_copy(&stored[5], "dup-b", NULL, 0);
	/* a phase shift by a grid step: distance ~0 but not exactly */
	add_copy(&stored[7], "shift-7", NULL, 0.25);
	/* ids that prefix each other, non-ASCII ids and metadata */
	add_copy(&stored[1], "a", "{}", 0);
	add_copy(&stored[2], "ab", "{\"k\":[1,2.5,null,true,{\"x\":\"\xc3\xa9\"}]}", 0);
	add_copy(&stored[3], "abc", NULL, 0);
	add_copy(&stored[4], "a b", NULL, 0);
	add_copy(&stored[6], "ts-000001x", NULL, 0);
	add_copy(&stored[8], "\xc3\xa9t\xc3\xa9/\xe2\x82\xac", "{\"band\":\"V\"}", 0);
	add_copy(&stored[9], "\xf0\x9f\x98\x80", NULL, 0);
	if (tsdb_insert(dbdir, stored, nstored, &(tsdb_insert_opts){0}, NULL, &err) != 0)
		die("tsdb_insert", err.msg);
	if (tsdb_db_open(&db, dbdir, &err) != 0)
		die("tsdb_db_open", err.msg);
	size_t n = 0;
	int more;
	if (tsdb_db_list(&db, NULL, 0, NULL, 0, MAX_STORED, collect_id, &n, &more, &err) != 0 ||
	    n != nstored)
		die("listing the harness database", err.msg);
	return 0;
}

/* ---- reading the answer -------------------------------------------------- */

static const tsdb_series *stored_by_id(const char *id, size_t len)
{
	for (size_t i = 0; i < nstored; i++)
		if (stored[i].id_len == len && memcmp(stored[i].id, id, len) == 0)
			return &stored[i];
	return NULL;
}

/* Everything the handler sent, up to its end of the connection. */
static json_t *read_response(int fd)
{
	size_t cap = 1 << 16, size = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (!buf)
			die("out of memory", NULL);
		ssize_t n = read(fd, buf + size, cap - size);
		if (n < 0)
			die("cannot read the response", NULL);
		if (n == 0)
			break;
		size += (size_t)n;
		if (size == cap)
			buf = realloc(buf, cap *= 2);
	}
	if (size < 4)
		die("no response frame written", NULL);
	uint32_t total = (uint32_t)(unsigned char)buf[0] | (uint32_t)(unsigned char)buf[1] << 8 |
			 (uint32_t)(unsigned char)buf[2] << 16 | (uint32_t)(unsigned char)buf[3] << 24;
	if (total != size)
		die("response frame length is not the bytes sent", NULL);
	json_error_t jerr;
	json_t *r = json_loadb(buf + 4, (size_t)size - 4, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!json_is_object(r)) {
		fprintf(stderr, "response: %.*s\n", (int)(size > 2000 ? 2000 : size - 4), buf + 4);
		die("response is not a JSON object", jerr.text);
	}
	free(buf);
	return r;
}

/* ---- oracles ------------------------------------------------------------- */

static void check_shape(const json_t *a, uint32_t shape, const char *what)
{
	if (!json_is_array(a) || json_array_size(a) != shape)
		die("shape array of the wrong length", what);
	for (size_t i = 0; i < shape; i++)
		if (!json_is_number(json_array_get(a, i)))
			die("shape value not a number", what);
}

/* results[] against hits[0..n): ids, distance bits, shapes. */
static void same_results(const json_t *results, const tsdb_hit *hits, size_t n, uint32_t shape)
{
	char msg[600];
	if (!json_is_array(results) || json_array_size(results) != n) {
		snprintf(msg, sizeof msg, "%zu results, brute force has %zu", json_array_size(results), n);
		die("search answer differs from brute force", msg);
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(results, i);
		const json_t *id = json_object_get(r, "id");
		double d = json_real_value(json_object_get(r, "distance"));
		if (!json_is_string(id) || json_string_length(id) != hits[i].id_len ||
		    memcmp(json_string_value(id), hits[i].id, hits[i].id_len) != 0 ||
		    memcmp(&d, &hits[i].distance, sizeof d) != 0) {
			snprintf(msg, sizeof msg, "result %zu: '%.255s' at %.17g, brute force '%.*s' at %.17g", i,
				 json_is_string(id) ? json_string_value(id) : "?", d, (int)hits[i].id_len,
				 hits[i].id, hits[i].distance);
			die("search answer differs from brute force", msg);
		}
		if (shape)
			check_shape(json_object_get(r, "shape"), shape, "results[].shape");
	}
}

static void check_search(const tsdb_request *req, const json_t *payload)
{
	tsdb_err err;
	tsdb_query q;
	int rc = req->has_id ? tsdb_query_from_id(&db, req->id, req->id_len, &q, &err)
			     : tsdb_query_from_series(&db, &req->ts, &q, &err);
	if (rc != 0)
		die("the handler answered OK to a query the library refuses", err.msg);
	tsdb_hit all[MAX_STORED];
	uint32_t n = 0;
	q.where = req->where;  /* the reference is brute force over the matching series */
	if (tsdb_search_brute(&db, &q, MAX_STORED, all, &n, NULL, &err) != 0)
		die("brute force failed", err.msg);
	tsdb_query_free(&q);
	if (req->op == TSDB_OP_WITHIN) {
		uint32_t m = 0;
		while (m < n && all[m].distance <= req->radius)
			m++;
		uint32_t shown = m < req->limit ? m : req->limit;
		same_results(json_object_get(payload, "results"), all, shown, req->shape);
		if (json_is_true(json_object_get(payload, "truncated")) != (m > req->limit))
			die("within: wrong 'truncated'", NULL);
	} else {
		same_results(json_object_get(payload, "results"), all, n < req->k ? n : req->k, req->shape);
		if (json_integer_value(json_object_get(payload, "k")) != req->k)
			die("search answer has the wrong k", NULL);
	}
	if (req->shape)
		check_shape(json_object_get(payload, "query_shape"), req->shape, "query_shape");
	if (json_integer_value(json_object_get(payload, "series")) != (json_int_t)nstored)
		die("search answer has the wrong series count", NULL);
}

static int id_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

static void check_list(const tsdb_request *req, const json_t *payload)
{
	const json_t *got = json_object_get(payload, "ids");
	size_t k = 0, matching = 0;
	for (size_t i = 0; i < nstored; i++) {
		const char *id = ids_sorted[i];
		size_t len = ids_len[i];
		if (req->has_after && id_cmp(id, len, req->after, req->after_len) <= 0)
			continue;
		if (req->has_prefix &&
		    (len < req->prefix_len || memcmp(id, req->prefix, req->prefix_len) != 0))
			continue;
		matching++;
		if (k < req->limit) {
			const json_t *g = json_array_get(got, k);
			if (!json_is_string(g) || json_string_length(g) != len ||
			    memcmp(json_string_value(g), id, len) != 0)
				die("list answer differs from the stored ids", id);
			k++;
		}
	}
	if (json_array_size(got) != k)
		die("list answer has extra ids", NULL);
	if (json_is_true(json_object_get(payload, "more")) != (matching > req->limit))
		die("list: wrong 'more'", NULL);
}

static void check_get(const tsdb_request *req, const json_t *payload)
{
	const tsdb_series *want = stored_by_id(req->id, req->id_len);
	tsdb_series got;
	tsdb_err err;
	if (!want)
		die("get answered OK for an id never stored", req->id);
	if (tsdb_series_from_json(payload, SIZE_MAX, &got, &err) != 0)
		die("get payload is not a series", err.msg);
	if (got.n != want->n || memcmp(got.t, want->t, got.n * sizeof(double)) != 0 ||
	    memcmp(got.v, want->v, got.n * sizeof(double)) != 0)
		die("get did not return the inserted points bit for bit", req->id);
	if (got.id_len != want->id_len || memcmp(got.id, want->id, got.id_len) != 0)
		die("get returned another id", req->id);
	if ((got.meta == NULL) != (want->meta == NULL) ||
	    (got.meta && (got.meta_len != want->meta_len || memcmp(got.meta, want->meta, got.meta_len))))
		die("get did not return the inserted metadata", req->id);
	tsdb_series_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 60000)
		return 0;  /* must fit the pipe below without blocking */
	/* A connected socket, as systemd passes: the handler's socket-only
	 * code (peer name, send timeout, half-close and drain) runs too.  The
	 * harness sends the request and half-closes, so the handler's drain
	 * ends at once; the buffers are grown so that neither side blocks. */
	int p[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
		die("socketpair failed", NULL);
	int big = 16 << 20;
	setsockopt(p[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
	setsockopt(p[1], SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
	unsigned char hdr[4];
	uint32_t total = (uint32_t)size + 4;
	for (int i = 0; i < 4; i++)
		hdr[i] = (unsigned char)(total >> (8 * i));
	if (write(p[1], hdr, 4) != 4 || (size && write(p[1], data, size) != (ssize_t)size) ||
	    shutdown(p[1], SHUT_WR) != 0)
		die("cannot send the request", NULL);

	tsdb_handler_config cfg;
	tsdb_handler_config_default(&cfg);
	cfg.db_dir = dbdir;
	cfg.limits.timeout_ms = 2000;
	cfg.max_shape_values = FUZZ_MAX_SHAPE_VALUES;
	tsdb_handler_log log;
	tsdb_json_budget(FUZZ_JSON_BUDGET);
	if (tsdb_handle(p[0], p[0], &cfg, &log) != 0)
		die("tsdb_handle failed to answer", log.send_error);
	close(p[0]);
	if (strcmp(log.peer, "unix") != 0)
		die("the handler did not see a unix socket peer", log.peer);
	if (!log.responded)
		die("tsdb_handle did not respond", NULL);
	char line[1024];
	tsdb_handler_log_format(&log, line, sizeof line);  /* runs on every outcome */

	tsdb_json_budget(0);  /* the oracle's own JSON is not the request's */
	json_t *r = read_response(p[1]);
	close(p[1]);
	const char *status = json_string_value(json_object_get(r, "status"));
	if (!status || !json_object_get(r, "payload") || !json_object_get(r, "op"))
		die("response lacks status, payload or op", NULL);
	if (strcmp(status, "OK") != 0 && !json_is_string(json_object_get(r, "error")))
		die("error response without an error message", status);

	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request req;
	tsdb_err err = {.code = TSDB_E_NONE};
	/* Running out of the JSON budget is TOO_LARGE while parsing and
	 * "out of memory" (UNKNOWN_ERROR) while building the answer. */
	const char *msg = json_string_value(json_object_get(r, "error"));
	int budget = strcmp(status, "TOO_LARGE") == 0 ||
		     (strcmp(status, "UNKNOWN_ERROR") == 0 && msg && strstr(msg, "memory"));
	if (tsdb_request_decode((const char *)data, size, &lim, &req, &err) != 0) {
		if (strcmp(status, tsdb_status_name(err.code)) != 0 && !budget)
			die("status differs from the decoder's for a bad request", status);
	} else if (strcmp(status, "OK") == 0) {
		const json_t *payload = json_object_get(r, "payload");
		if (strcmp(json_string_value(json_object_get(r, "op")), tsdb_op_name(req.op)) != 0)
			die("response names another op", NULL);
		switch (req.op) {
		case TSDB_OP_WITH_ID:
		case TSDB_OP_WITH_TS:
		case TSDB_OP_WITHIN:
			check_search(&req, payload);
			break;
		case TSDB_OP_LIST:
			check_list(&req, payload);
			break;
		case TSDB_OP_GET:
			check_get(&req, payload);
			break;
		case TSDB_OP_INFO:
			if (json_integer_value(json_object_get(payload, "series")) != (json_int_t)nstored)
				die("info has the wrong series count", NULL);
			break;
		case TSDB_OP_SELECT:
			if (!json_is_integer(json_object_get(payload, "count")) ||
			    json_integer_value(json_object_get(payload, "count")) > (json_int_t)nstored ||
			    json_array_size(json_object_get(payload, "results")) > req.limit)
				die("select: a count or a page out of bounds", NULL);
			break;
		}
	} else if (req.has_id && (req.op == TSDB_OP_GET || req.op == TSDB_OP_WITH_ID ||
				  req.op == TSDB_OP_WITHIN) && stored_by_id(req.id, req.id_len)) {
		/* a stored id can fail only by the size of the answer */
		if (!budget)
			die("request for a stored id failed", status);
	}
	tsdb_request_free(&req);
	json_decref(r);
	return 0;
}
