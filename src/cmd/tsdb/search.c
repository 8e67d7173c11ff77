/*
 * search.c - `tsdb search` and `tsdb select`: the server's search
 * (query.h) and select (select.h) in this process, printed as a table or
 * as the server's payload (--json).
 */
#include <string.h>

#include "cmd.h"
#include "input.h"
#include "numparse.h"
#include "payload.h"
#include "proto.h"
#include "query.h"
#include "querylang.h"
#include "select.h"

/* Bounds on what the command line controls. */
#define K_MAX 1000000ull
#define WITHIN_LIMIT_DEFAULT 100000ull

struct search_args {
	const char *db, *id, *file, *where, *query;
	uint64_t k, limit;
	double radius;
	int within, json, brute, explain;
	enum tsdb_plan plan;
};

/* The options' consistency, once all are read: -1 to go on, else the exit
 * status. */
static int check_args(struct search_args *a, int nargs, char **args, int k_given,
		      int limit_given)
{
	if (a->query) {
		if (a->id || nargs || k_given || limit_given || a->within || a->where)
			return usage_error("--query is the whole search: no FILE, --id, -k, --within, --limit or "
					   "--where with it");
		return -1;
	}
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
	if (a->plan != TSDB_PLAN_AUTO && !a->where && !a->query)
		return usage_error("--plan applies to a search with --where");
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
		{"where", required_argument, NULL, OPT_WHERE},
		{"plan", required_argument, NULL, OPT_PLAN},
		{"explain", no_argument, NULL, OPT_EXPLAIN},
		{"query", required_argument, NULL, OPT_QUERY},
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
		case OPT_WHERE:
			a->where = optarg;
			break;
		case OPT_PLAN:
			if (tsdb_plan_from_name(optarg, &a->plan) || a->plan == TSDB_PLAN_BRUTE)
				return usage_error("--plan must be auto, walk, scan or index, not '%s'", optarg);
			break;
		case OPT_EXPLAIN:
			a->explain = 1;
			break;
		case OPT_QUERY:
			a->query = optarg;
			break;
		default:
			if ((rc = common_opt(self, c, &a->db)) >= 0)
				return rc;
		}
	}
	return check_args(a, argc - optind, argv + optind, k_given, limit_given);
}

/* --explain: how the search was answered, on standard error. */
static void explain(const tsdb_db *d, const tsdb_query_result *r)
{
	const tsdb_search_stats *st = &r->answer.stats;
	fprintf(stderr, "tsdb: plan %s over %llu series: %llu index entries visited, %llu distances computed",
		tsdb_plan_name(st->plan), (unsigned long long)d->nseries, (unsigned long long)st->visited,
		(unsigned long long)st->computed);
	if (r->answer.filtered) {
		fprintf(stderr, ", filter tested on %llu series, %llu matched", (unsigned long long)st->tested,
			(unsigned long long)st->matched);
		if (st->sampled)
			fprintf(stderr, " (planner's sample: %u of the first %u ids matched)", st->sample_matched,
				st->sampled);
		if (st->plan == TSDB_PLAN_INDEX)
			fprintf(stderr, " (index on %s: %llu entries in range)", st->index_field,
				(unsigned long long)st->index_entries);
	}
	fputc('\n', stderr);
}

