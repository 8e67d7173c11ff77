/*
 * test_rbtree.c - the copy-on-write red-black tree against a trivial model.
 *
 * The model is a bitmap over a finite key universe whose order is known by
 * construction (key i < key j iff i < j), so "iterate the model" is a scan.
 * Random batches of inserts and deletes go to both; after every commit the
 * checker runs and the committed tree must equal the model in full forward
 * and backward iteration, point lookups and random seeks.  Also: snapshot
 * isolation, crash cuts and garbage tails, damaged nodes, copying into
 * another file.  The file underneath has its own tests (test_cowfile.c).
 */
#include <math.h>

#include "cowfile.h"
#include "rbkeys.h"
#include "rbtree.h"
#include "rng.h"
#include "tap.h"
#include "testutil.h"

#define UNIVERSE 20000u

/* Key i of the universe: distances repeat in groups of 4 so rows decide. */
static void ukey(uint8_t out[12], uint32_t i)
{
	rbt_distrow_put(out, (double)(i / 4) * 0.25 - 7.0, i % 4 * 1000u + (i / 4) % 7);
}

typedef struct model {
	uint8_t present[UNIVERSE];
	uint64_t value[UNIVERSE];
	uint64_t count;
} model;

static int open_writer(cow_writer *w, const char *path)
{
	tsdb_err err;
	if (cow_writer_open(w, path, &err) < 0) {
		printf("# %s\n", err.msg);
		return -1;
	}
	return 0;
}

/* The committed tree equals the model: checker, both iteration orders. */
static int same_as_model(const cow_snap *s, rbt_root root, const model *m)
{
	tsdb_err err;
	rbt_stats st;
	if (rbt_check(s, &rbt_key_distrow, root, &st, &err) < 0) {
		printf("# check: %s\n", err.msg);
		return 0;
	}
	if (root.count != m->count) {
		printf("# count %llu != model %llu\n", (unsigned long long)root.count, (unsigned long long)m->count);
		return 0;
	}
	rbt_cursor c;
	rbt_cursor_init(&c, s, &rbt_key_distrow, root);
	uint32_t i = 0;
	uint8_t k[12];
	for (int r = rbt_first(&c, &err); r != 0; r = rbt_next(&c, &err)) {
		if (r < 0)
			return printf("# iterate: %s\n", err.msg), 0;
		while (i < UNIVERSE && !m->present[i])
			i++;
		ukey(k, i);
		if (i == UNIVERSE || memcmp(k, c.node.key, 12) != 0 || c.node.value != m->value[i])
			return printf("# forward iteration differs at model key %u\n", i), 0;
		i++;
	}
	while (i < UNIVERSE && !m->present[i])
		i++;
	if (i != UNIVERSE)
		return printf("# forward iteration ended early\n"), 0;
	int64_t j = UNIVERSE - 1;
	for (int r = rbt_last(&c, &err); r != 0; r = rbt_prev(&c, &err)) {
		if (r < 0)
			return printf("# iterate back: %s\n", err.msg), 0;
		while (j >= 0 && !m->present[j])
			j--;
		ukey(k, (uint32_t)j);
		if (j < 0 || memcmp(k, c.node.key, 12) != 0)
			return printf("# backward iteration differs at model key %lld\n", (long long)j), 0;
		j--;
	}
	while (j >= 0 && !m->present[j])
		j--;
	if (j >= 0)
		return printf("# backward iteration ended early\n"), 0;
	return 1;
}

