/*
 * bench_db.c - the database: insert rate in batches of 10,000 and exact
 * top-k search through the vantage-point indexes, side by side with a
 * brute-force scan of the same queries on the same snapshot.
 *
 * usage: bench_db [N[:L]]...      (default: 1000:100 100000:100)
 * Each run creates a fresh database under $TMPDIR, mult 1, 20 vantage
 * points, and removes it afterwards.  After each row, a line on growth:
 * the insert rate of the first and the last tenth of the batches and
 * over all of them (the compactions the writer did included), the
 * largest file size / live size seen after a batch, the compactions the
 * writer did by itself, and the same first batches inserted with one
 * worker (TSDB_WORKERS=1's path) for comparison.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "benchutil.h"
#include "rng.h"
#include "search.h"
#include "synth.h"
#include "writer.h"

#define BATCH 10000
#define K 10

static void die(const char *what, const tsdb_err *err)
{
	fprintf(stderr, "bench_db: %s: %s\n", what, err->msg);
	exit(1);
}

static void run(size_t n, uint32_t L, const char *tmp)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/bench_db.%d.%zu", tmp, (int)getpid(), n);
	tsdb_err err;
	tsdb_params p = {.L = L, .mult = 1, .nvp = 20, .seed = 1};
	if (tsdb_init(dir, &p, &err) < 0)
		die("init", &err);
	size_t nb = (n + BATCH - 1) / BATCH;
	double *rate = malloc(nb * sizeof *rate);
	tsdb_series *s = calloc(BATCH, sizeof *s);
	double worst_ratio = 1, total_time = 0;
	size_t compactions = 0;
	for (size_t b = 0; b < nb; b++) {
		size_t len = (b + 1) * BATCH <= n ? BATCH : n - b * BATCH;
		for (size_t i = 0; i < len; i++)
			if (tsdb_synth_series(7, b * BATCH + i, L, &s[i], &err) < 0)
				die("gen", &err);
		tsdb_insert_result res;
		double t0 = bench_now();
		if (tsdb_insert(dir, s, len, NULL, &res, &err) < 0)
			die("insert", &err);
		total_time += bench_now() - t0;
		rate[b] = (double)len / (bench_now() - t0);
		compactions += (size_t)res.compacted;
		for (size_t i = 0; i < len; i++)
			tsdb_series_free(&s[i]);
		tsdb_db g;
		if (tsdb_db_open(&g, dir, &err) < 0)
			die("open", &err);
		double ratio = (double)g.snap.size / (double)(g.snap.size - g.dead_bytes);
		worst_ratio = ratio > worst_ratio ? ratio : worst_ratio;
		tsdb_db_close(&g);
	}
	/* the first batches again, on one worker, into a database of their own */
	size_t nb1 = nb < 5 ? nb : 5;
	double *rate1 = malloc(nb1 * sizeof *rate1);
	char dir1[4200];
	snprintf(dir1, sizeof dir1, "%s.one", dir);
	if (tsdb_init(dir1, &p, &err) < 0)
		die("init", &err);
	tsdb_insert_opts one = {.workers = 1};
	for (size_t b = 0; b < nb1; b++) {
		size_t len = (b + 1) * BATCH <= n ? BATCH : n - b * BATCH;
		for (size_t i = 0; i < len; i++)
			if (tsdb_synth_series(7, b * BATCH + i, L, &s[i], &err) < 0)
				die("gen", &err);
		double t0 = bench_now();
		if (tsdb_insert(dir1, s, len, &one, NULL, &err) < 0)
			die("insert", &err);
		rate1[b] = (double)len / (bench_now() - t0);
		for (size_t i = 0; i < len; i++)
			tsdb_series_free(&s[i]);
	}
	free(s);
	size_t tenth = nb / 10 ? nb / 10 : 1;
	double first = bench_pct(rate, tenth, 0.5), last = bench_pct(rate + nb - tenth, tenth, 0.5);
	double all1 = bench_pct(rate1, nb1, 0.5), all = bench_pct(rate, nb1, 0.5);

	tsdb_db db, dbs;
	if (tsdb_db_open(&db, dir, &err) < 0 || tsdb_db_open(&dbs, dir, &err) < 0 ||
	    tsdb_db_kernel_mode(&dbs, TSDB_KERNEL_SPECTRAL, &err) < 0)
		die("open", &err);
	size_t nq = n >= 100000 ? (L > 200 ? 40 : 100) : 200;
	double *ti = malloc(nq * sizeof *ti), *tb = malloc(nq * sizeof *tb), *fr = malloc(nq * sizeof *fr);
	double *ts = malloc(nq * sizeof *ts);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 3);
	size_t mismatches = 0;
	for (size_t q = 0; q < nq; q++) {
		tsdb_query qu, qs;
		if (q % 2) {
			char id[32];
			snprintf(id, sizeof id, "ts-%06llu", (unsigned long long)tsdb_rng_below(&rng, n));
			if (tsdb_query_from_id(&db, id, strlen(id), &qu, &err) < 0 ||
			    tsdb_query_from_id(&dbs, id, strlen(id), &qs, &err) < 0)
				die("query", &err);
		} else {
			tsdb_series x;
			if (tsdb_synth_series(99, q, L, &x, &err) < 0 || tsdb_query_from_series(&db, &x, &qu, &err) < 0 ||
			    tsdb_query_from_series(&dbs, &x, &qs, &err) < 0)
				die("query", &err);
			tsdb_series_free(&x);
		}
		tsdb_hit a[K], b[K];
		uint32_t na, nbh;
		tsdb_search_stats st;
		double t0 = bench_now();
		if (tsdb_search_knn(&db, &qu, K, a, &na, &st, &err) < 0)
			die("search", &err);
		double t1 = bench_now();
		if (tsdb_search_brute(&db, &qu, K, b, &nbh, NULL, &err) < 0)
			die("brute", &err);
		double t2 = bench_now();
		tsdb_hit c[K];
		uint32_t nc;
		if (tsdb_search_brute(&dbs, &qs, K, c, &nc, NULL, &err) < 0)
			die("brute", &err);
		double t3 = bench_now();
		ti[q] = (t1 - t0) * 1e3;
		tb[q] = (t2 - t1) * 1e3;
		ts[q] = (t3 - t2) * 1e3;
		fr[q] = 100.0 * (double)st.computed / (double)db.nseries;
		for (uint32_t i = 0; i < na; i++)
			if (na != nbh || a[i].distance != b[i].distance || a[i].id_len != b[i].id_len ||
			    memcmp(a[i].id, b[i].id, a[i].id_len))
				mismatches++;
		tsdb_query_free(&qu);
		tsdb_query_free(&qs);
	}
	double ins = bench_pct(rate, nb, 0.5), im = bench_pct(ti, nq, 0.5), ip = bench_pct(ti, nq, 0.99), bm = bench_pct(tb, nq, 0.5),
	       bp = bench_pct(tb, nq, 0.99), fm = bench_pct(fr, nq, 0.5), f9 = bench_pct(fr, nq, 0.9), sm = bench_pct(ts, nq, 0.5);
	printf("%8zu %5u %6s %7zu %10.0f %9.3f %9.3f %9.3f %9.3f %8.1fx %9.3f %8.1fx %8.2f%% %8.2f%% %6zu\n", n, L,
	       db.kernel.direct ? "direct" : "fft", nq, ins, im, ip, bm, bp, bm / im, sm, sm / im, fm, f9, mismatches);
	printf("  growth: insert/s %.0f over the first tenth of the batches, %.0f over the last, %.0f over all "
	       "(compactions included); file/live at most %.2f after a batch (%zu compactions); file %llu bytes, "
	       "%llu dead; first %zu batches %.0f/s on every core, %.0f/s on one (%.2fx)\n",
	       first, last, (double)n / total_time, worst_ratio, compactions, (unsigned long long)db.snap.size,
	       (unsigned long long)db.dead_bytes, nb1, all, all1, all / all1);
	fflush(stdout);
	tsdb_db_close(&db);
	tsdb_db_close(&dbs);
	free(ts);
	free(rate1);
	char cmd[8500];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, dir1);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_db: could not remove %s\n", dir);
	free(rate);
	free(ti);
	free(tb);
	free(fr);
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	printf("database benchmark: exact top-%d, index vs brute force on the same snapshot (times in ms)\n", K);
	printf("  kernel: how readers evaluate distances at this L (the handler's choice); brute uses the same,\n"
	       "  fft p50: the same brute-force scan with FFTW's kernel, for comparison; dist: series whose true\n"
	       "  distance the index computed; wrong: results differing from brute force\n");
	printf("%8s %5s %6s %7s %10s %9s %9s %9s %9s %9s %9s %9s %9s %9s %6s\n", "series", "L", "kernel", "queries",
	       "insert/s", "index p50", "index p99", "brute p50", "brute p99", "speedup", "fft p50", "speedup",
	       "dist p50", "dist p90", "wrong");
	if (argc < 2) {
		run(1000, 100, tmp);
		run(100000, 100, tmp);
	}
	for (int i = 1; i < argc; i++) {
		char *colon;
		size_t n = strtoul(argv[i], &colon, 10);
		uint32_t L = *colon == ':' ? (uint32_t)strtoul(colon + 1, NULL, 10) : 100;
		run(n, L, tmp);
	}
	return 0;
}
