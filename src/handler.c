/*
 * handler.c - one connection of the server: read one request frame, answer
 * it from a read-only snapshot of the database, write one response frame.
 * The contract is in handler.h; every payload is as docs/PROTOCOL.md says.
 *
 * Invariants:
 *  - Order: the request is read and decoded first, and only a request that
 *    decoded opens the database (a garbage or slow client costs no mmap and
 *    no file descriptor), and only read-only.
 *  - The payload is built completely before a byte of the response is
 *    written, so the peer sees one whole frame or nothing; strings from the
 *    mapping are copied into the JSON.  The snapshot is closed only after
 *    the response is out: unmapping what a search touched is work the
 *    peer need not wait for.
 *  - Each failure has exactly one status: the tsdb_err code of whoever
 *    failed, mapped by tsdb_status_name.  Nothing here invents messages for
 *    errors that the lower layers already named.
 *  - A peer that does not read its response cannot hold the process
 *    longer than cfg->send_timeout_ms (SO_SNDTIMEO on a blocking socket
 *    makes send() return, tsdb_frame_write_timeout keeps the total).
 */
#include "handler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "payload.h"
#include "select.h"
#include "query.h"
#include "sandbox.h"
#include "series.h"

void tsdb_handler_config_default(tsdb_handler_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	tsdb_limits_default(&cfg->limits);
	cfg->send_timeout_ms = TSDB_HANDLER_SEND_TIMEOUT_MS;
	cfg->max_shape_values = TSDB_HANDLER_MAX_SHAPE_VALUES;
}

static double mono_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;  /* only the log's "ms" is affected */
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The peer's address for the log, or "" when fd is not a socket. */
static void peer_name(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	buf[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;  /* ENOTSOCK (a pipe under inetd-style tests) or a peer already gone */
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
		snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
		snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
	} else if (ss.ss_family == AF_UNIX) {
		snprintf(buf, size, "unix");  /* a client's unix address is usually unnamed */
	} else {
		snprintf(buf, size, "family-%u", (unsigned)ss.ss_family);
	}
}

/* ---- building payloads ---------------------------------------------- */

static int oom(tsdb_err *err)
{
	return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory building the response");
}

/* Bounds the response before it is built: shapes are what can make a
 * small request expensive to answer (limit x 256 values).  *scratch is the
 * resampling buffer tsdb_payload_search then needs. */
static int shape_budget(const tsdb_request *req, const tsdb_handler_config *cfg, uint32_t nhits,
			double **scratch, tsdb_err *err)
{
	*scratch = NULL;
	if (req->shape == 0)
		return 0;
	uint64_t values = ((uint64_t)nhits + 1) * req->shape;
	if (values > cfg->max_shape_values)
		return tsdb_errf(err, TSDB_E_TOO_LARGE,
				 "the response would carry %" PRIu64 " shape values (%" PRIu32
				 " results), more than the limit of %" PRIu32
				 ": ask for a smaller 'shape' or 'limit'",
				 values, nhits, cfg->max_shape_values);
	*scratch = malloc(req->shape * sizeof **scratch);
	return *scratch ? 0 : oom(err);
}

/* with_id, with_ts and within: run the search (query.h), build
 * {"k" | "radius", "series", "computed", ["truncated"], "results", ["query_shape"]}. */
static int op_search(tsdb_db *db, const tsdb_request *req, const tsdb_handler_config *cfg,
		     tsdb_handler_log *log, json_t **payload, tsdb_err *err)
{
	const int within = req->op == TSDB_OP_WITHIN;
	/* k <= max_k and limit <= max_limit: decode checked them */
	tsdb_query_spec spec = {.id = req->has_id ? req->id : NULL, .id_len = req->id_len,
				.series = &req->ts, .within = within, .k = req->k,
				.radius = req->radius, .limit = req->limit, .where = req->where};
	tsdb_query_result r;
	if (tsdb_query_run(db, &spec, &r, err))
		return -1;
	log->results = r.answer.nhits;
	log->computed = (int64_t)r.answer.stats.computed;
	if (within)
		log->truncated = r.answer.truncated;
	double *scratch;
	int rc = -1;
	if (shape_budget(req, cfg, r.answer.nhits, &scratch, err) == 0) {
		r.answer.shape = req->shape;
		*payload = tsdb_payload_search(db, &r.answer, scratch, err);
		rc = *payload ? 0 : -1;
	}
	free(scratch);
	tsdb_query_result_free(&r);
	return rc;
}

