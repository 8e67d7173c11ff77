/*
 * tsdb-handler - serves ONE connection and exits: systemd's tsdb.socket
 * (Accept=yes) execs it once per connection; all the work is tsdb_handle
 * (handler.h).  This file only finds the connection, parses options and
 * writes the log line.
 *
 * The connection: under systemd socket activation (LISTEN_PID is ours,
 * LISTEN_FDS=1) it is fd 3; otherwise standard input is read and standard
 * output written (inetd, StandardInput=socket, or a pipe in tests).
 *
 * Exit status: 0 when a response was written (whatever its status) or none
 * was due (the peer left before sending a request); 1 when a response was
 * due but could not be written, or the connection is unusable; 2 for a
 * usage error.  One line per request on standard error, with a journald
 * priority prefix (<6> answered, <4> the client's fault, <3> the server's).
 *
 * The exec path is hot (one exec per request): nothing here is initialized
 * that a request might not need, and libsystemd is deliberately not linked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cliopt.h"
#include "handler.h"

#define SD_LISTEN_FDS_START 3   /* sd-daemon.h */

enum { EXIT_ANSWERED = 0, EXIT_NO_ANSWER = 1, EXIT_USAGE = TSDB_CLI_USAGE };

/* man/tsdb-handler.txt */
extern const char tsdb_handler_manual_usage[];

static const tsdb_cli cli = {.prog = "tsdb-handler", .try_more = " for more information"};

enum { OPT_DB = 256, OPT_MAX_FRAME, OPT_TIMEOUT, OPT_MAX_K, OPT_MAX_POINTS, OPT_MAX_LIMIT,
       OPT_MAX_SHAPE_VALUES, OPT_NO_SANDBOX, OPT_VERSION };

static const struct option longopts[] = {
	{"db", required_argument, NULL, OPT_DB},
	{"max-frame", required_argument, NULL, OPT_MAX_FRAME},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"max-k", required_argument, NULL, OPT_MAX_K},
	{"max-points", required_argument, NULL, OPT_MAX_POINTS},
	{"max-limit", required_argument, NULL, OPT_MAX_LIMIT},
	{"max-shape-values", required_argument, NULL, OPT_MAX_SHAPE_VALUES},
	{"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* The options that set a bound of cfg: the range and how a refusal says it. */
static const struct bound_opt {
	int code;
	const char *name, *what;
	uint64_t lo, hi;
} bounds[] = {
	/* 5: the header and the shortest JSON text; u32: the header's range */
	{OPT_MAX_FRAME, "--max-frame", "bytes in 5..4294967295", 5, UINT32_MAX},
	{OPT_MAX_K, "--max-k", "an integer in 1..1000000", 1, 1000000},
	{OPT_MAX_POINTS, "--max-points", "an integer in 4..100000000", 4, 100000000},
	{OPT_MAX_LIMIT, "--max-limit", "an integer in 1..10000000", 1, 10000000},
	{OPT_MAX_SHAPE_VALUES, "--max-shape-values", "an integer in 1..4294967295", 1, UINT32_MAX},
};

/* -1 to go on, else the exit status. */
static int set_bound(const struct bound_opt *b, const char *arg, tsdb_handler_config *cfg)
{
	uint64_t n;
	if (tsdb_cli_u64(&cli, b->name, b->what, arg, b->lo, b->hi, &n))
		return EXIT_USAGE;
	switch (b->code) {
	case OPT_MAX_FRAME:
		cfg->limits.max_frame = (size_t)n;
		break;
	case OPT_MAX_K:
		cfg->limits.max_k = (uint32_t)n;
		break;
	case OPT_MAX_POINTS:
		cfg->limits.max_points = (size_t)n;
		break;
	case OPT_MAX_LIMIT:
		cfg->limits.max_limit = (uint32_t)n;
		break;
	default:
		cfg->max_shape_values = (uint32_t)n;
		break;
	}
	return -1;
}

/* What getopt_long returned as c; -1 to go on, else the exit status. */
static int handle_opt(int c, char **argv, tsdb_handler_config *cfg)
{
	for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++)
		if (bounds[i].code == c)
			return set_bound(&bounds[i], optarg, cfg);
	double secs;
	switch (c) {
	case OPT_DB:
		if (!*optarg)
			return tsdb_cli_usage(&cli, "--db: expected a directory");
		cfg->db_dir = optarg;
		return -1;
	case OPT_TIMEOUT:
		if (tsdb_cli_double(&cli, "--timeout", "seconds in 0.001..3600", optarg, 0.001, 0,
				    3600, &secs))
			return EXIT_USAGE;
		cfg->limits.timeout_ms = (int)ceil(secs * 1000);
		return -1;
	case OPT_NO_SANDBOX:
		cfg->sandbox = 0;
		return -1;
	case 'h':
		fputs(tsdb_handler_manual_usage, stdout);
		return fflush(stdout) == 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
	case OPT_VERSION:
		puts("tsdb-handler (tsdb) " TSDB_VERSION);
		return fflush(stdout) == 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
	default:
		return tsdb_cli_getopt_error(&cli, c, argv);
	}
}

