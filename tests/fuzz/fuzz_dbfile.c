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
 * stored id, unfiltered and filtered by fixed `where`s on the fields the
 * seeds index (metadata indexes, metaindex.h) under the index plan and the
 * planner's choice, and tsdb_select_run with the same filters.  Every call
 * that fails must have filled its tsdb_err (the handler's status comes
 * from it).  When the deep check passes and the vantage points are
 * consistent too, the file is self-consistent, so the vantage-point and
 * index searches must return exactly the brute-force answer with the same
 * filter (decision 6 of docs/DESIGN.md), and select exactly the matching
 * ids a pass over the id index finds; a difference aborts.
 *
 * Every structure in the file carries a CRC-32C, so random mutations would
 * almost never get past the checksums.  A custom mutator therefore
 * (a) sometimes mutates a structural field on purpose (tree links, record,
 * pivot row and params headers, a record's metadata text, metadata index
 * catalog fields, commit words) instead of random bytes, and
 * (b) recomputes the checksums of the header, both commit slots, the params
 * record, the metadata index catalog of a format-3 slot, and every tree
 * node (id, vantage-point and metadata index trees) and series record
 * reachable from a slot, for 7 of 8 mutants (the 8th keeps its broken
 * checksums so the checksum paths stay covered).  The fix-up happens in the mutator, so a saved
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
#include "metaindex.h"
#include "predicate.h"
#include "rbkeys.h"
#include "rbtree.h"
#include "search.h"
#include "select.h"
#include "synth.h"

#define SLOT_MAGIC 0x544d4354u /* "TCMT", private to cowfile.c */
#define SLOT_FIXED 56u         /* commit slot bytes before words[] (cowfile.c) */
#define MAX_IDS 4              /* stored ids the harness looks up */
#define MAX_FIELDS 4096        /* structural fields the mutator remembers */
#define CAT_FIXED 16u          /* catalog bytes before its entries (metaindex.c) */
#define CAT_ENTRY_FIXED 17u    /* entry bytes before the name: root, count, length */
#define MAX_CAT_ENTRIES (2 * TSDB_MIDX_MAX)
#define MAX_MATCHES 64         /* matching ids the select oracle compares */

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
	uint64_t cat[2];               /* metadata index catalogs of format-3 slots */
	uint64_t cat_entry[MAX_CAT_ENTRIES]; /* their entries (root, count, name) */
	size_t nnode, nrec, npiv, nparams, ncat, ncat_entry;
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

/* Records the catalog record at off (a format-3 slot's next-to-last word)
 * and walks every index tree it names, as tolerantly as walk_tree: the
 * count and name lengths are followed only as far as the record's bytes
 * (its size, cut to the commit's end) hold them. */
