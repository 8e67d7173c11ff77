/*
 * gen.c - JSON Lines of synthetic series (see gen.h).
 *
 * Formatting 17-digit reals is most of the time, so chunks of series are
 * formatted by worker threads and written in order by the calling thread:
 * the output is the same whatever the number of threads, and a thread
 * that cannot be started means its chunk is formatted by the caller.
 */
#include "gen.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "series.h"
#include "synth.h"

#define GEN_CHUNK 256
#define GEN_THREADS_MAX 8

struct gen_job {
	uint64_t seed, first, count;
	uint32_t L;
	int meta;
	char *buf;           /* count JSON lines */
	size_t len, cap;
	int failed;
	tsdb_err err;
};

static int gen_append(struct gen_job *j, const json_t *o)
{
	size_t need = json_dumpb(o, NULL, 0, JSON_COMPACT | JSON_REAL_PRECISION(17));
	if (need == 0)
		return tsdb_errf(&j->err, TSDB_E_UNKNOWN, "cannot serialize a series");
	if (j->cap - j->len < need + 1) {
		size_t cap = (j->len + need + 1) * 2;
		char *b = realloc(j->buf, cap);
		if (!b)
			return tsdb_errf(&j->err, TSDB_E_UNKNOWN, "out of memory");
		j->buf = b;
		j->cap = cap;
	}
	json_dumpb(o, j->buf + j->len, need, JSON_COMPACT | JSON_REAL_PRECISION(17));
	j->len += need;
	j->buf[j->len++] = '\n';
	return 0;
}

static void *gen_work(void *arg)
{
	struct gen_job *j = arg;
	j->len = 0;
	for (uint64_t i = j->first; i < j->first + j->count && !j->failed; i++) {
		tsdb_series s;
		if (tsdb_synth_series(j->seed, i, j->L, &s, &j->err) ||
		    (j->meta && tsdb_synth_meta(j->seed, i, &s, &j->err))) {
			tsdb_series_free(&s);
			j->failed = 1;
			break;
		}
		json_t *o = tsdb_series_to_json(&s);
		tsdb_series_free(&s);
		if (!o)
			j->failed = tsdb_errf(&j->err, TSDB_E_UNKNOWN, "out of memory") != 0;
		else
			j->failed = gen_append(j, o) != 0;
		json_decref(o);
	}
	return NULL;
}

int tsdb_gen_write(FILE *out, uint64_t seed, uint64_t n, uint32_t L, tsdb_err *err)
{
	return tsdb_gen_write_meta(out, seed, n, L, 0, err);
}

int tsdb_gen_write_meta(FILE *out, uint64_t seed, uint64_t n, uint32_t L, int meta, tsdb_err *err)
{
	struct gen_job jobs[GEN_THREADS_MAX] = {0};
	pthread_t tid[GEN_THREADS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus > GEN_THREADS_MAX ? GEN_THREADS_MAX : (int)cpus;
	int rc = 0;
	json_object_seed(0); /* before any thread makes objects (jansson's rule) */
	for (uint64_t next = 0; next < n && rc == 0;) {
		int started[GEN_THREADS_MAX] = {0}, used = 0;
		for (; used < nt && next < n; used++) {
			struct gen_job *j = &jobs[used];
			j->seed = seed;
			j->L = L;
			j->meta = meta;
			j->first = next;
			j->count = n - next < GEN_CHUNK ? n - next : GEN_CHUNK;
			next += j->count;
			started[used] = pthread_create(&tid[used], NULL, gen_work, j) == 0;
			if (!started[used])
				gen_work(j);
		}
		for (int t = 0; t < used; t++) {
			if (started[t])
				pthread_join(tid[t], NULL);
			if (jobs[t].failed && rc == 0) {
				if (err)
					*err = jobs[t].err;
				rc = -1;
			}
			if (rc == 0 && fwrite(jobs[t].buf, 1, jobs[t].len, out) != jobs[t].len)
				rc = tsdb_errf(err, TSDB_E_IO, "cannot write the series");
		}
	}
	for (int t = 0; t < nt; t++)
		free(jobs[t].buf);
	return rc;
}
