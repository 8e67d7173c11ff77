/*
 * test_predrange.c - the planner's ranges of one field
 * (tsdb_pred_field_ranges, predicate.h).
 *
 * The parts:
 *  - hand cases with their exact ranges: each operator and kind, "in"
 *    lists merged and sorted, several operators on one field, $and, $or,
 *    $not, the tests that bound nothing, the bounds on how many ranges;
 *  - a randomized property test against the matcher: for every object a
 *    random filter matches, the value of each field lies in that field's
 *    ranges (when there are any), and the ranges are sorted and disjoint.
 *    Being wider than needed is allowed, so this is what "correct" means;
 *    that the ranges are also tight is what the hand cases pin.
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predicate.h"
#include "rng.h"
#include "tap.h"

/* The request decoder's flags: how a where reaches the compiler. */
#define WHERE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

#define N_OF(a) (sizeof a / sizeof a[0])

static tsdb_pred *compile_json(const json_t *w)
{
	tsdb_pred *p = NULL;
	tsdb_err err = {.code = TSDB_E_NONE};
	if (tsdb_pred_compile(w, &p, &err) != 0) {
		printf("# test bug: where does not compile: %s\n", err.msg);
		return NULL;
	}
	return p;
}

static tsdb_pred *compile_text(const char *where, size_t flags)
{
	json_error_t jerr;
	json_t *w = json_loads(where, flags, &jerr);
	if (!w) {
		printf("# test bug: where %s does not parse: %s\n", where, jerr.text);
		return NULL;
	}
	tsdb_pred *p = compile_json(w);
	json_decref(w);
	return p;
}

/* The index of the field named name, or SIZE_MAX (which the function
 * answers with -1, like any index past the fields). */
static size_t field_index(const tsdb_pred *p, const char *name)
{
	for (size_t i = 0; i < tsdb_pred_field_count(p); i++)
		if (strcmp(tsdb_pred_field(p, i, NULL), name) == 0)
			return i;
	return SIZE_MAX;
}

/* byte order, a prefix first */
static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/* ---- the ranges as text, for exact comparisons ---------------------------- */

struct text {
	char buf[8192];
	size_t n;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		t->n = t->n + (size_t)w < sizeof t->buf ? t->n + (size_t)w : sizeof t->buf - 1;
}

static void put_bound(struct text *t, const char *s, size_t len)
{
	if (!s) {
		put(t, "*");
		return;
	}
	put(t, "\"");
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)s[k];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			put(t, "%c", c);
		else
			put(t, "\\x%02x", c);
	}
	put(t, "\"");
}

/* "unbounded", "nothing", or the ranges: N[lo,hi] S["lo",*] B[0,1] ... */
static const char *show(const tsdb_pred_range *r, int n, struct text *t)
{
	t->n = 0;
	t->buf[0] = '\0';
	if (n < 0)
		put(t, "unbounded");
	else if (n == 0)
		put(t, "nothing");
	for (int k = 0; k < n; k++) {
		if (k)
			put(t, " ");
		switch (r[k].kind) {
		case TSDB_PRED_RANGE_NUMBER:
			put(t, "N[%.17g,%.17g]", r[k].lo, r[k].hi);
			break;
		case TSDB_PRED_RANGE_STRING:
			put(t, "S[");
			put_bound(t, r[k].slo, r[k].slo_len);
			put(t, ",");
			put_bound(t, r[k].shi, r[k].shi_len);
			put(t, "]");
			break;
		case TSDB_PRED_RANGE_BOOL:
			put(t, "B[%g,%g]", r[k].lo, r[k].hi);
			break;
		default:
			put(t, "?%d", (int)r[k].kind);
		}
	}
	return t->buf;
}

/* ---- what every answer must satisfy --------------------------------------- */

static int lo_above_hi(const tsdb_pred_range *a, const tsdb_pred_range *b)
{
	if (a->kind == TSDB_PRED_RANGE_STRING)
		return a->slo && b->shi && cmp_bytes(a->slo, a->slo_len, b->shi, b->shi_len) > 0;
	return a->lo > b->hi;
}

