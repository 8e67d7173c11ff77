/*
 * rbtree.c - copy-on-write red-black trees in a cowfile (see rbtree.h).
 *
 * Writers keep no parent pointers (a committed node cannot be told its new
 * parent): every operation records the path from the root and fixes colors
 * bottom-up along it.  Before a node is changed it is made dirty (copied
 * into the wtree's memory, unless it already is), and the parent's child
 * reference is pointed at the copy; parents on the path are dirty first, so
 * this never touches a committed node.  References with DIRTY set index the
 * wtree's dirty nodes; all others are file offsets.
 */
#include "rbtree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"

#define DIRTY (UINT64_C(1) << 63)
#define RBT_CHUNK 1024u
#define INFO_RED 1u

/* ---- committed nodes ---------------------------------------------------- */

static size_t node_encode(uint8_t *buf, int red, const rbt_keykind *kk, uint64_t left,
			  uint64_t right, uint64_t value, const uint8_t *key, uint32_t keysize)
{
	le32_put(buf + 4, (red ? INFO_RED : 0) | (uint32_t)kk->id << 8 | keysize << 16);
	le64_put(buf + 8, left);
	le64_put(buf + 16, right);
	le64_put(buf + 24, value);
	memcpy(buf + RBT_NODE_HEADER, key, keysize);
	size_t size = RBT_NODE_HEADER + keysize;
	le32_put(buf, crc32c(0, buf + 4, size - 4));
	return size;
}

static int corrupt(tsdb_err *err, const rbt_keykind *kk, uint64_t off, const char *what)
{
	return tsdb_errf(err, TSDB_E_CORRUPT, "%s tree: node at offset %llu: %s", kk->name,
			 (unsigned long long)off, what);
}

static inline __attribute__((always_inline)) int node_read(const cow_snap *s, const rbt_keykind *kk,
							 uint64_t off, rbt_node *n, tsdb_err *err)
{
	const uint8_t *p = cow_ptr(s, off, RBT_NODE_HEADER);
	if (!p || off % 4)
		return corrupt(err, kk, off, "offset outside the committed file or misaligned");
	uint32_t info = le32_get(p + 4);
	uint32_t keysize = info >> 16;
	if (((info >> 8) & 0xff) != kk->id)
		return corrupt(err, kk, off, "node belongs to another key kind");
	if (info & 0xfe)
		return corrupt(err, kk, off, "unknown flag bits");
	if (keysize == 0 || keysize > kk->max_size || !cow_ptr(s, off, RBT_NODE_HEADER + keysize))
		return corrupt(err, kk, off, "bad key size");
	if (le32_get(p) != crc32c(0, p + 4, RBT_NODE_HEADER + keysize - 4))
		return corrupt(err, kk, off, "checksum mismatch");
	n->off = off;
	n->red = (int)(info & INFO_RED);
	n->left = le64_get(p + 8);
	n->right = le64_get(p + 16);
	n->value = le64_get(p + 24);
	n->key = p + RBT_NODE_HEADER;
	n->keysize = keysize;
	if (kk->size(n->key, keysize) != keysize)
		return corrupt(err, kk, off, "malformed key");
	/* Children are written before their parents. */
	if (n->left >= off || n->right >= off)
		return corrupt(err, kk, off, "child offset not below its parent's");
	/* One node on both sides would make cursors, which climb by comparing
	 * offsets, step back and forth between it and its parent forever. */
	if (n->left && n->left == n->right)
		return corrupt(err, kk, off, "same node as left and right child");
	return 0;
}

int rbt_node_read(const cow_snap *s, const rbt_keykind *kk, uint64_t off, rbt_node *n,
		  tsdb_err *err)
{
	return node_read(s, kk, off, n, err);
}

/* Both children start loading while this node is compared: one of them is
 * next, and a descent is a chain of dependent loads. */
static inline void prefetch_children(const cow_snap *s, const rbt_node *n)
{
	if (n->left)
		__builtin_prefetch(s->base + n->left);
	if (n->right)
		__builtin_prefetch(s->base + n->right);
}

