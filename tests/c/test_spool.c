/*
 * test_spool.c - spool ingestion through the library: each file ends in
 * exactly one of done/ and failed/ (with its reason), what is not a regular
 * file is not taken, the callback and the result counts agree with the directories, a file repeating a
 * stored id is done when identical and failed when not (the first wins,
 * whatever the batch size), and the database holds exactly the series of
 * the files in done/.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "dbutil.h"
#include "spool.h"

typedef struct fates {
	int n[3];
	char last_reason[512];
} fates;

static void on_file(void *ctx, const char *name, enum tsdb_spool_fate fate, const char *reason)
{
	(void)name;
	fates *f = ctx;
	f->n[fate]++;
	if (reason)
		snprintf(f->last_reason, sizeof f->last_reason, "%s", reason);
}

/* Writes spool/new/NAME with content, as a producer would: hidden, renamed. */
static int drop(const char *spool, const char *name, const char *content)
{
	char tmp[4200], dst[4200];
	snprintf(tmp, sizeof tmp, "%s/new/.tmp", spool);
	snprintf(dst, sizeof dst, "%s/new/%s", spool, name);
	return test_spew(tmp, content, strlen(content)) == 0 && rename(tmp, dst) == 0 ? 0 : -1;
}

static int exists(const char *spool, const char *sub, const char *name)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/%s/%s", spool, sub, name);
	struct stat st;
	return lstat(p, &st) == 0;
}

static int stored(const char *dir, const char *id)
{
	tsdb_db db;
	tsdb_err err;
	tsdb_rec rec;
	if (tsdb_db_open(&db, dir, &err) < 0)
		return 0;
	int found = tsdb_db_find(&db, id, strlen(id), &rec, &err) == 0;
	tsdb_db_close(&db);
	return found;
}

static const char series_a[] = "{\"id\":\"a\",\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,2]}\n";
static const char series_a2[] = "{\"id\":\"a\",\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,9]}\n";

static void test_fates(void)
{
	char *dir = test_tmpdir();
	char *db = test_path(dir, "db"), *sp = test_path(dir, "spool"), *nw = test_path(sp, "new");
	tsdb_err err;
	tsdb_params p = {.L = 32, .mult = 1, .nvp = 2, .seed = 1};
	REQUIRE(tsdb_init(db, &p, &err) == 0);
	REQUIRE(mkdir(sp, 0755) == 0 && mkdir(nw, 0755) == 0);
	REQUIRE(drop(sp, "a.json", series_a) == 0);
	REQUIRE(drop(sp, "b.dat", "0.1 1\n0.2 4\n0.3 2\n0.6 3\n") == 0);
	REQUIRE(drop(sp, "c.dat", "0.1 1\n0.2 x\n") == 0);        /* not a number */
	REQUIRE(drop(sp, "d.dat", "0.1 1\n0.2 1\n0.3 1\n") == 0); /* constant */
	REQUIRE(drop(sp, "e.json", series_a) == 0);                /* identical repeat */
	REQUIRE(drop(sp, "f.json", series_a2) == 0);               /* different repeat */
	char *sub = test_path(nw, "g.dat");
	REQUIRE(mkdir(sub, 0755) == 0);                            /* not a regular file: not taken */

	tsdb_spool_opts o;
	tsdb_spool_opts_default(&o);
	o.batch = 2; /* a and its repeats in different batches */
	fates f = {{0}, ""};
	o.on_file = on_file;
	o.ctx = &f;
	tsdb_spool_result r;
	REQUIRE(tsdb_spool_ingest(db, sp, &o, &r, &err) == 0);
	CHECKF(r.done == 3 && r.failed == 3 && r.left == 0, "done %zu failed %zu left %zu", r.done, r.failed,
	       r.left);
	CHECKF(r.inserted == 2 && r.unchanged == 1, "inserted %zu unchanged %zu", r.inserted, r.unchanged);
	CHECK(f.n[TSDB_SPOOL_DONE] == 3 && f.n[TSDB_SPOOL_FAILED] == 3 && f.n[TSDB_SPOOL_LEFT] == 0);
	CHECK(exists(sp, "done", "a.json") && exists(sp, "done", "b.dat") && exists(sp, "done", "e.json"));
	CHECK(exists(sp, "failed", "c.dat") && exists(sp, "failed", "c.dat.reason"));
	CHECK(exists(sp, "failed", "d.dat") && exists(sp, "failed", "d.dat.reason"));
	CHECK(exists(sp, "failed", "f.json") && exists(sp, "failed", "f.json.reason"));
	CHECK(exists(sp, "new", "g.dat") && !exists(sp, "new", "a.json") && !exists(sp, "new", "c.dat"));
	char *reason_path = test_path(sp, "failed/c.dat.reason");
	size_t len;
	char *reason = (char *)test_slurp(reason_path, &len);
	CHECKF(reason && strstr(reason, "c.dat line 2") && strstr(reason, "'x'"), "%s", reason ? reason : "");
	free(reason);
	free(reason_path);
	/* The first a is the one stored; the single series of b.dat took the
	 * file's name as its id. */
	CHECK(stored(db, "a") && stored(db, "b") && !stored(db, "c") && !stored(db, "d"));
	CHECK(check_ok(db));

	/* Nothing new: nothing happens; the directory is still not taken. */
	REQUIRE(tsdb_spool_ingest(db, sp, &o, &r, &err) == 0);
	CHECK(r.done == 0 && r.failed == 0 && r.left == 0 && r.batches == 0 && r.txn == 0);
	CHECK(exists(sp, "new", "g.dat"));
	free(sub);
	free(nw);
	free(sp);
	free(db);
	test_rmtree(dir);
}

/* A spool that cannot be made is the caller's error, not a file's. */
static void test_unusable_spool(void)
{
	char *dir = test_tmpdir();
	char *db = test_path(dir, "db"), *sp = test_path(dir, "no/such/spool");
	tsdb_err err;
	tsdb_params p = {.L = 32, .mult = 1, .nvp = 2, .seed = 1};
	REQUIRE(tsdb_init(db, &p, &err) == 0);
	tsdb_spool_opts o;
	tsdb_spool_opts_default(&o);
	tsdb_spool_result r;
	CHECK(tsdb_spool_ingest(db, sp, &o, &r, &err) < 0);
	CHECKF(strstr(err.msg, "spool") != NULL, "%s", err.msg);
	free(sp);
	free(db);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_fates);
	RUN(test_unusable_spool);
	return tap_done();
}
