/*
 * payload.c - JSON payloads of docs/PROTOCOL.md (see payload.h).  Member
 * order is the documented one; reals print with 17 significant digits
 * (jansson's default), so distances round-trip bit for bit.
 */
#include "payload.h"

#include <stdlib.h>
#include <time.h>

static json_t *oom(tsdb_err *err)
{
	tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory building the response");
	return NULL;
}

const char *tsdb_commit_time(const tsdb_db *db, char *buf, size_t cap)
{
	time_t secs = (time_t)(db->snap.meta.time_ns / 1000000000u);
	struct tm tm;
	if (db->nseries == 0 || !gmtime_r(&secs, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return buf;
}

json_t *tsdb_payload_info(const tsdb_db *db, tsdb_err *err)
{
	char when[32];
	const char *t = tsdb_commit_time(db, when, sizeof when);
	json_t *ix = json_array();
	for (uint32_t i = 0; ix && i < db->nmidx; i++)
		if (json_array_append_new(ix, json_pack("{s:s%, s:I}", "field", db->midx[i].field,
							 db->midx[i].field_len, "entries",
							 (json_int_t)db->midx[i].root.count))) {
			json_decref(ix);
			ix = NULL;
		}
	if (!ix)
		return oom(err);
	json_t *p = json_pack("{s:I, s:I, s:f, s:I, s:b, s:I, s:I, s:I, s:s?, s:I, s:I, s:o}",
			      "format_version", (json_int_t)db->format,
			      "length", (json_int_t)db->params.L,
			      "mult", db->params.mult,
			      "vantage_points", (json_int_t)db->params.nvp,
			      "vantage_points_chosen", db->nchosen > 0,
			      "seed", (json_int_t)db->params.seed,
			      "series", (json_int_t)db->nseries,
			      "txn", (json_int_t)db->snap.meta.txn,
			      "last_commit", t,
			      "file_bytes", (json_int_t)db->snap.file_bytes,
			      "dead_bytes", (json_int_t)db->dead_bytes,
			      "indexes", ix);
	return p ? p : oom(err);
}

json_t *tsdb_payload_id(const char *id, size_t len, tsdb_err *err)
{
	/* Ids were validated at insertion: one that is not valid now (not
	 * UTF-8, a control byte, a NUL that jansson would pass on) is damage. */
	if (tsdb_id_validate(id, len, NULL) != 0) {
		tsdb_errf(err, TSDB_E_CORRUPT, "a stored id is not a valid id");
		return NULL;
	}
	json_t *s = json_stringn(id, len);
	return s ? s : oom(err);
}

json_t *tsdb_payload_shape(const double *grid, uint32_t L, uint32_t m, double *scratch)
{
	tsdb_shape(grid, L, scratch, m);
	json_t *a = json_array();
	for (uint32_t i = 0; a && i < m; i++) {
		if (json_array_append_new(a, json_real(scratch[i]))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static json_t *hits_json(const tsdb_db *db, const tsdb_search_answer *a, double *scratch, tsdb_err *err)
{
	json_t *arr = json_array();
	if (!arr)
		return oom(err);
	for (uint32_t i = 0; i < a->nhits; i++) {
		const tsdb_hit *h = &a->hits[i];
		json_t *id = tsdb_payload_id(h->id, h->id_len, err);
		if (!id)
			goto fail;
		json_t *o = json_object();
		int bad = json_object_set_new(o, "id", id);
		bad |= json_object_set_new(o, "distance", json_real(h->distance));
		if (a->shape > 0 && !bad) {
			tsdb_rec rec;
			if (tsdb_rec_read(db, h->off, 1, &rec, err)) {
				json_decref(o);
				goto fail;
			}
			bad |= json_object_set_new(o, "shape", tsdb_payload_shape(rec.grid, db->params.L, a->shape, scratch));
		}
		if (bad || json_array_append_new(arr, o)) {
			if (bad)
				json_decref(o);
			oom(err);
			goto fail;
		}
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

/* How a filtered search was answered (payload.h). */
static json_t *filter_json(const tsdb_db *db, const tsdb_search_stats *st)
{
	json_t *f = json_object();
	int bad = json_object_set_new(f, "plan", json_string(tsdb_plan_name(st->plan)));
	bad |= json_object_set_new(f, "tested", json_integer((json_int_t)st->tested));
	if (st->plan == TSDB_PLAN_INDEX) {
		bad |= json_object_set_new(f, "index", json_string(st->index_field));
		bad |= json_object_set_new(f, "index_entries", json_integer((json_int_t)st->index_entries));
	}
	if (st->plan != TSDB_PLAN_WALK) {
		bad |= json_object_set_new(f, "matched", json_integer((json_int_t)st->matched));
	} else if (st->sampled) {
		double est = (double)st->sample_matched / st->sampled * (double)db->nseries;
		bad |= json_object_set_new(f, "matched_estimate", json_integer((json_int_t)(est + 0.5)));
		bad |= json_object_set_new(f, "sampled", json_integer(st->sampled));
	}
	if (bad) {
		json_decref(f);
		return NULL;
	}
	return f;
}

json_t *tsdb_payload_search(const tsdb_db *db, const tsdb_search_answer *a, double *scratch, tsdb_err *err)
{
	json_t *results = hits_json(db, a, scratch, err);
	if (!results)
		return NULL;
	json_t *p = json_object();
	int bad = a->within ? json_object_set_new(p, "radius", json_real(a->radius))
			    : json_object_set_new(p, "k", json_integer(a->k));
	bad |= json_object_set_new(p, "series", json_integer((json_int_t)db->nseries));
	bad |= json_object_set_new(p, "computed", json_integer((json_int_t)a->stats.computed));
	if (a->within)
		bad |= json_object_set_new(p, "truncated", json_boolean(a->truncated));
	if (a->filtered) {
		json_t *f = filter_json(db, &a->stats);
		bad |= f ? json_object_set_new(p, "filter", f) : -1;
	}
	bad |= json_object_set_new(p, "results", results);
	if (a->shape > 0)
		bad |= json_object_set_new(p, "query_shape",
					   tsdb_payload_shape(a->query_grid, db->params.L, a->shape, scratch));
	if (bad) {
		json_decref(p);
		return oom(err);
	}
	return p;
}
