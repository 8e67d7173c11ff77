/*
 * select.c - the course's select (see select.h).
 *
 * One pass over the id index tests the filter on each record's stored
 * metadata text (predicate.h's text matcher, no parsing) -- or, when a
 * metadata index bounds the filter to at most a quarter of the series
 * (tsdb_index_plan_choose), one pass over that range; only the matches
 * are remembered (record offset and id, pointing into the mapping), and
 * only a sort field or the requested metadata makes a record's metadata
 * be parsed.  Cost: O(n) filter tests (O(range) with an index), O(m log
 * m) for m matches when sorted, and the page's metadata; memory: one
 * entry per match plus copies of string sort keys, never the parsed
 * metadata.
 */
#include "select.h"

#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "payload.h"
#include "search.h"

/* A match, with its sort key when there is a sort field. */
typedef struct match {
	uint64_t off;
	const char *id;
	size_t id_len;
	int group;          /* 0 number, 1 string, 2 boolean, 3 the rest */
	long double num;    /* exact for every int64 and every double */
	char *str;          /* owned copy: a sorted select keeps no parsed metadata */
	size_t str_len;
	int boolean;
} match;

static int by_id(const match *a, const match *b)
{
	size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
	int c = memcmp(a->id, b->id, n);
	if (c)
		return c;
	return a->id_len == b->id_len ? 0 : (a->id_len < b->id_len ? -1 : 1);
}

/* qsort_r's order; desc (a const int *) reverses the typed groups. */
static int by_key(const void *pa, const void *pb, void *desc)
{
	const match *a = pa, *b = pb;
	if (a->group != b->group)
		return a->group < b->group ? -1 : 1;
	int c = 0;
	switch (a->group) {
	case 0:
		c = a->num < b->num ? -1 : a->num > b->num;
		break;
	case 1: {
		size_t n = a->str_len < b->str_len ? a->str_len : b->str_len;
		c = memcmp(a->str, b->str, n);
		if (!c && a->str_len != b->str_len)
			c = a->str_len < b->str_len ? -1 : 1;
		break;
	}
	case 2:
		c = a->boolean - b->boolean;
		break;
	}
	if (c)
		return *(const int *)desc ? -c : c;
	return by_id(a, b);
}

static json_t *oom(tsdb_err *err)
{
	tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory building the select answer");
	return NULL;
}

/* The stored metadata of rec as an object (NULL when it has none or its
 * text is not an object: predicate.h reads it the same way). */
static json_t *meta_object(const tsdb_rec *rec)
{
	if (!rec->meta || rec->meta_len == 0)
		return NULL;
	json_t *m = json_loadb(rec->meta, rec->meta_len, TSDB_PRED_META_JSON_FLAGS, NULL);
	if (m && !json_is_object(m)) {
		json_decref(m);
		m = NULL;
	}
	return m;
}

/* The sort key of one match (a string copied, so that memory is the keys',
 * not every match's parsed metadata); -1 when out of memory. */
static int sort_key(const tsdb_select_spec *spec, const tsdb_rec *rec, match *m, tsdb_err *err)
{
	m->group = 3;
	json_t *meta = meta_object(rec);
	const json_t *v = meta ? json_object_getn(meta, spec->sort_field, spec->sort_len) : NULL;
	if (json_is_integer(v)) {
		m->group = 0;
		m->num = (long double)json_integer_value(v);
	} else if (json_is_real(v)) {
		m->group = 0;
		m->num = (long double)json_real_value(v);
	} else if (json_is_string(v)) {
		m->group = 1;
		m->str_len = json_string_length(v);
		m->str = malloc(m->str_len + 1);
		if (!m->str) {
			json_decref(meta);
			return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for the sort keys");
		}
		memcpy(m->str, json_string_value(v), m->str_len + 1);
	} else if (json_is_boolean(v)) {
		m->group = 2;
		m->boolean = json_is_true(v);
	}
	json_decref(meta);
	return 0;
}

/* {"id"[, "meta"]} of one result. */
static json_t *result(const tsdb_db *db, const tsdb_select_spec *spec, const match *m, tsdb_err *err)
{
	json_t *id = tsdb_payload_id(m->id, m->id_len, err);
	if (!id)
		return NULL;
	json_t *o = json_object();
	if (!o || json_object_set_new(o, "id", id)) {
		json_decref(o);
		return oom(err);
	}
	if (!spec->fields)
		return o;
	tsdb_rec rec;
	if (tsdb_rec_read(db, m->off, 0, &rec, err) < 0) {
		json_decref(o);
		return NULL;
	}
	json_t *meta = meta_object(&rec);
	json_t *out = meta;
	if (json_array_size(spec->fields) > 0) {
		out = json_object();
		size_t i;
		const json_t *name;
		json_array_foreach(spec->fields, i, name) {
			json_t *v = meta ? json_object_getn(meta, json_string_value(name), json_string_length(name))
					 : NULL;
			if (v && out && json_object_setn(out, json_string_value(name), json_string_length(name), v)) {
				json_decref(out);
				out = NULL;
			}
		}
		json_decref(meta);
	} else if (!out) {
		out = json_object();
	}
	if (!out || json_object_set_new(o, "meta", out)) {
		json_decref(o);
		return oom(err);
	}
	return o;
}

