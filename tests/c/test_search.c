/*
 * test_search.c - the index search is exact: the same k nearest as brute
 * force (differential over thousands of queries, through inserts before and
 * after the vantage points are chosen, removals and replaces, at two
 * kernel multipliers), and a stored series' own points find it at 0.
 * At scale too: 20,000 series in batches (200,000 with TSDB_FULL=1), where
 * the vantage points come from incremental selection and the walk takes
 * the sparsest index, with automatic compactions on the way.
 */
#include "dbutil.h"

static void exact_search(double mult, uint32_t L, size_t n)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = L, .mult = mult, .nvp = 20, .seed = 5};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
	tsdb_series *s = gen(1, 0, n, 100);
	/* Small batches before the vantage points exist, then large ones. */
	REQUIRE(insert(dir, s, 7, 0) == 0);
	CHECK(differential(dir, 11, 12, NULL));
	REQUIRE(insert(dir, s + 7, 13, 0) == 0); /* reaches 20: chooses */
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nchosen == 20 && db.nseries == 20);
	tsdb_db_close(&db);
	REQUIRE(insert(dir, s + 20, n - 20, 0) == 0);
	CHECK(check_ok(dir));
	double frac;
	CHECK(differential(dir, 2, 600, &frac));
	printf("# mult %g: true distances for %.1f%% of the series per query\n", mult, 100 * frac);
	/* Remove a third (including some vantage point sources), re-insert some. */
	const char **ids = malloc(n * sizeof *ids);
	size_t *lens = malloc(n * sizeof *lens), nr = 0;
	for (size_t i = 0; i < n; i += 3) {
		ids[nr] = s[i].id;
		lens[nr++] = s[i].id_len;
	}
	REQUIRE(tsdb_remove(dir, ids, lens, nr, NULL, &err) == 0);
	CHECK(check_ok(dir));
	CHECK(differential(dir, 3, 300, NULL));
	REQUIRE(insert(dir, s, n / 2, 1) == 0); /* replace half, re-adding removed */
	CHECK(check_ok(dir));
	CHECK(differential(dir, 4, 300, NULL));
	free(ids);
	free(lens);
	gen_free(s, n);
	test_rmtree(dir);
}

static void test_exact_mult1(void) { exact_search(1, 100, 2000); }

static void test_exact_at_scale(void)
{
	const char *full = getenv("TSDB_FULL");
	size_t n = full && strcmp(full, "1") == 0 ? 200000 : 20000, batch = n / 10;
	char *dir = new_db(100, 20);
	for (size_t b = 0; b < n; b += batch) {
		tsdb_series *s = gen(12, b, b + batch, 100);
		REQUIRE(insert(dir, s, batch, 0) == 0);
		gen_free(s, batch);
	}
	double frac;
	CHECK(differential(dir, 21, 200, &frac));
	printf("# %zu series: true distances for %.2f%% of the series per query\n", n, 100 * frac);
	CHECK(check_ok(dir));
	test_rmtree(dir);
}
static void test_exact_mult10(void) { exact_search(10, 64, 2000); }

/* A query with a stored series' own points finds it at distance exactly 0,
 * whichever way readers evaluate the kernel at that grid length. */
static void test_self_query_zero(void)
{
	static const uint32_t Ls[] = {64, 256};
	for (int li = 0; li < 2; li++) {
		char *dir = test_tmpdir();
		tsdb_err err;
		tsdb_params p = {.L = Ls[li], .mult = 1, .nvp = 4, .seed = 1};
		REQUIRE(tsdb_init(dir, &p, &err) == 0);
		tsdb_series *s = gen(6, 0, 30, 90);
		REQUIRE(insert(dir, s, 30, 0) == 0);
		tsdb_db db;
		REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
		tsdb_query q;
		REQUIRE(tsdb_query_from_series(&db, &s[17], &q, &err) == 0);
		tsdb_hit h[2];
		uint32_t nh;
		REQUIRE(tsdb_search_knn(&db, &q, 2, h, &nh, NULL, &err) == 0);
		CHECKF(nh == 2 && h[0].distance == 0.0 && h[0].id_len == s[17].id_len &&
			       !memcmp(h[0].id, s[17].id, h[0].id_len) && h[1].distance > 0,
		       "L=%u: nearest %.*s at %.17g", Ls[li], (int)h[0].id_len, h[0].id, h[0].distance);
		tsdb_query_free(&q);
		tsdb_db_close(&db);
		gen_free(s, 30);
		test_rmtree(dir);
	}
}

int main(void)
{
	RUN(test_self_query_zero);
	RUN(test_exact_mult1);
	RUN(test_exact_mult10);
	RUN(test_exact_at_scale);
	FIGURE("differential-queries", "%d", differential_queries);
	return tap_done();
}
