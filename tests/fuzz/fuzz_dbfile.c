/*
 * fuzz_dbfile.c - libFuzzer target for the read side of a database file:
 * what a handler does with whatever bytes tsdb.db holds (db.h, cowfile.h,
 * rbtree.h, check.h, search.h).  A reader must never read outside its
 * mapping, loop forever or crash on a damaged or hostile file; it may only
 * refuse it (TSDB_E_CORRUPT, TSDB_E_VERSION).
 *
 * Each input is the whole file: it goes into a memfd, tsdb_db_open_fd opens
 * it, and when that succeeds every reader runs on it: tsdb_check (shallow,
 * and deep when shallow passes), tsdb_db_list, tsdb_db_find, and k-nearest,
 * radius and brute-force searches by a fixed synthetic series and by a
 * stored id.  Every call that fails must have filled its tsdb_err (the
 * handler's status comes from it).  When the deep check passes and the
 * vantage points are consistent too, the file is self-consistent, so the
 * vantage-point search must return exactly the brute-force answer
 * (decision 6 of docs/DESIGN.md); a difference aborts.
 *
 * Every structure in the file carries a CRC-32C, so random mutations would
 * almost never get past the checksums.  A custom mutator therefore
 * (a) sometimes mutates a structural field on purpose (tree links, record,
 * pivot row and params headers, commit words) instead of random bytes, and
 * (b) recomputes the checksums of the header, both commit slots, the params
 * record, and every tree node and series record reachable from a slot,
 * for 7 of 8 mutants (the 8th keeps its broken checksums so the checksum
 * paths stay covered).  The fix-up happens in the mutator, so a saved
 * crash file reproduces as is.  Seeds: tests/fuzz/mkseed.c.
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "cowfile.h"
#include "crc32c.h"
#include "db.h"
#include "dbformat.h"
#include "le.h"
#include "rbtree.h"
#include "search.h"
#include "synth.h"

#define SLOT_MAGIC 0x544d4354u /* "TCMT", private to cowfile.c */
#define SLOT_FIXED 56u         /* commit slot bytes before words[] (cowfile.c) */
#define MAX_IDS 4              /* stored ids the harness looks up */
#define MAX_FIELDS 4096        /* structural fields the mutator remembers */

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_dbfile: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* ---- the layout of a (possibly damaged) file, for the mutator ----------- */

typedef struct layout {
	uint8_t *seen;                 /* bitmap over 4-byte units: nodes walked */
	uint64_t node[MAX_FIELDS];     /* tree nodes reachable from a slot */
	uint64_t rec[MAX_FIELDS];      /* series records referenced by a node or pivot */
	uint64_t piv[MAX_FIELDS];      /* pivot rows referenced by a node */
	uint64_t params[2];            /* params records of the two slots */
	size_t nnode, nrec, npiv, nparams;
	uint32_t slot_words[2];        /* words in each slot with a magic, else 0 */
} layout;

static void push(uint64_t *a, size_t *n, uint64_t v)
{
	if (*n < MAX_FIELDS)
		a[(*n)++] = v;
}

/* Walks a tree from root the way a reader would, but tolerantly: nodes
 * are recorded whatever their checksum says, children must lie below
 * their parent (as node_read demands, so this terminates) and each node is
 * walked once, so a damaged file cannot make the walk exponential. */
