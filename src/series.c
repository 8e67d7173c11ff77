/*
 * series.c - a user's series: parsing (text and JSON), validation, ids,
 * serialization back to JSON, and bounded file reading.
 *
 * Invariants:
 *  - The points are kept exactly as given: input order, duplicates kept,
 *    every number converted once (strtod or jansson) and never rounded again.
 *  - A parser either fills *out completely and returns 0, or leaves *out
 *    zeroed (nothing to free) and returns -1 with a message naming the line
 *    or field.  Nothing is allocated before its size is checked against the
 *    caller's bound.
 *  - Messages quote user input only after replacing bytes outside printable
 *    ASCII, so a message is always valid UTF-8 (it may end up in JSON).
 */
#include "series.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A number token longer than this is not a plausible measurement. */
#define NUMBER_MAX 127
/* How much of a bad token a message quotes. */
#define QUOTE_MAX 40

void tsdb_series_free(tsdb_series *s)
{
	if (!s)
		return;
	free(s->t);
	free(s->v);
	free(s->meta);
	memset(s, 0, sizeof *s);
}

/* The shortest %.Ng (N = 15..17) that reads back as x: "1.2", not
 * "1.1999999999999999556". */
static void fmt_double(char *buf, size_t cap, double x)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			return;
	}
}

/* Copies at most QUOTE_MAX bytes of user input for a message, with bytes
 * outside printable ASCII replaced by '?' and "..." marking truncation. */
static void quote(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
	if (n > cap - 4)
		n = cap - 4;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n < len) {
		memcpy(dst + n, "...", 3);
		n += 3;
	}
	dst[n] = '\0';
}

static int time_in_range(double t)
{
	return isfinite(t) && t >= 0.0 && t < 1.0;
}

static int check_count(size_t n, size_t max_points, tsdb_err *err)
{
	if (n > max_points)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "series has %zu points (max %zu)", n,
				 max_points);
	return 0;
}

/* Allocates room for n points (at least one, so malloc(0) never happens). */
static int alloc_points(tsdb_series *s, size_t n, tsdb_err *err)
{
	size_t m = n ? n : 1;
	if (m > SIZE_MAX / sizeof(double))
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "series has %zu points", n);
	double *t = realloc(s->t, m * sizeof *t);
	if (!t)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %zu points", n);
	s->t = t;
	double *v = realloc(s->v, m * sizeof *v);
	if (!v)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for %zu points", n);
	s->v = v;
	return 0;
}

/* ---- ids ---------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7:
 * no overlongs, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (avail < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

static int id_check(const char *id, size_t len, tsdb_err *err)
{
	if (!id || len == 0)
		return tsdb_errf(err, TSDB_E_INVALID_KEY, "id is empty");
	if (len > TSDB_ID_MAX)
		return tsdb_errf(err, TSDB_E_INVALID_KEY, "id is %zu bytes (max %d)", len,
				 TSDB_ID_MAX);
	const unsigned char *u = (const unsigned char *)id;
	for (size_t i = 0; i < len;) {
		if (u[i] < 0x20 || u[i] == 0x7f)
			return tsdb_errf(err, TSDB_E_INVALID_KEY,
					 "id contains a control character at byte %zu", i);
		size_t k = utf8_seq(u + i, len - i);
		if (k == 0)
			return tsdb_errf(err, TSDB_E_INVALID_KEY, "id is not valid UTF-8");
		i += k;
	}
	return 0;
}

int tsdb_id_validate(const char *id, size_t len, tsdb_err *err)
{
	if (id_check(id, len, err) == 0)
		return 0;
	tsdb_err_field(err, "id");
	return -1;
}

int tsdb_series_set_id(tsdb_series *s, const char *id, size_t len, tsdb_err *err)
{
	if (tsdb_id_validate(id, len, err))
		return -1;
	memcpy(s->id, id, len);
	s->id[len] = '\0';
	s->id_len = len;
	return 0;
}

/* ---- validation --------------------------------------------------------- */