int rbt_lookup(const cow_snap *s, const rbt_keykind *kk, rbt_root root, const uint8_t *key,
	       uint64_t *value, tsdb_err *err)
{
	uint64_t off = root.node;
	for (int depth = 0; off; depth++) {
		rbt_node n = {0};
		if (depth >= RBT_MAX_DEPTH)
			return corrupt(err, kk, off, "tree deeper than any valid red-black tree");
		if (node_read(s, kk, off, &n, err) < 0)
			return -1;
		prefetch_children(s, &n);
		int c = kk->cmp(key, n.key);
		if (c == 0) {
			if (value)
				*value = n.value;
			return 1;
		}
		off = c < 0 ? n.left : n.right;
	}
	return 0;
}

/* ---- cursors ------------------------------------------------------------ */

void rbt_cursor_init(rbt_cursor *c, const cow_snap *s, const rbt_keykind *kk, rbt_root root)
{
	c->snap = s;
	c->kk = kk;
	c->root = root;
	c->depth = 0;
	c->budget = 0;
}

/* A valid tree has at most one node per RBT_NODE_HEADER bytes of the file,
 * and positioning plus a full walk reads each node once plus one path; a
 * damaged file that shares subtrees (a DAG) would make the walk
 * exponential in its depth. */
static void cur_reset(rbt_cursor *c)
{
	uint64_t n = c->snap->size / RBT_NODE_HEADER;
	c->depth = 0;
	c->budget = (c->root.count < n ? c->root.count : n) + 2 * RBT_MAX_DEPTH;
}

static int cur_push(rbt_cursor *c, uint64_t off, tsdb_err *err)
{
	if (c->depth >= RBT_MAX_DEPTH)
		return corrupt(err, c->kk, off, "tree deeper than any valid red-black tree");
	if (c->budget == 0)
		return corrupt(err, c->kk, off, "more nodes than the tree's count (shared subtrees)");
	c->budget--;
	if (node_read(c->snap, c->kk, off, &c->path[c->depth], err) < 0)
		return -1;
	c->depth++;
	return 0;
}

static int cur_settle(rbt_cursor *c)
{
	if (c->depth == 0)
		return 0;
	c->node = c->path[c->depth - 1];
	return 1;
}

/* Descends from the current node (or the root) always to side dir. */
static int cur_extreme(rbt_cursor *c, int right, tsdb_err *err)
{
	uint64_t off = c->depth ? (right ? c->path[c->depth - 1].right : c->path[c->depth - 1].left)
				: c->root.node;
	while (off) {
		if (cur_push(c, off, err) < 0)
			return -1;
		off = right ? c->path[c->depth - 1].right : c->path[c->depth - 1].left;
	}
	return cur_settle(c);
}

int rbt_first(rbt_cursor *c, tsdb_err *err)
{
	cur_reset(c);
	return cur_extreme(c, 0, err);
}

int rbt_last(rbt_cursor *c, tsdb_err *err)
{
	cur_reset(c);
	return cur_extreme(c, 1, err);
}

/* ge: first key >= key; otherwise last key <= key. */
static int cur_seek(rbt_cursor *c, const uint8_t *key, int ge, tsdb_err *err)
{
	cur_reset(c);
	int keep = 0; /* depth of the best candidate so far, 0 = none */
	uint64_t off = c->root.node;
	while (off) {
		if (cur_push(c, off, err) < 0)
			return -1;
		const rbt_node *n = &c->path[c->depth - 1];
		int cmp = c->kk->cmp(key, n->key);
		if (cmp == 0)
			return cur_settle(c);
		if ((cmp < 0) == (ge != 0))
			keep = c->depth;
		off = cmp < 0 ? n->left : n->right;
	}
	c->depth = keep;
	return cur_settle(c);
}

int rbt_seek_ge(rbt_cursor *c, const uint8_t *key, tsdb_err *err) { return cur_seek(c, key, 1, err); }
int rbt_seek_le(rbt_cursor *c, const uint8_t *key, tsdb_err *err) { return cur_seek(c, key, 0, err); }

static int cur_step(rbt_cursor *c, int right, tsdb_err *err)
{
	if (c->depth == 0)
		return 0;
	const rbt_node *n = &c->path[c->depth - 1];
	if (right ? n->right : n->left) {
		uint64_t off = right ? n->right : n->left;
		if (cur_push(c, off, err) < 0)
			return -1;
		return cur_extreme(c, !right, err);
	}
	/* Climb until we leave a subtree on its far side. */
	while (c->depth > 1) {
		uint64_t child = c->path[c->depth - 1].off;
		c->depth--;
		const rbt_node *p = &c->path[c->depth - 1];
		if ((right ? p->left : p->right) == child)
			return cur_settle(c);
	}
	c->depth = 0;
	return 0;
}

