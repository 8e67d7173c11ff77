/*
 * test_payload.c - the JSON payloads the handler sends and `tsdb --json`
 * prints: info's members and their values, ids as strings (one that is not
 * UTF-8 in the file is damage, never a crash or a lossy string), shapes
 * resampled to the asked length, and search answers for k and radius
 * queries with and without shapes.
 */
#include <jansson.h>

#include "dbutil.h"
#include "payload.h"

static json_int_t int_member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_info(void)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 48, .mult = 2, .nvp = 3, .seed = 17};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	json_t *info = tsdb_payload_info(&db, &err);
	REQUIRE(info);
	CHECK(json_object_size(info) == 12);
	CHECK(int_member(info, "length") == 48 && int_member(info, "vantage_points") == 3 &&
	      int_member(info, "seed") == 17 && int_member(info, "series") == 0);
	CHECK(json_real_value(json_object_get(info, "mult")) == 2.0);
	CHECK(json_is_false(json_object_get(info, "vantage_points_chosen")));
	CHECK(json_is_null(json_object_get(info, "last_commit")));
	CHECK(int_member(info, "file_bytes") == (json_int_t)db.snap.file_bytes);
	json_decref(info);
	tsdb_db_close(&db);

	tsdb_series *s = gen(2, 0, 5, 60);
	REQUIRE(insert(dir, s, 5, 0) == 0);
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	info = tsdb_payload_info(&db, &err);
	REQUIRE(info);
	CHECK(int_member(info, "series") == 5 && int_member(info, "txn") == (json_int_t)db.snap.meta.txn);
	CHECK(json_is_true(json_object_get(info, "vantage_points_chosen")));
	const char *when = json_string_value(json_object_get(info, "last_commit"));
	/* RFC 3339, UTC, whole seconds: 2026-12-04T08:00:00Z */
	CHECKF(when && strlen(when) == 20 && when[4] == '-' && when[10] == 'T' && when[19] == 'Z', "%s",
	       when ? when : "(null)");
	json_decref(info);
	tsdb_db_close(&db);
	gen_free(s, 5);
	test_rmtree(dir);
}

static void test_ids(void)
{
	tsdb_err err;
	json_t *id = tsdb_payload_id("caf\xc3\xa9", 5, &err);
	CHECK(id && json_string_length(id) == 5 && !memcmp(json_string_value(id), "caf\xc3\xa9", 5));
	json_decref(id);
	/* Not UTF-8, an overlong encoding, a NUL inside: damage. */
	static const struct { const char *b; size_t n; } bad[] = {
		{"ab\xff", 3}, {"\xc0\xaf", 2}, {"a\0b", 3}, {"\xed\xa0\x80", 3},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = tsdb_payload_id(bad[i].b, bad[i].n, &err);
		CHECKF(!j && err.code == TSDB_E_CORRUPT, "bad id %zu", i);
		json_decref(j);
	}
}

static void test_shape(void)
{
	double grid[16], scratch[5];
	for (int i = 0; i < 16; i++)
		grid[i] = i;
	json_t *a = tsdb_payload_shape(grid, 16, 5, scratch);
	REQUIRE(a);
	CHECK(json_array_size(a) == 5);
	double expect[5];
	tsdb_shape(grid, 16, expect, 5);
	for (size_t i = 0; i < json_array_size(a); i++)
		CHECKF(json_real_value(json_array_get(a, i)) == expect[i], "point %zu", i);
	json_decref(a);
}

static void test_search_answers(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_series *s = gen(7, 0, 30, 50);
	REQUIRE(insert(dir, s, 30, 0) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	tsdb_query q;
	REQUIRE(tsdb_query_from_series(&db, &s[4], &q, &err) == 0);
	tsdb_hit h[3];
	uint32_t nh;
	REQUIRE(tsdb_search_knn(&db, &q, 3, h, &nh, NULL, &err) == 0 && nh == 3);
	double scratch[8];

	tsdb_search_answer a = {.k = 3, .hits = h, .nhits = nh, .stats = {.computed = 11}};
	json_t *j = tsdb_payload_search(&db, &a, scratch, &err);
	REQUIRE(j);
	CHECK(json_object_size(j) == 4 && int_member(j, "k") == 3 && int_member(j, "series") == 30 &&
	      int_member(j, "computed") == 11);
	json_t *r = json_object_get(j, "results");
	CHECK(json_array_size(r) == 3);
	for (size_t i = 0; i < json_array_size(r); i++) {
		json_t *e = json_array_get(r, i);
		CHECK(json_object_size(e) == 2);
		CHECK(json_string_length(json_object_get(e, "id")) == h[i].id_len &&
		      !memcmp(json_string_value(json_object_get(e, "id")), h[i].id, h[i].id_len));
		CHECK(json_real_value(json_object_get(e, "distance")) == h[i].distance);
	}
	CHECK(!strcmp(json_string_value(json_object_get(json_array_get(r, 0), "id")), s[4].id));
	json_decref(j);

	/* Radius form with shapes: radius and truncated instead of k. */
	a = (tsdb_search_answer){.within = 1, .radius = 0.5, .truncated = 1, .hits = h, .nhits = 2,
				 .stats = {.computed = 30}, .shape = 8, .query_grid = q.grid};
	j = tsdb_payload_search(&db, &a, scratch, &err);
	REQUIRE(j);
	CHECK(!json_object_get(j, "k") && json_real_value(json_object_get(j, "radius")) == 0.5);
	CHECK(json_is_true(json_object_get(j, "truncated")));
	CHECK(json_array_size(json_object_get(j, "query_shape")) == 8);
	r = json_object_get(j, "results");
	CHECK(json_array_size(r) == 2);
	CHECK(json_array_size(json_object_get(json_array_get(r, 1), "shape")) == 8);
	json_decref(j);

	tsdb_query_free(&q);
	tsdb_db_close(&db);
	gen_free(s, 30);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_info);
	RUN(test_ids);
	RUN(test_shape);
	RUN(test_search_answers);
	return tap_done();
}
