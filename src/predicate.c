/*
 * predicate.c - metadata filters: compiling a `where` object into a small
 * tree, and matching the tree against a series' metadata, parsed (json_t)
 * or as the stored JSON text; and, for the planner, deriving from the tree
 * the ranges a field's value must lie in.
 *
 * Invariants:
 *  - A compiled predicate is immutable.  Its tree is an array of nodes
 *    (node 0 the root); an ALL node (a P object, or $and) holds when all
 *    its children do, ANY ($or) when one does, NOT ($not) negates its only
 *    child, and a TEST compares one field with its operands.  The tree is
 *    at most TSDB_PRED_MAX_DEPTH predicates deep, so the recursive
 *    evaluation is bounded (two nodes per level: 2 * 32 + 1 frames).
 *  - Both matchers share the evaluation and the comparisons; they differ
 *    only in how a field's value is found (struct value).  So what the
 *    differential tests check is the one thing that differs: that the
 *    text scanner reads a document exactly as jansson 2.14 does with
 *    TSDB_PRED_META_JSON_FLAGS, accepting and refusing the same bytes.
 *  - The scanner is iterative: nested values are skipped with a bit stack
 *    of container kinds bounded by jansson's own depth limit, so no input
 *    can exhaust the C stack.  It allocates nothing; its only scratch is
 *    a position per field of the predicate, on the stack.
 *  - Compiler messages quote user text (field names, operators) only as
 *    printable ASCII or whole valid UTF-8 sequences, so a message is valid
 *    UTF-8 and can travel in a JSON response.
 */
#include "predicate.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "utf8.h"

#ifndef JSON_PARSER_MAX_DEPTH
#define JSON_PARSER_MAX_DEPTH 2048 /* jansson 2.14's jansson_config.h */
#endif

#define NO_NODE UINT32_MAX
#define NO_FIELD SIZE_MAX
#define NO_POS SIZE_MAX

enum node_kind { NODE_ALL, NODE_ANY, NODE_NOT, NODE_TEST };

enum test_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_EXISTS, OP_MISSING };

struct pred_node {
	enum node_kind kind;
	enum test_op op;          /* TEST */
	uint32_t child, last;     /* ALL, ANY, NOT: first and last child, or NO_NODE */
	uint32_t next;            /* the next sibling, or NO_NODE */
	uint32_t first, count;    /* TEST: its operands, scalars[first .. first + count) */
	size_t field;             /* TEST: index in fields */
	size_t name_off, name_len; /* TEST: the field's name in the pool */
};

enum scalar_kind { SCALAR_INT, SCALAR_REAL, SCALAR_STRING, SCALAR_TRUE, SCALAR_FALSE };

struct pred_scalar {
	enum scalar_kind kind;
	int64_t i;
	double d;
	size_t off, len; /* SCALAR_STRING: its bytes in the pool */
};

struct pred_field {
	size_t off, len; /* in the pool, NUL-terminated */
};

struct tsdb_pred {
	struct pred_node *nodes;
	size_t nnodes, nodes_cap;
	struct pred_scalar *scalars;
	size_t nscalars, scalars_cap;
	char *pool; /* field names and string operands, each NUL-terminated */
	size_t pool_len, pool_cap;
	struct pred_field *fields; /* distinct, in byte order */
	size_t nfields;
	int constant; /* no field read: the value (0 or 1); else -1 */
};

/* Positions per field on the stack of tsdb_pred_match_text (8 KiB): no
 * predicate has more fields than tests, nor more tests than conditions
 * (add_test counts each). */
#define MAX_FIELDS TSDB_PRED_MAX_CONDITIONS

/* memcmp order, a prefix first: the order of fields and of string values. */
static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c < 0 ? -1 : 1;
	return (alen > blen) - (alen < blen);
}

/* ---- UTF-8 and JSON string literals, exactly as jansson reads them ------ */

/* Length of the valid UTF-8 sequence of two to four bytes starting at s
 * (avail bytes available), or 0: jansson's utf8_check_first and
 * utf8_check_full (no overlong forms, no surrogates, nothing past
 * U+10FFFF). */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
	size_t n;
	uint32_t v;
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		v = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		v = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t k = 1; k < n; k++) {
		if (s[k] < 0x80 || s[k] > 0xBF)
			return 0;
		v = v << 6 | (s[k] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000))
		return 0;
	return n;
}

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at t[i..i+4) as a UTF-16 code unit, or -1. */
static int32_t hex4(const unsigned char *t, size_t len, size_t i)
{
	if (len < 4 || i > len - 4)
		return -1;
	int32_t v = 0;
	for (size_t k = 0; k < 4; k++) {
		int h = hex_digit(t[i + k]);
		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	return v;
}

enum decoded { UNIT_BAD = -1, UNIT_END = 0, UNIT_BYTES = 1 };

/* Decodes the next character of a string literal's body at t[*i]: its
 * bytes into out (*n of them, 1..4; *nul set for "\u0000"), or UNIT_END
 * past the closing quote, or UNIT_BAD where jansson refuses: a control
 * byte, a bad escape, a lone or mismatched surrogate, invalid UTF-8, or
 * the end of the text. */
static enum decoded decode_unit(const unsigned char *t, size_t len, size_t *i, unsigned char out[4],
			     size_t *n, int *nul)
{
	size_t at = *i;
	if (at >= len)
		return UNIT_BAD;
	unsigned char c = t[at];
	if (c == '"') {
		*i = at + 1;
		return UNIT_END;
	}
	if (c < 0x20)
		return UNIT_BAD;
	if (c >= 0x80) {
		size_t k = utf8_sequence(t + at, len - at);
		if (!k)
			return UNIT_BAD;
		memcpy(out, t + at, k);
		*n = k;
		*i = at + k;
		return UNIT_BYTES;
	}
	if (c != '\\') {
		out[0] = c;
		*n = 1;
		*i = at + 1;
		return UNIT_BYTES;
	}
	if (at + 1 >= len)
		return UNIT_BAD;
	unsigned char e = t[at + 1];
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	const char *s = e ? strchr(simple_in, e) : NULL;
	if (s) {
		out[0] = (unsigned char)simple_out[s - simple_in];
		*n = 1;
		*i = at + 2;
		return UNIT_BYTES;
	}
	if (e != 'u')
		return UNIT_BAD;
	int32_t cp = hex4(t, len, at + 2);
	if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
		return UNIT_BAD;
	at += 6;
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		/* only a low surrogate escape may follow, at once */
		if (at + 1 >= len || t[at] != '\\' || t[at + 1] != 'u')
			return UNIT_BAD;
		int32_t lo = hex4(t, len, at + 2);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return UNIT_BAD;
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		at += 6;
	}
	if (cp == 0)
		*nul = 1;
	*n = tsdb_utf8_encode((uint32_t)cp, out);
	*i = at;
	return UNIT_BYTES;
}

/* Scans the string literal whose opening quote is at t[*i] and moves *i
 * past its closing quote.  The first cap decoded bytes go to out (when
 * out is non-NULL); *decoded is the whole decoded length.  0 if jansson
 * would refuse it. */