int rbt_next(rbt_cursor *c, tsdb_err *err) { return cur_step(c, 1, err); }
int rbt_prev(rbt_cursor *c, tsdb_err *err) { return cur_step(c, 0, err); }

/* ---- checker ------------------------------------------------------------ */

typedef struct check_ctx {
	const cow_snap *s;
	const rbt_keykind *kk;
	rbt_stats st;
	uint64_t limit;        /* nodes allowed: the stored count */
	const uint8_t *prev;   /* previous key in order */
	uint64_t prev_off;
	tsdb_err *err;
} check_ctx;

/* In-order walk; returns the black height of the subtree or -1. */
static int check_node(check_ctx *cx, uint64_t off, int parent_red, uint32_t depth)
{
	if (!off)
		return 1;
	if (depth >= RBT_MAX_DEPTH)
		return corrupt(cx->err, cx->kk, off, "tree deeper than any valid red-black tree");
	if (depth + 1 > cx->st.max_depth)
		cx->st.max_depth = depth + 1;
	rbt_node n;
	if (rbt_node_read(cx->s, cx->kk, off, &n, cx->err) < 0)
		return -1;
	if (n.red && parent_red)
		return corrupt(cx->err, cx->kk, off, "red node has a red parent");
	int lh = check_node(cx, n.left, n.red, depth + 1);
	if (lh < 0)
		return -1;
	if (cx->prev && cx->kk->cmp(cx->prev, n.key) >= 0) {
		char a[300], b[300], what[700];
		cx->kk->describe(cx->prev, a, sizeof a);
		cx->kk->describe(n.key, b, sizeof b);
		snprintf(what, sizeof what, "key %.300s is not above its predecessor %.300s (node %llu)", b, a,
			 (unsigned long long)cx->prev_off);
		return corrupt(cx->err, cx->kk, off, what);
	}
	cx->prev = n.key;
	cx->prev_off = off;
	cx->st.nodes++;
	cx->st.bytes += RBT_NODE_HEADER + n.keysize;
	if (cx->st.nodes > cx->limit)
		return corrupt(cx->err, cx->kk, off, "more nodes than the tree's count (shared subtrees)");
	int rh = check_node(cx, n.right, n.red, depth + 1);
	if (rh < 0)
		return -1;
	if (lh != rh) {
		char what[128];
		snprintf(what, sizeof what, "black height %d on the left but %d on the right", lh, rh);
		return corrupt(cx->err, cx->kk, off, what);
	}
	return lh + (n.red ? 0 : 1);
}

int rbt_check(const cow_snap *s, const rbt_keykind *kk, rbt_root root, rbt_stats *st,
	      tsdb_err *err)
{
	check_ctx cx = {.s = s, .kk = kk, .err = err, .limit = root.count};
	if (root.node) {
		rbt_node n;
		if (rbt_node_read(s, kk, root.node, &n, err) < 0)
			return -1;
		if (n.red)
			return corrupt(err, kk, root.node, "root is red");
	}
	int bh = check_node(&cx, root.node, 0, 0);
	if (bh < 0)
		return -1;
	cx.st.black_height = (uint32_t)bh;
	if (cx.st.nodes != root.count)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s tree: count says %llu keys but the tree holds %llu",
				 kk->name, (unsigned long long)root.count, (unsigned long long)cx.st.nodes);
	if (st)
		*st = cx.st;
	return 0;
}

/* ---- writer trees ------------------------------------------------------- */

typedef struct dnode {
	uint64_t child[2];
	uint64_t value;
	uint16_t keysize;
	uint8_t red;
	uint8_t key[];
} dnode;

static inline dnode *D(const rbt_wtree *t, uint64_t ref)
{
	uint64_t i = ref & ~DIRTY;
	return (dnode *)(t->chunks[i / RBT_CHUNK] + (i % RBT_CHUNK) * t->stride);
}

void rbt_w_open(rbt_wtree *t, const cow_snap *base, const rbt_keykind *kk, rbt_root root)
{
	memset(t, 0, sizeof *t);
	t->base = base;
	t->kk = kk;
	t->root = root.node;
	t->count = root.count;
	t->stride = (sizeof(dnode) + kk->max_size + 7) & ~(size_t)7;
}

