/*
 * rbtree.h - copy-on-write red-black trees stored in a cowfile.
 *
 * Knows nothing of series, distances or the protocol: a tree maps unique
 * keys of one key kind to 64-bit values.  Key kinds are small vtables
 * (size, compare, describe), so a new kind needs no tree code: the tree
 * reaches keys only through them.  The kinds the database uses are in
 * rbkeys.h.
 *
 * Node on disk (4-aligned, little-endian):
 *     u32 crc32c of bytes [4, size)
 *     u32 info: bit 0 red; bits 8-15 key kind id; bits 16-31 key size
 *     u64 left, u64 right   (file offsets, 0 = nil)
 *     u64 value
 *     key bytes
 * Invariants of every committed tree, checked by rbt_check:
 *  - keys strictly increase in order (no duplicates);
 *  - the root is black, no red node has a red child, and every path from
 *    the root to a nil has the same number of black nodes;
 *  - a child's offset is below its parent's (nodes are written children
 *    first), so a damaged file cannot make a cycle;
 *  - every node's checksum and key are valid, and the count stored with
 *    the root equals the number of nodes.
 * Committed nodes are never modified.  A writer's tree (rbt_wtree) copies
 * the nodes it changes into memory ("dirty" nodes, changed in place as
 * often as the batch likes) and rbt_w_flush appends them children first:
 * a batch writes each touched node once, a single insert O(log n) nodes.
 */
#ifndef TSDB_RBTREE_H
#define TSDB_RBTREE_H

#include <stddef.h>
#include <stdint.h>

#include "cowfile.h"
#include "err.h"

#define RBT_MAX_DEPTH 128      /* 2*log2(n+1) for any n that fits a file */
#define RBT_NODE_HEADER 32u
#define RBT_KEY_MAX 256u

typedef struct rbt_keykind {
	uint8_t id;            /* recorded in every node */
	const char *name;
	uint32_t max_size;     /* largest encoded key */
	/* Size of the key encoded at k, reading at most avail bytes; 0 when
	 * the bytes are not a valid key of this kind. */
	uint32_t (*size)(const uint8_t *k, uint32_t avail);
	int (*cmp)(const uint8_t *a, const uint8_t *b);
	void (*describe)(const uint8_t *k, char *buf, size_t cap);
} rbt_keykind;

typedef struct rbt_root {
	uint64_t node;   /* offset of the root node, 0 for an empty tree */
	uint64_t count;
} rbt_root;

/* A decoded committed node. */
typedef struct rbt_node {
	uint64_t off, left, right, value;
	const uint8_t *key;    /* points into the mapping */
	uint32_t keysize;
	int red;
} rbt_node;

/* Decodes and verifies (bounds, kind, key, checksum) the node at off. */
int rbt_node_read(const cow_snap *s, const rbt_keykind *kk, uint64_t off, rbt_node *n,
		  tsdb_err *err);

/* 1 and *value when key is present, 0 when absent, -1 on a damaged tree. */
int rbt_lookup(const cow_snap *s, const rbt_keykind *kk, rbt_root root, const uint8_t *key,
	       uint64_t *value, tsdb_err *err);

/* Ordered iteration over a committed tree, in both directions.  Every
 * call returns 1 when positioned on a node (c->node), 0 when it ran off an
 * end (the cursor is then unpositioned), -1 on a damaged tree. */
typedef struct rbt_cursor {
	const cow_snap *snap;
	const rbt_keykind *kk;
	rbt_root root;
	int depth;                        /* path[0..depth) from the root */
	uint64_t budget;                  /* nodes it may still read (see cur_reset) */
	rbt_node path[RBT_MAX_DEPTH];
	rbt_node node;                    /* == path[depth - 1] when positioned */
} rbt_cursor;

void rbt_cursor_init(rbt_cursor *c, const cow_snap *s, const rbt_keykind *kk, rbt_root root);
int rbt_first(rbt_cursor *c, tsdb_err *err);
int rbt_last(rbt_cursor *c, tsdb_err *err);
int rbt_seek_ge(rbt_cursor *c, const uint8_t *key, tsdb_err *err);  /* first >= key */
int rbt_seek_le(rbt_cursor *c, const uint8_t *key, tsdb_err *err);  /* last <= key */
int rbt_next(rbt_cursor *c, tsdb_err *err);
int rbt_prev(rbt_cursor *c, tsdb_err *err);

typedef struct rbt_stats {
	uint64_t nodes;
	uint64_t bytes;          /* node bytes, padding excluded */
	uint32_t black_height;
	uint32_t max_depth;
} rbt_stats;

/* Verifies every invariant above; the message names the first violation
 * (node offset, key, what is wrong). */
int rbt_check(const cow_snap *s, const rbt_keykind *kk, rbt_root root, rbt_stats *st,
	      tsdb_err *err);

/* A tree being changed by a writer batch. */
typedef struct rbt_wtree {
	const cow_snap *base;    /* the writer's committed snapshot */
	const rbt_keykind *kk;
	uint64_t root;           /* committed offset, or a dirty reference */
	uint64_t count;
	size_t stride;           /* bytes per dirty node */
	uint8_t **chunks;        /* dirty nodes, RBT_CHUNK per chunk: stable addresses */
	size_t nchunks, ndirty;
	/* File bytes of the committed nodes this batch copied: the next flush
	 * supersedes them (their old versions are dead once it commits). */
	uint64_t superseded;
} rbt_wtree;

/* The file bytes a node with a key of keysize bytes takes (4-aligned). */
static inline uint64_t rbt_node_file_bytes(uint32_t keysize)
{
	return (RBT_NODE_HEADER + (uint64_t)keysize + 3) & ~(uint64_t)3;
}

void rbt_w_open(rbt_wtree *t, const cow_snap *base, const rbt_keykind *kk, rbt_root root);
void rbt_w_free(rbt_wtree *t);

/* 1 inserted, 0 the key was present (tree unchanged; with replace != 0 its
 * value is set instead), -1 on error (the wtree must then be discarded). */
int rbt_w_insert(rbt_wtree *t, const uint8_t *key, uint64_t value, int replace, tsdb_err *err);
/* 1 deleted (old value in *value if non-NULL), 0 absent, -1 on error. */
int rbt_w_delete(rbt_wtree *t, const uint8_t *key, uint64_t *value, tsdb_err *err);
/* 1 found, 0 absent, -1 on error; sees the batch's changes. */
int rbt_w_lookup(rbt_wtree *t, const uint8_t *key, uint64_t *value, tsdb_err *err);

/* Appends the dirty nodes (children first) and returns the new root.  The
 * tree then refers to uncommitted bytes: commit before using it again.  If
 * the commit fails, reopen the tree at its old root. */
int rbt_w_flush(rbt_wtree *t, cow_writer *w, rbt_root *out, tsdb_err *err);

/* Copies the live nodes of a committed tree into another writer's file,
 * children first, passing each value through remap (NULL: unchanged). */
typedef int (*rbt_remap_fn)(void *ctx, uint64_t value, uint64_t *out, tsdb_err *err);
int rbt_copy(const cow_snap *src, const rbt_keykind *kk, rbt_root root, cow_writer *dst,
	     rbt_remap_fn remap, void *ctx, rbt_root *out, tsdb_err *err);

#endif
