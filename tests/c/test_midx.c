/*
 * test_midx.c - metadata indexes stay exactly the keys the stored
 * series give, through every writer operation: insert (before and after
 * the vantage points are chosen), replace, remove, reindex, compact,
 * index add on a populated database and index drop; `tsdb check`
 * verifies that after each step.  At each step filtered searches through
 * the index plan equal brute force and select equals a direct
 * evaluation, on values that stress the keys: integers that round to the
 * same double, -0 and 0, strings longer than a key holds that differ
 * only past the cut, booleans, and values of other types.  Refusals
 * (duplicate, too many, bad names, unknown field) change nothing.
 */
#include "dbutil.h"

#include "dbformat.h"
#include "path.h"
#include "select.h"

#define N 400
#define LONG_PREFIX 250

static char long_a[LONG_PREFIX + 2], long_b[LONG_PREFIX + 2];

/* Metadata of series i, generation g (replacements change it). */
static char *meta_of(size_t i, unsigned g, tsdb_rng *r)
{
	char p[64], s[LONG_PREFIX + 16], b[16];
	switch (tsdb_rng_below(r, 8)) {
	case 0: snprintf(p, sizeof p, "\"p\": 9007199254740993, "); break;
	case 1: snprintf(p, sizeof p, "\"p\": 9007199254740992, "); break;
	case 2: snprintf(p, sizeof p, "\"p\": -0.0, "); break;
	case 3: snprintf(p, sizeof p, "\"p\": \"%u\", ", (unsigned)(i % 3)); break;
	case 4: p[0] = '\0'; break;
	case 5: snprintf(p, sizeof p, "\"p\": null, "); break;
	default: snprintf(p, sizeof p, "\"p\": %d.%u, ", (int)tsdb_rng_below(r, 21) - 10, g); break;
	}
	switch (tsdb_rng_below(r, 6)) {
	case 0: snprintf(s, sizeof s, "\"s\": \"%s\", ", long_a); break;
	case 1: snprintf(s, sizeof s, "\"s\": \"%s\", ", long_b); break;
	case 2: snprintf(s, sizeof s, "\"s\": [\"A\"], "); break;
	case 3: snprintf(s, sizeof s, "\"s\": 3, "); break;
	default: snprintf(s, sizeof s, "\"s\": \"%c\", ", (char)('A' + tsdb_rng_below(r, 5))); break;
	}
	int bv = (int)tsdb_rng_below(r, 3);
	snprintf(b, sizeof b, "\"b\": %s", bv == 0 ? "true" : bv == 1 ? "false" : "1");
	char *out = malloc(strlen(p) + strlen(s) + strlen(b) + 32);
	sprintf(out, "{%s%s%s, \"q\": %u}", p, s, b, (unsigned)(i % 7));
	return out;
}

static tsdb_series *batch(size_t from, size_t to, unsigned g, tsdb_rng *r)
{
	tsdb_series *s = gen(9, from, to, 32);
	for (size_t i = from; i < to; i++) {
		tsdb_series *x = &s[i - from];
		free(x->meta);
		x->meta = meta_of(i, g, r);
		x->meta_len = strlen(x->meta);
	}
	return s;
}

static const char *const filters[] = {
	"{\"p\": 9007199254740993}",
	"{\"p\": 9007199254740992}",
	"{\"p\": 0}",
	"{\"p\": {\">=\": -2, \"<\": 3.5}}",
	"{\"p\": {\"in\": [-3.1, 4.2, \"1\", 0]}}",
	"{\"s\": \"" /* long_a, filled in at run time */ "LONG_A\"}",
	"{\"s\": {\">\": \"B\", \"<=\": \"D\"}}",
	"{\"s\": {\"<\": \"B\"}}",
	"{\"b\": false}",
	"{\"b\": true, \"p\": {\">\": 5}}",
	"{\"$or\": [{\"p\": {\"<\": -8}}, {\"p\": {\">\": 8}}]}",
	"{\"$and\": [{\"s\": \"C\"}, {\"s\": \"D\"}]}",
	"{\"q\": 3, \"s\": \"A\"}",
	"{\"q\": {\"in\": [1, 2]}, \"b\": {\"!=\": true}}",
};
#define NFILTERS (sizeof filters / sizeof filters[0])