/* Well formed, each range non-empty, sorted by kind then bound, disjoint
 * (and booleans in one range: [0, 0] and [1, 1] touch). */
static int well_formed(const tsdb_pred_range *r, int n, char *why, size_t cap)
{
	if (n > TSDB_PRED_MAX_RANGES) {
		snprintf(why, cap, "%d ranges", n);
		return 0;
	}
	for (int k = 0; k < n; k++) {
		const tsdb_pred_range *x = &r[k];
		switch (x->kind) {
		case TSDB_PRED_RANGE_NUMBER:
			if (isnan(x->lo) || isnan(x->hi) || x->slo || x->shi) {
				snprintf(why, cap, "range %d: a malformed number range", k);
				return 0;
			}
			break;
		case TSDB_PRED_RANGE_BOOL:
			if (!(x->lo == 0 || x->lo == 1) || !(x->hi == 0 || x->hi == 1) || x->slo || x->shi) {
				snprintf(why, cap, "range %d: a malformed boolean range", k);
				return 0;
			}
			break;
		case TSDB_PRED_RANGE_STRING:
			break;
		default:
			snprintf(why, cap, "range %d: kind %d", k, (int)x->kind);
			return 0;
		}
		if (lo_above_hi(x, x)) {
			snprintf(why, cap, "range %d is empty", k);
			return 0;
		}
		if (k == 0)
			continue;
		const tsdb_pred_range *w = &r[k - 1];
		if (w->kind > x->kind) {
			snprintf(why, cap, "ranges %d and %d: kinds out of order", k - 1, k);
			return 0;
		}
		if (w->kind < x->kind)
			continue;
		if (x->kind == TSDB_PRED_RANGE_BOOL) {
			snprintf(why, cap, "ranges %d and %d: two boolean ranges", k - 1, k);
			return 0;
		}
		/* x must start above w's end (then also above its start) */
		if (!lo_above_hi(x, w)) {
			snprintf(why, cap, "ranges %d and %d overlap or are out of order", k - 1, k);
			return 0;
		}
	}
	return 1;
}

/* Does the value v (of a member; NULL: absent) lie in one of the ranges? */
static int lies_in(const tsdb_pred_range *r, int n, const json_t *v)
{
	for (int k = 0; k < n; k++) {
		const tsdb_pred_range *x = &r[k];
		if (json_is_integer(v) || json_is_real(v)) {
			double d = json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
			if (x->kind == TSDB_PRED_RANGE_NUMBER && x->lo <= d && d <= x->hi)
				return 1;
		} else if (json_is_string(v)) {
			const char *s = json_string_value(v);
			size_t len = json_string_length(v);
			if (x->kind == TSDB_PRED_RANGE_STRING &&
			    (!x->slo || cmp_bytes(x->slo, x->slo_len, s, len) <= 0) &&
			    (!x->shi || cmp_bytes(s, len, x->shi, x->shi_len) <= 0))
				return 1;
		} else if (json_is_boolean(v)) {
			double b = json_is_true(v);
			if (x->kind == TSDB_PRED_RANGE_BOOL && x->lo <= b && b <= x->hi)
				return 1;
		}
	}
	return 0;
}

/* ---- hand cases ----------------------------------------------------------- */

