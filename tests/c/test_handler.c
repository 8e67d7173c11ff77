/*
 * test_handler.c - tsdb_handle driven in-process over socket pairs: what
 * the end-to-end bats tests cannot reach cheaply (a peer that never reads
 * its answer, a peer that vanished before the answer, the log record and
 * line for each outcome).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handler.h"
#include "synth.h"
#include "tap.h"
#include "testutil.h"
#include "writer.h"

#define LONG_POINTS 200000u   /* a get of it is ~9 MB of JSON: more than a socket buffer */

static char *db_dir;

static void make_db(void)
{
	db_dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p;
	tsdb_params_default(&p);
	p.L = 32;
	p.nvp = 4;
	if (tsdb_init(db_dir, &p, &err)) {
		printf("# tsdb_init: %s\n", err.msg);
		exit(1);
	}
	enum { N = 41 };
	tsdb_series s[N];
	memset(s, 0, sizeof s);
	for (int i = 0; i < N - 1; i++)
		if (tsdb_synth_series(3, (uint64_t)i, 32, &s[i], &err)) {
			printf("# synth: %s\n", err.msg);
			exit(1);
		}
	tsdb_series *l = &s[N - 1];
	l->n = LONG_POINTS;
	l->t = malloc(LONG_POINTS * sizeof *l->t);
	l->v = malloc(LONG_POINTS * sizeof *l->v);
	if (!l->t || !l->v)
		abort();
	for (size_t i = 0; i < LONG_POINTS; i++) {
		l->t[i] = (double)i / LONG_POINTS;
		l->v[i] = sin(6.283185307179586 * l->t[i]) + 1e-3 * (double)(i % 7);
	}
	if (tsdb_series_set_id(l, "long", 4, &err))
		abort();
	tsdb_insert_opts o = {0};
	tsdb_insert_result r;
	if (tsdb_insert(db_dir, s, N, &o, &r, &err)) {
		printf("# tsdb_insert: %s\n", err.msg);
		exit(1);
	}
	for (int i = 0; i < N; i++)
		tsdb_series_free(&s[i]);
}

static tsdb_handler_config config(void)
{
	tsdb_handler_config cfg;
	tsdb_handler_config_default(&cfg);
	cfg.db_dir = db_dir;
	return cfg;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sends req as a frame on sv[0], runs the handler on sv[1], and returns
 * the decoded response (NULL when there was none). */
static json_t *exchange(const char *req, const tsdb_handler_config *cfg, tsdb_handler_log *log,
			int *rc)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	tsdb_err err;
	if (req && tsdb_frame_write(sv[0], req, strlen(req), &err))
		abort();
	shutdown(sv[0], SHUT_WR);
	*rc = tsdb_handle(sv[1], sv[1], cfg, log);
	close(sv[1]);
	char *body = NULL;
	size_t len = 0;
	json_t *resp = NULL;
	if (tsdb_frame_read(sv[0], 64u << 20, 1000, &body, &len, &err) == 0)
		resp = json_loadb(body, len, 0, NULL);
	free(body);
	close(sv[0]);
	return resp;
}

static const char *status_of(const json_t *resp)
{
	return json_string_value(json_object_get(resp, "status"));
}

static void test_ok_and_log_record(void)
{
	tsdb_handler_config cfg = config();
	tsdb_handler_log log;
	int rc;
	json_t *r = exchange("{\"op\":\"with_id\",\"id\":\"ts-000003\",\"k\":4,\"shape\":5}", &cfg, &log,
			     &rc);
	REQUIRE(r);
	CHECK(rc == 0);
	CHECK(strcmp(status_of(r), "OK") == 0);
	const json_t *p = json_object_get(r, "payload");
	CHECK(json_integer_value(json_object_get(p, "k")) == 4);
	CHECK(json_integer_value(json_object_get(p, "series")) == 41);
	CHECK(json_array_size(json_object_get(p, "results")) == 4);
	CHECK(json_array_size(json_object_get(p, "query_shape")) == 5);
	CHECK(log.responded && !log.peer_gone && !log.server_fault);
	CHECK(log.k == 4 && log.results == 4 && log.series == 41 && log.computed >= 4);
	CHECK(strcmp(log.op, "with_id") == 0);
	CHECK(strcmp(log.peer, "unix") == 0);
	CHECK(tsdb_handler_log_priority(&log) == 6);
	char line[1024];
	tsdb_handler_log_format(&log, line, sizeof line);
	CHECKF(strncmp(line, "op=with_id status=OK k=4 results=4 computed=", 44) == 0, "%s", line);
	CHECKF(strstr(line, " series=41 ms=") && strstr(line, " peer=unix") && !strstr(line, "error="),
	       "%s", line);
	json_decref(r);
}

