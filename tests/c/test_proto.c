/*
 * test_proto.c - the protocol codec and the client, over socketpairs,
 * pipes and forked fake servers: framing bounds and deadlines, request
 * decoding field by field, response encoding, status names, tsdb_call.
 *
 * Every forked child _exits; every fd and json_t is released, so the suite
 * is also a leak check under -fsanitize=address.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "tap.h"

/* ---- helpers --------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int send_raw(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static void put_le32(unsigned char *b, uint32_t x)
{
	b[0] = (unsigned char)x;
	b[1] = (unsigned char)(x >> 8);
	b[2] = (unsigned char)(x >> 16);
	b[3] = (unsigned char)(x >> 24);
}

static int send_header(int fd, uint32_t total)
{
	unsigned char h[4];
	put_le32(h, total);
	return send_raw(fd, h, 4);
}

static int pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Waits for a forked child; nonzero if it did not exit 0. */
static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int decode_lim(const char *json, const tsdb_limits *lim, tsdb_request *req, tsdb_err *err)
{
	return tsdb_request_decode(json, strlen(json), lim, req, err);
}

static int decode(const char *json, tsdb_request *req, tsdb_err *err)
{
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	return decode_lim(json, &lim, req, err);
}

/* Decoding json must fail with code; the message must contain needle. */
static int fails_with(const char *json, enum tsdb_errcode code, const char *needle)
{
	tsdb_request req;
	tsdb_err err = {0};
	int rc = decode(json, &req, &err);
	tsdb_request_free(&req);
	if (rc == 0) {
		printf("# accepted: %.200s\n", json);
		return 0;
	}
	if (err.code != code || (needle && !strstr(err.msg, needle))) {
		printf("# %.200s -> %s: %s\n", json, tsdb_status_name(err.code), err.msg);
		return 0;
	}
	return 1;
}

static int accepted(const char *json)
{
	tsdb_request req;
	tsdb_err err = {0};
	int rc = decode(json, &req, &err);
	if (rc)
		printf("# refused: %.200s: %s\n", json, err.msg);
	tsdb_request_free(&req);
	return rc == 0;
}

#define TS4 "{\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,2]}"

/* ---- frames ---------------------------------------------------------- */

static void test_frame_round_trip(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	tsdb_err err;
	const char msg[] = "{\"op\":\"info\"}";
	CHECK(tsdb_frame_write(sv[0], msg, strlen(msg), &err) == 0);
	CHECK(tsdb_frame_write(sv[0], "", 0, &err) == 0);
	char *body = NULL;
	size_t len = 0;
	CHECK(tsdb_frame_read(sv[1], 1024, 1000, &body, &len, &err) == 0);
	CHECK(len == strlen(msg) && body && memcmp(body, msg, len) == 0 && body[len] == '\0');
	free(body);
	/* Not past the frame: the second, empty one is still there. */
	CHECK(tsdb_frame_read(sv[1], 1024, 1000, &body, &len, &err) == 0);
	CHECK(len == 0 && body && body[0] == '\0');
	free(body);
	close_pair(sv);
}

static void test_frame_header_bytes(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	tsdb_err err;
	const char msg[] = "ab";
	REQUIRE(tsdb_frame_write(sv[0], msg, 2, &err) == 0);
	unsigned char raw[6];
	size_t got = 0;
	while (got < sizeof raw) {
		ssize_t r = read(sv[1], raw + got, sizeof raw - got);
		REQUIRE(r > 0);
		got += (size_t)r;
	}
	const unsigned char want[6] = {6, 0, 0, 0, 'a', 'b'};
	CHECK(memcmp(raw, want, 6) == 0);
	close_pair(sv);
}

static void test_frame_through_pipe(void)
{
	int p[2];
	REQUIRE(pipe(p) == 0);
	tsdb_err err;
	CHECK(tsdb_frame_write(p[1], "xyz", 3, &err) == 0);  /* ENOTSOCK -> write */
	char *body = NULL;
	size_t len = 0;
	CHECK(tsdb_frame_read(p[0], 64, 1000, &body, &len, &err) == 0);
	CHECK(len == 3 && body && memcmp(body, "xyz", 3) == 0);
	free(body);
	close(p[0]);
	close(p[1]);
}

static void test_frame_big_with_child(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	size_t n = 3u << 20;  /* larger than socket buffers: many short writes */
	char *buf = malloc(n);
	REQUIRE(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + i % 26);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(sv[1]);
		tsdb_err e;
		_exit(tsdb_frame_write(sv[0], buf, n, &e) == 0 ? 0 : 1);
	}
	close(sv[0]);
	tsdb_err err;
	char *body = NULL;
	size_t len = 0;
	CHECK(tsdb_frame_read(sv[1], 4u << 20, 5000, &body, &len, &err) == 0);
	CHECK(len == n && body && memcmp(body, buf, n) == 0);
	free(body);
	free(buf);
	close(sv[1]);
	CHECK(reap(pid) == 0);
}

static void test_frame_length_below_header(void)
{
	uint32_t bad[] = {0, 1, 3};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int sv[2];
		REQUIRE(pair(sv) == 0);
		REQUIRE(send_header(sv[0], bad[i]) == 0);
		tsdb_err err;
		char *body = (char *)1;
		size_t len;
		CHECK(tsdb_frame_read(sv[1], 1024, 200, &body, &len, &err) == -1);
		CHECK(err.code == TSDB_E_BAD_REQUEST);
		CHECK(body == NULL);
		close_pair(sv);
	}
}

static void test_frame_empty_body(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	REQUIRE(send_header(sv[0], 4) == 0);
	tsdb_err err;
	char *body = NULL;
	size_t len = 99;
	CHECK(tsdb_frame_read(sv[1], 1024, 200, &body, &len, &err) == 0);
	CHECK(len == 0);
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request req;
	CHECK(tsdb_request_decode(body, len, &lim, &req, &err) == -1);
	CHECK(err.code == TSDB_E_BAD_REQUEST);
	tsdb_request_free(&req);
	free(body);
	close_pair(sv);
}