static int scan_string(const unsigned char *t, size_t len, size_t *i, char *out, size_t cap,
		       size_t *decoded, int *nul)
{
	size_t at = *i + 1, total = 0;
	unsigned char unit[4];
	size_t n = 0;
	*nul = 0;
	for (;;) {
		enum decoded u = decode_unit(t, len, &at, unit, &n, nul);
		if (u == UNIT_BAD)
			return 0;
		if (u == UNIT_END)
			break;
		for (size_t k = 0; k < n; k++, total++)
			if (out && total < cap)
				out[total] = (char)unit[k];
	}
	*decoded = total;
	*i = at;
	return 1;
}

/* ---- numbers, exactly as jansson reads them ------------------------------ */

/* Beyond this, a decimal exponent changes nothing: saturating there keeps
 * the arithmetic below far from int64 overflow. */
#define EXP_CAP 1000000000000000LL
/* Significant digits kept when a real is converted.  Every midpoint
 * between two adjacent doubles has at most 767 significant digits, so a
 * number cut after 800 digits, with one nonzero digit appended when
 * anything nonzero was cut, rounds to the same double as the whole. */
#define SIG_DIGITS 800
/* An exponent clamped to this gives the same double for any number of at
 * most SIG_DIGITS + 1 digits: overflow stays overflow, zero stays zero. */
#define EXP_CLAMP 100000

struct number {
	int negative, integral;
	int64_t i;               /* integral: the value */
	size_t int_at, int_len;  /* the digits before any point */
	size_t frac_at, frac_len; /* the digits after it */
	int64_t exp;             /* the exponent, saturated at +-EXP_CAP */
};

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* Digit k of the number's digits, integer part then fraction. */
static unsigned char digit_at(const unsigned char *t, const struct number *nb, size_t k)
{
	return k < nb->int_len ? t[nb->int_at + k] : t[nb->frac_at + k - nb->int_len];
}

/* The double strtod (as jansson calls it) gives for the real nb, or an
 * infinity when it overflows.  strtod reads the whole number however long;
 * this reads at most SIG_DIGITS + 1 digits (see above) in a form without
 * a decimal point, so the locale does not matter. */
static double number_value(const unsigned char *t, const struct number *nb)
{
	char buf[SIG_DIGITS + 32];
	size_t n = 0, total = nb->int_len + nb->frac_len, k = 0;
	if (nb->negative)
		buf[n++] = '-';
	while (k < total && digit_at(t, nb, k) == '0')
		k++;
	if (k == total)
		return nb->negative ? -0.0 : 0.0;
	size_t kept = 0;
	for (; k < total && kept < SIG_DIGITS; k++, kept++)
		buf[n++] = (char)digit_at(t, nb, k);
	/* the weight of digit j is 10^(int_len - 1 - j + exp) */
	int64_t weight = (int64_t)nb->int_len - (int64_t)k + nb->exp;
	for (; k < total; k++)
		if (digit_at(t, nb, k) != '0') {
			buf[n++] = '1';
			weight--;
			break;
		}
	if (weight > EXP_CLAMP)
		weight = EXP_CLAMP;
	if (weight < -EXP_CLAMP)
		weight = -EXP_CLAMP;
	snprintf(buf + n, sizeof buf - n, "e%lld", (long long)weight);
	return strtod(buf, NULL);
}

/* Would strtod overflow on the real nb (jansson's "real number overflow")?
 * Only a number whose first significant digit has weight 10^308 needs the
 * conversion: below, it is under DBL_MAX; above, beyond it. */
static int real_overflows(const unsigned char *t, const struct number *nb)
{
	size_t total = nb->int_len + nb->frac_len, k = 0;
	while (k < total && digit_at(t, nb, k) == '0')
		k++;
	if (k == total)
		return 0;
	int64_t magnitude = (int64_t)nb->int_len - 1 - (int64_t)k + nb->exp;
	if (magnitude != 308)
		return magnitude > 308;
	return isinf(number_value(t, nb));
}

/* Scans the number token at t[*i] (jansson's grammar: -?(0|[1-9][0-9]*)
 * then optional .[0-9]+ and [eE][+-]?[0-9]+; without fraction and exponent
 * it is an integer, which must fit json_int_t) and moves *i past it.
 * 0 if jansson would refuse it, an overflowing real included. */
static int scan_number(const unsigned char *t, size_t len, size_t *i, struct number *nb)
{
	size_t at = *i;
	memset(nb, 0, sizeof *nb);
	if (at < len && t[at] == '-') {
		nb->negative = 1;
		at++;
	}
	if (at >= len || !is_digit(t[at]))
		return 0;
	nb->int_at = at;
	if (t[at] == '0') {
		at++;
		if (at < len && is_digit(t[at]))
			return 0;
	} else {
		while (at < len && is_digit(t[at]))
			at++;
	}
	nb->int_len = at - nb->int_at;
	if (at >= len || (t[at] != '.' && t[at] != 'e' && t[at] != 'E')) {
		/* strtoll's range; no leading zeros, so 20 digits are too many */
		if (nb->int_len > 19)
			return 0;
		uint64_t u = 0;
		for (size_t k = 0; k < nb->int_len; k++)
			u = u * 10 + (uint64_t)(t[nb->int_at + k] - '0');
		if (u > (uint64_t)INT64_MAX + (uint64_t)nb->negative)
			return 0;
		nb->integral = 1;
		nb->i = !nb->negative ? (int64_t)u : u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
		*i = at;
		return 1;
	}
	if (t[at] == '.') {
		nb->frac_at = ++at;
		while (at < len && is_digit(t[at]))
			at++;
		nb->frac_len = at - nb->frac_at;
		if (!nb->frac_len)
			return 0;
	}
	if (at < len && (t[at] == 'e' || t[at] == 'E')) {
		at++;
		int negative = 0;
		if (at < len && (t[at] == '+' || t[at] == '-'))
			negative = t[at++] == '-';
		if (at >= len || !is_digit(t[at]))
			return 0;
		int64_t e = 0;
		for (; at < len && is_digit(t[at]); at++)
			if (e < EXP_CAP)
				e = e * 10 + (t[at] - '0');
		if (e > EXP_CAP)
			e = EXP_CAP;
		nb->exp = negative ? -e : e;
	}
	*i = at;
	return !real_overflows(t, nb);
}

/* ---- values and comparisons (both matchers) ------------------------------ */

enum value_kind { VAL_ABSENT, VAL_OTHER, VAL_INT, VAL_REAL, VAL_STRING, VAL_TRUE, VAL_FALSE };

/* A field's value as the comparisons see it.  A string is either its
 * bytes (escaped == 0) or, from the text path, the body and closing quote
 * of a string literal holding escapes, decoded as it is compared. */
struct value {
	enum value_kind kind; /* VAL_OTHER: null, an array or an object */
	int64_t i;
	double d;
	const char *s;
	size_t len;
	int escaped;
};

/* A comparison of values of different kinds (or with a NaN, which no
 * parsed JSON holds): it matches nothing, "!=" included. */
#define UNORDERED 2

