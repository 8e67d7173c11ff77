/*
 * test_querylang.c - the query language (querylang.h, docs/QUERY.md):
 * every example of the grammar compared as JSON with the request it must
 * give, every error message word for word with its line and column, the
 * bounds on both sides of each limit, and round trips: random valid
 * queries (random predicate trees, clauses in random order, random blanks
 * and comments) printed as text must compile to the JSON their generator
 * predicted, and damaged copies of them must fail with a well-formed
 * message or compile to a request that keeps the module's promises.
 *
 * Every json_t and result is released, so the suite is also a leak check
 * under -fsanitize=address.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "querylang.h"
#include "rng.h"
#include "tap.h"

/* ---- helpers --------------------------------------------------------- */

static void print_json(const char *label, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	printf("#   %s: %s\n", label, s ? s : "(none)");
	free(s);
}

/* text compiles to the JSON want (and hands back ts_file, or NULL). */
static int compiles_to_n(const char *text, size_t len, const char *want, const char *ts_file)
{
	tsdb_ql_result r;
	tsdb_err err = {0};
	if (tsdb_ql_compile(text, len, &r, &err) != 0) {
		printf("# %.200s\n#   failed: %s\n", text, err.msg);
		return 0;
	}
	json_error_t jerr;
	json_t *expect = json_loads(want, JSON_ALLOW_NUL, &jerr);
	int ok = expect && json_equal(r.request, expect);
	if (!ok) {
		printf("# %.200s\n", text);
		print_json("got", r.request);
		printf("#   want: %s\n", want);
	}
	if ((ts_file == NULL) != (r.ts_file == NULL) ||
	    (ts_file && strcmp(ts_file, r.ts_file) != 0)) {
		printf("# %s\n#   ts_file %s, want %s\n", text, r.ts_file ? r.ts_file : "NULL",
		       ts_file ? ts_file : "NULL");
		ok = 0;
	}
	if (r.error_at.line || r.error_at.column || r.error_at.offset) {
		printf("# %s: error_at set on success\n", text);
		ok = 0;
	}
	json_decref(expect);
	tsdb_ql_result_free(&r);
	return ok;
}

static int compiles_to(const char *text, const char *want, const char *ts_file)
{
	return compiles_to_n(text, strlen(text), want, ts_file);
}

/* text[0..len) fails with code and exactly the message msg, whose
 * "L:C: " must agree with error_at. */
static int fails_with_n(const char *text, size_t len, enum tsdb_errcode code, const char *msg)
{
	tsdb_ql_result r;
	tsdb_err err = {0};
	if (tsdb_ql_compile(text, len, &r, &err) == 0) {
		printf("# %.200s\n", text);
		print_json("compiled, but should fail with", r.request);
		printf("#   %s\n", msg);
		tsdb_ql_result_free(&r);
		return 0;
	}
	int ok = 1;
	if (strcmp(err.msg, msg) != 0) {
		printf("# %.200s\n#   got:  %s\n#   want: %s\n", text, err.msg, msg);
		ok = 0;
	}
	if (err.code != code) {
		printf("# %.200s\n#   code %d, want %d\n", text, (int)err.code, (int)code);
		ok = 0;
	}
	char prefix[64];
	snprintf(prefix, sizeof prefix, "%zu:%zu: ", r.error_at.line, r.error_at.column);
	if (strncmp(err.msg, prefix, strlen(prefix)) != 0) {
		printf("# %s\n#   error_at %s disagrees with the message\n", text, prefix);
		ok = 0;
	}
	if (r.request || r.ts_file) {
		printf("# %s: a failed compile left a result\n", text);
		ok = 0;
	}
	tsdb_ql_result_free(&r);
	return ok;
}

static int fails_with(const char *text, const char *msg)
{
	return fails_with_n(text, strlen(text), TSDB_E_INVALID_ARG, msg);
}

#define COMPILES(text, want) CHECK(compiles_to(text, want, NULL))
#define COMPILES_FILE(text, want, file) CHECK(compiles_to(text, want, file))
#define FAILS(text, msg) CHECK(fails_with(text, msg))

/* A growable string for building queries. */
typedef struct sbuf {
	char *s;
	size_t len, cap;
} sbuf;

static void sb_addn(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = realloc(b->s, cap);
		if (!b->s)
			abort();
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3)))
static void sb_addf(sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		abort();
	sb_addn(b, tmp, (size_t)n);
}

static void sb_repeat(sbuf *b, const char *s, size_t times)
{
	for (size_t i = 0; i < times; i++)
		sb_add(b, s);
}

/* ---- the examples of the brief and of docs/QUERY.md -------------------- */

static void test_examples(void)
{
	COMPILES("(top 10 (like \"ts-000001\") (where (and (>= order 4) (= level \"C\"))))",
		 "{\"op\": \"with_id\", \"id\": \"ts-000001\", \"k\": 10, \"where\": {\"$and\": "
		 "[{\"order\": {\">=\": 4}}, {\"level\": \"C\"}]}}");
	COMPILES_FILE("(top 5 (like-file \"x.dat_folded\"))", "{\"op\": \"with_ts\", \"k\": 5}",
		      "x.dat_folded");
	COMPILES_FILE("(within 0.1 (like-file \"x.dat_folded\"))",
		      "{\"op\": \"within\", \"radius\": 0.1}", "x.dat_folded");
	COMPILES("(within 0.1 (like \"ts-7\") (limit 50))",
		 "{\"op\": \"within\", \"id\": \"ts-7\", \"radius\": 0.1, \"limit\": 50}");
	COMPILES("(select (where (> period 0.5)) (fields order mean) (sort -order) (limit 10))",
		 "{\"op\": \"select\", \"md\": {\"period\": {\">\": 0.5}}, \"fields\": [\"order\", "
		 "\"mean\"], \"additional\": {\"sort_by\": \"-order\", \"limit\": 10}}");
	COMPILES("(get \"ts-1\")", "{\"op\": \"get\", \"id\": \"ts-1\"}");
	COMPILES("(info)", "{\"op\": \"info\"}");
	COMPILES("(list (prefix \"ts-\") (after \"ts-9\") (limit 100))",
		 "{\"op\": \"list\", \"prefix\": \"ts-\", \"after\": \"ts-9\", \"limit\": 100}");
	/* docs/QUERY.md, "Examples" */
	COMPILES("; the ten nearest B-type stars that are not flagged\n"
		 "(top 10 (like \"ts-000001\")\n"
		 "        (where (and (in spectral \"B\" \"B5\")\n"
		 "                    (not (exists flagged)))))\n",
		 "{\"op\": \"with_id\", \"id\": \"ts-000001\", \"k\": 10, \"where\": {\"$and\": ["
		 "{\"spectral\": {\"in\": [\"B\", \"B5\"]}}, {\"$not\": {\"flagged\": {\"exists\": "
		 "true}}}]}}");
	COMPILES("(select (where (or (< \"mag V\" 12.5) (missing period))) (fields *) (limit 20))",
		 "{\"op\": \"select\", \"md\": {\"$or\": [{\"mag V\": {\"<\": 12.5}}, {\"period\": "
		 "{\"exists\": false}}]}, \"fields\": [], \"additional\": {\"limit\": 20}}");
	COMPILES("(select (where (exists period)) (sort -period) (limit 100) (offset 200))",
		 "{\"op\": \"select\", \"md\": {\"period\": {\"exists\": true}}, \"fields\": null, "
		 "\"additional\": {\"sort_by\": \"-period\", \"limit\": 100, \"offset\": 200}}");
	COMPILES("(within 0.25 (like \"ts-7\") (where (= level \"C\")) (shape 32))",
		 "{\"op\": \"within\", \"id\": \"ts-7\", \"radius\": 0.25, \"where\": {\"level\": "
		 "\"C\"}, \"shape\": 32}");
}