static int print_result(tsdb_db *d, const char *dir, const struct search_args *a,
			const tsdb_query_result *r)
{
	if (a->explain)
		explain(d, r);
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

/* Runs spec and prints its answer; the exit status. */
static int run_spec(tsdb_db *d, const char *dir, const struct search_args *a, const tsdb_query_spec *spec)
{
	tsdb_query_result r;
	tsdb_err e = {0};
	if (tsdb_query_run(d, spec, &r, &e))
		return fail_in(dir, &e);
	int rc = print_result(d, dir, a, &r);
	tsdb_query_result_free(&r);
	return rc;
}

/* The query is a stored id, or the single series in a file (or stdin). */
static int run_search(tsdb_db *d, const char *dir, const struct search_args *a)
{
	tsdb_query_spec spec = {.id = a->id, .id_len = a->id ? strlen(a->id) : 0,
				.within = a->within, .k = (uint32_t)a->k, .radius = a->radius,
				.limit = (uint32_t)a->limit, .brute = a->brute, .plan = a->plan};
	tsdb_batch b;
	tsdb_err e = {0};
	tsdb_pred *where = NULL;
	int rc = EX_FAIL;
	tsdb_batch_init(&b);
	if (a->where) {
		if (compile_where(a->where, &where, &e)) {
			rc = usage_error("--where: %s", e.msg);
			goto out;
		}
		spec.where = where;
	}
	if (a->file) {
		if (tsdb_input_load_query(&b, a->file, &e)) {
			fail(&e);
			goto out;
		}
		spec.series = &b.series[0];
	}
	rc = run_spec(d, dir, a, &spec);
out:
	tsdb_pred_free(where);
	tsdb_batch_free(&b);
	return rc;
}

static int print_select(json_t *p, int with_meta);

/* The series of (like-file F) as the request's "ts". */
static int query_series(json_t *req, const char *path, tsdb_err *e)
{
	tsdb_batch b;
	tsdb_batch_init(&b);
	int rc = tsdb_input_load_query(&b, path, e);
	json_t *ts = rc ? NULL : tsdb_series_to_json(&b.series[0]);
	tsdb_batch_free(&b);
	if (rc)
		return -1;
	json_object_del(ts, "id");
	json_object_del(ts, "meta");
	if (!ts || json_object_set_new(req, "ts", ts))
		return tsdb_errf(e, TSDB_E_UNKNOWN, "out of memory");
	return 0;
}

/* --query: compiled (querylang.h), then decoded as the server decodes it,
 * so that the query means here what it means to the server; a search or
 * a select on the local database. */
static int run_query(tsdb_db *d, const char *dir, struct search_args *a)
{
	tsdb_ql_result ql;
	tsdb_err e = {0};
	if (tsdb_ql_compile(a->query, strlen(a->query), &ql, &e))
		return usage_error("--query: %s", e.msg);
	const char *op = json_string_value(json_object_get(ql.request, "op"));
	int rc = EX_FAIL;
	tsdb_request req = {0};
	char *text = NULL;
	if (strcmp(op, "with_id") && strcmp(op, "with_ts") && strcmp(op, "within") && strcmp(op, "select")) {
		rc = usage_error("--query: (%s ...) is not a search; use 'tsdb %s'", op, op);
		goto out;
	}
	if (ql.ts_file && query_series(ql.request, ql.ts_file, &e)) {
		fail(&e);
		goto out;
	}
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	text = json_dumps(ql.request, JSON_COMPACT);
	if (!text || tsdb_request_decode(text, strlen(text), &lim, &req, &e)) {
		rc = text ? usage_error("--query: %s", e.msg) : EX_FAIL;
		goto out;
	}
	if (req.op == TSDB_OP_SELECT) {
		tsdb_select_spec spec = {.where = req.where, .fields = req.fields,
					 .sort_field = req.has_sort ? req.sort_field : NULL,
					 .sort_len = req.sort_len, .sort_desc = req.sort_desc,
					 .offset = req.offset, .limit = req.limit};
		json_t *p = tsdb_select_run(d, &spec, &e);
		rc = !p ? fail_in(dir, &e) : a->json ? print_json(p) : print_select(p, req.fields != NULL);
		goto out;
	}
	tsdb_query_spec spec = {.id = req.has_id ? req.id : NULL, .id_len = req.id_len,
				.series = &req.ts, .within = req.op == TSDB_OP_WITHIN, .k = req.k,
				.radius = req.radius, .limit = req.limit, .brute = a->brute,
				.where = req.where, .plan = a->plan};
	a->within = spec.within;
	a->radius = req.radius;
	a->limit = req.limit;
	rc = run_spec(d, dir, a, &spec);
out:
	free(text);
	tsdb_request_free(&req);
	tsdb_ql_result_free(&ql);
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
	rc = a.query ? run_query(&d, dir, &a) : run_search(&d, dir, &a);
	tsdb_db_close(&d);
	return rc;
}

/* ---- select ---------------------------------------------------------- */

#define SELECT_LIMIT_DEFAULT 100ull

struct select_args {
	const char *db, *where, *fields, *sort;
	uint64_t limit, offset;
	int all_fields, json;
};

static int select_opts(const struct cmd *self, int argc, char **argv, struct select_args *a)
{
	static const struct option lo[] = {
		{"where", required_argument, NULL, OPT_WHERE},
		{"fields", required_argument, NULL, OPT_FIELDS},
		{"all-fields", no_argument, NULL, OPT_ALL_FIELDS},
		{"sort", required_argument, NULL, OPT_SORT},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"offset", required_argument, NULL, OPT_OFFSET},
		{"json", no_argument, NULL, OPT_JSON},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	int c, rc;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_WHERE: a->where = optarg; break;
		case OPT_FIELDS: a->fields = optarg; break;
		case OPT_ALL_FIELDS: a->all_fields = 1; break;
		case OPT_SORT: a->sort = optarg; break;
		case OPT_JSON: a->json = 1; break;
		case OPT_LIMIT:
			if (parse_u64("--limit", optarg, 1, UINT32_MAX, &a->limit))
				return EX_USAGE;
			break;
		case OPT_OFFSET:
			if (parse_u64("--offset", optarg, 0, INT32_MAX, &a->offset))
				return EX_USAGE;
			break;
		default:
			if ((rc = common_opt(self, c, &a->db)) >= 0)
				return rc;
		}
	}
	if (optind != argc)
		return usage_error("no arguments are taken (the filter is --where)");
	if (a->fields && a->all_fields)
		return usage_error("--fields and --all-fields exclude each other");
	const char *f = a->sort ? a->sort + (a->sort[0] == '+' || a->sort[0] == '-') : NULL;
	if (f && (*f == '\0' || strlen(f) > TSDB_PRED_MAX_FIELD))
		return usage_error("--sort needs a field name of 1..%d bytes, after an optional + or -",
				   TSDB_PRED_MAX_FIELD);
	return -1;
}