/* The peer stays open and sends no body: a reader that tried to read (or
 * allocate) the body would time out instead of refusing at once. */
static void test_frame_too_large_refused_first(void)
{
	uint32_t big[] = {1025, 1u << 31, UINT32_MAX};
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
		int sv[2];
		REQUIRE(pair(sv) == 0);
		REQUIRE(send_header(sv[0], big[i]) == 0);
		tsdb_err err;
		char *body = NULL;
		size_t len;
		long long t0 = now_ms();
		CHECK(tsdb_frame_read(sv[1], 1024, 2000, &body, &len, &err) == -1);
		CHECKF(err.code == TSDB_E_TOO_LARGE, "%s", err.msg);
		CHECK(now_ms() - t0 < 1500);
		CHECK(body == NULL);
		close_pair(sv);
	}
	/* Exactly max_frame is fine. */
	int sv[2];
	REQUIRE(pair(sv) == 0);
	tsdb_err err;
	char body20[16] = "0123456789abcdef";
	REQUIRE(tsdb_frame_write(sv[0], body20, 16, &err) == 0);
	char *body = NULL;
	size_t len;
	CHECK(tsdb_frame_read(sv[1], 20, 200, &body, &len, &err) == 0);
	free(body);
	close_pair(sv);
}

static void test_frame_peer_closes_early(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	REQUIRE(send_header(sv[0], 100) == 0);
	REQUIRE(send_raw(sv[0], "0123456789", 10) == 0);
	close(sv[0]);
	tsdb_err err;
	char *body = NULL;
	size_t len;
	CHECK(tsdb_frame_read(sv[1], 1024, 1000, &body, &len, &err) == -1);
	CHECK(err.code == TSDB_E_IO);
	CHECKF(strstr(err.msg, "connection closed after 14 of 100 bytes") != NULL, "%s", err.msg);
	close(sv[1]);

	/* Closed inside the header, and before anything. */
	REQUIRE(pair(sv) == 0);
	REQUIRE(send_raw(sv[0], "\x10\x00", 2) == 0);
	close(sv[0]);
	CHECK(tsdb_frame_read(sv[1], 1024, 1000, &body, &len, &err) == -1);
	CHECK(err.code == TSDB_E_IO && strstr(err.msg, "2 of 4") != NULL);
	close(sv[1]);
	REQUIRE(pair(sv) == 0);
	close(sv[0]);
	CHECK(tsdb_frame_read(sv[1], 1024, 1000, &body, &len, &err) == -1);
	CHECK(err.code == TSDB_E_IO);
	close(sv[1]);
}

static void test_frame_silence_times_out(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	REQUIRE(send_header(sv[0], 100) == 0);
	REQUIRE(send_raw(sv[0], "0123456789", 10) == 0);
	tsdb_err err;
	char *body = NULL;
	size_t len;
	long long t0 = now_ms();
	CHECK(tsdb_frame_read(sv[1], 1024, 200, &body, &len, &err) == -1);
	long long dt = now_ms() - t0;
	CHECKF(err.code == TSDB_E_TIMEOUT, "%s", err.msg);
	CHECKF(dt >= 195 && dt < 1500, "%lld ms", dt);
	CHECK(strstr(err.msg, "14 of 100") != NULL);
	close_pair(sv);

	/* Nothing at all. */
	REQUIRE(pair(sv) == 0);
	t0 = now_ms();
	CHECK(tsdb_frame_read(sv[1], 1024, 200, &body, &len, &err) == -1);
	CHECK(err.code == TSDB_E_TIMEOUT && now_ms() - t0 >= 195);
	close_pair(sv);
}

/* A child sends frame bytes one at a time, gap_ms apart. */
static pid_t trickle(int fd, const char *body, int gap_ms)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	unsigned char frame[256];
	size_t n = strlen(body);
	put_le32(frame, (uint32_t)(n + 4));
	memcpy(frame + 4, body, n);
	for (size_t i = 0; i < n + 4; i++) {
		if (send_raw(fd, frame + i, 1))
			_exit(0);  /* the reader gave up: fine */
		sleep_ms(gap_ms);
	}
	_exit(0);
}

static void test_frame_trickle_within_deadline(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	const char *msg = "{\"op\":\"info\"}";
	pid_t pid = trickle(sv[0], msg, 5);
	REQUIRE(pid >= 0);
	close(sv[0]);
	tsdb_err err;
	char *body = NULL;
	size_t len;
	CHECKF(tsdb_frame_read(sv[1], 1024, 3000, &body, &len, &err) == 0, "%s", err.msg);
	CHECK(body && len == strlen(msg) && memcmp(body, msg, len) == 0);
	free(body);
	close(sv[1]);
	CHECK(reap(pid) == 0);
}

/* The deadline bounds the whole frame, not each read: a peer that is never
 * silent for long but never finishes still times out. */
static void test_frame_trickle_past_deadline(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	pid_t pid = trickle(sv[0], "{\"op\":\"info\",\"pad\":\"xxxxxxxxxxxxxxxx\"}", 40);
	REQUIRE(pid >= 0);
	close(sv[0]);
	tsdb_err err;
	char *body = NULL;
	size_t len;
	long long t0 = now_ms();
	CHECK(tsdb_frame_read(sv[1], 1024, 200, &body, &len, &err) == -1);
	long long dt = now_ms() - t0;
	CHECKF(err.code == TSDB_E_TIMEOUT, "%s", err.msg);
	CHECKF(dt >= 195 && dt < 1200, "%lld ms", dt);
	close(sv[1]);
	CHECK(reap(pid) == 0);
}

static void test_frame_write_to_closed_peer(void)
{
	int sv[2];
	REQUIRE(pair(sv) == 0);
	close(sv[1]);
	tsdb_err err;
	/* MSG_NOSIGNAL: EPIPE as a value, and this process lives on. */
	CHECK(tsdb_frame_write(sv[0], "abc", 3, &err) == -1);
	CHECK(err.code == TSDB_E_IO && strstr(err.msg, "pipe") != NULL);
	close(sv[0]);

	int p[2];
	REQUIRE(pipe(p) == 0);
	close(p[0]);
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	CHECK(tsdb_frame_write(p[1], "abc", 3, &err) == -1);
	CHECK(err.code == TSDB_E_IO);
	signal(SIGPIPE, old);
	close(p[1]);
}

