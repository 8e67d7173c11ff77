/*
 * metaindex.c - metadata index keys, the catalog record and range
 * enumeration (see metaindex.h).  The trees themselves are rbtree.c's;
 * the writer keeps them, the checker verifies them, the search reads them.
 */
#include "metaindex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"
#include "rbkeys.h"

#define MIDX_FIXED 16u
#define MIDX_ENTRY_FIXED 17u

int tsdb_midx_field_check(const char *field, size_t len, tsdb_err *err)
{
	if (len < 1 || len > TSDB_MIDX_FIELD_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "an indexed field name is 1 to %u bytes, not %zu",
				 TSDB_MIDX_FIELD_MAX, len);
	if (memchr(field, '\0', len))
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "an indexed field name cannot hold a NUL byte");
	json_t *s = json_stringn(field, len); /* NULL unless valid UTF-8 */
	if (!s)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "indexed field name '%.*s' is not valid UTF-8",
				 (int)len, field);
	json_decref(s);
	return 0;
}

json_t *tsdb_midx_parse(const char *meta, size_t len)
{
	if (!meta || !len)
		return NULL;
	json_t *m = json_loadb(meta, len, TSDB_PRED_META_JSON_FLAGS, NULL);
	if (m && !json_is_object(m)) {
		json_decref(m);
		return NULL;
	}
	return m;
}

uint32_t tsdb_midx_key(const json_t *meta, const char *field, uint32_t row, uint8_t key[RBT_KEY_MAX])
{
	const json_t *v = meta ? json_object_get(meta, field) : NULL;
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_INTEGER: return rbt_metarow_number(key, (double)json_integer_value(v), row);
	case JSON_REAL: return rbt_metarow_number(key, json_real_value(v), row);
	case JSON_STRING: return rbt_metarow_string(key, json_string_value(v), json_string_length(v), row);
	case JSON_TRUE: return rbt_metarow_bool(key, 1, row);
	case JSON_FALSE: return rbt_metarow_bool(key, 0, row);
	default: return 0;
	}
}

static int bad(tsdb_err *err, uint64_t off, const char *what)
{
	return tsdb_errf(err, TSDB_E_CORRUPT, "metadata index catalog at %llu: %s", (unsigned long long)off,
			 what);
}

int tsdb_midx_read(const cow_snap *s, uint64_t off, tsdb_midx *out, uint32_t *count, uint32_t *bytes,
		   tsdb_err *err)
{
	const uint8_t *h = off % 8 ? NULL : cow_ptr(s, off, MIDX_FIXED);
	if (!h || le32_get(h) != MIDX_MAGIC)
		return bad(err, off, "not a catalog record");
	uint32_t size = le32_get(h + 8), n = le32_get(h + 12);
	const uint8_t *b = cow_ptr(s, off, size);
	if (size < MIDX_FIXED || !b)
		return bad(err, off, "size out of bounds");
	if (le32_get(b + 4) != crc32c(0, b + 8, size - 8))
		return bad(err, off, "checksum mismatch");
	if (n > TSDB_MIDX_MAX)
		return bad(err, off, "too many indexes");
	size_t at = MIDX_FIXED;
	for (uint32_t i = 0; i < n; i++) {
		if (size - at < MIDX_ENTRY_FIXED || b[at + 16] == 0 || b[at + 16] > size - at - MIDX_ENTRY_FIXED)
			return bad(err, off, "entry out of bounds");
		tsdb_midx *x = &out[i];
		x->root = (rbt_root){le64_get(b + at), le64_get(b + at + 8)};
		x->field_len = b[at + 16];
		memcpy(x->field, b + at + MIDX_ENTRY_FIXED, x->field_len);
		x->field[x->field_len] = '\0';
		at += MIDX_ENTRY_FIXED + x->field_len;
		if (tsdb_midx_field_check(x->field, x->field_len, NULL) < 0)
			return bad(err, off, "an index name is not a field name");
		for (uint32_t j = 0; j < i; j++)
			if (out[j].field_len == x->field_len && !memcmp(out[j].field, x->field, x->field_len))
				return bad(err, off, "an index is named twice");
		/* Every entry is one node of at least the header and a 6-byte key. */
		if (x->root.count > s->size / (RBT_NODE_HEADER + 6))
			return bad(err, off, "an index counts more entries than fit in the file");
	}
	*count = n;
	*bytes = size;
	return 0;
}

