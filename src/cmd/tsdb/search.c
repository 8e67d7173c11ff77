/*
 * search.c - `tsdb search`: the server's search (query.h) in this process,
 * printed as a table or as the server's payload (--json).
 */
#include <string.h>

#include "cmd.h"
#include "input.h"
#include "numparse.h"
#include "payload.h"
#include "query.h"

/* Bounds on what the command line controls. */
#define K_MAX 1000000ull
#define WITHIN_LIMIT_DEFAULT 100000ull

struct search_args {
	const char *db, *id, *file;
	uint64_t k, limit;
	double radius;
	int within, json, brute;
};

/* The options' consistency, once all are read: -1 to go on, else the exit
 * status. */
static int check_args(struct search_args *a, int nargs, char **args, int k_given,
		      int limit_given)
{
	if (a->id && nargs)
		return usage_error("give --id ID or a FILE, not both");
	if (!a->id && nargs != 1)
		return usage_error(nargs ? "one FILE only" : "give --id ID or a FILE");
	if (!a->id)
		a->file = args[0];
	if (a->within && k_given)
		return usage_error("-k and --within exclude each other");
	if (!a->within && limit_given)
		return usage_error("--limit applies to --within");
	return -1;
}

/* -1 to go on, else the exit status. */
static int search_opts(const struct cmd *self, int argc, char **argv, struct search_args *a)
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
	int c, rc, k_given = 0, limit_given = 0;
	while ((c = getopt_long(argc, argv, "hk:", lo, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			a->id = optarg;
			break;
		case 'k':
			if (parse_u64("-k", optarg, 1, K_MAX, &a->k))
				return EX_USAGE;
			k_given = 1;
			break;
		case OPT_WITHIN:
			if (parse_double("--within", optarg, 0, 0, 2.0, &a->radius))
				return EX_USAGE;
			a->within = 1;
			break;
		case OPT_LIMIT:
			if (parse_u64("--limit", optarg, 1, UINT32_MAX, &a->limit))
				return EX_USAGE;
			limit_given = 1;
			break;
		case OPT_JSON:
			a->json = 1;
			break;
		case OPT_BRUTE:
			a->brute = 1;
			break;
		default:
			if ((rc = common_opt(self, c, &a->db)) >= 0)
				return rc;
		}
	}
	return check_args(a, argc - optind, argv + optind, k_given, limit_given);
}

static int print_result(tsdb_db *d, const char *dir, const struct search_args *a,
			const tsdb_query_result *r)
{
	if (a->json) {
		tsdb_err e = {0};
		json_t *p = tsdb_payload_search(d, &r->answer, NULL, &e);
		return p ? print_json(p) : fail_in(dir, &e);
	}
	for (uint32_t i = 0; i < r->answer.nhits; i++) {
		char dist[TSDB_DOUBLE_TEXT_MAX];
		tsdb_format_double(r->hits[i].distance, dist);
		printf("%u\t%.*s\t%s\n", i + 1, (int)r->hits[i].id_len, r->hits[i].id, dist);
	}
	if (r->answer.truncated)
		fprintf(stderr, "tsdb: more than %llu series within %.17g (--limit)\n",
			(unsigned long long)a->limit, a->radius);
	return EX_OK;
}

/* The query is a stored id, or the single series in a file (or stdin). */
static int run_search(tsdb_db *d, const char *dir, const struct search_args *a)
{
	tsdb_query_spec spec = {.id = a->id, .id_len = a->id ? strlen(a->id) : 0,
				.within = a->within, .k = (uint32_t)a->k, .radius = a->radius,
				.limit = (uint32_t)a->limit, .brute = a->brute};
	tsdb_batch b;
	tsdb_query_result r;
	tsdb_err e = {0};
	int rc = EX_FAIL;
	tsdb_batch_init(&b);
	if (a->file) {
		if (tsdb_input_load_query(&b, a->file, &e)) {
			fail(&e);
			goto out;
		}
		spec.series = &b.series[0];
	}
	if (tsdb_query_run(d, &spec, &r, &e)) {
		fail_in(dir, &e);
		goto out;
	}
	rc = print_result(d, dir, a, &r);
	tsdb_query_result_free(&r);
out:
	tsdb_batch_free(&b);
	return rc;
}

int cmd_search(const struct cmd *self, int argc, char **argv)
{
	struct search_args a = {.k = 5, .limit = WITHIN_LIMIT_DEFAULT};
	const char *dir;
	int rc = search_opts(self, argc, argv, &a);
	if (rc >= 0)
		return rc;
	tsdb_db d;
	if (open_db(&d, a.db, &dir))
		return EX_FAIL;
	rc = run_search(&d, dir, &a);
	tsdb_db_close(&d);
	return rc;
}