static const struct {
	const char *where, *field, *want;
} hand_cases[] = {
	/* equality, each kind */
	{"{\"f\":1}", "f", "N[1,1]"},
	{"{\"f\":-7}", "f", "N[-7,-7]"},
	{"{\"f\":1.5}", "f", "N[1.5,1.5]"},
	{"{\"f\":-0.0}", "f", "N[0,0]"},
	{"{\"f\":\"a\"}", "f", "S[\"a\",\"a\"]"},
	{"{\"f\":\"\"}", "f", "S[\"\",\"\"]"},
	{"{\"f\":\"a\\u0000b\"}", "f", "S[\"a\\x00b\",\"a\\x00b\"]"},
	{"{\"f\":true}", "f", "B[1,1]"},
	{"{\"f\":false}", "f", "B[0,0]"},
	/* integers as doubles: 2^53 + 1 rounds to 2^53, int64 max to 2^63 */
	{"{\"f\":9007199254740993}", "f", "N[9007199254740992,9007199254740992]"},
	{"{\"f\":{\"<=\":9223372036854775807}}", "f", "N[-inf,9.2233720368547758e+18]"},
	{"{\"f\":{\">\":-9223372036854775808}}", "f", "N[-9.2233720368547758e+18,inf]"},
	/* each operator */
	{"{\"f\":{\"==\":3}}", "f", "N[3,3]"},
	{"{\"f\":{\"==\":\"x\"}}", "f", "S[\"x\",\"x\"]"},
	{"{\"f\":{\"==\":false}}", "f", "B[0,0]"},
	{"{\"f\":{\"<\":3}}", "f", "N[-inf,3]"},
	{"{\"f\":{\"<=\":3}}", "f", "N[-inf,3]"},
	{"{\"f\":{\">\":3}}", "f", "N[3,inf]"},
	{"{\"f\":{\">=\":0.5}}", "f", "N[0.5,inf]"},
	{"{\"f\":{\"<\":\"b\"}}", "f", "S[*,\"b\"]"},
	{"{\"f\":{\"<=\":\"\"}}", "f", "S[*,\"\"]"},
	{"{\"f\":{\">\":\"ab\"}}", "f", "S[\"ab\",*]"},
	{"{\"f\":{\">=\":\"ab\"}}", "f", "S[\"ab\",*]"},
	{"{\"f\":{\"!=\":1}}", "f", "unbounded"},
	{"{\"f\":{\"!=\":true}}", "f", "unbounded"},
	{"{\"f\":{\"exists\":true}}", "f", "unbounded"},
	{"{\"f\":{\"exists\":false}}", "f", "unbounded"},
	/* in: the points, sorted by kind then value, duplicates merged
	 * (1 and 1.0 are one number), both booleans one range */
	{"{\"f\":{\"in\":[3,1,\"b\",true,1,\"a\",false,1.0,\"b\",2,\"\",-0.0,0]}}", "f",
	 "N[0,0] N[1,1] N[2,2] N[3,3] S[\"\",\"\"] S[\"a\",\"a\"] S[\"b\",\"b\"] B[0,1]"},
	{"{\"f\":{\"in\":[true,true]}}", "f", "B[1,1]"},
	{"{\"f\":{\"in\":[\"ab\",\"a\",\"a\\u0000\"]}}", "f",
	 "S[\"a\",\"a\"] S[\"a\\x00\",\"a\\x00\"] S[\"ab\",\"ab\"]"},
	{"{\"f\":{\"in\":[]}}", "f", "nothing"},
	/* several operators on one field: one intersection */
	{"{\"f\":{\">=\":1,\"<\":2}}", "f", "N[1,2]"},
	{"{\"f\":{\">=\":1,\"<\":2,\"!=\":1.5}}", "f", "N[1,2]"},
	{"{\"f\":{\">\":5,\"<\":3}}", "f", "nothing"},
	{"{\"f\":{\"in\":[1,2,3,4,\"a\"],\">\":1.5}}", "f", "N[2,2] N[3,3] N[4,4]"},
	{"{\"f\":{\"in\":[1,2],\"exists\":false}}", "f", "N[1,1] N[2,2]"},
	{"{\"f\":{\">=\":\"a\",\"<\":\"b\"}}", "f", "S[\"a\",\"b\"]"},
	/* different kinds intersect in nothing */
	{"{\"f\":{\">=\":1,\"<=\":\"z\"}}", "f", "nothing"},
	{"{\"$and\":[{\"f\":\"a\"},{\"f\":1}]}", "f", "nothing"},
	{"{\"f\":true,\"$and\":[{\"f\":{\"in\":[1,\"true\"]}}]}", "f", "nothing"},
	/* $and */
	{"{\"$and\":[{\"f\":{\">=\":1}},{\"f\":{\"<=\":5}}]}", "f", "N[1,5]"},
	{"{\"$and\":[{\"f\":1},{\"f\":2}]}", "f", "nothing"},
	{"{\"$and\":[{\"f\":1},{\"f\":1.0}]}", "f", "N[1,1]"},
	{"{\"$and\":[{},{\"f\":1}]}", "f", "N[1,1]"},
	{"{\"$and\":[{\"g\":1},{\"f\":{\"<\":0}}]}", "f", "N[-inf,0]"},
	{"{\"$and\":[{\"g\":1},{\"f\":{\"<\":0}}]}", "g", "N[1,1]"},
	{"{\"f\":{\"in\":[1,5,9]},\"$and\":[{\"f\":{\">\":2}},{\"f\":{\"<\":8}}]}", "f", "N[5,5]"},
	/* $or */
	{"{\"$or\":[{\"f\":1},{\"g\":2}]}", "f", "unbounded"},
	{"{\"$or\":[{\"f\":1},{\"g\":2}]}", "g", "unbounded"},
	{"{\"$or\":[{\"f\":{\"<\":1}},{\"f\":{\">\":5}},{\"f\":\"x\"}]}", "f",
	 "N[-inf,1] N[5,inf] S[\"x\",\"x\"]"},
	{"{\"$or\":[{\"f\":{\"<=\":3}},{\"f\":{\">=\":3}}]}", "f", "N[-inf,inf]"},
	{"{\"$or\":[{\"f\":{\">=\":1,\"<=\":4}},{\"f\":{\">=\":2,\"<=\":6}},{\"f\":8}]}", "f",
	 "N[1,6] N[8,8]"},
	{"{\"$or\":[{\"f\":true},{\"f\":false}]}", "f", "B[0,1]"},
	{"{\"$or\":[{\"f\":{\"in\":[]}},{\"f\":2}]}", "f", "N[2,2]"},
	{"{\"$or\":[{\"f\":{\"in\":[]}},{\"f\":{\"in\":[]}}]}", "f", "nothing"},
	{"{\"$or\":[{\"f\":1},{}]}", "f", "unbounded"},
	{"{\"$or\":[{\"f\":1},{\"$not\":{\"f\":2}}]}", "f", "unbounded"},
	{"{\"$or\":[{\"f\":1,\"g\":1},{\"f\":2,\"h\":1}]}", "f", "N[1,1] N[2,2]"},
	{"{\"$or\":[{\"$and\":[{\"f\":{\">\":0}},{\"f\":{\"<\":10}}]},{\"f\":{\">\":5,\"<\":20}}]}",
	 "f", "N[0,20]"},
	{"{\"f\":{\"<\":100},\"$or\":[{\"f\":1},{\"f\":{\">\":50}},{\"f\":\"s\"}]}", "f",
	 "N[1,1] N[50,100]"},
	/* $not bounds nothing, even a double one */
	{"{\"$not\":{\"f\":1}}", "f", "unbounded"},
	{"{\"$not\":{\"$not\":{\"f\":1}}}", "f", "unbounded"},
	{"{\"f\":{\"<\":3},\"$not\":{\"f\":1}}", "f", "N[-inf,3]"},
	/* only other fields bound */
	{"{\"g\":1,\"h\":{\"<\":2}}", "f", "unbounded"},
	{"{\"g\":1,\"$or\":[{\"f\":1},{\"h\":1}]}", "f", "unbounded"},
	{"{\"g\":1,\"f\":{\"!=\":2}}", "f", "unbounded"},
	{"{\"g\":1,\"f\":{\"!=\":2}}", "g", "N[1,1]"},
	/* no fields at all: every index is past them */
	{"{}", "f", "unbounded"},
	{"{\"$not\":{}}", "f", "unbounded"},
};

