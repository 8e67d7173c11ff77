/*
 * bench_filter - filtered top-k against brute force over the matching
 * series, side by side in one run: N series (default 100,000) of length
 * 100 with the course's metadata (tsdb gen --meta), then for filters of
 * about 50%, 10%, 1%, 0.1% and 0.01% selectivity, Q queries by stored id
 * (top 10), each answered by the planner's choice and by brute force over
 * the matching series (every matching series' true distance), and the
 * unfiltered index search for scale, and each plan forced (walk, scan,
 * index) to show what the planner chose between.  Prints one row per
 * filter: its selectivity (exact, from select), the plans the planner
 * chose (walks/scans/index), p50 and p99 of the planner's answer and of
 * brute force, their ratio at p50, each forced plan's p50, the
 * unfiltered p50, the mean result count, and the number of answers (of
 * all four plans) that differ from brute force (must be 0).  The table
 * comes twice: without metadata indexes, then after `tsdb index add` on
 * the filters' fields (its time is printed), the same queries.
 *
 *   bench_filter [N [Q]]
 *
 * The filters use the fields independent of a series' shape (order,
 * level, blarg, vp), so the matches are spread over the whole data set
 * rather than clustered near the query.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "db.h"
#include "rng.h"
#include "search.h"
#include "select.h"
#include "synth.h"
#include "writer.h"

#define K 10
#define BATCH 10000
#define LENGTH 100

static const struct {
	const char *name, *json;
} filters[] = {
	{"~50%", "{\"blarg\": 1}"},
	{"~10%", "{\"order\": 3}"},
	{"~1%", "{\"order\": 3, \"level\": \"A\", \"blarg\": 1}"},
	{"~0.1%", "{\"order\": 3, \"level\": \"A\", \"vp\": true}"},
	{"~0.01%", "{\"order\": 3, \"level\": \"A\", \"vp\": true, \"blarg\": 1, \"std\": {\"<\": 0.45}}"},
};
#define NFILTERS (sizeof filters / sizeof filters[0])

static void die(const char *what, const tsdb_err *err)
{
	fprintf(stderr, "bench_filter: %s: %s\n", what, err->msg);
	exit(1);
}

static void build(const char *dir, size_t n)
{
	tsdb_err err;
	tsdb_params p = {.L = LENGTH, .mult = 1, .nvp = 20, .seed = 1};
	if (tsdb_init(dir, &p, &err) < 0)
		die("init", &err);
	tsdb_series *s = calloc(BATCH, sizeof *s);
	for (size_t first = 0; first < n; first += BATCH) {
		size_t len = n - first < BATCH ? n - first : BATCH;
		for (size_t i = 0; i < len; i++)
			if (tsdb_synth_series(7, first + i, LENGTH, &s[i], &err) < 0 ||
			    tsdb_synth_meta(7, first + i, &s[i], &err) < 0)
				die("gen", &err);
		if (tsdb_insert(dir, s, len, NULL, NULL, &err) < 0)
			die("insert", &err);
		for (size_t i = 0; i < len; i++)
			tsdb_series_free(&s[i]);
	}
	free(s);
}

static tsdb_pred *compile(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	tsdb_pred *p = NULL;
	tsdb_err err;
	if (!j || tsdb_pred_compile(j, &p, &err) < 0)
		die("filter", &err);
	json_decref(j);
	return p;
}

static uint64_t count_matches(tsdb_db *db, const tsdb_pred *where)
{
	tsdb_err err;
	tsdb_select_spec spec = {.where = where, .limit = 1};
	json_t *p = tsdb_select_run(db, &spec, &err);
	if (!p)
		die("select", &err);
	uint64_t n = (uint64_t)json_integer_value(json_object_get(p, "count"));
	json_decref(p);
	return n;
}

static int same(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb)
{
	if (na != nb)
		return 0;
	for (uint32_t i = 0; i < na; i++)
		if (a[i].distance != b[i].distance || a[i].id_len != b[i].id_len ||
		    memcmp(a[i].id, b[i].id, a[i].id_len))
			return 0;
	return 1;
}

static void table(const char *dir, size_t n, size_t nq, int indexed);

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t nq = argc > 2 ? strtoul(argv[2], NULL, 10) : 40;
	if (n < 1000 || nq < 1) {
		fprintf(stderr, "usage: bench_filter [N >= 1000 [Q >= 1]]\n");
		return 2;
	}
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/bench_filter.%d", tmp, (int)getpid());
	double t0 = bench_now();
	build(dir, n);
	printf("# %zu series of length %d with the course's metadata, built in %.1f s; %zu queries by id, k = %d\n",
	       n, LENGTH, bench_now() - t0, nq, K);
	table(dir, n, nq, 0);
	static const char *const fields[] = {"order", "level", "blarg", "vp", "std"};
	size_t lens[5];
	for (size_t i = 0; i < 5; i++)
		lens[i] = strlen(fields[i]);
	tsdb_err err;
	t0 = bench_now();
	if (tsdb_index_add(dir, fields, lens, 5, NULL, &err) < 0)
		die("index add", &err);
	printf("# tsdb index add order level blarg vp std: %.2f s\n", bench_now() - t0);
	table(dir, n, nq, 1);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_filter: could not remove %s\n", dir);
	return 0;
}

static void table(const char *dir, size_t n, size_t nq, int indexed)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0 || tsdb_db_kernel(&db, &err) < 0)
		die("open", &err);
	printf("# %s metadata indexes\n", indexed ? "with" : "without");
	double *ti = malloc(nq * sizeof *ti), *tb = malloc(nq * sizeof *tb), *tu = malloc(nq * sizeof *tu);
	double *tw = malloc(nq * sizeof *tw), *tsc = malloc(nq * sizeof *tsc), *tix = malloc(nq * sizeof *tix);
	printf("%-7s %9s %-12s %8s %8s %9s %9s %8s %8s %8s %9s %10s %7s %5s\n", "filter", "matches", "plans",
	       "p50 ms", "p99 ms", "brute p50", "brute p99", "speedup", "walk p50", "scan p50", "index p50",
	       "unfilt p50", "results", "wrong");
	for (size_t f = 0; f < NFILTERS; f++) {
		tsdb_pred *where = compile(filters[f].json);
		uint64_t matches = count_matches(&db, where);
		tsdb_rng rng;
		tsdb_rng_seed(&rng, 5);
		size_t walks = 0, scans = 0, indexes = 0, wrong = 0;
		double results = 0;
		for (size_t q = 0; q < nq; q++) {
			char id[32];
			snprintf(id, sizeof id, "ts-%06llu", (unsigned long long)tsdb_rng_below(&rng, n));
			tsdb_query qu;
			if (tsdb_query_from_id(&db, id, strlen(id), &qu, &err) < 0)
				die("query", &err);
			tsdb_hit a[K], b[K], c[K];
			uint32_t na, nb, nc;
			tsdb_search_stats st;
			double s0 = bench_now();
			if (tsdb_search_knn(&db, &qu, K, c, &nc, NULL, &err) < 0)
				die("search", &err);
			double s1 = bench_now();
			qu.where = where;
			if (tsdb_search_knn(&db, &qu, K, a, &na, &st, &err) < 0)
				die("filtered search", &err);
			double s2 = bench_now();
			if (tsdb_search_brute(&db, &qu, K, b, &nb, NULL, &err) < 0)
				die("brute", &err);
			double s3 = bench_now();
			/* each plan forced, for the planner's sake */
			tsdb_hit w[K];
			uint32_t nw;
			qu.plan = TSDB_PLAN_WALK;
			if (tsdb_search_knn(&db, &qu, K, w, &nw, NULL, &err) < 0)
				die("walk", &err);
			double s4 = bench_now();
			wrong += !same(w, nw, b, nb);
			qu.plan = TSDB_PLAN_SCAN;
			if (tsdb_search_knn(&db, &qu, K, w, &nw, NULL, &err) < 0)
				die("scan", &err);
			double s5 = bench_now();
			wrong += !same(w, nw, b, nb);
			qu.plan = TSDB_PLAN_INDEX;
			if (tsdb_search_knn(&db, &qu, K, w, &nw, NULL, &err) < 0)
				die("index", &err);
			double s6 = bench_now();
			wrong += !same(w, nw, b, nb);
			tix[q] = (s6 - s5) * 1e3;
			tw[q] = (s4 - s3) * 1e3;
			tsc[q] = (s5 - s4) * 1e3;
			tu[q] = (s1 - s0) * 1e3;
			ti[q] = (s2 - s1) * 1e3;
			tb[q] = (s3 - s2) * 1e3;
			walks += st.plan == TSDB_PLAN_WALK;
			scans += st.plan == TSDB_PLAN_SCAN;
			indexes += st.plan == TSDB_PLAN_INDEX;
			wrong += !same(a, na, b, nb);
			results += na;
			tsdb_query_free(&qu);
		}
		char plans[32];
		snprintf(plans, sizeof plans, "%zuw/%zus/%zui", walks, scans, indexes);
		double im = bench_pct(ti, nq, 0.5), ip = bench_pct(ti, nq, 0.99);
		double bm = bench_pct(tb, nq, 0.5), bp = bench_pct(tb, nq, 0.99), um = bench_pct(tu, nq, 0.5);
		double wm = bench_pct(tw, nq, 0.5), sm = bench_pct(tsc, nq, 0.5), xm = bench_pct(tix, nq, 0.5);
		printf("%-7s %8.3f%% %-12s %8.3f %8.3f %9.3f %9.3f %7.1fx %8.3f %8.3f %9.3f %10.3f %7.1f %5zu\n",
		       filters[f].name, 100.0 * (double)matches / (double)n, plans, im, ip, bm, bp, bm / im, wm, sm, xm,
		       um, results / (double)nq, wrong);
		fflush(stdout);
		tsdb_pred_free(where);
	}
	tsdb_db_close(&db);
	free(ti);
	free(tb);
	free(tu);
	free(tw);
	free(tsc);
	free(tix);
}
