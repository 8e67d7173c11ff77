/*
 * common.c - option parsing, failure messages, output and progress shared
 * by the commands of `tsdb` (see cmd.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "numparse.h"

/* Batches at least this large show progress (when stderr is a terminal). */
#define PROGRESS_MIN 1000

tsdb_cli cmd_cli = {.prog = "tsdb", .try_more = ""};

/* ---- option values ---------------------------------------------------------- */

int compile_where(const char *text, tsdb_pred **out, tsdb_err *err)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "not JSON: %s (at byte %d)", je.text, je.position);
	int rc = tsdb_pred_compile(j, out, err);
	json_decref(j);
	return rc;
}

int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (tsdb_parse_u64(s, min, max, out)) {
		usage_error("%s: '%s' is not an integer in %llu..%llu", opt, s,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t x;
	if (parse_u64(opt, s, min, max, &x))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int parse_double(const char *opt, const char *s, double min, int open_min, double max,
		 double *out)
{
	double x;
	if (tsdb_parse_double(s, min, open_min, max, &x)) {
		usage_error("%s: '%s' is not a number in %s%g, %g]", opt, s, open_min ? "(" : "[",
			    min, max);
		return -1;
	}
	*out = x == 0 ? 0.0 : x; /* -0 is 0 */
	return 0;
}

/* ---- option parsing shared by every command ---------------------------------- */

int common_opt(const struct cmd *self, int c, const char **db)
{
	switch (c) {
	case OPT_DB:
		*db = optarg;
		return -1;
	case 'h':
		print_help(self, stdout);
		return EX_OK;
	default: /* '?' or ':': getopt said what was wrong */
		return tsdb_cli_try_help(&cmd_cli);
	}
}

int want_args(int have, int min, int max)
{
	if (have < min)
		return usage_error("missing argument");
	if (max >= 0 && have > max)
		return usage_error("unexpected argument");
	return -1;
}

int simple_opts(const struct cmd *self, int argc, char **argv, const char *flag, int *on,
		const char **db, int min, int max)
{
	const struct option lo[] = {{flag ? flag : "", no_argument, NULL, OPT_FLAG}, COMMON_LONGOPTS,
				    {0, 0, 0, 0}};
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", flag ? lo : lo + 1, NULL)) != -1) {
		if (c == OPT_FLAG)
			*on = 1;
		else if ((rc = common_opt(self, c, db)) >= 0)
			return rc;
	}
	return want_args(argc - optind, min, max);
}

/* ---- failures and output ------------------------------------------------------ */

int fail_in(const char *dir, const tsdb_err *e)
{
	if (dir && !strstr(e->msg, dir))
		fprintf(stderr, "tsdb: %s: %s\n", dir, e->msg);
	else
		fprintf(stderr, "tsdb: %s\n", e->msg);
	return EX_FAIL;
}

void report_compaction(const char *dir, const tsdb_insert_result *res)
{
	if (res->compacted)
		fprintf(stderr, "tsdb: compacted %s after the commit: %llu bytes before, %llu after\n", dir,
			(unsigned long long)res->bytes_before, (unsigned long long)res->bytes_after);
	else if (res->compact_failed)
		fprintf(stderr, "tsdb: %s: the commit stands, but compacting after it failed: %s\n", dir,
			res->compact_err.msg);
}

int fail(const tsdb_err *e)
{
	return fail_in(NULL, e);
}

int open_db(tsdb_db *d, const char *db, const char **dir)
{
	tsdb_err e = {0};
	*dir = tsdb_db_dir(db);
	if (tsdb_db_open(d, *dir, &e)) {
		fail_in(*dir, &e);
		return -1;
	}
	return 0;
}

int print_json(json_t *j)
{
	if (!j) {
		fprintf(stderr, "tsdb: out of memory\n");
		return EX_FAIL;
	}
	int rc = json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(17));
	json_decref(j);
	if (rc) {
		fprintf(stderr, "tsdb: cannot write standard output\n");
		return EX_FAIL;
	}
	putchar('\n');
	return EX_OK;
}

/* ---- progress ---------------------------------------------------------------- */

static void progress_cb(void *ctx, const char *stage, size_t done, size_t total)
{
	struct progress *p = ctx;
	unsigned pm = total ? (unsigned)((double)done * 1000.0 / (double)total) : 1000;
	if (p->shown && pm == p->last && done != total)
		return;
	fprintf(stderr, "\rtsdb: %s %zu/%zu (%u.%u%%)\033[K", stage, done, total, pm / 10,
		pm % 10);
	fflush(stderr);
	p->shown = 1;
	p->last = pm;
}

void progress_end(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

void progress_setup(struct progress *p, size_t n,
		    void (**fn)(void *, const char *, size_t, size_t), void **ctx)
{
	memset(p, 0, sizeof *p);
	if (n >= PROGRESS_MIN && isatty(STDERR_FILENO)) {
		*fn = progress_cb;
		*ctx = p;
	}
}