/* The error table of docs/QUERY.md, "Errors". */
static void test_doc_errors(void)
{
	FAILS("; the count\n(top         ten (like \"x\"))",
	      "2:14: expected a number after \"top\", got \"ten\"");
	FAILS("(topp 10 (like \"x\"))",
	      "1:1: unknown form \"topp\" (expected top, within, select, get, info or list)");
	FAILS("(top 5\n (like \"x\")\n    ", "3:5: unclosed \"(\" opened at 1:1");
	FAILS("(top 5 (limt 3) (like \"a\"))",
	      "1:8: unknown clause \"limt\" in top (expected like, like-file, where or shape)");
	FAILS("(top 5 (like \"a\") (shape 1) (shape 2))",
	      "1:29: duplicate clause \"shape\" (the first is at 1:19)");
	FAILS("(within 1 (like \"a\") (like-file \"f\"))",
	      "1:22: (like-file ...) cannot be combined with (like ...) at 1:11: a search has one "
	      "query series");
	FAILS("(select (where (= level C)))",
	      "1:25: expected a value (a number, a string, true or false) after the field of "
	      "\"=\", got \"C\" (a string is written in double quotes: \"C\")");
	FAILS("(top 1. (like \"a\"))",
	      "1:6: number 1.: a digit must follow the decimal point (write 1.0 or 1)");
	FAILS("(get \"\\uD800\")",
	      "1:7: lone UTF-16 surrogate \\uD800 (a high surrogate must be followed by a low "
	      "one, \\uDC00..\\uDFFF)");
	FAILS("(select (where (= a 1)))\n(top 5 (like \"a\"))",
	      "2:1: unexpected \"(\" after the query (a query is exactly one form)");
}

/* ---- each form and clause ---------------------------------------------- */

static void test_forms(void)
{
	/* top: k, shape, where; clause order free */
	COMPILES("(top 1 (shape 0) (like \"a\"))",
		 "{\"op\": \"with_id\", \"id\": \"a\", \"k\": 1, \"shape\": 0}");
	COMPILES("(top 9223372036854775807 (like \"a\"))",
		 "{\"op\": \"with_id\", \"id\": \"a\", \"k\": 9223372036854775807}");
	COMPILES_FILE("(top 3 (where (= a 1)) (like-file \"d/f x.txt\") (shape 16))",
		      "{\"op\": \"with_ts\", \"k\": 3, \"where\": {\"a\": 1}, \"shape\": 16}",
		      "d/f x.txt");
	/* within: the radius is always a real, -0 is 0 */
	COMPILES("(within 1 (like \"a\"))", "{\"op\": \"within\", \"id\": \"a\", \"radius\": 1.0}");
	COMPILES("(within 0 (like \"a\"))", "{\"op\": \"within\", \"id\": \"a\", \"radius\": 0.0}");
	COMPILES("(within -0.0 (like \"a\"))",
		 "{\"op\": \"within\", \"id\": \"a\", \"radius\": 0.0}");
	COMPILES("(within 1e-3 (limit 1) (like \"a\"))",
		 "{\"op\": \"within\", \"id\": \"a\", \"radius\": 0.001, \"limit\": 1}");
	tsdb_ql_result r;
	tsdb_err err;
	CHECK(tsdb_ql_compile("(within -0 (like \"a\"))", 22, &r, &err) == 0);
	CHECK(r.request && !signbit(json_real_value(json_object_get(r.request, "radius"))));
	tsdb_ql_result_free(&r);
	/* select: everything absent, then each clause */
	COMPILES("(select)",
		 "{\"op\": \"select\", \"md\": {}, \"fields\": null, \"additional\": null}");
	COMPILES("(select (fields *))",
		 "{\"op\": \"select\", \"md\": {}, \"fields\": [], \"additional\": null}");
	COMPILES("(select (fields a \"b c\" d.e-f _g))",
		 "{\"op\": \"select\", \"md\": {}, \"fields\": [\"a\", \"b c\", \"d.e-f\", \"_g\"], "
		 "\"additional\": null}");
	COMPILES("(select (sort order))", "{\"op\": \"select\", \"md\": {}, \"fields\": null, "
		 "\"additional\": {\"sort_by\": \"+order\"}}");
	COMPILES("(select (sort +order))", "{\"op\": \"select\", \"md\": {}, \"fields\": null, "
		 "\"additional\": {\"sort_by\": \"+order\"}}");
	COMPILES("(select (sort -\"odd name\"))", "{\"op\": \"select\", \"md\": {}, \"fields\": "
		 "null, \"additional\": {\"sort_by\": \"-odd name\"}}");
	COMPILES("(select (sort + \"-x\"))", "{\"op\": \"select\", \"md\": {}, \"fields\": "
		 "null, \"additional\": {\"sort_by\": \"+-x\"}}");
	COMPILES("(select (sort \"x y\"))", "{\"op\": \"select\", \"md\": {}, \"fields\": "
		 "null, \"additional\": {\"sort_by\": \"+x y\"}}");
	COMPILES("(select (sort - y))", "{\"op\": \"select\", \"md\": {}, \"fields\": "
		 "null, \"additional\": {\"sort_by\": \"-y\"}}");
	COMPILES("(select (limit 5) (where (exists a)))",
		 "{\"op\": \"select\", \"md\": {\"a\": {\"exists\": true}}, \"fields\": null, "
		 "\"additional\": {\"limit\": 5}}");
	/* get, info, list */
	COMPILES("(get \"a \\\"quoted\\\" id/with\\\\slashes\")",
		 "{\"op\": \"get\", \"id\": \"a \\\"quoted\\\" id/with\\\\slashes\"}");
	COMPILES("(list)", "{\"op\": \"list\"}");
	COMPILES("(list (limit 1))", "{\"op\": \"list\", \"limit\": 1}");
	COMPILES("(list (prefix \"\"))", "{\"op\": \"list\", \"prefix\": \"\"}");
	COMPILES("(list (after \"z\") (prefix \"p\"))",
		 "{\"op\": \"list\", \"prefix\": \"p\", \"after\": \"z\"}");
	/* blanks anywhere between tokens, none needed around parentheses */
	COMPILES("  \t(info\r\n)  ; done\n", "{\"op\": \"info\"}");
	COMPILES("(top 2(like\"a\")(where(= a 1)))",
		 "{\"op\": \"with_id\", \"id\": \"a\", \"k\": 2, \"where\": {\"a\": 1}}");
	COMPILES("(get\"a\");", "{\"op\": \"get\", \"id\": \"a\"}");
}

static void test_predicates(void)
{
#define SEL(pred, md) COMPILES("(select (where " pred "))", \
	"{\"op\": \"select\", \"md\": " md ", \"fields\": null, \"additional\": null}")
	SEL("(= f 1)", "{\"f\": 1}");
	SEL("(== f 1)", "{\"f\": {\"==\": 1}}");
	SEL("(!= f 1)", "{\"f\": {\"!=\": 1}}");
	SEL("(< f 1)", "{\"f\": {\"<\": 1}}");
	SEL("(<= f 1)", "{\"f\": {\"<=\": 1}}");
	SEL("(> f 1)", "{\"f\": {\">\": 1}}");
	SEL("(>= f 1)", "{\"f\": {\">=\": 1}}");
	SEL("(in f 1 \"two\" 3.5 true false)", "{\"f\": {\"in\": [1, \"two\", 3.5, true, false]}}");
	SEL("(in f 1)", "{\"f\": {\"in\": [1]}}");
	SEL("(exists f)", "{\"f\": {\"exists\": true}}");
	SEL("(missing f)", "{\"f\": {\"exists\": false}}");
	SEL("(not (= f 1))", "{\"$not\": {\"f\": 1}}");
	SEL("(not (not (exists f)))", "{\"$not\": {\"$not\": {\"f\": {\"exists\": true}}}}");
	SEL("(and (= f 1))", "{\"f\": 1}");
	SEL("(or (= f 1))", "{\"f\": 1}");
	SEL("(or (= f 1) (= g 2) (= h 3))", "{\"$or\": [{\"f\": 1}, {\"g\": 2}, {\"h\": 3}]}");
	SEL("(and (or (= a 1) (= b 2)) (not (or (< c 0))))",
	    "{\"$and\": [{\"$or\": [{\"a\": 1}, {\"b\": 2}]}, {\"$not\": {\"c\": {\"<\": 0}}}]}");
	/* scalars */
	SEL("(= f true)", "{\"f\": true}");
	SEL("(= f false)", "{\"f\": false}");
	SEL("(= f -12)", "{\"f\": -12}");
	SEL("(= f -0)", "{\"f\": 0}");
	SEL("(= f 0.5)", "{\"f\": 0.5}");
	SEL("(= f 1e-3)", "{\"f\": 0.001}");
	SEL("(= f 1E+3)", "{\"f\": 1000.0}");
	SEL("(= f -2.5e2)", "{\"f\": -250.0}");
	SEL("(= f 1e-400)", "{\"f\": 0.0}");
	SEL("(= f 9223372036854775807)", "{\"f\": 9223372036854775807}");
	SEL("(= f -9223372036854775808)", "{\"f\": -9223372036854775808}");
	SEL("(= f 1.7976931348623157e308)", "{\"f\": 1.7976931348623157e308}");
	SEL("(= f \"\")", "{\"f\": \"\"}");
	SEL("(= f \"\\u0000\")", "{\"f\": \"\\u0000\"}");
	/* field names: symbols of any spelling, even those of words, strings for the rest */
	SEL("(= true 1)", "{\"true\": 1}");
	SEL("(= and 1)", "{\"and\": 1}");
	SEL("(= a.b-c_9 1)", "{\"a.b-c_9\": 1}");
	SEL("(= \"two words\" 1)", "{\"two words\": 1}");
	SEL("(= \"9lives\" 1)", "{\"9lives\": 1}");
	SEL("(= \"a$\" 1)", "{\"a$\": 1}");
	SEL("(= \"é\" \"ü\")", "{\"é\": \"ü\"}");