/* Random seeks and short walks both ways, and lookups, against the model. */
static int seeks_match(const cow_snap *s, rbt_root root, const model *m, tsdb_rng *rng)
{
	tsdb_err err;
	rbt_cursor c;
	rbt_cursor_init(&c, s, &rbt_key_distrow, root);
	uint8_t k[12];
	for (int q = 0; q < 50; q++) {
		uint32_t i = (uint32_t)tsdb_rng_below(rng, UNIVERSE);
		ukey(k, i);
		uint64_t v;
		int r = rbt_lookup(s, &rbt_key_distrow, root, k, &v, &err);
		if (r != m->present[i] || (r == 1 && v != m->value[i]))
			return printf("# lookup of key %u wrong\n", i), 0;
		int ge = tsdb_rng_below(rng, 2) != 0;
		r = ge ? rbt_seek_ge(&c, k, &err) : rbt_seek_le(&c, k, &err);
		int64_t e = i;
		while (e >= 0 && e < UNIVERSE && !m->present[e])
			e += ge ? 1 : -1;
		int expect = e >= 0 && e < UNIVERSE;
		if (r != expect)
			return printf("# seek_%s(%u) returned %d, expected %d\n", ge ? "ge" : "le", i, r, expect), 0;
		if (!expect)
			continue;
		ukey(k, (uint32_t)e);
		if (memcmp(k, c.node.key, 12) != 0)
			return printf("# seek_%s(%u) landed wrong\n", ge ? "ge" : "le", i), 0;
		int fwd = tsdb_rng_below(rng, 2) != 0;
		for (int step = 0; step < 5; step++) {
			r = fwd ? rbt_next(&c, &err) : rbt_prev(&c, &err);
			do
				e += fwd ? 1 : -1;
			while (e >= 0 && e < UNIVERSE && !m->present[e]);
			expect = e >= 0 && e < UNIVERSE;
			if (r != expect)
				return printf("# walk after seek: %d vs %d\n", r, expect), 0;
			if (!expect)
				break;
			ukey(k, (uint32_t)e);
			if (memcmp(k, c.node.key, 12) != 0)
				return printf("# walk after seek landed wrong\n"), 0;
		}
	}
	return 1;
}

static void test_differential(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "tree.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	static model m;
	memset(&m, 0, sizeof m);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 42);
	cow_writer w;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_root root = {0, 0};
	long ops = 0, commits = 0;
	int ok = 1;
	while (ops < 200000 && ok) {
		rbt_wtree t;
		rbt_w_open(&t, &w.snap, &rbt_key_distrow, root);
		/* Batches from 1 to 2000 ops; phases that grow and shrink. */
		uint32_t batch = 1 + (uint32_t)tsdb_rng_below(&rng, tsdb_rng_below(&rng, 8) ? 300 : 2000);
		int grow = (ops / 20000) % 2 == 0;
		for (uint32_t b = 0; b < batch && ok; b++, ops++) {
			uint32_t i = (uint32_t)tsdb_rng_below(&rng, UNIVERSE);
			uint8_t k[12];
			ukey(k, i);
			uint64_t op = tsdb_rng_below(&rng, 10), v;
			int r;
			if (op < (grow ? 6u : 3u)) {
				v = tsdb_rng_next(&rng);
				r = rbt_w_insert(&t, k, v, 0, &err);
				ok = r == !m.present[i];
				if (r == 1) {
					m.present[i] = 1;
					m.value[i] = v;
					m.count++;
				}
			} else if (op < 9) {
				r = rbt_w_delete(&t, k, &v, &err);
				ok = r == m.present[i] && (r == 0 || v == m.value[i]);
				if (r == 1) {
					m.present[i] = 0;
					m.count--;
				}
			} else {
				r = rbt_w_lookup(&t, k, &v, &err);
				ok = r == m.present[i] && (r == 0 || v == m.value[i]);
			}
			if (!ok)
				printf("# op %ld (kind %llu, key %u) returned %d: %s\n", ops, (unsigned long long)op, i,
				       r, r < 0 ? err.msg : "disagrees with the model");
		}
		if (ok && t.count != m.count) {
			printf("# wtree count %llu vs model %llu\n", (unsigned long long)t.count, (unsigned long long)m.count);
			ok = 0;
		}
		if (ok && (rbt_w_flush(&t, &w, &root, &err) < 0 ||
			   cow_commit(&w, (uint64_t[2]){root.node, root.count}, 2, &err) < 0)) {
			printf("# commit: %s\n", err.msg);
			ok = 0;
		}
		rbt_w_free(&t);
		commits++;
		if (ok)
			ok = same_as_model(&w.snap, root, &m) && seeks_match(&w.snap, root, &m, &rng);
		if (ok && commits % 25 == 0) {
			/* Reopen from disk: the tree must come back from the commit record. */
			cow_writer_close(&w);
			REQUIRE(open_writer(&w, path) == 0);
			root.node = w.snap.meta.words[0];
			root.count = w.snap.meta.words[1];
			ok = same_as_model(&w.snap, root, &m);
		}
	}
	CHECKF(ok, "stopped after %ld ops", ops);
	CHECK(ops >= 200000);
	printf("# %ld ops in %ld commits, final size %llu\n", ops, commits, (unsigned long long)m.count);
	cow_writer_close(&w);
	free(path);
	test_rmtree(dir);
}

