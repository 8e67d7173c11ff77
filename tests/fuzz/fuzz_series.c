/*
 * fuzz_series.c - libFuzzer target for the series parsers (series.h): the
 * text format and every JSON shape, plus the promise behind decision 5 of
 * docs/DESIGN.md (decision 5) that accepted points come back bit for bit.
 *
 * For each input:
 *  - tsdb_series_parse_text with a large and a tiny point bound; the two
 *    must agree (the tiny one may only add TOO_LARGE);
 *  - json_loadb with the flags the ingest path uses and with the flags the
 *    request decoder uses, then tsdb_series_from_json on each;
 *  - every accepted series must pass tsdb_series_validate and survive
 *        tsdb_series_to_json -> json_dumps -> json_loads -> from_json
 *    with identical id, meta text and point bits (-0.0 and subnormals
 *    included), and a text series also a %.17g text round trip.
 * A mismatch aborts: it is a bug even when no sanitizer fires.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "series.h"

#define BIG_BOUND 100000u  /* more points than any -max_len input holds */
#define SMALL_BOUND 7u     /* exercises the growth cap and TOO_LARGE */

/* src/input.c (ingest) and client/simsearch.c parse series files so. */
#define INGEST_FLAGS JSON_REJECT_DUPLICATES
/* src/proto.c parses requests (with a "ts" series) so. */
#define REQUEST_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_series: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* Bit-exact equality of everything a series carries. */
static int same_series(const tsdb_series *a, const tsdb_series *b)
{
	if (a->n != b->n || a->id_len != b->id_len || memcmp(a->id, b->id, a->id_len) != 0)
		return 0;
	if (a->n && (memcmp(a->t, b->t, a->n * sizeof(double)) != 0 ||
		     memcmp(a->v, b->v, a->n * sizeof(double)) != 0))
		return 0;
	if ((a->meta == NULL) != (b->meta == NULL) || a->meta_len != b->meta_len)
		return 0;
	return a->meta == NULL || memcmp(a->meta, b->meta, a->meta_len) == 0;
}

/* Checked after every successful parse: the parser's own promises. */
static void check_parsed(const tsdb_series *s, size_t bound)
{
	tsdb_err err;
	if (tsdb_series_validate(s, bound, &err) != 0)
		die("parser accepted a series that does not validate", err.msg);
	if (s->id_len && (s->id_len != strlen(s->id) || tsdb_id_validate(s->id, s->id_len, &err) != 0))
		die("parser accepted a bad id", s->id);
	if (s->meta && (s->meta_len != strlen(s->meta) || s->meta_len > TSDB_META_MAX))
		die("parser produced meta with a bad length", NULL);
}

/* to_json -> text -> JSON -> series must give back exactly s. */
static void json_roundtrip(const tsdb_series *s, size_t load_flags)
{
	json_t *j = tsdb_series_to_json(s);
	if (!j)
		die("tsdb_series_to_json failed", NULL);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		die("json_dumps failed", NULL);
	json_error_t jerr;
	json_t *back = json_loads(text, load_flags, &jerr);
	if (!back)
		die("tsdb_series_to_json output does not parse", jerr.text);
	tsdb_series s2;
	tsdb_err err;
	if (tsdb_series_from_json(back, BIG_BOUND, &s2, &err) != 0) {
		fprintf(stderr, "text: %.2000s\n", text);
		die("tsdb_series_to_json output is refused by tsdb_series_from_json", err.msg);
	}
	if (!same_series(s, &s2)) {
		fprintf(stderr, "text: %.2000s\n", text);
		die("JSON round trip changed the series", NULL);
	}
	tsdb_series_free(&s2);
	json_decref(back);
	free(text);
}

/* Every double printed with %.17g reads back exactly; the text parser must
 * agree with strtod on that. */
static void text_roundtrip(const tsdb_series *s)
{
	size_t cap = s->n * 60 + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf)
		die("out of memory", NULL);
	for (size_t i = 0; i < s->n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%.17g %.17g\n", s->t[i], s->v[i]);
	tsdb_series s2;
	tsdb_err err;
	if (tsdb_series_parse_text(buf, len, "roundtrip", BIG_BOUND, &s2, &err) != 0)
		die("%.17g text of an accepted series is refused", err.msg);
	if (s2.n != s->n || memcmp(s2.t, s->t, s->n * sizeof(double)) != 0 ||
	    memcmp(s2.v, s->v, s->n * sizeof(double)) != 0)
		die("text round trip changed the points", NULL);
	tsdb_series_free(&s2);
	free(buf);
}

static void fuzz_text(const char *data, size_t size)
{
	tsdb_series big, small;
	tsdb_err e1 = {.code = TSDB_E_NONE}, e2 = {.code = TSDB_E_NONE};
	int rb = tsdb_series_parse_text(data, size, "fuzz", BIG_BOUND, &big, &e1);
	int rs = tsdb_series_parse_text(data, size, "fuzz", SMALL_BOUND, &small, &e2);
	if (rb != 0 && (big.t || big.v || big.n || e1.code == TSDB_E_NONE))
		die("failed text parse left state behind or no code", e1.msg);
	if (rs == 0 && (rb != 0 || !same_series(&big, &small)))
		die("text parse under a small bound disagrees with a large bound", e1.msg);
	if (rs != 0 && rb == 0 && big.n <= SMALL_BOUND)
		die("text parse under a small bound failed below the bound", e2.msg);
	if (rs != 0 && rb == 0 && e2.code != TSDB_E_TOO_LARGE)
		die("text parse over the small bound is not TOO_LARGE", e2.msg);
	if (rb == 0) {
		check_parsed(&big, BIG_BOUND);
		if (big.id_len || big.meta)
			die("text parse set an id or meta", NULL);
		json_roundtrip(&big, INGEST_FLAGS);
		text_roundtrip(&big);
		tsdb_series_free(&big);
	}
	if (rs == 0)
		tsdb_series_free(&small);
}

static void fuzz_json(const char *data, size_t size, size_t flags)
{
	json_error_t jerr;
	json_t *j = json_loadb(data, size, flags, &jerr);
	if (!j)
		return;
	tsdb_series s, small;
	tsdb_err err = {.code = TSDB_E_NONE}, e2 = {.code = TSDB_E_NONE};
	int rb = tsdb_series_from_json(j, BIG_BOUND, &s, &err);
	int rs = tsdb_series_from_json(j, SMALL_BOUND, &small, &e2);
	if (rb != 0 && (s.t || s.v || s.meta || s.n || err.code == TSDB_E_NONE))
		die("failed JSON parse left state behind or no code", err.msg);
	if (rs == 0 && (rb != 0 || !same_series(&s, &small)))
		die("JSON parse under a small bound disagrees with a large bound", err.msg);
	if (rs != 0 && rb == 0 && s.n <= SMALL_BOUND)
		die("JSON parse under a small bound failed below the bound", e2.msg);
	if (rs == 0)
		tsdb_series_free(&small);
	if (rb == 0) {
		check_parsed(&s, BIG_BOUND);
		json_roundtrip(&s, flags);
		text_roundtrip(&s);
		tsdb_series_free(&s);
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	fuzz_text(text, size);
	fuzz_json(text, size, INGEST_FLAGS);
	fuzz_json(text, size, REQUEST_FLAGS);
	return 0;
}