static void test_frame_write_deadline(void)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	size_t n = 8u << 20;  /* nobody reads: the buffers fill */
	char *buf = calloc(1, n);
	REQUIRE(buf);
	tsdb_err err;
	long long t0 = now_ms();
	CHECK(tsdb_frame_write_timeout(sv[0], buf, n, 200, &err) == -1);
	CHECKF(err.code == TSDB_E_TIMEOUT, "%s", err.msg);
	CHECK(now_ms() - t0 < 1500);
	free(buf);
	close_pair(sv);
}

/* ---- request decoding ------------------------------------------------- */

static void test_decode_with_id(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"with_id\",\"id\":\"star-1\"}", &req, &err) == 0);
	CHECK(req.op == TSDB_OP_WITH_ID && req.op_known);
	CHECK(req.has_id && req.id_len == 6 && strcmp(req.id, "star-1") == 0);
	CHECK(req.k == 5 && req.shape == 0 && !req.has_ts);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"with_id\",\"id\":\"a\",\"k\":1000,\"shape\":256,\"zzz\":[1]}",
		       &req, &err) == 0);
	CHECK(req.k == 1000 && req.shape == 256);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"with_id\",\"id\":\"a\",\"k\":1}", &req, &err) == 0);
	CHECK(req.k == 1);
	tsdb_request_free(&req);
}

/* Course front ends send integer ids: each is its decimal text, wherever an
 * id goes; a real is still not an id. */
static void test_decode_integer_ids(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"with_id\",\"id\":12}", &req, &err) == 0);
	CHECK(req.has_id && req.id_len == 2 && strcmp(req.id, "12") == 0);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"get\",\"id\":-9223372036854775808}", &req, &err) == 0);
	CHECK(strcmp(req.id, "-9223372036854775808") == 0);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"list\",\"after\":0}", &req, &err) == 0);
	CHECK(req.has_after && strcmp(req.after, "0") == 0);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"within\",\"id\":7,\"radius\":1}", &req, &err) == 0);
	CHECK(strcmp(req.id, "7") == 0);
	tsdb_request_free(&req);
	CHECK(decode("{\"op\":\"get\",\"id\":12.0}", &req, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
	CHECK(decode("{\"op\":\"get\",\"id\":true}", &req, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
}

static void test_decode_with_ts_shapes(void)
{
	const char *good[] = {
		"{\"op\":\"with_ts\",\"ts\":" TS4 "}",
		"{\"op\":\"with_ts\",\"ts\":{\"time_points\":[0,0.25,0.5,0.75],\"data_points\":[1,2,3,2]}}",
		"{\"op\":\"with_ts\",\"ts\":[[0,0.25,0.5,0.75],[1,2,3,2]]}",
		"{\"op\":\"with_ts\",\"ts\":[[0,1],[0.25,2],[0.5,3],[0.75,2]],\"k\":3}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		tsdb_request req;
		tsdb_err err;
		CHECKF(decode(good[i], &req, &err) == 0, "%s: %s", good[i], err.msg);
		CHECK(req.op == TSDB_OP_WITH_TS && req.has_ts && req.ts.n == 4);
		CHECK(req.ts.v[2] == 3.0 && req.ts.t[1] == 0.25);
		tsdb_request_free(&req);
	}
}

static void test_decode_series_bounds(void)
{
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":{\"t\":[0.5],\"v\":[1]}}",
			 TSDB_E_INVALID_SERIES, "'ts'"));
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":{\"t\":[0,0.3,0.6],\"v\":[1,2,3]}}",
			 TSDB_E_INVALID_SERIES, NULL));
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":{\"t\":[0,0.2,0.4,0.6],\"v\":[1,1,1,1]}}",
			 TSDB_E_INVALID_SERIES, NULL));
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":{\"t\":[0,0.2,0.4,1.0],\"v\":[1,2,1,1]}}",
			 TSDB_E_INVALID_SERIES, NULL));
	CHECK(fails_with("{\"op\":\"with_ts\"}", TSDB_E_INVALID_ARG, "'ts'"));
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":\"0 1\"}", TSDB_E_INVALID_ARG, "'ts'"));
	CHECK(fails_with("{\"op\":\"with_ts\",\"ts\":null}", TSDB_E_INVALID_ARG, "'ts'"));
	/* max_points bounds the query. */
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	lim.max_points = 4;
	tsdb_request req;
	tsdb_err err;
	CHECK(decode_lim("{\"op\":\"with_ts\",\"ts\":" TS4 "}", &lim, &req, &err) == 0);
	tsdb_request_free(&req);
	CHECK(decode_lim("{\"op\":\"with_ts\",\"ts\":{\"t\":[0,0.2,0.4,0.6,0.8],\"v\":[1,2,3,4,5]}}",
			 &lim, &req, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE);
	tsdb_request_free(&req);
}

static void test_decode_k_bounds(void)
{
	const char *bad[] = {"0", "-1", "1e12", "1000000000000", "2.5", "\"5\"", "1001",
			     "-0", "5.0", "null", "true", "[5]", "4294967301"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char json[128];
		snprintf(json, sizeof json, "{\"op\":\"with_id\",\"id\":\"a\",\"k\":%s}", bad[i]);
		CHECKF(fails_with(json, TSDB_E_INVALID_ARG, "'k'"), "k = %s", bad[i]);
		snprintf(json, sizeof json, "{\"op\":\"with_ts\",\"ts\":" TS4 ",\"k\":%s}", bad[i]);
		CHECKF(fails_with(json, TSDB_E_INVALID_ARG, "'k'"), "k = %s", bad[i]);
	}
	/* The bound is the limit's, not a constant. */
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	lim.max_k = 3;
	tsdb_request req;
	tsdb_err err;
	CHECK(decode_lim("{\"op\":\"with_id\",\"id\":\"a\",\"k\":4}", &lim, &req, &err) == -1);
	CHECK(strstr(err.msg, "1..3") != NULL);
	tsdb_request_free(&req);
	CHECK(decode_lim("{\"op\":\"with_id\",\"id\":\"a\"}", &lim, &req, &err) == 0);
	CHECK(req.k == 3);  /* the default never exceeds the bound */
	tsdb_request_free(&req);
}

