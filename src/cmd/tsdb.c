/*
 * tsdb.c - the writer and admin command line: `tsdb COMMAND [OPTIONS]`.
 *
 * Thin over the library: each command parses its options (getopt_long),
 * calls one or two library functions and prints the result.  Loading input
 * is input.c, spool ingestion spool.c, everything under the database
 * directory writer.c / db.c / search.c / check.c.
 *
 * Conventions every command follows:
 *   - --db DIR, else $TSDB_DB, else the compiled-in default (tsdb_db_dir);
 *   - -h/--help prints the command's manual page on standard output;
 *   - exit status 0 success, 1 failure ("tsdb: ..." on standard error,
 *     naming the database, file or id and the reason), 2 usage error;
 *   - results go to standard output, which is checked for write errors
 *     before exiting 0, so a full disk is a failure and not a short file.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "input.h"
#include "numparse.h"
#include "payload.h"
#include "search.h"
#include "series.h"
#include "spool.h"
#include "synth.h"
#include "writer.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

/* Long options without a short form. */
enum {
	OPT_DB = 0x100,
	OPT_PREFIX,
	OPT_AFTER,
	OPT_LIMIT,
	OPT_JSON,
	OPT_REPLACE,
	OPT_SKIP,
	OPT_ID,
	OPT_WITHIN,
	OPT_BRUTE,
	OPT_SPOOL,
	OPT_BATCH,
	OPT_MULT,
	OPT_FLAG,       /* the one flag of simple_opts */
};

/* Batches at least this large show progress (when stderr is a terminal). */
#define PROGRESS_MIN 1000
/* Bounds on what the command line controls. */
#define GEN_MAX 100000000ull
#define K_MAX 1000000ull
#define WITHIN_LIMIT_DEFAULT 100000ull

struct cmd;
typedef int (*run_fn)(const struct cmd *self, int argc, char **argv);

struct cmd {
	const char *name;
	run_fn run;
	const char *args;      /* synopsis after "tsdb NAME" */
	const char *summary;   /* one line, for the overview */
	const char *desc;      /* DESCRIPTION */
	const char *options;   /* the command's own OPTIONS (the common ones follow) */
	const char *examples;  /* EXAMPLES */
};

/* ---- help ------------------------------------------------------------------ */

static const char common_options[] =
	"    --db DIR\n"
	"        The database directory.  Default: $TSDB_DB if set, else " TSDB_DEFAULT_DB ".\n"
	"    -h, --help\n"
	"        Print this manual page and exit.\n";

static const char common_tail[] =
	"EXIT STATUS\n"
	"    0   success\n"
	"    1   failure; a message \"tsdb: ...\" on standard error names the database,\n"
	"        file or id and the reason\n"
	"    2   usage error (unknown option, bad number, missing argument)\n"
	"\n"
	"ENVIRONMENT\n"
	"    TSDB_DB\n"
	"        The database directory when --db is not given.\n";

static void print_help(const struct cmd *c, FILE *f)
{
	fprintf(f, "NAME\n    tsdb %s - %s\n\n", c->name, c->summary);
	fprintf(f, "SYNOPSIS\n    tsdb %s %s\n\n", c->name, c->args);
	fprintf(f, "DESCRIPTION\n%s\n", c->desc);
	fprintf(f, "OPTIONS\n%s%s\n", c->options, common_options);
	fputs(common_tail, f);
	if (c->examples)
		fprintf(f, "\nEXAMPLES\n%s", c->examples);
}

/* The program name getopt uses in its messages: "tsdb CMD". */
static char prog[64];

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", prog);
	return EX_USAGE;
}

/* ---- failures --------------------------------------------------------------- */

/* "tsdb: msg", with the database directory in front when the message does
 * not already name it. */
static int fail_in(const char *dir, const tsdb_err *e)
{
	if (dir && !strstr(e->msg, dir))
		fprintf(stderr, "tsdb: %s: %s\n", dir, e->msg);
	else
		fprintf(stderr, "tsdb: %s\n", e->msg);
	return EX_FAIL;
}

static int fail(const tsdb_err *e)
{
	return fail_in(NULL, e);
}

