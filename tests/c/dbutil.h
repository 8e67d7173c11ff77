/*
 * dbutil.h - what the database tests share: a synthetic batch, an insert
 * that prints its error, the full checker, and the differential that runs
 * queries by id and by series through the index and through brute force
 * and requires the same hits (ids and distances, bit for bit), with
 * `within` at the k-th distance returning the same first k.
 */
#ifndef TSDB_TEST_DBUTIL_H
#define TSDB_TEST_DBUTIL_H

#include <math.h>

#include "check.h"
#include "db.h"
#include "rng.h"
#include "search.h"
#include "synth.h"
#include "tap.h"
#include "testutil.h"
#include "writer.h"

/* A new, empty database in a fresh temporary directory: L grid points,
 * nvp vantage points, multiplicity 1, seed 1. */
static inline char *new_db(uint32_t L, uint32_t nvp)
{
	char *dir = test_tmpdir();
	tsdb_err err;
	tsdb_params p = {.L = L, .mult = 1, .nvp = nvp, .seed = 1};
	if (tsdb_init(dir, &p, &err) < 0) {
		printf("# init: %s\n", err.msg);
		abort();
	}
	return dir;
}

/* Series [from, to) of the synthetic set `seed`. */
static inline tsdb_series *gen(uint64_t seed, size_t from, size_t to, uint32_t L)
{
	tsdb_series *s = calloc(to - from, sizeof *s);
	tsdb_err err;
	for (size_t i = from; i < to; i++)
		if (tsdb_synth_series(seed, i, L, &s[i - from], &err) < 0)
			abort();
	return s;
}

static inline void gen_free(tsdb_series *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tsdb_series_free(&s[i]);
	free(s);
}

static inline int insert(const char *dir, const tsdb_series *s, size_t n, int replace)
{
	tsdb_err err;
	tsdb_insert_opts o = {.replace = replace};
	if (tsdb_insert(dir, s, n, &o, NULL, &err) < 0) {
		printf("# insert: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static inline int check_ok(const char *dir)
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

static inline int same_hits(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb)
{
	if (na != nb)
		return 0;
	for (uint32_t i = 0; i < na; i++)
		if (a[i].distance != b[i].distance || a[i].id_len != b[i].id_len ||
		    memcmp(a[i].id, b[i].id, a[i].id_len) != 0)
			return 0;
	return 1;
}

/* How many queries differential() compared with brute force in this
 * binary (each test binary prints it as the figure
 * "differential-queries"). */
static int differential_queries;

/* nq queries by id and by (perturbed) series against brute force, on an
 * open snapshot (frac: the share of true distances computed). */
static inline int differential_snapshot(tsdb_db *dbp, uint64_t qseed, int nq, double *frac)
{
#define db (*dbp)
	tsdb_err err;
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
		differential_queries++;
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
	return ok;
#undef db
}

/* The same on the newest commit of the database in dir. */
static inline int differential(const char *dir, uint64_t qseed, int nq, double *frac)
{
	tsdb_db db;
	tsdb_err err;
	if (tsdb_db_open(&db, dir, &err) < 0)
		return printf("# open: %s\n", err.msg), 0;
	int ok = differential_snapshot(&db, qseed, nq, frac);
	tsdb_db_close(&db);
	return ok;
}

#endif
