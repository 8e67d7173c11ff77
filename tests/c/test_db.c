/*
 * test_db.c - the database: exact search against brute force, the writer's
 * all-or-nothing batches, vantage-point choice, replace/remove, compaction,
 * reindex, snapshots, and the checker on damage.
 */
#include <fcntl.h>
#include <math.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "dbformat.h"
#include "le.h"
#include "rng.h"
#include "search.h"
#include "synth.h"
#include "tap.h"
#include "testutil.h"
#include "writer.h"

/* Series [from, to) of the synthetic set `seed`. */
static tsdb_series *gen(uint64_t seed, size_t from, size_t to, uint32_t L)
{
	tsdb_series *s = calloc(to - from, sizeof *s);
	tsdb_err err;
	for (size_t i = from; i < to; i++)
		if (tsdb_synth_series(seed, i, L, &s[i - from], &err) < 0)
			abort();
	return s;
}

static void gen_free(tsdb_series *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tsdb_series_free(&s[i]);
	free(s);
}

static int insert(const char *dir, const tsdb_series *s, size_t n, int replace)
{
	tsdb_err err;
	tsdb_insert_opts o = {.replace = replace};
	if (tsdb_insert(dir, s, n, &o, NULL, &err) < 0) {
		printf("# insert: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int check_ok(const char *dir)
{
	tsdb_db db;
	tsdb_err err;
	tsdb_check_report rep;
	if (tsdb_db_open(&db, dir, &err) < 0 || tsdb_check(&db, 1, &rep, &err) < 0) {
		printf("# check: %s\n", err.msg);
		tsdb_db_close(&db);
		return 0;
	}
	tsdb_db_close(&db);
	return 1;
}

static int same_hits(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb)
{
	if (na != nb)
		return 0;
	for (uint32_t i = 0; i < na; i++)
		if (a[i].distance != b[i].distance || a[i].id_len != b[i].id_len ||
		    memcmp(a[i].id, b[i].id, a[i].id_len) != 0)
			return 0;
	return 1;
}

/* nq queries by id and by (perturbed) series against brute force. */
static int differential(const char *dir, uint64_t qseed, int nq, double *frac)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0)
		return printf("# open: %s\n", err.msg), 0;
	tsdb_rng rng;
	tsdb_rng_seed(&rng, qseed);
	static const uint32_t ks[] = {1, 5, 20};
	tsdb_hit a[20], b[20];
	int ok = 1;
	uint64_t computed = 0, total = 0;
	for (int q = 0; q < nq && ok; q++) {
		tsdb_query qu;
		uint32_t k = ks[q % 3];
		if (q % 2) {
			/* By a stored id. */
			uint32_t pick = (uint32_t)tsdb_rng_below(&rng, 1 + (uint32_t)db.nseries);
			char id[32];
			snprintf(id, sizeof id, "ts-%06u", pick);
			if (tsdb_query_from_id(&db, id, strlen(id), &qu, &err) < 0) {
				if (err.code == TSDB_E_INVALID_KEY)
					continue; /* removed or never inserted */
				ok = 0;
				printf("# query %s: %s\n", id, err.msg);
				break;
			}
		} else {
			tsdb_series s;
			tsdb_synth_series(qseed + 1000, (uint64_t)q, 50 + (uint32_t)tsdb_rng_below(&rng, 100), &s, &err);
			if (tsdb_query_from_series(&db, &s, &qu, &err) < 0) {
				ok = 0;
				printf("# query series: %s\n", err.msg);
			}
			tsdb_series_free(&s);
			if (!ok)
				break;
		}
		uint32_t na, nb;
		tsdb_search_stats st;
		if (tsdb_search_knn(&db, &qu, k, a, &na, &st, &err) < 0 || tsdb_search_brute(&db, &qu, k, b, &nb, NULL, &err) < 0) {
			printf("# search: %s\n", err.msg);
			ok = 0;
		} else if (!same_hits(a, na, b, nb)) {
			printf("# query %d (k=%u): index and brute force differ\n", q, k);
			for (uint32_t i = 0; i < na || i < nb; i++)
				printf("#   %.*s %.17g | %.*s %.17g\n", i < na ? (int)a[i].id_len : 0, i < na ? a[i].id : "",
				       i < na ? a[i].distance : NAN, i < nb ? (int)b[i].id_len : 0, i < nb ? b[i].id : "",
				       i < nb ? b[i].distance : NAN);
			ok = 0;
		}
		computed += st.computed;
		total += db.nseries;
		/* within: every series at or under the k-th distance. */
		if (ok && na == k) {
			tsdb_hit *w;
			uint32_t nw;
			int trunc;
			if (tsdb_search_within(&db, &qu, a[k - 1].distance, 1000, &w, &nw, &trunc, NULL, &err) < 0 ||
			    nw < k || !same_hits(w, k, a, k)) {
				printf("# within radius %.17g disagrees (%u hits)\n", a[k - 1].distance, nw);
				ok = 0;
			}
			free(w);
		}
		tsdb_query_free(&qu);
	}
	if (frac)
		*frac = total ? (double)computed / (double)total : 0;
	tsdb_db_close(&db);
	return ok;
}

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
	CHECK(differential(dir, 2, 150, &frac));
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
	CHECK(differential(dir, 3, 75, NULL));
	REQUIRE(insert(dir, s, n / 2, 1) == 0); /* replace half, re-adding removed */
	CHECK(check_ok(dir));
	CHECK(differential(dir, 4, 75, NULL));
	free(ids);
	free(lens);
	gen_free(s, n);
	test_rmtree(dir);
}