/* The matches so far. */
typedef struct matches {
	const tsdb_db *db;
	const tsdb_select_spec *spec;
	match *ms;
	size_t n, cap;
} matches;

/* The record at off, if it matches. */
static int consider(void *ctx, uint64_t off, tsdb_err *err)
{
	matches *m = ctx;
	tsdb_rec rec;
	if (tsdb_rec_read(m->db, off, 0, &rec, err) < 0)
		return -1;
	if (m->spec->where && !tsdb_pred_match_text(m->spec->where, rec.meta, rec.meta_len))
		return 0;
	match *grown = tsdb_grow(m->ms, &m->cap, m->n + 1, sizeof *m->ms, err);
	if (!grown)
		return -1;
	m->ms = grown;
	m->ms[m->n] = (match){.off = rec.off, .id = rec.id, .id_len = rec.id_len};
	m->n++;  /* counted before its key, so that the caller frees a key half made */
	return m->spec->sort_field ? sort_key(m->spec, &rec, &m->ms[m->n - 1], err) : 0;
}

static int by_id_qsort(const void *a, const void *b)
{
	return by_id(a, b);
}

/* Every match, in id order or the index's. */
static int find_matches(matches *m, int *id_order, tsdb_err *err)
{
	const tsdb_db *db = m->db;
	tsdb_index_plan ip;
	if (tsdb_index_plan_choose(db, m->spec->where, db->nseries / 4, &ip, err) < 0)
		return -1;
	*id_order = !ip.ix;
	if (ip.ix) {
		uint64_t seen;
		int more;
		int rc = tsdb_midx_range(&db->snap, ip.ix->root, ip.ranges, ip.nranges, UINT64_MAX, consider, m,
					 &seen, &more, err);
		tsdb_index_plan_free(&ip);
		return rc < 0 ? tsdb_errctx(err, "%s", db->path) : 0;
	}
	rbt_cursor c;
	rbt_cursor_init(&c, &db->snap, &rbt_key_bytes, db->ids);
	int r;
	for (r = rbt_first(&c, err); r == 1; r = rbt_next(&c, err))
		if (consider(m, c.node.value, err) < 0)
			return -1;
	return r < 0 ? tsdb_errctx(err, "%s", db->path) : 0;
}

json_t *tsdb_select_run(const tsdb_db *db, const tsdb_select_spec *spec, tsdb_err *err)
{
	matches m = {.db = db, .spec = spec};
	json_t *payload = NULL, *results = NULL;
	int id_order;
	if (find_matches(&m, &id_order, err) < 0)
		goto out;
	match *ms = m.ms;
	size_t n = m.n;
	/* The id index yields id order already; a sort field reorders. */
	if (spec->sort_field && n)
		qsort_r(ms, n, sizeof *ms, by_key, (void *)&spec->sort_desc);
	else if (!id_order && n)
		qsort(ms, n, sizeof *ms, by_id_qsort);
	results = json_array();
	if (!results) {
		oom(err);
		goto out;
	}
	for (size_t i = spec->offset; i < n && i - spec->offset < spec->limit; i++) {
		json_t *o = result(db, spec, &ms[i], err);
		if (!o || json_array_append_new(results, o)) {
			if (o)
				oom(err);
			goto out;
		}
	}
	payload = json_object();
	if (!payload) {
		oom(err);
		goto out;
	}
	int bad = json_object_set_new(payload, "count", json_integer((json_int_t)n));
	bad |= json_object_set_new(payload, "offset", json_integer(spec->offset));
	bad |= json_object_set_new(payload, "more", json_boolean((uint64_t)spec->offset + spec->limit < n));
	bad |= json_object_set_new(payload, "results", results); /* stolen, also on failure */
	results = NULL;
	if (bad) {
		json_decref(payload);
		payload = oom(err);
	}
out:
	json_decref(results);
	for (size_t i = 0; i < m.n; i++)
		free(m.ms[i].str);
	free(m.ms);
	return payload;
}