/* Sign of i - d, exactly, for any int64 and any non-NaN double. */
static int cmp_int_real(int64_t i, double d)
{
	/* 2^63 is a double; every double in [-2^63, 2^63) truncates to an int64 */
	if (d >= 9223372036854775808.0)
		return -1;
	if (d < -9223372036854775808.0)
		return 1;
	double whole = trunc(d);
	int64_t w = (int64_t)whole;
	if (i != w)
		return i < w ? -1 : 1;
	return d > whole ? -1 : d < whole ? 1 : 0;
}

static int cmp_numbers(const struct value *v, const struct pred_scalar *s)
{
	if ((v->kind == VAL_REAL && isnan(v->d)) || (s->kind == SCALAR_REAL && isnan(s->d)))
		return UNORDERED;
	if (v->kind == VAL_INT && s->kind == SCALAR_INT)
		return (v->i > s->i) - (v->i < s->i);
	if (v->kind == VAL_REAL && s->kind == SCALAR_REAL)
		return (v->d > s->d) - (v->d < s->d);
	if (v->kind == VAL_INT)
		return cmp_int_real(v->i, s->d);
	return -cmp_int_real(s->i, v->d);
}

static int cmp_strings(const struct value *v, const char *b, size_t blen)
{
	if (!v->escaped)
		return cmp_bytes(v->s, v->len, b, blen);
	/* The literal was validated when its document was scanned. */
	const unsigned char *t = (const unsigned char *)v->s;
	size_t at = 0, k = 0, n = 0;
	unsigned char unit[4];
	int nul = 0;
	while (decode_unit(t, v->len, &at, unit, &n, &nul) == UNIT_BYTES)
		for (size_t u = 0; u < n; u++, k++) {
			if (k == blen)
				return 1;
			if (unit[u] != (unsigned char)b[k])
				return unit[u] < (unsigned char)b[k] ? -1 : 1;
		}
	return k < blen ? -1 : 0;
}

/* Sign of value - operand, or UNORDERED when their kinds differ.  Two
 * booleans are 0 or 1 (different): the compiler allows them only with
 * equality. */
static int compare(const tsdb_pred *p, const struct value *v, const struct pred_scalar *s)
{
	switch (s->kind) {
	case SCALAR_INT:
	case SCALAR_REAL:
		if (v->kind != VAL_INT && v->kind != VAL_REAL)
			return UNORDERED;
		return cmp_numbers(v, s);
	case SCALAR_STRING:
		if (v->kind != VAL_STRING)
			return UNORDERED;
		return cmp_strings(v, p->pool + s->off, s->len);
	case SCALAR_TRUE:
	case SCALAR_FALSE:
		if (v->kind != VAL_TRUE && v->kind != VAL_FALSE)
			return UNORDERED;
		return (v->kind == VAL_TRUE) != (s->kind == SCALAR_TRUE);
	}
	return UNORDERED;
}

static int test(const tsdb_pred *p, const struct pred_node *n, const struct value *v)
{
	switch (n->op) {
	case OP_EXISTS:
		return v->kind != VAL_ABSENT;
	case OP_MISSING:
		return v->kind == VAL_ABSENT;
	case OP_IN:
		for (uint32_t k = 0; k < n->count; k++)
			if (compare(p, v, &p->scalars[n->first + k]) == 0)
				return 1;
		return 0;
	default:
		break;
	}
	int c = compare(p, v, &p->scalars[n->first]);
	if (c == UNORDERED)
		return 0;
	switch (n->op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	default: return 0;
	}
}

/* Where the values come from: a parsed object, or a scanned text (the
 * position of each field's value in it), or neither (no metadata). */
struct source {
	const json_t *meta;
	const unsigned char *text;
	size_t len;
	const size_t *slots;
};

static void json_value(const json_t *x, struct value *v)
{
	memset(v, 0, sizeof *v);
	switch (x ? json_typeof(x) : JSON_NULL) {
	case JSON_INTEGER:
		v->kind = VAL_INT;
		v->i = json_integer_value(x);
		break;
	case JSON_REAL:
		v->kind = VAL_REAL;
		v->d = json_real_value(x);
		break;
	case JSON_STRING:
		v->kind = VAL_STRING;
		v->s = json_string_value(x);
		v->len = json_string_length(x);
		break;
	case JSON_TRUE: v->kind = VAL_TRUE; break;
	case JSON_FALSE: v->kind = VAL_FALSE; break;
	default: v->kind = x ? VAL_OTHER : VAL_ABSENT; break;
	}
}

/* The value whose first byte is t[at], in a text already scanned. */
static void text_value(const unsigned char *t, size_t len, size_t at, struct value *v)
{
	memset(v, 0, sizeof *v);
	unsigned char c = t[at];
	if (c == '"') {
		size_t end = at + 1;
		while (end < len && t[end] != '"') {
			if (t[end] == '\\') {
				v->escaped = 1;
				end++;
			}
			end++;
		}
		/* Without escapes the body is the string's bytes.  With them it
		 * is decoded as it is compared, and decode_unit stops at the
		 * closing quote: that quote is passed along too. */
		v->kind = VAL_STRING;
		v->s = (const char *)t + at + 1;
		v->len = end - at - 1 + (size_t)v->escaped;
		return;
	}
	if (c == '-' || is_digit(c)) {
		struct number nb;
		size_t i = at;
		if (!scan_number(t, len, &i, &nb)) { /* not after a scan; defensive */
			v->kind = VAL_OTHER;
			return;
		}
		if (nb.integral) {
			v->kind = VAL_INT;
			v->i = nb.i;
		} else {
			v->kind = VAL_REAL;
			v->d = number_value(t, &nb);
		}
		return;
	}
	v->kind = c == 't' ? VAL_TRUE : c == 'f' ? VAL_FALSE : VAL_OTHER;
}

static void source_value(const tsdb_pred *p, const struct source *src, size_t field, struct value *v)
{
	const struct pred_field *f = &p->fields[field];
	if (src->meta) {
		json_value(json_object_getn(src->meta, p->pool + f->off, f->len), v);
	} else if (src->text && src->slots[field] != NO_POS) {
		text_value(src->text, src->len, src->slots[field], v);
	} else {
		memset(v, 0, sizeof *v);
		v->kind = VAL_ABSENT;
	}
}

static int eval(const tsdb_pred *p, uint32_t at, const struct source *src)
{
	const struct pred_node *n = &p->nodes[at];
	switch (n->kind) {
	case NODE_ALL:
		for (uint32_t c = n->child; c != NO_NODE; c = p->nodes[c].next)
			if (!eval(p, c, src))
				return 0;
		return 1;
	case NODE_ANY:
		for (uint32_t c = n->child; c != NO_NODE; c = p->nodes[c].next)
			if (eval(p, c, src))
				return 1;
		return 0;
	case NODE_NOT:
		return !eval(p, n->child, src);
	case NODE_TEST: {
		struct value v;
		source_value(p, src, n->field, &v);
		return test(p, n, &v);
	}
	}
	return 0;
}

/* ---- the text scanner ---------------------------------------------------- */

