/*
 * cliopt.h - the command-line layer the three programs share: the usage
 * message ("PROG: what is wrong" then "Try 'PROG --help'..."), getopt's
 * errors worded the same way, and the strict number parsers of numparse.h
 * with that message when an option's value is refused.
 *
 * This is the one library module that writes: its job is the message, and
 * it writes only to standard error, only what the program would have.
 * Every function that reports a usage error returns after the message, so
 * that a program's option parser reads "if (...) return TSDB_CLI_USAGE".
 */
#ifndef TSDB_CLIOPT_H
#define TSDB_CLIOPT_H

#include <stdint.h>

/* The usage-error exit status of every program. */
#define TSDB_CLI_USAGE 2

typedef struct tsdb_cli {
	const char *prog;       /* "simsearch", "tsdb init" */
	const char *try_more;   /* after "Try 'PROG --help'": "" or " for more information" */
} tsdb_cli;

/* "PROG: <message>\nTry 'PROG --help'<try_more>.\n" on standard error.
 * Returns TSDB_CLI_USAGE. */
int tsdb_cli_usage(const tsdb_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Only the "Try 'PROG --help'..." line: after getopt printed its own
 * message.  Returns TSDB_CLI_USAGE. */
int tsdb_cli_try_help(const tsdb_cli *cli);

/* getopt_long (with opterr = 0 and a ':' leading the short options)
 * returned c, ':' or '?': "PROG: -k: missing argument" or "PROG: unknown
 * option '--x'".  Returns TSDB_CLI_USAGE. */
int tsdb_cli_getopt_error(const tsdb_cli *cli, int c, char *const *argv);

/* The strict parsers of numparse.h; a refused value is the usage error
 * "PROG: OPT: expected WHAT, not 'ARG'".  0 and *out, or -1 after the
 * message. */
int tsdb_cli_u64(const tsdb_cli *cli, const char *opt, const char *what, const char *arg,
		 uint64_t lo, uint64_t hi, uint64_t *out);
int tsdb_cli_double(const tsdb_cli *cli, const char *opt, const char *what, const char *arg,
		    double lo, int open_lo, double hi, double *out);

#endif