static void test_cases(void)
{
	tsdb_pred_range *r = malloc(TSDB_PRED_MAX_RANGES * sizeof *r);
	REQUIRE(r);
	struct text t;
	char why[128];
	for (size_t k = 0; k < N_OF(hand_cases); k++) {
		tsdb_pred *p = compile_text(hand_cases[k].where, WHERE_FLAGS);
		CHECKF(p, "%s", hand_cases[k].where);
		if (!p)
			continue;
		int n = tsdb_pred_field_ranges(p, field_index(p, hand_cases[k].field), r);
		const char *got = show(r, n, &t);
		CHECKF(strcmp(got, hand_cases[k].want) == 0, "%s on %s: %s, not %s", hand_cases[k].where,
		       hand_cases[k].field, got, hand_cases[k].want);
		CHECKF(well_formed(r, n, why, sizeof why), "%s: %s", hand_cases[k].where, why);
		tsdb_pred_free(p);
	}

	/* an index past the fields, with fields */
	tsdb_pred *p = compile_text("{\"f\":1}", WHERE_FLAGS);
	REQUIRE(p);
	CHECK(tsdb_pred_field_ranges(p, 1, r) == -1);
	CHECK(tsdb_pred_field_ranges(p, SIZE_MAX, r) == -1);
	tsdb_pred_free(p);

	/* Duplicate keys (where jansson is told to allow them) count with their
	 * last value, in the filter as in the matcher. */
	p = compile_text("{\"f\":1,\"f\":{\">\":4},\"g\":{\"<\":1,\"<\":\"q\"}}", JSON_DECODE_ANY);
	REQUIRE(p);
	CHECK(strcmp(show(r, tsdb_pred_field_ranges(p, field_index(p, "f"), r), &t), "N[4,inf]") == 0);
	CHECK(strcmp(show(r, tsdb_pred_field_ranges(p, field_index(p, "g"), r), &t), "S[*,\"q\"]") == 0);
	json_t *m = json_loads("{\"f\":5,\"g\":\"a\"}", 0, NULL);
	CHECK(m && tsdb_pred_match_json(p, m) == 1);
	json_decref(m);
	tsdb_pred_free(p);

	/* the ranges point into the predicate */
	p = compile_text("{\"f\":{\"in\":[\"zz\"]}}", WHERE_FLAGS);
	REQUIRE(p);
	CHECK(tsdb_pred_field_ranges(p, 0, r) == 1);
	CHECK(r[0].slo == r[0].shi && r[0].slo_len == 2 && memcmp(r[0].slo, "zz", 3) == 0);
	tsdb_pred_free(p);
	free(r);
}

