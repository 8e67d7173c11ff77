/*
 * pool.c - tsdb_pool_run (see pool.h).  A shared counter hands out chunk
 * numbers; the lowest failed chunk is kept under a mutex with its error.
 * A worker takes the next chunk only while it is below the lowest failure
 * so far, so every chunk below the one reported has run.
 */
#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct pool {
	tsdb_pool_fn fn;
	void *ctx;
	size_t n, chunk, nchunks;
	pthread_mutex_t mu;
	size_t next;           /* the next chunk to hand out */
	size_t failed;         /* the lowest failed chunk, nchunks if none */
	tsdb_err err;          /* its error */
} pool;

typedef struct worker_arg {
	pool *p;
	unsigned id;
} worker_arg;

static void run_chunks(pool *p, unsigned id)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		size_t c = p->next < p->failed ? p->next++ : p->nchunks;
		pthread_mutex_unlock(&p->mu);
		if (c >= p->nchunks)
			return;
		size_t begin = c * p->chunk, end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
		tsdb_err e;
		memset(&e, 0, sizeof e);
		if (p->fn(p->ctx, id, begin, end, &e) < 0) {
			pthread_mutex_lock(&p->mu);
			if (c < p->failed) {
				p->failed = c;
				p->err = e;
			}
			pthread_mutex_unlock(&p->mu);
		}
	}
}

static void *worker_main(void *arg)
{
	worker_arg *a = arg;
	run_chunks(a->p, a->id);
	return NULL;
}

unsigned tsdb_pool_default_workers(void)
{
	const char *env = getenv("TSDB_WORKERS");
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);
		if (!*end && v >= 1 && v <= TSDB_POOL_MAX)
			return (unsigned)v;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > (long)TSDB_POOL_MAX ? TSDB_POOL_MAX : (unsigned)cpus;
}

int tsdb_pool_run(unsigned workers, size_t n, size_t chunk, tsdb_pool_fn fn, void *ctx, tsdb_err *err)
{
	if (chunk == 0)
		chunk = 1;
	pool p = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk, .nchunks = n / chunk + (n % chunk != 0)};
	p.failed = p.nchunks;
	if (workers < 1)
		workers = 1;
	if (workers > TSDB_POOL_MAX)
		workers = TSDB_POOL_MAX;
	if (workers > p.nchunks)
		workers = p.nchunks ? (unsigned)p.nchunks : 1;
	pthread_t tid[TSDB_POOL_MAX];
	worker_arg args[TSDB_POOL_MAX];
	unsigned started = 0;
	if (pthread_mutex_init(&p.mu, NULL) != 0)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "cannot make a mutex for the worker pool");
	for (unsigned i = 1; i < workers; i++) {
		args[i] = (worker_arg){&p, i};
		if (pthread_create(&tid[i], NULL, worker_main, &args[i]) != 0)
			break;
		started = i;
	}
	run_chunks(&p, 0);
	for (unsigned i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.failed < p.nchunks) {
		if (err)
			*err = p.err;
		return -1;
	}
	return 0;
}