int tsdb_midx_append(cow_writer *w, const tsdb_midx *ix, uint32_t count, uint64_t *off, tsdb_err *err)
{
	size_t size = MIDX_FIXED;
	for (uint32_t i = 0; i < count; i++)
		size += MIDX_ENTRY_FIXED + ix[i].field_len;
	size = (size + 7) & ~(size_t)7;
	uint8_t *b = calloc(1, size);
	if (!b)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	le32_put(b, MIDX_MAGIC);
	le32_put(b + 8, (uint32_t)size);
	le32_put(b + 12, count);
	size_t at = MIDX_FIXED;
	for (uint32_t i = 0; i < count; i++) {
		le64_put(b + at, ix[i].root.node);
		le64_put(b + at + 8, ix[i].root.count);
		b[at + 16] = (uint8_t)ix[i].field_len;
		memcpy(b + at + MIDX_ENTRY_FIXED, ix[i].field, ix[i].field_len);
		at += MIDX_ENTRY_FIXED + ix[i].field_len;
	}
	le32_put(b + 4, crc32c(0, b + 8, size - 8));
	int rc = cow_append(w, b, size, 8, off, err);
	free(b);
	return rc;
}

/* The first and last keys of a range; hi_open: no last key, the range
 * runs to the end of its kind. */
static void range_keys(const tsdb_pred_range *r, uint8_t lo[RBT_KEY_MAX], uint8_t hi[RBT_KEY_MAX], int *hi_open)
{
	*hi_open = 0;
	switch (r->kind) {
	case TSDB_PRED_RANGE_NUMBER:
		rbt_metarow_number(lo, r->lo, 0);
		rbt_metarow_number(hi, r->hi, UINT32_MAX);
		break;
	case TSDB_PRED_RANGE_STRING:
		rbt_metarow_string(lo, r->slo ? r->slo : "", r->slo ? r->slo_len : 0, 0);
		if (r->shi)
			rbt_metarow_string(hi, r->shi, r->shi_len, UINT32_MAX);
		else
			*hi_open = 1;
		break;
	case TSDB_PRED_RANGE_BOOL:
		rbt_metarow_bool(lo, r->lo > 0, 0);
		rbt_metarow_bool(hi, r->hi > 0, UINT32_MAX);
		break;
	}
}

int tsdb_midx_range(const cow_snap *s, rbt_root root, const tsdb_pred_range *ranges, int nranges,
		    uint64_t limit, tsdb_midx_fn fn, void *ctx, uint64_t *seen, int *more, tsdb_err *err)
{
	*seen = 0;
	*more = 0;
	rbt_cursor *c = malloc(sizeof *c);
	if (!c)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	int rc = 0;
	for (int i = 0; i < nranges && rc == 0 && !*more; i++) {
		uint8_t lo[RBT_KEY_MAX], hi[RBT_KEY_MAX];
		int hi_open;
		range_keys(&ranges[i], lo, hi, &hi_open);
		rbt_cursor_init(c, s, &rbt_key_metarow, root);
		int r;
		for (r = rbt_seek_ge(c, lo, err); r == 1; r = rbt_next(c, err)) {
			const uint8_t *k = c->node.key;
			if (k[0] != lo[0] || (!hi_open && rbt_key_metarow.cmp(k, hi) > 0))
				break;
			if (*seen == limit) {
				*more = 1;
				break;
			}
			++*seen;
			if (fn(ctx, c->node.value, err) < 0) {
				r = -1;
				break;
			}
		}
		rc = r < 0 ? -1 : 0;
	}
	free(c);
	return rc;
}