int tsdb_series_validate(const tsdb_series *s, size_t max_points, tsdb_err *err)
{
	char num[32];
	if (check_count(s->n, max_points, err))
		return -1;
	if (s->n < TSDB_SERIES_MIN_POINTS) {
		tsdb_errf(err, TSDB_E_INVALID_SERIES, "needs at least %d points, got %zu",
			  TSDB_SERIES_MIN_POINTS, s->n);
		tsdb_err_field(err, "t");
		return -1;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!time_in_range(s->t[i])) {
			fmt_double(num, sizeof num, s->t[i]);
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "t[%zu] = %s is outside [0, 1)", i, num);
			tsdb_err_field(err, "t[%zu]", i);
			return -1;
		}
		if (!isfinite(s->v[i])) {
			fmt_double(num, sizeof num, s->v[i]);
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "v[%zu] = %s is not finite", i, num);
			tsdb_err_field(err, "v[%zu]", i);
			return -1;
		}
	}
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[0])
			return 0;
	tsdb_errf(err, TSDB_E_INVALID_SERIES, "constant series has no shape");
	tsdb_err_field(err, "v");
	return -1;
}

/* ---- text format -------------------------------------------------------- */

enum num_status { NUM_OK, NUM_SYNTAX, NUM_RANGE, NUM_LONG };

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Column separators; '\r' is here so CRLF files parse, and the test is
 * explicit rather than isspace() so the locale cannot change it. */
static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Accepts only decimal floating syntax, [+-](d+[.d*]|.d+)([eE][+-]d+),
 * before handing the token to strtod: strtod alone would also take "nan",
 * "inf" and hex floats. */
static enum num_status parse_decimal(const char *s, size_t len, double *out)
{
	if (len > NUMBER_MAX)
		return NUM_LONG;
	size_t p = 0, digits = 0;
	if (p < len && (s[p] == '+' || s[p] == '-'))
		p++;
	for (; p < len && is_digit(s[p]); p++)
		digits++;
	if (p < len && s[p] == '.')
		for (p++; p < len && is_digit(s[p]); p++)
			digits++;
	if (digits == 0)
		return NUM_SYNTAX;
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		size_t exp_digits = 0;
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		for (; p < len && is_digit(s[p]); p++)
			exp_digits++;
		if (exp_digits == 0)
			return NUM_SYNTAX;
	}
	if (p != len)
		return NUM_SYNTAX;

	char tmp[NUMBER_MAX + 1];
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	char *end;
	double x = strtod(tmp, &end);
	/* a short read here means a locale with another decimal point */
	if (end != tmp + len)
		return NUM_SYNTAX;
	if (!isfinite(x))
		return NUM_RANGE; /* underflow to 0 or a subnormal is fine */
	*out = x;
	return NUM_OK;
}

static int text_number(const char *tok, size_t len, const char *name, size_t line,
		       const char *column, double *out, tsdb_err *err)
{
	char q[QUOTE_MAX + 4];
	enum num_status st = parse_decimal(tok, len, out);
	if (st == NUM_OK)
		return 0;
	quote(q, sizeof q, tok, len);
	const char *why = st == NUM_RANGE ? "is out of range"
			  : st == NUM_LONG ? "is too long to be a number"
					   : "is not a number";
	tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s line %zu: %s '%s' %s", name, line, column, q,
		  why);
	tsdb_err_place(err, name, line);
	tsdb_err_field(err, "%s", column);
	return -1;
}