#undef SEL
}

/* ---- lexical rules ------------------------------------------------------ */

static void test_strings(void)
{
#define STR(lit, json) COMPILES("(select (where (= f " lit ")))", \
	"{\"op\": \"select\", \"md\": {\"f\": " json "}, \"fields\": null, \"additional\": null}")
	STR("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\\" \\\\ / \\b \\f \\n \\r \\t\"");
	STR("\"\\u0041\\u00e9\\u20AC\"", "\"Aé€\"");
	STR("\"\\uD83D\\uDE00\"", "\"\\ud83d\\ude00\"");  /* U+1F600 from a surrogate pair */
	STR("\"\\udbff\\udfff\"", "\"\\udbff\\udfff\"");  /* U+10FFFF */
	STR("\"raw é € 😀\"", "\"raw é € 😀\"");
	STR("\"; not a comment ( ) \"", "\"; not a comment ( ) \"");
#undef STR
	/* comments: anywhere a blank may be, to the end of the line */
	COMPILES("; a\n(top ; b\n 5 ; c (not a form\n (like \"x\") ; d\n) ; e",
		 "{\"op\": \"with_id\", \"id\": \"x\", \"k\": 5}");
	COMPILES("(info);\xc3\xa9 unicode and a tab\t in a comment", "{\"op\": \"info\"}");
}

static void test_lexical_errors(void)
{
	FAILS("(top 1. (like \"a\"))",
	      "1:6: number 1.: a digit must follow the decimal point (write 1.0 or 1)");
	FAILS("(select (where (= f .5)))",
	      "1:21: number .5: a digit must come before the decimal point (write 0.5)");
	FAILS("(select (where (= f -.5)))",
	      "1:21: number -.5: a digit must come before the decimal point (write -0.5)");
	FAILS("(top 01 (like \"a\"))", "1:6: number 01: a number cannot have a leading zero");
	FAILS("(top -01 (like \"a\"))", "1:6: number -01: a number cannot have a leading zero");
	FAILS("(top +5 (like \"a\"))",
	      "1:6: number +5: a number cannot start with \"+\" (write 5)");
	FAILS("(select (where (= f 1e)))", "1:21: number 1e: an exponent needs digits");
	FAILS("(select (where (= f 1e+)))", "1:21: number 1e+: an exponent needs digits");
	FAILS("(select (where (= f 1.5abc)))", "1:21: malformed number 1.5abc");
	FAILS("(select (where (= f 0x10)))", "1:21: malformed number 0x10");
	FAILS("(select (where (= f 9223372036854775808)))",
	      "1:21: integer 9223372036854775808 does not fit in 64 bits (write it with an "
	      "exponent, e.g. 1e19, to make it a real)");
	FAILS("(select (where (= f -9223372036854775809)))",
	      "1:21: integer -9223372036854775809 does not fit in 64 bits (write it with an "
	      "exponent, e.g. 1e19, to make it a real)");
	FAILS("(select (where (= f 1e400)))",
	      "1:21: number 1e400 is out of the range of a double");
	FAILS("(select (where (= f NaN)))",
	      "1:21: \"NaN\" is not a number: NaN and infinities cannot be written (JSON has none)");
	FAILS("(within inf (like \"a\"))",
	      "1:9: \"inf\" is not a number: NaN and infinities cannot be written (JSON has none)");
	FAILS("(select (where (in f 1 -Infinity)))",
	      "1:24: \"-Infinity\" is not a number: NaN and infinities cannot be written (JSON "
	      "has none)");
	FAILS("(top nan (like \"a\"))",
	      "1:6: \"nan\" is not a number: NaN and infinities cannot be written (JSON has none)");
	/* strings */
	FAILS("(get \"abc)", "1:6: unterminated string (no closing \")");
	FAILS("(get \"abc\\", "1:6: unterminated string (no closing \")");
	FAILS("(get \"abc\n\")",
	      "1:6: unterminated string (a string ends on its line; write a line break inside "
	      "it as \\n)");
	FAILS("(get \"a\tb\")",
	      "1:8: raw control character U+0009 in a string (write it as an escape: \\t, \\n, "
	      "\\r or \\u0009)");
	FAILS("(get \"a\\qb\")",
	      "1:8: unknown escape \"\\q\" in a string (known: \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
	      "\\uXXXX)");
	FAILS("(get \"a\\\xc3\xa9\")",
	      "1:8: a backslash in a string must start an escape (\\\" \\\\ \\/ \\b \\f \\n \\r "
	      "\\t \\uXXXX)");
	FAILS("(get \"\\u12\")", "1:7: \"\\u\" needs four hexadecimal digits");
	FAILS("(get \"\\u12g4\")", "1:7: \"\\u\" needs four hexadecimal digits");
	FAILS("(get \"\\uD800\")",
	      "1:7: lone UTF-16 surrogate \\uD800 (a high surrogate must be followed by a low "
	      "one, \\uDC00..\\uDFFF)");
	FAILS("(get \"\\uD800\\u0041\")",
	      "1:7: lone UTF-16 surrogate \\uD800 (a high surrogate must be followed by a low "
	      "one, \\uDC00..\\uDFFF)");
	FAILS("(get \"\\uD800\\uD800\")",
	      "1:7: lone UTF-16 surrogate \\uD800 (a high surrogate must be followed by a low "
	      "one, \\uDC00..\\uDFFF)");
	FAILS("(get \"x\\udc00\")",
	      "1:8: lone UTF-16 surrogate \\uDC00 (a low surrogate must follow a high one, "
	      "\\uD800..\\uDBFF)");
	/* invalid UTF-8 and control characters, in and out of strings; the
	 * column counts characters, so é is one */
	FAILS("(get \"é\xff\")", "1:8: invalid UTF-8 (byte 0xFF)");
	FAILS("(get \"\xc3\")", "1:7: invalid UTF-8 (byte 0xC3)");
	FAILS("(get \"\xc0\xaf\")", "1:7: invalid UTF-8 (byte 0xC0)");          /* overlong */
	FAILS("(get \"\xed\xa0\x80\")", "1:7: invalid UTF-8 (byte 0xED)");      /* a surrogate */
	FAILS("(get \"\xf4\x90\x80\x80\")", "1:7: invalid UTF-8 (byte 0xF4)");  /* > U+10FFFF */
	FAILS("(info) ; \xfe", "1:10: invalid UTF-8 (byte 0xFE)");
	FAILS("(inf\x80o)", "1:5: invalid UTF-8 (byte 0x80)");
	FAILS("(info)\x01",
	      "1:7: control character U+0001 (only space, tab, line feed and carriage return may "
	      "separate tokens)");
	FAILS("(info) ; \x7f",
	      "1:10: control character U+007F (only space, tab, line feed and carriage return "
	      "may separate tokens)");
	CHECK(fails_with_n("(info)\0", 7, TSDB_E_INVALID_ARG,
			   "1:7: control character U+0000 (only space, tab, line feed and carriage "
			   "return may separate tokens)"));
	CHECK(fails_with_n("(get \"a\0\")", 10, TSDB_E_INVALID_ARG,
			   "1:8: raw control character U+0000 in a string (write it as an escape: "
			   "\\t, \\n, \\r or \\u0000)"));
	FAILS("(get \"éé\" x)",
	      "1:11: expected \")\" after the id of (get ...), got \"x\"");
	FAILS("(get \"😀\"\n  \"é\")",
	      "2:3: expected \")\" after the id of (get ...), got the string \"é\"");
}