static void test_decode_shape_bounds(void)
{
	CHECK(accepted("{\"op\":\"with_id\",\"id\":\"a\",\"shape\":0}"));
	CHECK(accepted("{\"op\":\"with_id\",\"id\":\"a\",\"shape\":256}"));
	CHECK(fails_with("{\"op\":\"with_id\",\"id\":\"a\",\"shape\":257}", TSDB_E_INVALID_ARG, "'shape'"));
	CHECK(fails_with("{\"op\":\"with_id\",\"id\":\"a\",\"shape\":-1}", TSDB_E_INVALID_ARG, "'shape'"));
	CHECK(fails_with("{\"op\":\"with_id\",\"id\":\"a\",\"shape\":1.5}", TSDB_E_INVALID_ARG, "'shape'"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":1,\"shape\":300}",
			 TSDB_E_INVALID_ARG, "'shape'"));
}

static void test_decode_ids(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"get\",\"id\":\"a\\\"b/c\\\\d/../e\"}", &req, &err) == 0);
	CHECK(strcmp(req.id, "a\"b/c\\d/../e") == 0 && req.id_len == 12);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"get\",\"id\":\"\xc3\xa9toile \\u2605\"}", &req, &err) == 0);
	CHECK(strcmp(req.id, "\xc3\xa9toile \xe2\x98\x85") == 0);
	tsdb_request_free(&req);

	CHECK(fails_with("{\"op\":\"get\",\"id\":\"\\u0000\"}", TSDB_E_INVALID_KEY, "'id'"));
	CHECK(fails_with("{\"op\":\"get\",\"id\":\"a\\u0000b\"}", TSDB_E_INVALID_KEY, "'id'"));
	CHECK(fails_with("{\"op\":\"get\",\"id\":\"a\\u0001\"}", TSDB_E_INVALID_KEY, "'id'"));
	CHECK(fails_with("{\"op\":\"get\",\"id\":\"a\\nb\"}", TSDB_E_INVALID_KEY, "'id'"));
	CHECK(fails_with("{\"op\":\"get\",\"id\":\"\"}", TSDB_E_INVALID_KEY, "'id'"));
	CHECK(fails_with("{\"op\":\"get\",\"id\":7.5}", TSDB_E_INVALID_ARG, "'id'"));
	CHECK(fails_with("{\"op\":\"get\"}", TSDB_E_INVALID_ARG, "'id'"));
	CHECK(fails_with("{\"op\":\"with_id\"}", TSDB_E_INVALID_ARG, "'id'"));

	char json[400], id[301];
	memset(id, 'x', 300);
	id[300] = '\0';
	snprintf(json, sizeof json, "{\"op\":\"get\",\"id\":\"%s\"}", id);
	CHECK(fails_with(json, TSDB_E_INVALID_KEY, "'id'"));
	id[TSDB_ID_MAX] = '\0';  /* 255 bytes: the longest id */
	snprintf(json, sizeof json, "{\"op\":\"get\",\"id\":\"%s\"}", id);
	REQUIRE(decode(json, &req, &err) == 0);
	CHECK(req.id_len == TSDB_ID_MAX && strlen(req.id) == TSDB_ID_MAX);
	tsdb_request_free(&req);
}

static void test_decode_get_info(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"get\",\"id\":\"q\"}", &req, &err) == 0);
	CHECK(req.op == TSDB_OP_GET && req.has_id && strcmp(req.id, "q") == 0);
	tsdb_request_free(&req);
	REQUIRE(decode(" {\"op\":\"info\", \"id\": 5, \"k\": \"ignored\"} \n", &req, &err) == 0);
	CHECK(req.op == TSDB_OP_INFO && !req.has_id);
	tsdb_request_free(&req);
}

static void test_decode_list(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"list\"}", &req, &err) == 0);
	CHECK(req.op == TSDB_OP_LIST && req.limit == 100 && !req.has_after && !req.has_prefix);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"list\",\"after\":\"s/9\",\"prefix\":\"s/\",\"limit\":100000}",
		       &req, &err) == 0);
	CHECK(req.has_after && strcmp(req.after, "s/9") == 0 && req.after_len == 3);
	CHECK(req.has_prefix && strcmp(req.prefix, "s/") == 0 && req.prefix_len == 2);
	CHECK(req.limit == 100000);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"list\",\"prefix\":\"\"}", &req, &err) == 0);
	CHECK(req.has_prefix && req.prefix_len == 0);
	tsdb_request_free(&req);

	CHECK(fails_with("{\"op\":\"list\",\"limit\":0}", TSDB_E_INVALID_ARG, "'limit'"));
	CHECK(fails_with("{\"op\":\"list\",\"limit\":100001}", TSDB_E_INVALID_ARG, "'limit'"));
	CHECK(fails_with("{\"op\":\"list\",\"after\":\"\"}", TSDB_E_INVALID_KEY, "'after'"));
	CHECK(fails_with("{\"op\":\"list\",\"after\":1.0}", TSDB_E_INVALID_ARG, "'after'"));
	CHECK(fails_with("{\"op\":\"list\",\"prefix\":\"a\\u0000\"}", TSDB_E_INVALID_ARG, "'prefix'"));
	CHECK(fails_with("{\"op\":\"list\",\"prefix\":[]}", TSDB_E_INVALID_ARG, "'prefix'"));
	char json[400], p[257];
	memset(p, 'p', 256);
	p[256] = '\0';
	snprintf(json, sizeof json, "{\"op\":\"list\",\"prefix\":\"%s\"}", p);
	CHECK(fails_with(json, TSDB_E_INVALID_ARG, "'prefix'"));
}