static tsdb_pred *compile_filter(size_t f)
{
	char text[600];
	const char *t = filters[f];
	const char *hole = strstr(t, "LONG_A");
	if (hole)
		snprintf(text, sizeof text, "%.*s%s%s", (int)(hole - t), t, long_a, hole + 6);
	else
		snprintf(text, sizeof text, "%s", t);
	json_t *j = json_loads(text, 0, NULL);
	tsdb_pred *p = NULL;
	tsdb_err err;
	if (!j || tsdb_pred_compile(j, &p, &err) < 0)
		abort();
	json_decref(j);
	return p;
}

/* Every filter: k = 7 by index plan (forced) and auto against brute
 * force, from a stored id; select's count against a direct evaluation.
 * Returns the number of index plans that ran. */
static int midx_differential(const char *dir, const char *step)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0) {
		printf("# %s: open: %s\n", step, err.msg);
		return -1;
	}
	int index_plans = 0, bad = 0;
	for (size_t f = 0; f < NFILTERS && !bad; f++) {
		tsdb_pred *where = compile_filter(f);
		tsdb_query q;
		tsdb_series qs;
		if (tsdb_synth_series(10, f, 32, &qs, &err) < 0 || tsdb_query_from_series(&db, &qs, &q, &err) < 0)
			abort();
		tsdb_series_free(&qs);
		q.where = where;
		tsdb_hit a[7], b[7];
		uint32_t na, nb;
		tsdb_search_stats st;
		if (tsdb_search_brute(&db, &q, 7, b, &nb, NULL, &err) < 0)
			abort();
		for (int forced = 0; forced < 2 && !bad; forced++) {
			q.plan = forced ? TSDB_PLAN_INDEX : TSDB_PLAN_AUTO;
			if (tsdb_search_knn(&db, &q, 7, a, &na, &st, &err) < 0)
				abort();
			index_plans += st.plan == TSDB_PLAN_INDEX;
			if (!same_hits(a, na, b, nb)) {
				printf("# %s: filter %zu plan %s: %u results, brute %u\n", step, f,
				       tsdb_plan_name(st.plan), na, nb);
				bad = 1;
			}
		}
		tsdb_query_free(&q);
		tsdb_select_spec spec = {.where = where, .limit = 100000};
		json_t *p = tsdb_select_run(&db, &spec, &err);
		json_int_t expect = 0;
		rbt_cursor c;
		rbt_cursor_init(&c, &db.snap, &rbt_key_bytes, db.ids);
		for (int r = rbt_first(&c, &err); r == 1; r = rbt_next(&c, &err)) {
			tsdb_rec rec;
			if (tsdb_rec_read(&db, c.node.value, 0, &rec, &err) < 0)
				abort();
			json_t *m = rec.meta ? json_loadb(rec.meta, rec.meta_len, TSDB_PRED_META_JSON_FLAGS, NULL) : NULL;
			expect += tsdb_pred_match_json(where, m);
			json_decref(m);
		}
		if (!p || json_integer_value(json_object_get(p, "count")) != expect) {
			printf("# %s: filter %zu: select counts %lld, expected %lld\n", step, f,
			       p ? (long long)json_integer_value(json_object_get(p, "count")) : -1LL, (long long)expect);
			bad = 1;
		}
		json_decref(p);
		tsdb_pred_free(where);
	}
	tsdb_db_close(&db);
	return bad ? -1 : index_plans;
}

#define STEP(name)                                                                  \
	do {                                                                        \
		int ip = midx_differential(dir, name);                                   \
		CHECKF(check_ok(dir), "%s: check", name);                           \
		CHECKF(ip >= 0, "%s: differential", name);                          \
		printf("# %s: %d index plans\n", name, ip);                         \
	} while (0)