/* A tree of byte-string keys: order, prefix iteration, 1- and 255-byte keys. */
static void test_bytes_keys(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "ids.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_wtree t;
	rbt_w_open(&t, &w.snap, &rbt_key_bytes, (rbt_root){0, 0});
	const char *ids[] = {"b", "a", "ab", "abc", "a\xff", "zz", "a/b", "\x01"};
	uint8_t k[RBT_KEY_MAX];
	for (size_t i = 0; i < 8; i++) {
		rbt_bytes_put(k, ids[i], strlen(ids[i]));
		CHECK(rbt_w_insert(&t, k, i, 0, &err) == 1);
	}
	char longid[255];
	memset(longid, 'x', sizeof longid);
	CHECK(rbt_bytes_put(k, longid, 255) == 256);
	CHECK(rbt_w_insert(&t, k, 99, 0, &err) == 1);
	CHECK(rbt_bytes_put(k, longid, 0) == 0);
	CHECK(rbt_bytes_put(k, longid, 256) == 0);
	rbt_bytes_put(k, "ab", 2);
	CHECK(rbt_w_insert(&t, k, 7, 0, &err) == 0);
	rbt_root root;
	REQUIRE(rbt_w_flush(&t, &w, &root, &err) == 0);
	REQUIRE(cow_commit(&w, NULL, 0, &err) == 0);
	rbt_w_free(&t);
	CHECK(rbt_check(&w.snap, &rbt_key_bytes, root, NULL, &err) == 0);
	const char *order[] = {"\x01", "a", "a/b", "ab", "abc", "a\xff", "b", NULL, "zz"};
	rbt_cursor c;
	rbt_cursor_init(&c, &w.snap, &rbt_key_bytes, root);
	int n = 0;
	for (int r = rbt_first(&c, &err); r == 1; r = rbt_next(&c, &err), n++) {
		if (order[n])
			CHECKF(c.node.key[0] == strlen(order[n]) && !memcmp(c.node.key + 1, order[n], c.node.key[0]),
			       "position %d", n);
		else
			CHECK(c.node.key[0] == 255);
	}
	CHECK(n == 9);
	/* Prefix "a": seek_ge then stop at the first key without it. */
	rbt_bytes_put(k, "a", 1);
	n = 0;
	for (int r = rbt_seek_ge(&c, k, &err); r == 1 && c.node.key[1] == 'a'; r = rbt_next(&c, &err))
		n++;
	CHECK(n == 5);
	cow_writer_close(&w);
	free(path);
	test_rmtree(dir);
}

/* Fills a tree with keys [0, n) step `step`, committing once. */
static rbt_root fill(cow_writer *w, rbt_root root, uint32_t from, uint32_t to, uint32_t step)
{
	tsdb_err err;
	rbt_wtree t;
	rbt_w_open(&t, &w->snap, &rbt_key_distrow, root);
	uint8_t k[12];
	for (uint32_t i = from; i < to; i += step) {
		ukey(k, i);
		if (rbt_w_insert(&t, k, i, 0, &err) < 0)
			printf("# %s\n", err.msg);
	}
	if (rbt_w_flush(&t, w, &root, &err) < 0 ||
	    cow_commit(w, (uint64_t[2]){root.node, root.count}, 2, &err) < 0)
		printf("# %s\n", err.msg);
	rbt_w_free(&t);
	return root;
}

