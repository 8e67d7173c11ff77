/*
 * querylang.c - the query language of docs/QUERY.md: a streaming lexer
 * and a recursive-descent parser that builds the protocol request while it
 * reads, in one pass over the text.
 *
 * The lexer hands out one token at a time, so errors come in source order:
 * the first problem in the text is the one reported, lexical or not.  It
 * also owns the structural bounds: it refuses the 65th nested "(" and the
 * 100,001st token, and it keeps the position of every open "(" so that
 * the end of input inside a form can say which one is unclosed.  The
 * parser recurses only on a "(" it has just consumed, so its recursion is
 * bounded by the lexer's depth bound (TSDB_QL_MAX_DEPTH frames): no text
 * can take it deeper.  Lists (and, or, in, fields) are loops, not
 * recursion.
 *
 * Invariants:
 *  - Every error goes through fail(), which prefixes "LINE:COLUMN: " and
 *    records the place; only the first failure is kept.  Columns count
 *    characters (UTF-8 sequences), lines start at 1 after each line feed.
 *  - Only source text is ever quoted in a message, and only after the
 *    lexer has checked it (valid UTF-8, no control characters), cut at a
 *    character boundary: a message is always valid UTF-8 and printable.
 *  - Every json_t built has exactly one owner (a local, a clause slot or
 *    its parent) and is released on every error path.
 *  - A successful request nests at most TSDB_QL_JSON_MAX_DEPTH levels, the
 *    protocol's bound, which the parser checks as it builds predicates.
 */
#include "querylang.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* The nesting a request may use (docs/PROTOCOL.md, "Requests"; proto.h's
 * TSDB_JSON_MAX_DEPTH, which this module may not include): the request
 * object is level 1. */
#define TSDB_QL_JSON_MAX_DEPTH 64
/* What an id and a prefix may be (docs/PROTOCOL.md, "Ids"; series.h's
 * TSDB_ID_MAX).  The server checks again; checking here too lets the
 * message point into the query. */
#define TSDB_QL_ID_MAX 255
/* Bytes of a field name (predicate.h's TSDB_PRED_MAX_FIELD, likewise). */
#define TSDB_QL_FIELD_MAX 255
/* Characters of source text a message quotes before "...". */
#define SNIPPET_CHARS 32

/* ---- tokens and the compiler's state ------------------------------------ */

enum tok_kind { TOK_EOF, TOK_OPEN, TOK_CLOSE, TOK_STRING, TOK_INTEGER, TOK_REAL, TOK_WORD };

typedef struct token {
	enum tok_kind kind;
	tsdb_ql_pos at;       /* its first character */
	size_t len;           /* bytes of its source text (a string's quotes included) */
	json_int_t integer;   /* TOK_INTEGER */
	double real;          /* TOK_REAL */
} token;

typedef struct compiler {
	const unsigned char *src;
	size_t len;
	tsdb_ql_pos cur;      /* the next character to read */
	size_t tokens;        /* tokens lexed so far */
	size_t depth;         /* "(" lexed and not yet closed */
	tsdb_ql_pos open[TSDB_QL_MAX_DEPTH];
	/* The decoded text of the last string token (valid until the next
	 * token), with its length, since "\u0000" may be in it. */
	char *str;
	size_t str_len, str_cap;
	locale_t c_locale;    /* for strtod_l, made on the first real number */
	token tok;            /* the one token of lookahead */
	tsdb_err *err;
	tsdb_ql_pos *error_at;
	bool failed;
} compiler;

/* ---- errors ------------------------------------------------------------- */

/* Drops a UTF-8 sequence that vsnprintf cut in the middle. */
static void trim_partial_utf8(char *s)
{
	size_t n = strlen(s), i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
	if (n - (i - 1) < want)
		s[i - 1] = '\0';
}

__attribute__((format(printf, 4, 5)))
static int fail(compiler *c, tsdb_ql_pos at, enum tsdb_errcode code, const char *fmt, ...)
{
	if (c->failed)
		return -1;
	/* Leaves room in tsdb_err.msg for the "L:C: " prefix, so that the
	 * only cut is this one, made at a character boundary. */
	char msg[440];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof msg)
		trim_partial_utf8(msg);
	tsdb_errf(c->err, code, "%zu:%zu: %s", at.line, at.column, msg);
	*c->error_at = at;
	c->failed = true;
	return -1;
}

static int oom(compiler *c)
{
	return fail(c, c->tok.at, TSDB_E_UNKNOWN, "out of memory");
}

