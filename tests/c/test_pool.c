/*
 * test_pool.c - the worker pool and the writer on it: every item runs
 * exactly once for any number of workers and chunk size; the error
 * reported is the lowest failing chunk's whatever the scheduling; and a
 * database built by inserts on 1, 2 and 7 workers holds the very same
 * bytes (the data area, and every commit word), including a batch that
 * fails on a bad series after others prepared theirs.
 */
#include <stdatomic.h>

#include "dbformat.h"
#include "dbutil.h"
#include "pool.h"

typedef struct count_ctx {
	_Atomic unsigned *hits;
	size_t fail_from;   /* items >= this fail (SIZE_MAX: none) */
} count_ctx;

static int count_chunk(void *arg, unsigned worker, size_t begin, size_t end, tsdb_err *err)
{
	(void)worker;
	count_ctx *cx = arg;
	for (size_t i = begin; i < end; i++) {
		cx->hits[i]++;
		if (i >= cx->fail_from && i % 3 == 0)
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "item %zu failed", i);
	}
	return 0;
}

static void test_every_item_once(void)
{
	enum { N = 10007 };
	_Atomic unsigned *hits = calloc(N, sizeof *hits);
	static const unsigned workers[] = {1, 2, 3, 8, 64};
	static const size_t chunks[] = {1, 7, 64, 20000};
	tsdb_err err;
	int bad = 0;
	for (size_t w = 0; w < 5; w++)
		for (size_t c = 0; c < 4; c++) {
			memset((void *)hits, 0, N * sizeof *hits);
			count_ctx cx = {hits, SIZE_MAX};
			CHECK(tsdb_pool_run(workers[w], N, chunks[c], count_chunk, &cx, &err) == 0);
			for (size_t i = 0; i < N; i++)
				bad += hits[i] != 1;
		}
	CHECKF(bad == 0, "%d items not run exactly once", bad);
	count_ctx none = {hits, SIZE_MAX};
	CHECK(tsdb_pool_run(4, 0, 16, count_chunk, &none, &err) == 0); /* nothing to do */
	free((void *)hits);
}

static void test_lowest_failure(void)
{
	enum { N = 5000 };
	_Atomic unsigned *hits = calloc(N, sizeof *hits);
	tsdb_err err;
	for (int round = 0; round < 50; round++) {
		memset((void *)hits, 0, N * sizeof *hits);
		/* items 1200.. fail every third: the first failure is item 1200 */
		count_ctx cx = {hits, 1200};
		CHECK(tsdb_pool_run(1 + (unsigned)round % 8, N, 1 + (size_t)round * 13, count_chunk, &cx, &err) < 0);
		CHECKF(strcmp(err.msg, "item 1200 failed") == 0, "round %d: %s", round, err.msg);
		int below = 0;
		for (size_t i = 0; i < 1200; i++)
			below += hits[i] != 1;
		CHECKF(below == 0, "round %d: %d items below the failure did not run", round, below);
	}
	free((void *)hits);
}

/* Inserts five batches (vantage points chosen in the second), a batch
 * with a bad series in the middle, and a replacement, on `workers`. */
static char *build(unsigned workers)
{
	char *dir = new_db(48, 6);
	tsdb_err err;
	tsdb_insert_opts o = {.workers = workers};
	for (int b = 0; b < 5; b++) {
		size_t n = b == 0 ? 4 : 300;
		tsdb_series *s = gen(21, (size_t)b * 300, (size_t)b * 300 + n, 48);
		if (tsdb_insert(dir, s, n, &o, NULL, &err) < 0) {
			printf("# insert: %s\n", err.msg);
			abort();
		}
		gen_free(s, n);
	}
	tsdb_series *bad = gen(21, 2000, 2500, 48);
	for (size_t i = 0; i < bad[333].n; i++)
		bad[333].v[i] = 1.0; /* constant: refused */
	if (tsdb_insert(dir, bad, 500, &o, NULL, &err) == 0 || err.where.item != 333)
		abort();
	gen_free(bad, 500);
	tsdb_insert_opts r = {.workers = workers, .replace = 1};
	tsdb_series *again = gen(22, 0, 200, 48);
	if (tsdb_insert(dir, again, 200, &r, NULL, &err) < 0)
		abort();
	gen_free(again, 200);
	return dir;
}

static void test_same_bytes_any_workers(void)
{
	char *dirs[3] = {build(1), build(2), build(7)};
	size_t len[3];
	unsigned char *bytes[3];
	tsdb_db db[3];
	tsdb_err err;
	for (int i = 0; i < 3; i++) {
		char *path = test_path(dirs[i], TSDB_DATA_FILE);
		bytes[i] = test_slurp(path, &len[i]);
		free(path);
		REQUIRE(tsdb_db_open(&db[i], dirs[i], &err) == 0);
	}
	for (int i = 1; i < 3; i++) {
		CHECKF(len[i] == len[0], "file sizes %zu and %zu", len[0], len[i]);
		CHECK(len[i] == len[0] && memcmp(bytes[0] + COW_DATA_START, bytes[i] + COW_DATA_START,
						 len[0] - COW_DATA_START) == 0);
		CHECK(db[i].snap.meta.nwords == db[0].snap.meta.nwords &&
		      memcmp(db[i].snap.meta.words, db[0].snap.meta.words, 8 * db[0].snap.meta.nwords) == 0);
	}
	for (int i = 0; i < 3; i++) {
		tsdb_db_close(&db[i]);
		CHECK(check_ok(dirs[i]));
		free(bytes[i]);
		test_rmtree(dirs[i]);
	}
}

int main(void)
{
	RUN(test_every_item_once);
	RUN(test_lowest_failure);
	RUN(test_same_bytes_any_workers);
	return tap_done();
}