/* ---- option values ---------------------------------------------------------- */

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (tsdb_parse_u64(s, min, max, out)) {
		usage_error("%s: '%s' is not an integer in %llu..%llu", opt, s,
			    (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t x;
	if (parse_u64(opt, s, min, max, &x))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* A finite number in [min, max]; with open_min, min itself is excluded. */
static int parse_double(const char *opt, const char *s, double min, int open_min, double max,
			double *out)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(x) || x < min || (open_min && x == min) ||
	    x > max) {
		usage_error("%s: '%s' is not a number in %s%g, %g]", opt, s, open_min ? "(" : "[",
			    min, max);
		return -1;
	}
	*out = x == 0 ? 0.0 : x; /* -0 is 0 */
	return 0;
}

/* ---- option parsing shared by every command ---------------------------------- */

#define COMMON_LONGOPTS {"db", required_argument, NULL, OPT_DB}, {"help", no_argument, NULL, 'h'}

/* Handles an option every command takes.  Returns -1 when parsing goes on,
 * else the exit status the command returns now (help printed, or a usage
 * error). */
static int common_opt(const struct cmd *self, int c, const char **db)
{
	switch (c) {
	case OPT_DB:
		*db = optarg;
		return -1;
	case 'h':
		print_help(self, stdout);
		return EX_OK;
	default: /* '?' or ':': getopt said what was wrong */
		fprintf(stderr, "Try '%s --help'.\n", prog);
		return EX_USAGE;
	}
}

/* Positional argument count check. */
static int want_args(int have, int min, int max)
{
	if (have < min)
		return usage_error("missing argument");
	if (max >= 0 && have > max)
		return usage_error("unexpected argument");
	return -1;
}

/* The options of a command whose only own option is one boolean flag (or
 * none: flag NULL): --db, --help and the flag, then min..max arguments
 * (max -1: any number).  -1 to go on, else the exit status. */
static int simple_opts(const struct cmd *self, int argc, char **argv, const char *flag, int *on,
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

/* ---- progress ---------------------------------------------------------------- */

struct progress {
	int shown;
	unsigned last;   /* per mille last printed */
};

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

static void progress_end(struct progress *p)
{
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

/* The insert options' progress hook, set only for a large batch on a terminal. */
static void progress_setup(struct progress *p, size_t n, void (**fn)(void *, const char *, size_t, size_t),
			   void **ctx)
{
	memset(p, 0, sizeof *p);
	if (n >= PROGRESS_MIN && isatty(STDERR_FILENO)) {
		*fn = progress_cb;
		*ctx = p;
	}
}

/* ---- init --------------------------------------------------------------------- */

static int cmd_init(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"length", required_argument, NULL, 'L'},
		{"mult", required_argument, NULL, OPT_MULT},
		{"vantage-points", required_argument, NULL, 'V'},
		{"seed", required_argument, NULL, 's'},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL;
	tsdb_params p;
	tsdb_params_default(&p);
	int c, rc;
	while ((c = getopt_long(argc, argv, "hL:V:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (parse_u32("--length", optarg, TSDB_L_MIN, TSDB_L_MAX, &p.L))
				return EX_USAGE;
			break;
		case OPT_MULT:
			if (parse_double("--mult", optarg, 0, 1, TSDB_MULT_MAX, &p.mult))
				return EX_USAGE;
			break;
		case 'V':
			if (parse_u32("--vantage-points", optarg, 1, TSDB_VP_MAX, &p.nvp))
				return EX_USAGE;
			break;
		case 's':
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &p.seed))
				return EX_USAGE;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 0, 0)) >= 0)
		return rc;
	const char *dir = tsdb_db_dir(db);
	tsdb_err e = {0};
	if (tsdb_init(dir, &p, &e))
		return fail_in(dir, &e);
	printf("initialized %s: length %u, mult %.17g, %u vantage points, seed %llu\n", dir, p.L,
	       p.mult, p.nvp, (unsigned long long)p.seed);
	return EX_OK;
}

/* ---- insert ------------------------------------------------------------------- */

static void report_invalid(void *ctx, const tsdb_err *e)
{
	(void)ctx;
	fprintf(stderr, "tsdb: %s (skipped)\n", e->msg);
}

/* Is this insert failure about one series of the batch (rather than the
 * database or the system)? */
static int series_error(enum tsdb_errcode c)
{
	return c == TSDB_E_DUPLICATE || c == TSDB_E_INVALID_SERIES || c == TSDB_E_INVALID_KEY ||
	       c == TSDB_E_TOO_LARGE;
}

/* tsdb_insert; a failure caused by one series names where it came from.
 * With skip, such a series is reported, left out and the rest retried. */
static int insert_batch(const char *dir, tsdb_batch *b, const tsdb_insert_opts *io, int skip,
			tsdb_insert_result *res, tsdb_err *e)
{
	for (;;) {
		memset(res, 0, sizeof *res);
		if (tsdb_insert(dir, b->series, b->n, io, res, e) == 0)
			return 0;
		ptrdiff_t i = series_error(e->code) ? tsdb_batch_blame(b, e) : -1;
		if (i < 0)
			return -1;
		char where[1024];
		tsdb_batch_where(b, (size_t)i, where, sizeof where);
		tsdb_errctx(e, "%s", where);
		if (!skip)
			return -1;
		report_invalid(NULL, e);
		b->skipped++;
		unsigned char *drop = calloc(b->n, 1);
		if (!drop)
			return tsdb_errf(e, TSDB_E_UNKNOWN, "out of memory");
		drop[i] = 1;
		tsdb_batch_remove(b, drop);
		free(drop);
		if (b->n == 0)
			return 0;
	}
}

/* --skip-invalid without --replace: ids already stored are reported and
 * left out before inserting, in one pass (insert_batch would find them one
 * failed attempt at a time).  Without a readable database there is nothing
 * to compare with: tsdb_insert reports that. */
static int drop_stored(const char *dir, tsdb_batch *b, tsdb_err *e)
{
	tsdb_db d;
	tsdb_err ignore;
	if (b->n == 0 || tsdb_db_open(&d, dir, &ignore))
		return 0;
	unsigned char *drop = calloc(b->n, 1);
	if (!drop) {
		tsdb_db_close(&d);
		return tsdb_errf(e, TSDB_E_UNKNOWN, "out of memory");
	}
	for (size_t i = 0; i < b->n; i++) {
		tsdb_rec rec;
		if (tsdb_db_find(&d, b->series[i].id, b->series[i].id_len, &rec, &ignore) != 0)
			continue;
		char where[1024];
		tsdb_batch_where(b, i, where, sizeof where);
		tsdb_errf(e, TSDB_E_DUPLICATE, "%s: id '%s' is already stored in %s", where,
			  b->series[i].id, dir);
		report_invalid(NULL, e);
		b->skipped++;
		drop[i] = 1;
	}
	tsdb_batch_remove(b, drop);
	free(drop);
	tsdb_db_close(&d);
	return 0;
}