void rbt_w_free(rbt_wtree *t)
{
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	t->chunks = NULL;
	t->nchunks = t->ndirty = 0;
}

static uint64_t new_dirty(rbt_wtree *t, tsdb_err *err)
{
	if (t->ndirty == t->nchunks * RBT_CHUNK) {
		uint8_t **chunks = realloc(t->chunks, (t->nchunks + 1) * sizeof *chunks);
		if (!chunks)
			return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory"), 0;
		t->chunks = chunks;
		if (!(chunks[t->nchunks] = malloc(RBT_CHUNK * t->stride)))
			return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory"), 0;
		t->nchunks++;
	}
	return DIRTY | t->ndirty++;
}

/* A read-only view of any node, dirty or committed. */
typedef struct peek {
	uint64_t child[2];
	const uint8_t *key;
	int red;
} peek;

static int w_peek(const rbt_wtree *t, uint64_t ref, peek *p, tsdb_err *err)
{
	if (ref & DIRTY) {
		dnode *d = D(t, ref);
		p->child[0] = d->child[0];
		p->child[1] = d->child[1];
		p->key = d->key;
		p->red = d->red;
		return 0;
	}
	rbt_node n;
	if (rbt_node_read(t->base, t->kk, ref, &n, err) < 0)
		return -1;
	p->child[0] = n.left;
	p->child[1] = n.right;
	p->key = n.key;
	p->red = n.red;
	return 0;
}

/* 1 red, 0 black or nil, -1 error. */
static int w_red(const rbt_wtree *t, uint64_t ref, tsdb_err *err)
{
	if (!ref)
		return 0;
	peek p;
	if (w_peek(t, ref, &p, err) < 0)
		return -1;
	return p.red;
}

static uint64_t copy_committed(rbt_wtree *t, const rbt_node *n, tsdb_err *err)
{
	uint64_t d = new_dirty(t, err);
	if (!d)
		return 0;
	dnode *x = D(t, d);
	x->child[0] = n->left;
	x->child[1] = n->right;
	x->value = n->value;
	x->red = (uint8_t)n->red;
	x->keysize = (uint16_t)n->keysize;
	memcpy(x->key, n->key, n->keysize);
	t->superseded += rbt_node_file_bytes(n->keysize);
	return d;
}

/* The dirty version of ref (a copy if it is committed); 0 on error. */
static uint64_t w_dirty(rbt_wtree *t, uint64_t ref, tsdb_err *err)
{
	if (ref & DIRTY)
		return ref;
	rbt_node n;
	if (node_read(t->base, t->kk, ref, &n, err) < 0)
		return 0;
	return copy_committed(t, &n, err);
}

/* The path of a writer operation: path[i + 1] is path[i]'s child on side
 * dir[i]. */
typedef struct wpath {
	uint64_t ref[RBT_MAX_DEPTH + 2];
	int dir[RBT_MAX_DEPTH + 2];
	rbt_node node[RBT_MAX_DEPTH + 2]; /* decoded by the descent when committed */
	int n;
} wpath;

static void set_child_at(rbt_wtree *t, wpath *p, int level, uint64_t ref)
{
	if (level == 0)
		t->root = ref;
	else
		D(t, p->ref[level - 1])->child[p->dir[level - 1]] = ref;
}

/* Makes path[level] dirty and links it into its (dirty) parent.  With
 * decoded != 0 the descent's copy of a committed node is used. */
static int dirty_at(rbt_wtree *t, wpath *p, int level, int decoded, tsdb_err *err)
{
	uint64_t ref = p->ref[level];
	uint64_t d = (ref & DIRTY) ? ref : decoded ? copy_committed(t, &p->node[level], err) : w_dirty(t, ref, err);
	if (!d)
		return -1;
	p->ref[level] = d;
	set_child_at(t, p, level, d);
	return 0;
}

/* Rotates dirty x towards dir (0: left rotation); its child on the other
 * side, which must be dirty, takes its place and is returned. */
static uint64_t rotate(rbt_wtree *t, uint64_t x, int dir)
{
	dnode *X = D(t, x);
	uint64_t y = X->child[!dir];
	dnode *Y = D(t, y);
	X->child[!dir] = Y->child[dir];
	Y->child[dir] = x;
	return y;
}

/* Records the search path for key; returns the cmp at the last node
 * (0 = found at p->ref[p->n - 1]), or 1 with p->n == 0 for an empty tree. */