/* Fills cfg from argv; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, tsdb_handler_config *cfg)
{
	int c, rc;
	opterr = 0;  /* our own messages, with the usage hint */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		if ((rc = handle_opt(c, argv, cfg)) >= 0)
			return rc;
	if (optind < argc)
		return tsdb_cli_usage(&cli, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* One line on stderr, written with one write(2) so that lines of
 * concurrent handlers sharing a log never interleave. */
static void log_line(int prio, const char *text)
{
	char buf[2048];
	int n = snprintf(buf, sizeof buf, "<%d>tsdb-handler: %s\n", prio, text);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
	if (len > 0 && buf[len - 1] != '\n')
		buf[len - 1] = '\n';  /* truncated: still one line */
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;  /* nowhere to log: the exit status still tells */
		off += (size_t)w;
	}
}

/*
 * The sd_listen_fds(3) protocol, done by hand in a few lines rather than
 * linking libsystemd, which pulls in six more shared objects and costs
 * about 0.7 ms per exec (docs/DESIGN.md) in a process exec'ed per connection.
 * The variables are ours only when LISTEN_PID is our pid; they are unset
 * either way (sd_listen_fds(3) with unset_environment = 1) so nothing we
 * might exec inherits them, and the fd is made close-on-exec as
 * sd_listen_fds does.  Accept=yes passes exactly one fd: the connection.
 *
 * Returns 1 with *fd set when activated, 0 when not (use stdin/stdout),
 * -1 with a message when activated in a way we cannot serve.
 */
static int socket_activation(int *fd, char *msg, size_t size)
{
	const char *e_pid = getenv("LISTEN_PID"), *e_fds = getenv("LISTEN_FDS");
	if (!e_pid || !e_fds)
		return 0;
	char *end;
	errno = 0;
	long long pid = strtoll(e_pid, &end, 10);
	int ours = errno == 0 && end != e_pid && *end == '\0' && pid == (long long)getpid();
	errno = 0;
	long long nfds = strtoll(e_fds, &end, 10);
	int fds_ok = errno == 0 && end != e_fds && *end == '\0' && nfds == 1;
	/* The message quotes the value before unsetenv may release it. */
	if (ours && !fds_ok)
		snprintf(msg, size, "LISTEN_FDS=%.32s: expected exactly one connection "
			 "(tsdb.socket needs Accept=yes)", e_fds);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (!ours)
		return 0;
	if (!fds_ok)
		return -1;
	*fd = SD_LISTEN_FDS_START;
	int flags = fcntl(*fd, F_GETFD);
	if (flags < 0 || fcntl(*fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
		snprintf(msg, size, "fd %d from socket activation: %s", *fd, strerror(errno));
		return -1;
	}
	/* Accept=no would hand us the listening socket: reading it would fail
	 * for every connection without a word, so say what is wrong. */
	int listening = 0;
	socklen_t len = sizeof listening;
	if (getsockopt(*fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) {
		snprintf(msg, size, "fd %d is a listening socket: tsdb.socket needs Accept=yes", *fd);
		return -1;
	}
	return 1;
}

int main(int argc, char **argv)
{
	tsdb_handler_config cfg;
	tsdb_handler_config_default(&cfg);
	cfg.sandbox = 1;
	int rc = parse_args(argc, argv, &cfg);
	if (rc >= 0)
		return rc;

	/* A peer that vanishes must be EPIPE on write(2) to a pipe, not a
	 * death without a log line (sockets get MSG_NOSIGNAL anyway). */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		log_line(3, "cannot ignore SIGPIPE");
		return EXIT_NO_ANSWER;
	}

	int in_fd = STDIN_FILENO, out_fd = STDOUT_FILENO, fd = -1;
	char msg[256];
	switch (socket_activation(&fd, msg, sizeof msg)) {
	case 1:
		in_fd = out_fd = fd;
		break;
	case 0:
		break;
	default:
		log_line(3, msg);
		return EXIT_NO_ANSWER;
	}

	tsdb_json_budget(TSDB_HANDLER_JSON_BUDGET);
	tsdb_handler_log log;
	rc = tsdb_handle(in_fd, out_fd, &cfg, &log);
	char line[1536];
	tsdb_handler_log_format(&log, line, sizeof line);
	log_line(tsdb_handler_log_priority(&log), line);
	return rc == 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
}
