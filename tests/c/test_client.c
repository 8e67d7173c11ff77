/*
 * test_client.c - one call to a server: malformed addresses are refused
 * before any I/O, a refused connection and a server that never answers are
 * told apart (TSDB_E_IO naming the address, TSDB_E_TIMEOUT within the
 * deadline), and a round trip over a unix socket returns the server's
 * response object whatever its status.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "tap.h"
#include "testutil.h"

static json_t *ping(void)
{
	return json_pack("{s:s}", "op", "info");
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A TCP listener on 127.0.0.1 with a kernel-chosen port. */
static int listen_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_malformed_addresses(void)
{
	static const char *bad[] = {"", "host:", "host:0", "host:65536", "host:12x", "[::1", "[::1]x",
				    "unix:", "unix:@", NULL};
	json_t *req = ping(), *resp = NULL;
	for (int i = 0; bad[i]; i++) {
		tsdb_err err;
		CHECKF(tsdb_call(bad[i], req, 1000, &resp, &err) < 0 && err.code == TSDB_E_INVALID_ARG,
		       "'%s': code %d %s", bad[i], err.code, err.msg);
	}
	json_decref(req);
}

static void test_refused(void)
{
	int port, fd = listen_loopback(&port);
	REQUIRE(fd >= 0);
	close(fd); /* nothing listens there now */
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	json_t *req = ping(), *resp = NULL;
	tsdb_err err;
	CHECK(tsdb_call(addr, req, 2000, &resp, &err) < 0);
	CHECKF(err.code == TSDB_E_IO && strstr(err.msg, addr) && strstr(err.msg, "refused"), "%s", err.msg);
	json_decref(req);
}

/* Accepted by the kernel's backlog, never answered: the deadline holds. */
static void test_silent_server(void)
{
	int port, fd = listen_loopback(&port);
	REQUIRE(fd >= 0);
	char addr[64];
	snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
	json_t *req = ping(), *resp = NULL;
	tsdb_err err;
	double t0 = now_ms();
	CHECK(tsdb_call(addr, req, 300, &resp, &err) < 0);
	double took = now_ms() - t0;
	CHECKF(err.code == TSDB_E_TIMEOUT && strstr(err.msg, addr), "code %d: %s", err.code, err.msg);
	/* It waited for the deadline, not forever (a generous upper bound). */
	CHECKF(took >= 250 && took < 10000, "%.0f ms", took);
	json_decref(req);
	close(fd);
}

/* The server: one connection, one frame in, the request echoed back in an
 * ERROR response (a non-OK status is still a successful call). */
static void serve_once(int lfd)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		_exit(1);
	char *body;
	size_t len;
	tsdb_err err;
	if (tsdb_frame_read(c, 1 << 20, 5000, &body, &len, &err) < 0)
		_exit(2);
	json_t *req = json_loadb(body, len, 0, NULL);
	json_t *resp = json_pack("{s:s, s:O}", "status", "INVALID_OP", "echo", req);
	char *out = json_dumps(resp, JSON_COMPACT);
	int rc = tsdb_frame_write(c, out, strlen(out), &err);
	_exit(rc < 0 ? 3 : 0);
}

static void test_round_trip_unix(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "s");
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	REQUIRE(strlen(path) < sizeof a.sun_path);
	strcpy(a.sun_path, path);
	REQUIRE(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0);
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0)
		serve_once(lfd);
	close(lfd);
	char addr[4200];
	snprintf(addr, sizeof addr, "unix:%s", path);
	json_t *req = json_pack("{s:s, s:s, s:i}", "op", "with_id", "id", "ts-000001", "k", 3);
	json_t *resp = NULL;
	tsdb_err err;
	CHECKF(tsdb_call(addr, req, 5000, &resp, &err) == 0, "%s", err.msg);
	if (resp) {
		CHECK(!strcmp(json_string_value(json_object_get(resp, "status")), "INVALID_OP"));
		CHECK(json_equal(json_object_get(resp, "echo"), req));
		json_decref(resp);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server status %d", status);
	json_decref(req);
	free(path);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_malformed_addresses);
	RUN(test_refused);
	RUN(test_silent_server);
	RUN(test_round_trip_unix);
	return tap_done();
}