static void test_maintained(void)
{
	memset(long_a, 'a', LONG_PREFIX);
	memcpy(long_b, long_a, LONG_PREFIX);
	long_a[LONG_PREFIX] = 'x';
	long_b[LONG_PREFIX] = 'y';
	tsdb_rng r;
	tsdb_rng_seed(&r, 3);
	char *dir = test_tmpdir();
	tsdb_params pa = {.L = 32, .mult = 1, .nvp = 8, .seed = 1};
	const char *fields[] = {"p", "s", "b"};
	size_t lens[] = {1, 1, 1};
	tsdb_err err;
	REQUIRE(tsdb_init_indexed(dir, &pa, fields, lens, 3, &err) == 0);
	STEP("empty");

	tsdb_series *s = batch(0, 5, 0, &r); /* fewer than the vantage points */
	REQUIRE(insert(dir, s, 5, 0) == 0);
	gen_free(s, 5);
	STEP("insert before vantage points");

	s = batch(5, N, 0, &r); /* chooses them: every record rewritten */
	REQUIRE(insert(dir, s, N - 5, 0) == 0);
	gen_free(s, N - 5);
	STEP("insert choosing vantage points");

	s = batch(0, N / 4, 1, &r);
	REQUIRE(insert(dir, s, N / 4, 1) == 0);
	gen_free(s, N / 4);
	STEP("replace");

	char *ids[N / 8];
	size_t idl[N / 8];
	for (size_t i = 0; i < N / 8; i++) {
		ids[i] = malloc(16);
		snprintf(ids[i], 16, "ts-%06zu", 3 * i + 5);
		idl[i] = strlen(ids[i]);
	}
	REQUIRE(tsdb_remove(dir, (const char *const *)ids, idl, N / 8, NULL, &err) == 0);
	for (size_t i = 0; i < N / 8; i++)
		free(ids[i]);
	STEP("remove");

	REQUIRE(tsdb_reindex(dir, 6, 4, 1, &err) == 0);
	STEP("reindex");

	const char *q[] = {"q"};
	size_t ql[] = {1};
	REQUIRE(tsdb_index_add(dir, q, ql, 1, NULL, &err) == 0);
	STEP("index add");

	REQUIRE(tsdb_compact(dir, NULL, NULL, &err) == 0);
	STEP("compact");

	REQUIRE(tsdb_index_drop(dir, "s", 1, NULL, &err) == 0);
	STEP("index drop");

	s = batch(N, N + 50, 2, &r);
	REQUIRE(insert(dir, s, 50, 0) == 0);
	gen_free(s, 50);
	STEP("insert after all that");

	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nmidx == 3 && db.format == 3);
	CHECK(tsdb_db_midx(&db, "p", 1) && tsdb_db_midx(&db, "q", 1) && tsdb_db_midx(&db, "b", 1));
	CHECK(!tsdb_db_midx(&db, "s", 1));
	/* every series has a q, so its index counts them all */
	CHECK(tsdb_db_midx(&db, "q", 1)->root.count == db.nseries);
	tsdb_db_close(&db);
	test_rmtree(dir);
}

static uint64_t txn_of(const char *dir)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0)
		abort();
	uint64_t t = db.snap.meta.txn;
	tsdb_db_close(&db);
	return t;
}