/* ---- syntax errors --------------------------------------------------------- */

static void test_errors(void)
{
	/* the brief's three, verbatim */
	FAILS("; the count must be a number\n(top         ten (like \"x\"))",
	      "2:14: expected a number after \"top\", got \"ten\"");
	FAILS("(topp 10 (like \"x\"))",
	      "1:1: unknown form \"topp\" (expected top, within, select, get, info or list)");
	FAILS("(top 5\n (like \"x\")\n    ", "3:5: unclosed \"(\" opened at 1:1");
	/* the start and the end */
	FAILS("", "1:1: empty query: expected a form such as (top 5 (like \"ID\")) or (info)");
	FAILS("  ; only a comment\n  ",
	      "2:3: empty query: expected a form such as (top 5 (like \"ID\")) or (info)");
	FAILS("top 5", "1:1: expected \"(\" to start a query, got \"top\"");
	FAILS(")", "1:1: expected \"(\" to start a query, got \")\"");
	FAILS("\"info\"", "1:1: expected \"(\" to start a query, got the string \"info\"");
	FAILS("()", "1:2: expected a form name (top, within, select, get, info or list) after "
	      "\"(\", got \")\"");
	FAILS("((info))", "1:2: expected a form name (top, within, select, get, info or list) "
	      "after \"(\", got \"(\"");
	FAILS("(", "1:2: unclosed \"(\" opened at 1:1");
	FAILS("(info))", "1:7: unexpected \")\" after the query (a query is exactly one form)");
	FAILS("(info) x", "1:8: unexpected \"x\" after the query (a query is exactly one form)");
	FAILS("(info) 5", "1:8: unexpected 5 after the query (a query is exactly one form)");
	FAILS("(info) (info)",
	      "1:8: unexpected \"(\" after the query (a query is exactly one form)");
	FAILS("(info) \"x", "1:8: unterminated string (no closing \")");
	FAILS("(INFO)", "1:1: unknown form \"INFO\" (expected top, within, select, get, info or "
	      "list)");
	FAILS("(info 5)", "1:7: expected \")\" after \"info\": it takes nothing, got 5");
	/* top and within */
	FAILS("(top)", "1:5: expected a number after \"top\", got \")\"");
	FAILS("(top 0 (like \"a\"))",
	      "1:6: the count after \"top\" must be a positive integer, got 0");
	FAILS("(top -3 (like \"a\"))",
	      "1:6: the count after \"top\" must be a positive integer, got -3");
	FAILS("(top 2.5 (like \"a\"))",
	      "1:6: the count after \"top\" must be a positive integer, got 2.5");
	FAILS("(top 5e0 (like \"a\"))",
	      "1:6: the count after \"top\" must be a positive integer, got 5e0");
	FAILS("(top \"5\" (like \"a\"))",
	      "1:6: expected a number after \"top\", got the string \"5\"");
	FAILS("(top 5)", "1:1: top needs the series to search by: (like \"ID\") or (like-file "
	      "\"FILE\")");
	FAILS("(within 0.5 (limit 3))", "1:1: within needs the series to search by: (like \"ID\") "
	      "or (like-file \"FILE\")");
	FAILS("(top 5 (like \"a\") (like-file \"f\"))",
	      "1:19: (like-file ...) cannot be combined with (like ...) at 1:8: a search has one "
	      "query series");
	FAILS("(within 1 (like-file \"f\") (like \"a\"))",
	      "1:27: (like ...) cannot be combined with (like-file ...) at 1:11: a search has one "
	      "query series");
	FAILS("(within -1 (like \"a\"))",
	      "1:9: the radius after \"within\" must be >= 0, got -1");
	FAILS("(within -1e-300 (like \"a\"))",
	      "1:9: the radius after \"within\" must be >= 0, got -1e-300");
	FAILS("(within (like \"a\"))", "1:9: expected a number after \"within\", got \"(\"");
	FAILS("(top 5 foo)", "1:8: expected a clause of top (like, like-file, where or shape) or "
	      "\")\", got \"foo\"");
	FAILS("(top 5 ())", "1:9: expected a clause name (like, like-file, where or shape) after "
	      "\"(\", got \")\"");
	FAILS("(top 5 (limit 3) (like \"a\"))",
	      "1:8: top has no clause \"limit\" (expected like, like-file, where or shape)");
	FAILS("(top 5 (like \"a\") (shape 1) (shape 2))",
	      "1:29: duplicate clause \"shape\" (the first is at 1:19)");
	FAILS("(top 5 (like \"a\") (where (= a 1)) (where (= b 2)))",
	      "1:35: duplicate clause \"where\" (the first is at 1:19)");
	FAILS("(top 5 (like \"a\" \"b\"))",
	      "1:18: expected \")\" to end (like ...): it takes one value, got the string \"b\"");
	FAILS("(top 5 (like))", "1:13: expected an id (a string) after \"like\", got \")\"");
	FAILS("(top 5 (like ts-7))",
	      "1:14: expected an id after \"like\", got \"ts-7\" (an id is written as a string, in "
	      "double quotes)");
	FAILS("(get 12)",
	      "1:6: expected an id after \"get\", got 12 (an id is written as a string, in double "
	      "quotes)");
	FAILS("(top 5 (like \"\"))", "1:14: an id cannot be empty");
	FAILS("(top 5 (like \"a\\nb\"))",
	      "1:14: an id cannot contain control characters (this one has U+000A)");
	FAILS("(top 5 (like \"\\u0000\"))",
	      "1:14: an id cannot contain control characters (this one has U+0000)");
	FAILS("(top 5 (like \"\\u007f\"))",
	      "1:14: an id cannot contain control characters (this one has U+007F)");
	FAILS("(top 5 (like-file \"\"))", "1:19: the file name after \"like-file\" is empty");
	FAILS("(top 5 (like-file \"a\\u0000b\"))",
	      "1:19: a file name cannot contain \\u0000");
	FAILS("(top 5 (like-file f))",
	      "1:19: expected a file name (a string) after \"like-file\", got \"f\"");
	FAILS("(top 5 (like \"a\") (shape -1))",
	      "1:26: the shape must be an integer >= 0, got -1");
	FAILS("(within 1 (like \"a\") (limit 0))",
	      "1:29: the limit must be a positive integer, got 0");
	FAILS("(within 1 (like \"a\") (limit 10 20))",
	      "1:32: expected \")\" to end (limit ...): it takes one value, got 20");
	/* where and predicates */
	FAILS("(select (where))",
	      "1:15: expected a predicate such as (= FIELD VALUE), got \")\"");
	FAILS("(select (where (= a 1) (= b 2)))",
	      "1:24: expected \")\" to end (where ...): it takes one predicate (combine several "
	      "with (and ...)), got \"(\"");
	FAILS("(select (where a))",
	      "1:16: expected a predicate such as (= FIELD VALUE), got \"a\"");
	FAILS("(select (where (=a 1)))",
	      "1:16: unknown predicate \"=a\" (expected and, or, not, =, ==, !=, <, <=, >, >=, in, "
	      "exists or missing)");
	FAILS("(select (where (like a 1)))",
	      "1:16: unknown predicate \"like\" (expected and, or, not, =, ==, !=, <, <=, >, >=, in, "
	      "exists or missing)");
	FAILS("(select (where (\"=\" a 1)))",
	      "1:17: expected a predicate name (and, or, not, =, ==, !=, <, <=, >, >=, in, exists "
	      "or missing) after \"(\", got the string \"=\"");
	FAILS("(select (where (and)))", "1:20: expected a predicate after \"and\", got \")\"");
	FAILS("(select (where (or (= a 1) b)))",
	      "1:28: expected a predicate or \")\" to end (or ...), got \"b\"");
	FAILS("(select (where (not)))",
	      "1:20: expected a predicate such as (= FIELD VALUE), got \")\"");
	FAILS("(select (where (not (= a 1) (= b 2))))",
	      "1:29: expected \")\" to end (not ...): it takes one predicate, got \"(\"");
	FAILS("(select (where (= a)))",
	      "1:20: expected a value (a number, a string, true or false) after the field of "
	      "\"=\", got \")\"");
	FAILS("(select (where (= a 1 2)))",
	      "1:23: expected \")\" after the value of (= ...): it compares one field with one "
	      "value, got 2");
	FAILS("(select (where (< 5 a)))", "1:19: expected a field name after \"<\", got 5");
	FAILS("(select (where (= level C)))",
	      "1:25: expected a value (a number, a string, true or false) after the field of "
	      "\"=\", got \"C\" (a string is written in double quotes: \"C\")");
	FAILS("(select (where (= level null)))",
	      "1:25: null is not a value a field can be compared with (test for an absent field "
	      "with (missing FIELD))");
	FAILS("(select (where (= a (b))))",
	      "1:21: expected a value (a number, a string, true or false) after the field of "
	      "\"=\", got \"(\"");
	FAILS("(select (where (= $and 1)))",
	      "1:19: field name \"$and\" is reserved: \"$\" starts the operators $and, $or and $not");
	FAILS("(select (where (= \"$or\" 1)))",
	      "1:19: field name \"$or\" is reserved: \"$\" starts the operators $and, $or and $not");
	FAILS("(select (where (= -order 1)))",
	      "1:19: \"-order\" is not a field name: a bare name has letters, digits, \"_\", \".\" "
	      "and \"-\" and starts with a letter or \"_\" (write any other name as a string)");
	FAILS("(select (where (= é 1)))",
	      "1:19: \"é\" is not a field name: a bare name has letters, digits, \"_\", \".\" and "
	      "\"-\" and starts with a letter or \"_\" (write any other name as a string)");
	FAILS("(select (where (= \"a\\u0000\" 1)))",
	      "1:19: a field name cannot contain \\u0000");
	FAILS("(select (where (= \"\" 1)))", "1:19: a field name cannot be empty");
	FAILS("(select (fields \"\"))", "1:17: a field name cannot be empty");
	FAILS("(select (sort -\"\"))", "1:16: a field name cannot be empty");
	FAILS("(select (where (in a)))",
	      "1:21: expected a value after the field of \"in\", got \")\"");
	FAILS("(select (where (in a 1 b)))",
	      "1:24: expected a value (a number, a string, true or false) in the list of (in ...), "
	      "got \"b\" (a string is written in double quotes: \"b\")");
	FAILS("(select (where (exists)))", "1:23: expected a field name after \"exists\", got \")\"");
	FAILS("(select (where (missing a b)))",
	      "1:27: expected \")\" after the field of (missing ...): it takes one field, got \"b\"");
	/* select's own clauses */
	FAILS("(select (fields))", "1:16: expected a field name or * after \"fields\", got \")\"");
	FAILS("(select (fields * a))",
	      "1:19: expected \")\" after \"*\": (fields *) asks for all fields, got \"a\"");
	FAILS("(select (fields a *))",
	      "1:19: \"*\" stands alone: (fields *) asks for all fields");
	FAILS("(select (fields a 5))", "1:19: expected a field name in (fields ...), got 5");
	FAILS("(select (sort))",
	      "1:14: expected a field name after \"sort\" (NAME, +NAME, -NAME or -\"ANY NAME\"), "
	      "got \")\"");
	FAILS("(select (sort -))",
	      "1:16: expected a field name after the sign of (sort ...), got \")\"");
	FAILS("(select (sort -$x))",
	      "1:15: field name \"-$x\" is reserved: \"$\" starts the operators $and, $or and $not");
	FAILS("(select (sort *x))",
	      "1:15: \"*x\" is not a field name: a bare name has letters, digits, \"_\", \".\" and "
	      "\"-\" and starts with a letter or \"_\" (write any other name as a string)");
	FAILS("(select (sort a b))",
	      "1:17: expected \")\" to end (sort ...): it takes one field, got \"b\"");
	FAILS("(select (after \"x\"))",
	      "1:9: select has no clause \"after\" (expected where, fields, sort, limit or offset)");
	FAILS("(select (offset -1))", "1:17: the offset must be an integer >= 0, got -1");
	FAILS("(select (offset 1.5))", "1:17: the offset must be an integer >= 0, got 1.5");
	FAILS("(list (offset 1))",
	      "1:7: list has no clause \"offset\" (expected limit, after or prefix)");
	FAILS("(select (like \"a\"))",
	      "1:9: select has no clause \"like\" (expected where, fields, sort, limit or offset)");
	FAILS("(select (limit 1) (limit 1))",
	      "1:19: duplicate clause \"limit\" (the first is at 1:9)");
	/* get, info, list */
	FAILS("(get)", "1:5: expected an id (a string) after \"get\", got \")\"");
	FAILS("(get \"a\" \"b\")",
	      "1:10: expected \")\" after the id of (get ...), got the string \"b\"");
	FAILS("(list (prefix p))", "1:15: expected a string after \"prefix\", got \"p\"");
	FAILS("(list (prefix \"\\t\"))",
	      "1:15: a prefix cannot contain control characters (this one has U+0009)");
	FAILS("(list (after \"\"))", "1:14: an id cannot be empty");
	FAILS("(list (where (= a 1)))",
	      "1:7: list has no clause \"where\" (expected limit, after or prefix)");
	FAILS("(list (limt 1))",
	      "1:7: unknown clause \"limt\" in list (expected limit, after or prefix)");
	/* a long token is quoted cut, at a character boundary */
	FAILS("(select (where (= a ééééééééééééééééééééééééééééééééééééééééé)))",
	      "1:21: expected a value (a number, a string, true or false) after the field of "
	      "\"=\", got \"éééééééééééééééééééééééééééééééé...\" (a string is written in double "
	      "quotes: \"éééééééééééééééééééééééééééééééé...\")");
}