static void test_errors_and_priorities(void)
{
	static const struct {
		const char *req, *status;
		int prio;
	} cases[] = {
		{"{\"op\":\"get\",\"id\":\"nope\"}", "INVALID_KEY", 4},
		{"{\"op\":\"zap\"}", "INVALID_OPERATION", 4},
		{"[]", "BAD_REQUEST", 4},
		{"{\"op\":\"with_id\",\"id\":\"ts-000001\",\"k\":0}", "INVALID_COMPONENT", 4},
		{"{\"op\":\"with_ts\",\"ts\":[[0,1],[0.25,1],[0.5,1],[0.75,1]]}", "INVALID_SERIES", 4},
	};
	tsdb_handler_config cfg = config();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tsdb_handler_log log;
		int rc;
		json_t *r = exchange(cases[i].req, &cfg, &log, &rc);
		CHECKF(r && strcmp(status_of(r), cases[i].status) == 0, "%s", cases[i].req);
		CHECK(rc == 0 && log.responded);
		CHECKF(tsdb_handler_log_priority(&log) == cases[i].prio, "%s", cases[i].req);
		CHECK(json_is_null(json_object_get(r, "payload")));
		json_decref(r);
	}
	/* A missing database is the server's problem: priority 3. */
	cfg.db_dir = "/nonexistent/tsdb";
	tsdb_handler_log log;
	int rc;
	json_t *r = exchange("{\"op\":\"info\"}", &cfg, &log, &rc);
	CHECK(r && strcmp(status_of(r), "DB_UNAVAILABLE") == 0);
	CHECK(log.server_fault && tsdb_handler_log_priority(&log) == 3);
	json_decref(r);
}

static void test_shape_bound(void)
{
	tsdb_handler_config cfg = config();
	cfg.max_shape_values = 100;
	tsdb_handler_log log;
	int rc;
	json_t *r = exchange("{\"op\":\"within\",\"id\":\"ts-000001\",\"radius\":2,\"shape\":10}", &cfg, &log,
			     &rc);
	CHECK(r && strcmp(status_of(r), "TOO_LARGE") == 0);
	CHECK(!log.server_fault && log.results == 40);
	json_decref(r);
	r = exchange("{\"op\":\"within\",\"id\":\"ts-000001\",\"radius\":2,\"shape\":10,\"limit\":9}", &cfg,
		     &log, &rc);
	CHECK(r && strcmp(status_of(r), "OK") == 0);
	json_decref(r);
}

static void test_receive_timeout(void)
{
	tsdb_handler_config cfg = config();
	cfg.limits.timeout_ms = 100;
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(write(sv[0], "\x20\x00\x00\x00{\"op\"", 9) == 9);   /* 32 promised, 9 sent */
	tsdb_handler_log log;
	double t0 = now_ms();
	int rc = tsdb_handle(sv[1], sv[1], &cfg, &log);
	double dt = now_ms() - t0;
	CHECK(rc == 0 && log.responded && log.status == TSDB_E_TIMEOUT);
	CHECKF(dt >= 95 && dt < 1000, "%.1f ms", dt);
	tsdb_err err;
	char *body = NULL;
	size_t len = 0;
	CHECK(tsdb_frame_read(sv[0], 1 << 20, 1000, &body, &len, &err) == 0);
	CHECK(body && strstr(body, "\"status\":\"TIMEOUT\""));
	free(body);
	close(sv[0]);
	close(sv[1]);
}

/* The peer left before a request: no frame, no failure, a record. */
static void test_peer_gone(void)
{
	tsdb_handler_config cfg = config();
	tsdb_handler_log log;
	int rc;
	json_t *r = exchange(NULL, &cfg, &log, &rc);
	CHECK(!r);
	CHECK(rc == 0 && log.peer_gone && !log.responded && log.status == TSDB_E_IO);
	CHECK(tsdb_handler_log_priority(&log) == 4);
	char line[1024];
	tsdb_handler_log_format(&log, line, sizeof line);
	CHECKF(strstr(line, "response=none error=\"connection closed before a frame\""), "%s", line);
}