static uint64_t count_iter(const cow_snap *s, rbt_root root)
{
	tsdb_err err;
	rbt_cursor c;
	rbt_cursor_init(&c, s, &rbt_key_distrow, root);
	uint64_t n = 0;
	for (int r = rbt_first(&c, &err); r == 1; r = rbt_next(&c, &err))
		n++;
	return n;
}

static void test_snapshots(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "snap.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_root r1 = fill(&w, (rbt_root){0, 0}, 0, 1000, 1);
	cow_snap before;
	REQUIRE(cow_snap_open(&before, path, &err) == 0);
	rbt_root rb = {before.meta.words[0], before.meta.words[1]};
	CHECK(rb.count == 1000);
	/* The writer keeps going: deletes everything and inserts others. */
	rbt_wtree t;
	rbt_w_open(&t, &w.snap, &rbt_key_distrow, r1);
	uint8_t k[12];
	for (uint32_t i = 0; i < 1000; i++) {
		ukey(k, i);
		CHECK(rbt_w_delete(&t, k, NULL, &err) == 1);
	}
	rbt_root r2;
	REQUIRE(rbt_w_flush(&t, &w, &r2, &err) == 0);
	REQUIRE(cow_commit(&w, (uint64_t[2]){r2.node, r2.count}, 2, &err) == 0);
	rbt_w_free(&t);
	r2 = fill(&w, r2, 5000, 5500, 1);
	cow_snap after;
	REQUIRE(cow_snap_open(&after, path, &err) == 0);
	CHECK(after.meta.words[1] == 500);
	/* The old reader still sees exactly its 1000 keys. */
	CHECK(count_iter(&before, rb) == 1000);
	CHECK(rbt_check(&before, &rbt_key_distrow, rb, NULL, &err) == 0);
	ukey(k, 17);
	CHECK(rbt_lookup(&before, &rbt_key_distrow, rb, k, NULL, &err) == 1);
	CHECK(rbt_lookup(&after, &rbt_key_distrow, (rbt_root){after.meta.words[0], 500}, k, NULL, &err) == 0);
	CHECK(count_iter(&after, (rbt_root){after.meta.words[0], after.meta.words[1]}) == 500);
	CHECK(before.meta.txn < after.meta.txn);
	cow_snap_close(&before);
	cow_snap_close(&after);
	cow_writer_close(&w);
	free(path);
	test_rmtree(dir);
}

/* The contents of the newest commit, as a list of keys, for comparisons. */
static int snapshot_keys(const char *path, uint64_t *txn, uint32_t *keys, uint32_t *n, tsdb_err *err)
{
	cow_snap s;
	if (cow_snap_open(&s, path, err) < 0)
		return -1;
	rbt_root root = {s.meta.words[0], s.meta.words[1]};
	int rc = rbt_check(&s, &rbt_key_distrow, root, NULL, err);
	rbt_cursor c;
	rbt_cursor_init(&c, &s, &rbt_key_distrow, root);
	*n = 0;
	for (int r = rc == 0 ? rbt_first(&c, err) : 0; r == 1; r = rbt_next(&c, err))
		keys[(*n)++] = (uint32_t)c.node.value;
	*txn = s.meta.txn;
	cow_snap_close(&s);
	return rc;
}

/* Cuts the last commit's appended bytes or its commit record at many
 * offsets, with and without garbage after the cut: the file must open at
 * the previous commit with identical contents. */
