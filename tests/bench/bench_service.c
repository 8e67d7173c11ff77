/*
 * bench_service.c - load generator for the service: C connections at a
 * time, each a fresh TCP connection carrying one request (as simsearch
 * does), for R requests in total.  Prints "median_ms p99_ms req_per_s
 * errors" for the run.
 *
 * usage: bench_service HOST:PORT CONCURRENCY REQUESTS NSERIES K
 * Requests are with_id for ids "ts-%06d" drawn from [0, NSERIES).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "client.h"
#include "rng.h"

static const char *addr;
static long nseries, k, total;
static atomic_long next_req, errors;
static double *lat;

static void *worker(void *arg)
{
	tsdb_rng rng;
	tsdb_rng_seed(&rng, (uint64_t)(uintptr_t)arg);
	for (;;) {
		long i = atomic_fetch_add(&next_req, 1);
		if (i >= total)
			return NULL;
		char id[32];
		snprintf(id, sizeof id, "ts-%06llu", (unsigned long long)tsdb_rng_below(&rng, (uint64_t)nseries));
		json_t *req = json_pack("{s:s, s:s, s:i}", "op", "with_id", "id", id, "k", (json_int_t)k);
		json_t *resp = NULL;
		tsdb_err err;
		double t0 = bench_now();
		int rc = tsdb_call(addr, req, 10000, &resp, &err);
		lat[i] = (bench_now() - t0) * 1e3;
		const char *status = rc == 0 ? json_string_value(json_object_get(resp, "status")) : NULL;
		if (!status || strcmp(status, "OK") != 0) {
			if (atomic_fetch_add(&errors, 1) < 3)
				fprintf(stderr, "bench_service: %s\n", rc ? err.msg : status ? status : "no status");
		}
		json_decref(req);
		json_decref(resp);
	}
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: bench_service HOST:PORT CONCURRENCY REQUESTS NSERIES K\n");
		return 2;
	}
	addr = argv[1];
	long conc = strtol(argv[2], NULL, 10);
	total = strtol(argv[3], NULL, 10);
	nseries = strtol(argv[4], NULL, 10);
	k = strtol(argv[5], NULL, 10);
	if (conc < 1 || conc > 256 || total < 1 || nseries < 1)
		return 2;
	lat = calloc((size_t)total, sizeof *lat);
	pthread_t *th = calloc((size_t)conc, sizeof *th);
	double t0 = bench_now();
	for (long i = 0; i < conc; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	for (long i = 0; i < conc; i++)
		pthread_join(th[i], NULL);
	double secs = bench_now() - t0;
	printf("%.3f %.3f %.0f %ld\n", bench_pct(lat, (size_t)total, 0.5), bench_pct(lat, (size_t)total, 0.99), (double)total / secs,
	       (long)atomic_load(&errors));
	free(lat);
	free(th);
	return 0;
}