/* Bytes of the UTF-8 sequence that starts with lead (already validated). */
static size_t utf8_len(unsigned char lead)
{
	return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

/* At most SNIPPET_CHARS characters of checked source text, "..." after a
 * cut. */
typedef struct snippet {
	char text[SNIPPET_CHARS * 4 + 4];
} snippet;

static const char *snip(const compiler *c, size_t offset, size_t len, snippet *out)
{
	const unsigned char *s = c->src + offset;
	size_t i = 0, chars = 0;
	while (i < len && chars < SNIPPET_CHARS) {
		i += utf8_len(s[i]);
		chars++;
	}
	if (i > len)  /* cannot happen on checked text; keeps the copy in bounds */
		i = len;
	memcpy(out->text, s, i);
	strcpy(out->text + i, i < len ? "..." : "");
	return out->text;
}

static const char *tok_text(const compiler *c, snippet *out)
{
	return snip(c, c->tok.at.offset, c->tok.len, out);
}

/* The current token as a message shows it: "ten" for a word, 10.5 for a
 * number, the string "x" for a string. */
static const char *describe(const compiler *c, char *buf, size_t size)
{
	snippet sn;
	switch (c->tok.kind) {
	case TOK_EOF:
		return "end of input";
	case TOK_OPEN:
		return "\"(\"";
	case TOK_CLOSE:
		return "\")\"";
	case TOK_STRING:
		snprintf(buf, size, "the string \"%s\"",
			 snip(c, c->tok.at.offset + 1, c->tok.len - 2, &sn));
		return buf;
	case TOK_INTEGER:
	case TOK_REAL:
		snprintf(buf, size, "%s", tok_text(c, &sn));
		return buf;
	case TOK_WORD:
		snprintf(buf, size, "\"%s\"", tok_text(c, &sn));
		return buf;
	}
	return "a token";
}

/* "expected WHAT, got TOKEN" at the current token; at the end of input
 * inside a form, which "(" is unclosed says more than what was expected. */
__attribute__((format(printf, 2, 3)))
static int expected(compiler *c, const char *fmt, ...)
{
	if (c->tok.kind == TOK_EOF && c->depth > 0) {
		tsdb_ql_pos o = c->open[c->depth - 1];
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG, "unclosed \"(\" opened at %zu:%zu",
			    o.line, o.column);
	}
	char what[200], got[SNIPPET_CHARS * 4 + 32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return fail(c, c->tok.at, TSDB_E_INVALID_ARG, "expected %s, got %s", what,
		    describe(c, got, sizeof got));
}

/* ---- characters ---------------------------------------------------------- */

/* Decodes one well-formed UTF-8 character of s[0..n): its length, or 0
 * for an overlong form, a surrogate, a value past U+10FFFF, a stray
 * continuation byte or a truncated sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0];
	size_t k;
	uint32_t v, min;
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xC2 && b <= 0xDF) {
		k = 2, v = b & 0x1Fu, min = 0x80;
	} else if (b >= 0xE0 && b <= 0xEF) {
		k = 3, v = b & 0x0Fu, min = 0x800;
	} else if (b >= 0xF0 && b <= 0xF4) {
		k = 4, v = b & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return k;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F;
}

/* Moves the cursor over one character of n bytes (not a line feed). */
static void step(compiler *c, size_t n)
{
	c->cur.offset += n;
	c->cur.column++;
}

static void step_line(compiler *c)
{
	c->cur.offset++;
	c->cur.line++;
	c->cur.column = 1;
}

/* The character at the cursor, checked to be UTF-8 and not a control
 * character (callers handle the blanks they allow before calling). */
static int checked_char(compiler *c, bool in_string, uint32_t *cp, size_t *n)
{
	const unsigned char *s = c->src + c->cur.offset;
	*n = utf8_decode(s, c->len - c->cur.offset, cp);
	if (*n == 0)
		return fail(c, c->cur, TSDB_E_INVALID_ARG, "invalid UTF-8 (byte 0x%02X)", s[0]);
	if (is_control(*cp)) {
		if (in_string)
			return fail(c, c->cur, TSDB_E_INVALID_ARG,
				    "raw control character U+%04X in a string (write it as an escape: "
				    "\\t, \\n, \\r or \\u%04X)", (unsigned)*cp, (unsigned)*cp);
		return fail(c, c->cur, TSDB_E_INVALID_ARG,
			    "control character U+%04X (only space, tab, line feed and carriage "
			    "return may separate tokens)", (unsigned)*cp);
	}
	return 0;
}

/* ---- the lexer ----------------------------------------------------------- */

static bool is_digit(unsigned char b)
{
	return b >= '0' && b <= '9';
}

static bool is_letter(unsigned char b)
{
	return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

/* What ends a word or a number. */
static bool is_delimiter(unsigned char b)
{
	return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '(' || b == ')' ||
	       b == '"' || b == ';';
}

/* Blanks and comments (";" to the end of the line). */
static int skip_blanks(compiler *c)
{
	while (c->cur.offset < c->len) {
		unsigned char b = c->src[c->cur.offset];
		if (b == '\n') {
			step_line(c);
		} else if (b == ' ' || b == '\t' || b == '\r') {
			step(c, 1);
		} else if (b == ';') {
			step(c, 1);
			while (c->cur.offset < c->len && c->src[c->cur.offset] != '\n') {
				b = c->src[c->cur.offset];
				uint32_t cp;
				size_t n = 1;
				if (b != '\t' && b != '\r' && checked_char(c, false, &cp, &n))
					return -1;
				step(c, n);
			}
		} else {
			break;
		}
	}
	return 0;
}

static int str_append(compiler *c, const void *bytes, size_t n, tsdb_ql_pos opened)
{
	if (n > TSDB_QL_MAX_STRING - c->str_len)
		return fail(c, opened, TSDB_E_TOO_LARGE, "string longer than %u bytes",
			    TSDB_QL_MAX_STRING);
	if (c->str_len + n > c->str_cap) {
		size_t cap = c->str_cap ? c->str_cap : 64;
		while (cap < c->str_len + n)
			cap *= 2;
		if (cap > TSDB_QL_MAX_STRING)
			cap = TSDB_QL_MAX_STRING;
		char *p = realloc(c->str, cap);
		if (!p)
			return oom(c);
		c->str = p;
		c->str_cap = cap;
	}
	memcpy(c->str + c->str_len, bytes, n);
	c->str_len += n;
	return 0;
}

/* The four hex digits after "\u" at the cursor; -1 when they are not. */
static long hex4(const compiler *c)
{
	if (c->len - c->cur.offset < 4)
		return -1;
	long v = 0;
	for (size_t i = 0; i < 4; i++) {
		unsigned char b = c->src[c->cur.offset + i];
		int d = is_digit(b) ? b - '0' : (b >= 'a' && b <= 'f') ? b - 'a' + 10
			: (b >= 'A' && b <= 'F') ? b - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* One escape; the cursor is on the backslash. */
static int lex_escape(compiler *c, tsdb_ql_pos opened)
{
	tsdb_ql_pos esc = c->cur;
	step(c, 1);
	if (c->cur.offset == c->len)
		return fail(c, opened, TSDB_E_INVALID_ARG, "unterminated string (no closing \")");
	unsigned char b = c->src[c->cur.offset];
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	const char *hit = b ? strchr(simple_in, b) : NULL;
	if (hit) {
		step(c, 1);
		return str_append(c, simple_out + (hit - simple_in), 1, opened);
	}
	if (b != 'u') {
		if (b > 0x20 && b < 0x7F)
			return fail(c, esc, TSDB_E_INVALID_ARG,
				    "unknown escape \"\\%c\" in a string (known: \\\" \\\\ \\/ \\b \\f "
				    "\\n \\r \\t \\uXXXX)", b);
		return fail(c, esc, TSDB_E_INVALID_ARG,
			    "a backslash in a string must start an escape (\\\" \\\\ \\/ \\b \\f \\n "
			    "\\r \\t \\uXXXX)");
	}
	step(c, 1);
	long unit = hex4(c);
	if (unit < 0)
		return fail(c, esc, TSDB_E_INVALID_ARG, "\"\\u\" needs four hexadecimal digits");
	c->cur.offset += 4, c->cur.column += 4;
	uint32_t cp = (uint32_t)unit;
	if (unit >= 0xDC00 && unit <= 0xDFFF)
		return fail(c, esc, TSDB_E_INVALID_ARG,
			    "lone UTF-16 surrogate \\u%04lX (a low surrogate must follow a high "
			    "one, \\uD800..\\uDBFF)", (unsigned long)unit);
	if (unit >= 0xD800 && unit <= 0xDBFF) {
		/* A character past U+FFFF is written as a pair, high then low. */
		long low = -1;
		if (c->len - c->cur.offset >= 2 && c->src[c->cur.offset] == '\\' &&
		    c->src[c->cur.offset + 1] == 'u') {
			c->cur.offset += 2, c->cur.column += 2;
			low = hex4(c);
			if (low < 0)
				return fail(c, esc, TSDB_E_INVALID_ARG,
					    "\"\\u\" needs four hexadecimal digits");
			c->cur.offset += 4, c->cur.column += 4;
		}
		if (low < 0xDC00 || low > 0xDFFF)
			return fail(c, esc, TSDB_E_INVALID_ARG,
				    "lone UTF-16 surrogate \\u%04lX (a high surrogate must be followed "
				    "by a low one, \\uDC00..\\uDFFF)", (unsigned long)unit);
		cp = 0x10000 + (((uint32_t)unit - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
	}
	unsigned char utf8[4];
	return str_append(c, utf8, tsdb_utf8_encode(cp, utf8), opened);
}

static int lex_string(compiler *c, token *t)
{
	tsdb_ql_pos opened = c->cur;
	step(c, 1);
	c->str_len = 0;
	for (;;) {
		if (c->cur.offset == c->len)
			return fail(c, opened, TSDB_E_INVALID_ARG, "unterminated string (no closing \")");
		unsigned char b = c->src[c->cur.offset];
		if (b == '"') {
			step(c, 1);
			break;
		}
		if (b == '\n')
			return fail(c, opened, TSDB_E_INVALID_ARG,
				    "unterminated string (a string ends on its line; write a line "
				    "break inside it as \\n)");
		if (b == '\\') {
			if (lex_escape(c, opened))
				return -1;
			continue;
		}
		uint32_t cp;
		size_t n;
		if (checked_char(c, true, &cp, &n) ||
		    str_append(c, c->src + c->cur.offset, n, opened))
			return -1;
		step(c, n);
	}
	t->kind = TOK_STRING;
	t->len = c->cur.offset - opened.offset;
	return 0;
}

/* Is the atom s[0..n) meant as a number?  A digit first, or one after a
 * sign or a point (".5", "+1": refused below with a reason, rather than
 * taken for words). */
static bool looks_numeric(const unsigned char *s, size_t n)
{
	size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
	if (i < n && s[i] == '.')
		i++;
	return i < n && is_digit(s[i]);
}

/* A real number: the text was checked to be JSON number syntax, so
 * strtod only converts; it runs in the C locale, which a program's
 * setlocale cannot change under it. */
static int to_real(compiler *c, token *t, const unsigned char *s, size_t n)
{
	snippet sn;
	if (!c->c_locale) {
		c->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
		if (!c->c_locale)
			return oom(c);
	}
	char small[64], *buf = n < sizeof small ? small : malloc(n + 1);
	if (!buf)
		return oom(c);
	memcpy(buf, s, n);
	buf[n] = '\0';
	double x = strtod_l(buf, NULL, c->c_locale);
	if (buf != small)
		free(buf);
	/* Underflow is no error: JSON readers take 1e-400 as 0 too. */
	if (isinf(x))
		return fail(c, t->at, TSDB_E_INVALID_ARG, "number %s is out of the range of a double",
			    tok_text(c, &sn));
	t->kind = TOK_REAL;
	t->real = x;
	return 0;
}

/* JSON number syntax, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
 * with a reason for each way of missing it. */
static int lex_number(compiler *c, token *t)
{
	const unsigned char *s = c->src + t->at.offset;
	size_t n = t->len, i = 0;
	snippet sn;
	const char *text = tok_text(c, &sn);
	if (s[0] == '+')
		return fail(c, t->at, TSDB_E_INVALID_ARG,
			    "number %s: a number cannot start with \"+\" (write %s)", text, text + 1);
	bool negative = s[0] == '-';
	if (negative)
		i++;
	if (s[i] == '.')
		return fail(c, t->at, TSDB_E_INVALID_ARG,
			    "number %s: a digit must come before the decimal point (write %s0%s)",
			    text, negative ? "-" : "", text + i);
	if (s[i] == '0' && i + 1 < n && is_digit(s[i + 1]))
		return fail(c, t->at, TSDB_E_INVALID_ARG,
			    "number %s: a number cannot have a leading zero", text);
	size_t int_start = i;
	while (i < n && is_digit(s[i]))
		i++;
	size_t int_end = i;
	bool integral = true;
	if (i < n && s[i] == '.') {
		i++;
		if (i == n || !is_digit(s[i]))
			return fail(c, t->at, TSDB_E_INVALID_ARG,
				    "number %s: a digit must follow the decimal point (write %.*s.0 "
				    "or %.*s)", text, (int)(i - 1), (const char *)s, (int)(i - 1),
				    (const char *)s);
		while (i < n && is_digit(s[i]))
			i++;
		integral = false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == n || !is_digit(s[i]))
			return fail(c, t->at, TSDB_E_INVALID_ARG,
				    "number %s: an exponent needs digits", text);
		while (i < n && is_digit(s[i]))
			i++;
		integral = false;
	}
	if (i != n)
		return fail(c, t->at, TSDB_E_INVALID_ARG, "malformed number %s", text);
	if (!integral)
		return to_real(c, t, s, n);
	/* An integer must be a JSON integer the protocol takes: 64 bits. */
	uint64_t magnitude = 0, limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (i = int_start; i < int_end; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (magnitude > (limit - d) / 10)
			return fail(c, t->at, TSDB_E_INVALID_ARG,
				    "integer %s does not fit in 64 bits (write it with an exponent, "
				    "e.g. 1e19, to make it a real)", text);
		magnitude = magnitude * 10 + d;
	}
	t->kind = TOK_INTEGER;
	if (!negative)
		t->integer = (json_int_t)magnitude;
	else if (magnitude == (uint64_t)INT64_MAX + 1)
		t->integer = INT64_MIN;
	else
		t->integer = -(json_int_t)magnitude;
	return 0;
}

/* A word or a number: the longest run of characters up to a delimiter. */
static int lex_atom(compiler *c, token *t)
{
	while (c->cur.offset < c->len && !is_delimiter(c->src[c->cur.offset])) {
		uint32_t cp;
		size_t n;
		if (checked_char(c, false, &cp, &n))
			return -1;
		step(c, n);
	}
	t->len = c->cur.offset - t->at.offset;
	if (looks_numeric(c->src + t->at.offset, t->len))
		return lex_number(c, t);
	t->kind = TOK_WORD;
	return 0;
}

/* Reads the next token into c->tok. */
static int next(compiler *c)
{
	token *t = &c->tok;
	if (skip_blanks(c))
		return -1;
	*t = (token){.kind = TOK_EOF, .at = c->cur};
	if (c->cur.offset == c->len)
		return 0;
	if (c->tokens == TSDB_QL_MAX_TOKENS)
		return fail(c, c->cur, TSDB_E_TOO_LARGE, "more than %u tokens", TSDB_QL_MAX_TOKENS);
	c->tokens++;
	unsigned char b = c->src[c->cur.offset];
	if (b == '(') {
		if (c->depth == TSDB_QL_MAX_DEPTH)
			return fail(c, c->cur, TSDB_E_TOO_LARGE,
				    "parentheses nest deeper than %d levels", TSDB_QL_MAX_DEPTH);
		c->open[c->depth++] = c->cur;
		step(c, 1);
		t->kind = TOK_OPEN;
		t->len = 1;
		return 0;
	}
	if (b == ')') {
		/* One too many is the parser's to report, with context. */
		if (c->depth > 0)
			c->depth--;
		step(c, 1);
		t->kind = TOK_CLOSE;
		t->len = 1;
		return 0;
	}
	if (b == '"')
		return lex_string(c, t);
	return lex_atom(c, t);
}

/* ---- parser helpers ------------------------------------------------------- */

static bool word_is(const compiler *c, const char *w)
{
	size_t n = strlen(w);
	return c->tok.kind == TOK_WORD && c->tok.len == n &&
	       memcmp(c->src + c->tok.at.offset, w, n) == 0;
}

/* nan, inf, infinity in any case and with a sign: what someone who wants
 * a non-finite number writes. */
static bool word_is_nonfinite(const compiler *c)
{
	static const char *const names[] = {"nan", "inf", "infinity"};
	if (c->tok.kind != TOK_WORD)
		return false;
	const char *s = (const char *)c->src + c->tok.at.offset;
	size_t n = c->tok.len;
	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		s++, n--;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return true;
	return false;
}

static int refuse_nonfinite(compiler *c)
{
	snippet sn;
	return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
		    "\"%s\" is not a number: NaN and infinities cannot be written (JSON has none)",
		    tok_text(c, &sn));
}

/* The ")" that ends a form, clause or predicate; moves past it. */
__attribute__((format(printf, 2, 3)))
static int close_paren(compiler *c, const char *fmt, ...)
{
	if (c->tok.kind == TOK_CLOSE)
		return next(c);
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return expected(c, "\")\" %s", what);
}

/* Sets obj[key] = value, stealing value (NULL from a failed constructor
 * included): the one place that turns jansson's allocation failures into
 * an error. */
static int put(compiler *c, json_t *obj, const char *key, json_t *value)
{
	if (!value || json_object_set_new(obj, key, value) != 0)
		return oom(c);
	return 0;
}

static const char *str_value(const compiler *c)
{
	return c->str ? c->str : "";
}

/* The first control character of the current string's text, or -1. */
static long first_control(const compiler *c)
{
	for (size_t i = 0; i < c->str_len; i++)
		if (is_control((unsigned char)c->str[i]))
			return (unsigned char)c->str[i];
	return -1;
}

/* ---- arguments ------------------------------------------------------------- */

/* v, the value of the current token (NULL: out of memory), with the
 * lexer moved past that token; NULL and v freed when that fails. */
static json_t *consume(compiler *c, json_t *v)
{
	if (!v) {
		oom(c);
		return NULL;
	}
	if (next(c)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* An integer >= min right after the word `after` ("top", "limit"). */
static json_t *parse_integer_arg(compiler *c, const char *after, json_int_t min,
				 const char *rule)
{
	char got[SNIPPET_CHARS * 4 + 32];
	if (c->tok.kind != TOK_INTEGER && c->tok.kind != TOK_REAL) {
		if (word_is_nonfinite(c))
			refuse_nonfinite(c);
		else
			expected(c, "a number after \"%s\"", after);
		return NULL;
	}
	if (c->tok.kind == TOK_REAL || c->tok.integer < min) {
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "%s, got %s", rule,
		     describe(c, got, sizeof got));
		return NULL;
	}
	return consume(c, json_integer(c->tok.integer));
}

/* within's radius: any finite number >= 0, sent as a real. */
static json_t *parse_radius(compiler *c)
{
	char got[SNIPPET_CHARS * 4 + 32];
	if (c->tok.kind != TOK_INTEGER && c->tok.kind != TOK_REAL) {
		if (word_is_nonfinite(c))
			refuse_nonfinite(c);
		else
			expected(c, "a number after \"within\"");
		return NULL;
	}
	double r = c->tok.kind == TOK_REAL ? c->tok.real : (double)c->tok.integer;
	if (r < 0) {
		fail(c, c->tok.at, TSDB_E_INVALID_ARG,
		     "the radius after \"within\" must be >= 0, got %s", describe(c, got, sizeof got));
		return NULL;
	}
	return consume(c, json_real(r + 0.0));  /* -0 becomes 0 */
}

/* An id, a string of 1..255 bytes without control characters, after
 * the word `after` ("like", "get"). */
static json_t *parse_id(compiler *c, const char *after)
{
	char got[SNIPPET_CHARS * 4 + 32];
	if (c->tok.kind == TOK_WORD || c->tok.kind == TOK_INTEGER || c->tok.kind == TOK_REAL) {
		fail(c, c->tok.at, TSDB_E_INVALID_ARG,
		     "expected an id after \"%s\", got %s (an id is written as a string, in "
		     "double quotes)", after, describe(c, got, sizeof got));
		return NULL;
	}
	if (c->tok.kind != TOK_STRING) {
		expected(c, "an id (a string) after \"%s\"", after);
		return NULL;
	}
	long ctl = first_control(c);
	if (c->str_len == 0)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "an id cannot be empty");
	else if (c->str_len > TSDB_QL_ID_MAX)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "an id is at most %d bytes, this one is %zu",
		     TSDB_QL_ID_MAX, c->str_len);
	else if (ctl >= 0)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG,
		     "an id cannot contain control characters (this one has U+%04lX)", ctl);
	return c->failed ? NULL : consume(c, json_stringn(str_value(c), c->str_len));
}

/* list's prefix: 0..255 bytes without control characters. */
static json_t *parse_prefix(compiler *c)
{
	if (c->tok.kind != TOK_STRING) {
		expected(c, "a string after \"prefix\"");
		return NULL;
	}
	long ctl = first_control(c);
	if (c->str_len > TSDB_QL_ID_MAX)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "a prefix is at most %d bytes, this one is %zu",
		     TSDB_QL_ID_MAX, c->str_len);
	else if (ctl >= 0)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG,
		     "a prefix cannot contain control characters (this one has U+%04lX)", ctl);
	return c->failed ? NULL : consume(c, json_stringn(str_value(c), c->str_len));
}