static int w_descend(rbt_wtree *t, const uint8_t *key, wpath *p, int *found, tsdb_err *err)
{
	p->n = 0;
	*found = 0;
	uint64_t ref = t->root;
	while (ref) {
		if (p->n >= RBT_MAX_DEPTH)
			return corrupt(err, t->kk, ref & ~DIRTY, "tree deeper than any valid red-black tree");
		const uint8_t *k;
		uint64_t child[2];
		if (ref & DIRTY) {
			dnode *d = D(t, ref);
			k = d->key;
			child[0] = d->child[0];
			child[1] = d->child[1];
		} else {
			rbt_node *n = &p->node[p->n];
			if (node_read(t->base, t->kk, ref, n, err) < 0)
				return -1;
			k = n->key;
			child[0] = n->left;
			child[1] = n->right;
		}
		int c = t->kk->cmp(key, k);
		p->ref[p->n] = ref;
		p->dir[p->n] = c > 0;
		p->n++;
		if (c == 0) {
			*found = 1;
			return 0;
		}
		ref = child[c > 0];
	}
	return 0;
}

int rbt_w_lookup(rbt_wtree *t, const uint8_t *key, uint64_t *value, tsdb_err *err)
{
	wpath p;
	int found;
	if (w_descend(t, key, &p, &found, err) < 0)
		return -1;
	if (!found)
		return 0;
	if (value) {
		uint64_t ref = p.ref[p.n - 1];
		if (ref & DIRTY) {
			*value = D(t, ref)->value;
		} else {
			rbt_node n;
			if (rbt_node_read(t->base, t->kk, ref, &n, err) < 0)
				return -1;
			*value = n.value;
		}
	}
	return 1;
}

static int check_key(const rbt_wtree *t, const uint8_t *key, uint32_t *size, tsdb_err *err)
{
	*size = t->kk->size(key, t->kk->max_size);
	if (!*size)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s tree: malformed key", t->kk->name);
	return 0;
}

/* Checks key and records its search path: 1 found (at p->ref[p->n - 1]),
 * 0 absent, -1 on error.  Nothing is dirty yet. */
static int w_locate(rbt_wtree *t, const uint8_t *key, wpath *p, uint32_t *keysize, tsdb_err *err)
{
	int found;
	if (check_key(t, key, keysize, err) < 0 || w_descend(t, key, p, &found, err) < 0)
		return -1;
	return found;
}

/* Makes every node on the path dirty, root first, each linked into its
 * parent. */
static int dirty_path(rbt_wtree *t, wpath *p, tsdb_err *err)
{
	for (int i = 0; i < p->n; i++)
		if (dirty_at(t, p, i, 1, err) < 0)
			return -1;
	return 0;
}

/* The child on side `side` of dirty node parent, made dirty and linked
 * into it; 0 on error. */
static uint64_t dirty_child(rbt_wtree *t, uint64_t parent, int side, tsdb_err *err)
{
	uint64_t c = w_dirty(t, D(t, parent)->child[side], err);
	if (c)
		D(t, parent)->child[side] = c;
	return c;
}

/* x is red at level i of an all-dirty path; fixes a red parent.  An
 * uncle is made dirty before it is recolored. */
static int insert_fixup(rbt_wtree *t, wpath *p, int i, tsdb_err *err)
{
	while (i >= 2 && D(t, p->ref[i - 1])->red) {
		uint64_t par = p->ref[i - 1], g = p->ref[i - 2];
		int pd = p->dir[i - 2];
		int ured = w_red(t, D(t, g)->child[!pd], err);
		if (ured < 0)
			return -1;
		if (ured) {
			/* Red uncle: push g's black down, go on from g. */
			uint64_t u = dirty_child(t, g, !pd, err);
			if (!u)
				return -1;
			D(t, par)->red = 0;
			D(t, u)->red = 0;
			D(t, g)->red = 1;
			i -= 2;
			continue;
		}
		/* Black uncle: at most two rotations end it. */
		if (p->dir[i - 1] != pd) {
			D(t, g)->child[pd] = rotate(t, par, pd);
			par = D(t, g)->child[pd];
		}
		uint64_t top = rotate(t, g, !pd);
		D(t, top)->red = 0;
		D(t, g)->red = 1;
		set_child_at(t, p, i - 2, top);
		break;
	}
	D(t, t->root)->red = 0;
	return 0;
}

