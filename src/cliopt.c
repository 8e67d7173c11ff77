/*
 * cliopt.c - usage messages and option values (see cliopt.h).
 */
#include "cliopt.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "numparse.h"

int tsdb_cli_try_help(const tsdb_cli *cli)
{
	fprintf(stderr, "Try '%s --help'%s.\n", cli->prog, cli->try_more);
	return TSDB_CLI_USAGE;
}

int tsdb_cli_usage(const tsdb_cli *cli, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", cli->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return tsdb_cli_try_help(cli);
}

int tsdb_cli_getopt_error(const tsdb_cli *cli, int c, char *const *argv)
{
	/* optopt names a short option; a long one is only in argv. */
	char shortopt[3] = {'-', (char)optopt, '\0'};
	const char *opt = optopt > 0 && optopt < 256 ? shortopt : argv[optind - 1];
	if (c == ':')
		return tsdb_cli_usage(cli, "%s: missing argument", opt);
	return tsdb_cli_usage(cli, "unknown option '%s'", opt);
}

int tsdb_cli_u64(const tsdb_cli *cli, const char *opt, const char *what, const char *arg,
		 uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (tsdb_parse_u64(arg, lo, hi, out) == 0)
		return 0;
	tsdb_cli_usage(cli, "%s: expected %s, not '%s'", opt, what, arg);
	return -1;
}

int tsdb_cli_double(const tsdb_cli *cli, const char *opt, const char *what, const char *arg,
		    double lo, int open_lo, double hi, double *out)
{
	if (tsdb_parse_double(arg, lo, open_lo, hi, out) == 0)
		return 0;
	tsdb_cli_usage(cli, "%s: expected %s, not '%s'", opt, what, arg);
	return -1;
}