static int op_get(const tsdb_db *db, const tsdb_request *req, json_t **payload, tsdb_err *err)
{
	tsdb_rec rec;
	if (tsdb_db_find(db, req->id, req->id_len, &rec, err))
		return -1;
	tsdb_series s;
	memset(&s, 0, sizeof s);
	if (tsdb_rec_series(&rec, &s, err))
		return -1;
	*payload = tsdb_series_to_json(&s);
	tsdb_series_free(&s);
	return *payload ? 0 : oom(err);
}

static int op_info(const tsdb_db *db, json_t **payload, tsdb_err *err)
{
	*payload = tsdb_payload_info(db, err);
	return *payload ? 0 : -1;
}

static int list_add(void *ctx, const char *id, size_t len, tsdb_err *err)
{
	json_t *s = tsdb_payload_id(id, len, err);
	if (!s)
		return -1;
	return json_array_append_new(ctx, s) ? oom(err) : 0;
}

static int op_list(const tsdb_db *db, const tsdb_request *req, tsdb_handler_log *log,
		   json_t **payload, tsdb_err *err)
{
	json_t *ids = json_array();
	if (!ids)
		return oom(err);
	int more = 0;
	if (tsdb_db_list(db, req->has_after ? req->after : NULL, req->after_len,
			 req->has_prefix ? req->prefix : NULL, req->prefix_len, req->limit, list_add,
			 ids, &more, err)) {
		json_decref(ids);
		return -1;
	}
	log->results = (int64_t)json_array_size(ids);
	json_t *p = json_object();
	int bad = json_object_set_new(p, "ids", ids);
	bad |= json_object_set_new(p, "more", json_boolean(more));
	if (bad) {
		json_decref(p);
		return oom(err);
	}
	*payload = p;
	return 0;
}

static int op_select(const tsdb_db *db, const tsdb_request *req, tsdb_handler_log *log,
		     json_t **payload, tsdb_err *err)
{
	tsdb_select_spec spec = {.where = req->where, .fields = req->fields,
				 .sort_field = req->has_sort ? req->sort_field : NULL,
				 .sort_len = req->sort_len, .sort_desc = req->sort_desc,
				 .offset = req->offset, .limit = req->limit};
	*payload = tsdb_select_run(db, &spec, err);
	if (!*payload)
		return -1;
	log->results = (int64_t)json_array_size(json_object_get(*payload, "results"));
	return 0;
}

/* The snapshot opened before the request was read (or why it could not
 * be) for the caller to close. */
typedef struct snapshot {
	tsdb_db db;
	int opened;
	tsdb_err open_err;
} snapshot;

/* Runs the op on the snapshot. */
static int execute(const tsdb_request *req, const tsdb_handler_config *cfg,
		   tsdb_handler_log *log, snapshot *snap, json_t **payload, tsdb_err *err)
{
	if (!snap->opened) {
		*err = snap->open_err;
		return -1;
	}
	tsdb_db *db = &snap->db;
	log->series = (int64_t)db->nseries;
	int rc;
	switch (req->op) {
	case TSDB_OP_WITH_ID:
	case TSDB_OP_WITH_TS:
	case TSDB_OP_WITHIN:
		rc = op_search(db, req, cfg, log, payload, err);
		break;
	case TSDB_OP_GET:
		rc = op_get(db, req, payload, err);
		break;
	case TSDB_OP_INFO:
		rc = op_info(db, payload, err);
		break;
	case TSDB_OP_LIST:
		rc = op_list(db, req, log, payload, err);
		break;
	case TSDB_OP_SELECT:
		rc = op_select(db, req, log, payload, err);
		break;
	default:
		rc = tsdb_errf(err, TSDB_E_INVALID_OP, "op %d has no handler", (int)req->op);
		break;
	}
	return rc;
}

/* Codes that are the server's failure whoever asked (the connection's own
 * I/O errors are excluded by the caller: those are the peer's). */
static int server_code(enum tsdb_errcode code)
{
	switch (code) {
	case TSDB_E_UNKNOWN:
	case TSDB_E_IO:
	case TSDB_E_NOSPACE:
	case TSDB_E_CORRUPT:
	case TSDB_E_VERSION:
	case TSDB_E_UNAVAILABLE:
		return 1;
	default:
		return 0;
	}
}

