/*
 * test_filter.c - filtered search is exact: for fixed and random filters,
 * by stored id and by series, every plan (auto, walk, scan) gives the
 * k nearest among the matching series exactly as brute force over them
 * does (ids and distances bit for bit), always min(k, matches) of them;
 * a filtered radius search equals its brute force; select counts and
 * orders as a straightforward evaluation does.  The data: the course's
 * metadata on 1,500 series, 100 series without metadata, and 40 whose
 * fields have other types (an integer field as a real or a string, a
 * string field as a number), so that missing fields and type mismatches
 * are met on every query.  The same again with metadata indexes on the
 * fields (the index plan, forced and chosen), and select on the indexed
 * database must give exactly the payload it gives without indexes.
 */
#include "dbutil.h"

#include "select.h"

static const char *const fixed[] = {
	"{}",
	"{\"level\": \"C\"}",
	"{\"order\": {\">=\": 4}}",
	"{\"order\": 3}",
	"{\"level\": \"C\", \"order\": {\">=\": 4}}",
	"{\"$or\": [{\"level\": \"A\"}, {\"vp\": true}]}",
	"{\"$not\": {\"blarg\": 1}}",
	"{\"order\": {\"in\": [1, -2, 5]}}",
	"{\"mean\": {\"<\": 0.3}}",
	"{\"nosuch\": 1}",
	"{\"order\": {\"exists\": false}}",
	"{\"vp\": true, \"level\": \"F\", \"order\": -5}",
	"{\"level\": {\"!=\": \"A\"}}",
	"{\"order\": {\">\": 2.5, \"<=\": 3}}",
	"{\"level\": {\">=\": \"B\", \"<\": \"D\"}}",
};

#define NMETA 1500
#define NBARE 100
#define NODD 40

/* Metadata of another type than the course's, for series i of the odd set. */
static char *odd_meta(size_t i)
{
	static const char *const shapes[] = {
		"{\"order\": 3.0, \"level\": \"C\"}",
		"{\"order\": \"3\", \"level\": 3}",
		"{\"order\": true, \"blarg\": \"1\"}",
		"{\"level\": [\"C\"], \"order\": {\"x\": 4}}",
		"{\"order\": 4, \"order2\": 1, \"mean\": 0.1}",
	};
	return strdup(shapes[i % (sizeof shapes / sizeof shapes[0])]);
}

static char *build(void)
{
	char *dir = new_db(64, 8);
	tsdb_series *s = gen(3, 0, NMETA + NBARE + NODD, 64);
	tsdb_err err;
	for (size_t i = 0; i < NMETA; i++)
		if (tsdb_synth_meta(3, i, &s[i], &err) < 0)
			abort();
	for (size_t i = 0; i < NODD; i++) {
		tsdb_series *x = &s[NMETA + NBARE + i];
		x->meta = odd_meta(i);
		x->meta_len = strlen(x->meta);
	}
	if (insert(dir, s, NMETA + NBARE + NODD, 0) < 0)
		abort();
	gen_free(s, NMETA + NBARE + NODD);
	return dir;
}

/* A random conjunction or disjunction over the course's fields. */
static void random_filter(tsdb_rng *r, char *buf, size_t cap)
{
	static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!="};
	size_t n = 1 + tsdb_rng_below(r, 3), len = 0;
	int any = tsdb_rng_below(r, 3) == 0;
	len += (size_t)snprintf(buf + len, cap - len, any ? "{\"$or\": [" : "{\"$and\": [");
	for (size_t i = 0; i < n; i++) {
		const char *sep = i ? ", " : "";
		switch (tsdb_rng_below(r, 4)) {
		case 0:
			len += (size_t)snprintf(buf + len, cap - len, "%s{\"order\": {\"%s\": %d}}", sep,
						ops[tsdb_rng_below(r, 6)], (int)tsdb_rng_below(r, 11) - 5);
			break;
		case 1:
			len += (size_t)snprintf(buf + len, cap - len, "%s{\"level\": {\"%s\": \"%c\"}}", sep,
						ops[tsdb_rng_below(r, 6)], (char)('A' + tsdb_rng_below(r, 6)));
			break;
		case 2:
			len += (size_t)snprintf(buf + len, cap - len, "%s{\"mean\": {\"%s\": %.3f}}", sep,
						ops[tsdb_rng_below(r, 4)], tsdb_rng_uniform(r));
			break;
		default:
			len += (size_t)snprintf(buf + len, cap - len, "%s{\"$not\": {\"blarg\": %d}}", sep,
						1 + (int)tsdb_rng_below(r, 2));
			break;
		}
	}
	snprintf(buf + len, cap - len, "]}");
}