static void test_decode_within(void)
{
	tsdb_request req;
	tsdb_err err;
	REQUIRE(decode("{\"op\":\"within\",\"id\":\"a\",\"radius\":0.5}", &req, &err) == 0);
	CHECK(req.op == TSDB_OP_WITHIN && req.has_id && !req.has_ts);
	CHECK(req.radius == 0.5 && req.limit == 100000 && req.shape == 0);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"within\",\"ts\":" TS4 ",\"radius\":1,\"limit\":7,\"shape\":16}",
		       &req, &err) == 0);
	CHECK(req.has_ts && !req.has_id && req.radius == 1.0 && req.limit == 7 && req.shape == 16);
	tsdb_request_free(&req);
	REQUIRE(decode("{\"op\":\"within\",\"id\":\"a\",\"radius\":-0.0}", &req, &err) == 0);
	CHECK(req.radius == 0 && !signbit(req.radius));
	tsdb_request_free(&req);

	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"ts\":" TS4 ",\"radius\":1}",
			 TSDB_E_INVALID_ARG, "exactly one"));
	CHECK(fails_with("{\"op\":\"within\",\"radius\":1}", TSDB_E_INVALID_ARG, "exactly one"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\"}", TSDB_E_INVALID_ARG, "'radius'"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":-1}", TSDB_E_INVALID_ARG, "'radius'"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":\"1\"}", TSDB_E_INVALID_ARG, "'radius'"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":1,\"limit\":0}",
			 TSDB_E_INVALID_ARG, "'limit'"));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"\",\"radius\":1}", TSDB_E_INVALID_KEY, "'id'"));
}

static void test_decode_numbers_json_refuses(void)
{
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":NaN}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":Infinity}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":-Infinity}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"within\",\"id\":\"a\",\"radius\":1e400}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"with_id\",\"id\":\"a\",\"k\":1e400}", TSDB_E_BAD_REQUEST, NULL));
}

static void test_decode_op(void)
{
	CHECK(fails_with("{\"op\":\"drop_table\"}", TSDB_E_INVALID_OP, "drop_table"));
	CHECK(fails_with("{\"op\":\"info\\u0000\"}", TSDB_E_INVALID_OP, "info?"));
	CHECK(fails_with("{\"op\":\"INFO\"}", TSDB_E_INVALID_OP, "INFO"));
	CHECK(fails_with("{\"op\":5}", TSDB_E_INVALID_OP, "'op'"));
	CHECK(fails_with("{\"id\":\"a\"}", TSDB_E_INVALID_OP, "'op'"));
	/* The op survives a later failure, for the response's "op". */
	tsdb_request req;
	tsdb_err err;
	CHECK(decode("{\"op\":\"with_id\",\"id\":\"a\",\"k\":0}", &req, &err) == -1);
	CHECK(req.op_known && req.op == TSDB_OP_WITH_ID && !req.has_id);
	tsdb_request_free(&req);
	CHECK(decode("{\"op\":\"nope\"}", &req, &err) == -1);
	CHECK(!req.op_known);
	tsdb_request_free(&req);
}