/* On a blocking socket send() waits for the peer without limit; a send
 * timeout makes it return (EAGAIN), and tsdb_frame_write_timeout then
 * keeps the total.  On a pipe (inetd-style tests) there is nothing to set:
 * the service only ever gets sockets. */
static void bound_send(int fd, int timeout_ms)
{
	if (timeout_ms < 0)
		return;
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	if (tv.tv_sec == 0 && tv.tv_usec == 0)
		tv.tv_usec = 1000;  /* 0 would mean "no timeout" */
	/* Failure (ENOTSOCK) leaves only the poll-based bound on a
	 * non-blocking fd; there is nothing better to do. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* Reads, decodes and executes one request: *payload and err hold the
 * answer (err->code TSDB_E_NONE for OK); *received is when the request had
 * arrived.  Returns 1 when the peer left before a whole request arrived
 * (nothing to answer), else 0. */
static int serve_request(int in_fd, const tsdb_handler_config *cfg, tsdb_handler_log *log,
			 snapshot *snap, json_t **payload, tsdb_err *err, double *received)
{
	char *body = NULL;
	size_t len = 0;
	int rd = tsdb_frame_read(in_fd, cfg->limits.max_frame, cfg->limits.timeout_ms, &body, &len,
				 err);
	*received = mono_ms();
	if (rd) {
		/* Closed or reset before a whole request: nobody to answer.  Too
		 * large, timed out, malformed length: answered with the error. */
		log->server_fault = err->code == TSDB_E_UNKNOWN;  /* out of memory */
		return err->code == TSDB_E_IO;
	}
	tsdb_request req;
	int rc = tsdb_request_decode(body, len, &cfg->limits, &req, err);
	free(body);
	if (req.op_known)
		log->op = tsdb_op_name(req.op);
	if (rc) {
		log->server_fault = err->code == TSDB_E_UNKNOWN;
		return 0;
	}
	if (req.op == TSDB_OP_WITH_ID || req.op == TSDB_OP_WITH_TS)
		log->k = req.k;
	if (req.op == TSDB_OP_WITHIN)
		log->radius = req.radius;
	if (req.op == TSDB_OP_WITHIN || req.op == TSDB_OP_LIST || req.op == TSDB_OP_SELECT)
		log->limit = req.limit;
	if (execute(&req, cfg, log, snap, payload, err) == 0)
		err->code = TSDB_E_NONE;
	else
		log->server_fault = server_code(err->code);
	tsdb_request_free(&req);
	return 0;
}

/* Encodes and writes the one response frame (payload is stolen). */
static int respond(int out_fd, const tsdb_handler_config *cfg, tsdb_handler_log *log,
		   json_t *payload, const tsdb_err *err)
{
	size_t len = 0;
	char *text = tsdb_response_encode(log->op, err->code, err->msg, payload, &len);
	if (!text) {
		/* A payload too big for memory: say so in a frame that is small. */
		log->status = TSDB_E_UNKNOWN;
		log->server_fault = 1;
		snprintf(log->error, sizeof log->error, "out of memory encoding the response");
		text = tsdb_response_encode(log->op, log->status, log->error, NULL, &len);
		if (!text) {
			snprintf(log->send_error, sizeof log->send_error, "out of memory");
			return -1;
		}
	}
	bound_send(out_fd, cfg->send_timeout_ms);
	tsdb_err werr;
	int rc = tsdb_frame_write_timeout(out_fd, text, len, cfg->send_timeout_ms, &werr);
	if (rc == 0)
		log->responded = 1;
	else
		snprintf(log->send_error, sizeof log->send_error, "%s", werr.msg);
	free(text);
	return rc;
}

/* Half-closes a socket after the response and discards what the peer
 * still sends until it closes too (or the linger time is up), so the
 * close that follows cannot turn into a reset that drops queued bytes. */
static void linger_close(int fd)
{
	int type, unread = 0;
	socklen_t len = sizeof type;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || shutdown(fd, SHUT_WR) != 0)
		return;
	/* Only unread input turns close() into a reset: without any, there is
	 * nothing to wait for (a peer that is merely slow keeps its answer). */
	if (ioctl(fd, FIONREAD, &unread) != 0 || unread <= 0)
		return;
	tsdb_deadline dl;
	if (tsdb_deadline_start(&dl, TSDB_HANDLER_LINGER_MS, NULL) != 0)
		return;
	char sink[16384];
	for (;;) {
		tsdb_err err;
		if (tsdb_fd_wait(fd, POLLIN, &dl, &err) != 0)
			return;
		ssize_t n = read(fd, sink, sizeof sink);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return;
	}
}

