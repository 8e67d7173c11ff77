/*
 * admin.c - the commands of `tsdb` that are one library call each and a
 * line of output: init, remove, get, list, info, check, compact, reindex.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmd.h"
#include "db.h"
#include "numparse.h"
#include "payload.h"
#include "series.h"
#include "writer.h"

/* ---- init --------------------------------------------------------------------- */

int cmd_init(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"length", required_argument, NULL, 'L'},
		{"mult", required_argument, NULL, OPT_MULT},
		{"vantage-points", required_argument, NULL, 'V'},
		{"seed", required_argument, NULL, 's'},
		{"index", required_argument, NULL, 'i'},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL;
	const char *fields[TSDB_MIDX_MAX];
	size_t lens[TSDB_MIDX_MAX], nfields = 0;
	tsdb_params p;
	tsdb_params_default(&p);
	int c, rc;
	while ((c = getopt_long(argc, argv, "hL:V:s:i:", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (nfields == TSDB_MIDX_MAX)
				return usage_error("--index: at most %u fields", TSDB_MIDX_MAX);
			fields[nfields] = optarg;
			lens[nfields++] = strlen(optarg);
			break;
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
	if (tsdb_init_indexed(dir, &p, fields, lens, nfields, &e))
		return fail_in(dir, &e);
	printf("initialized %s: length %u, mult %.17g, %u vantage points, seed %llu", dir, p.L,
	       p.mult, p.nvp, (unsigned long long)p.seed);
	for (size_t i = 0; i < nfields; i++)
		printf("%s%s", i ? ", " : ", indexes: ", fields[i]);
	putchar('\n');
	return EX_OK;
}

/* ---- remove ------------------------------------------------------------------- */

int cmd_remove(const struct cmd *self, int argc, char **argv)
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

/* ---- get ------------------------------------------------------------------------ */

int cmd_get(const struct cmd *self, int argc, char **argv)
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
	for (size_t i = 0; i < s.n; i++) {
		char t[TSDB_DOUBLE_TEXT_MAX], v[TSDB_DOUBLE_TEXT_MAX];
		tsdb_format_double(s.t[i], t);
		tsdb_format_double(s.v[i], v);
		printf("%s %s\n", t, v);
	}
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

int cmd_list(const struct cmd *self, int argc, char **argv)
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

int cmd_info(const struct cmd *self, int argc, char **argv)
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
	printf("format version  %u\n", d.format);
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
	printf("dead bytes      %llu\n", (unsigned long long)d.dead_bytes);
	printf("indexes         %u\n", d.nmidx);
	for (uint32_t i = 0; i < d.nmidx; i++)
		printf("  index %s: %llu entries\n", d.midx[i].field, (unsigned long long)d.midx[i].root.count);
	tsdb_db_close(&d);
	return EX_OK;
}

/* ---- check ---------------------------------------------------------------------- */

int cmd_check(const struct cmd *self, int argc, char **argv)
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

int cmd_compact(const struct cmd *self, int argc, char **argv)
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

int cmd_reindex(const struct cmd *self, int argc, char **argv)
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

/* ---- index ---------------------------------------------------------------------- */

int cmd_index(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL, *dir;
	int rc;
	if ((rc = simple_opts(self, argc, argv, NULL, NULL, &db, 1, 1 + TSDB_MIDX_MAX)) >= 0)
		return rc;
	const char *action = argv[optind++];
	size_t n = (size_t)(argc - optind);
	tsdb_err e = {0};
	uint64_t txn = 0;
	if (strcmp(action, "list") == 0) {
		if (n)
			return usage_error("index list: unexpected argument");
		tsdb_db d;
		if (open_db(&d, db, &dir))
			return EX_FAIL;
		for (uint32_t i = 0; i < d.nmidx; i++)
			printf("%s\t%llu\n", d.midx[i].field, (unsigned long long)d.midx[i].root.count);
		tsdb_db_close(&d);
		return EX_OK;
	}
	dir = tsdb_db_dir(db);
	if (strcmp(action, "add") == 0) {
		if (!n)
			return usage_error("index add: name at least one FIELD");
		size_t lens[TSDB_MIDX_MAX];
		for (size_t i = 0; i < n; i++)
			lens[i] = strlen(argv[optind + i]);
		if (tsdb_index_add(dir, (const char *const *)argv + optind, lens, n, &txn, &e))
			return fail_in(dir, &e);
		tsdb_db d;
		if (open_db(&d, db, &dir))
			return EX_FAIL;
		for (size_t i = 0; i < n; i++) {
			const tsdb_midx *ix = tsdb_db_midx(&d, argv[optind + i], lens[i]);
			printf("indexed %s in %s: %llu series have it (txn %llu)\n", argv[optind + i], dir,
			       (unsigned long long)(ix ? ix->root.count : 0), (unsigned long long)txn);
		}
		tsdb_db_close(&d);
		return EX_OK;
	}
	if (strcmp(action, "drop") == 0) {
		if (n != 1)
			return usage_error("index drop: name one FIELD");
		if (tsdb_index_drop(dir, argv[optind], strlen(argv[optind]), &txn, &e))
			return fail_in(dir, &e);
		printf("dropped the index on %s in %s (txn %llu)\n", argv[optind], dir, (unsigned long long)txn);
		return EX_OK;
	}
	return usage_error("no index action '%s' (add, drop or list)", action);
}