static void test_exact_mult1(void) { exact_search(1, 100, 2000); }
static void test_exact_mult10(void) { exact_search(10, 64, 2000); }

static void test_all_or_nothing(void)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 32, .mult = 1, .nvp = 4, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
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

static void test_get_exact(void)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 16, .mult = 1, .nvp = 2, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
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
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 64, .mult = 1, .nvp = 4, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
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
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 32, .mult = 1, .nvp = 4, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
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

/* Compaction and reindex change no answer. */
static void test_compact_reindex(void)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 64, .mult = 1, .nvp = 8, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
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

/* Damage: the checker names it, readers get errors, never crashes.  Flips
 * land anywhere past the header page of a compacted file (all of it live);
 * only alignment padding between tree nodes is outside every checksum. */
static void test_damage(void)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = 32, .mult = 1, .nvp = 4, .seed = 1};
	REQUIRE(tsdb_init(dir, &p, &err) == 0);
	tsdb_series *s = gen(5, 0, 50, 40);
	REQUIRE(insert(dir, s, 50, 0) == 0);
	REQUIRE(tsdb_compact(dir, NULL, NULL, &err) == 0);
	char *path = test_path(dir, TSDB_DATA_FILE);
	size_t len;
	unsigned char *orig = test_slurp(path, &len), *img = malloc(len);
	REQUIRE(orig && img);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 12);
	int detected = 0, flips = 300;
	for (int i = 0; i < flips; i++) {
		memcpy(img, orig, len);
		size_t at = COW_DATA_START + (size_t)tsdb_rng_below(&rng, len - COW_DATA_START);
		img[at] ^= (uint8_t)(1u << tsdb_rng_below(&rng, 8));
		REQUIRE(test_spew(path, img, len) == 0);
		tsdb_db db;
		tsdb_check_report rep;
		if (tsdb_db_open(&db, dir, &err) < 0) {
			detected += err.code == TSDB_E_CORRUPT;
			continue;
		}
		if (tsdb_check(&db, 0, &rep, &err) < 0)
			detected += err.code == TSDB_E_CORRUPT;
		/* Searches on the damaged file end cleanly, whatever they answer. */
		tsdb_query q;
		if (tsdb_query_from_series(&db, &s[i % 50], &q, &err) == 0) {
			tsdb_hit h[5];
			uint32_t nh;
			tsdb_search_knn(&db, &q, 5, h, &nh, NULL, &err);
			tsdb_query_free(&q);
		}
		tsdb_db_close(&db);
	}
	printf("# %d of %d bit flips detected by open or check\n", detected, flips);
	CHECK(detected >= flips * 95 / 100);
	free(orig);
	free(img);
	free(path);
	gen_free(s, 50);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_get_exact);
	RUN(test_self_query_zero);
	RUN(test_rec_read_hot);
	RUN(test_all_or_nothing);
	RUN(test_snapshot_isolation);
	RUN(test_compact_reindex);
	RUN(test_damage);
	RUN(test_exact_mult1);
	RUN(test_exact_mult10);
	return tap_done();
}