/* like-file's file name: not empty, no NUL (the caller opens it as a C
 * string). */
static json_t *parse_file(compiler *c)
{
	if (c->tok.kind != TOK_STRING) {
		expected(c, "a file name (a string) after \"like-file\"");
		return NULL;
	}
	if (c->str_len == 0)
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "the file name after \"like-file\" is empty");
	else if (memchr(c->str, '\0', c->str_len))
		fail(c, c->tok.at, TSDB_E_INVALID_ARG, "a file name cannot contain \\u0000");
	if (c->failed)
		return NULL;
	return consume(c, json_stringn(c->str, c->str_len));
}

/* ---- field names and values ------------------------------------------------ */

static bool is_symbol(const unsigned char *s, size_t n)
{
	if (n == 0 || !(is_letter(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_letter(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* Field names are 1..255 bytes, as the server's filters take them
 * (predicate.h, TSDB_PRED_MAX_FIELD). */
static int check_field_length(compiler *c, size_t n)
{
	if (n == 0)
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG, "a field name cannot be empty");
	if (n > TSDB_QL_FIELD_MAX)
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "a field name is at most %d bytes, this one is %zu", TSDB_QL_FIELD_MAX, n);
	return 0;
}

/* A bare field name s[0..n) (part of the current word token): a symbol,
 * and never "$...", the operators' namespace in the target JSON. */
static int check_bare_field(compiler *c, const unsigned char *s, size_t n)
{
	snippet sn;
	if (n > 0 && s[0] == '$')
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "field name \"%s\" is reserved: \"$\" starts the operators $and, $or "
			    "and $not", tok_text(c, &sn));
	if (!is_symbol(s, n))
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "\"%s\" is not a field name: a bare name has letters, digits, \"_\", "
			    "\".\" and \"-\" and starts with a letter or \"_\" (write any other name "
			    "as a string)", tok_text(c, &sn));
	return check_field_length(c, n);
}

/* A quoted field name (the current string token's text). */
static int check_string_field(compiler *c)
{
	snippet sn;
	if (c->str_len > 0 && c->str[0] == '$')
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "field name \"%s\" is reserved: \"$\" starts the operators $and, $or "
			    "and $not", snip(c, c->tok.at.offset + 1, c->tok.len - 2, &sn));
	if (memchr(str_value(c), '\0', c->str_len))
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG, "a field name cannot contain \\u0000");
	return check_field_length(c, c->str_len);
}

