/*
 * client.c - one call to a tsdb server: resolve the address, connect,
 * send one request frame, read one response frame.
 *
 * Invariants: the whole call (resolution excepted: getaddrinfo has no
 * timeout) shares one deadline, so a server that accepts and then stalls
 * costs at most timeout_ms; the socket is non-blocking and close-on-exec
 * and is closed on every path; the response is bounded (TSDB_CLIENT_MAX_
 * RESPONSE) and must be a JSON object with a string "status" before it is
 * handed back.  Every message names the address, as the user typed it.
 */
#include "client.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

/* Search results of 100,000 series with shapes fit with room to spare. */
#define TSDB_CLIENT_MAX_RESPONSE (256u * 1024u * 1024u)

typedef struct parsed_addr {
	bool is_unix;
	struct sockaddr_un sun;
	socklen_t sun_len;
	char host[256];
	char port[6];
} parsed_addr;

static int parse_port(const char *addr, const char *s, char out[6], tsdb_err *err)
{
	size_t n = strlen(s);
	unsigned long v = 0;
	bool digits = n > 0 && n <= 5;
	for (size_t i = 0; digits && i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			digits = false;
		else
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (!digits || v == 0 || v > 65535)
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "%s: the port must be a number in 1..65535", addr);
	snprintf(out, 6, "%lu", v);
	return 0;
}

/* "unix:PATH" ("unix:@NAME": abstract), "[V6]:PORT", "HOST:PORT", "HOST". */
static int parse_addr(const char *addr, parsed_addr *pa, tsdb_err *err)
{
	memset(pa, 0, sizeof *pa);
	if (strncmp(addr, "unix:", 5) == 0) {
		const char *path = addr + 5;
		size_t n = strlen(path);
		if (n == 0 || n >= sizeof pa->sun.sun_path)
			return tsdb_errf(err, TSDB_E_INVALID_ARG,
					 "%s: a socket path must have 1..%zu bytes", addr,
					 sizeof pa->sun.sun_path - 1);
		if (strcmp(path, "@") == 0) /* an empty abstract name is no one's address */
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s: an abstract socket needs a name after '@'",
					 addr);
		pa->is_unix = true;
		pa->sun.sun_family = AF_UNIX;
		memcpy(pa->sun.sun_path, path, n);
		if (path[0] == '@')  /* Linux abstract namespace: leading NUL, no terminator */
			pa->sun.sun_path[0] = '\0';
		else
			n++;
		pa->sun_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	const char *host = addr, *port = NULL;
	size_t host_len;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || (close[1] != '\0' && close[1] != ':'))
			return tsdb_errf(err, TSDB_E_INVALID_ARG,
					 "%s: expected [IPV6]:PORT", addr);
		host = addr + 1;
		host_len = (size_t)(close - host);
		port = close[1] ? close + 2 : NULL;
	} else {
		const char *colon = strrchr(addr, ':');
		if (colon && memchr(addr, ':', (size_t)(colon - addr)))
			return tsdb_errf(err, TSDB_E_INVALID_ARG,
					 "%s: write an IPv6 address as [ADDR]:PORT", addr);
		host_len = colon ? (size_t)(colon - addr) : strlen(addr);
		port = colon ? colon + 1 : NULL;
	}
	if (host_len == 0 || host_len >= sizeof pa->host)
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "%s: expected HOST:PORT, [IPV6]:PORT or unix:PATH", addr);
	memcpy(pa->host, host, host_len);
	pa->host[host_len] = '\0';
	if (!port) {
		snprintf(pa->port, sizeof pa->port, "%d", TSDB_DEFAULT_PORT);
		return 0;
	}
	return parse_port(addr, port, pa->port, err);
}

/* Connects a fresh non-blocking socket to sa within dl.  Returns the fd,
 * or -1 with *errnum set (ETIMEDOUT when the deadline passed). */