int tsdb_series_parse_text(const char *buf, size_t len, const char *name,
			   size_t max_points, tsdb_series *out, tsdb_err *err)
{
	tsdb_series s = {0};
	size_t cap = 0;
	size_t line = 1;
	if (!name)
		name = "input";
	memset(out, 0, sizeof *out);

	for (size_t i = 0; i < len; line++) {
		const char *eol = memchr(buf + i, '\n', len - i);
		size_t next = eol ? (size_t)(eol - buf) + 1 : len;
		const char *hash = memchr(buf + i, '#', next - i);
		size_t end = hash ? (size_t)(hash - buf) : (eol ? next - 1 : len);
		const char *tok[2];
		size_t toklen[2];
		int ntok = 0;
		for (size_t p = i; ntok < 2;) {
			while (p < end && is_blank(buf[p]))
				p++;
			if (p >= end)
				break;
			size_t start = p;
			while (p < end && !is_blank(buf[p]))
				p++;
			tok[ntok] = buf + start;
			toklen[ntok++] = p - start;
		}
		i = next;
		if (ntok == 0)
			continue;
		if (ntok == 1) {
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s line %zu: missing value column",
				  name, line);
			tsdb_err_place(err, name, line);
			tsdb_err_field(err, "value");
			goto fail;
		}
		double t, v;
		if (text_number(tok[0], toklen[0], name, line, "time", &t, err) ||
		    text_number(tok[1], toklen[1], name, line, "value", &v, err))
			goto fail;
		if (!time_in_range(t)) {
			char q[QUOTE_MAX + 4];
			quote(q, sizeof q, tok[0], toklen[0]);
			tsdb_errf(err, TSDB_E_INVALID_SERIES,
				  "%s line %zu: time %s is outside [0, 1)", name, line, q);
			tsdb_err_place(err, name, line);
			tsdb_err_field(err, "time");
			goto fail;
		}
		if (s.n == max_points) {
			tsdb_errf(err, TSDB_E_TOO_LARGE, "%s line %zu: more than %zu points", name,
				  line, max_points);
			tsdb_err_place(err, name, line);
			goto fail;
		}
		if (s.n == cap) {
			/* doubling, but never past the bound the caller set */
			size_t want = cap ? cap * 2 : 256;
			if (want > max_points || want < cap)
				want = max_points;
			if (alloc_points(&s, want, err))
				goto fail;
			cap = want;
		}
		s.t[s.n] = t;
		s.v[s.n] = v;
		s.n++;
	}
	if (tsdb_series_validate(&s, max_points, err)) {
		tsdb_errctx(err, "%s", name);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	tsdb_series_free(&s);
	return -1;
}

/* ---- JSON --------------------------------------------------------------- */

/* jansson has refused NaN, Infinity and out-of-range reals at parse time,
 * so every number here is finite; integers become the nearest double. */
static int json_number(const json_t *x, const char *field, size_t i, double *out,
		       tsdb_err *err)
{
	if (json_is_integer(x))
		*out = (double)json_integer_value(x);
	else if (json_is_real(x))
		*out = json_real_value(x);
	else {
		tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s[%zu] is not a number", field, i);
		tsdb_err_field(err, "%s[%zu]", field, i);
		return -1;
	}
	return 0;
}

static int from_columns(const json_t *tj, const json_t *vj, const char *tname,
			const char *vname, size_t max_points, tsdb_series *s, tsdb_err *err)
{
	if (!json_is_array(tj))
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s is not an array", tname);
	if (!json_is_array(vj))
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s is not an array", vname);
	size_t n = json_array_size(tj);
	if (json_array_size(vj) != n)
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s has %zu elements but %s has %zu",
				 tname, n, vname, json_array_size(vj));
	if (check_count(n, max_points, err) || alloc_points(s, n, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (json_number(json_array_get(tj, i), tname, i, &s->t[i], err) ||
		    json_number(json_array_get(vj, i), vname, i, &s->v[i], err))
			return -1;
		s->n = i + 1;
	}
	return 0;
}

