/*
 * test_writer.c - the writer: a batch lands whole or not at all (a bad
 * series, a stored id, an id twice, a missing id to remove: the file's
 * bytes are unchanged), the failing series is named as data (where.item,
 * where.id) so callers never parse messages, unchanged re-inserts are
 * accepted when asked, and compaction and reindex change no answer.
 * The dead bytes each commit counts are what compaction then frees, to
 * the byte, after every kind of change; the writer compacts by itself
 * when they pass their share (and never with no_compact), transaction
 * ids go on across a compaction, and a reader opened before it keeps
 * its snapshot.
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

/* size - dead of the newest commit against the size compaction gives. */
static int dead_bytes_exact(const char *dir, const char *step)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0)
		return 0;
	uint64_t size = db.snap.size, dead = db.dead_bytes, txn = db.snap.meta.txn;
	tsdb_db_close(&db);
	char *copy = test_tmpdir();
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s/%s' '%s/'", dir, TSDB_DATA_FILE, dir, TSDB_LOCK_FILE, copy);
	uint64_t before = 0, after = 0;
	int ok = system(cmd) == 0 && tsdb_compact(copy, &before, &after, &err) == 0;
	if (ok && tsdb_db_open(&db, copy, &err) == 0) {
		ok = db.snap.meta.txn == txn + 1 && db.dead_bytes == 0;
		tsdb_db_close(&db);
	}
	/* The catalog and params records sit at other 8-byte boundaries in the
	 * compacted file: a few bytes of alignment either way. */
	int64_t diff = (int64_t)(size - dead) - (int64_t)after;
	printf("# %s: %llu bytes, %llu dead; compacted %llu (%+lld)\n", step, (unsigned long long)size,
	       (unsigned long long)dead, (unsigned long long)after, (long long)diff);
	test_rmtree(copy);
	return ok && before == size && diff >= -64 && diff <= 64;
}

static void test_dead_bytes(void)
{
	char *dir = new_db(64, 8);
	tsdb_err err;
	tsdb_series *s = gen(5, 0, 600, 64);
	for (size_t i = 0; i < 600; i++)
		REQUIRE(tsdb_synth_meta(5, i, &s[i], &err) == 0);
	tsdb_insert_opts keep = {.no_compact = 1}, replace = {.no_compact = 1, .replace = 1};
	REQUIRE(tsdb_insert(dir, s, 5, &keep, NULL, &err) == 0); /* before the vantage points */
	CHECK(dead_bytes_exact(dir, "a batch without vantage points"));
	REQUIRE(tsdb_insert(dir, s + 5, 195, &keep, NULL, &err) == 0); /* chooses them: restamps */
	CHECK(dead_bytes_exact(dir, "a batch choosing vantage points"));
	for (int b = 1; b < 3; b++)
		REQUIRE(tsdb_insert(dir, s + 200 * b, 200, &keep, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "two more batches"));
	REQUIRE(tsdb_insert(dir, s + 100, 150, &replace, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "replace"));
	const char *ids[3] = {s[1].id, s[300].id, s[599].id};
	size_t lens[3] = {s[1].id_len, s[300].id_len, s[599].id_len};
	REQUIRE(tsdb_remove(dir, ids, lens, 3, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "remove"));
	const char *f[2] = {"order", "level"};
	size_t fl[2] = {5, 5};
	REQUIRE(tsdb_index_add(dir, f, fl, 2, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "index add"));
	REQUIRE(tsdb_insert(dir, s + 100, 50, &replace, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "replace with indexes"));
	REQUIRE(tsdb_index_drop(dir, "order", 5, NULL, &err) == 0);
	CHECK(dead_bytes_exact(dir, "index drop"));
	REQUIRE(tsdb_reindex(dir, 6, 3, 1, &err) == 0);
	CHECK(dead_bytes_exact(dir, "reindex"));
	gen_free(s, 600);
	test_rmtree(dir);
}

static void test_auto_compaction(void)
{
	char *dir = new_db(64, 8);
	tsdb_err err;
	tsdb_db reader;
	int compactions = 0;
	uint64_t last_txn = 0, opened_txn = 0;
	for (int b = 0; b < 60; b++) {
		tsdb_series *s = gen(6, (size_t)b * 50, (size_t)b * 50 + 50, 64);
		tsdb_insert_result r;
		REQUIRE(tsdb_insert(dir, s, 50, NULL, &r, &err) == 0);
		gen_free(s, 50);
		CHECK(!r.compact_failed);
		compactions += r.compacted;
		if (r.compacted)
			CHECK(r.bytes_after < r.bytes_before);
		tsdb_db db;
		REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
		/* never left past the threshold, and ids only grow */
		CHECKF(!tsdb_compact_due(&db), "batch %d: %llu of %llu bytes dead", b,
		       (unsigned long long)db.dead_bytes, (unsigned long long)db.snap.size);
		if (r.compacted)
			printf("# batch %d: compacted, %llu -> %llu bytes\n", b, (unsigned long long)r.bytes_before,
			       (unsigned long long)r.bytes_after);
		CHECK(db.snap.meta.txn > last_txn);
		last_txn = db.snap.meta.txn;
		tsdb_db_close(&db);
		if (b == 19) { /* a reader that lives through the compactions to come */
			REQUIRE(tsdb_db_open(&reader, dir, &err) == 0);
			opened_txn = reader.snap.meta.txn;
		}
	}
	CHECKF(compactions >= 2, "%d compactions", compactions);
	CHECK(reader.nseries == 1000 && reader.snap.meta.txn == opened_txn);
	CHECK(differential_snapshot(&reader, 5, 10, NULL));
	tsdb_db_close(&reader);
	CHECK(check_ok(dir));
	CHECK(differential(dir, 8, 20, NULL));
	/* no_compact: the dead bytes pile up */
	tsdb_insert_opts o = {.no_compact = 1, .replace = 1};
	tsdb_series *s = gen(7, 0, 4000, 64);
	for (int b = 0; b < 3; b++)
		REQUIRE(tsdb_insert(dir, s, 4000, &o, NULL, &err) == 0);
	gen_free(s, 4000);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	CHECK(tsdb_compact_due(&db));
	tsdb_db_close(&db);
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
	RUN(test_dead_bytes);
	RUN(test_auto_compaction);
	FIGURE("differential-queries", "%d", differential_queries);
	return tap_done();
}