static char *dup_bytes(const void *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* A field name, bare or quoted, `ctx` saying where for a message
 * ("after \"=\""); a malloc'd copy, NUL-free by the checks. */
static char *parse_field(compiler *c, const char *ctx)
{
	const unsigned char *s;
	size_t n;
	if (c->tok.kind == TOK_WORD) {
		s = c->src + c->tok.at.offset;
		n = c->tok.len;
		if (check_bare_field(c, s, n))
			return NULL;
	} else if (c->tok.kind == TOK_STRING) {
		if (check_string_field(c))
			return NULL;
		s = (const unsigned char *)str_value(c);
		n = c->str_len;
	} else {
		expected(c, "a field name %s", ctx);
		return NULL;
	}
	char *name = dup_bytes(s, n);
	if (!name) {
		oom(c);
		return NULL;
	}
	if (next(c)) {
		free(name);
		return NULL;
	}
	return name;
}

/* A SCALAR: number, string, true or false. */
static json_t *parse_scalar(compiler *c, const char *ctx)
{
	snippet sn;
	char got[SNIPPET_CHARS * 4 + 32];
	json_t *v = NULL;
	switch (c->tok.kind) {
	case TOK_INTEGER:
		v = json_integer(c->tok.integer);
		break;
	case TOK_REAL:
		v = json_real(c->tok.real);
		break;
	case TOK_STRING:
		v = json_stringn(str_value(c), c->str_len);
		break;
	case TOK_WORD:
		if (word_is(c, "true")) {
			v = json_true();
		} else if (word_is(c, "false")) {
			v = json_false();
		} else if (word_is(c, "null")) {
			fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			     "null is not a value a field can be compared with (test for an absent "
			     "field with (missing FIELD))");
			return NULL;
		} else if (word_is_nonfinite(c)) {
			refuse_nonfinite(c);
			return NULL;
		} else {
			fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			     "expected a value (a number, a string, true or false) %s, got %s (a "
			     "string is written in double quotes: \"%s\")", ctx,
			     describe(c, got, sizeof got), tok_text(c, &sn));
			return NULL;
		}
		break;
	default:
		expected(c, "a value (a number, a string, true or false) %s", ctx);
		return NULL;
	}
	return consume(c, v);
}