/* ---- bounds -------------------------------------------------------------- */

/* (select (where (not ... (exists f) ...))) with `depth` parentheses in all. */
static void nested_nots(sbuf *b, size_t depth)
{
	b->len = 0;
	sb_add(b, "(select (where ");
	sb_repeat(b, "(not ", depth - 3);
	sb_add(b, "(exists f)");
	sb_repeat(b, ")", depth - 3);
	sb_add(b, "))");
}

static void test_bounds(void)
{
	sbuf b = {0};
	/* nesting: 64 levels compile (and make a request of JSON depth 64, the
	 * protocol's most), the 65th "(" is refused where it stands */
	nested_nots(&b, 64);
	tsdb_ql_result r;
	tsdb_err err;
	CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
	tsdb_ql_result_free(&r);
	nested_nots(&b, 65);
	CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE,
			   "1:326: parentheses nest deeper than 64 levels"));
	/* The JSON of and/or nests two levels per parenthesis: refused when
	 * the request would be deeper than the protocol allows. */
	b.len = 0;
	sb_add(&b, "(select (where ");
	sb_repeat(&b, "(and (= a 1) ", 31);
	sb_add(&b, "(exists f)");
	sb_repeat(&b, ")", 31);
	sb_add(&b, "))");
	CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE,
			   "1:9: this predicate would make the request nest 65 levels deep, more than "
			   "the protocol's 64 (nest fewer and, or and not)"));
	b.len = 0;
	sb_add(&b, "(select (where ");
	sb_repeat(&b, "(and (= a 1) ", 30);
	sb_add(&b, "(in f 1)");
	sb_repeat(&b, ")", 30);
	sb_add(&b, "))");
	CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
	tsdb_ql_result_free(&r);

	/* source: 1 MiB compiles, one byte more is refused before reading */
	b.len = 0;
	sb_add(&b, "(info)");
	sb_repeat(&b, " ", TSDB_QL_MAX_SOURCE - 6);
	CHECK(b.len == 1048576);
	CHECK(compiles_to_n(b.s, b.len, "{\"op\": \"info\"}", NULL));
	sb_add(&b, " ");
	CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE,
			   "1:1: the query is 1048577 bytes, more than 1048576"));

	/* tokens: (select (fields a a ...)) has 6 + n tokens */
	b.len = 0;
	sb_add(&b, "(select (fields");
	sb_repeat(&b, " a", TSDB_QL_MAX_TOKENS - 6);
	sb_add(&b, "))");
	CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
	CHECK(json_array_size(json_object_get(r.request, "fields")) == TSDB_QL_MAX_TOKENS - 6);
	tsdb_ql_result_free(&r);
	b.len -= 2;
	sb_add(&b, " a))");
	CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE, "1:200007: more than 100000 tokens"));

	/* strings: 64 KiB decoded bytes; one more (a raw byte, an escape, or a
	 * character whose 4 bytes cross the line) is refused at the quote */
	b.len = 0;
	sb_add(&b, "(select (where (= f \"");
	sb_repeat(&b, "x", TSDB_QL_MAX_STRING);
	sb_add(&b, "\")))");
	CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
	CHECK(json_string_length(json_object_get(json_object_get(r.request, "md"), "f")) ==
	      TSDB_QL_MAX_STRING);
	tsdb_ql_result_free(&r);
	const char *tails[] = {"x", "\\n", "\\uD83D\\uDE00", "😀"};
	for (size_t i = 0; i < 4; i++) {
		b.len = 0;
		sb_add(&b, "(select (where (= f \"");
		sb_repeat(&b, "x", TSDB_QL_MAX_STRING - (i >= 2 ? 3 : 0));
		sb_add(&b, tails[i]);
		sb_add(&b, "\")))");
		CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE, "1:21: string longer than 65536 bytes"));
	}

	/* in: 1024 values; the 1025th is refused where it stands */
	b.len = 0;
	sb_add(&b, "(select (where (in f");
	sb_repeat(&b, " 1", TSDB_QL_MAX_IN);
	sb_add(&b, ")))");
	CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
	CHECK(json_array_size(json_object_get(json_object_get(json_object_get(r.request, "md"), "f"),
					      "in")) == TSDB_QL_MAX_IN);
	tsdb_ql_result_free(&r);
	b.len -= 3;
	sb_add(&b, " 2)))");
	CHECK(fails_with_n(b.s, b.len, TSDB_E_TOO_LARGE, "1:2070: more than 1024 values in (in ...)"));

	/* field names: 255 bytes, bare or quoted (é is two of them) */
	for (int quoted = 0; quoted < 2; quoted++) {
		for (size_t n = 255; n <= 256; n++) {
			b.len = 0;
			sb_add(&b, quoted ? "(select (fields \"é" : "(select (fields a");
			sb_repeat(&b, "x", n - (quoted ? 2 : 1));
			sb_add(&b, quoted ? "\"))" : "))");
			if (n == 255)
				CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
			else
				CHECK(fails_with_n(b.s, b.len, TSDB_E_INVALID_ARG,
						   "1:17: a field name is at most 255 bytes, this one is 256"));
			tsdb_ql_result_free(&r);
		}
	}

	/* ids and prefixes: 255 bytes */
	for (int prefix = 0; prefix < 2; prefix++) {
		for (size_t n = 255; n <= 256; n++) {
			b.len = 0;
			sb_add(&b, prefix ? "(list (prefix \"" : "(get \"");
			sb_repeat(&b, "i", n);
			sb_add(&b, prefix ? "\"))" : "\")");
			if (n == 255)
				CHECK(tsdb_ql_compile(b.s, b.len, &r, &err) == 0);
			else if (prefix)
				CHECK(fails_with_n(b.s, b.len, TSDB_E_INVALID_ARG,
						   "1:15: a prefix is at most 255 bytes, this one is 256"));
			else
				CHECK(fails_with_n(b.s, b.len, TSDB_E_INVALID_ARG,
						   "1:6: an id is at most 255 bytes, this one is 256"));
			tsdb_ql_result_free(&r);
		}
	}

	/* no text at all; a NULL error pointer is allowed */
	CHECK(fails_with_n(NULL, 0, TSDB_E_INVALID_ARG,
			   "1:1: empty query: expected a form such as (top 5 (like \"ID\")) or (info)"));
	CHECK(fails_with_n(NULL, 3, TSDB_E_INVALID_ARG, "1:1: no query text"));
	CHECK(tsdb_ql_compile("(x", 2, &r, NULL) == -1 && r.error_at.line == 1 &&
	      r.error_at.column == 1 && r.error_at.offset == 0);
	CHECK(tsdb_ql_compile("(info)", 6, NULL, &err) == -1);
	/* error_at's offset is in bytes, its column in characters */
	CHECK(tsdb_ql_compile("(get \"ééé\" x)", strlen("(get \"ééé\" x)"), &r, &err) == -1);
	CHECK(r.error_at.line == 1 && r.error_at.column == 12 && r.error_at.offset == 14);
	tsdb_ql_result_free(&r);
	tsdb_ql_result_free(&r);  /* documented as safe to repeat */
	free(b.s);
}

