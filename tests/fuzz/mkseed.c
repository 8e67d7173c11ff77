/*
 * mkseed.c - writes the seed corpus of fuzz_dbfile: small but complete
 * database files made by the real writer, so the fuzzer starts from every
 * structure a reader meets (params record with and without vantage points,
 * id and vantage-point trees, series records with and without metadata,
 * two valid commit slots, dead data left by removals) instead of having to
 * discover a checksummed format from nothing.
 *
 *     mkseed OUTDIR
 *
 * Grid length 16 and 4 vantage points keep each file well under 64 KiB
 * (the fuzzer's -max_len), so mutations land on structure rather than on
 * long arrays of doubles; one file has L 130 for the FFT kernel readers
 * use above TSDB_DIRECT_MAX_L.  Also writes truncations of the full file,
 * and two format-3 files with metadata indexes (db-midx, db-midx-compact):
 * catalog records, live and dead, and value-row trees over numbers,
 * strings and booleans.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "series.h"
#include "synth.h"
#include "writer.h"

#define SEED_L 16u
#define SEED_NVP 4u
#define SEED_L_SPECTRAL 130u   /* just above TSDB_DIRECT_MAX_L */
_Static_assert(SEED_L_SPECTRAL > TSDB_DIRECT_MAX_L, "the spectral seed must use the FFT kernel");
#define SEED_MAX (64u * 1024u)

static const char *outdir;

static void fail(const char *what, const char *msg)
{
	fprintf(stderr, "mkseed: %s: %s\n", what, msg);
	exit(1);
}

/* Series [from, to) of synthetic set 11, L points each; every third one
 * gets metadata. */
static void insert_range(const char *dir, size_t from, size_t to, uint32_t L)
{
	tsdb_series s[64];
	tsdb_err err;
	if (to - from > sizeof s / sizeof s[0])
		fail("insert_range", "batch too large");
	for (size_t i = from; i < to; i++) {
		tsdb_series *x = &s[i - from];
		if (tsdb_synth_series(11, i, L, x, &err) != 0)
			fail("tsdb_synth_series", err.msg);
		if (i % 3 == 0) {
			char meta[64];
			int n = snprintf(meta, sizeof meta, "{\"src\":\"mkseed\",\"i\":%zu}", i);
			x->meta = strdup(meta);
			if (!x->meta)
				fail("strdup", "out of memory");
			x->meta_len = (size_t)n;
		}
	}
	if (tsdb_insert(dir, s, to - from, &(tsdb_insert_opts){0}, NULL, &err) != 0)
		fail("tsdb_insert", err.msg);
	for (size_t i = from; i < to; i++)
		tsdb_series_free(&s[i - from]);
}

/* The metadata of series i of the indexed seeds: mostly tsdb_synth_meta's
 * (order -5..5, level "A".."F", vp true or false, ...), some series
 * without any, and a few whose indexed fields are of other kinds (a real,
 * a boolean, a long string, null, missing), so every key tag and the
 * "no entry" cases are in the trees. */
static void set_index_meta(tsdb_series *x, size_t i)
{
	tsdb_err err;
	const char *odd = NULL;
	switch (i % 13) {
	case 3: return; /* no metadata */
	case 5: odd = "{\"order\":2.5,\"level\":true,\"vp\":\"yes\"}"; break;
	case 7: odd = "{\"order\":\"x\",\"level\":null}"; break;
	case 9: odd = "{\"src\":\"mkseed\"}"; break;
	case 11:
		odd = "{\"order\":-0.0,\"level\":\"CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
		      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
		      "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"
		      "CCCCCCCC\",\"vp\":false}";
		break;
	}
	if (odd) {
		x->meta = strdup(odd);
		if (!x->meta)
			fail("strdup", "out of memory");
		x->meta_len = strlen(odd);
	} else if (tsdb_synth_meta(11, i, x, &err) != 0) {
		fail("tsdb_synth_meta", err.msg);
	}
}

/* Series [from, to) of synthetic set 11 with set_index_meta's metadata. */
static void insert_indexed(const char *dir, size_t from, size_t to, uint32_t L)
{
	tsdb_series s[64];
	tsdb_err err;
	if (to - from > sizeof s / sizeof s[0])
		fail("insert_indexed", "batch too large");
	for (size_t i = from; i < to; i++) {
		tsdb_series *x = &s[i - from];
		if (tsdb_synth_series(11, i, L, x, &err) != 0)
			fail("tsdb_synth_series", err.msg);
		set_index_meta(x, i);
	}
	if (tsdb_insert(dir, s, to - from, &(tsdb_insert_opts){0}, NULL, &err) != 0)
		fail("tsdb_insert", err.msg);
	for (size_t i = from; i < to; i++)
		tsdb_series_free(&s[i - from]);
}

static void index_add(const char *dir, const char *const *fields, size_t n)
{
	size_t lens[8];
	tsdb_err err;
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(fields[i]);
	if (tsdb_index_add(dir, fields, lens, n, NULL, &err) != 0)
		fail("tsdb_index_add", err.msg);
}

static void remove_ids(const char *dir, const char *const *ids, size_t n)
{
	size_t lens[8];
	tsdb_err err;
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(ids[i]);
	if (tsdb_remove(dir, ids, lens, n, NULL, &err) != 0)
		fail("tsdb_remove", err.msg);
}