/* --fields a,b,c as a JSON array of names. */
static json_t *field_list(const char *csv)
{
	json_t *a = json_array();
	for (const char *p = csv; a && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len && json_array_append_new(a, json_stringn(p, len))) {
			json_decref(a);
			a = NULL;
		}
		p += len + (end != NULL);
	}
	return a;
}

/* One line per result: the id, then (with fields) the metadata as JSON. */
static int print_select(json_t *p, int with_meta)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(p, "results"), i, r) {
		fputs(json_string_value(json_object_get(r, "id")), stdout);
		if (with_meta) {
			char *m = json_dumps(json_object_get(r, "meta"), JSON_COMPACT | JSON_REAL_PRECISION(17));
			printf("\t%s", m ? m : "?");
			free(m);
		}
		putchar('\n');
	}
	if (json_is_true(json_object_get(p, "more")))
		fprintf(stderr, "tsdb: %lld series match; more after these (--offset)\n",
			(long long)json_integer_value(json_object_get(p, "count")));
	json_decref(p);
	return EX_OK;
}

int cmd_select(const struct cmd *self, int argc, char **argv)
{
	struct select_args a = {.limit = SELECT_LIMIT_DEFAULT};
	int rc = select_opts(self, argc, argv, &a);
	if (rc >= 0)
		return rc;
	tsdb_err e = {0};
	tsdb_pred *where = NULL;
	if (a.where && compile_where(a.where, &where, &e))
		return usage_error("--where: %s", e.msg);
	json_t *fields = a.all_fields ? json_array() : a.fields ? field_list(a.fields) : NULL;
	tsdb_select_spec spec = {.where = where, .fields = fields, .offset = (uint32_t)a.offset,
				 .limit = (uint32_t)a.limit};
	if (a.sort) {
		spec.sort_desc = a.sort[0] == '-';
		spec.sort_field = a.sort + (a.sort[0] == '+' || a.sort[0] == '-');
		spec.sort_len = strlen(spec.sort_field);
	}
	const char *dir;
	tsdb_db d;
	rc = EX_FAIL;
	if ((a.all_fields || a.fields) && !fields) {
		e.code = TSDB_E_UNKNOWN;
		rc = fail(&e);
	} else if (open_db(&d, a.db, &dir) == 0) {
		json_t *p = tsdb_select_run(&d, &spec, &e);
		rc = !p ? fail_in(dir, &e) : a.json ? print_json(p) : print_select(p, fields != NULL);
		tsdb_db_close(&d);
	}
	json_decref(fields);
	tsdb_pred_free(where);
	return rc;
}