static void test_crash_cuts(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "crash.db");
	char *before_path = test_path(dir, "before.db");
	char *trial = test_path(dir, "trial.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_root root = fill(&w, (rbt_root){0, 0}, 0, 4000, 2);
	root = fill(&w, root, 1, 3000, 6); /* the previous commit */
	cow_writer_close(&w);
	size_t before_len, after_len;
	unsigned char *before = test_slurp(path, &before_len);
	REQUIRE(before);
	static uint32_t want[UNIVERSE], got[UNIVERSE];
	uint32_t nwant, ngot;
	uint64_t txn_before, txn;
	REQUIRE(snapshot_keys(path, &txn_before, want, &nwant, &err) == 0);
	REQUIRE(open_writer(&w, path) == 0);
	/* The last commit: deletes and inserts, so it rewrites many paths. */
	rbt_wtree t;
	rbt_w_open(&t, &w.snap, &rbt_key_distrow, root);
	uint8_t k[12];
	for (uint32_t i = 0; i < 4000; i += 10) {
		ukey(k, i);
		rbt_w_delete(&t, k, NULL, &err);
		ukey(k, i + 4001);
		rbt_w_insert(&t, k, i + 4001, 0, &err);
	}
	REQUIRE(rbt_w_flush(&t, &w, &root, &err) == 0);
	int new_slot = 1 - w.snap.slot;
	REQUIRE(cow_commit(&w, (uint64_t[2]){root.node, root.count}, 2, &err) == 0);
	rbt_w_free(&t);
	cow_writer_close(&w);
	unsigned char *after = test_slurp(path, &after_len);
	REQUIRE(after && after_len > before_len);
	REQUIRE(test_spew(before_path, before, before_len) == 0);

	tsdb_rng rng;
	tsdb_rng_seed(&rng, 7);
	size_t batch = after_len - before_len;
	int trials = 0, failures = 0;
	unsigned char *img = malloc(after_len + 4096);
	REQUIRE(img);
	/* Cuts inside the appended data: the commit record was not written yet. */
	for (int s = 0; s < 300; s++) {
		size_t cut = s < 64 ? (size_t)s : (size_t)tsdb_rng_below(&rng, batch);
		size_t len = before_len + cut;
		memcpy(img, after, len);
		memcpy(img, before, 4096); /* the commit slots as they were */
		size_t garbage = (s % 2) ? (size_t)tsdb_rng_below(&rng, batch - cut + 1) : 0;
		for (size_t g = 0; g < garbage; g++)
			img[len + g] = (uint8_t)tsdb_rng_next(&rng);
		REQUIRE(test_spew(trial, img, len + garbage) == 0);
		trials++;
		if (snapshot_keys(trial, &txn, got, &ngot, &err) < 0 || txn != txn_before || ngot != nwant ||
		    memcmp(got, want, 4 * (size_t)nwant) != 0) {
			if (failures++ < 3)
				printf("# cut at data byte %zu (+%zu garbage): %s\n", cut, garbage, err.msg);
		}
	}
	/* Cuts inside the commit record: all data is there, the slot is torn. */
	size_t slot_off = COW_SLOT_OFFSET(new_slot);
	size_t record_len = 56 + 8 * 2 + 4;
	for (size_t cut = 0; cut < record_len; cut++) {
		for (int g = 0; g < 2; g++) {
			memcpy(img, after, after_len);
			memcpy(img + slot_off + cut, before + slot_off + cut, COW_SLOT_SIZE - cut);
			if (g)
				for (size_t i = cut; i < COW_SLOT_SIZE; i++)
					img[slot_off + i] = (uint8_t)tsdb_rng_next(&rng);
			if (!memcmp(img + slot_off, after + slot_off, COW_SLOT_SIZE))
				continue; /* the old bytes happened to complete the record */
			REQUIRE(test_spew(trial, img, after_len) == 0);
			trials++;
			if (snapshot_keys(trial, &txn, got, &ngot, &err) < 0 || txn != txn_before ||
			    ngot != nwant || memcmp(got, want, 4 * (size_t)nwant) != 0) {
				if (failures++ < 3)
					printf("# cut at record byte %zu: %s (txn %llu)\n", cut, err.msg,
					       (unsigned long long)txn);
			}
		}
	}
	CHECKF(failures == 0, "%d of %d cuts did not open at the previous commit", failures, trials);
	FIGURE("crash-cuts", "%d", trials);
	/* The complete file opens at the new commit. */
	CHECK(snapshot_keys(path, &txn, got, &ngot, &err) == 0 && txn == txn_before + 1);
	/* A writer opening a cut file removes the garbage and goes on. */
	memcpy(img, after, before_len + batch / 2);
	memcpy(img, before, 4096);
	REQUIRE(test_spew(trial, img, before_len + batch / 2) == 0);
	REQUIRE(open_writer(&w, trial) == 0);
	CHECK(w.snap.meta.txn == txn_before);
	root = fill(&w, (rbt_root){w.snap.meta.words[0], w.snap.meta.words[1]}, 9001, 9100, 1);
	CHECK(rbt_check(&w.snap, &rbt_key_distrow, root, NULL, &err) == 0);
	CHECK(root.count == nwant + 99);
	cow_writer_close(&w);
	free(img);
	free(before);
	free(after);
	free(path);
	free(before_path);
	free(trial);
	test_rmtree(dir);
}