/* ---- predicates ------------------------------------------------------------ */

enum pred_kind {
	P_AND, P_OR, P_NOT, P_EQ, P_EQEQ, P_NE, P_LT, P_LE, P_GT, P_GE, P_IN, P_EXISTS, P_MISSING,
};

static const struct pred_name {
	const char *name;
	enum pred_kind kind;
} pred_names[] = {
	{"and", P_AND}, {"or", P_OR}, {"not", P_NOT}, {"=", P_EQ}, {"==", P_EQEQ},
	{"!=", P_NE}, {"<", P_LT}, {"<=", P_LE}, {">", P_GT}, {">=", P_GE},
	{"in", P_IN}, {"exists", P_EXISTS}, {"missing", P_MISSING},
};

#define PRED_LIST "and, or, not, =, ==, !=, <, <=, >, >=, in, exists or missing"

static json_t *parse_pred(compiler *c, int *height);

/* {field: cond}; steals cond, frees field. */
static json_t *field_object(compiler *c, char *field, json_t *cond)
{
	json_t *obj = json_object();
	if (!obj || put(c, obj, field, cond)) {
		json_decref(obj);
		if (!obj) {
			json_decref(cond);
			oom(c);
		}
		obj = NULL;
	}
	free(field);
	return obj;
}

/* {op: value}; steals value. */
static json_t *op_object(compiler *c, const char *op, json_t *value)
{
	json_t *obj = json_object();
	if (!obj) {
		json_decref(value);
		oom(c);
		return NULL;
	}
	if (put(c, obj, op, value)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* (and P ...) / (or P ...) after the name: {"$and": [P, ...]}, or P itself
 * when there is one (the same predicate, one level shallower). */
static json_t *parse_junction(compiler *c, const char *name, int *height)
{
	if (c->tok.kind != TOK_OPEN) {
		expected(c, "a predicate after \"%s\"", name);
		return NULL;
	}
	json_t *list = json_array();
	if (!list) {
		oom(c);
		return NULL;
	}
	int deepest = 0;
	while (c->tok.kind != TOK_CLOSE) {
		if (c->tok.kind != TOK_OPEN) {
			expected(c, "a predicate or \")\" to end (%s ...)", name);
			json_decref(list);
			return NULL;
		}
		int h;
		json_t *p = parse_pred(c, &h);
		if (!p || json_array_append_new(list, p) != 0) {
			if (p)
				oom(c);
			json_decref(list);
			return NULL;
		}
		if (h > deepest)
			deepest = h;
	}
	if (next(c)) {
		json_decref(list);
		return NULL;
	}
	if (json_array_size(list) == 1) {
		json_t *only = json_incref(json_array_get(list, 0));
		json_decref(list);
		*height = deepest;
		return only;
	}
	*height = deepest + 2;  /* the object and its array */
	return op_object(c, name[0] == 'a' ? "$and" : "$or", list);
}

/* (not P) after the name: {"$not": P}. */
static json_t *parse_not(compiler *c, int *height)
{
	int h;
	json_t *p = parse_pred(c, &h);
	if (!p)
		return NULL;
	if (close_paren(c, "to end (not ...): it takes one predicate")) {
		json_decref(p);
		return NULL;
	}
	*height = h + 1;
	return op_object(c, "$not", p);
}

/* (OP FIELD VALUE) after OP: {FIELD: VALUE} for "=", {FIELD: {OP: VALUE}}
 * otherwise. */
static json_t *parse_comparison(compiler *c, const char *op, bool equality, int *height)
{
	char ctx[48];
	snprintf(ctx, sizeof ctx, "after \"%s\"", op);
	char *field = parse_field(c, ctx);
	if (!field)
		return NULL;
	snprintf(ctx, sizeof ctx, "after the field of \"%s\"", op);
	json_t *value = parse_scalar(c, ctx);
	if (!value || close_paren(c, "after the value of (%s ...): it compares one field with "
				  "one value", op)) {
		json_decref(value);
		free(field);
		return NULL;
	}
	if (equality) {
		*height = 1;
		return field_object(c, field, value);
	}
	*height = 2;
	json_t *cond = op_object(c, op, value);
	if (!cond) {
		free(field);
		return NULL;
	}
	return field_object(c, field, cond);
}

/* (in FIELD V ...) after "in": {FIELD: {"in": [V, ...]}}. */
static json_t *parse_in(compiler *c, int *height)
{
	char *field = parse_field(c, "after \"in\"");
	if (!field)
		return NULL;
	json_t *values = json_array();
	if (!values) {
		free(field);
		oom(c);
		return NULL;
	}
	if (c->tok.kind == TOK_CLOSE)
		expected(c, "a value after the field of \"in\"");
	while (!c->failed && c->tok.kind != TOK_CLOSE) {
		if (json_array_size(values) == TSDB_QL_MAX_IN) {
			fail(c, c->tok.at, TSDB_E_TOO_LARGE, "more than %u values in (in ...)",
			     TSDB_QL_MAX_IN);
			break;
		}
		json_t *v = parse_scalar(c, "in the list of (in ...)");
		if (v && json_array_append_new(values, v) != 0)
			oom(c);
	}
	if (c->failed || next(c)) {
		json_decref(values);
		free(field);
		return NULL;
	}
	*height = 3;
	json_t *cond = op_object(c, "in", values);
	if (!cond) {
		free(field);
		return NULL;
	}
	return field_object(c, field, cond);
}

/* (exists FIELD) / (missing FIELD) after the name: {FIELD: {"exists": B}}. */
static json_t *parse_exists(compiler *c, const char *name, bool exists, int *height)
{
	char ctx[32];
	snprintf(ctx, sizeof ctx, "after \"%s\"", name);
	char *field = parse_field(c, ctx);
	if (!field)
		return NULL;
	if (close_paren(c, "after the field of (%s ...): it takes one field", name)) {
		free(field);
		return NULL;
	}
	*height = 2;
	json_t *cond = op_object(c, "exists", json_boolean(exists));
	if (!cond) {
		free(field);
		return NULL;
	}
	return field_object(c, field, cond);
}

/* P at the current token; *height is the JSON nesting of the result (an
 * object is 1 more than its deepest member).  Recursion: one frame per
 * "(" consumed, so at most TSDB_QL_MAX_DEPTH (the lexer's bound). */
static json_t *parse_pred(compiler *c, int *height)
{
	snippet sn;
	if (c->tok.kind != TOK_OPEN) {
		expected(c, "a predicate such as (= FIELD VALUE)");
		return NULL;
	}
	tsdb_ql_pos at = c->tok.at;
	if (next(c))
		return NULL;
	if (c->tok.kind != TOK_WORD) {
		expected(c, "a predicate name (" PRED_LIST ") after \"(\"");
		return NULL;
	}
	const struct pred_name *pn = NULL;
	for (size_t i = 0; i < sizeof pred_names / sizeof pred_names[0]; i++)
		if (word_is(c, pred_names[i].name))
			pn = &pred_names[i];
	if (!pn) {
		fail(c, at, TSDB_E_INVALID_ARG, "unknown predicate \"%s\" (expected " PRED_LIST ")",
		     tok_text(c, &sn));
		return NULL;
	}
	if (next(c))
		return NULL;
	switch (pn->kind) {
	case P_AND:
	case P_OR:
		return parse_junction(c, pn->name, height);
	case P_NOT:
		return parse_not(c, height);
	case P_IN:
		return parse_in(c, height);
	case P_EXISTS:
	case P_MISSING:
		return parse_exists(c, pn->name, pn->kind == P_EXISTS, height);
	default:
		return parse_comparison(c, pn->name, pn->kind == P_EQ, height);
	}
}

/* ---- clauses --------------------------------------------------------------- */

enum clause {
	CL_LIKE, CL_LIKE_FILE, CL_WHERE, CL_FIELDS, CL_SORT, CL_LIMIT, CL_OFFSET, CL_AFTER, CL_PREFIX,
	CL_SHAPE, CL_COUNT
};

static const char *const clause_names[CL_COUNT] = {
	"like", "like-file", "where", "fields", "sort", "limit", "offset", "after", "prefix", "shape",
};

#define BIT(cl) (1u << (cl))

/* What the clauses of one form said; each slot is owned until the request
 * takes it. */
typedef struct clauses {
	json_t *value[CL_COUNT];
	tsdb_ql_pos at[CL_COUNT];
	bool given[CL_COUNT];
} clauses;

static void clauses_free(clauses *cl)
{
	for (int i = 0; i < CL_COUNT; i++)
		json_decref(cl->value[i]);
	memset(cl, 0, sizeof *cl);
}

/* Takes a clause's value out of its slot. */
static json_t *take(clauses *cl, enum clause k)
{
	json_t *v = cl->value[k];
	cl->value[k] = NULL;
	return v;
}

/* "like, like-file, where or shape" for a form's message. */
static const char *clause_list(unsigned allowed, char *buf, size_t size)
{
	size_t total = 0, done = 0, used = 0;
	for (int i = 0; i < CL_COUNT; i++)
		total += (allowed >> i) & 1u;
	buf[0] = '\0';
	for (int i = 0; i < CL_COUNT; i++) {
		if (!(allowed & BIT(i)))
			continue;
		const char *sep = done == 0 ? "" : done + 1 == total ? " or " : ", ";
		int n = snprintf(buf + used, size - used, "%s%s", sep, clause_names[i]);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
		done++;
	}
	return buf;
}

/* (where P) after "where": P, with the JSON depth checked against what a
 * request may nest (P sits at level 2, under the request). */
static json_t *parse_where(compiler *c, tsdb_ql_pos at)
{
	int height = 0;
	json_t *p = parse_pred(c, &height);
	if (!p)
		return NULL;
	if (close_paren(c, "to end (where ...): it takes one predicate (combine several with "
			"(and ...))")) {
		json_decref(p);
		return NULL;
	}
	if (1 + height > TSDB_QL_JSON_MAX_DEPTH) {
		json_decref(p);
		fail(c, at, TSDB_E_TOO_LARGE,
		     "this predicate would make the request nest %d levels deep, more than the "
		     "protocol's %d (nest fewer and, or and not)", 1 + height, TSDB_QL_JSON_MAX_DEPTH);
		return NULL;
	}
	return p;
}

/* (fields F ...) or (fields *) after "fields": the list, [] for all. */
static json_t *parse_fields(compiler *c)
{
	json_t *list = json_array();
	if (!list) {
		oom(c);
		return NULL;
	}
	if (word_is(c, "*")) {
		if (next(c) || close_paren(c, "after \"*\": (fields *) asks for all fields")) {
			json_decref(list);
			return NULL;
		}
		return list;
	}
	if (c->tok.kind == TOK_CLOSE)
		expected(c, "a field name or * after \"fields\"");
	while (!c->failed && c->tok.kind != TOK_CLOSE) {
		if (word_is(c, "*")) {
			fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			     "\"*\" stands alone: (fields *) asks for all fields");
			break;
		}
		char *name = parse_field(c, "in (fields ...)");
		if (!name)
			break;
		if (json_array_append_new(list, json_string(name)) != 0)
			oom(c);
		free(name);
	}
	if (c->failed || next(c)) {
		json_decref(list);
		return NULL;
	}
	return list;
}

/* (sort KEY) after "sort": "+NAME" or "-NAME".  KEY is NAME, +NAME, -NAME,
 * or a sign then a string ( -"odd name" ) for a name that needs quotes. */
static json_t *parse_sort(compiler *c)
{
	char sign = '+';
	char *name = NULL;
	const char *ctx = "after \"sort\" (NAME, +NAME, -NAME or -\"ANY NAME\")";
	if (c->tok.kind == TOK_WORD && (word_is(c, "+") || word_is(c, "-"))) {
		sign = (char)c->src[c->tok.at.offset];
		if (next(c))
			return NULL;
		name = parse_field(c, "after the sign of (sort ...)");
	} else if (c->tok.kind == TOK_WORD) {
		const unsigned char *s = c->src + c->tok.at.offset;
		size_t n = c->tok.len;
		if (s[0] == '+' || s[0] == '-')
			sign = (char)s[0], s++, n--;
		if (check_bare_field(c, s, n))
			return NULL;
		name = dup_bytes(s, n);
		if (!name) {
			oom(c);
			return NULL;
		}
		if (next(c)) {
			free(name);
			return NULL;
		}
	} else {
		name = parse_field(c, ctx);
	}
	if (!name)
		return NULL;
	if (close_paren(c, "to end (sort ...): it takes one field")) {
		free(name);
		return NULL;
	}
	size_t n = strlen(name);
	char *key = malloc(n + 2);
	json_t *v = NULL;
	if (key) {
		key[0] = sign;
		memcpy(key + 1, name, n + 1);
		v = json_stringn(key, n + 1);
	}
	free(key);
	free(name);
	if (!v)
		oom(c);
	return v;
}

/* One clause's arguments, after its name, through its ")". */
static json_t *parse_clause(compiler *c, enum clause k, tsdb_ql_pos at)
{
	json_t *v = NULL;
	const char *name = clause_names[k];
	switch (k) {
	case CL_WHERE:
		return parse_where(c, at);
	case CL_FIELDS:
		return parse_fields(c);
	case CL_SORT:
		return parse_sort(c);
	case CL_LIKE:
	case CL_AFTER:
		v = parse_id(c, name);
		break;
	case CL_LIKE_FILE:
		v = parse_file(c);
		break;
	case CL_PREFIX:
		v = parse_prefix(c);
		break;
	case CL_LIMIT:
		v = parse_integer_arg(c, name, 1, "the limit must be a positive integer");
		break;
	case CL_SHAPE:
		v = parse_integer_arg(c, name, 0, "the shape must be an integer >= 0");
		break;
	case CL_OFFSET:
		v = parse_integer_arg(c, name, 0, "the offset must be an integer >= 0");
		break;
	case CL_COUNT:
		break;
	}
	if (v && close_paren(c, "to end (%s ...): it takes one value", name)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* The clauses of a form, in any order, each at most once, through the
 * form's ")". */
static int parse_clauses(compiler *c, const char *form, unsigned allowed, clauses *cl)
{
	char names[128];
	snippet sn;
	clause_list(allowed, names, sizeof names);
	for (;;) {
		if (c->tok.kind == TOK_CLOSE)
			return next(c);
		if (c->tok.kind != TOK_OPEN)
			return expected(c, "a clause of %s (%s) or \")\"", form, names);
		tsdb_ql_pos at = c->tok.at;
		if (next(c))
			return -1;
		if (c->tok.kind != TOK_WORD)
			return expected(c, "a clause name (%s) after \"(\"", names);
		int k = -1;
		for (int i = 0; i < CL_COUNT; i++)
			if (word_is(c, clause_names[i]))
				k = i;
		if (k < 0)
			return fail(c, at, TSDB_E_INVALID_ARG, "unknown clause \"%s\" in %s (expected %s)",
				    tok_text(c, &sn), form, names);
		if (!(allowed & BIT(k)))
			return fail(c, at, TSDB_E_INVALID_ARG, "%s has no clause \"%s\" (expected %s)",
				    form, clause_names[k], names);
		if (cl->given[k])
			return fail(c, at, TSDB_E_INVALID_ARG,
				    "duplicate clause \"%s\" (the first is at %zu:%zu)", clause_names[k],
				    cl->at[k].line, cl->at[k].column);
		if (next(c))
			return -1;
		json_t *v = parse_clause(c, (enum clause)k, at);
		if (!v)
			return -1;
		cl->value[k] = v;
		cl->given[k] = true;
		cl->at[k] = at;
	}
}

/* The later of two given clauses (for "cannot be combined" messages). */
static enum clause later_of(const clauses *cl, enum clause a, enum clause b)
{
	return cl->at[a].offset > cl->at[b].offset ? a : b;
}

/* top and within search by one series: exactly one of like, like-file. */
static int check_target(compiler *c, const char *form, tsdb_ql_pos form_at, const clauses *cl)
{
	if (!cl->given[CL_LIKE] && !cl->given[CL_LIKE_FILE])
		return fail(c, form_at, TSDB_E_INVALID_ARG,
			    "%s needs the series to search by: (like \"ID\") or (like-file \"FILE\")",
			    form);
	if (cl->given[CL_LIKE] && cl->given[CL_LIKE_FILE]) {
		enum clause second = later_of(cl, CL_LIKE, CL_LIKE_FILE);
		enum clause first = second == CL_LIKE ? CL_LIKE_FILE : CL_LIKE;
		return fail(c, cl->at[second], TSDB_E_INVALID_ARG,
			    "(%s ...) cannot be combined with (%s ...) at %zu:%zu: a search has one "
			    "query series", clause_names[second], clause_names[first],
			    cl->at[first].line, cl->at[first].column);
	}
	return 0;
}

/* ---- forms ----------------------------------------------------------------- */

enum form_kind { F_TOP, F_WITHIN, F_SELECT, F_GET, F_INFO, F_LIST };

static const struct form {
	const char *name;
	enum form_kind kind;
	unsigned clauses;
} forms[] = {
	{"top", F_TOP, BIT(CL_LIKE) | BIT(CL_LIKE_FILE) | BIT(CL_WHERE) | BIT(CL_SHAPE)},
	{"within", F_WITHIN,
	 BIT(CL_LIKE) | BIT(CL_LIKE_FILE) | BIT(CL_WHERE) | BIT(CL_LIMIT) | BIT(CL_SHAPE)},
	{"select", F_SELECT,
	 BIT(CL_WHERE) | BIT(CL_FIELDS) | BIT(CL_SORT) | BIT(CL_LIMIT) | BIT(CL_OFFSET)},
	{"get", F_GET, 0},
	{"info", F_INFO, 0},
	{"list", F_LIST, BIT(CL_PREFIX) | BIT(CL_AFTER) | BIT(CL_LIMIT)},
};

#define FORM_LIST "top, within, select, get, info or list"

/* The request of top and within from their clauses (k or radius given). */
static int build_search(compiler *c, const struct form *f, json_t *req, json_t *size,
			clauses *cl, tsdb_ql_result *out)
{
	const char *op = f->kind == F_WITHIN ? "within" : cl->given[CL_LIKE] ? "with_id" : "with_ts";
	if (put(c, req, "op", json_string(op)) ||
	    (cl->given[CL_LIKE] && put(c, req, "id", take(cl, CL_LIKE)))) {
		json_decref(size);  /* not yet handed to put */
		return -1;
	}
	if (put(c, req, f->kind == F_WITHIN ? "radius" : "k", size))
		return -1;
	if (cl->given[CL_LIMIT] && put(c, req, "limit", take(cl, CL_LIMIT)))
		return -1;
	if (cl->given[CL_WHERE] && put(c, req, "where", take(cl, CL_WHERE)))
		return -1;
	if (cl->given[CL_SHAPE] && put(c, req, "shape", take(cl, CL_SHAPE)))
		return -1;
	if (cl->given[CL_LIKE_FILE]) {
		out->ts_file = dup_bytes(json_string_value(cl->value[CL_LIKE_FILE]),
					 json_string_length(cl->value[CL_LIKE_FILE]));
		if (!out->ts_file)
			return oom(c);
	}
	return 0;
}

/* select: md is the where predicate or {} (everything), fields the list or
 * null (ids only), additional the sort, limit and offset or null. */
static int build_select(compiler *c, json_t *req, clauses *cl)
{
	if (put(c, req, "op", json_string("select")) ||
	    put(c, req, "md", cl->given[CL_WHERE] ? take(cl, CL_WHERE) : json_object()) ||
	    put(c, req, "fields", cl->given[CL_FIELDS] ? take(cl, CL_FIELDS) : json_null()))
		return -1;
	if (!cl->given[CL_SORT] && !cl->given[CL_LIMIT] && !cl->given[CL_OFFSET])
		return put(c, req, "additional", json_null());
	json_t *additional = json_object();
	if (put(c, req, "additional", additional))
		return -1;
	if (cl->given[CL_SORT] && put(c, additional, "sort_by", take(cl, CL_SORT)))
		return -1;
	if (cl->given[CL_LIMIT] && put(c, additional, "limit", take(cl, CL_LIMIT)))
		return -1;
	if (cl->given[CL_OFFSET] && put(c, additional, "offset", take(cl, CL_OFFSET)))
		return -1;
	return 0;
}

static int build_list(compiler *c, json_t *req, clauses *cl)
{
	if (put(c, req, "op", json_string("list")))
		return -1;
	if (cl->given[CL_PREFIX] && put(c, req, "prefix", take(cl, CL_PREFIX)))
		return -1;
	if (cl->given[CL_AFTER] && put(c, req, "after", take(cl, CL_AFTER)))
		return -1;
	if (cl->given[CL_LIMIT] && put(c, req, "limit", take(cl, CL_LIMIT)))
		return -1;
	return 0;
}

/* A form after its name, through its ")", into req (and out->ts_file). */
static int compile_form(compiler *c, const struct form *f, tsdb_ql_pos form_at, json_t *req,
			tsdb_ql_result *out)
{
	clauses cl = {0};
	json_t *size = NULL;
	int rc = -1;
	switch (f->kind) {
	case F_TOP:
	case F_WITHIN:
		size = f->kind == F_TOP
			? parse_integer_arg(c, "top", 1,
					    "the count after \"top\" must be a positive integer")
			: parse_radius(c);
		if (!size || parse_clauses(c, f->name, f->clauses, &cl) ||
		    check_target(c, f->name, form_at, &cl)) {
			json_decref(size);
			break;
		}
		rc = build_search(c, f, req, size, &cl, out);
		break;
	case F_SELECT:
		if (parse_clauses(c, f->name, f->clauses, &cl) == 0)
			rc = build_select(c, req, &cl);
		break;
	case F_LIST:
		if (parse_clauses(c, f->name, f->clauses, &cl) == 0)
			rc = build_list(c, req, &cl);
		break;
	case F_GET: {
		json_t *id = parse_id(c, "get");
		if (!id)
			break;
		if (close_paren(c, "after the id of (get ...)")) {
			json_decref(id);
			break;
		}
		if (put(c, req, "op", json_string("get"))) {
			json_decref(id);
			break;
		}
		rc = put(c, req, "id", id);
		break;
	}
	case F_INFO:
		if (close_paren(c, "after \"info\": it takes nothing") == 0)
			rc = put(c, req, "op", json_string("info"));
		break;
	}
	clauses_free(&cl);
	return rc;
}

/* query := "(" form ")" and nothing after it. */
static int compile_query(compiler *c, tsdb_ql_result *out)
{
	snippet sn;
	char got[SNIPPET_CHARS * 4 + 32];
	if (next(c))
		return -1;
	if (c->tok.kind == TOK_EOF)
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "empty query: expected a form such as (top 5 (like \"ID\")) or (info)");
	if (c->tok.kind != TOK_OPEN)
		return expected(c, "\"(\" to start a query");
	tsdb_ql_pos form_at = c->tok.at;
	if (next(c))
		return -1;
	if (c->tok.kind != TOK_WORD)
		return expected(c, "a form name (" FORM_LIST ") after \"(\"");
	const struct form *f = NULL;
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
		if (word_is(c, forms[i].name))
			f = &forms[i];
	if (!f)
		return fail(c, form_at, TSDB_E_INVALID_ARG, "unknown form \"%s\" (expected " FORM_LIST ")",
			    tok_text(c, &sn));
	if (next(c))
		return -1;
	json_t *req = json_object();
	if (!req)
		return oom(c);
	out->request = req;  /* freed by the caller on failure */
	if (compile_form(c, f, form_at, req, out))
		return -1;
	if (c->tok.kind != TOK_EOF)
		return fail(c, c->tok.at, TSDB_E_INVALID_ARG,
			    "unexpected %s after the query (a query is exactly one form)",
			    describe(c, got, sizeof got));
	return 0;
}

/* ---- the API ----------------------------------------------------------------- */

int tsdb_ql_compile(const char *text, size_t len, tsdb_ql_result *out, tsdb_err *err)
{
	if (!out)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "1:1: no result to fill");
	*out = (tsdb_ql_result){0};
	compiler c = {
		.src = (const unsigned char *)(text ? text : ""),
		.len = text ? len : 0,
		.cur = {.line = 1, .column = 1, .offset = 0},
		.err = err,
		.error_at = &out->error_at,
	};
	int rc;
	if (len > TSDB_QL_MAX_SOURCE)
		rc = fail(&c, c.cur, TSDB_E_TOO_LARGE, "the query is %zu bytes, more than %u", len,
			  TSDB_QL_MAX_SOURCE);
	else if (!text && len > 0)
		rc = fail(&c, c.cur, TSDB_E_INVALID_ARG, "no query text");
	else
		rc = compile_query(&c, out);
	free(c.str);
	if (c.c_locale)
		freelocale(c.c_locale);
	if (rc != 0) {
		tsdb_ql_pos at = out->error_at;
		tsdb_ql_result_free(out);
		out->error_at = at;
		return -1;
	}
	return 0;
}

void tsdb_ql_result_free(tsdb_ql_result *r)
{
	if (!r)
		return;
	json_decref(r->request);
	free(r->ts_file);
	*r = (tsdb_ql_result){0};
}