static void walk_catalog(const uint8_t *d, uint64_t end, uint64_t off, layout *lay)
{
	if (off % 8 || off < COW_DATA_START || off > end || end - off < CAT_FIXED ||
	    le32_get(d + off) != MIDX_MAGIC)
		return;
	for (size_t i = 0; i < lay->ncat; i++)
		if (lay->cat[i] == off)
			return; /* both slots name it: walked already */
	if (lay->ncat < sizeof lay->cat / sizeof lay->cat[0])
		lay->cat[lay->ncat++] = off;
	uint64_t size = le32_get(d + off + 8);
	if (size > end - off)
		size = end - off;
	uint32_t n = le32_get(d + off + 12);
	uint64_t at = CAT_FIXED;
	for (uint32_t i = 0; i < n && i < TSDB_MIDX_MAX && size >= at && size - at >= CAT_ENTRY_FIXED; i++) {
		if (lay->ncat_entry < MAX_CAT_ENTRIES)
			lay->cat_entry[lay->ncat_entry++] = off + at;
		walk_tree(d, end, le64_get(d + off + at), lay);
		uint8_t len = d[off + at + 16];
		if (len == 0)
			break;
		at += CAT_ENTRY_FIXED + len;
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
		/* format 3: the last two words name the catalog (0: none) and
		 * count dead bytes; they are not trees (db.h) */
		uint32_t nvpw = nw;
		if (nw >= W_VP0 + 2 && le64_get(w + 8 * W_MAGIC) == TSDB_DB_MAGIC_V3) {
			nvpw = nw - 2;
			walk_catalog(d, end, le64_get(w + 8 * (nw - 2)), lay);
		}
		for (uint32_t k = W_VP0; k < nvpw; k += 2)
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
	for (size_t i = 0; i < lay.ncat; i++)
		fix_record(d, n, lay.cat[i], MIDX_MAGIC);
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

/* Where a series record's metadata text starts (db.h's layout, from the
 * record's own header fields), or 0 when it does not fit in the file. */
static uint64_t rec_meta_at(const uint8_t *data, size_t size, uint64_t rec, uint32_t *len)
{
	if (rec > size || size - rec < REC_FIXED)
		return 0;
	uint64_t npoints = le32_get(data + rec + 16), id_len = le16_get(data + rec + 24);
	uint64_t nvp = le16_get(data + rec + 26), L = le32_get(data + rec + 28);
	*len = le32_get(data + rec + 20);
	uint64_t at = REC_FIXED + 8 * (1 + L + 2 * (L / 2 + 1) + nvp + 2 * npoints) + id_len;
	if (*len == 0 || at > size - rec || *len > size - rec - at)
		return 0;
	return rec + at;
}

/* One mutation of a metadata index catalog: its count or size, or an
 * entry's root, entry count, name length or name. */
static void mutate_catalog(uint8_t *data, size_t size, const layout *lay, uint64_t *rng)
{
	uint64_t cat = lay->cat[next_rand(rng) % lay->ncat];
	uint64_t e = lay->ncat_entry ? lay->cat_entry[next_rand(rng) % lay->ncat_entry] : 0;
	uint64_t r = next_rand(rng);
	switch (r % 6) {
	case 0: { /* count: one more or fewer, none, too many, or anything */
		uint32_t c = le32_get(data + cat + 12);
		const uint32_t to[] = {c + 1, c - 1, 0, TSDB_MIDX_MAX + 1};
		if (next_rand(rng) % 5 == 4)
			mutate_range(data, size, cat + 12, 4);
		else
			le32_put(data + cat + 12, to[next_rand(rng) % 4]);
		break;
	}
	case 1: { /* size: a word more or less, or anything */
		uint32_t sz = le32_get(data + cat + 8);
		if (next_rand(rng) % 2)
			le32_put(data + cat + 8, next_rand(rng) % 2 ? sz + 8 : sz - 8);
		else
			mutate_range(data, size, cat + 8, 4);
		break;
	}
	case 2: /* a root: another index's, any tree's node, none, or anything */
		if (e) {
			uint64_t v;
			switch (next_rand(rng) % 4) {
			case 0: v = le64_get(data + lay->cat_entry[next_rand(rng) % lay->ncat_entry]); break;
			case 1: v = lay->nnode ? lay->node[next_rand(rng) % lay->nnode] : 0; break;
			case 2: v = 0; break;
			default: mutate_range(data, size, e, 8); v = le64_get(data + e); break;
			}
			le64_put(data + e, v);
		}
		break;
	case 3: /* an entry count: off by one, none, another's, or anything */
		if (e) {
			uint64_t c = le64_get(data + e + 8);
			switch (next_rand(rng) % 4) {
			case 0: c += next_rand(rng) % 2 ? 1 : UINT64_MAX; break;
			case 1: c = 0; break;
			case 2: c = le64_get(data + lay->cat_entry[next_rand(rng) % lay->ncat_entry] + 8); break;
			default: mutate_range(data, size, e + 8, 8); c = le64_get(data + e + 8); break;
			}
			le64_put(data + e + 8, c);
		}
		break;
	case 4: /* a name length: off by one, 0, 255, or anything */
		if (e) {
			uint8_t len = data[e + 16];
			const uint8_t to[] = {(uint8_t)(len + 1), (uint8_t)(len - 1), 0, 255};
			if (next_rand(rng) % 5 == 4)
				mutate_range(data, size, e + 16, 1);
			else
				data[e + 16] = to[next_rand(rng) % 4];
		}
		break;
	default: /* a name's bytes (another index's name, not valid UTF-8, a NUL...) */
		if (e)
			mutate_range(data, size, e + CAT_ENTRY_FIXED, data[e + 16] ? data[e + 16] : 1);
		break;
	}
}

/* Commit words (the catalog's included), txn, end. */
static void mutate_commit_word(uint8_t *data, size_t size, const layout *lay, uint64_t *rng)
{
	int slot = (int)(next_rand(rng) % 2);
	uint32_t nw = lay->slot_words[slot];
	uint64_t off = COW_SLOT_OFFSET(slot) + 8 + 8 * (next_rand(rng) % (nw + 6));
	mutate_range(data, size, off, 8);
}

/* One structural mutation: rewire a tree link, or mutate a header field. */
static void mutate_structure(uint8_t *data, size_t size, uint64_t *rng)
{
	layout lay;
	if (scan(data, size, &lay) < 0)
		return;
	uint64_t r = next_rand(rng);
	switch (r % 8) {
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
		if (lay.nrec) {
			uint64_t rec = lay.rec[next_rand(rng) % lay.nrec];
			uint32_t len;
			uint64_t meta = next_rand(rng) % 2 ? rec_meta_at(data, size, rec, &len) : 0;
			if (meta) { /* metadata text, from anywhere in it */
				uint64_t from = next_rand(rng) % len;
				mutate_range(data, size, meta + from, len - from);
			} else { /* size, row, npoints, meta_len, id_len, nvp, L, log K */
				mutate_range(data, size, rec + 8, 32);
			}
		}
		break;
	case 4:
		if (lay.nparams) /* L, mult, seed, nvp, nchosen, first vp id */
			mutate_range(data, size, lay.params[next_rand(rng) % lay.nparams] + 8, 48);
		break;
	case 5:
		if (lay.npiv) /* row, record offset, first distances */
			mutate_range(data, size, lay.piv[next_rand(rng) % lay.npiv] + 4, 12 + 16);
		break;
	case 6:
		if (lay.ncat)
			mutate_catalog(data, size, &lay, rng);
		else
			mutate_commit_word(data, size, &lay, rng);
		break;
	default:
		mutate_commit_word(data, size, &lay, rng);
		break;
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

/* Filters on the fields the db-midx seeds index ("order" and "level" from
 * the start, "vp" added later), compiled once: a number range, a string
 * equality, string and number ranges on two indexed fields at once (the
 * planner picks one), an "in" list of a boolean and a string (two key
 * kinds), an "in" list of integers and a real. */
static const char *const where_json[] = {
	"{\"order\": {\">=\": 0}}",
	"{\"level\": \"C\"}",
	"{\"level\": {\">\": \"B\", \"<\": \"D\"}, \"order\": {\"<\": 3}}",
	"{\"vp\": {\"in\": [true, \"yes\"]}}",
	"{\"order\": {\"in\": [-5, 2.5, 4]}}",
};
#define NWHERE (sizeof where_json / sizeof where_json[0])
static tsdb_pred *where[NWHERE];
static json_t *all_fields, *some_fields; /* [] and ["level", "order"] for select */

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
	for (size_t i = 0; i < NWHERE; i++) {
		json_error_t je;
		json_t *j = json_loads(where_json[i], 0, &je);
		if (!j)
			die("a fixed filter is not JSON", je.text);
		if (tsdb_pred_compile(j, &where[i], &err) != 0)
			die("a fixed filter does not compile", err.msg);
		json_decref(j);
	}
	all_fields = json_array();
	some_fields = json_pack("[ss]", "level", "order");
	if (!all_fields || !some_fields)
		die("out of memory", NULL);
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

static void same_hits_as(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb, const char *what)
{
	char msg[256];
	if (na != nb) {
		snprintf(msg, sizeof msg, "%u hits versus %u", na, nb);
		die(what, msg);
	}
	for (uint32_t i = 0; i < na; i++)
		if (a[i].off != b[i].off || memcmp(&a[i].distance, &b[i].distance, sizeof(double)) != 0) {
			snprintf(msg, sizeof msg, "hit %u: %.17g at %llu versus %.17g at %llu", i, a[i].distance,
				 (unsigned long long)a[i].off, b[i].distance, (unsigned long long)b[i].off);
			die(what, msg);
		}
}

static void same_hits(const tsdb_hit *a, uint32_t na, const tsdb_hit *b, uint32_t nb)
{
	same_hits_as(a, na, b, nb, "vantage-point search differs from brute force on a checked file");
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

/* Searches filtered by p: k-nearest under the index plan (forced) and the
 * planner's choice, and radius under the index plan, against brute force
 * with the same filter.  On a consistent file they must agree exactly; on
 * any file a forced index plan must run as one whenever
 * tsdb_index_plan_choose finds an index for p, and every failure must be
 * explained.  (A checked input runs about 50 filtered searches; what is left
 * out keeps an exec cheap: the brute-force radius reference on files that
 * failed the check, a radius search under the planner's choice.) */
static void filtered_search(tsdb_db *db, tsdb_query *q, const tsdb_pred *p, int consistent)
{
	tsdb_hit ref[3], hits[3], *ref_within = NULL;
	uint32_t nref = 0, nhits = 0, nref_within = 0;
	int ref_truncated = 0;
	tsdb_err err;
	tsdb_search_stats st;
	q->where = p;
	q->plan = TSDB_PLAN_AUTO;
	int rb = ok(tsdb_search_brute(db, q, 3, ref, &nref, NULL, fresh(&err)), &err, "tsdb_search_brute where");
	int rbw = consistent && ok(tsdb_search_brute_within(db, q, 0.9, 10, &ref_within, &nref_within,
							    &ref_truncated, NULL, fresh(&err)),
				   &err, "tsdb_search_brute_within where");
	tsdb_index_plan ip;
	int rip = ok(tsdb_index_plan_choose(db, p, UINT64_MAX, &ip, fresh(&err)), &err, "tsdb_index_plan_choose");
	if (rip && ip.ix) {
		if (ip.ix < db->midx || ip.ix >= db->midx + db->nmidx)
			die("tsdb_index_plan_choose chose an index the database does not have", NULL);
		if (ip.nranges < 0 || ip.nranges > (int)TSDB_PRED_MAX_RANGES)
			die("tsdb_index_plan_choose returned an impossible number of ranges", NULL);
		if (consistent && ip.entries > ip.ix->root.count)
			die("tsdb_index_plan_choose counted more entries in range than the index holds", NULL);
	}
	static const enum tsdb_plan plans[] = {TSDB_PLAN_INDEX, TSDB_PLAN_AUTO};
	for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
		q->plan = plans[i];
		if (ok(tsdb_search_knn(db, q, 3, hits, &nhits, &st, fresh(&err)), &err, "tsdb_search_knn where")) {
			if (st.plan == TSDB_PLAN_AUTO)
				die("a search reports the plan AUTO as the one that ran", NULL);
			if (plans[i] == TSDB_PLAN_INDEX && rip && ip.ix &&
			    (st.plan != TSDB_PLAN_INDEX || st.index_field != ip.ix->field))
				die("a forced index plan did not run on the index tsdb_index_plan_choose picks", NULL);
			if (nhits > 3)
				die("tsdb_search_knn returned more than k hits", NULL);
			if (consistent && rb)
				same_hits_as(hits, nhits, ref, nref,
					     "filtered k-nearest search differs from brute force on a checked file");
		}
		tsdb_hit *within = NULL;
		uint32_t nwithin = 0;
		int truncated = 0;
		if (plans[i] == TSDB_PLAN_INDEX &&
		    ok(tsdb_search_within(db, q, 0.9, 10, &within, &nwithin, &truncated, NULL, fresh(&err)), &err,
		       "tsdb_search_within where")) {
			if (nwithin > 10)
				die("tsdb_search_within returned more than its limit", NULL);
			if (consistent && rbw) {
				same_hits_as(within, nwithin, ref_within, nref_within,
					     "filtered radius search differs from brute force on a checked file");
				if (truncated != ref_truncated)
					die("filtered radius search truncates unlike brute force on a checked file", NULL);
			}
			free(within);
		}
	}
	tsdb_index_plan_free(&ip); /* zeroed when choosing failed */
	free(ref_within);
	q->where = NULL;
	q->plan = TSDB_PLAN_AUTO;
}

/* The ids select must give for p on a consistent file: those of the id
 * index whose stored metadata matches, in id order (the first
 * MAX_MATCHES of them into id/len); returns how many match. */
static uint64_t matching_ids(const tsdb_db *db, const tsdb_pred *p, const char **id, size_t *len)
{
	tsdb_err err;
	rbt_cursor *c = malloc(sizeof *c);
	if (!c)
		die("out of memory", NULL);
	rbt_cursor_init(c, &db->snap, &rbt_key_bytes, db->ids);
	uint64_t n = 0;
	int r;
	for (r = rbt_first(c, &err); r == 1; r = rbt_next(c, &err)) {
		tsdb_rec rec;
		if (tsdb_rec_read(db, c->node.value, 0, &rec, &err) < 0)
			die("a record of a checked file does not read", err.msg);
		if (!tsdb_pred_match_text(p, rec.meta, rec.meta_len))
			continue;
		if (n < MAX_MATCHES) {
			id[n] = rec.id;
			len[n] = rec.id_len;
		}
		n++;
	}
	if (r < 0)
		die("the id index of a checked file does not walk", err.msg);
	free(c);
	return n;
}

/* tsdb_select_run's answer for a consistent file: count, "more", and as
 * many results as the page holds; by id (no sort field), exactly the
 * first matching ids.  Returns 0 when it is wrong. */
static int select_answer_ok(const json_t *res, const tsdb_select_spec *spec, uint64_t nmatch, const char **id,
			    const size_t *len)
{
	const json_t *results = json_object_get(res, "results");
	uint64_t page = nmatch > spec->offset ? nmatch - spec->offset : 0;
	if (page > spec->limit)
		page = spec->limit;
	if (!json_is_integer(json_object_get(res, "count")) ||
	    (uint64_t)json_integer_value(json_object_get(res, "count")) != nmatch ||
	    json_is_true(json_object_get(res, "more")) != ((uint64_t)spec->offset + spec->limit < nmatch) ||
	    !json_is_array(results) || json_array_size(results) != page)
		return 0;
	for (size_t i = 0; i < page; i++) {
		const json_t *o = json_array_get(results, i);
		const json_t *v = json_object_get(o, "id");
		if (!json_is_string(v) || (spec->fields && !json_is_object(json_object_get(o, "meta"))))
			return 0;
		size_t at = spec->offset + i;
		if (!spec->sort_field && at < MAX_MATCHES &&
		    (json_string_length(v) != len[at] || memcmp(json_string_value(v), id[at], len[at]) != 0))
			return 0;
	}
	return 1;
}

/* tsdb_select_run filtered by p (an index may answer it, select.c),
 * paged by id, and sorted by an indexed field with metadata: on any file
 * an answer or an explained refusal; on a consistent one, the right
 * answer. */
static void filtered_select(tsdb_db *db, size_t w, int consistent)
{
	const tsdb_pred *p = where[w];
	const char *id[MAX_MATCHES];
	size_t len[MAX_MATCHES];
	uint64_t nmatch = consistent ? matching_ids(db, p, id, len) : 0;
	const tsdb_select_spec specs[] = {
		{.where = p, .limit = MAX_MATCHES},
		{.where = p, .offset = 2, .limit = 3},
		{.where = p, .fields = all_fields, .sort_field = "order", .sort_len = 5, .sort_desc = 1, .offset = 1,
		 .limit = 3},
		{.where = p, .fields = some_fields, .sort_field = "level", .sort_len = 5, .limit = 4},
	};
	/* by id, and one of the others by filter */
	for (size_t k = 0; k < 2; k++) {
		size_t i = k ? 1 + w % 3 : 0;
		tsdb_err err;
		json_t *res = tsdb_select_run(db, &specs[i], fresh(&err));
		if (!res)
			ok(-1, &err, "tsdb_select_run");
		else if (consistent && !select_answer_ok(res, &specs[i], nmatch, id, len))
			die("tsdb_select_run gives a wrong answer on a checked file", where_json[w]);
		json_decref(res);
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
		for (size_t i = 0; i < NWHERE; i++)
			filtered_search(db, &q, where[i], consistent);
		tsdb_query_free(&q);
	}
	if (ids.n && ok(tsdb_query_from_id(db, ids.id[0], ids.len[0], &q, fresh(&err)), &err,
			"tsdb_query_from_id")) {
		search(db, &q, consistent);
		for (size_t i = 0; i < NWHERE; i += 2) /* exclude_row on the index plan */
			filtered_search(db, &q, where[i], consistent);
		tsdb_query_free(&q);
	}
	for (size_t i = 0; i < NWHERE; i++)
		filtered_select(db, i, consistent);
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