/* An "in" of the n numbers first, first + step, ... */
static json_t *in_list(int first, int step, int n)
{
	json_t *list = json_array();
	for (int k = 0; k < n; k++)
		json_array_append_new(list, json_integer(first + k * step));
	return json_pack("{s:{s:o}}", "f", "in", list);
}

static json_t *between(int lo, int hi)
{
	return json_pack("{s:{s:i,s:i}}", "f", ">=", lo, "<=", hi);
}

/* The bounds: an "in" of TSDB_PRED_MAX_IN values is one range each; a
 * union past TSDB_PRED_MAX_RANGES bounds nothing; an intersection past it
 * keeps its smaller operand. */
static void test_limits(void)
{
	tsdb_pred_range *r = malloc(TSDB_PRED_MAX_RANGES * sizeof *r);
	REQUIRE(r);
	char why[128];

	json_t *w = in_list(TSDB_PRED_MAX_IN, -1, TSDB_PRED_MAX_IN); /* descending */
	tsdb_pred *p = compile_json(w);
	REQUIRE(p);
	int n = tsdb_pred_field_ranges(p, 0, r);
	CHECKF(n == TSDB_PRED_MAX_IN, "%d", n);
	CHECK(well_formed(r, n, why, sizeof why));
	CHECK(n > 0 && r[0].lo == 1 && r[n - 1].hi == TSDB_PRED_MAX_IN);
	tsdb_pred_free(p);
	json_decref(w);

	/* a union of exactly TSDB_PRED_MAX_RANGES points, and of one more */
	for (int extra = 0; extra < 2; extra++) {
		int half = TSDB_PRED_MAX_RANGES / 2;
		w = json_pack("{s:[o,o]}", "$or", in_list(0, 2, half), in_list(1, 2, half + extra));
		p = compile_json(w);
		REQUIRE(p);
		n = tsdb_pred_field_ranges(p, 0, r);
		CHECKF(n == (extra ? -1 : TSDB_PRED_MAX_RANGES), "extra %d: %d", extra, n);
		CHECK(well_formed(r, n, why, sizeof why));
		tsdb_pred_free(p);
		json_decref(w);
	}

	/* A: 1000 even points in [0, 1998] and [5000, 6000]; B: [0, 2000] and
	 * 1000 odd points in [5001, 6999], and one more point.  A ∩ B would be
	 * 2000 points: A (1001 ranges, fewer than B's 1002) is kept. */
	json_t *a = json_pack("{s:[o,o]}", "$or", in_list(0, 2, 1000), between(5000, 6000));
	json_t *b = json_pack("{s:[o,o,{s:i}]}", "$or", between(0, 2000), in_list(5001, 2, 1000), "f",
			      99999);
	w = json_pack("{s:[o,o]}", "$and", a, b);
	p = compile_json(w);
	REQUIRE(p);
	n = tsdb_pred_field_ranges(p, 0, r);
	CHECKF(n == 1001, "%d", n);
	CHECK(well_formed(r, n, why, sizeof why));
	if (n == 1001) {
		int exact = 1;
		for (int k = 0; k < 1000; k++)
			exact &= r[k].kind == TSDB_PRED_RANGE_NUMBER && r[k].lo == 2 * k && r[k].hi == 2 * k;
		CHECK(exact && r[1000].lo == 5000 && r[1000].hi == 6000);
	}
	/* and still every match lies inside */
	static const char *const metas[] = {"{\"f\":0}", "{\"f\":1998}", "{\"f\":5001}", "{\"f\":5999}",
					    "{\"f\":5000.0}"};
	for (size_t k = 0; k < N_OF(metas); k++) {
		json_t *m = json_loads(metas[k], 0, NULL);
		CHECKF(tsdb_pred_match_json(p, m) == (k < 4), "%s", metas[k]);
		CHECK(lies_in(r, n, json_object_get(m, "f")));
		json_decref(m);
	}
	tsdb_pred_free(p);
	json_decref(w);

	/* the deepest filter there is, a bound at its bottom */
	w = json_pack("{s:i}", "f", 7);
	for (int level = 1; level < TSDB_PRED_MAX_DEPTH; level++)
		w = json_pack("{s:[o],s:i}", "$and", w, "g", level);
	p = compile_json(w);
	REQUIRE(p);
	CHECK(tsdb_pred_field_ranges(p, 0, r) == 1 && r[0].lo == 7 && r[0].hi == 7);
	tsdb_pred_free(p);
	json_decref(w);
	free(r);
}