int rbt_w_insert(rbt_wtree *t, const uint8_t *key, uint64_t value, int replace, tsdb_err *err)
{
	wpath p;
	uint32_t keysize;
	int found = w_locate(t, key, &p, &keysize, err);
	if (found < 0 || (found && !replace))
		return found < 0 ? -1 : 0;
	if (dirty_path(t, &p, err) < 0)
		return -1;
	if (found) {
		D(t, p.ref[p.n - 1])->value = value;
		return 0;
	}
	uint64_t x = new_dirty(t, err);
	if (!x)
		return -1;
	dnode *X = D(t, x);
	X->child[0] = X->child[1] = 0;
	X->value = value;
	X->keysize = (uint16_t)keysize;
	X->red = 1;
	memcpy(X->key, key, keysize);
	p.ref[p.n] = x;
	set_child_at(t, &p, p.n, x);
	t->count++;
	return insert_fixup(t, &p, p.n, err) < 0 ? -1 : 1;
}

/* The node to unlink for deleting the one at level iz of an all-dirty
 * path: itself when it has at most one child; otherwise it takes its
 * successor's key and value and the successor (which has no left child)
 * goes instead.  The path is extended to the returned level, dirty. */
static int take_successor(rbt_wtree *t, wpath *p, int iz, tsdb_err *err)
{
	uint64_t z = p->ref[iz];
	if (!D(t, z)->child[0] || !D(t, z)->child[1])
		return iz;
	p->dir[iz] = 1;
	uint64_t ref = D(t, z)->child[1];
	int iy;
	for (iy = iz + 1;; iy++) {
		if (iy >= RBT_MAX_DEPTH)
			return corrupt(err, t->kk, ref & ~DIRTY, "tree deeper than any valid red-black tree");
		p->ref[iy] = ref;
		if (dirty_at(t, p, iy, 0, err) < 0)
			return -1;
		uint64_t left = D(t, p->ref[iy])->child[0];
		if (!left)
			break;
		p->dir[iy] = 0;
		ref = left;
	}
	dnode *Z = D(t, z), *Y = D(t, p->ref[iy]);
	Z->value = Y->value;
	Z->keysize = Y->keysize;
	memcpy(Z->key, Y->key, Y->keysize);
	return iy;
}

/* Replaces the node at level iy (at most one child) by its child.  1 when
 * the tree is balanced again (a red node went, or a red child turned
 * black), 0 when the child at level iy is short one black node, -1. */
static int unlink_at(rbt_wtree *t, wpath *p, int iy, tsdb_err *err)
{
	dnode *Y = D(t, p->ref[iy]);
	uint64_t x = Y->child[0] ? Y->child[0] : Y->child[1];
	int y_red = Y->red;
	set_child_at(t, p, iy, x);
	t->count--;
	if (y_red)
		return 1;
	int xr = w_red(t, x, err);
	if (xr <= 0)
		return xr;
	p->ref[iy] = x;
	if (dirty_at(t, p, iy, 0, err) < 0)
		return -1;
	D(t, p->ref[iy])->red = 0;
	return 1;
}

/* The sibling of the node on side dir of dirty par, made dirty.  A node
 * short one black always has one: a nil sibling means the black heights
 * of the committed tree differed. */
static uint64_t dirty_sibling(rbt_wtree *t, uint64_t par, int dir, tsdb_err *err)
{
	if (!D(t, par)->child[!dir])
		return corrupt(err, t->kk, par & ~DIRTY, "black heights differ (missing sibling)"), 0;
	return dirty_child(t, par, !dir, err);
}

/* x (black or nil) at level lv of the path is short one black node.  The
 * classic cases, seen from x's side dir; one piece because cases 1, 3 and
 * 4 hand each other the same sibling s and parent par.  Returns 1, or -1. */
