/*
 * insert.c - `tsdb insert`: load every path into one batch (input.h), then
 * store it in one commit with the skip-invalid policy of batchinsert.h.
 */
#include <string.h>

#include "batchinsert.h"
#include "cmd.h"
#include "input.h"
#include "writer.h"

static void report_invalid(void *ctx, const tsdb_err *e)
{
	(void)ctx;
	fprintf(stderr, "tsdb: %s (skipped)\n", e->msg);
}

struct insert_args {
	const char *db, *id;
	tsdb_input_opts in;
	tsdb_insert_opts io;
	int nargs;
	char **paths;
};

/* -1 to go on, else the exit status. */
static int insert_opts(const struct cmd *self, int argc, char **argv, struct insert_args *a)
{
	static const struct option lo[] = {
		{"replace", no_argument, NULL, OPT_REPLACE},
		{"skip-invalid", no_argument, NULL, OPT_SKIP},
		{"id", required_argument, NULL, OPT_ID},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	static char *dash[] = {"-"};
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_REPLACE:
			a->io.replace = 1;
			break;
		case OPT_SKIP:
			a->in.skip_invalid = 1;
			break;
		case OPT_ID:
			a->id = optarg;
			break;
		default:
			if ((rc = common_opt(self, c, &a->db)) >= 0)
				return rc;
		}
	}
	a->nargs = argc - optind;
	a->paths = a->nargs ? argv + optind : dash;
	if (!a->nargs)
		a->nargs = 1;
	if (a->id && a->nargs != 1)
		return usage_error("--id names the series of a single FILE or of -");
	return -1;
}

/* Every path into b, duplicates resolved. */
static int load(const struct insert_args *a, tsdb_batch *b, tsdb_err *e)
{
	for (int i = 0; i < a->nargs; i++)
		if (tsdb_input_load(b, a->paths[i], a->id, &a->in, e))
			return -1;
	return tsdb_input_finish(b, &a->in, e);
}

static void report(const char *dir, const tsdb_insert_result *res, const tsdb_batch *b)
{
	if (res->txn)
		printf("inserted %zu series (%zu replaced) in txn %llu\n", res->inserted,
		       res->replaced, (unsigned long long)res->txn);
	else
		printf("inserted 0 series (0 replaced)\n");
	if (b->skipped)
		fprintf(stderr, "tsdb: skipped %zu invalid input%s\n", b->skipped,
			b->skipped == 1 ? "" : "s");
	report_compaction(dir, res);
}

int cmd_insert(const struct cmd *self, int argc, char **argv)
{
	struct insert_args a = {0};
	tsdb_input_opts_default(&a.in);
	a.in.on_invalid = report_invalid;
	int rc = insert_opts(self, argc, argv, &a);
	if (rc >= 0)
		return rc;
	const char *dir = tsdb_db_dir(a.db);
	const int skip = a.in.skip_invalid;
	tsdb_batch b;
	tsdb_err e = {0};
	tsdb_insert_result res = {0};
	struct progress pr;
	tsdb_batch_init(&b);
	rc = EX_FAIL;
	if (load(&a, &b, &e) ||
	    (skip && !a.io.replace && tsdb_batch_drop_stored(dir, &b, report_invalid, NULL, &e))) {
		fail(&e);
		goto out;
	}
	progress_setup(&pr, b.n, &a.io.progress, &a.io.progress_ctx);
	int ins = b.n ? tsdb_batch_insert(dir, &b, &a.io, skip, report_invalid, NULL, &res, &e) : 0;
	progress_end(&pr);
	if (ins) {
		/* a series' problem names its file; anything else the database */
		tsdb_err_has_item(&e) ? fail(&e) : fail_in(dir, &e);
		goto out;
	}
	report(dir, &res, &b);
	rc = EX_OK;
out:
	tsdb_batch_free(&b);
	return rc;
}