static int cmd_insert(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"replace", no_argument, NULL, OPT_REPLACE},
		{"skip-invalid", no_argument, NULL, OPT_SKIP},
		{"id", required_argument, NULL, OPT_ID},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL, *id = NULL;
	tsdb_input_opts in;
	tsdb_insert_opts io = {0};
	tsdb_input_opts_default(&in);
	in.on_invalid = report_invalid;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_REPLACE:
			io.replace = 1;
			break;
		case OPT_SKIP:
			in.skip_invalid = 1;
			break;
		case OPT_ID:
			id = optarg;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	int nargs = argc - optind;
	char *dash[] = {"-"};
	char **paths = nargs ? argv + optind : dash;
	if (!nargs)
		nargs = 1;
	if (id && nargs != 1)
		return usage_error("--id names the series of a single FILE or of -");

	const char *dir = tsdb_db_dir(db);
	tsdb_batch b;
	tsdb_err e = {0};
	tsdb_insert_result res = {0};
	struct progress pr;
	tsdb_batch_init(&b);
	rc = EX_FAIL;
	for (int i = 0; i < nargs; i++)
		if (tsdb_input_load(&b, paths[i], id, &in, &e)) {
			fail(&e);
			goto out;
		}
	if (tsdb_input_finish(&b, &in, &e)) {
		fail(&e);
		goto out;
	}
	if (in.skip_invalid && !io.replace && drop_stored(dir, &b, &e)) {
		fail(&e);
		goto out;
	}
	progress_setup(&pr, b.n, &io.progress, &io.progress_ctx);
	int ins = b.n ? insert_batch(dir, &b, &io, in.skip_invalid, &res, &e) : 0;
	progress_end(&pr);
	if (ins) {
		/* a series' problem names its file; anything else the database */
		series_error(e.code) ? fail(&e) : fail_in(dir, &e);
		goto out;
	}
	if (res.txn)
		printf("inserted %zu series (%zu replaced) in txn %llu\n", res.inserted,
		       res.replaced, (unsigned long long)res.txn);
	else
		printf("inserted 0 series (0 replaced)\n");
	if (b.skipped)
		fprintf(stderr, "tsdb: skipped %zu invalid input%s\n", b.skipped,
			b.skipped == 1 ? "" : "s");
	rc = EX_OK;
out:
	tsdb_batch_free(&b);
	return rc;
}

/* ---- remove ------------------------------------------------------------------- */

static int cmd_remove(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL;
	int rc;
	if ((rc = simple_opts(self, argc, argv, NULL, NULL, &db, 1, -1)) >= 0)
		return rc;
	size_t n = (size_t)(argc - optind);
	const char **ids = calloc(n, sizeof *ids);
	size_t *lens = calloc(n, sizeof *lens);
	const char *dir = tsdb_db_dir(db);
	tsdb_err e = {0};
	uint64_t txn = 0;
	rc = EX_FAIL;
	if (!ids || !lens) {
		fprintf(stderr, "tsdb: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = argv[optind + (int)i];
		lens[i] = strlen(ids[i]);
	}
	if (tsdb_remove(dir, ids, lens, n, &txn, &e)) {
		fail_in(dir, &e);
		goto out;
	}
	printf("removed %zu series in txn %llu\n", n, (unsigned long long)txn);
	rc = EX_OK;
out:
	free(ids);
	free(lens);
	return rc;
}

/* ---- read-only commands share: open the database ------------------------------- */

static int open_db(tsdb_db *d, const char *db, const char **dir)
{
	tsdb_err e = {0};
	*dir = tsdb_db_dir(db);
	if (tsdb_db_open(d, *dir, &e)) {
		fail_in(*dir, &e);
		return -1;
	}
	return 0;
}

/* Compact JSON on one line of standard output; takes j. */
static int print_json(json_t *j)
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

/* ---- get ------------------------------------------------------------------------ */

static int cmd_get(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL, *dir;
	int json = 0, rc;
	if ((rc = simple_opts(self, argc, argv, "json", &json, &db, 1, 1)) >= 0)
		return rc;
	const char *id = argv[optind];
	tsdb_db d;
	tsdb_rec rec;
	tsdb_series s = {0};
	tsdb_err e = {0};
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	rc = EX_FAIL;
	if (tsdb_db_find(&d, id, strlen(id), &rec, &e) || tsdb_rec_series(&rec, &s, &e)) {
		fail_in(dir, &e);
		goto out;
	}
	if (json) {
		rc = print_json(tsdb_series_to_json(&s));
		goto out;
	}
	if (s.meta)
		printf("# meta: %.*s\n", (int)s.meta_len, s.meta);
	for (size_t i = 0; i < s.n; i++)
		printf("%.17g %.17g\n", s.t[i], s.v[i]);
	rc = EX_OK;
out:
	tsdb_series_free(&s);
	tsdb_db_close(&d);
	return rc;
}

/* ---- list ----------------------------------------------------------------------- */

static int print_id(void *ctx, const char *id, size_t len, tsdb_err *err)
{
	(void)ctx;
	(void)err;
	fwrite(id, 1, len, stdout);
	putchar('\n');
	return 0;
}

static int cmd_list(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"after", required_argument, NULL, OPT_AFTER},
		{"limit", required_argument, NULL, OPT_LIMIT},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL, *dir, *prefix = NULL, *after = NULL;
	uint64_t limit = UINT64_MAX;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_PREFIX:
			prefix = optarg;
			break;
		case OPT_AFTER:
			after = optarg;
			break;
		case OPT_LIMIT:
			if (parse_u64("--limit", optarg, 1, UINT64_MAX, &limit))
				return EX_USAGE;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 0, 0)) >= 0)
		return rc;
	tsdb_db d;
	tsdb_err e = {0};
	int more = 0;
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	rc = tsdb_db_list(&d, after, after ? strlen(after) : 0, prefix,
			  prefix ? strlen(prefix) : 0, limit, print_id, NULL, &more, &e);
	tsdb_db_close(&d);
	if (rc)
		return fail_in(dir, &e);
	return EX_OK;
}

/* ---- info ----------------------------------------------------------------------- */

