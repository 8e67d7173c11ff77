/*
 * bench_tree.c - the red-black tree file: batch insert rate, bytes per key
 * before and after compaction, point lookups and 100-key range scans on a
 * freshly opened reader, side by side with a sorted in-memory array.
 *
 * usage: bench_tree [N] [BATCH] [DIR]    (defaults 1000000 10000 $TMPDIR)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cowfile.h"
#include "rbkeys.h"
#include "rbtree.h"
#include "benchutil.h"
#include "rng.h"

static void die(const char *what, const tsdb_err *err)
{
	fprintf(stderr, "bench_tree: %s: %s\n", what, err->msg);
	exit(1);
}

typedef struct kv { double d; uint32_t row; } kv;

static int cmp_kv(const void *a, const void *b)
{
	const kv *x = a, *y = b;
	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static size_t kv_lower_bound(const kv *a, size_t n, kv key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_kv(&a[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : 10000;
	const char *tmp = argc > 3 ? argv[3] : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	char path[4096], cpath[4200];
	snprintf(path, sizeof path, "%s/bench_tree.%d.db", tmp, (int)getpid());
	snprintf(cpath, sizeof cpath, "%s.compact", path);
	tsdb_err err;
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 1);
	kv *keys = malloc(n * sizeof *keys);
	if (!keys)
		return 1;
	for (size_t i = 0; i < n; i++)
		keys[i] = (kv){tsdb_rng_uniform(&rng) * 2.0, (uint32_t)i};

	/* Two builds of the same keys: batches inserted in arrival order, and
	 * each batch sorted first (what the database writer does). */
	size_t nbatches = (n + batch - 1) / batch;
	double *rates[2] = {malloc(nbatches * sizeof(double)), malloc(nbatches * sizeof(double))};
	double build[2];
	uint64_t bytes_before = 0;
	cow_writer w;
	rbt_root root = {0, 0};
	kv *sorted = malloc(batch * sizeof *sorted);
	for (int mode = 0; mode < 2; mode++) {
		unlink(path);
		if (cow_create(path, NULL, 0, &err) < 0)
			die("create", &err);
		if (cow_writer_open(&w, path, &err) < 0)
			die("open", &err);
		root = (rbt_root){0, 0};
		double t0 = bench_now();
		for (size_t b = 0; b < nbatches; b++) {
			double tb = bench_now();
			size_t end = (b + 1) * batch < n ? (b + 1) * batch : n, len = end - b * batch;
			memcpy(sorted, keys + b * batch, len * sizeof *sorted);
			if (mode == 1)
				qsort(sorted, len, sizeof *sorted, cmp_kv);
			rbt_wtree t;
			rbt_w_open(&t, &w.snap, &rbt_key_distrow, root);
			uint8_t k[12];
			for (size_t i = 0; i < len; i++) {
				rbt_distrow_put(k, sorted[i].d, sorted[i].row);
				if (rbt_w_insert(&t, k, sorted[i].row, 0, &err) != 1)
					die("insert", &err);
			}
			if (rbt_w_flush(&t, &w, &root, &err) < 0 ||
			    cow_commit(&w, (uint64_t[2]){root.node, root.count}, 2, &err) < 0)
				die("commit", &err);
			rbt_w_free(&t);
			rates[mode][b] = (double)len / (bench_now() - tb);
		}
		build[mode] = bench_now() - t0;
		bytes_before = w.snap.size;
		if (mode == 0)
			cow_writer_close(&w);
	}
	free(sorted);

	/* Compaction: the live nodes into a fresh file. */
	double tc = bench_now();
	cow_writer c;
	if (cow_create(cpath, NULL, 0, &err) < 0 || cow_writer_open(&c, cpath, &err) < 0)
		die("compact", &err);
	rbt_root croot;
	if (rbt_copy(&w.snap, &rbt_key_distrow, root, &c, NULL, NULL, &croot, &err) < 0 ||
	    cow_commit(&c, (uint64_t[2]){croot.node, croot.count}, 2, &err) < 0)
		die("compact", &err);
	uint64_t bytes_after = c.snap.size;
	cow_writer_close(&c);
	cow_writer_close(&w);
	if (cow_replace(cpath, path, &err) < 0)
		die("replace", &err);
	double compact_s = bench_now() - tc;

	/* A cold-started reader (the page cache is warm). */
	cow_snap s;
	if (cow_snap_open(&s, path, &err) < 0)
		die("reader", &err);
	root = (rbt_root){s.meta.words[0], s.meta.words[1]};
	qsort(keys, n, sizeof *keys, cmp_kv);
	size_t nq = 200000;
	double *lat = malloc(nq * sizeof *lat), *arr = malloc(nq * sizeof *arr);
	uint8_t k[12];
	uint64_t sink = 0;
	for (size_t q = 0; q < nq; q++) {
		kv key = keys[tsdb_rng_below(&rng, n)];
		rbt_distrow_put(k, key.d, key.row);
		double a = bench_now();
		uint64_t v;
		if (rbt_lookup(&s, &rbt_key_distrow, root, k, &v, &err) != 1)
			die("lookup", &err);
		double m = bench_now();
		size_t at = kv_lower_bound(keys, n, key);
		double e = bench_now();
		sink += v + at;
		lat[q] = (m - a) * 1e9;
		arr[q] = (e - m) * 1e9;
	}
	size_t ns = 20000;
	double *scan = malloc(ns * sizeof *scan), *ascan = malloc(ns * sizeof *ascan);
	rbt_cursor cur;
	rbt_cursor_init(&cur, &s, &rbt_key_distrow, root);
	for (size_t q = 0; q < ns; q++) {
		double from = tsdb_rng_uniform(&rng) * 1.9;
		rbt_distrow_put(k, from, 0);
		double a = bench_now();
		int r = rbt_seek_ge(&cur, k, &err);
		for (int i = 1; i < 100 && r == 1; i++) {
			sink += cur.node.value;
			r = rbt_next(&cur, &err);
		}
		if (r < 0)
			die("scan", &err);
		double m = bench_now();
		size_t at = kv_lower_bound(keys, n, (kv){from, 0});
		for (size_t i = at; i < at + 100 && i < n; i++)
			sink += keys[i].row;
		double e = bench_now();
		scan[q] = (m - a) * 1e9;
		ascan[q] = (e - m) * 1e9;
	}
	tsdb_rng_seed(&rng, sink); /* keep the loops */

	printf("tree benchmark: %zu (distance,row) keys, batches of %zu, %zu lookups, %zu scans\n", n, batch, nq, ns);
	printf("%-38s %14s %14s\n", "measure", "tree file", "sorted array");
	printf("%-38s %14.0f %14s\n", "inserts/s, batch as it came (build)", (double)n / build[0], "-");
	printf("%-38s %14.0f %14s\n", "inserts/s, batch as it came (median)", bench_pct(rates[0], nbatches, 0.5), "-");
	printf("%-38s %14.0f %14s\n", "inserts/s, batch sorted (build)", (double)n / build[1], "-");
	printf("%-38s %14.0f %14s\n", "inserts/s, batch sorted (median)", bench_pct(rates[1], nbatches, 0.5), "-");
	printf("%-38s %14.1f %14s\n", "bytes/key before compaction", (double)bytes_before / (double)n, "-");
	printf("%-38s %14.1f %14.1f\n", "bytes/key after compaction", (double)bytes_after / (double)n,
	       (double)sizeof(kv));
	printf("%-38s %14.2f %14s\n", "compaction seconds", compact_s, "-");
	printf("%-38s %14.0f %14.0f\n", "lookup median ns", bench_pct(lat, nq, 0.5), bench_pct(arr, nq, 0.5));
	printf("%-38s %14.0f %14.0f\n", "lookup p99 ns", bench_pct(lat, nq, 0.99), bench_pct(arr, nq, 0.99));
	printf("%-38s %14.0f %14.0f\n", "100-key range scan median ns", bench_pct(scan, ns, 0.5), bench_pct(ascan, ns, 0.5));
	printf("%-38s %14.0f %14.0f\n", "100-key range scan p99 ns", bench_pct(scan, ns, 0.99), bench_pct(ascan, ns, 0.99));
	cow_snap_close(&s);
	unlink(path);
	free(keys);
	free(rates[0]);
	free(rates[1]);
	free(lat);
	free(arr);
	free(scan);
	free(ascan);
	return 0;
}