static void test_decode_not_json(void)
{
	CHECK(fails_with("{\"op\":\"info\",\"x\":\"\xff\"}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"info\",\"x\":\"\xc0\xaf\"}", TSDB_E_BAD_REQUEST, NULL));   /* overlong */
	CHECK(fails_with("{\"op\":\"info\",\"x\":\"\xed\xa0\x80\"}", TSDB_E_BAD_REQUEST, NULL)); /* surrogate */
	CHECK(fails_with("[]", TSDB_E_BAD_REQUEST, "object"));
	CHECK(fails_with("\"info\"", TSDB_E_BAD_REQUEST, "object"));
	CHECK(fails_with("5", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("null", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"info\"} {}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"info\",}", TSDB_E_BAD_REQUEST, NULL));
	CHECK(fails_with("{\"op\":\"info\",\"op\":\"get\"}", TSDB_E_BAD_REQUEST, NULL));
	/* A NUL byte in the body is not JSON. */
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request req;
	tsdb_err err;
	CHECK(tsdb_request_decode("{\"op\":\"info\"}\0", 14, &lim, &req, &err) == -1);
	CHECK(err.code == TSDB_E_BAD_REQUEST);
	tsdb_request_free(&req);
}

/* {"op":"info","x": + n '[' + n ']' + } : the object is depth 1. */
static char *nested(size_t arrays, char open, char close)
{
	const char *head = "{\"op\":\"info\",\"x\":";
	size_t hl = strlen(head);
	char *s = malloc(hl + 2 * arrays + 2);
	if (!s)
		return NULL;
	memcpy(s, head, hl);
	memset(s + hl, open, arrays);
	memset(s + hl + arrays, close, arrays);
	strcpy(s + hl + 2 * arrays, "}");
	return s;
}

static void test_decode_depth(void)
{
	char *s = nested(TSDB_JSON_MAX_DEPTH - 1, '[', ']');
	REQUIRE(s);
	CHECK(accepted(s));
	free(s);
	s = nested(TSDB_JSON_MAX_DEPTH, '[', ']');
	REQUIRE(s);
	CHECK(fails_with(s, TSDB_E_BAD_REQUEST, "deeper"));
	free(s);
	/* Deep, but past jansson's own limit: a clean error, not a crash. */
	s = nested(100000, '[', ']');
	REQUIRE(s);
	CHECK(fails_with(s, TSDB_E_BAD_REQUEST, NULL));
	free(s);
	/* Unclosed, as an attacker would send it. */
	size_t n = 100000;
	s = malloc(n + 1);
	REQUIRE(s);
	memset(s, '[', n);
	s[n] = '\0';
	CHECK(fails_with(s, TSDB_E_BAD_REQUEST, NULL));
	free(s);
	/* Objects inside arrays count too; a deep ts's metadata as well. */
	CHECK(accepted("{\"op\":\"info\",\"a\":[{\"b\":[{\"c\":[]}]}]}"));
	char meta[600] = "{\"op\":\"with_ts\",\"ts\":{\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,2],\"meta\":";
	size_t ml = strlen(meta);
	for (int i = 0; i < 70; i++)
		meta[ml++] = '[';
	for (int i = 0; i < 70; i++)
		meta[ml++] = ']';
	strcpy(meta + ml, "}}");
	CHECK(fails_with(meta, TSDB_E_BAD_REQUEST, "deeper"));
}

static void test_decode_ordinary_request_depth(void)
{
	/* The deepest ordinary request: pairs inside ts inside the request. */
	CHECK(accepted("{\"op\":\"within\",\"ts\":{\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,2],"
		       "\"meta\":{\"a\":{\"b\":[1,{\"c\":2}]}}},\"radius\":0.1}"));
	CHECK(accepted("{\"op\":\"with_ts\",\"ts\":[[0,1],[0.25,2],[0.5,3],[0.75,2]]}"));
}

/* ---- responses --------------------------------------------------------- */

static void test_response_ok(void)
{
	json_t *p = json_pack("{s:i, s:[s]}", "n", 3, "ids", "a");
	REQUIRE(p);
	size_t len = 0;
	char *text = tsdb_response_encode("list", TSDB_E_NONE, "ignored", p, &len);
	REQUIRE(text);
	CHECKF(strcmp(text, "{\"op\":\"list\",\"status\":\"OK\",\"payload\":{\"n\":3,\"ids\":[\"a\"]}}") == 0,
	       "%s", text);
	CHECK(len == strlen(text));
	free(text);
}

static void test_response_error(void)
{
	size_t len = 0;
	char *text = tsdb_response_encode(NULL, TSDB_E_INVALID_OP, "unknown op 'x'", NULL, &len);
	REQUIRE(text);
	CHECKF(strcmp(text, "{\"op\":null,\"status\":\"INVALID_OPERATION\",\"payload\":null,"
			    "\"error\":\"unknown op 'x'\"}") == 0, "%s", text);
	free(text);
	/* No message: the status name stands in. */
	text = tsdb_response_encode("get", TSDB_E_DUPLICATE, NULL, NULL, &len);
	REQUIRE(text);
	CHECK(strstr(text, "\"status\":\"INVALID_KEY\"") && strstr(text, "\"error\":\"INVALID_KEY\""));
	free(text);
	/* A message cut inside a character (or quoting bad bytes) stays valid JSON. */
	text = tsdb_response_encode("get", TSDB_E_INVALID_KEY, "bad \xe2\x98 id \xff\x80 end", NULL, &len);
	REQUIRE(text);
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	CHECKF(j != NULL, "%s", text);
	CHECK(j && strcmp(json_string_value(json_object_get(j, "error")), "bad ?? id ?? end") == 0);
	json_decref(j);
	free(text);
	/* Valid multibyte text and control characters survive, escaped. */
	text = tsdb_response_encode("get", TSDB_E_INVALID_KEY, "\xc3\xa9\t\xf0\x9f\x98\x80", NULL, &len);
	REQUIRE(text);
	j = json_loadb(text, len, 0, &jerr);
	CHECK(j && strcmp(json_string_value(json_object_get(j, "error")), "\xc3\xa9\t\xf0\x9f\x98\x80") == 0);
	json_decref(j);
	free(text);
}

static void test_response_steals_payload(void)
{
	json_t *p = json_object();
	REQUIRE(p);
	json_incref(p);
	char *text = tsdb_response_encode("info", TSDB_E_NONE, NULL, p, NULL);
	CHECK(text != NULL);
	CHECK(p->refcount == 1);
	free(text);
	/* Stolen on the error path too. */
	json_incref(p);
	text = tsdb_response_encode("info", TSDB_E_IO, "disk", p, NULL);
	CHECK(text != NULL);
	CHECK(p->refcount == 1);
	free(text);
	json_decref(p);
	/* And the last reference: ASan reports a leak if it is kept. */
	text = tsdb_response_encode("info", TSDB_E_NONE, NULL, json_pack("[i]", 1), NULL);
	CHECK(text != NULL);
	free(text);
}

static void test_response_reals_round_trip(void)
{
	double xs[] = {0.1, 1.0 / 3.0, 5e-324, 1.7976931348623157e308, -0.0, 123456789.123456789};
	json_t *a = json_array();
	REQUIRE(a);
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
		json_array_append_new(a, json_real(xs[i]));
	size_t len;
	char *text = tsdb_response_encode("get", TSDB_E_NONE, NULL, a, &len);
	REQUIRE(text);
	CHECK(strstr(text, "0.10000000000000001") != NULL);
	json_t *j = json_loadb(text, len, 0, NULL);
	REQUIRE(j);
	json_t *b = json_object_get(j, "payload");
	for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
		CHECKF(json_real_value(json_array_get(b, i)) == xs[i], "%zu", i);
	json_decref(j);
	free(text);
}

static void test_status_names(void)
{
	const char *order[] = {"OK", "UNKNOWN_ERROR", "INVALID_OPERATION", "INVALID_KEY",
			       "INVALID_COMPONENT", "PYPE_ERROR", "INVALID_SERIES", "TOO_LARGE",
			       "TIMEOUT", "BAD_REQUEST", "DB_UNAVAILABLE", "DB_CORRUPT", "IO_ERROR"};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		enum tsdb_errcode c = tsdb_status_code(order[i]);
		if (strcmp(order[i], "PYPE_ERROR") == 0)
			CHECK(c == TSDB_E_UNKNOWN);
		else
			CHECKF(strcmp(tsdb_status_name(c), order[i]) == 0, "%s", order[i]);
	}
	for (int c = TSDB_E_NONE; c <= TSDB_E_BAD_REQUEST; c++) {
		const char *name = tsdb_status_name((enum tsdb_errcode)c);
		CHECK(name != NULL);
		CHECKF(strcmp(tsdb_status_name(tsdb_status_code(name)), name) == 0, "%d", c);
	}
	CHECK(strcmp(tsdb_status_name(TSDB_E_NONE), "OK") == 0);
	CHECK(strcmp(tsdb_status_name(TSDB_E_INVALID_ARG), "INVALID_COMPONENT") == 0);
	CHECK(strcmp(tsdb_status_name(TSDB_E_DUPLICATE), "INVALID_KEY") == 0);
	CHECK(strcmp(tsdb_status_name(TSDB_E_VERSION), "DB_CORRUPT") == 0);
	CHECK(strcmp(tsdb_status_name(TSDB_E_NOSPACE), "IO_ERROR") == 0);
	CHECK(strcmp(tsdb_status_name(TSDB_E_UNAVAILABLE), "DB_UNAVAILABLE") == 0);
	CHECK(strcmp(tsdb_status_name((enum tsdb_errcode)999), "UNKNOWN_ERROR") == 0);
	CHECK(tsdb_status_code("NOPE") == TSDB_E_UNKNOWN);
	CHECK(tsdb_status_code(NULL) == TSDB_E_UNKNOWN);
	CHECK(tsdb_status_code("INVALID_COMPONENT") == TSDB_E_INVALID_ARG);
	CHECK(tsdb_status_code("BAD_REQUEST") == TSDB_E_BAD_REQUEST);
}