/* Reads dir/tsdb.db into *buf. */
static size_t slurp(const char *dir, unsigned char **buf)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, TSDB_DATA_FILE);
	char *p;
	size_t len;
	tsdb_err err;
	if (tsdb_read_file(path, 16u << 20, &p, &len, &err) != 0)
		fail("read", err.msg);
	*buf = (unsigned char *)p;
	return len;
}

static void emit(const char *name, const unsigned char *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", outdir, name);
	if (len > SEED_MAX)
		fprintf(stderr, "mkseed: warning: %s is %zu bytes, above the fuzzer's -max_len\n", name, len);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		fail(path, strerror(errno));
}

/* A fresh database directory under outdir (removed again by cleanup). */
static void fresh_indexed(char *dir, size_t cap, const char *name, uint32_t L, uint32_t nvp,
			  const char *const *fields, size_t nfields)
{
	snprintf(dir, cap, "%s/.mkseed-%s", outdir, name);
	tsdb_params p;
	tsdb_params_default(&p);
	p.L = L;
	p.nvp = nvp;
	p.seed = 5;
	tsdb_err err;
	size_t lens[8];
	for (size_t i = 0; i < nfields; i++)
		lens[i] = strlen(fields[i]);
	if (tsdb_init_indexed(dir, &p, fields, lens, nfields, &err) != 0)
		fail("tsdb_init_indexed", err.msg);
}

static void fresh(char *dir, size_t cap, const char *name, uint32_t L, uint32_t nvp)
{
	fresh_indexed(dir, cap, name, L, nvp, NULL, 0);
}

static void cleanup(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, TSDB_DATA_FILE);
	unlink(path);
	snprintf(path, sizeof path, "%s/%s", dir, TSDB_LOCK_FILE);
	unlink(path);
	rmdir(dir);
}

static void save(const char *dir, const char *name)
{
	unsigned char *buf;
	size_t len = slurp(dir, &buf);
	emit(name, buf, len);
	free(buf);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseed OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST)
		fail(outdir, strerror(errno));
	char dir[4096];

	/* No series: params record without vantage points, empty trees. */
	fresh(dir, sizeof dir, "empty", SEED_L, SEED_NVP);
	save(dir, "db-empty");
	/* Fewer series than vantage points: id tree only. */
	insert_range(dir, 0, 3, SEED_L);
	save(dir, "db-few");
	cleanup(dir);

	/* Three batches, two removals, no compaction: both commit slots
	 * valid, superseded nodes and records left in the file. */
	fresh(dir, sizeof dir, "history", SEED_L, SEED_NVP);
	insert_range(dir, 0, 10, SEED_L);
	insert_range(dir, 10, 20, SEED_L);
	remove_ids(dir, (const char *const[]){"ts-000004", "ts-000013"}, 2);
	save(dir, "db-history");
	cleanup(dir);

	/* The main seed: 30 series, compacted. */
	/* Above TSDB_DIRECT_MAX_L readers use the FFT kernel instead of the
	 * direct one: a few series on a longer grid. */
	fresh(dir, sizeof dir, "spectral", SEED_L_SPECTRAL, 2);
	insert_range(dir, 0, 6, SEED_L_SPECTRAL);
	save(dir, "db-spectral");
	cleanup(dir);

	fresh(dir, sizeof dir, "full", SEED_L, SEED_NVP);
	insert_range(dir, 0, 10, SEED_L);
	insert_range(dir, 10, 30, SEED_L);
	uint64_t before, after;
	tsdb_err err;
	if (tsdb_compact(dir, &before, &after, &err) != 0)
		fail("tsdb_compact", err.msg);
	save(dir, "db-full");

	/* Truncations: inside the header, at the data start, in the middle,
	 * one byte short (the commit's end is past the file). */
	unsigned char *buf;
	size_t len = slurp(dir, &buf);
	const size_t cuts[] = {100, 4096, 4096 + (len - 4096) / 2, len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "db-full-cut%zu", cuts[i]);
		emit(name, buf, cuts[i]);
	}
	free(buf);
	cleanup(dir);

	/* Metadata indexes (format 3): "order" and "level" from the start,
	 * series with and without metadata in three batches, a removal, "vp"
	 * and "mean" added later (filled from the stored series) and "mean"
	 * dropped again, so the file holds dead catalog records and a dead
	 * tree; both commit slots are format 3. */
	fresh_indexed(dir, sizeof dir, "midx", SEED_L, SEED_NVP, (const char *const[]){"order", "level"}, 2);
	insert_indexed(dir, 0, 8, SEED_L);
	insert_indexed(dir, 8, 16, SEED_L);
	remove_ids(dir, (const char *const[]){"ts-000002", "ts-000011"}, 2);
	index_add(dir, (const char *const[]){"vp", "mean"}, 2);
	if (tsdb_index_drop(dir, "mean", 4, NULL, &err) != 0)
		fail("tsdb_index_drop", err.msg);
	insert_indexed(dir, 16, 22, SEED_L);
	save(dir, "db-midx");
	/* The same compacted: one clean catalog, live trees only. */
	if (tsdb_compact(dir, &before, &after, &err) != 0)
		fail("tsdb_compact", err.msg);
	save(dir, "db-midx-compact");
	cleanup(dir);
	return 0;
}