/* ---- the property test ---------------------------------------------------- */

static const char *const names[] = {"f", "g", "h"};
static const int64_t ints[] = {
	0, 1, -1, 2, 3, 9007199254740991, 9007199254740992, 9007199254740993, -9007199254740993,
	INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1, 4611686018427387904,
};
static const double reals[] = {
	0.0, -0.0, 0.5, 1.0, 1.5, -1.0, 2.5, 9007199254740992.0, 9007199254740994.0,
	9223372036854775808.0, -9223372036854775808.0, 9223372036854774784.0, 1e300, -1e300,
	5e-324,
};
static const struct {
	const char *s;
	size_t len;
} strs[] = {
#define S(x) {x, sizeof x - 1}
	S(""), S("a"), S("ab"), S("b"), S("a\0"), S("ba"),
#undef S
};

static json_t *random_scalar(tsdb_rng *r, int orderable)
{
	switch (tsdb_rng_below(r, orderable ? 6 : 7)) {
	case 0:
	case 1:
		return json_integer(ints[tsdb_rng_below(r, N_OF(ints))]);
	case 2:
	case 3:
		return json_real(reals[tsdb_rng_below(r, N_OF(reals))]);
	case 4:
	case 5: {
		size_t k = tsdb_rng_below(r, N_OF(strs));
		return json_stringn(strs[k].s, strs[k].len);
	}
	default:
		return json_boolean(tsdb_rng_below(r, 2));
	}
}