static int from_pairs(const json_t *a, size_t max_points, tsdb_series *s, tsdb_err *err)
{
	size_t n = json_array_size(a);
	if (check_count(n, max_points, err) || alloc_points(s, n, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(a, i);
		if (!json_is_array(p) || json_array_size(p) != 2)
			return tsdb_errf(err, TSDB_E_INVALID_SERIES,
					 "point %zu is not a [t, v] pair", i);
		if (json_number(json_array_get(p, 0), "t", i, &s->t[i], err) ||
		    json_number(json_array_get(p, 1), "v", i, &s->v[i], err))
			return -1;
		s->n = i + 1;
	}
	return 0;
}

/* [[t...], [v...]] versus a list of [t, v] pairs: the outer array has two
 * arrays that are not both pairs.  Two pairs, [[t0, v0], [t1, v1]], read
 * either way are two points, which validation rejects, so the ambiguous
 * case never decides what is stored. */
static int is_column_form(const json_t *a)
{
	if (json_array_size(a) != 2)
		return 0;
	const json_t *x = json_array_get(a, 0), *y = json_array_get(a, 1);
	return json_is_array(x) && json_is_array(y) &&
	       !(json_array_size(x) == 2 && json_array_size(y) == 2);
}

static int set_meta(tsdb_series *s, const json_t *meta, tsdb_err *err)
{
	if (!json_is_object(meta))
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "meta is not an object");
	/* jansson (>= 2.8) keeps insertion order, so this is the user's key
	 * order; measure first so an oversized meta is never allocated */
	size_t need = json_dumpb(meta, NULL, 0, JSON_COMPACT);
	if (need == 0)
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "meta cannot be serialized");
	if (need > TSDB_META_MAX)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "meta is %zu bytes (max %u)", need,
				 TSDB_META_MAX);
	char *text = malloc(need + 1);
	if (!text)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory for meta");
	if (json_dumpb(meta, text, need, JSON_COMPACT) != need) {
		free(text);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "meta changed while serializing");
	}
	text[need] = '\0';
	s->meta = text;
	s->meta_len = need;
	return 0;
}

/* The object forms.  Unknown fields are rejected rather than ignored so a
 * misspelt "meta" or a mixed t/time_points object is reported, not lost. */
static int from_object(const json_t *o, size_t max_points, tsdb_series *s, tsdb_err *err)
{
	static const char *const known[] = {"id", "meta", "t", "v", "time_points",
					    "data_points"};
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)o, key, val) {
		size_t k = 0;
		while (k < sizeof known / sizeof known[0] && strcmp(key, known[k]) != 0)
			k++;
		if (k == sizeof known / sizeof known[0]) {
			char q[QUOTE_MAX + 4];
			quote(q, sizeof q, key, strlen(key));
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "unknown field '%s'", q);
			tsdb_err_field(err, "%s", q);
			return -1;
		}
	}
	const json_t *t = json_object_get(o, "t"), *v = json_object_get(o, "v");
	const json_t *tp = json_object_get(o, "time_points"), *dp = json_object_get(o, "data_points");
	int rc;
	if ((t || v) && (tp || dp))
		return tsdb_errf(err, TSDB_E_INVALID_SERIES,
				 "give either t and v or time_points and data_points, not both");
	if (t || v) {
		if (!t || !v) {
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "missing field '%s'", t ? "v" : "t");
			tsdb_err_field(err, "%s", t ? "v" : "t");
			return -1;
		}
		rc = from_columns(t, v, "t", "v", max_points, s, err);
	} else if (tp || dp) {
		if (!tp || !dp) {
			const char *missing = tp ? "data_points" : "time_points";
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "missing field '%s'", missing);
			tsdb_err_field(err, "%s", missing);
			return -1;
		}
		rc = from_columns(tp, dp, "time_points", "data_points", max_points, s, err);
	} else
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "series object has no 't' and 'v'");
	if (rc)
		return -1;

	const json_t *id = json_object_get(o, "id");
	if (id && !json_is_null(id)) {
		char num[TSDB_ID_NUM_MAX];
		size_t len;
		const char *text = tsdb_id_json_text(id, num, &len);
		if (!text) {
			tsdb_errf(err, TSDB_E_INVALID_KEY, "id is not a string or an integer");
			tsdb_err_field(err, "id");
			return -1;
		}
		if (tsdb_series_set_id(s, text, len, err))
			return -1;
	}
	const json_t *meta = json_object_get(o, "meta");
	if (meta && !json_is_null(meta) && set_meta(s, meta, err)) {
		tsdb_err_field(err, "meta");
		return -1;
	}
	return 0;
}