static void walk_tree(const uint8_t *d, uint64_t end, uint64_t root, layout *lay)
{
	uint64_t stack[256];
	size_t sp = 0;
	stack[sp++] = root;
	while (sp > 0) {
		uint64_t off = stack[--sp];
		if (off < COW_DATA_START || off % 4 || off > end || end - off < RBT_NODE_HEADER)
			continue;
		if (lay->seen[off / 32] & (1u << (off / 4 % 8)))
			continue;
		lay->seen[off / 32] |= (uint8_t)(1u << (off / 4 % 8));
		push(lay->node, &lay->nnode, off);
		uint64_t left = le64_get(d + off + 8), right = le64_get(d + off + 16);
		uint64_t value = le64_get(d + off + 24);
		/* id entries point at series records, vantage-point entries at
		 * pivot rows, which point at series records */
		if (value % 8 == 0 && value >= COW_DATA_START && value <= end && end - value >= REC_FIXED) {
			if (le32_get(d + value) == PIVOT_MAGIC) {
				push(lay->piv, &lay->npiv, value);
				value = le64_get(d + value + 8);
			}
			if (value % 8 == 0 && value >= COW_DATA_START && value <= end &&
			    end - value >= REC_FIXED && le32_get(d + value) == REC_MAGIC)
				push(lay->rec, &lay->nrec, value);
		}
		if (left && left < off && sp < sizeof stack / sizeof stack[0])
			stack[sp++] = left;
		if (right && right < off && sp < sizeof stack / sizeof stack[0])
			stack[sp++] = right;
	}
}

/* Finds what each commit slot reaches.  Returns 0, or -1 when the file is
 * too small to hold the header and slots. */
static int scan(const uint8_t *d, size_t n, layout *lay)
{
	memset(lay, 0, sizeof *lay);
	if (n < COW_DATA_START)
		return -1;
	lay->seen = calloc(n / 32 + 1, 1);
	if (!lay->seen)
		die("out of memory", NULL);
	for (int i = 0; i < 2; i++) {
		const uint8_t *s = d + COW_SLOT_OFFSET(i);
		uint32_t nw = le32_get(s + 48);
		if (le32_get(s) != SLOT_MAGIC || nw > COW_META_WORDS)
			continue;
		lay->slot_words[i] = nw;
		uint64_t end = le64_get(s + 16);
		if (end > n)
			end = n;  /* fix what a truncated file still holds */
		const uint8_t *w = s + SLOT_FIXED;
		if (nw > W_PARAMS)
			lay->params[lay->nparams++] = le64_get(w + 8 * W_PARAMS);
		if (nw > W_ID_ROOT)
			walk_tree(d, end, le64_get(w + 8 * W_ID_ROOT), lay);
		for (uint32_t k = W_VP0; k < nw; k += 2)
			walk_tree(d, end, le64_get(w + 8 * k), lay);
	}
	return 0;
}

/* Recomputes a record's checksum: u32 magic, u32 crc of [8, size), u32 size. */
static void fix_record(uint8_t *d, size_t n, uint64_t off, uint32_t magic)
{
	if (off % 8 || off < COW_DATA_START || off > n || n - off < 12 || le32_get(d + off) != magic)
		return;
	uint32_t size = le32_get(d + off + 8);
	if (size >= 12 && size <= n - off)
		le32_put(d + off + 4, crc32c(0, d + off + 8, size - 8));
}

/* Makes every checksum the scan can find match its bytes.  Nodes go after
 * records so that, where a mutant makes them overlap, the tree wins. */
static void fix_checksums(uint8_t *d, size_t n)
{
	layout lay;
	if (scan(d, n, &lay) < 0)
		return;
	for (size_t i = 0; i < lay.nrec; i++)
		fix_record(d, n, lay.rec[i], REC_MAGIC);
	for (size_t i = 0; i < lay.nparams; i++)
		fix_record(d, n, lay.params[i], PARAMS_MAGIC);
	for (size_t i = 0; i < lay.nnode; i++) {
		uint64_t off = lay.node[i];
		uint32_t ks = le32_get(d + off + 4) >> 16;
		if (ks <= RBT_KEY_MAX && ks <= n - off - RBT_NODE_HEADER)
			le32_put(d + off, crc32c(0, d + off + 4, RBT_NODE_HEADER + ks - 4));
	}
	free(lay.seen);
	/* A slot is bound to its file by the header's file id; keep them
	 * together so slot mutations are judged on their own content. */
	for (int i = 0; i < 2; i++) {
		uint8_t *s = d + COW_SLOT_OFFSET(i);
		uint32_t nw = le32_get(s + 48);
		if (le32_get(s) != SLOT_MAGIC || nw > COW_META_WORDS)
			continue;
		memcpy(s + 32, d + 24, 16);
		size_t used = SLOT_FIXED + 8 * (size_t)nw;
		le32_put(s + used, crc32c(0, s, used));
	}
	le32_put(d + 60, crc32c(0, d, 60));
}