/* Damage inside the tree: the checker names it, readers fail cleanly. */
static void test_damaged_nodes(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "dmg.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_root root = fill(&w, (rbt_root){0, 0}, 0, 2000, 1);
	cow_writer_close(&w);
	size_t len;
	unsigned char *img = test_slurp(path, &len);
	REQUIRE(img);
	tsdb_rng rng;
	tsdb_rng_seed(&rng, 3);
	int detected = 0, flips = 200;
	for (int i = 0; i < flips; i++) {
		size_t at = COW_DATA_START + (size_t)tsdb_rng_below(&rng, len - COW_DATA_START);
		uint8_t bit = (uint8_t)(1u << tsdb_rng_below(&rng, 8));
		img[at] ^= bit;
		test_spew(path, img, len);
		cow_snap s;
		REQUIRE(cow_snap_open(&s, path, &err) == 0);
		if (rbt_check(&s, &rbt_key_distrow, root, NULL, &err) < 0 && err.code == TSDB_E_CORRUPT &&
		    strstr(err.msg, "offset"))
			detected++;
		/* Readers never crash on it, whatever they get. */
		count_iter(&s, root);
		cow_snap_close(&s);
		img[at] ^= bit;
	}
	FIGURE("node-flips", "%d of %d", detected, flips);
	CHECKF(detected == flips, "%d of %d bit flips detected", detected, flips);
	free(img);
	free(path);
	test_rmtree(dir);
}

static int remap_plus_one(void *ctx, uint64_t v, uint64_t *out, tsdb_err *err)
{
	(void)ctx;
	(void)err;
	*out = v + 1;
	return 0;
}

static void test_copy(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "src.db");
	char *dst = test_path(dir, "dst.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	REQUIRE(cow_create(dst, NULL, 0, &err) == 0);
	cow_writer w, d;
	REQUIRE(open_writer(&w, path) == 0);
	rbt_root root = fill(&w, (rbt_root){0, 0}, 0, 6000, 1);
	rbt_wtree t;
	rbt_w_open(&t, &w.snap, &rbt_key_distrow, root);
	uint8_t k[12];
	for (uint32_t i = 0; i < 6000; i += 2) {
		ukey(k, i);
		rbt_w_delete(&t, k, NULL, &err);
	}
	REQUIRE(rbt_w_flush(&t, &w, &root, &err) == 0);
	REQUIRE(cow_commit(&w, (uint64_t[2]){root.node, root.count}, 2, &err) == 0);
	rbt_w_free(&t);
	REQUIRE(open_writer(&d, dst) == 0);
	rbt_root copy;
	REQUIRE(rbt_copy(&w.snap, &rbt_key_distrow, root, &d, remap_plus_one, NULL, &copy, &err) == 0);
	REQUIRE(cow_commit(&d, (uint64_t[2]){copy.node, copy.count}, 2, &err) == 0);
	CHECK(rbt_check(&d.snap, &rbt_key_distrow, copy, NULL, &err) == 0);
	CHECK(copy.count == 3000);
	/* Live nodes only: 44 bytes per key plus the header page. */
	CHECKF(d.snap.size == COW_DATA_START + 3000 * 44, "size %llu", (unsigned long long)d.snap.size);
	ukey(k, 1);
	uint64_t v;
	CHECK(rbt_lookup(&d.snap, &rbt_key_distrow, copy, k, &v, &err) == 1 && v == 2);
	cow_writer_close(&d);
	cow_writer_close(&w);
	free(path);
	free(dst);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_bytes_keys);
	RUN(test_snapshots);
	RUN(test_copy);
	RUN(test_damaged_nodes);
	RUN(test_crash_cuts);
	RUN(test_differential);
	return tap_done();
}