/* Enters the sandbox; what must be made before it (jansson's hash seed
 * reads /dev/urandom) is made first. */
static int confine(tsdb_err *err)
{
	json_object_seed(0);
	if (tsdb_sandbox_enter(NULL, err) != 0) {
		tsdb_errctx(err, "cannot confine the handler");
		return -1;
	}
	return 0;
}

int tsdb_handle(int in_fd, int out_fd, const tsdb_handler_config *cfg, tsdb_handler_log *log)
{
	const double start = mono_ms();
	memset(log, 0, sizeof *log);
	log->k = log->limit = log->results = log->computed = log->series = -1;
	log->truncated = -1;
	log->radius = NAN;
	peer_name(in_fd, log->peer, sizeof log->peer);

	tsdb_err err = {.code = TSDB_E_NONE};
	json_t *payload = NULL;
	double received = start;
	snapshot snap = {.opened = 0};
	snap.opened = tsdb_db_open(&snap.db, tsdb_db_dir(cfg->db_dir), &snap.open_err) == 0;
	int gone = 0;
	if (cfg->sandbox && confine(&err) != 0) {
		/* Fail closed: no request is read by an unconfined handler. */
		log->server_fault = 1;
		received = mono_ms();
	} else {
		gone = serve_request(in_fd, cfg, log, &snap, &payload, &err, &received);
	}
	/* recv_ms is the peer's pace; ms is ours: decoding, the op, the answer. */
	log->recv_ms = received - start;
	log->status = err.code;
	if (err.code != TSDB_E_NONE)
		snprintf(log->error, sizeof log->error, "%s", err.msg);
	int rc = 0;
	if (gone) {
		log->peer_gone = 1;
	} else {
		rc = respond(out_fd, cfg, log, payload, &err);
		log->ms = mono_ms() - received;
		if (rc == 0)
			linger_close(out_fd);
	}
	if (snap.opened)
		tsdb_db_close(&snap.db);
	return rc;
}

/* ---- the log line ----------------------------------------------------- */

int tsdb_handler_log_priority(const tsdb_handler_log *log)
{
	if (log->server_fault)
		return 3;  /* LOG_ERR */
	if (log->status == TSDB_E_NONE && log->responded)
		return 6;  /* LOG_INFO */
	return 4;          /* LOG_WARNING */
}

/* A bounded appender: writes what fits, remembers where it is. */
typedef struct line {
	char *buf;
	size_t size, len;
} line;

static void add(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(line *l, const char *fmt, ...)
{
	if (l->len + 1 >= l->size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(l->buf + l->len, l->size - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len >= l->size)
		l->len = l->size - 1;
}

/* key="value" with ", \ and control bytes escaped: one line per request,
 * whatever the message quotes. */
static void add_quoted(line *l, const char *key, const char *s)
{
	add(l, " %s=\"", key);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			add(l, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			add(l, "\\x%02x", *p);
		else
			add(l, "%c", *p);
	}
	add(l, "\"");
}

void tsdb_handler_log_format(const tsdb_handler_log *log, char *buf, size_t size)
{
	if (size == 0)
		return;
	line l = {.buf = buf, .size = size, .len = 0};
	buf[0] = '\0';
	add(&l, "op=%s status=%s", log->op ? log->op : "-", tsdb_status_name(log->status));
	if (log->k >= 0)
		add(&l, " k=%" PRId64, log->k);
	if (!isnan(log->radius))
		add(&l, " radius=%.17g", log->radius);
	if (log->limit >= 0)
		add(&l, " limit=%" PRId64, log->limit);
	if (log->results >= 0)
		add(&l, " results=%" PRId64, log->results);
	if (log->truncated >= 0)
		add(&l, " truncated=%d", log->truncated);
	if (log->computed >= 0)
		add(&l, " computed=%" PRId64, log->computed);
	if (log->series >= 0)
		add(&l, " series=%" PRId64, log->series);
	add(&l, " ms=%.2f recv_ms=%.2f", log->ms, log->recv_ms);
	if (log->peer[0])
		add(&l, " peer=%s", log->peer);
	if (!log->responded)
		add(&l, " response=none");
	if (log->status != TSDB_E_NONE && log->error[0])
		add_quoted(&l, "error", log->error);
	if (log->send_error[0])
		add_quoted(&l, "send_error", log->send_error);
}