/* ---- the mutator --------------------------------------------------------- */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64*: the mutator must be deterministic given libFuzzer's seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* libFuzzer's own mutations, confined to data[off, off + len). */
static void mutate_range(uint8_t *data, size_t size, uint64_t off, size_t len)
{
	uint8_t tmp[64];
	if (off >= size)
		return;
	if (len > sizeof tmp)
		len = sizeof tmp;
	if (len > size - off)
		len = size - off;
	memcpy(tmp, data + off, len);
	size_t got = LLVMFuzzerMutate(tmp, len, len);
	memcpy(data + off, tmp, got < len ? got : len);
}

/* One structural mutation: rewire a tree link, or mutate a header field. */
static void mutate_structure(uint8_t *data, size_t size, uint64_t *rng)
{
	layout lay;
	if (scan(data, size, &lay) < 0)
		return;
	uint64_t r = next_rand(rng);
	switch (r % 7) {
	case 0:
	case 1:
		if (lay.nnode) {
			/* a child or value pointing at another node, at itself, at
			 * nothing, at its sibling (left == right), or at another
			 * pivot row or record */
			uint64_t node = lay.node[next_rand(rng) % lay.nnode];
			uint64_t field = node + 8 + 8 * (next_rand(rng) % 3);
			uint64_t v;
			switch (next_rand(rng) % 4) {
			case 0: v = lay.node[next_rand(rng) % lay.nnode]; break;
			case 1: v = 0; break;
			case 2: v = le64_get(data + node + (field == node + 8 ? 16 : 8)); break;
			default: /* a pivot row or a series record */
				if (lay.npiv && next_rand(rng) % 2)
					v = lay.piv[next_rand(rng) % lay.npiv];
				else
					v = lay.nrec ? lay.rec[next_rand(rng) % lay.nrec] : node;
				break;
			}
			le64_put(data + field, v);
		}
		break;
	case 2:
		if (lay.nnode) /* info (color, kind, key size), links, key */
			mutate_range(data, size, lay.node[next_rand(rng) % lay.nnode] + 4, 4 + 24 + 16);
		break;
	case 3:
		if (lay.nrec) /* size, row, npoints, meta_len, id_len, nvp, L, log K */
			mutate_range(data, size, lay.rec[next_rand(rng) % lay.nrec] + 8, 32);
		break;
	case 4:
		if (lay.nparams) /* L, mult, seed, nvp, nchosen, first vp id */
			mutate_range(data, size, lay.params[next_rand(rng) % lay.nparams] + 8, 48);
		break;
	case 5:
		if (lay.npiv) /* row, record offset, first distances */
			mutate_range(data, size, lay.piv[next_rand(rng) % lay.npiv] + 4, 12 + 16);
		break;
	default: { /* commit words, txn, end */
		int slot = (int)(next_rand(rng) % 2);
		uint32_t nw = lay.slot_words[slot];
		uint64_t off = COW_SLOT_OFFSET(slot) + 8 + 8 * (next_rand(rng) % (nw + 6));
		mutate_range(data, size, off, 8);
		break;
	}
	}
	free(lay.seen);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint64_t rng = (uint64_t)seed * UINT64_C(0x9e3779b97f4a7c15) | 1;
	if (next_rand(&rng) % 2 == 0 && size >= COW_DATA_START)
		mutate_structure(data, size, &rng);
	else
		size = LLVMFuzzerMutate(data, size, max_size);
	if (next_rand(&rng) % 8 != 0)
		fix_checksums(data, size);
	return size;
}

/* ---- the readers --------------------------------------------------------- */