const char *tsdb_id_json_text(const json_t *v, char num[TSDB_ID_NUM_MAX], size_t *len)
{
	if (json_is_string(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	if (!json_is_integer(v))
		return NULL;
	int n = snprintf(num, TSDB_ID_NUM_MAX, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (n < 0 || n >= TSDB_ID_NUM_MAX)
		return NULL;
	*len = (size_t)n;
	return num;
}

int tsdb_series_from_json(const json_t *j, size_t max_points, tsdb_series *out,
			  tsdb_err *err)
{
	tsdb_series s = {0};
	int rc;
	memset(out, 0, sizeof *out);
	if (json_is_object(j))
		rc = from_object(j, max_points, &s, err);
	else if (json_is_array(j) && is_column_form(j))
		rc = from_columns(json_array_get(j, 0), json_array_get(j, 1), "t", "v",
				  max_points, &s, err);
	else if (json_is_array(j))
		rc = from_pairs(j, max_points, &s, err);
	else
		rc = tsdb_errf(err, TSDB_E_INVALID_SERIES,
			       "a series is a JSON object or array");
	if (rc == 0)
		rc = tsdb_series_validate(&s, max_points, err);
	if (rc) {
		tsdb_series_free(&s);
		return -1;
	}
	*out = s;
	return 0;
}

static json_t *real_array(const double *x, size_t n)
{
	json_t *a = json_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_real(x[i]))) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *tsdb_series_to_json(const tsdb_series *s)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_t *meta = json_null();
	if (s->meta) {
		meta = json_loadb(s->meta, s->meta_len, JSON_ALLOW_NUL, NULL);
		if (!json_is_object(meta)) {
			json_decref(meta);
			meta = NULL;
		}
	}
	/* the *_new setters take ownership (even when they fail) and fail on a
	 * NULL value, so each failed allocation surfaces as a non-zero return */
	if (json_object_set_new(o, "id",
				s->id_len ? json_stringn(s->id, s->id_len) : json_null()) ||
	    json_object_set_new(o, "t", real_array(s->t, s->n)) ||
	    json_object_set_new(o, "v", real_array(s->v, s->n))) {
		json_decref(meta);
		json_decref(o);
		return NULL;
	}
	if (json_object_set_new(o, "meta", meta)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- files -------------------------------------------------------------- */

int tsdb_read_fd(int fd, const char *name, size_t max_bytes, char **buf, size_t *len,
		       tsdb_err *err)
{
	*buf = NULL;
	*len = 0;
	struct stat st;
	size_t cap = 64 * 1024;
	if (fstat(fd, &st) != 0)
		return tsdb_errno(err, errno, "cannot stat %s", name);
	if (S_ISDIR(st.st_mode))
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s is a directory", name);
	if (S_ISREG(st.st_mode)) {
		if ((unsigned long long)st.st_size > max_bytes)
			return tsdb_errf(err, TSDB_E_TOO_LARGE, "%s is %lld bytes (max %zu)", name,
					 (long long)st.st_size, max_bytes);
		/* +1 so the read that sees end of file needs no growth */
		cap = (size_t)st.st_size + 1;
	}
	/* one byte past the bound tells "exactly max" from "more" */
	size_t limit = max_bytes < SIZE_MAX - 2 ? max_bytes + 1 : SIZE_MAX - 2;
	if (cap > limit)
		cap = limit;
	char *p = malloc(cap + 1);
	size_t n = 0;
	if (!p)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory reading %s", name);
	for (;;) {
		if (n == cap) {
			if (cap >= limit)
				break;
			size_t want = cap > limit / 2 ? limit : cap * 2;
			char *q = realloc(p, want + 1);
			if (!q) {
				free(p);
				return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory reading %s",
						 name);
			}
			p = q;
			cap = want;
		}
		ssize_t r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(p);
			return tsdb_errno(err, e, "cannot read %s", name);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max_bytes) {
		free(p);
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "%s is larger than %zu bytes", name,
				 max_bytes);
	}
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

int tsdb_read_file(const char *path, size_t max_bytes, char **buf, size_t *len,
		   tsdb_err *err)
{
	*buf = NULL;
	*len = 0;
	if (strcmp(path, "-") == 0)
		return tsdb_read_fd(STDIN_FILENO, "standard input", max_bytes, buf, len, err);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return tsdb_errno(err, errno, "cannot open %s", path);
	int rc = tsdb_read_fd(fd, path, max_bytes, buf, len, err);
	close(fd);
	return rc;
}