static void test_op_names(void)
{
	const char *names[] = {"with_id", "with_ts", "get", "info", "list", "within"};
	for (int i = 0; i < 6; i++) {
		CHECK(strcmp(tsdb_op_name((enum tsdb_op)i), names[i]) == 0);
		enum tsdb_op op;
		CHECK(tsdb_op_from_name(names[i], strlen(names[i]), &op) == 0 && (int)op == i);
	}
	enum tsdb_op op;
	CHECK(tsdb_op_from_name("info\0", 5, &op) == -1);
	CHECK(tsdb_op_from_name("inf", 3, &op) == -1);
	CHECK(tsdb_op_name((enum tsdb_op)42) == NULL);
}

/* ---- the client ------------------------------------------------------- */

enum fake { FAKE_ECHO, FAKE_SILENT, FAKE_GARBAGE, FAKE_NOT_OBJECT, FAKE_CLOSE };

/* Serves one connection on lfd the fake way, in a child. */
static pid_t fake_server(int lfd, enum fake how)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	char *body = NULL;
	size_t len = 0;
	tsdb_err err;
	int rc = tsdb_frame_read(c, 1 << 20, 2000, &body, &len, &err);
	if (how == FAKE_SILENT) {
		sleep_ms(1000);
		_exit(0);
	}
	if (how == FAKE_CLOSE)
		_exit(0);
	if (rc)
		_exit(1);
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request req;
	const char *out = "";
	char *text = NULL;
	if (how == FAKE_ECHO) {
		/* Answers with the request itself as payload, or the decode error. */
		if (tsdb_request_decode(body, len, &lim, &req, &err) == 0) {
			json_t *p = json_loadb(body, len, 0, NULL);
			text = tsdb_response_encode(tsdb_op_name(req.op), TSDB_E_NONE, NULL, p, NULL);
		} else {
			text = tsdb_response_encode(req.op_known ? tsdb_op_name(req.op) : NULL,
						    err.code, err.msg, NULL, NULL);
		}
		tsdb_request_free(&req);
		out = text;
	} else if (how == FAKE_GARBAGE) {
		out = "{\"status\":";
	} else {
		out = "[\"OK\"]";
	}
	rc = out && tsdb_frame_write(c, out, strlen(out), &err);
	free(text);
	free(body);
	close(c);
	_exit(rc ? 1 : 0);
}