static int delete_fixup(rbt_wtree *t, wpath *p, int lv, tsdb_err *err)
{
	while (lv > 0) {
		uint64_t par = p->ref[lv - 1];
		int dir = p->dir[lv - 1];
		uint64_t s = dirty_sibling(t, par, dir, err);
		if (!s)
			return -1;
		if (D(t, s)->red) {
			/* Case 1, red sibling: rotate it above par, which turns
			 * red; x's new sibling is black.  s now sits above par:
			 * the path grows by one level. */
			D(t, s)->red = 0;
			D(t, par)->red = 1;
			set_child_at(t, p, lv - 1, rotate(t, par, dir));
			p->ref[lv - 1] = s;
			p->dir[lv - 1] = dir;
			p->ref[lv] = par;
			p->dir[lv] = dir;
			lv++;
			if (!(s = dirty_sibling(t, par, dir, err)))
				return -1;
		}
		int near_red = w_red(t, D(t, s)->child[dir], err);
		int far_red = w_red(t, D(t, s)->child[!dir], err);
		if (near_red < 0 || far_red < 0)
			return -1;
		if (!near_red && !far_red) {
			/* Case 2, both nephews black: s turns red, so par's
			 * subtree is short; a red par absorbs it, else climb. */
			D(t, s)->red = 1;
			if (D(t, par)->red) {
				D(t, par)->red = 0;
				return 1;
			}
			lv--;
			continue;
		}
		if (!far_red) {
			/* Case 3, near nephew red (far black): rotate s away
			 * from x, making the far nephew red. */
			uint64_t nr = dirty_child(t, s, dir, err);
			if (!nr)
				return -1;
			D(t, nr)->red = 0;
			D(t, s)->red = 1;
			s = rotate(t, s, !dir);
			D(t, par)->child[!dir] = s;
		}
		/* Case 4, far nephew red: rotate par towards x; s takes par's
		 * color, par and the far nephew turn black.  Done. */
		uint64_t far = dirty_child(t, s, !dir, err);
		if (!far)
			return -1;
		D(t, s)->red = D(t, par)->red;
		D(t, par)->red = 0;
		D(t, far)->red = 0;
		set_child_at(t, p, lv - 1, rotate(t, par, dir));
		return 1;
	}
	/* Reached the root: it is black already or nil. */
	return 1;
}

int rbt_w_delete(rbt_wtree *t, const uint8_t *key, uint64_t *value, tsdb_err *err)
{
	wpath p;
	uint32_t keysize;
	int found = w_locate(t, key, &p, &keysize, err);
	if (found <= 0)
		return found;
	if (dirty_path(t, &p, err) < 0)
		return -1;
	int iz = p.n - 1;
	if (value)
		*value = D(t, p.ref[iz])->value;
	int iy = take_successor(t, &p, iz, err);
	if (iy < 0)
		return -1;
	int r = unlink_at(t, &p, iy, err);
	return r != 0 ? r : delete_fixup(t, &p, iy, err);
}

static int flush_node(rbt_wtree *t, cow_writer *w, uint64_t ref, uint64_t *out, int depth,
		      tsdb_err *err)
{
	if (!(ref & DIRTY)) {
		*out = ref;
		return 0;
	}
	if (depth >= RBT_MAX_DEPTH)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "%s tree: dirty tree too deep", t->kk->name);
	dnode *n = D(t, ref);
	uint64_t left, right;
	if (flush_node(t, w, n->child[0], &left, depth + 1, err) < 0 ||
	    flush_node(t, w, n->child[1], &right, depth + 1, err) < 0)
		return -1;
	uint8_t buf[RBT_NODE_HEADER + RBT_KEY_MAX];
	size_t size = node_encode(buf, n->red, t->kk, left, right, n->value, n->key, n->keysize);
	return cow_append(w, buf, size, 4, out, err);
}

int rbt_w_flush(rbt_wtree *t, cow_writer *w, rbt_root *out, tsdb_err *err)
{
	uint64_t root;
	if (flush_node(t, w, t->root, &root, 0, err) < 0)
		return -1;
	t->root = root;
	/* Keep the first chunk: the next batch will need it. */
	t->ndirty = 0;
	out->node = root;
	out->count = t->count;
	return 0;
}

typedef struct copy_ctx {
	const cow_snap *src;
	const rbt_keykind *kk;
	cow_writer *dst;
	rbt_remap_fn remap;
	void *ctx;
	uint64_t copied;
	tsdb_err *err;
} copy_ctx;

/* Appends n with the given children, its value passed through remap. */
static int copy_emit(copy_ctx *cx, const rbt_node *n, uint64_t left, uint64_t right, uint64_t *out)
{
	uint64_t value = n->value;
	if (cx->remap && cx->remap(cx->ctx, n->value, &value, cx->err) < 0)
		return -1;
	uint8_t buf[RBT_NODE_HEADER + RBT_KEY_MAX];
	size_t size = node_encode(buf, n->red, cx->kk, left, right, value, n->key, n->keysize);
	cx->copied++;
	return cow_append(cx->dst, buf, size, 4, out, cx->err);
}