static tsdb_pred *compile(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	tsdb_pred *p = NULL;
	tsdb_err err;
	if (!j || tsdb_pred_compile(j, &p, &err) < 0) {
		printf("# %s: %s\n", text, j ? err.msg : je.text);
		abort();
	}
	json_decref(j);
	return p;
}

static int filtered_queries, index_plans;

/* REQUIRE for a helper that answers 0 on failure. */
#define MUST(cond)                                                       \
	do {                                                             \
		if (!(cond)) {                                           \
			printf("# %s:%d: %s: %s\n", __FILE__, __LINE__, #cond, err.msg); \
			return 0;                                        \
		}                                                        \
	} while (0)

/* One filter: queries by id and by series, k = 1, 5, 20, every plan,
 * and a radius search, against brute force.  0 on a difference. */
static int one_filter(tsdb_db *db, const char *text, tsdb_rng *r, int nq)
{
	tsdb_pred *where = compile(text);
	static const uint32_t ks[] = {1, 5, 20};
	static const enum tsdb_plan plans[] = {TSDB_PLAN_AUTO, TSDB_PLAN_WALK, TSDB_PLAN_SCAN, TSDB_PLAN_INDEX};
	tsdb_hit a[20], b[20];
	tsdb_err err;
	int ok = 1;
	for (int q = 0; q < nq && ok; q++) {
		tsdb_query qu;
		char id[32];
		if (q % 2) {
			snprintf(id, sizeof id, "ts-%06u", (unsigned)tsdb_rng_below(r, NMETA + NBARE + NODD));
			MUST(tsdb_query_from_id(db, id, strlen(id), &qu, &err) == 0);
		} else {
			tsdb_series s;
			MUST(tsdb_synth_series(77, (uint64_t)q, 64, &s, &err) == 0);
			MUST(tsdb_query_from_series(db, &s, &qu, &err) == 0);
			tsdb_series_free(&s);
			snprintf(id, sizeof id, "(series %d)", q);
		}
		qu.where = where;
		uint32_t k = ks[q % 3], nb;
		tsdb_search_stats bst;
		MUST(tsdb_search_brute(db, &qu, k, b, &nb, &bst, &err) == 0);
		/* min(k, matches), matches counted by the brute force itself */
		CHECKF(nb == (bst.matched < k ? bst.matched : k), "%s %s k=%u: %u results, %llu match", text,
		       id, k, nb, (unsigned long long)bst.matched);
		for (size_t pi = 0; pi < 4 && ok; pi++) {
			qu.plan = plans[pi];
			uint32_t na;
			tsdb_search_stats st;
			MUST(tsdb_search_knn(db, &qu, k, a, &na, &st, &err) == 0);
			filtered_queries++;
			index_plans += st.plan == TSDB_PLAN_INDEX;
			if (!same_hits(a, na, b, nb)) {
				printf("# %s %s k=%u plan %s: %u results, brute force %u\n", text, id, k,
				       tsdb_plan_name(st.plan), na, nb);
				ok = 0;
			}
		}
		/* within the k-th brute distance: the same first results */
		if (ok && nb) {
			qu.plan = TSDB_PLAN_AUTO;
			double radius = b[nb - 1].distance;
			tsdb_hit *wa, *wb;
			uint32_t nwa, nwb;
			int ta, tb;
			MUST(tsdb_search_within(db, &qu, radius, 100000, &wa, &nwa, &ta, NULL, &err) == 0);
			MUST(tsdb_search_brute_within(db, &qu, radius, 100000, &wb, &nwb, &tb, NULL, &err) == 0);
			filtered_queries++;
			if (!same_hits(wa, nwa, wb, nwb) || nwa < nb) {
				printf("# %s %s within %.17g: %u results, brute force %u\n", text, id, radius, nwa, nwb);
				ok = 0;
			}
			free(wa);
			free(wb);
		}
		tsdb_query_free(&qu);
	}
	tsdb_pred_free(where);
	return ok;
}

static const char *const indexed[] = {"order", "level", "mean", "vp", "blarg"};
#define NINDEXED (sizeof indexed / sizeof indexed[0])

static void add_indexes(const char *dir)
{
	size_t lens[NINDEXED];
	for (size_t i = 0; i < NINDEXED; i++)
		lens[i] = strlen(indexed[i]);
	tsdb_err err;
	if (tsdb_index_add(dir, indexed, lens, NINDEXED, NULL, &err) < 0) {
		printf("# index add: %s\n", err.msg);
		abort();
	}
}

static void filtered_search_exact(int with_indexes)
{
	char *dir = build();
	if (with_indexes)
		add_indexes(dir);
	tsdb_db db;
	tsdb_err err;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	tsdb_rng r;
	tsdb_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		CHECKF(one_filter(&db, fixed[i], &r, 12), "filter %s", fixed[i]);
	char text[512];
	for (int i = 0; i < 60; i++) {
		random_filter(&r, text, sizeof text);
		CHECKF(one_filter(&db, text, &r, 6), "filter %s", text);
	}
	printf("# %d filtered searches compared with brute force, %d by the index plan\n", filtered_queries,
	       index_plans);
	if (with_indexes)
		CHECK(index_plans > 0);
	else
		CHECK(index_plans == 0);
	filtered_queries = index_plans = 0;
	tsdb_db_close(&db);
	test_rmtree(dir);
}

static void test_filtered_search_exact(void)
{
	filtered_search_exact(0);
}

static void test_filtered_search_indexed(void)
{
	filtered_search_exact(1);
}

/* select on an indexed database: the very payload of the same select
 * without indexes, for fixed and random filters, sorted or not, paged. */
static void test_select_indexed(void)
{
	char *plain = build(), *dir = build();
	add_indexes(dir);
	tsdb_db a, b;
	tsdb_err err;
	REQUIRE(tsdb_db_open(&a, plain, &err) == 0);
	REQUIRE(tsdb_db_open(&b, dir, &err) == 0);
	CHECK(a.nmidx == 0 && b.nmidx == NINDEXED && a.format == 3 && b.format == 3);
	tsdb_rng r;
	tsdb_rng_seed(&r, 5);
	json_t *fields = json_pack("[ss]", "order", "mean");
	int compared = 0, differ = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0] + 40; i++) {
		char text[512];
		if (i < sizeof fixed / sizeof fixed[0])
			snprintf(text, sizeof text, "%s", fixed[i]);
		else
			random_filter(&r, text, sizeof text);
		tsdb_pred *where = compile(text);
		for (int v = 0; v < 3; v++) {
			tsdb_select_spec spec = {.where = where, .limit = v == 2 ? 7 : 100000, .offset = v == 2 ? 3 : 0};
			if (v) {
				spec.fields = fields;
				spec.sort_field = v == 1 ? "mean" : "order";
				spec.sort_len = strlen(spec.sort_field);
				spec.sort_desc = v == 2;
			}
			json_t *pa = tsdb_select_run(&a, &spec, &err), *pb = tsdb_select_run(&b, &spec, &err);
			REQUIRE(pa && pb);
			compared++;
			if (!json_equal(pa, pb)) {
				printf("# select %s (variant %d) differs with indexes\n", text, v);
				differ++;
			}
			json_decref(pa);
			json_decref(pb);
		}
		tsdb_pred_free(where);
	}
	CHECKF(differ == 0, "%d of %d selects differ", differ, compared);
	printf("# %d selects compared with and without indexes\n", compared);
	json_decref(fields);
	tsdb_db_close(&a);
	tsdb_db_close(&b);
	test_rmtree(plain);
	test_rmtree(dir);
}