static int cmd_info(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL, *dir;
	int json = 0, rc;
	if ((rc = simple_opts(self, argc, argv, "json", &json, &db, 0, 0)) >= 0)
		return rc;
	tsdb_db d;
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	if (json) {
		tsdb_err e = {0};
		json_t *p = tsdb_payload_info(&d, &e);
		rc = p ? print_json(p) : fail(&e);
		tsdb_db_close(&d);
		return rc;
	}
	char when[32];
	const char *t = tsdb_commit_time(&d, when, sizeof when);
	printf("database        %s\n", dir);
	printf("format version  %u\n", TSDB_DB_FORMAT);
	printf("length          %u\n", d.params.L);
	printf("mult            %.17g\n", d.params.mult);
	printf("vantage points  %u (%u chosen)\n", d.params.nvp, d.nchosen);
	for (uint32_t i = 0; i < d.nchosen; i++)
		printf("  vantage point %u: %.*s\n", i, (int)d.vp[i].id_len, d.vp[i].id);
	printf("seed            %llu\n", (unsigned long long)d.params.seed);
	printf("series          %llu\n", (unsigned long long)d.nseries);
	printf("txn             %llu\n", (unsigned long long)d.snap.meta.txn);
	printf("last commit     %s\n", t ? t : "- (no series)");
	printf("file bytes      %llu\n", (unsigned long long)d.snap.file_bytes);
	tsdb_db_close(&d);
	return EX_OK;
}

/* ---- check ---------------------------------------------------------------------- */

static int cmd_check(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL, *dir;
	int deep = 0, rc;
	if ((rc = simple_opts(self, argc, argv, "deep", &deep, &db, 0, 0)) >= 0)
		return rc;
	tsdb_db d;
	tsdb_check_report rep = {0};
	tsdb_err e = {0};
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	rc = tsdb_check(&d, deep, &rep, &e);
	tsdb_db_close(&d);
	if (rc)
		return fail_in(dir, &e);
	printf("ok: %s: txn %llu, %llu series, %u trees, %llu nodes, %llu bytes (%llu live)%s\n",
	       dir, (unsigned long long)rep.txn, (unsigned long long)rep.series, rep.trees,
	       (unsigned long long)rep.nodes, (unsigned long long)rep.file_bytes,
	       (unsigned long long)rep.live_bytes, deep ? ", derived data verified" : "");
	return EX_OK;
}

/* ---- compact, reindex ---------------------------------------------------------- */

static int cmd_compact(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL;
	int rc;
	if ((rc = simple_opts(self, argc, argv, NULL, NULL, &db, 0, 0)) >= 0)
		return rc;
	const char *dir = tsdb_db_dir(db);
	uint64_t before = 0, after = 0;
	tsdb_err e = {0};
	if (tsdb_compact(dir, &before, &after, &e))
		return fail_in(dir, &e);
	printf("compacted %s: %llu bytes before, %llu bytes after\n", dir,
	       (unsigned long long)before, (unsigned long long)after);
	return EX_OK;
}

static int cmd_reindex(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"vantage-points", required_argument, NULL, 'V'},
		{"seed", required_argument, NULL, 's'},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL, *dir;
	uint32_t nvp = 0;
	uint64_t seed = 0;
	int seed_given = 0, c, rc;
	while ((c = getopt_long(argc, argv, "hV:s:", lo, NULL)) != -1) {
		switch (c) {
		case 'V':
			if (parse_u32("--vantage-points", optarg, 1, TSDB_VP_MAX, &nvp))
				return EX_USAGE;
			break;
		case 's':
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &seed))
				return EX_USAGE;
			seed_given = 1;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 0, 0)) >= 0)
		return rc;
	dir = tsdb_db_dir(db);
	tsdb_err e = {0};
	if (tsdb_reindex(dir, nvp, seed, seed_given, &e))
		return fail_in(dir, &e);
	tsdb_db d;
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	printf("reindexed %s: %u vantage points chosen (seed %llu) in txn %llu\n", dir, d.nchosen,
	       (unsigned long long)d.params.seed, (unsigned long long)d.snap.meta.txn);
	tsdb_db_close(&d);
	return EX_OK;
}

/* ---- gen ------------------------------------------------------------------------ */

/* Formatting 17-digit reals is most of gen's time, so chunks of series are
 * formatted by worker threads and written in order by the main thread:
 * the output is the same whatever the number of threads. */
#define GEN_CHUNK 256
#define GEN_THREADS_MAX 8

struct gen_job {
	uint64_t seed, first, count;
	uint32_t L;
	char *buf;           /* count JSON lines */
	size_t len, cap;
	int failed;
	tsdb_err err;
};

static int gen_append(struct gen_job *j, const json_t *o)
{
	size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (need == 0)
		return tsdb_errf(&j->err, TSDB_E_UNKNOWN, "cannot serialize a series");
	if (j->cap - j->len < need + 1) {
		size_t cap = (j->len + need + 1) * 2;
		char *b = realloc(j->buf, cap);
		if (!b)
			return tsdb_errf(&j->err, TSDB_E_UNKNOWN, "out of memory");
		j->buf = b;
		j->cap = cap;
	}
	json_dumpb(o, j->buf + j->len, need, JSON_COMPACT | JSON_REAL_PRECISION(17));
	j->len += need;
	j->buf[j->len++] = '\n';
	return 0;
}

static void *gen_work(void *arg)
{
	struct gen_job *j = arg;
	j->len = 0;
	for (uint64_t i = j->first; i < j->first + j->count && !j->failed; i++) {
		tsdb_series s;
		if (tsdb_synth_series(j->seed, i, j->L, &s, &j->err)) {
			j->failed = 1;
			break;
		}
		json_t *o = tsdb_series_to_json(&s);
		tsdb_series_free(&s);
		if (!o)
			j->failed = tsdb_errf(&j->err, TSDB_E_UNKNOWN, "out of memory") != 0;
		else
			j->failed = gen_append(j, o) != 0;
		json_decref(o);
	}
	return NULL;
}