static int copy_node(copy_ctx *cx, uint64_t off, uint64_t *out, int depth)
{
	if (!off) {
		*out = 0;
		return 0;
	}
	if (depth >= RBT_MAX_DEPTH)
		return corrupt(cx->err, cx->kk, off, "tree deeper than any valid red-black tree");
	rbt_node n;
	if (rbt_node_read(cx->src, cx->kk, off, &n, cx->err) < 0)
		return -1;
	uint64_t left, right;
	if (copy_node(cx, n.left, &left, depth + 1) < 0 || copy_node(cx, n.right, &right, depth + 1) < 0)
		return -1;
	return copy_emit(cx, &n, left, right, out);
}

/*
 * Compaction layout: the top COPY_TOP_LEVELS levels (at most 4095 nodes,
 * 180 KB of distance keys) go last and contiguous, deepest level first, so
 * the part of every descent that all lookups share stays in a few pages and
 * in cache; below them each subtree is contiguous in post-order.  Both keep
 * children before parents.
 */
#define COPY_TOP_LEVELS 12
#define COPY_MAX_TOP ((1 << COPY_TOP_LEVELS) - 1)

typedef struct top_node {
	rbt_node n;
	int depth;
	int32_t child_top[2];    /* index in the top list, or -1 */
	uint64_t new_off;
} top_node;

/* Lists the top levels breadth first from the root; the subtrees below
 * them are copied whole as soon as they are found, and the child offsets
 * of the top nodes that hold them point at the copies.  Returns the number
 * of top nodes, or -1. */
static int copy_find_top(copy_ctx *cx, uint64_t root, top_node *top)
{
	if (!root)
		return 0;
	if (rbt_node_read(cx->src, cx->kk, root, &top[0].n, cx->err) < 0)
		return -1;
	top[0].depth = 0;
	int ntop = 1;
	for (int i = 0; i < ntop; i++) {
		uint64_t *kids[2] = {&top[i].n.left, &top[i].n.right};
		for (int side = 0; side < 2; side++) {
			top[i].child_top[side] = -1;
			if (!*kids[side])
				continue;
			if (top[i].depth + 1 < COPY_TOP_LEVELS) {
				top_node *c = &top[ntop];
				if (rbt_node_read(cx->src, cx->kk, *kids[side], &c->n, cx->err) < 0)
					return -1;
				c->depth = top[i].depth + 1;
				top[i].child_top[side] = ntop++;
			} else if (copy_node(cx, *kids[side], kids[side], top[i].depth + 1) < 0) {
				return -1;
			}
		}
	}
	return ntop;
}

/* Appends the top nodes deepest first, so each follows its children. */
static int copy_write_top(copy_ctx *cx, top_node *top, int ntop)
{
	for (int i = ntop - 1; i >= 0; i--) {
		rbt_node *n = &top[i].n;
		if (top[i].child_top[0] >= 0)
			n->left = top[top[i].child_top[0]].new_off;
		if (top[i].child_top[1] >= 0)
			n->right = top[top[i].child_top[1]].new_off;
		if (copy_emit(cx, n, n->left, n->right, &top[i].new_off) < 0)
			return -1;
	}
	return 0;
}

int rbt_copy(const cow_snap *src, const rbt_keykind *kk, rbt_root root, cow_writer *dst,
	     rbt_remap_fn remap, void *ctx, rbt_root *out, tsdb_err *err)
{
	copy_ctx cx = {.src = src, .kk = kk, .dst = dst, .remap = remap, .ctx = ctx, .err = err};
	top_node *top = malloc(COPY_MAX_TOP * sizeof *top);
	if (!top)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	int rc = -1;
	out->node = 0;
	int ntop = copy_find_top(&cx, root.node, top);
	if (ntop < 0 || copy_write_top(&cx, top, ntop) < 0)
		goto done;
	if (ntop)
		out->node = top[0].new_off;
	if (cx.copied != root.count) {
		tsdb_errf(err, TSDB_E_CORRUPT, "%s tree: count says %llu keys but the tree holds %llu", kk->name,
			  (unsigned long long)root.count, (unsigned long long)cx.copied);
		goto done;
	}
	out->count = root.count;
	rc = 0;
done:
	free(top);
	return rc;
}
