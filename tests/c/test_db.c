/*
 * test_db.c - the reader's view of a database: a record read back bit for
 * bit (ids, metadata, extreme doubles), the pread path that agrees with the
 * mapping and fails cleanly where the mapping would fault, and a snapshot
 * that stays as it was while the writer commits and compacts.
 */
#include <unistd.h>

#include "dbformat.h"
#include "dbutil.h"

static void test_get_exact(void)
{
	char *dir = new_db(16, 2);
	tsdb_err err;
	tsdb_series s;
	memset(&s, 0, sizeof s);
	double t[] = {0.0, 0.1, 0.1, 0.30000000000000004, 0.5, 0.999999999999};
	double v[] = {-0.0, 5e-324, 1e308, -1e-300, 0.1, 3.0};
	s.n = 6;
	s.t = t;
	s.v = v;
	memcpy(s.id, "a/b \"c\"", 8);
	s.id_len = 7;
	s.meta = "{\"band\":\"V\",\"n\":[1,2]}";
	s.meta_len = strlen(s.meta);
	REQUIRE(tsdb_insert(dir, &s, 1, NULL, NULL, &err) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	tsdb_rec rec;
	REQUIRE(tsdb_db_find(&db, s.id, s.id_len, &rec, &err) == 0);
	tsdb_series out;
	REQUIRE(tsdb_rec_series(&rec, &out, &err) == 0);
	CHECK(out.n == 6 && !memcmp(out.t, t, sizeof t) && !memcmp(out.v, v, sizeof v));
	CHECK(out.meta_len == s.meta_len && !memcmp(out.meta, s.meta, s.meta_len));
	CHECK(out.id_len == 7 && !memcmp(out.id, s.id, 7));
	CHECK(tsdb_db_find(&db, "zz", 2, &rec, &err) < 0 && err.code == TSDB_E_INVALID_KEY);
	tsdb_series_free(&out);
	tsdb_db_close(&db);
	test_rmtree(dir);
}

/* tsdb_rec_read_hot (pread) reads the same record as tsdb_rec_read (the
 * mapping), and fails cleanly where the mapping would have faulted. */
typedef struct hot_ctx {
	tsdb_db *db;
	double *buf;
	int same, total;
} hot_ctx;

static int hot_compare(void *p, const char *id, size_t len, tsdb_err *err)
{
	hot_ctx *cx = p;
	tsdb_rec a, b;
	if (tsdb_db_find(cx->db, id, len, &a, err) < 0)
		return -1;
	for (int with_spectrum = 0; with_spectrum < 2; with_spectrum++) {
		cx->total++;
		if (tsdb_rec_read_hot(cx->db, a.off, with_spectrum, cx->buf, &b, err) < 0)
			return -1;
		uint32_t L = cx->db->params.L;
		cx->same += a.off == b.off && a.size == b.size && a.row == b.row && a.npoints == b.npoints &&
			    a.nvp == b.nvp && a.id == b.id && a.id_len == b.id_len && a.meta == b.meta &&
			    a.meta_len == b.meta_len && a.t == b.t && a.v == b.v &&
			    a.vpdist == b.vpdist && !memcmp(&a.log_self, &b.log_self, 8) &&
			    !memcmp(a.grid, b.grid, 8 * (size_t)L) &&
			    (with_spectrum ? !memcmp(a.spectrum, b.spectrum, 8 * tsdb_spectrum_doubles(L))
					   : b.spectrum == NULL);
	}
	return 0;
}

static void test_rec_read_hot(void)
{
	char *dir = new_db(64, 4);
	tsdb_err err;
	tsdb_series *s = gen(8, 0, 40, 70);
	REQUIRE(insert(dir, s, 40, 0) == 0);
	tsdb_db db;
	REQUIRE(tsdb_db_open(&db, dir, &err) == 0);
	hot_ctx cx = {.db = &db, .buf = malloc(tsdb_rec_hot_bytes(&db, 1))};
	REQUIRE(cx.buf);
	int more;
	CHECKF(tsdb_db_list(&db, NULL, 0, NULL, 0, 1000, hot_compare, &cx, &more, &err) == 0, "%s", err.msg);
	CHECKF(cx.total == 80 && cx.same == cx.total, "%d of %d reads agree", cx.same, cx.total);

	tsdb_rec rec;
	REQUIRE(tsdb_db_find(&db, s[3].id, s[3].id_len, &rec, &err) == 0);
	CHECK(tsdb_rec_read_hot(&db, rec.off + 4, 1, cx.buf, &rec, &err) < 0 && err.code == TSDB_E_CORRUPT);
	CHECK(tsdb_rec_read_hot(&db, db.snap.size - 8, 1, cx.buf, &rec, &err) < 0 && err.code == TSDB_E_CORRUPT);
	CHECK(tsdb_rec_read_hot(&db, rec.off + 8 * (rec.size / 16), 1, cx.buf, &rec, &err) < 0 &&
	      err.code == TSDB_E_CORRUPT);
	/* Cut the file under the open snapshot: the mapping would raise
	 * SIGBUS there; the copy reports a damaged record. */
	char *path = test_path(dir, TSDB_DATA_FILE);
	REQUIRE(tsdb_db_find(&db, s[39].id, s[39].id_len, &rec, &err) == 0);
	REQUIRE(truncate(path, (off_t)rec.off + 16) == 0);
	CHECKF(tsdb_rec_read_hot(&db, rec.off, 1, cx.buf, &rec, &err) < 0 && err.code == TSDB_E_CORRUPT,
	       "%s", err.msg);
	free(path);
	free(cx.buf);
	tsdb_db_close(&db);
	gen_free(s, 40);
	test_rmtree(dir);
}

/* A reader keeps its snapshot while the writer commits. */
static void test_snapshot_isolation(void)
{
	char *dir = new_db(32, 4);
	tsdb_err err;
	tsdb_series *s = gen(3, 0, 60, 50);
	REQUIRE(insert(dir, s, 30, 0) == 0);
	tsdb_db old;
	REQUIRE(tsdb_db_open(&old, dir, &err) == 0);
	REQUIRE(insert(dir, s + 30, 30, 0) == 0);
	uint64_t bb, ba;
	REQUIRE(tsdb_compact(dir, &bb, &ba, &err) == 0);
	CHECK(ba < bb);
	tsdb_db now;
	REQUIRE(tsdb_db_open(&now, dir, &err) == 0);
	CHECK(old.nseries == 30 && now.nseries == 60);
	tsdb_rec rec;
	CHECK(tsdb_db_find(&old, s[45].id, s[45].id_len, &rec, &err) < 0);
	CHECK(tsdb_db_find(&now, s[45].id, s[45].id_len, &rec, &err) == 0);
	tsdb_check_report rep;
	CHECK(tsdb_check(&old, 1, &rep, &err) == 0 && rep.series == 30);
	CHECK(tsdb_check(&now, 1, &rep, &err) == 0 && rep.series == 60);
	tsdb_db_close(&old);
	tsdb_db_close(&now);
	gen_free(s, 60);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_get_exact);
	RUN(test_rec_read_hot);
	RUN(test_snapshot_isolation);
	return tap_done();
}
