/*
 * ingest.c - `tsdb ingest`: the spool directory's waiting files into the
 * database, in batches (spool.h), with one line of totals.
 */
#include "cmd.h"
#include "input.h"
#include "spool.h"

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

int cmd_ingest(const struct cmd *self, int argc, char **argv)
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
	if (r.compactions)
		fprintf(stderr, "tsdb: compacted %s %zu time%s after a batch\n", dir, r.compactions,
			r.compactions == 1 ? "" : "s");
	if (r.compact_failures)
		fprintf(stderr, "tsdb: %s: every batch stands, but %zu compaction%s after one failed: %s\n", dir,
			r.compact_failures, r.compact_failures == 1 ? "" : "s", r.compact_err.msg);
	return rc ? fail_in(dir, &e) : EX_OK;
}