static int connect_one(int family, int protocol, const struct sockaddr *sa, socklen_t len,
		       const tsdb_deadline *dl, int *errnum)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd < 0) {
		*errnum = errno;
		return -1;
	}
	if (connect(fd, sa, len) == 0)
		return fd;
	/* EINTR: the connection goes on in the background, as for EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EINTR) {
		*errnum = errno;
		close(fd);
		return -1;
	}
	tsdb_err werr;
	int w = tsdb_fd_wait(fd, POLLOUT, dl, &werr);
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (w > 0)
		soerr = ETIMEDOUT;
	else if (w < 0)
		soerr = EIO;  /* poll itself failed (ENOMEM): nothing better to say */
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		soerr = errno;
	if (soerr) {
		*errnum = soerr;
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_addr(const char *addr, const tsdb_deadline *dl, int *fd_out, tsdb_err *err)
{
	parsed_addr pa;
	if (parse_addr(addr, &pa, err))
		return -1;
	int errnum = 0;
	if (pa.is_unix) {
		int fd = connect_one(AF_UNIX, 0, (const struct sockaddr *)&pa.sun, pa.sun_len, dl,
				     &errnum);
		if (fd < 0)
			goto fail;
		*fd_out = fd;
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(pa.host, pa.port, &hints, &res);
	if (g != 0) {
		if (g == EAI_SYSTEM)
			return tsdb_errno(err, errno, "cannot resolve %s", addr);
		return tsdb_errf(err, TSDB_E_IO, "cannot resolve %s: %s", addr, gai_strerror(g));
	}
	/* Each address in turn (localhost may be ::1 then 127.0.0.1); the
	 * last failure is the one reported. */
	int fd = -1;
	errnum = EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = connect_one(ai->ai_family, ai->ai_protocol, ai->ai_addr, ai->ai_addrlen, dl,
				 &errnum);
		if (fd < 0 && errnum == ETIMEDOUT)
			break;  /* the budget is spent for every address */
	}
	freeaddrinfo(res);
	if (fd < 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:
	if (errnum == ETIMEDOUT)
		return tsdb_errf(err, TSDB_E_TIMEOUT, "cannot connect to %s: timed out after %d ms",
				 addr, dl->timeout_ms);
	return tsdb_errno(err, errnum, "cannot connect to %s", addr);
}

/* The request must reach the server and one frame come back. */
static int exchange(int fd, const char *addr, const char *req, size_t req_len,
		    const tsdb_deadline *dl, json_t **response, tsdb_err *err)
{
	tsdb_err werr;
	int wrc = tsdb_frame_write_timeout(fd, req, req_len, tsdb_deadline_left_ms(dl), &werr);
	if (wrc && werr.code != TSDB_E_IO) {
		*err = werr;
		goto fail;
	}
	/* A server that refuses a request early (too large, say) answers and
	 * closes while we still send: its answer is worth more than EPIPE. */
	char *body = NULL;
	size_t len = 0;
	if (tsdb_frame_read(fd, TSDB_CLIENT_MAX_RESPONSE, tsdb_deadline_left_ms(dl), &body, &len,
			    err)) {
		if (wrc)
			*err = werr;
		goto fail;
	}
	json_error_t jerr;
	/* JSON_ALLOW_NUL: metadata may hold "\u0000" and must still come back. */
	json_t *resp = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
	free(body);
	if (!resp) {
		tsdb_errf(err, TSDB_E_IO, "malformed response: %s (byte %d)", jerr.text, jerr.position);
		goto fail;
	}
	if (!json_is_object(resp) || !json_is_string(json_object_get(resp, "status"))) {
		json_decref(resp);
		tsdb_errf(err, TSDB_E_IO, "malformed response: not an object with a string \"status\"");
		goto fail;
	}
	*response = resp;
	return 0;
fail:
	if (err && err->code == TSDB_E_TIMEOUT)
		return tsdb_errf(err, TSDB_E_TIMEOUT, "%s: no response within %d ms", addr,
				 dl->timeout_ms);
	return tsdb_errctx(err, "%s", addr);
}

int tsdb_call(const char *addr, const json_t *request, int timeout_ms,
	      json_t **response, tsdb_err *err)
{
	*response = NULL;
	tsdb_err e;  /* ours, so helpers may copy errors around; err may be NULL */
	char *req = json_dumps(request, JSON_COMPACT);
	if (!req)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s: cannot encode the request", addr);
	tsdb_deadline dl;
	int fd = -1;
	int rc = -1;
	if (tsdb_deadline_start(&dl, timeout_ms, &e) == 0 && connect_addr(addr, &dl, &fd, &e) == 0) {
		rc = exchange(fd, addr, req, strlen(req), &dl, response, &e);
		close(fd);  /* the response is read: nothing is lost by closing */
	}
	free(req);
	if (rc && err)
		*err = e;
	return rc;
}