/* A peer that sends a request for a large answer and never reads it
 * cannot hold the handler longer than send_timeout_ms. */
static void test_reader_that_never_reads(void)
{
	tsdb_handler_config cfg = config();
	cfg.send_timeout_ms = 300;
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	const char *req = "{\"op\":\"get\",\"id\":\"long\"}";
	tsdb_err err;
	REQUIRE(tsdb_frame_write(sv[0], req, strlen(req), &err) == 0);
	tsdb_handler_log log;
	double t0 = now_ms();
	int rc = tsdb_handle(sv[1], sv[1], &cfg, &log);
	double dt = now_ms() - t0;
	CHECK(rc == -1 && !log.responded && log.status == TSDB_E_NONE);
	CHECKF(strstr(log.send_error, "timed out"), "%s", log.send_error);
	CHECKF(dt >= 290 && dt < 3000, "%.1f ms", dt);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that vanished after its request: EPIPE, not SIGPIPE. */
static void test_reader_gone(void)
{
	tsdb_handler_config cfg = config();
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	const char *req = "{\"op\":\"get\",\"id\":\"long\"}";
	tsdb_err err;
	REQUIRE(tsdb_frame_write(sv[0], req, strlen(req), &err) == 0);
	close(sv[0]);
	tsdb_handler_log log;
	int rc = tsdb_handle(sv[1], sv[1], &cfg, &log);
	CHECK(rc == -1 && !log.responded && log.send_error[0]);
	CHECK(tsdb_handler_log_priority(&log) == 4);
	close(sv[1]);
}

/* The big answer arrives whole to a peer that reads. */
static void test_large_answer_whole(void)
{
	tsdb_handler_config cfg = config();
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	const char *req = "{\"op\":\"get\",\"id\":\"long\"}";
	tsdb_err err;
	REQUIRE(tsdb_frame_write(sv[0], req, strlen(req), &err) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		tsdb_handler_log log;
		_exit(tsdb_handle(sv[1], sv[1], &cfg, &log) == 0 && log.responded ? 0 : 1);
	}
	close(sv[1]);
	char *body = NULL;
	size_t len = 0;
	CHECK(tsdb_frame_read(sv[0], 64u << 20, 10000, &body, &len, &err) == 0);
	json_t *r = body ? json_loadb(body, len, 0, NULL) : NULL;
	CHECK(r && strcmp(status_of(r), "OK") == 0);
	CHECK(json_array_size(json_object_get(json_object_get(r, "payload"), "t")) == LONG_POINTS);
	json_decref(r);
	free(body);
	close(sv[0]);
	int st = 0;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_log_line_escapes(void)
{
	tsdb_handler_log log;
	memset(&log, 0, sizeof log);
	log.k = log.limit = log.results = log.computed = log.series = -1;
	log.truncated = -1;
	log.radius = NAN;
	log.status = TSDB_E_INVALID_KEY;
	log.responded = 1;
	snprintf(log.error, sizeof log.error, "a \"quoted\\\" id\nwith a newline");
	char line[256];
	tsdb_handler_log_format(&log, line, sizeof line);
	CHECKF(strcmp(line, "op=- status=INVALID_KEY ms=0.00 recv_ms=0.00 "
			    "error=\"a \\\"quoted\\\\\\\" id\\x0awith a newline\"") == 0, "%s", line);
	char tiny[16];
	tsdb_handler_log_format(&log, tiny, sizeof tiny);
	CHECK(strlen(tiny) == sizeof tiny - 1);
}

int main(void)
{
	make_db();
	RUN(test_ok_and_log_record);
	RUN(test_errors_and_priorities);
	RUN(test_shape_bound);
	RUN(test_receive_timeout);
	RUN(test_peer_gone);
	RUN(test_reader_that_never_reads);
	RUN(test_reader_gone);
	RUN(test_large_answer_whole);
	RUN(test_log_line_escapes);
	test_rmtree(db_dir);
	return tap_done();
}