/* Writes series [0, n) as JSON Lines to stdout. */
static int gen_write(uint64_t seed, uint64_t n, uint32_t L)
{
	struct gen_job jobs[GEN_THREADS_MAX] = {0};
	pthread_t tid[GEN_THREADS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus > GEN_THREADS_MAX ? GEN_THREADS_MAX : (int)cpus;
	int rc = EX_OK;
	json_object_seed(0); /* before any thread makes objects (jansson's rule) */
	for (uint64_t next = 0; next < n && rc == EX_OK;) {
		int started[GEN_THREADS_MAX] = {0}, used = 0;
		for (; used < nt && next < n; used++) {
			struct gen_job *j = &jobs[used];
			j->seed = seed;
			j->L = L;
			j->first = next;
			j->count = n - next < GEN_CHUNK ? n - next : GEN_CHUNK;
			next += j->count;
			/* no thread to be had: do the chunk here */
			started[used] = pthread_create(&tid[used], NULL, gen_work, j) == 0;
			if (!started[used])
				gen_work(j);
		}
		for (int t = 0; t < used; t++) {
			if (started[t])
				pthread_join(tid[t], NULL);
			if (jobs[t].failed && rc == EX_OK)
				rc = fail(&jobs[t].err);
			if (rc == EX_OK && fwrite(jobs[t].buf, 1, jobs[t].len, stdout) != jobs[t].len)
				rc = EX_FAIL; /* main reports the write error */
		}
	}
	for (int t = 0; t < nt; t++)
		free(jobs[t].buf);
	return rc;
}

static int cmd_gen(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"seed", required_argument, NULL, 's'},
		{"length", required_argument, NULL, 'L'},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL;
	uint64_t seed = 1, n;
	uint32_t L = 100;
	int c, rc;
	while ((c = getopt_long(argc, argv, "hs:L:", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &seed))
				return EX_USAGE;
			break;
		case 'L':
			if (parse_u32("--length", optarg, TSDB_L_MIN, TSDB_L_MAX, &L))
				return EX_USAGE;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 1, 1)) >= 0)
		return rc;
	if (parse_u64("N", argv[optind], 0, GEN_MAX, &n))
		return EX_USAGE;
	return gen_write(seed, n, L);
}

/* ---- search --------------------------------------------------------------------- */

struct search_args {
	const char *id, *file;
	uint64_t k, limit;
	double radius;
	int within, json, brute;
};

/* The query: a stored id, or the single series in a file (or stdin). */
static int make_query(tsdb_db *d, const char *dir, const struct search_args *a, tsdb_query *q)
{
	tsdb_err e = {0};
	if (a->id) {
		if (tsdb_query_from_id(d, a->id, strlen(a->id), q, &e))
			return fail_in(dir, &e);
		return EX_OK;
	}
	tsdb_input_opts in;
	tsdb_batch b;
	tsdb_input_opts_default(&in);
	in.anonymous_ok = 1;
	tsdb_batch_init(&b);
	int rc = EX_FAIL;
	if (tsdb_input_load(&b, a->file, NULL, &in, &e))
		fail(&e);
	else if (b.n != 1)
		fprintf(stderr, "tsdb: %s holds %zu series; search takes one\n",
			strcmp(a->file, "-") ? a->file : "standard input", b.n);
	else if (tsdb_query_from_series(d, &b.series[0], q, &e))
		fail_in(dir, &e);
	else
		rc = EX_OK;
	tsdb_batch_free(&b);
	return rc;
}

/* --within by brute force: every distance, then the ones within radius. */
static int brute_within(tsdb_db *d, const tsdb_query *q, double radius, uint32_t limit,
			tsdb_hit **hits, uint32_t *nh, int *truncated, tsdb_search_stats *st,
			tsdb_err *e)
{
	uint32_t all = d->nseries > UINT32_MAX ? UINT32_MAX : (uint32_t)d->nseries;
	*hits = calloc(all ? all : 1, sizeof **hits);
	if (!*hits)
		return tsdb_errf(e, TSDB_E_UNKNOWN, "out of memory for %u distances", all);
	if (all && tsdb_search_brute(d, q, all, *hits, nh, st, e))
		return -1;
	uint32_t m = 0;
	while (m < *nh && (*hits)[m].distance <= radius)
		m++;
	*truncated = m > limit;
	*nh = m > limit ? limit : m;
	return 0;
}

static int run_search(tsdb_db *d, const char *dir, const struct search_args *a)
{
	tsdb_query q;
	tsdb_hit *hits = NULL;
	uint32_t nh = 0;
	int truncated = 0;
	tsdb_search_stats st = {0};
	tsdb_err e = {0};
	int rc = make_query(d, dir, a, &q);
	if (rc)
		return rc;
	if (a->within)
		rc = a->brute ? brute_within(d, &q, a->radius, (uint32_t)a->limit, &hits, &nh,
					     &truncated, &st, &e)
			      : tsdb_search_within(d, &q, a->radius, (uint32_t)a->limit, &hits,
						   &nh, &truncated, &st, &e);
	else if (!(hits = calloc(a->k, sizeof *hits)))
		rc = tsdb_errf(&e, TSDB_E_UNKNOWN, "out of memory for %llu results",
			       (unsigned long long)a->k);
	else
		rc = (a->brute ? tsdb_search_brute : tsdb_search_knn)(d, &q, (uint32_t)a->k, hits,
								      &nh, &st, &e);
	tsdb_query_free(&q);
	if (rc) {
		free(hits);
		return fail_in(dir, &e);
	}
	if (a->json) {
		tsdb_search_answer ans = {.within = a->within, .k = (uint32_t)a->k, .radius = a->radius,
					  .truncated = truncated, .hits = hits, .nhits = nh,
					  .computed = st.computed};
		json_t *p = tsdb_payload_search(d, &ans, NULL, &e);
		if (!p) {
			free(hits);
			return fail_in(dir, &e);
		}
		rc = print_json(p);
	} else {
		for (uint32_t i = 0; i < nh; i++)
			printf("%u\t%.*s\t%.17g\n", i + 1, (int)hits[i].id_len, hits[i].id,
			       hits[i].distance);
		if (truncated)
			fprintf(stderr, "tsdb: more than %llu series within %.17g (--limit)\n",
				(unsigned long long)a->limit, a->radius);
	}
	free(hits);
	return rc;
}