static int is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t skip_ws(const unsigned char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

static int is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static size_t find_field(const tsdb_pred *p, const char *name, size_t len)
{
	size_t lo = 0, hi = p->nfields;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct pred_field *f = &p->fields[mid];
		int c = cmp_bytes(p->pool + f->off, f->len, name, len);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_FIELD;
}

/* jansson's lexer reads one byte past a number or a literal and puts it
 * back; a NUL byte put back is lost (its stream buffer takes NUL for
 * "empty"), so one NUL right after such a token is skipped.  Agreeing
 * with jansson means doing the same. */
static size_t skip_lost_nul(const unsigned char *t, size_t len, size_t i)
{
	return i < len && t[i] == '\0' ? i + 1 : i;
}

enum want { WANT_VALUE, WANT_FIRST_MEMBER, WANT_MEMBER, WANT_FIRST_ELEMENT, WANT_MORE };

/* Does jansson accept t[0..len) as an object (a top-level array is valid
 * JSON but not metadata: 0 as well)?  While scanning, slots[f] is set to
 * where the value of the last top-level member named like field f starts. */
static int scan_object(const tsdb_pred *p, const unsigned char *t, size_t len, size_t *slots)
{
	/* bit d: the container at depth d + 1 is an array (else an object) */
	uint64_t arrays[(JSON_PARSER_MAX_DEPTH + 63) / 64];
	size_t open = 0, field = NO_FIELD;
	enum want want = WANT_VALUE;
	size_t i = skip_ws(t, len, 0);
	if (i >= len || t[i] != '{')
		return 0;
	for (;;) {
		i = skip_ws(t, len, i);
		if (want == WANT_MORE) {
			if (open == 0)
				return i == len;
			if (i >= len)
				return 0;
			int in_array = (int)(arrays[(open - 1) / 64] >> ((open - 1) % 64) & 1);
			if (t[i] == ',') {
				want = in_array ? WANT_VALUE : WANT_MEMBER;
				i++;
			} else if (t[i] == (in_array ? ']' : '}')) {
				open--;
				i++;
			} else {
				return 0;
			}
			continue;
		}
		if (i >= len)
			return 0;
		if (want == WANT_FIRST_ELEMENT || want == WANT_FIRST_MEMBER) {
			if (t[i] == (want == WANT_FIRST_ELEMENT ? ']' : '}')) {
				open--;
				i++;
				want = WANT_MORE;
				continue;
			}
			want = want == WANT_FIRST_ELEMENT ? WANT_VALUE : WANT_MEMBER;
		}
		if (want == WANT_MEMBER) {
			char key[TSDB_PRED_MAX_FIELD];
			size_t key_len;
			int nul, top = open == 1;
			if (t[i] != '"' || !scan_string(t, len, &i, top ? key : NULL, sizeof key, &key_len, &nul))
				return 0;
			if (nul) /* "NUL byte in object key not supported", whatever the flags */
				return 0;
			field = top && key_len <= sizeof key ? find_field(p, key, key_len) : NO_FIELD;
			i = skip_ws(t, len, i);
			if (i >= len || t[i] != ':')
				return 0;
			i++;
			want = WANT_VALUE;
			continue;
		}
		/* WANT_VALUE: jansson counts every value's depth, scalars too */
		if (open + 1 > JSON_PARSER_MAX_DEPTH)
			return 0;
		if (open == 1 && field != NO_FIELD) {
			slots[field] = i;
			field = NO_FIELD;
		}
		unsigned char c = t[i];
		want = WANT_MORE;
		if (c == '{' || c == '[') {
			uint64_t bit = (uint64_t)1 << (open % 64);
			if (c == '[')
				arrays[open / 64] |= bit;
			else
				arrays[open / 64] &= ~bit;
			open++;
			i++;
			want = c == '[' ? WANT_FIRST_ELEMENT : WANT_FIRST_MEMBER;
		} else if (c == '"') {
			size_t decoded;
			int nul; /* allowed in values: JSON_ALLOW_NUL */
			if (!scan_string(t, len, &i, NULL, 0, &decoded, &nul))
				return 0;
		} else if (c == '-' || is_digit(c)) {
			struct number nb;
			if (!scan_number(t, len, &i, &nb))
				return 0;
			i = skip_lost_nul(t, len, i);
		} else if (is_alpha(c)) {
			size_t end = i;
			while (end < len && is_alpha(t[end]))
				end++;
			size_t n = end - i;
			const char *word = (const char *)t + i;
			if (!((n == 4 && !memcmp(word, "true", 4)) || (n == 5 && !memcmp(word, "false", 5)) ||
			      (n == 4 && !memcmp(word, "null", 4))))
				return 0;
			i = skip_lost_nul(t, len, end);
		} else {
			return 0;
		}
	}
}

/* ---- matching ------------------------------------------------------------ */

int tsdb_pred_match_json(const tsdb_pred *p, const json_t *meta)
{
	if (p->constant >= 0)
		return p->constant;
	struct source src = {.meta = json_is_object(meta) ? meta : NULL};
	return eval(p, 0, &src);
}

int tsdb_pred_match_text(const tsdb_pred *p, const char *meta, size_t len)
{
	if (p->constant >= 0)
		return p->constant;
	size_t slots[MAX_FIELDS];
	for (size_t f = 0; f < p->nfields; f++)
		slots[f] = NO_POS;
	struct source src = {.text = (const unsigned char *)meta, .len = len, .slots = slots};
	if (!meta || !scan_object(p, src.text, len, slots))
		src.text = NULL; /* damaged or absent: no metadata */
	return eval(p, 0, &src);
}

size_t tsdb_pred_field_count(const tsdb_pred *p)
{
	return p->nfields;
}

const char *tsdb_pred_field(const tsdb_pred *p, size_t i, size_t *len)
{
	if (i >= p->nfields)
		return NULL;
	if (len)
		*len = p->fields[i].len;
	return p->pool + p->fields[i].off;
}

int tsdb_pred_always_true(const tsdb_pred *p)
{
	return p->constant == 1;
}

int tsdb_pred_always_false(const tsdb_pred *p)
{
	return p->constant == 0;
}

void tsdb_pred_free(tsdb_pred *p)
{
	if (!p)
		return;
	free(p->nodes);
	free(p->scalars);
	free(p->pool);
	free(p->fields);
	free(p);
}

/* ---- ranges of one field, for the planner -------------------------------- */

/*
 * Each node yields the ranges that the field's value of every series it
 * matches lies in, or NO_BOUND.  A set only ever widens on the way up (a
 * strict bound kept inclusive, an ALL child without a bound ignored, an
 * intersection too long replaced by one of its operands, a failed
 * allocation answered with NO_BOUND), so the root's is still a necessary
 * condition.  Every list is sorted and disjoint, and coalesced: so ALL
 * and ANY combine two lists in one merge pass.  Each list is allocated at
 * its size (at most the operands below its node), not as a full
 * TSDB_PRED_MAX_RANGES buffer per level of a filter 32 levels deep.
 */
#define NO_BOUND (-1)

typedef tsdb_pred_range range;

/* Sign of a's lower bound - b's (same kind); NULL, unbounded, first. */
static int cmp_lo(const range *a, const range *b)
{
	if (a->kind != TSDB_PRED_RANGE_STRING)
		return (a->lo > b->lo) - (a->lo < b->lo);
	if (!a->slo || !b->slo)
		return (a->slo != NULL) - (b->slo != NULL);
	return cmp_bytes(a->slo, a->slo_len, b->slo, b->slo_len);
}

/* Sign of a's upper bound - b's (same kind); NULL, unbounded, last. */
static int cmp_hi(const range *a, const range *b)
{
	if (a->kind != TSDB_PRED_RANGE_STRING)
		return (a->hi > b->hi) - (a->hi < b->hi);
	if (!a->shi || !b->shi)
		return (a->shi == NULL) - (b->shi == NULL);
	return cmp_bytes(a->shi, a->shi_len, b->shi, b->shi_len);
}

/* Does a start above the end of b (same kind)?  For a == b: is it empty? */
static int starts_above(const range *a, const range *b)
{
	if (a->kind != TSDB_PRED_RANGE_STRING)
		return a->lo > b->hi;
	return a->slo && b->shi && cmp_bytes(a->slo, a->slo_len, b->shi, b->shi_len) > 0;
}

/* Does b, starting no lower than a, make one range with a?  When they share
 * a value; booleans also when adjacent ([0, 0] and [1, 1] are [0, 1]). */
static int joins(const range *a, const range *b)
{
	if (a->kind != b->kind)
		return 0;
	if (a->kind == TSDB_PRED_RANGE_BOOL)
		return b->lo <= a->hi + 1;
	return !starts_above(b, a);
}

static void set_hi(range *r, const range *from)
{
	r->hi = from->hi;
	r->shi = from->shi;
	r->shi_len = from->shi_len;
}

/* The documented order: kind (numbers, strings, booleans), then lower bound. */
static int cmp_ranges(const range *a, const range *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = cmp_lo(a, b);
	return c ? c : cmp_hi(a, b);
}

static int cmp_ranges_qsort(const void *a, const void *b)
{
	return cmp_ranges(a, b);
}

/* Appends x, which sorts no lower than r[0..*n), coalescing. */
static void append_range(range *r, size_t *n, const range *x)
{
	if (*n && joins(&r[*n - 1], x)) {
		if (cmp_hi(x, &r[*n - 1]) > 0)
			set_hi(&r[*n - 1], x);
	} else {
		r[(*n)++] = *x;
	}
}

/* The values equal to the operand s.  An integer goes through the same
 * rounding as the values it bounds: every comparison that holds exactly
 * between an int64 and a double (cmp_int_real) or two int64s still holds,
 * non-strict, once both are doubles.  -0.0 is taken as 0.0: the
 * comparisons do not tell them apart, and sorting then need not either. */
static range point_range(const tsdb_pred *p, const struct pred_scalar *s)
{
	range r = {.kind = TSDB_PRED_RANGE_NUMBER};
	switch (s->kind) {
	case SCALAR_INT:
		r.lo = r.hi = (double)s->i;
		break;
	case SCALAR_REAL:
		r.lo = r.hi = s->d + 0.0;
		break;
	case SCALAR_STRING:
		r.kind = TSDB_PRED_RANGE_STRING;
		r.slo = r.shi = p->pool + s->off;
		r.slo_len = r.shi_len = s->len;
		break;
	case SCALAR_TRUE:
	case SCALAR_FALSE:
		r.kind = TSDB_PRED_RANGE_BOOL;
		r.lo = r.hi = s->kind == SCALAR_TRUE;
		break;
	}
	return r;
}

static void unbound_below(range *r)
{
	r->lo = r->kind == TSDB_PRED_RANGE_NUMBER ? -INFINITY : 0;
	r->slo = NULL;
	r->slo_len = 0;
}

static void unbound_above(range *r)
{
	r->hi = r->kind == TSDB_PRED_RANGE_NUMBER ? INFINITY : r->kind == TSDB_PRED_RANGE_BOOL;
	r->shi = NULL;
	r->shi_len = 0;
}

/* A value only satisfies an ordering or equality test, or one element of an
 * "in", when it is of the operand's kind (compare answers UNORDERED
 * otherwise): so these ranges also say "a number, a string or a boolean".
 * "!=", "exists" and "exists": false bound nothing. */
static int test_ranges(const tsdb_pred *p, const struct pred_node *n, size_t field, range **out)
{
	*out = NULL;
	if (n->field != field)
		return NO_BOUND;
	switch (n->op) {
	case OP_EQ:
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
	case OP_IN:
		break;
	default:
		return NO_BOUND;
	}
	if (n->count == 0) /* "in": [] */
		return 0;
	range *r = malloc(n->count * sizeof *r);
	if (!r)
		return NO_BOUND;
	for (uint32_t k = 0; k < n->count; k++)
		r[k] = point_range(p, &p->scalars[n->first + k]);
	if (n->op == OP_LT || n->op == OP_LE)
		unbound_below(&r[0]);
	else if (n->op == OP_GT || n->op == OP_GE)
		unbound_above(&r[0]);
	qsort(r, n->count, sizeof *r, cmp_ranges_qsort);
	size_t m = 0;
	for (uint32_t k = 0; k < n->count; k++)
		append_range(r, &m, &r[k]);
	*out = r;
	return (int)m; /* at most TSDB_PRED_MAX_IN */
}

/* a ∩ b into dst (room for na + nb: the pieces are at most na + nb - 1).
 * Each piece lies inside one range of a and one of b, so the pieces are
 * disjoint and come out sorted; and booleans, one range per list, give at
 * most one piece, so the pieces are coalesced too. */
static size_t intersect_ranges(const range *a, size_t na, const range *b, size_t nb, range *dst)
{
	size_t i = 0, j = 0, n = 0;
	while (i < na && j < nb) {
		if (a[i].kind != b[j].kind) {
			if (a[i].kind < b[j].kind)
				i++;
			else
				j++;
			continue;
		}
		range x = cmp_lo(&a[i], &b[j]) >= 0 ? a[i] : b[j];
		int a_ends_first = cmp_hi(&a[i], &b[j]) <= 0;
		set_hi(&x, a_ends_first ? &a[i] : &b[j]);
		if (!starts_above(&x, &x))
			dst[n++] = x;
		/* what ends first meets nothing further in the other list */
		if (a_ends_first)
			i++;
		else
			j++;
	}
	return n;
}

/* a ∪ b into dst (room for na + nb), merged in order, coalescing. */
static size_t unite_ranges(const range *a, size_t na, const range *b, size_t nb, range *dst)
{
	size_t i = 0, j = 0, n = 0;
	while (i < na || j < nb) {
		const range *x = j == nb || (i < na && cmp_ranges(&a[i], &b[j]) <= 0) ? &a[i++] : &b[j++];
		append_range(dst, &n, x);
	}
	return n;
}

static int node_ranges(const tsdb_pred *p, uint32_t at, size_t field, range **out);

/* The intersection of the children that bound the field (if any does).
 * Once it is empty no series matches, whatever the other children say. */
static int all_ranges(const tsdb_pred *p, const struct pred_node *n, size_t field, range **out)
{
	range *have = NULL;
	int nhave = NO_BOUND;
	for (uint32_t c = n->child; c != NO_NODE && nhave != 0; c = p->nodes[c].next) {
		range *r;
		int nr = node_ranges(p, c, field, &r);
		if (nr < 0)
			continue;
		if (nhave < 0) {
			have = r;
			nhave = nr;
			continue;
		}
		size_t room = (size_t)nhave + (size_t)nr;
		range *both = malloc(room * sizeof *both);
		size_t nboth = both ? intersect_ranges(have, (size_t)nhave, r, (size_t)nr, both) : SIZE_MAX;
		if (nboth <= TSDB_PRED_MAX_RANGES) {
			free(have);
			free(r);
			have = both;
			nhave = (int)nboth;
		} else {
			/* either operand is wider than the intersection, and fits */
			free(both);
			if (nr < nhave) {
				free(have);
				have = r;
				nhave = nr;
			} else {
				free(r);
			}
		}
	}
	*out = have;
	return nhave;
}

/* The union of the children's ranges, when every child bounds the field:
 * one that does not lets a matching series hold anything. */
static int any_ranges(const tsdb_pred *p, const struct pred_node *n, size_t field, range **out)
{
	range *have = NULL;
	size_t nhave = 0;
	*out = NULL;
	for (uint32_t c = n->child; c != NO_NODE; c = p->nodes[c].next) {
		range *r;
		int nr = node_ranges(p, c, field, &r);
		if (nr < 0) {
			free(have);
			free(r);
			return NO_BOUND;
		}
		if (nr == 0 || nhave == 0) {
			if (nr == 0) {
				free(r);
			} else {
				have = r;
				nhave = (size_t)nr;
			}
			continue;
		}
		range *u = malloc((nhave + (size_t)nr) * sizeof *u);
		size_t nu = u ? unite_ranges(have, nhave, r, (size_t)nr, u) : 0;
		free(have);
		free(r);
		if (!u || nu > TSDB_PRED_MAX_RANGES) {
			free(u);
			return NO_BOUND;
		}
		have = u;
		nhave = nu;
	}
	*out = have;
	return (int)nhave;
}

/* *out is the node's list (free it), or NULL. */
static int node_ranges(const tsdb_pred *p, uint32_t at, size_t field, range **out)
{
	const struct pred_node *n = &p->nodes[at];
	*out = NULL;
	switch (n->kind) {
	case NODE_ALL: return all_ranges(p, n, field, out);
	case NODE_ANY: return any_ranges(p, n, field, out);
	case NODE_TEST: return test_ranges(p, n, field, out);
	case NODE_NOT: return NO_BOUND; /* the negation of a range is no range */
	}
	return NO_BOUND;
}

int tsdb_pred_field_ranges(const tsdb_pred *p, size_t i, tsdb_pred_range *out)
{
	if (i >= p->nfields)
		return NO_BOUND;
	range *r;
	int n = node_ranges(p, 0, i, &r);
	if (n > 0)
		memcpy(out, r, (size_t)n * sizeof *r);
	free(r);
	return n;
}

/* ---- compiling ----------------------------------------------------------- */

/* One step of the path to the place being compiled: a key or an index. */
struct segment {
	const char *key; /* NULL: an index */
	size_t len, index;
};

/* Per level at most two segments ($or, [i]); a test adds three (field,
 * "in", [i]); and the level past the bound is pushed before its refusal. */
#define MAX_SEGMENTS (2 * TSDB_PRED_MAX_DEPTH + 8)
/* How much of a key a message quotes. */
#define QUOTE_MAX 64

struct compiler {
	tsdb_pred *p;
	const char *root;
	struct segment path[MAX_SEGMENTS];
	size_t npath; /* may exceed MAX_SEGMENTS: those are not shown */
	size_t conditions, values;
	tsdb_err *err;
};

/* Appends key to buf (of size cap, holding *n bytes) as it may appear in a
 * message: printable ASCII and whole valid UTF-8 sequences kept, any other
 * byte shown as '?', at most QUOTE_MAX bytes of it then "...". */
static void append_quoted(char *buf, size_t cap, size_t *n, const char *key, size_t len)
{
	const unsigned char *k = (const unsigned char *)key;
	size_t shown = len < QUOTE_MAX ? len : QUOTE_MAX;
	for (size_t i = 0; i < shown && *n + 4 < cap;) {
		size_t seq = k[i] >= 0x80 ? utf8_sequence(k + i, shown - i) : 0;
		if (seq) {
			memcpy(buf + *n, k + i, seq);
			*n += seq;
			i += seq;
		} else {
			buf[(*n)++] = k[i] >= 0x20 && k[i] < 0x7F ? (char)k[i] : '?';
			i++;
		}
	}
	if (len > shown)
		for (const char *dots = "..."; *dots && *n + 1 < cap; dots++)
			buf[(*n)++] = *dots;
	buf[*n] = '\0';
}

static void format_path(const struct compiler *c, char *buf, size_t cap)
{
	size_t n = 0;
	append_quoted(buf, cap, &n, c->root, strlen(c->root));
	size_t shown = c->npath < MAX_SEGMENTS ? c->npath : MAX_SEGMENTS;
	for (size_t s = 0; s < shown && n + 8 < cap; s++) {
		const struct segment *g = &c->path[s];
		if (!g->key) {
			int w = snprintf(buf + n, cap - n, "[%zu]", g->index);
			n = w > 0 && (size_t)w < cap - n ? n + (size_t)w : cap - 1;
		} else if (g->len == 0) {
			memcpy(buf + n, ".\"\"", 4);
			n += 3;
		} else {
			buf[n++] = '.';
			append_quoted(buf, cap, &n, g->key, g->len);
		}
	}
	buf[n] = '\0';
}

static int refuse(struct compiler *c, enum tsdb_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills the error with the current place and returns -1. */
static int refuse(struct compiler *c, enum tsdb_errcode code, const char *fmt, ...)
{
	char place[256], what[256];
	format_path(c, place, sizeof place);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return tsdb_errf(c->err, code, "%s: %s", place, what);
}

static void push_key(struct compiler *c, const char *key, size_t len)
{
	if (c->npath < MAX_SEGMENTS)
		c->path[c->npath] = (struct segment){.key = key, .len = len};
	c->npath++;
}

static void push_index(struct compiler *c, size_t index)
{
	if (c->npath < MAX_SEGMENTS)
		c->path[c->npath] = (struct segment){.index = index};
	c->npath++;
}

static void pop(struct compiler *c)
{
	c->npath--;
}

/* A JSON value as a message names it ("an array", "true", "-1"). */
static const char *describe(const json_t *v, char *buf, size_t size)
{
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return v ? "null" : "nothing";
	case JSON_INTEGER:
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return "a value";
}

static int is_scalar(const json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static int new_node(struct compiler *c, enum node_kind kind, uint32_t *out)
{
	tsdb_pred *p = c->p;
	void *grown = tsdb_grow(p->nodes, &p->nodes_cap, p->nnodes + 1, sizeof *p->nodes, c->err);
	if (!grown)
		return -1;
	p->nodes = grown;
	*out = (uint32_t)p->nnodes;
	p->nodes[p->nnodes++] = (struct pred_node){
		.kind = kind, .child = NO_NODE, .last = NO_NODE, .next = NO_NODE};
	return 0;
}

static void add_child(tsdb_pred *p, uint32_t parent, uint32_t child)
{
	struct pred_node *n = &p->nodes[parent];
	if (n->last == NO_NODE)
		n->child = child;
	else
		p->nodes[n->last].next = child;
	n->last = child;
}

/* Copies len bytes and a NUL into the pool; *off is where. */
static int pool_add(struct compiler *c, const char *s, size_t len, size_t *off)
{
	tsdb_pred *p = c->p;
	void *grown = tsdb_grow(p->pool, &p->pool_cap, p->pool_len + len + 1, 1, c->err);
	if (!grown)
		return -1;
	p->pool = grown;
	memcpy(p->pool + p->pool_len, s, len);
	p->pool[p->pool_len + len] = '\0';
	*off = p->pool_len;
	p->pool_len += len + 1;
	return 0;
}

static int count_condition(struct compiler *c)
{
	if (++c->conditions > TSDB_PRED_MAX_CONDITIONS)
		return refuse(c, TSDB_E_TOO_LARGE, "more than %d conditions", TSDB_PRED_MAX_CONDITIONS);
	return 0;
}

/* Appends the scalar v (already known to be one) to the operands. */
static int add_scalar(struct compiler *c, const json_t *v)
{
	tsdb_pred *p = c->p;
	if (++c->values > TSDB_PRED_MAX_VALUES)
		return refuse(c, TSDB_E_TOO_LARGE, "more than %d values in all", TSDB_PRED_MAX_VALUES);
	struct pred_scalar s = {.kind = SCALAR_TRUE};
	if (json_is_integer(v)) {
		s.kind = SCALAR_INT;
		s.i = json_integer_value(v);
	} else if (json_is_real(v)) {
		s.kind = SCALAR_REAL;
		s.d = json_real_value(v);
		if (!isfinite(s.d)) /* jansson holds none; a NaN would compare as nothing */
			return refuse(c, TSDB_E_INVALID_ARG, "%g is not a finite number", s.d);
	} else if (json_is_string(v)) {
		s.kind = SCALAR_STRING;
		s.len = json_string_length(v);
		if (s.len > TSDB_PRED_MAX_STRING)
			return refuse(c, TSDB_E_TOO_LARGE, "a string of %zu bytes (max %d)", s.len,
				      TSDB_PRED_MAX_STRING);
		if (pool_add(c, json_string_value(v), s.len, &s.off))
			return -1;
	} else if (json_is_false(v)) {
		s.kind = SCALAR_FALSE;
	}
	void *grown = tsdb_grow(p->scalars, &p->scalars_cap, p->nscalars + 1, sizeof *p->scalars, c->err);
	if (!grown)
		return -1;
	p->scalars = grown;
	p->scalars[p->nscalars++] = s;
	return 0;
}

/* A TEST of the field name[0..len) under parent, its operands to follow. */
static int add_test(struct compiler *c, uint32_t parent, enum test_op op, const char *name,
		    size_t len, uint32_t *out)
{
	uint32_t t;
	size_t off;
	if (count_condition(c) || pool_add(c, name, len, &off) || new_node(c, NODE_TEST, &t))
		return -1;
	struct pred_node *n = &c->p->nodes[t];
	n->op = op;
	n->name_off = off;
	n->name_len = len;
	n->first = (uint32_t)c->p->nscalars;
	add_child(c->p, parent, t);
	*out = t;
	return 0;
}

static int add_operand(struct compiler *c, uint32_t test_node, const json_t *v)
{
	if (add_scalar(c, v))
		return -1;
	c->p->nodes[test_node].count++;
	return 0;
}

static const struct {
	const char *name;
	enum test_op op;
} operators[] = {
	{"<", OP_LT}, {"<=", OP_LE}, {">", OP_GT}, {">=", OP_GE}, {"==", OP_EQ}, {"!=", OP_NE},
	{"in", OP_IN}, {"exists", OP_EXISTS},
};

/* One "OP": operand of a condition object on the field name. */
static int compile_operator(struct compiler *c, uint32_t parent, const char *name, size_t name_len,
			    const char *op_name, size_t op_len, const json_t *operand)
{
	char buf[32], quoted[QUOTE_MAX * 4 + 8];
	size_t qn = 0;
	enum test_op op = OP_MISSING;
	int known = 0;
	for (size_t k = 0; k < sizeof operators / sizeof operators[0]; k++)
		if (strlen(operators[k].name) == op_len && !memcmp(operators[k].name, op_name, op_len)) {
			op = operators[k].op;
			known = 1;
		}
	append_quoted(quoted, sizeof quoted, &qn, op_name, op_len);
	if (!known)
		return refuse(c, TSDB_E_INVALID_ARG, "unknown operator \"%s\"", quoted);
	uint32_t t;
	switch (op) {
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (!json_is_number(operand) && !json_is_string(operand))
			return refuse(c, TSDB_E_INVALID_ARG, "\"%s\" needs a number or a string, not %s",
				      quoted, describe(operand, buf, sizeof buf));
		return add_test(c, parent, op, name, name_len, &t) || add_operand(c, t, operand) ? -1 : 0;
	case OP_EQ:
	case OP_NE:
		if (!is_scalar(operand))
			return refuse(c, TSDB_E_INVALID_ARG,
				      "\"%s\" needs a number, a string or a boolean, not %s", quoted,
				      describe(operand, buf, sizeof buf));
		return add_test(c, parent, op, name, name_len, &t) || add_operand(c, t, operand) ? -1 : 0;
	case OP_EXISTS:
		if (!json_is_boolean(operand))
			return refuse(c, TSDB_E_INVALID_ARG, "\"exists\" needs true or false, not %s",
				      describe(operand, buf, sizeof buf));
		return add_test(c, parent, json_is_true(operand) ? OP_EXISTS : OP_MISSING, name, name_len,
				&t);
	case OP_IN: {
		if (!json_is_array(operand))
			return refuse(c, TSDB_E_INVALID_ARG,
				      "\"in\" needs an array of numbers, strings and booleans, not %s",
				      describe(operand, buf, sizeof buf));
		size_t n = json_array_size(operand);
		if (n > TSDB_PRED_MAX_IN)
			return refuse(c, TSDB_E_TOO_LARGE, "\"in\" has %zu values (max %d)", n,
				      TSDB_PRED_MAX_IN);
		if (add_test(c, parent, OP_IN, name, name_len, &t))
			return -1;
		push_key(c, "in", 2);
		int rc = 0;
		for (size_t k = 0; k < n && !rc; k++) {
			const json_t *e = json_array_get(operand, k);
			push_index(c, k);
			if (!is_scalar(e))
				rc = refuse(c, TSDB_E_INVALID_ARG,
					    "must be a number, a string or a boolean, not %s",
					    describe(e, buf, sizeof buf));
			else
				rc = add_operand(c, t, e);
			pop(c);
		}
		pop(c);
		return rc;
	}
	default:
		return refuse(c, TSDB_E_UNKNOWN, "operator \"%s\" not handled", quoted);
	}
}

/* "name": cond, a member of the P compiled into parent. */
static int compile_field(struct compiler *c, uint32_t parent, const char *name, size_t len,
			 const json_t *cond)
{
	if (len == 0)
		return refuse(c, TSDB_E_INVALID_ARG, "a field name must not be empty");
	if (len > TSDB_PRED_MAX_FIELD)
		return refuse(c, TSDB_E_INVALID_ARG, "a field name of %zu bytes (max %d)", len,
			      TSDB_PRED_MAX_FIELD);
	if (memchr(name, '\0', len))
		return refuse(c, TSDB_E_INVALID_ARG, "a field name must not hold a NUL byte");
	uint32_t t;
	if (is_scalar(cond))
		return add_test(c, parent, OP_EQ, name, len, &t) || add_operand(c, t, cond) ? -1 : 0;
	if (json_is_null(cond))
		return refuse(c, TSDB_E_INVALID_ARG,
			      "null is not a condition (a missing field is {\"exists\": false})");
	if (json_is_array(cond))
		return refuse(c, TSDB_E_INVALID_ARG,
			      "an array is not a condition (one of several values is {\"in\": [...]})");
	if (json_object_size(cond) == 0)
		return refuse(c, TSDB_E_INVALID_ARG,
			      "an empty condition (give an operator, \"in\" or \"exists\")");
	const char *op;
	size_t op_len;
	json_t *operand;
	/* jansson's iteration is not const-qualified; it modifies nothing */
	json_object_keylen_foreach((json_t *)cond, op, op_len, operand) {
		if (compile_operator(c, parent, name, len, op, op_len, operand))
			return -1;
	}
	return 0;
}

static int compile_p(struct compiler *c, const json_t *obj, int depth, uint32_t *out);

/* "$and", "$or" or "$not" (anything else starting with '$' is refused),
 * a member of the P compiled into parent at depth. */
static int compile_combinator(struct compiler *c, uint32_t parent, const char *key, size_t len,
			      const json_t *val, int depth)
{
	char buf[32], quoted[QUOTE_MAX * 4 + 8];
	size_t qn = 0;
	uint32_t node, child;
	if (len == 4 && !memcmp(key, "$not", 4)) {
		if (count_condition(c) || new_node(c, NODE_NOT, &node))
			return -1;
		add_child(c->p, parent, node);
		if (compile_p(c, val, depth + 1, &child))
			return -1;
		add_child(c->p, node, child);
		return 0;
	}
	int any = len == 3 && !memcmp(key, "$or", 3);
	if (!any && !(len == 4 && !memcmp(key, "$and", 4))) {
		append_quoted(quoted, sizeof quoted, &qn, key, len);
		return refuse(c, TSDB_E_INVALID_ARG,
			      "unknown operator \"%s\" (there are $and, $or and $not; a field whose name "
			      "starts with \"$\" cannot be filtered on)",
			      quoted);
	}
	if (!json_is_array(val))
		return refuse(c, TSDB_E_INVALID_ARG, "must be an array of predicates, not %s",
			      describe(val, buf, sizeof buf));
	size_t n = json_array_size(val);
	if (n == 0)
		return refuse(c, TSDB_E_INVALID_ARG, "must hold at least one predicate");
	if (new_node(c, any ? NODE_ANY : NODE_ALL, &node))
		return -1;
	add_child(c->p, parent, node);
	for (size_t k = 0; k < n; k++) {
		push_index(c, k);
		int rc = count_condition(c) || compile_p(c, json_array_get(val, k), depth + 1, &child);
		pop(c);
		if (rc)
			return -1;
		add_child(c->p, node, child);
	}
	return 0;
}

/* A P object at depth (the top one is 1) into a new ALL node *out. */
static int compile_p(struct compiler *c, const json_t *obj, int depth, uint32_t *out)
{
	char buf[32];
	if (!json_is_object(obj))
		return refuse(c, TSDB_E_INVALID_ARG, "must be an object, not %s",
			      describe(obj, buf, sizeof buf));
	if (depth > TSDB_PRED_MAX_DEPTH)
		return refuse(c, TSDB_E_TOO_LARGE, "nests deeper than %d levels", TSDB_PRED_MAX_DEPTH);
	uint32_t all;
	if (new_node(c, NODE_ALL, &all))
		return -1;
	const char *key;
	size_t len;
	json_t *val;
	json_object_keylen_foreach((json_t *)obj, key, len, val) {
		push_key(c, key, len);
		int rc = len > 0 && key[0] == '$' ? compile_combinator(c, all, key, len, val, depth)
						  : compile_field(c, all, key, len, val);
		pop(c);
		if (rc)
			return -1;
	}
	*out = all;
	return 0;
}

/* Builds p->fields (distinct names, in byte order) and points each TEST
 * at its field. */
static int resolve_fields(tsdb_pred *p, tsdb_err *err)
{
	size_t ntests = 0;
	for (size_t k = 0; k < p->nnodes; k++)
		ntests += p->nodes[k].kind == NODE_TEST;
	if (!ntests)
		return 0;
	p->fields = malloc(ntests * sizeof *p->fields);
	if (!p->fields)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory compiling a filter");
	size_t n = 0;
	for (size_t k = 0; k < p->nnodes; k++)
		if (p->nodes[k].kind == NODE_TEST)
			p->fields[n++] = (struct pred_field){p->nodes[k].name_off, p->nodes[k].name_len};
	/* insertion sort: at most TSDB_PRED_MAX_CONDITIONS names, compiled once */
	for (size_t k = 1; k < n; k++) {
		struct pred_field f = p->fields[k];
		size_t j = k;
		while (j > 0 && cmp_bytes(p->pool + p->fields[j - 1].off, p->fields[j - 1].len,
					  p->pool + f.off, f.len) > 0) {
			p->fields[j] = p->fields[j - 1];
			j--;
		}
		p->fields[j] = f;
	}
	size_t distinct = 0;
	for (size_t k = 0; k < n; k++)
		if (!distinct || cmp_bytes(p->pool + p->fields[distinct - 1].off, p->fields[distinct - 1].len,
					   p->pool + p->fields[k].off, p->fields[k].len) != 0)
			p->fields[distinct++] = p->fields[k];
	p->nfields = distinct;
	for (size_t k = 0; k < p->nnodes; k++)
		if (p->nodes[k].kind == NODE_TEST)
			p->nodes[k].field = find_field(p, p->pool + p->nodes[k].name_off, p->nodes[k].name_len);
	return 0;
}

int tsdb_pred_compile_named(const json_t *where, const char *name, tsdb_pred **out, tsdb_err *err)
{
	*out = NULL;
	tsdb_pred *p = calloc(1, sizeof *p);
	if (!p)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory compiling a filter");
	struct compiler c = {.p = p, .root = name ? name : "where", .err = err};
	uint32_t root;
	if (compile_p(&c, where, 1, &root) || resolve_fields(p, err)) {
		tsdb_pred_free(p);
		return -1;
	}
	/* reads no field: the same answer for every series */
	p->constant = -1;
	if (p->nfields == 0) {
		struct source none = {0};
		p->constant = eval(p, root, &none);
	}
	*out = p;
	return 0;
}

int tsdb_pred_compile(const json_t *where, tsdb_pred **out, tsdb_err *err)
{
	return tsdb_pred_compile_named(where, "where", out, err);
}