static int memfd = -1;
static tsdb_series query_series;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tsdb_err err;
	memfd = memfd_create("fuzz-tsdb.db", MFD_CLOEXEC);
	if (memfd < 0)
		die("memfd_create failed", NULL);
	/* An irregular length, so the query is interpolated onto any grid. */
	if (tsdb_synth_series(7, 3, 24, &query_series, &err) != 0)
		die("tsdb_synth_series failed", err.msg);
	return 0;
}

typedef struct id_list {
	char id[MAX_IDS][TSDB_ID_MAX + 1];
	size_t len[MAX_IDS];
	size_t n, calls;
} id_list;

static int collect(void *ctx, const char *id, size_t len, tsdb_err *err)
{
	(void)err;
	id_list *l = ctx;
	if (len < 1 || len > TSDB_ID_MAX)
		die("tsdb_db_list passed an impossible id length", NULL);
	l->calls++;
	if (l->n < MAX_IDS) {
		memcpy(l->id[l->n], id, len);
		l->len[l->n++] = len;
	}
	return 0;
}

/* Every call that fails must say why (err.h): the handler turns the code
 * into the response status, so a failure with an empty tsdb_err would
 * reach a client as "OK" with no answer. */
static tsdb_err *fresh(tsdb_err *e)
{
	e->code = TSDB_E_NONE;
	e->msg[0] = '\0';
	return e;
}

static int ok(int rc, const tsdb_err *e, const char *what)
{
	if (rc != 0 && (e->code == TSDB_E_NONE || e->msg[0] == '\0'))
		die("failed without filling its tsdb_err", what);
	return rc == 0;
}

static void look_up(tsdb_db *db, const char *id, size_t len)
{
	tsdb_rec rec;
	tsdb_err err;
	if (!ok(tsdb_db_find(db, id, len, &rec, fresh(&err)), &err, "tsdb_db_find"))
		return;
	if (rec.id_len != len || memcmp(rec.id, id, len) != 0)
		die("tsdb_db_find returned another id's record", NULL);
	tsdb_series s;
	if (ok(tsdb_rec_series(&rec, &s, fresh(&err)), &err, "tsdb_rec_series"))
		tsdb_series_free(&s);
	/* fewer and more sparkline points than grid points (seeds have L 16) */
	double shape[40];
	tsdb_shape(rec.grid, db->params.L, shape, 9);
	tsdb_shape(rec.grid, db->params.L, shape, 40);
}

static void same_hits(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb)
{
	char msg[256];
	if (na != nb) {
		snprintf(msg, sizeof msg, "%u hits versus %u", na, nb);
		die("vantage-point search differs from brute force on a checked file", msg);
	}
	for (uint32_t i = 0; i < na; i++)
		if (a[i].off != b[i].off || memcmp(&a[i].distance, &b[i].distance, sizeof(double)) != 0) {
			snprintf(msg, sizeof msg, "hit %u: %.17g at %llu versus %.17g at %llu", i, a[i].distance,
				 (unsigned long long)a[i].off, b[i].distance, (unsigned long long)b[i].off);
			die("vantage-point search differs from brute force on a checked file", msg);
		}
}

static void search(tsdb_db *db, const tsdb_query *q, int consistent)
{
	tsdb_hit knn[3], brute[3], *within = NULL;
	uint32_t nknn = 0, nbrute = 0, nwithin = 0;
	int truncated = 0;
	tsdb_err err;
	int rk = ok(tsdb_search_knn(db, q, 3, knn, &nknn, NULL, fresh(&err)), &err,
			"tsdb_search_knn");
	int rb = ok(tsdb_search_brute(db, q, 3, brute, &nbrute, NULL, fresh(&err)), &err,
			"tsdb_search_brute");
	if (consistent && rk && rb)
		same_hits(knn, nknn, brute, nbrute);
	if (ok(tsdb_search_within(db, q, 0.9, 10, &within, &nwithin, &truncated, NULL, fresh(&err)), &err,
	       "tsdb_search_within")) {
		if (nwithin > 10)
			die("tsdb_search_within returned more than its limit", NULL);
		free(within);
	}
}