static int cmd_search(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"id", required_argument, NULL, OPT_ID},
		{"k", required_argument, NULL, 'k'},
		{"within", required_argument, NULL, OPT_WITHIN},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"json", no_argument, NULL, OPT_JSON},
		{"brute", no_argument, NULL, OPT_BRUTE},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	struct search_args a = {.k = 5, .limit = WITHIN_LIMIT_DEFAULT};
	const char *db = NULL, *dir;
	int c, rc, k_given = 0, limit_given = 0;
	while ((c = getopt_long(argc, argv, "hk:", lo, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			a.id = optarg;
			break;
		case 'k':
			if (parse_u64("-k", optarg, 1, K_MAX, &a.k))
				return EX_USAGE;
			k_given = 1;
			break;
		case OPT_WITHIN:
			if (parse_double("--within", optarg, 0, 0, 2.0, &a.radius))
				return EX_USAGE;
			a.within = 1;
			break;
		case OPT_LIMIT:
			if (parse_u64("--limit", optarg, 1, UINT32_MAX, &a.limit))
				return EX_USAGE;
			limit_given = 1;
			break;
		case OPT_JSON:
			a.json = 1;
			break;
		case OPT_BRUTE:
			a.brute = 1;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	int nargs = argc - optind;
	if (a.id && nargs)
		return usage_error("give --id ID or a FILE, not both");
	if (!a.id && nargs != 1)
		return usage_error(nargs ? "one FILE only" : "give --id ID or a FILE");
	if (!a.id)
		a.file = argv[optind];
	if (a.within && k_given)
		return usage_error("-k and --within exclude each other");
	if (!a.within && limit_given)
		return usage_error("--limit applies to --within");
	tsdb_db d;
	if (open_db(&d, db, &dir))
		return EX_FAIL;
	rc = run_search(&d, dir, &a);
	tsdb_db_close(&d);
	return rc;
}

/* ---- ingest --------------------------------------------------------------------- */

static void report_file(void *ctx, const char *name, enum tsdb_spool_fate fate,
			const char *reason)
{
	(void)ctx;
	if (fate == TSDB_SPOOL_FAILED)
		fprintf(stderr, "tsdb: %s (moved to failed/)\n", reason);
	else if (fate == TSDB_SPOOL_LEFT)
		fprintf(stderr, "tsdb: %s (left in new/)\n", reason ? reason : name);
}

static int cmd_ingest(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"spool", required_argument, NULL, OPT_SPOOL},
		{"batch", required_argument, NULL, OPT_BATCH},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL, *spool = NULL;
	tsdb_spool_opts so;
	tsdb_spool_opts_default(&so);
	so.on_file = report_file;
	uint64_t batch;
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_SPOOL:
			spool = optarg;
			break;
		case OPT_BATCH:
			if (parse_u64("--batch", optarg, 1, TSDB_INPUT_MAX_SERIES, &batch))
				return EX_USAGE;
			so.batch = (size_t)batch;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 0, 0)) >= 0)
		return rc;
	if (!spool)
		return usage_error("--spool DIR is required");
	const char *dir = tsdb_db_dir(db);
	tsdb_spool_result r;
	tsdb_err e = {0};
	struct progress pr;
	progress_setup(&pr, so.batch, &so.progress, &so.progress_ctx);
	rc = tsdb_spool_ingest(dir, spool, &so, &r, &e);
	progress_end(&pr);
	printf("ingested %zu files (%zu series inserted, %zu unchanged) in %zu batch%s",
	       r.done, r.inserted, r.unchanged, r.batches, r.batches == 1 ? "" : "es");
	if (r.txn)
		printf(", last txn %llu", (unsigned long long)r.txn);
	printf("; %zu failed, %zu left in new/\n", r.failed, r.left);
	return rc ? fail_in(dir, &e) : EX_OK;
}

/* ---- the table of commands -------------------------------------------------------- */

static int cmd_help(const struct cmd *self, int argc, char **argv);