/* A condition, mostly of the operators that bound. */
static json_t *random_cond(tsdb_rng *r)
{
	if (tsdb_rng_below(r, 3) == 0)
		return random_scalar(r, 0);
	static const char *const ops[] = {"<", "<=", ">", ">=", "==", "in", "in", "<", ">", "!=", "exists"};
	json_t *c = json_object();
	size_t n = 1 + tsdb_rng_below(r, 3);
	for (size_t k = 0; k < n; k++) {
		const char *op = ops[tsdb_rng_below(r, N_OF(ops))];
		if (strcmp(op, "in") == 0) {
			json_t *list = json_array();
			size_t m = tsdb_rng_below(r, 5);
			for (size_t e = 0; e < m; e++)
				json_array_append_new(list, random_scalar(r, 0));
			json_object_set_new(c, op, list);
		} else if (strcmp(op, "exists") == 0) {
			json_object_set_new(c, op, json_boolean(tsdb_rng_below(r, 2)));
		} else {
			json_object_set_new(c, op, random_scalar(r, op[0] == '<' || op[0] == '>'));
		}
	}
	return c;
}

/* A P with $and, $or and $not nested up to three levels below the top. */
static json_t *random_pred(tsdb_rng *r, int depth)
{
	json_t *p = json_object();
	size_t n = (depth == 0 ? 1 : 0) + tsdb_rng_below(r, 3);
	for (size_t k = 0; k < n; k++) {
		uint64_t roll = tsdb_rng_below(r, 10);
		if (roll < 5 || depth >= 3) {
			const char *name = names[tsdb_rng_below(r, N_OF(names))];
			json_object_set_new(p, name, random_cond(r));
		} else if (roll < 9) {
			json_t *list = json_array();
			size_t m = 1 + tsdb_rng_below(r, 3);
			for (size_t e = 0; e < m; e++)
				json_array_append_new(list, random_pred(r, depth + 1));
			json_object_set_new(p, roll < 7 ? "$and" : "$or", list);
		} else {
			json_object_set_new(p, "$not", random_pred(r, depth + 1));
		}
	}
	return p;
}

/* The filter's scalar operands, so that objects can hold them. */
struct operands {
	const json_t *v[256];
	size_t n;
};

static void collect(const json_t *x, struct operands *o)
{
	if (json_is_number(x) || json_is_string(x) || json_is_boolean(x)) {
		if (o->n < N_OF(o->v))
			o->v[o->n++] = x;
	} else if (json_is_array(x)) {
		for (size_t k = 0; k < json_array_size(x); k++)
			collect(json_array_get(x, k), o);
	} else if (json_is_object(x)) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)x, key, v) collect(v, o);
	}
}

/* An operand, or one next to it: the same number as the other kind, the
 * neighbouring doubles, a string one byte longer. */