static void test_refusals(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.format == 3 && db.nmidx == 0 && db.midx_off == 0);
	tsdb_db_close(&db);
	const char *one[] = {"level"};
	size_t one_len[] = {5};
	REQUIRE(tsdb_index_add(dir, one, one_len, 1, NULL, &err) == 0);
	uint64_t t = txn_of(dir);
	CHECK(tsdb_index_add(dir, one, one_len, 1, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	const char *twice[] = {"x", "x"};
	size_t twice_len[] = {1, 1};
	CHECK(tsdb_index_add(dir, twice, twice_len, 2, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	const char *empty[] = {""};
	size_t zero[] = {0};
	CHECK(tsdb_index_add(dir, empty, zero, 1, NULL, &err) < 0 && err.code == TSDB_E_INVALID_ARG);
	const char *bad_utf8[] = {"\xff"};
	CHECK(tsdb_index_add(dir, bad_utf8, one_len, 1, NULL, &err) < 0 && err.code == TSDB_E_INVALID_ARG);
	const char *nul[] = {"a\0b"};
	size_t nul_len[] = {3};
	CHECK(tsdb_index_add(dir, nul, nul_len, 1, NULL, &err) < 0 && err.code == TSDB_E_INVALID_ARG);
	char names[TSDB_MIDX_MAX][8];
	const char *many[TSDB_MIDX_MAX];
	size_t many_len[TSDB_MIDX_MAX];
	for (unsigned i = 0; i < TSDB_MIDX_MAX; i++) {
		snprintf(names[i], sizeof names[i], "f%u", i);
		many[i] = names[i];
		many_len[i] = strlen(names[i]);
	}
	CHECK(tsdb_index_add(dir, many, many_len, TSDB_MIDX_MAX, NULL, &err) < 0 && err.code == TSDB_E_TOO_LARGE);
	CHECK(tsdb_index_drop(dir, "nosuch", 6, NULL, &err) < 0 && err.code == TSDB_E_INVALID_KEY);
	CHECK(txn_of(dir) == t); /* nothing committed by any of them */
	/* 15 more fit exactly */
	CHECK(tsdb_index_add(dir, many, many_len, TSDB_MIDX_MAX - 1, NULL, &err) == 0);
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nmidx == TSDB_MIDX_MAX);
	tsdb_db_close(&db);
	/* dropping every index leaves no catalog */
	CHECK(tsdb_index_drop(dir, "level", 5, NULL, &err) == 0);
	for (unsigned i = 0; i + 1 < TSDB_MIDX_MAX; i++)
		CHECK(tsdb_index_drop(dir, many[i], many_len[i], NULL, &err) == 0);
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nmidx == 0 && db.midx_off == 0);
	tsdb_db_close(&db);
	CHECK(check_ok(dir));
	char *dir2 = test_tmpdir();
	tsdb_params pa = {.L = 32, .mult = 1, .nvp = 4, .seed = 1};
	CHECK(tsdb_init_indexed(dir2, &pa, twice, twice_len, 2, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	tsdb_db db2;
	CHECK(tsdb_db_open(&db2, dir2, &err) < 0); /* no database was made */
	test_rmtree(dir);
	test_rmtree(dir2);
}

/* A commit whose catalog swaps two indexes' roots: every tree intact,
 * but the keys are not those the series give.  check must say so, and a
 * commit whose catalog counts more entries than series must not open. */
static void test_check_finds_swapped_roots(void)
{
	char *dir = test_tmpdir();
	tsdb_params pa = {.L = 32, .mult = 1, .nvp = 4, .seed = 1};
	const char *fields[] = {"order", "level"};
	size_t lens[] = {5, 5};
	tsdb_err err;
	REQUIRE(tsdb_init_indexed(dir, &pa, fields, lens, 2, &err) == 0);
	tsdb_series *s = gen(4, 0, 60, 32);
	for (size_t i = 0; i < 60; i++)
		REQUIRE(tsdb_synth_meta(4, i, &s[i], &err) == 0);
	REQUIRE(insert(dir, s, 60, 0) == 0);
	gen_free(s, 60);
	REQUIRE(check_ok(dir));
	char *path;
	REQUIRE(tsdb_path_join(&path, dir, TSDB_DATA_FILE, &err) == 0);
	for (int variant = 0; variant < 2; variant++) {
		cow_writer w;
		tsdb_db db;
		REQUIRE(cow_writer_open(&w, path, &err) == 0);
		REQUIRE(tsdb_db_attach(&db, &w.snap, path, &err) == 0);
		tsdb_midx ix[2] = {db.midx[0], db.midx[1]};
		if (variant == 0) {
			ix[0].root = db.midx[1].root;
			ix[1].root = db.midx[0].root;
		} else {
			ix[0].root.count = db.nseries + 1;
		}
		uint64_t words[COW_META_WORDS];
		uint32_t nwords = w.snap.meta.nwords;
		memcpy(words, w.snap.meta.words, sizeof words);
		REQUIRE(tsdb_midx_append(&w, ix, 2, &words[nwords - 2], &err) == 0); /* the catalog word (db.h) */
		REQUIRE(cow_commit(&w, words, nwords, &err) == 0);
		tsdb_db_detach(&db);
		cow_writer_close(&w);
		tsdb_db rd;
		tsdb_check_report rep;
		if (variant == 0) {
			REQUIRE(tsdb_db_open(&rd, dir, &err) == 0);
			CHECK(tsdb_check(&rd, 0, &rep, &err) < 0 && err.code == TSDB_E_CORRUPT);
			CHECKF(strstr(err.msg, "metadata index 'order'") != NULL, "%s", err.msg);
			tsdb_db_close(&rd);
		} else {
			CHECK(tsdb_db_open(&rd, dir, &err) < 0 && err.code == TSDB_E_CORRUPT);
			CHECKF(strstr(err.msg, "entries for") != NULL, "%s", err.msg);
		}
	}
	free(path);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_maintained);
	RUN(test_check_finds_swapped_roots);
	RUN(test_refusals);
	return tap_done();
}