/* ---- round trips ------------------------------------------------------------- */

typedef struct gen {
	tsdb_rng rng;
} gen;

static uint64_t below(gen *g, uint64_t n)
{
	return tsdb_rng_below(&g->rng, n);
}

/* Blanks between tokens: at least one, sometimes a comment. */
static void gen_blank(gen *g, sbuf *b)
{
	static const char *const blanks[] = {" ", " ", " ", "  ", "\n", "\t", "\r\n",
					     " ; comment (with \"quotes\") é\n", "\n\t "};
	sb_add(b, blanks[below(g, sizeof blanks / sizeof blanks[0])]);
}

/* Blanks where none are needed (after "(", before ")"). */
static void gen_maybe_blank(gen *g, sbuf *b)
{
	if (below(g, 3) == 0)
		gen_blank(g, b);
}

static void put_utf8(sbuf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	}
	sb_addn(b, u, n);
}

enum str_kind { S_VALUE, S_FIELD, S_ID, S_PREFIX, S_FILE };

/* A string literal into text and its decoded bytes into value: every
 * escape, raw and escaped non-ASCII, surrogate pairs; what each use of a
 * string refuses (NUL, control characters, a leading "$", emptiness) is
 * left out. */
static void gen_string(gen *g, sbuf *text, sbuf *value, enum str_kind kind)
{
	size_t n = below(g, 9);
	if ((kind == S_ID || kind == S_FILE || kind == S_FIELD) && n == 0)
		n = 1;
	bool controls = kind == S_VALUE || kind == S_FIELD || kind == S_FILE;
	sb_add(text, "\"");
	for (size_t i = 0; i < n; i++) {
		uint32_t cp;
		switch (below(g, controls ? 6 : 4)) {
		case 0:  /* printable ASCII, raw */
			cp = 0x20 + (uint32_t)below(g, 0x5F);
			if (cp == '"' || cp == '\\')
				sb_addf(text, "\\%c", (char)cp);
			else if (cp == '/' && below(g, 2))
				sb_add(text, "\\/");
			else
				put_utf8(text, cp);
			break;
		case 1:  /* non-ASCII in the BMP, raw or as \uXXXX */
			do
				cp = 0xA0 + (uint32_t)below(g, 0x10000 - 0xA0);
			while (cp >= 0xD800 && cp <= 0xDFFF);
			if (below(g, 2))
				put_utf8(text, cp);
			else
				sb_addf(text, below(g, 2) ? "\\u%04X" : "\\u%04x", (unsigned)cp);
			break;
		case 2:  /* past the BMP, raw or as a surrogate pair */
			cp = 0x10000 + (uint32_t)below(g, 0x100000);
			if (below(g, 2))
				put_utf8(text, cp);
			else
				sb_addf(text, "\\u%04X\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)),
					(unsigned)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
			break;
		case 3:  /* a digit or a letter, so ids look like ids */
			cp = (uint32_t)"0123456789abcdefXYZ-_."[below(g, 22)];
			put_utf8(text, cp);
			break;
		default: {  /* a control character, by its short escape or \u00XX */
			static const char shorts[] = "btnfr";
			static const uint32_t short_cp[] = {8, 9, 10, 12, 13};
			size_t s = below(g, 6);
			if (s < 5) {
				cp = short_cp[s];
				sb_addf(text, "\\%c", shorts[s]);
			} else {
				cp = (uint32_t)below(g, 0x20);
				if (cp == 0 && kind != S_VALUE)
					cp = 0x1F;
				sb_addf(text, "\\u%04x", (unsigned)cp);
			}
			break;
		}
		}
		if (i == 0 && kind == S_FIELD && cp == '$') {
			/* "$..." is reserved: make it "_$..." */
			text->len -= 1;
			sb_add(text, "_$");
			put_utf8(value, '_');
		}
		put_utf8(value, cp);
	}
	sb_add(text, "\"");
}

static json_t *gen_scalar(gen *g, sbuf *text)
{
	switch (below(g, 6)) {
	case 0: {
		static const long long edges[] = {0, 1, -1, 42, LLONG_MAX, LLONG_MIN, 1000000007};
		long long x = below(g, 2) ? edges[below(g, 7)] : (long long)tsdb_rng_next(&g->rng);
		sb_addf(text, "%lld", x);
		return json_integer(x);
	}
	case 1: {
		double x;
		do {
			uint64_t bits = tsdb_rng_next(&g->rng);
			memcpy(&x, &bits, sizeof x);
		} while (!isfinite(x));
		if (below(g, 2))
			x = (double)(int64_t)below(g, 2000) / 8 - 100;
		char num[40];
		snprintf(num, sizeof num, "%.17g", x);
		sb_add(text, num);
		if (!strpbrk(num, ".e"))  /* "5" would be an integer */
			sb_add(text, ".0");
		return json_real(x);
	}
	case 2:
		sb_add(text, "true");
		return json_true();
	case 3:
		sb_add(text, "false");
		return json_false();
	default: {
		sbuf v = {0};
		gen_string(g, text, &v, S_VALUE);
		json_t *s = json_stringn(v.s ? v.s : "", v.len);
		free(v.s);
		return s;
	}
	}
}

/* A field name into text; its decoded bytes into name (NUL-terminated). */
static void gen_field(gen *g, sbuf *text, sbuf *name)
{
	name->len = 0;
	if (below(g, 3) == 0) {
		gen_string(g, text, name, S_FIELD);
		sb_add(name, "");
		return;
	}
	static const char first[] = "abcxyzABCXYZ_";
	static const char rest[] = "abcmnoxyzQRS0129_.-";
	char sym[16];
	size_t n = 1 + below(g, 10);
	sym[0] = first[below(g, sizeof first - 1)];
	for (size_t i = 1; i < n; i++)
		sym[i] = rest[below(g, sizeof rest - 1)];
	sym[n] = '\0';
	sb_add(text, sym);
	sb_add(name, sym);
}

static json_t *field_cond(const char *field, json_t *cond)
{
	json_t *o = json_object();
	json_object_set_new(o, field, cond);
	return o;
}

/* A random predicate into text and the JSON it must compile to. */
static json_t *gen_pred(gen *g, sbuf *text, int depth)
{
	static const char *const ops[] = {"=", "==", "!=", "<", "<=", ">", ">="};
	sbuf name = {0};
	json_t *out;
	int kind = (int)below(g, depth > 0 ? 7 : 4);
	sb_add(text, "(");
	gen_maybe_blank(g, text);
	switch (kind) {
	case 0: {  /* comparison */
		const char *op = ops[below(g, 7)];
		sb_add(text, op);
		gen_blank(g, text);
		gen_field(g, text, &name);
		gen_blank(g, text);
		json_t *v = gen_scalar(g, text);
		if (strcmp(op, "=") == 0)
			out = field_cond(name.s, v);
		else
			out = field_cond(name.s, json_pack("{so}", op, v));
		break;
	}
	case 1: {  /* in */
		sb_add(text, "in");
		gen_blank(g, text);
		gen_field(g, text, &name);
		json_t *list = json_array();
		size_t n = 1 + below(g, 5);
		for (size_t i = 0; i < n; i++) {
			gen_blank(g, text);
			json_array_append_new(list, gen_scalar(g, text));
		}
		out = field_cond(name.s, json_pack("{so}", "in", list));
		break;
	}
	case 2:
	case 3: {  /* exists, missing */
		sb_add(text, kind == 2 ? "exists" : "missing");
		gen_blank(g, text);
		gen_field(g, text, &name);
		out = field_cond(name.s, json_pack("{sb}", "exists", kind == 2));
		break;
	}
	case 4: {  /* not */
		sb_add(text, "not");
		gen_blank(g, text);
		out = json_pack("{so}", "$not", gen_pred(g, text, depth - 1));
		break;
	}
	default: {  /* and, or: one operand is the operand itself */
		sb_add(text, kind == 5 ? "and" : "or");
		json_t *list = json_array();
		size_t n = 1 + below(g, 4);
		for (size_t i = 0; i < n; i++) {
			gen_blank(g, text);
			json_array_append_new(list, gen_pred(g, text, depth - 1));
		}
		if (n == 1) {
			out = json_incref(json_array_get(list, 0));
			json_decref(list);
		} else {
			out = json_pack("{so}", kind == 5 ? "$and" : "$or", list);
		}
		break;
	}
	}
	gen_maybe_blank(g, text);
	sb_add(text, ")");
	free(name.s);
	return out;
}

/* A random query; *ts_file gets the like-file name (malloc'd) or NULL. */
static json_t *gen_query(gen *g, sbuf *text, char **ts_file)
{
	enum { C_LIKE, C_FILE, C_WHERE, C_LIMIT, C_SHAPE, C_FIELDS, C_SORT, C_OFFSET, C_AFTER,
	       C_PREFIX, C_N };
	sbuf clause[C_N] = {{0}};
	bool on[C_N] = {false};
	json_t *req = json_object();
	json_t *additional = NULL;
	int form = (int)below(g, 6);
	*ts_file = NULL;

	/* which clauses: the target of searches, then optional ones */
	if (form <= 1) {
		on[below(g, 2) ? C_LIKE : C_FILE] = true;
		on[C_WHERE] = below(g, 2);
		on[C_SHAPE] = below(g, 3) == 0;
		on[C_LIMIT] = form == 1 && below(g, 2);
	} else if (form == 2) {
		on[C_WHERE] = below(g, 4) != 0;
		on[C_FIELDS] = below(g, 2);
		on[C_LIMIT] = below(g, 2);
		on[C_SORT] = below(g, 2);
		on[C_OFFSET] = below(g, 3) == 0;
	} else if (form == 5) {
		on[C_PREFIX] = below(g, 2);
		on[C_AFTER] = below(g, 2);
		on[C_LIMIT] = below(g, 2);
	}

	const char *head = (const char *[]){"top", "within", "select", "get", "info", "list"}[form];
	sb_add(text, "(");
	gen_maybe_blank(g, text);
	sb_add(text, head);
	if (form == 0) {
		long long k = below(g, 4) ? 1 + (long long)below(g, 1000) : LLONG_MAX;
		gen_blank(g, text);
		sb_addf(text, "%lld", k);
		json_object_set_new(req, "k", json_integer(k));
	} else if (form == 1) {
		gen_blank(g, text);
		double r = (double)below(g, 1000) / 64;
		if (below(g, 2)) {
			sb_addf(text, "%lld", (long long)r);
			r = (double)(long long)r;
		} else {
			sb_addf(text, "%.17g%s", r, r == floor(r) ? ".0" : "");
		}
		json_object_set_new(req, "radius", json_real(r));
	} else if (form == 3) {
		sbuf id = {0};
		gen_blank(g, text);
		gen_string(g, text, &id, S_ID);
		json_object_set_new(req, "id", json_stringn(id.s, id.len));
		free(id.s);
	}

	for (int i = 0; i < C_N; i++) {
		if (!on[i])
			continue;
		sbuf *t = &clause[i], v = {0};
		sb_add(t, "(");
		gen_maybe_blank(g, t);
		switch (i) {
		case C_LIKE:
		case C_AFTER:
			sb_add(t, i == C_LIKE ? "like" : "after");
			gen_blank(g, t);
			gen_string(g, t, &v, S_ID);
			json_object_set_new(req, i == C_LIKE ? "id" : "after", json_stringn(v.s, v.len));
			break;
		case C_FILE:
			sb_add(t, "like-file");
			gen_blank(g, t);
			gen_string(g, t, &v, S_FILE);
			*ts_file = strdup(v.s);
			break;
		case C_PREFIX:
			sb_add(t, "prefix");
			gen_blank(g, t);
			gen_string(g, t, &v, S_PREFIX);
			json_object_set_new(req, "prefix", json_stringn(v.s ? v.s : "", v.len));
			break;
		case C_WHERE:
			sb_add(t, "where");
			gen_blank(g, t);
			json_object_set_new(req, form == 2 ? "md" : "where", gen_pred(g, t, 5));
			break;
		case C_LIMIT:
		case C_SHAPE:
		case C_OFFSET: {
			long long n = i == C_SHAPE ? (long long)below(g, 257)
				      : i == C_OFFSET ? (below(g, 4) ? (long long)below(g, 1000) : LLONG_MAX)
				      : 1 + (long long)below(g, 100000);
			const char *name = i == C_LIMIT ? "limit" : i == C_SHAPE ? "shape" : "offset";
			sb_add(t, name);
			gen_blank(g, t);
			sb_addf(t, "%lld", n);
			if (form == 2) {
				if (!additional)
					additional = json_object();
				json_object_set_new(additional, name, json_integer(n));
			} else {
				json_object_set_new(req, i == C_LIMIT ? "limit" : "shape", json_integer(n));
			}
			break;
		}
		case C_FIELDS: {
			sb_add(t, "fields");
			json_t *list = json_array();
			if (below(g, 4) == 0) {
				gen_blank(g, t);
				sb_add(t, "*");
			} else {
				size_t n = 1 + below(g, 4);
				for (size_t j = 0; j < n; j++) {
					gen_blank(g, t);
					gen_field(g, t, &v);
					json_array_append_new(list, json_string(v.s));
				}
			}
			json_object_set_new(req, "fields", list);
			break;
		}
		case C_SORT: {
			sb_add(t, "sort");
			gen_blank(g, t);
			char sign = below(g, 2) ? '-' : '+';
			int style = (int)below(g, 3);  /* bare, signed word, sign then name */
			sbuf name_text = {0};
			gen_field(g, &name_text, &v);
			bool quoted = name_text.s[0] == '"';
			if (style == 0 && !quoted) {
				sign = '+';
			} else if (style == 1 && !quoted) {
				sb_addf(t, "%c", sign);
			} else if (style == 0 && quoted) {
				sign = '+';
			} else {
				sb_addf(t, "%c", sign);
				if (below(g, 2))
					gen_blank(g, t);
			}
			sb_add(t, name_text.s);
			free(name_text.s);
			sbuf key = {0};
			sb_addf(&key, "%c", sign);
			sb_add(&key, v.s);
			if (!additional)
				additional = json_object();
			json_object_set_new(additional, "sort_by", json_string(key.s));
			free(key.s);
			break;
		}
		}
		free(v.s);
		gen_maybe_blank(g, t);
		sb_add(t, ")");
	}
	/* the clauses in a random order */
	int order[C_N];
	for (int i = 0; i < C_N; i++)
		order[i] = i;
	for (int i = C_N - 1; i > 0; i--) {
		int j = (int)below(g, (uint64_t)i + 1), tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (int i = 0; i < C_N; i++) {
		if (!on[order[i]])
			continue;
		if (below(g, 2))
			gen_blank(g, text);
		sb_add(text, clause[order[i]].s);
		free(clause[order[i]].s);
	}
	gen_maybe_blank(g, text);
	sb_add(text, ")");
	if (below(g, 4) == 0)
		gen_blank(g, text);

	static const char *const ops[] = {"with_id", "within", "select", "get", "info", "list"};
	const char *op = form == 0 && on[C_FILE] ? "with_ts" : ops[form];
	json_object_set_new(req, "op", json_string(op));
	if (form == 2) {
		if (!json_object_get(req, "md"))
			json_object_set_new(req, "md", json_object());
		if (!json_object_get(req, "fields"))
			json_object_set_new(req, "fields", json_null());
		json_object_set_new(req, "additional", additional ? additional : json_null());
	}
	return req;
}

/* The invariants of querylang.h for any outcome of any text. */
static int keeps_promises(const char *text, size_t len)
{
	tsdb_ql_result r;
	tsdb_err err = {0};
	if (tsdb_ql_compile(text, len, &r, &err) == 0) {
		const char *op = json_string_value(json_object_get(r.request, "op"));
		static const char *const ops[] = {"with_id", "with_ts", "within", "select", "get",
						  "info", "list"};
		int known = 0;
		for (size_t i = 0; op && i < 7; i++)
			known |= strcmp(op, ops[i]) == 0;
		bool wants_ts = op && (strcmp(op, "with_ts") == 0 ||
				       (strcmp(op, "within") == 0 && !json_object_get(r.request, "id")));
		char *dump = json_dumps(r.request, JSON_COMPACT);
		int ok = known && dump && wants_ts == (r.ts_file != NULL);
		if (!ok)
			printf("# %.200s: broken request %s\n", text, dump ? dump : "(unserializable)");
		free(dump);
		tsdb_ql_result_free(&r);
		return ok;
	}
	size_t line, col;
	int used = 0;
	json_t *as_json = json_string(err.msg);  /* NULL unless valid UTF-8 */
	int ok = sscanf(err.msg, "%zu:%zu: %n", &line, &col, &used) == 2 && used > 0 &&
		 line == r.error_at.line && col == r.error_at.column && r.error_at.offset <= len &&
		 !r.request && !r.ts_file && err.code != TSDB_E_NONE && as_json;
	json_decref(as_json);
	if (!ok)
		printf("# %.200s: bad error %s\n", text, err.msg);
	return ok;
}

static void test_round_trip(void)
{
	gen g;
	tsdb_rng_seed(&g.rng, 20240601);
	int trips = 0, failures = 0, damaged = 0;
	for (int i = 0; i < 5000; i++) {
		sbuf text = {0};
		char *ts_file = NULL;
		json_t *want = gen_query(&g, &text, &ts_file);
		char *want_text = json_dumps(want, JSON_COMPACT);
		if (!compiles_to_n(text.s, text.len, want_text, ts_file)) {
			if (++failures > 5)
				break;
		}
		trips++;
		/* damaged copies: cut short, a byte changed, a byte dropped */
		for (int j = 0; j < 3; j++) {
			size_t at = below(&g, text.len);
			char saved = text.s[at];
			size_t len = text.len;
			if (j == 0)
				len = at;
			else if (j == 1)
				text.s[at] = (char)below(&g, 256);
			else
				memmove(text.s + at, text.s + at + 1, text.len - at), len--;
			CHECK(keeps_promises(text.s, len));
			damaged++;
			if (j == 1)
				text.s[at] = saved;
		}
		free(want_text);
		free(ts_file);
		json_decref(want);
		free(text.s);
	}
	CHECK(failures == 0);
	printf("# %d random queries compiled to the predicted request, %d damaged copies checked\n",
	       trips, damaged);
}

int main(void)
{
	RUN(test_examples);
	RUN(test_doc_errors);
	RUN(test_forms);
	RUN(test_predicates);
	RUN(test_strings);
	RUN(test_lexical_errors);
	RUN(test_errors);
	RUN(test_bounds);
	RUN(test_round_trip);
	return tap_done();
}