/* select against a direct evaluation: count, id order, and a sort. */
static void test_select(void)
{
	char *dir = build();
	tsdb_db db;
	tsdb_err err;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	tsdb_pred *where = compile("{\"level\": \"C\", \"order\": {\">=\": 3}}");
	tsdb_select_spec spec = {.where = where, .limit = 100000};
	json_t *p = tsdb_select_run(&db, &spec, &err);
	REQUIRE(p != NULL);
	/* the direct evaluation: every series' metadata parsed and tested */
	json_int_t expect = 0;
	for (size_t i = 0; i < NMETA + NBARE + NODD; i++) {
		char id[32];
		snprintf(id, sizeof id, "ts-%06zu", i);
		tsdb_rec rec;
		REQUIRE(tsdb_db_find(&db, id, strlen(id), &rec, &err) == 0);
		json_t *m = rec.meta ? json_loadb(rec.meta, rec.meta_len, 0, NULL) : NULL;
		json_t *lv = json_object_get(m, "level"), *o = json_object_get(m, "order");
		expect += json_is_string(lv) && !strcmp(json_string_value(lv), "C") && json_is_number(o) &&
			  json_number_value(o) >= 3;
		json_decref(m);
	}
	CHECKF(json_integer_value(json_object_get(p, "count")) == expect, "count %lld, expected %lld",
	       (long long)json_integer_value(json_object_get(p, "count")), (long long)expect);
	json_t *res = json_object_get(p, "results");
	CHECK((json_int_t)json_array_size(res) == expect);
	for (size_t i = 1; i < json_array_size(res); i++)
		CHECK(strcmp(json_string_value(json_object_get(json_array_get(res, i - 1), "id")),
			     json_string_value(json_object_get(json_array_get(res, i), "id"))) < 0);
	json_decref(p);

	/* sorted by -mean, a page of 7 after 5: means descending, ties by id */
	json_t *fields = json_pack("[s]", "mean");
	tsdb_select_spec sorted = {.where = where, .fields = fields, .sort_field = "mean", .sort_len = 4,
				   .sort_desc = 1, .offset = 5, .limit = 7};
	p = tsdb_select_run(&db, &sorted, &err);
	REQUIRE(p != NULL);
	res = json_object_get(p, "results");
	CHECK(json_array_size(res) == (expect - 5 < 7 ? (size_t)(expect - 5) : 7));
	CHECK(json_is_true(json_object_get(p, "more")) == (expect > 12));
	for (size_t i = 1; i < json_array_size(res); i++) {
		double m0 = json_real_value(json_object_get(json_object_get(json_array_get(res, i - 1), "meta"), "mean"));
		double m1 = json_real_value(json_object_get(json_object_get(json_array_get(res, i), "meta"), "mean"));
		CHECKF(m0 >= m1, "mean %.17g before %.17g", m0, m1);
	}
	json_decref(p);
	json_decref(fields);

	/* series without the sort field come last in both directions */
	json_t *all = json_array();
	tsdb_select_spec last = {.fields = all, .sort_field = "order", .sort_len = 5, .limit = 100000};
	for (int desc = 0; desc < 2; desc++) {
		last.sort_desc = desc;
		p = tsdb_select_run(&db, &last, &err);
		REQUIRE(p != NULL);
		res = json_object_get(p, "results");
		CHECK(json_array_size(res) == NMETA + NBARE + NODD);
		const json_t *tail = json_object_get(json_object_get(json_array_get(res, json_array_size(res) - 1), "meta"),
						     "order");
		CHECKF(!json_is_number(tail) && !json_is_string(tail) && !json_is_boolean(tail),
		       "desc=%d: the last series has an order", desc);
		json_decref(p);
	}
	json_decref(all);
	tsdb_pred_free(where);
	tsdb_db_close(&db);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_filtered_search_exact);
	RUN(test_filtered_search_indexed);
	RUN(test_select);
	RUN(test_select_indexed);
	return tap_done();
}
