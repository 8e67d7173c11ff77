/*
 * test_writer.c - the writer: a batch lands whole or not at all (a bad
 * series, a stored id, an id twice, a missing id to remove: the file's
 * bytes are unchanged), the failing series is named as data (where.item,
 * where.id) so callers never parse messages, unchanged re-inserts are
 * accepted when asked, and compaction and reindex change no answer.
 */
#include "dbformat.h"
#include "dbutil.h"

static void test_all_or_nothing(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_series *s = gen(9, 0, 10, 40);
	REQUIRE(insert(dir, s, 5, 0) == 0);
	char *path = test_path(dir, TSDB_DATA_FILE);
	size_t l0 = 0, l1 = 0;
	unsigned char *before = test_slurp(path, &l0);
	/* One constant series in the batch: nothing lands. */
	for (size_t i = 0; i < s[7].n; i++)
		s[7].v[i] = 3.0;
	CHECK(tsdb_insert(dir, s + 5, 5, NULL, NULL, &err) < 0 && err.code == TSDB_E_INVALID_SERIES);
	CHECK(strstr(err.msg, s[7].id) != NULL);
	/* A duplicate of a stored id: nothing lands. */
	tsdb_series dup[2] = {s[8], s[0]};
	CHECK(tsdb_insert(dir, dup, 2, NULL, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	/* The same id twice in a batch. */
	tsdb_series twice[2] = {s[8], s[8]};
	CHECK(tsdb_insert(dir, twice, 2, NULL, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	/* Removing a missing id with a present one: nothing happens. */
	const char *ids[2] = {s[0].id, "nope"};
	size_t lens[2] = {s[0].id_len, 4};
	CHECK(tsdb_remove(dir, ids, lens, 2, NULL, &err) < 0 && err.code == TSDB_E_INVALID_KEY);
	unsigned char *after = test_slurp(path, &l1);
	CHECK(l0 == l1 && memcmp(before, after, l0) == 0);
	/* Unchanged re-insert is accepted with unchanged_ok and changes nothing. */
	tsdb_insert_opts o = {.unchanged_ok = 1};
	tsdb_insert_result r;
	CHECK(tsdb_insert(dir, s, 2, &o, &r, &err) == 0 && r.unchanged == 2 && r.inserted == 0);
	free(after);
	after = test_slurp(path, &l1);
	CHECK(l0 == l1 && memcmp(before, after, l0) == 0);
	CHECK(check_ok(dir));
	free(before);
	free(after);
	free(path);
	gen_free(s, 10);
	test_rmtree(dir);
}

/* Compaction and reindex change no answer. */
static void test_compact_reindex(void)
{
	char *dir = new_db(64, 8);
	tsdb_err err;
	tsdb_series *s = gen(4, 0, 400, 64);
	for (int b = 0; b < 4; b++)
		REQUIRE(insert(dir, s + 100 * b, 100, 0) == 0);
	REQUIRE(insert(dir, s, 50, 1) == 0);
	uint64_t bb, ba;
	REQUIRE(tsdb_compact(dir, &bb, &ba, &err) == 0);
	CHECK(ba < bb);
	CHECK(check_ok(dir));
	CHECK(differential(dir, 8, 30, NULL));
	REQUIRE(tsdb_reindex(dir, 12, 99, 1, &err) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nchosen == 12 && db.params.seed == 99 && db.nseries == 400);
	tsdb_db_close(&db);
	CHECK(check_ok(dir));
	CHECK(differential(dir, 8, 30, NULL));
	gen_free(s, 400);
	test_rmtree(dir);
}

/* Each kind of bad batch names its culprit by index and id. */
static void test_failing_series_named(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_series *s = gen(12, 0, 12, 40);
	REQUIRE(insert(dir, s, 4, 0) == 0);
	char *path = test_path(dir, TSDB_DATA_FILE);
	size_t l0 = 0, l1 = 0;
	unsigned char *before = test_slurp(path, &l0);
	REQUIRE(before);

	/* An already-stored id at index 3 of the batch. */
	tsdb_series b1[5] = {s[4], s[5], s[6], s[2], s[7]};
	CHECK(tsdb_insert(dir, b1, 5, NULL, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	CHECKF(err.where.item == 3 && !strcmp(err.where.id, s[2].id), "item %zu id '%s'", err.where.item,
	       err.where.id);

	/* The same id at indexes 1 and 4: either names it. */
	tsdb_series b2[5] = {s[4], s[8], s[5], s[6], s[8]};
	CHECK(tsdb_insert(dir, b2, 5, NULL, NULL, &err) < 0 && err.code == TSDB_E_DUPLICATE);
	CHECKF((err.where.item == 1 || err.where.item == 4) && !strcmp(err.where.id, s[8].id), "item %zu",
	       err.where.item);

	/* A series whose values are not finite, at index 2. */
	tsdb_series b3[4] = {s[4], s[5], s[9], s[6]};
	double saved = s[9].v[3];
	s[9].v[3] = NAN;
	b3[2].v = s[9].v;
	CHECK(tsdb_insert(dir, b3, 4, NULL, NULL, &err) < 0 && err.code == TSDB_E_INVALID_SERIES);
	CHECKF(err.where.item == 2 && !strcmp(err.where.id, s[9].id), "item %zu id '%s': %s", err.where.item,
	       err.where.id, err.msg);
	s[9].v[3] = saved;

	/* An invalid id (empty) at index 1. */
	tsdb_series b4[3] = {s[4], s[10], s[5]};
	b4[1].id_len = 0;
	b4[1].id[0] = 0;
	CHECK(tsdb_insert(dir, b4, 3, NULL, NULL, &err) < 0);
	CHECKF(err.where.item == 1, "item %zu: %s", err.where.item, err.msg);

	/* Nothing landed: the file is the bytes it was. */
	unsigned char *after = test_slurp(path, &l1);
	REQUIRE(after);
	CHECK(l0 == l1 && memcmp(before, after, l0) == 0);
	/* And the same series, good, still go in. */
	CHECK(insert(dir, s + 4, 6, 0) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(db.nseries == 10);
	tsdb_db_close(&db);
	free(before);
	free(after);
	free(path);
	gen_free(s, 12);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_all_or_nothing);
	RUN(test_failing_series_named);
	RUN(test_compact_reindex);
	FIGURE("differential-queries", "%d", differential_queries);
	return tap_done();
}