static const struct cmd cmds[] = {
	{"init", cmd_init, "[--db DIR] [--length L] [--mult M] [--vantage-points V] [--seed S]",
	 "create an empty database",
	 "    Creates an empty database in DIR (made if missing).  The distance's\n"
	 "    parameters are fixed here for the life of the database: the grid\n"
	 "    length L every series is interpolated onto, the kernel multiplier M,\n"
	 "    the number V of vantage points (chosen from the stored series once\n"
	 "    there are enough) and the seed of that choice.  An existing database\n"
	 "    is never touched.\n",
	 "    -L, --length L\n"
	 "        Grid length, 4..65536.  Default 1024.\n"
	 "    --mult M\n"
	 "        Kernel multiplier, 0 < M <= 1000.  Default 1.\n"
	 "    -V, --vantage-points V\n"
	 "        Vantage points, 1..40.  Default 20.\n"
	 "    -s, --seed S\n"
	 "        Seed for choosing the vantage points.  Default 1.\n",
	 "    tsdb init --db ./db --length 100\n"
	 "    TSDB_DB=/srv/tsdb tsdb init --vantage-points 32 --seed 7\n"},
	{"insert", cmd_insert, "[--db DIR] [--replace] [--skip-invalid] [--id ID] [FILE|DIR|-]...",
	 "add series to the database",
	 "    Loads and validates every series first, then stores them all in one\n"
	 "    commit: either every series is stored or, on any problem, none is and\n"
	 "    the database is left byte for byte as it was.  Readers never wait.\n"
	 "\n"
	 "    A FILE is the text format (whitespace-separated columns, time then\n"
	 "    value, further columns ignored, '#' comments) or JSON, told apart by\n"
	 "    the first non-blank character ('{' or '[' is JSON).  JSON is a single\n"
	 "    series ({\"id\":..,\"t\":[..],\"v\":[..],\"meta\":{..}}, the course's\n"
	 "    {\"time_points\":..,\"data_points\":..}, [[t..],[v..]] or [[t,v],..])\n"
	 "    or JSON Lines, one series object with an \"id\" per line (always for\n"
	 "    names ending in .jsonl or .ndjson).  A single series without an id is\n"
	 "    named after its file without the last extension: 51886.dat_folded\n"
	 "    gives 51886.  A DIR means each regular file in it, in name order,\n"
	 "    hidden files skipped, not recursive.  - (the default) is standard\n"
	 "    input: JSON Lines, or one series given --id.  Times are phases in\n"
	 "    [0, 1); a series needs 4 to 10,000,000 points and must not be\n"
	 "    constant; a file may hold up to 1 GiB.  Ids must be unique within\n"
	 "    the batch, and new to the database unless --replace.\n"
	 "\n"
	 "    Prints \"inserted N series (M replaced) in txn T\".  Progress goes to\n"
	 "    standard error when it is a terminal and the batch is large.\n",
	 "    --replace\n"
	 "        Replace series whose ids are already stored (default: an error).\n"
	 "    --skip-invalid\n"
	 "        Report each invalid series (or unreadable file) on standard error,\n"
	 "        leave it out and store the rest; the exit status is then 0 if\n"
	 "        the rest was stored.  Series sharing an id are all left out.\n"
	 "    --id ID\n"
	 "        The id of the single series in the one FILE (or -) given.\n",
	 "    tsdb insert tests/data/51886.dat_folded tests/data/169975.dat_folded\n"
	 "    tsdb gen 1000 | tsdb insert --db ./db -\n"
	 "    tsdb insert --id star-17 < star17.dat\n"
	 "    tsdb insert --skip-invalid --replace incoming/\n"},
	{"remove", cmd_remove, "[--db DIR] ID...", "remove series",
	 "    Removes the series with the given ids in one commit; an id that is not\n"
	 "    stored fails the command and removes nothing.  The space is reclaimed\n"
	 "    by 'tsdb compact'.\n",
	 "", "    tsdb remove 51886 169975\n"},
	{"get", cmd_get, "[--db DIR] [--json] ID", "print a stored series as inserted",
	 "    Prints the original points of a series, bit for bit as inserted, in\n"
	 "    insertion order: two columns \"time value\" with 17 significant digits\n"
	 "    (which read back as the same doubles), preceded by a line\n"
	 "    \"# meta: {...}\" when the series has metadata.  The output is valid\n"
	 "    input for 'tsdb insert'.\n",
	 "    --json\n"
	 "        Print {\"id\":..,\"t\":[..],\"v\":[..],\"meta\":..} on one line instead.\n",
	 "    tsdb get 51886 > 51886.dat\n"
	 "    tsdb get --json 51886 | python3 -m json.tool\n"},
	{"list", cmd_list, "[--db DIR] [--prefix P] [--after ID] [--limit N]",
	 "list stored ids",
	 "    Prints stored ids, one per line, in byte order.\n",
	 "    --prefix P\n"
	 "        Only ids starting with P.\n"
	 "    --after ID\n"
	 "        Only ids after ID (which need not be stored): the next page.\n"
	 "    --limit N\n"
	 "        At most N ids.  Default: all.\n",
	 "    tsdb list --prefix ts- --limit 10\n"
	 "    tsdb list --after ts-000009 --limit 10\n"},
	{"info", cmd_info, "[--db DIR] [--json]", "print the database's parameters and state",
	 "    Prints the parameters fixed at 'tsdb init' (length, mult, vantage\n"
	 "    points, seed), the vantage points chosen, the number of series, the\n"
	 "    last transaction and its time (ISO 8601, UTC) and the file size.\n",
	 "    --json\n"
	 "        Print the same as the server's \"info\" payload, on one line.\n",
	 "    tsdb info --db ./db\n"},
	{"check", cmd_check, "[--db DIR] [--deep]", "verify a database",
	 "    Verifies the newest commit read-only, as a reader sees it: commit\n"
	 "    record, parameters, every tree, every series record and checksum, and\n"
	 "    that all indexes agree.  Prints one summary line; on the first\n"
	 "    problem prints it and exits 1.\n",
	 "    --deep\n"
	 "        Also recompute the derived data of every series from its original\n"
	 "        points and compare it bit for bit (slow).\n",
	 "    tsdb check --db ./db && echo healthy\n"},
	{"compact", cmd_compact, "[--db DIR]", "rewrite the database without dead space",
	 "    Rewrites the live data of the newest commit into a fresh file and\n"
	 "    swaps it in atomically.  Readers that have the old file open keep\n"
	 "    reading it.  Prints the sizes before and after.\n",
	 "", "    tsdb compact --db ./db\n"},
	{"reindex", cmd_reindex, "[--db DIR] [--vantage-points V] [--seed S]",
	 "choose vantage points anew",
	 "    Chooses the vantage points again and rebuilds every vantage-point\n"
	 "    index in one commit.  Answers do not change (searches are exact);\n"
	 "    only their speed does.\n",
	 "    -V, --vantage-points V\n"
	 "        Number of vantage points, 1..40.  Default: as stored.\n"
	 "    -s, --seed S\n"
	 "        Seed of the choice.  Default: as stored.\n",
	 "    tsdb reindex --vantage-points 32 --seed 2\n"},
	{"gen", cmd_gen, "[--seed S] [--length L] N", "write synthetic series as JSON Lines",
	 "    Writes N synthetic series (the course's generator: a Gaussian bump\n"
	 "    plus noise on L evenly spaced phases) to standard output, one JSON\n"
	 "    object per line with ids ts-000000, ts-000001, ...  The same seed\n"
	 "    always gives the same series.  --db is accepted and ignored.\n",
	 "    -s, --seed S\n"
	 "        Data set seed.  Default 1.\n"
	 "    -L, --length L\n"
	 "        Points per series, 4..65536.  Default 100.\n",
	 "    tsdb gen 100000 | tsdb insert --db ./db -\n"},
	{"search", cmd_search,
	 "[--db DIR] (--id ID | FILE) [-k K | --within R [--limit N]] [--json] [--brute]",
	 "find the most similar stored series",
	 "    Finds the stored series nearest to a stored one (--id ID, itself left\n"
	 "    out) or to the single series in FILE (any format 'tsdb insert' reads;\n"
	 "    - is standard input), by the database's distance, exactly, in this\n"
	 "    process (no server).  Prints one line per result: rank, id and\n"
	 "    distance separated by tabs, sorted by distance, ties by id.\n",
	 "    --id ID\n"
	 "        Query with the stored series ID.\n"
	 "    -k K\n"
	 "        Number of results, 1..1000000.  Default 5.\n"
	 "    --within R\n"
	 "        Every series within distance R (0..2) instead of the k nearest.\n"
	 "    --limit N\n"
	 "        With --within: at most the N nearest.  Default 100000.\n"
	 "    --json\n"
	 "        Print the server's payload for the same request on one line:\n"
	 "        {\"k\":..,\"series\":..,\"computed\":..,\"results\":[{\"id\":..,\"distance\":..}]}\n"
	 "        (with --within: {\"radius\":..,\"series\":..,\"computed\":..,\"truncated\":..,\n"
	 "        \"results\":[..]}).\n"
	 "    --brute\n"
	 "        Compute every distance instead of pruning with the vantage\n"
	 "        points (the reference the pruned search must equal).\n",
	 "    tsdb search --id 51886 -k 1\n"
	 "    tsdb search --within 0.5 --json query.dat\n"},
	{"ingest", cmd_ingest, "[--db DIR] --spool SPOOL [--batch N]",
	 "insert the files waiting in a spool directory",
	 "    Ingests every file in SPOOL/new/ (new/, done/ and failed/ are created\n"
	 "    when missing).  Producers write a file elsewhere (or under a name\n"
	 "    starting with '.') and rename it into new/ when complete.  Each file\n"
	 "    is read as by 'tsdb insert'; its name without the extension must be a\n"
	 "    valid id.  Files are inserted N per commit; a stored file moves to\n"
	 "    done/, a file that cannot be stored to failed/ with the reason in\n"
	 "    failed/NAME.reason.  An id already stored with the same points and\n"
	 "    metadata counts as stored, so running again after a crash or kill at\n"
	 "    any moment neither loses nor duplicates anything.  One ingest runs\n"
	 "    per spool at a time (SPOOL/.lock).  Exits 0 when every file was\n"
	 "    dealt with, failed ones included.\n",
	 "    --spool SPOOL\n"
	 "        The spool directory (required).\n"
	 "    --batch N\n"
	 "        Files per commit.  Default 1000.\n",
	 "    tsdb ingest --db /var/lib/tsdb --spool /var/spool/tsdb\n"},
	{"help", cmd_help, "[COMMAND]", "print a command's manual page",
	 "    Prints the manual page of COMMAND, or the list of commands.\n", "", NULL},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void print_overview(FILE *f)
{
	fputs("NAME\n"
	      "    tsdb - time-series similarity database: writer and administration\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    tsdb COMMAND [OPTIONS] [ARGUMENTS]\n"
	      "    tsdb help COMMAND | tsdb COMMAND --help\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    tsdb stores periodic time series and finds, exactly, the stored\n"
	      "    series most similar to a given one up to a phase shift.  This program\n"
	      "    is the only writer: every change is one atomic commit, and readers\n"
	      "    (tsdb-handler, search) never wait for it.\n"
	      "\n"
	      "COMMANDS\n",
	      f);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "    %-9s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\nOPTIONS\n", f);
	fputs(common_options, f);
	fputc('\n', f);
	fputs(common_tail, f);
	fputs("\nEXAMPLES\n"
	      "    tsdb init --db ./db --length 100\n"
	      "    tsdb gen 1000 | tsdb insert --db ./db\n"
	      "    tsdb search --db ./db --id ts-000001 -k 3\n",
	      f);
}

static int cmd_help(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL;
	int rc;
	if ((rc = simple_opts(self, argc, argv, NULL, NULL, &db, 0, 1)) >= 0)
		return rc;
	if (optind == argc) {
		print_overview(stdout);
		return EX_OK;
	}
	const struct cmd *c2 = find_cmd(argv[optind]);
	if (!c2)
		return usage_error("no command '%s'", argv[optind]);
	print_help(c2, stdout);
	return EX_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: tsdb COMMAND [OPTIONS] [ARGUMENTS]\nTry 'tsdb --help'.\n", stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_overview(stdout);
		return fflush(stdout) ? EX_FAIL : EX_OK;
	}
	const struct cmd *c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "tsdb: no command '%s'\nTry 'tsdb --help'.\n", argv[1]);
		return EX_USAGE;
	}
	snprintf(prog, sizeof prog, "tsdb %s", c->name);
	argv[1] = prog; /* getopt's messages then say "tsdb init: ..." */
	int rc = c->run(c, argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tsdb: cannot write standard output: %s\n", strerror(errno));
		return EX_FAIL;
	}
	return rc;
}