static json_t *near_operand(tsdb_rng *r, const json_t *x)
{
	uint64_t how = tsdb_rng_below(r, 4);
	if (json_is_integer(x)) {
		int64_t i = json_integer_value(x);
		if (how == 0)
			return json_real((double)i);
		if (how == 1 && i < INT64_MAX)
			return json_integer(i + 1);
		if (how == 2 && i > INT64_MIN)
			return json_integer(i - 1);
	} else if (json_is_real(x)) {
		double d = json_real_value(x);
		if (how == 0 && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
			return json_integer((int64_t)d);
		if (how == 1)
			return json_real(nextafter(d, INFINITY));
		if (how == 2)
			return json_real(nextafter(d, -INFINITY));
	} else if (json_is_string(x) && how == 0) {
		char buf[64];
		size_t len = json_string_length(x);
		if (len + 1 < sizeof buf) {
			memcpy(buf, json_string_value(x), len);
			buf[len] = (char)tsdb_rng_below(r, 128);
			return json_stringn(buf, len + 1);
		}
	}
	return json_deep_copy(x);
}

/* Each field absent or of any type, scalars mostly the filter's operands
 * or next to them, so that filters match often; then also from the
 * domain, and other integers and reals. */
static json_t *random_meta(tsdb_rng *r, const struct operands *o)
{
	json_t *m = json_object();
	for (size_t k = 0; k < N_OF(names); k++) {
		json_t *v;
		switch (tsdb_rng_below(r, 16)) {
		case 0: continue; /* absent */
		case 1: v = json_null(); break;
		case 2: v = tsdb_rng_below(r, 2) ? json_pack("[i]", 1) : json_pack("{s:i}", "f", 1); break;
		case 3: {
			/* one draw per statement: the same stream with every compiler */
			int64_t i = (int64_t)tsdb_rng_next(r);
			v = json_integer(i >> tsdb_rng_below(r, 64));
			break;
		}
		case 4: v = json_real((tsdb_rng_uniform(r) - 0.5) * 8); break;
		case 5:
		case 6:
		case 7: v = random_scalar(r, 0); break;
		default:
			v = o->n ? near_operand(r, o->v[tsdb_rng_below(r, o->n)]) : random_scalar(r, 0);
		}
		json_object_set_new(m, names[k], v);
	}
	if (tsdb_rng_below(r, 4) == 0)
		json_object_set_new(m, "other", json_integer(1));
	return m;
}

#define PREDICATES 20000
#define METAS 64

static void test_property(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 20260214);
	tsdb_pred_range *ranges = malloc(TSDB_PRED_MAX_RANGES * sizeof *ranges);
	json_t *metas[METAS];
	REQUIRE(ranges);
	long cases = 0, bounded = 0, nothing = 0, matches = 0, checked = 0, failures = 0;
	char why[128];
	struct text t;
	for (int round = 0; round < PREDICATES && failures < 10; round++) {
		json_t *w = random_pred(&r, 0);
		tsdb_pred *p = compile_json(w);
		CHECK(p);
		if (!p) {
			json_decref(w);
			continue;
		}
		int match[METAS];
		struct operands ops = {.n = 0};
		collect(w, &ops);
		for (int k = 0; k < METAS; k++) {
			metas[k] = random_meta(&r, &ops);
			match[k] = tsdb_pred_match_json(p, metas[k]);
			matches += match[k];
		}
		for (size_t i = 0; i < tsdb_pred_field_count(p); i++) {
			int n = tsdb_pred_field_ranges(p, i, ranges);
			cases++;
			bounded += n >= 0;
			nothing += n == 0;
			if (!well_formed(ranges, n, why, sizeof why)) {
				char *s = json_dumps(w, JSON_COMPACT);
				CHECKF(0, "%s on %s: %s: %s", s, tsdb_pred_field(p, i, NULL), show(ranges, n, &t), why);
				free(s);
				failures++;
				continue;
			}
			if (n < 0)
				continue;
			for (int k = 0; k < METAS; k++) {
				if (!match[k])
					continue;
				checked++;
				const json_t *v = json_object_get(metas[k], tsdb_pred_field(p, i, NULL));
				if (lies_in(ranges, n, v))
					continue;
				char *s = json_dumps(w, JSON_COMPACT), *ms = json_dumps(metas[k], JSON_COMPACT);
				CHECKF(0, "%s matches %s, but field %s is outside %s", s, ms,
				       tsdb_pred_field(p, i, NULL), show(ranges, n, &t));
				free(s);
				free(ms);
				failures++;
			}
		}
		for (int k = 0; k < METAS; k++)
			json_decref(metas[k]);
		tsdb_pred_free(p);
		json_decref(w);
	}
	free(ranges);
	printf("# %ld cases (filter, field), %ld bounded (%ld of them: nothing), %ld matching objects, "
	       "%ld checked against bounded ranges\n",
	       cases, bounded, nothing, matches, checked);
	CHECK(cases >= PREDICATES);
	CHECKF(bounded * 3 >= cases, "only %ld of %ld cases bounded", bounded, cases);
	CHECKF(nothing * 50 >= cases, "only %ld cases of nothing", nothing);
	CHECKF(checked * 2 >= (long)PREDICATES, "only %ld checks against bounded ranges", checked);
}

int main(void)
{
	RUN(test_cases);
	RUN(test_limits);
	RUN(test_property);
	return tap_done();
}
