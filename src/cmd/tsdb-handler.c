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

#include "handler.h"
#include "numparse.h"

#define TSDB_HANDLER_VERSION "0.1.0"
#define SD_LISTEN_FDS_START 3   /* sd-daemon.h */

enum { EXIT_ANSWERED = 0, EXIT_NO_ANSWER = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
"Usage: tsdb-handler [OPTIONS]\n"
"\n"
"Answers ONE tsdb request (docs/PROTOCOL.md) and exits.  Meant to be run by\n"
"systemd's tsdb.socket (Accept=yes: the connection is fd 3, LISTEN_FDS=1) or\n"
"by inetd (the connection is standard input and output).  Opens the database\n"
"read-only and never writes to it.\n"
"\n"
"Options:\n"
"  --db DIR             the database (default: $TSDB_DB, else " TSDB_DEFAULT_DB ")\n"
"  --max-frame BYTES    largest request frame, header included (default 8388608)\n"
"  --timeout SECONDS    time for the whole request to arrive (default 5)\n"
"  --max-k N            largest k of a search (default 1000)\n"
"  --max-points N       most points in a query series (default 1000000)\n"
"  --max-limit N        most results of list and within (default 100000)\n"
"  --max-shape-values N most shape values (results x shape) in one response\n"
"                       (default 1000000)\n"
"  -h, --help           this text\n"
"  --version            the version\n"
"\n"
"Exit status: 0 answered (any status), 1 no answer could be sent, 2 usage.\n"
"Logs one line per request on standard error, with a <N> priority prefix.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("tsdb-handler: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'tsdb-handler --help' for more information.\n", stderr);
	return EXIT_USAGE;
}


/* Fills cfg from argv; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, tsdb_handler_config *cfg)
{
	enum { OPT_DB = 256, OPT_MAX_FRAME, OPT_TIMEOUT, OPT_MAX_K, OPT_MAX_POINTS,
	       OPT_MAX_LIMIT, OPT_MAX_SHAPE_VALUES, OPT_VERSION };
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"max-frame", required_argument, NULL, OPT_MAX_FRAME},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"max-k", required_argument, NULL, OPT_MAX_K},
		{"max-points", required_argument, NULL, OPT_MAX_POINTS},
		{"max-limit", required_argument, NULL, OPT_MAX_LIMIT},
		{"max-shape-values", required_argument, NULL, OPT_MAX_SHAPE_VALUES},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	uint64_t n;
	int c;
	opterr = 0;  /* our own messages, with the usage hint */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DB:
			if (!*optarg)
				return usage_error("%s", "--db: expected a directory");
			cfg->db_dir = optarg;
			break;
		case OPT_MAX_FRAME:
			/* 5: the header and the shortest JSON text; u32: the header's range */
			if (tsdb_parse_u64(optarg, 5, UINT32_MAX, &n))
				return usage_error("--max-frame: expected bytes in 5..4294967295, not '%s'",
						   optarg);
			cfg->limits.max_frame = (size_t)n;
			break;
		case OPT_TIMEOUT: {
			char *end;
			errno = 0;
			double secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(secs) || secs < 0.001 ||
			    secs > 3600)
				return usage_error("--timeout: expected seconds in 0.001..3600, not '%s'",
						   optarg);
			cfg->limits.timeout_ms = (int)ceil(secs * 1000);
			break;
		}
		case OPT_MAX_K:
			if (tsdb_parse_u64(optarg, 1, 1000000, &n))
				return usage_error("--max-k: expected an integer in 1..1000000, not '%s'",
						   optarg);
			cfg->limits.max_k = (uint32_t)n;
			break;
		case OPT_MAX_POINTS:
			if (tsdb_parse_u64(optarg, 4, 100000000, &n))
				return usage_error("--max-points: expected an integer in 4..100000000, not '%s'",
						   optarg);
			cfg->limits.max_points = (size_t)n;
			break;
		case OPT_MAX_LIMIT:
			if (tsdb_parse_u64(optarg, 1, 10000000, &n))
				return usage_error("--max-limit: expected an integer in 1..10000000, not '%s'",
						   optarg);
			cfg->limits.max_limit = (uint32_t)n;
			break;
		case OPT_MAX_SHAPE_VALUES:
			if (tsdb_parse_u64(optarg, 1, UINT32_MAX, &n))
				return usage_error("--max-shape-values: expected an integer in 1..4294967295, not '%s'",
						   optarg);
			cfg->max_shape_values = (uint32_t)n;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return fflush(stdout) == 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
		case OPT_VERSION:
			puts("tsdb-handler (tsdb) " TSDB_HANDLER_VERSION);
			return fflush(stdout) == 0 ? EXIT_ANSWERED : EXIT_NO_ANSWER;
		case ':':
		default: {
			char shortopt[3] = {'-', (char)optopt, '\0'};
			const char *opt = optopt > 0 && optopt < 256 ? shortopt : argv[optind - 1];
			return usage_error(c == ':' ? "%s: missing argument" : "unknown option '%s'", opt);
		}
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
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
 * about 0.7 ms per exec (DESIGN.md) in a process exec'ed per connection.
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