/* Whether each vantage point's stored spectrum and self-kernel are those
 * of its stored grid: searches at L <= TSDB_DIRECT_MAX_L use the grid, the
 * writer used the spectrum, so the deep check must refuse a params record
 * where they disagree (an independent restatement of that check). */
static int vantage_points_consistent(const tsdb_db *db)
{
	uint32_t L = db->params.L;
	size_t ns = tsdb_spectrum_doubles(L);
	tsdb_kernel k;
	tsdb_err err;
	double *spec = malloc(ns * sizeof *spec), ls;
	if (!spec || tsdb_kernel_init(&k, L, db->params.mult, &err) != 0)
		die("cannot recompute vantage points", err.msg);
	int same = 1;
	for (uint32_t i = 0; i < db->nchosen && same; i++) {
		tsdb_prepare_stored(&k, db->vp[i].grid, spec, &ls);
		/* the checker's tolerance for series records (check.c) */
		for (size_t j = 0; j < ns; j++)
			same &= fabs(spec[j] - db->vp[i].spectrum[j]) <= 1e-9 * (1 + fabs(db->vp[i].spectrum[j]));
		same &= fabs(ls - db->vp[i].log_self) <= 1e-9 * (1 + fabs(db->vp[i].log_self));
	}
	tsdb_kernel_free(&k);
	free(spec);
	return same;
}

static void exercise(tsdb_db *db)
{
	tsdb_err err;
	tsdb_check_report rep;
	/* Readers do not run the checker first, so everything below runs
	 * whatever it says; only the exactness oracle needs a clean file. */
	int consistent = ok(tsdb_check(db, 0, &rep, fresh(&err)), &err, "tsdb_check") &&
			 ok(tsdb_check(db, 1, &rep, fresh(&err)), &err, "tsdb_check deep");
	if (consistent && !vantage_points_consistent(db))
		die("the deep check passed a params record whose vantage-point grid disagrees with its spectrum",
		    NULL);

	id_list ids = {0}, some = {0};
	int more = 0;
	ok(tsdb_db_list(db, NULL, 0, NULL, 0, 64, collect, &ids, &more, fresh(&err)), &err, "tsdb_db_list");
	if (ids.calls > 64)
		die("tsdb_db_list exceeded its limit", NULL);
	ok(tsdb_db_list(db, "ts-000005", 9, "ts-0000", 7, 5, collect, &some, &more, fresh(&err)), &err,
	   "tsdb_db_list after+prefix");
	ok(tsdb_db_list(db, NULL, 0, "ts-00001", 8, 3, collect, &some, &more, fresh(&err)), &err,
	   "tsdb_db_list prefix");
	ok(tsdb_db_list(db, "ts-000028", 9, NULL, 0, 100, collect, &some, &more, fresh(&err)), &err,
	   "tsdb_db_list after");

	for (size_t i = 0; i < ids.n; i++)
		look_up(db, ids.id[i], ids.len[i]);
	look_up(db, "ts-000003", 9);
	look_up(db, "no such id", 10);

	tsdb_query q;
	if (ok(tsdb_query_from_series(db, &query_series, &q, fresh(&err)), &err, "tsdb_query_from_series")) {
		search(db, &q, consistent);
		tsdb_query_free(&q);
	}
	if (ids.n && ok(tsdb_query_from_id(db, ids.id[0], ids.len[0], &q, fresh(&err)), &err,
			"tsdb_query_from_id")) {
		search(db, &q, consistent);
		tsdb_query_free(&q);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(memfd, 0) != 0 || ftruncate(memfd, (off_t)size) != 0 ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		die("cannot fill the memfd", NULL);
	tsdb_db db;
	tsdb_err err = {.code = TSDB_E_NONE};
	if (tsdb_db_open_fd(&db, memfd, "fuzz", &err) != 0) {
		if (err.code == TSDB_E_NONE)
			die("tsdb_db_open_fd failed without an error code", err.msg);
		return 0;
	}
	exercise(&db);
	tsdb_db_close(&db);
	return 0;
}