/* A listening TCP socket on 127.0.0.1 and its "127.0.0.1:PORT" address. */
static int listen_tcp(char *addr, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		close(fd);
		return -1;
	}
	snprintf(addr, size, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static int listen_unix(char *addr, size_t size, char *dir, size_t dsize)
{
	snprintf(dir, dsize, "/tmp/tsdb-test-proto-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/sock", dir);
	snprintf(addr, size, "unix:%s", sa.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void cleanup_unix(const char *dir)
{
	char path[256];
	snprintf(path, sizeof path, "%s/sock", dir);
	unlink(path);
	rmdir(dir);
}

static void test_call_tcp_and_unix(void)
{
	char addr[128], dir[64];
	for (int transport = 0; transport < 2; transport++) {
		int lfd = transport ? listen_unix(addr, sizeof addr, dir, sizeof dir)
				    : listen_tcp(addr, sizeof addr);
		REQUIRE(lfd >= 0);
		pid_t pid = fake_server(lfd, FAKE_ECHO);
		REQUIRE(pid >= 0);
		json_t *req = json_pack("{s:s, s:s, s:i}", "op", "with_id", "id", "\xc3\xa9/1", "k", 3);
		REQUIRE(req);
		json_t *resp = NULL;
		tsdb_err err;
		CHECKF(tsdb_call(addr, req, 2000, &resp, &err) == 0, "%s", err.msg);
		CHECK(resp && strcmp(json_string_value(json_object_get(resp, "status")), "OK") == 0);
		CHECK(resp && json_equal(json_object_get(resp, "payload"), req));
		CHECK(req->refcount == 1);  /* not stolen */
		json_decref(resp);
		json_decref(req);
		CHECK(reap(pid) == 0);
		close(lfd);
		if (transport)
			cleanup_unix(dir);
	}
}

static void test_call_error_status(void)
{
	char addr[64];
	int lfd = listen_tcp(addr, sizeof addr);
	REQUIRE(lfd >= 0);
	pid_t pid = fake_server(lfd, FAKE_ECHO);
	REQUIRE(pid >= 0);
	json_t *req = json_pack("{s:s, s:i}", "op", "with_id", "k", 3);
	json_t *resp = NULL;
	tsdb_err err;
	CHECK(tsdb_call(addr, req, 2000, &resp, &err) == 0);
	/* A refusal is a response, not a failed call. */
	CHECK(resp && strcmp(json_string_value(json_object_get(resp, "status")), "INVALID_COMPONENT") == 0);
	CHECK(resp && strcmp(json_string_value(json_object_get(resp, "op")), "with_id") == 0);
	CHECK(resp && strstr(json_string_value(json_object_get(resp, "error")), "'id'"));
	json_decref(resp);
	json_decref(req);
	CHECK(reap(pid) == 0);
	close(lfd);
}

static void test_call_refused(void)
{
	char addr[64];
	int lfd = listen_tcp(addr, sizeof addr);
	REQUIRE(lfd >= 0);
	close(lfd);  /* the port is now (almost certainly) closed */
	json_t *req = json_pack("{s:s}", "op", "info");
	json_t *resp = NULL;
	tsdb_err err;
	CHECK(tsdb_call(addr, req, 2000, &resp, &err) == -1);
	CHECK(resp == NULL && err.code == TSDB_E_IO);
	char want[128];
	snprintf(want, sizeof want, "cannot connect to %s: Connection refused", addr);
	CHECKF(strcmp(err.msg, want) == 0, "%s", err.msg);
	CHECK(tsdb_call("unix:/nonexistent/tsdb.sock", req, 2000, &resp, &err) == -1);
	CHECKF(strstr(err.msg, "cannot connect to unix:/nonexistent/tsdb.sock: ") == err.msg, "%s", err.msg);
	json_decref(req);
}

static void test_call_timeout(void)
{
	char addr[64];
	int lfd = listen_tcp(addr, sizeof addr);
	REQUIRE(lfd >= 0);
	pid_t pid = fake_server(lfd, FAKE_SILENT);
	REQUIRE(pid >= 0);
	json_t *req = json_pack("{s:s}", "op", "info");
	json_t *resp = NULL;
	tsdb_err err;
	long long t0 = now_ms();
	CHECK(tsdb_call(addr, req, 200, &resp, &err) == -1);
	long long dt = now_ms() - t0;
	CHECKF(err.code == TSDB_E_TIMEOUT, "%s", err.msg);
	CHECKF(dt >= 195 && dt < 1500, "%lld ms", dt);
	CHECK(strstr(err.msg, addr) != NULL);
	json_decref(req);
	CHECK(reap(pid) == 0);
	close(lfd);
}

static void test_call_bad_responses(void)
{
	enum fake kinds[] = {FAKE_GARBAGE, FAKE_NOT_OBJECT, FAKE_CLOSE};
	for (size_t i = 0; i < 3; i++) {
		char addr[64];
		int lfd = listen_tcp(addr, sizeof addr);
		REQUIRE(lfd >= 0);
		pid_t pid = fake_server(lfd, kinds[i]);
		REQUIRE(pid >= 0);
		json_t *req = json_pack("{s:s}", "op", "info");
		json_t *resp = NULL;
		tsdb_err err;
		CHECK(tsdb_call(addr, req, 2000, &resp, &err) == -1);
		CHECK(resp == NULL);
		CHECKF(strncmp(err.msg, addr, strlen(addr)) == 0, "%s", err.msg);
		json_decref(req);
		CHECK(reap(pid) == 0);
		close(lfd);
	}
}

static void test_call_bad_addresses(void)
{
	const char *bad[] = {"", ":7411", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
			     "127.0.0.1:http", "::1:7411", "[::1", "[::1]x", "unix:"};
	json_t *req = json_pack("{s:s}", "op", "info");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *resp = NULL;
		tsdb_err err;
		CHECKF(tsdb_call(bad[i], req, 500, &resp, &err) == -1, "%s", bad[i]);
		CHECKF(err.code == TSDB_E_INVALID_ARG, "%s: %s", bad[i], err.msg);
		CHECK(resp == NULL);
	}
	json_t *resp = NULL;
	tsdb_err err;
	CHECK(tsdb_call("no-such-host.invalid:7411", req, 2000, &resp, &err) == -1);
	CHECKF(strstr(err.msg, "cannot resolve no-such-host.invalid:7411") != NULL, "%s", err.msg);
	json_decref(req);
}

static void test_call_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t sl = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		if (fd >= 0)
			close(fd);
		SKIP("no IPv6 loopback here");
	}
	char addr[64];
	snprintf(addr, sizeof addr, "[::1]:%u", ntohs(sa.sin6_port));
	pid_t pid = fake_server(fd, FAKE_ECHO);
	REQUIRE(pid >= 0);
	json_t *req = json_pack("{s:s}", "op", "info");
	json_t *resp = NULL;
	tsdb_err err;
	CHECKF(tsdb_call(addr, req, 2000, &resp, &err) == 0, "%s", err.msg);
	json_decref(resp);
	json_decref(req);
	CHECK(reap(pid) == 0);
	close(fd);
}

int main(void)
{
	RUN(test_frame_round_trip);
	RUN(test_frame_header_bytes);
	RUN(test_frame_through_pipe);
	RUN(test_frame_big_with_child);
	RUN(test_frame_length_below_header);
	RUN(test_frame_empty_body);
	RUN(test_frame_too_large_refused_first);
	RUN(test_frame_peer_closes_early);
	RUN(test_frame_silence_times_out);
	RUN(test_frame_trickle_within_deadline);
	RUN(test_frame_trickle_past_deadline);
	RUN(test_frame_write_to_closed_peer);
	RUN(test_frame_write_deadline);
	RUN(test_decode_with_id);
	RUN(test_decode_integer_ids);
	RUN(test_decode_with_ts_shapes);
	RUN(test_decode_series_bounds);
	RUN(test_decode_k_bounds);
	RUN(test_decode_shape_bounds);
	RUN(test_decode_ids);
	RUN(test_decode_get_info);
	RUN(test_decode_list);
	RUN(test_decode_within);
	RUN(test_decode_numbers_json_refuses);
	RUN(test_decode_op);
	RUN(test_decode_not_json);
	RUN(test_decode_depth);
	RUN(test_decode_ordinary_request_depth);
	RUN(test_response_ok);
	RUN(test_response_error);
	RUN(test_response_steals_payload);
	RUN(test_response_reals_round_trip);
	RUN(test_status_names);
	RUN(test_op_names);
	RUN(test_call_tcp_and_unix);
	RUN(test_call_error_status);
	RUN(test_call_refused);
	RUN(test_call_timeout);
	RUN(test_call_bad_responses);
	RUN(test_call_bad_addresses);
	RUN(test_call_ipv6);
	return tap_done();
}
