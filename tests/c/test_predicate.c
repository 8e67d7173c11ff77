/*
 * test_predicate.c - metadata filters (predicate.h).
 *
 * Every filter is checked through both matchers: the stored-text path
 * (tsdb_pred_match_text) and json_loadb + tsdb_pred_match_json, which
 * must agree on every input.  The parts:
 *  - the semantics, case by case (missing fields, type mismatches, "!=",
 *    "exists", "$not", "in", integers against reals beyond 2^53,
 *    booleans, string byte order, escapes, duplicate keys, damaged text);
 *  - every refusal, with its status and exact message, and the bounds;
 *  - numbers spelt every way (long mantissas, the overflow boundary)
 *    against strtod;
 *  - a randomized differential test: random filters against random
 *    metadata texts (valid ones written from random objects, with random
 *    spelling, whitespace and duplicates, and damaged ones), where both
 *    matchers must agree with a trivial reference model that interprets
 *    the filter's JSON form directly.
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predicate.h"
#include "rng.h"
#include "tap.h"

/* The request decoder's flags: how a where reaches the compiler. */
#define WHERE_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

static tsdb_pred *compile_text(const char *where, tsdb_err *err)
{
	json_error_t jerr;
	json_t *w = json_loads(where, WHERE_FLAGS, &jerr);
	if (!w) {
		printf("# test bug: where %s does not parse: %s\n", where, jerr.text);
		return NULL;
	}
	tsdb_pred *p = NULL;
	tsdb_err local = {.code = TSDB_E_NONE};
	if (tsdb_pred_compile(w, &p, err ? err : &local) != 0)
		p = NULL;
	json_decref(w);
	return p;
}

/* Both matchers on meta[0..len) (NULL: none); *disagree set if they differ. */
static int match2(const tsdb_pred *p, const char *meta, size_t len, int *disagree)
{
	int by_text = tsdb_pred_match_text(p, meta, len);
	json_t *j = meta ? json_loadb(meta, len, TSDB_PRED_META_JSON_FLAGS, NULL) : NULL;
	int by_json = tsdb_pred_match_json(p, j);
	json_decref(j);
	if (by_text != by_json)
		*disagree = 1;
	return by_text;
}

/* ---- semantics ----------------------------------------------------------- */

struct sem_case {
	const char *where, *meta; /* meta NULL: no metadata */
	int want;
};

#define BIG "9007199254740993"   /* 2^53 + 1, not a double */
#define BIGR "9007199254740992.0" /* 2^53 as a real */
#define DMG "{\"a\":1,\"b\":"      /* a damaged text's start */

static const struct sem_case sem_cases[] = {
	/* {} matches every series, with or without (readable) metadata */
	{"{}", NULL, 1},
	{"{}", "{}", 1},
	{"{}", "{\"a\":1}", 1},
	{"{}", "not json", 1},
	{"{\"$and\":[{}]}", NULL, 1},
	/* equality of strings; only top-level fields */
	{"{\"level\":\"A\"}", "{\"level\":\"A\"}", 1},
	{"{\"level\":\"A\"}", "{\"level\":\"B\"}", 0},
	{"{\"level\":\"A\"}", "{\"level\":\"a\"}", 0},
	{"{\"level\":\"A\"}", "{\"level\":\"A \"}", 0},
	{"{\"level\":\"A\"}", "{\"other\":\"A\"}", 0},
	{"{\"level\":\"A\"}", NULL, 0},
	{"{\"level\":\"A\"}", "{\"level\":[\"A\"]}", 0},
	{"{\"level\":\"A\"}", "{\"x\":{\"level\":\"A\"}}", 0},
	{"{\"level\":\"A\"}", "{\"x\":[{\"level\":\"A\"}],\"y\":\"level\"}", 0},
	{"{\"level\":\"A\"}", "{\"lev\":\"A\",\"levels\":\"A\"}", 0},
	/* numbers: integers and reals alike */
	{"{\"order\":1}", "{\"order\":1}", 1},
	{"{\"order\":1}", "{\"order\":1.0}", 1},
	{"{\"order\":1}", "{\"order\":1e0}", 1},
	{"{\"order\":1}", "{\"order\":10E-1}", 1},
	{"{\"order\":1.0}", "{\"order\":1}", 1},
	{"{\"order\":1}", "{\"order\":1.5}", 0},
	{"{\"order\":1}", "{\"order\":\"1\"}", 0},
	{"{\"order\":1}", "{\"order\":true}", 0},
	{"{\"order\":0}", "{\"order\":-0.0}", 1},
	{"{\"order\":0}", "{\"order\":-0}", 1},
	{"{\"order\":-0.0}", "{\"order\":0}", 1},
	{"{\"order\":100}", "{\"order\":1E+2}", 1},
	{"{\"order\":0.1}", "{\"order\":0.1000000000000000055511151231257827}", 1},
	{"{\"order\":0.1}", "{\"order\":0.10000000000000002}", 0},
	/* beyond 2^53, exactly */
	{"{\"n\":" BIG "}", "{\"n\":" BIGR "}", 0},
	{"{\"n\":" BIGR "}", "{\"n\":" BIG "}", 0},
	{"{\"n\":{\">\":" BIGR "}}", "{\"n\":" BIG "}", 1},
	{"{\"n\":{\"<\":" BIG "}}", "{\"n\":" BIGR "}", 1},
	{"{\"n\":{\">=\":" BIG "}}", "{\"n\":" BIGR "}", 0},
	{"{\"n\":{\"!=\":" BIG "}}", "{\"n\":" BIGR "}", 1},
	{"{\"n\":9007199254740992}", "{\"n\":" BIGR "}", 1},
	{"{\"n\":" BIG "}", "{\"n\":" BIG "}", 1},
	{"{\"n\":{\"!=\":" BIG "}}", "{\"n\":9007199254740992}", 1},
	{"{\"n\":{\"<\":9223372036854775807}}", "{\"n\":9.223372036854775807e18}", 0},
	{"{\"n\":{\">\":9223372036854775807}}", "{\"n\":9.223372036854775807e18}", 1},
	{"{\"n\":{\"<\":9223372036854775807}}", "{\"n\":9223372036854774784.0}", 1},
	{"{\"n\":-9223372036854775808}", "{\"n\":-9.223372036854775808e18}", 1},
	{"{\"n\":{\">\":-9223372036854775808}}", "{\"n\":-9.3e18}", 0},
	{"{\"n\":{\"<\":-9223372036854775808}}", "{\"n\":-9.3e18}", 1},
	{"{\"n\":{\"<\":1e300}}", "{\"n\":9223372036854775807}", 1},
	{"{\"n\":{\">\":0.5}}", "{\"n\":1}", 1},
	{"{\"n\":{\">\":0.5}}", "{\"n\":0}", 0},
	{"{\"n\":{\">\":-0.5}}", "{\"n\":0}", 1},
	{"{\"n\":{\"<\":-0.5}}", "{\"n\":-1}", 1},
	{"{\"n\":{\"<\":-0.5}}", "{\"n\":0}", 0},
	{"{\"n\":{\"<=\":3}}", "{\"n\":3.0000000000000004}", 0},
	{"{\"n\":{\"<=\":3}}", "{\"n\":2.9999999999999996}", 1},
	/* a range: every comparison must hold */
	{"{\"n\":{\">=\":1,\"<\":3}}", "{\"n\":1}", 1},
	{"{\"n\":{\">=\":1,\"<\":3}}", "{\"n\":2.999}", 1},
	{"{\"n\":{\">=\":1,\"<\":3}}", "{\"n\":3}", 0},
	{"{\"n\":{\">=\":1,\"<\":3}}", "{\"n\":0.999}", 0},
	{"{\"n\":{\">=\":1,\"<\":3}}", "{\"n\":\"2\"}", 0},
	/* "!=" needs the field, of the operand's type */
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":\"B\"}", 1},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":\"A\"}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":5}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":false}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":null}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":[\"B\"]}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{\"level\":{}}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", "{}", 0},
	{"{\"level\":{\"!=\":\"A\"}}", NULL, 0},
	{"{\"level\":{\"!=\":5}}", "{\"level\":5.5}", 1},
	{"{\"level\":{\"!=\":5}}", "{\"level\":\"A\"}", 0},
	/* exists */
	{"{\"level\":{\"exists\":true}}", "{\"level\":null}", 1},
	{"{\"level\":{\"exists\":true}}", "{\"level\":[]}", 1},
	{"{\"level\":{\"exists\":true}}", "{}", 0},
	{"{\"level\":{\"exists\":true}}", NULL, 0},
	{"{\"level\":{\"exists\":false}}", "{\"level\":null}", 0},
	{"{\"level\":{\"exists\":false}}", "{}", 1},
	{"{\"level\":{\"exists\":false}}", NULL, 1},
	{"{\"level\":{\"exists\":false}}", "{\"x\":{\"level\":1}}", 1},
	{"{\"level\":{\"exists\":true,\">\":\"A\"}}", "{\"level\":\"B\"}", 1},
	{"{\"level\":{\"exists\":false,\"<\":3}}", "{}", 0},
	/* $not negates a whole P */
	{"{\"$not\":{\"level\":\"A\"}}", "{\"level\":\"A\"}", 0},
	{"{\"$not\":{\"level\":\"A\"}}", "{\"level\":\"B\"}", 1},
	{"{\"$not\":{\"level\":\"A\"}}", "{\"level\":5}", 1},
	{"{\"$not\":{\"level\":\"A\"}}", "{}", 1},
	{"{\"$not\":{\"level\":\"A\"}}", NULL, 1},
	{"{\"$not\":{\"a\":1,\"b\":2}}", "{\"a\":1}", 1},
	{"{\"$not\":{\"a\":1,\"b\":2}}", "{\"a\":1,\"b\":2}", 0},
	{"{\"$not\":{}}", "{}", 0},
	{"{\"$not\":{}}", NULL, 0},
	{"{\"$not\":{\"$not\":{\"a\":1}}}", "{\"a\":1}", 1},
	/* $and, $or, and several members */
	{"{\"$or\":[{\"a\":1},{\"b\":2}]}", "{\"a\":1}", 1},
	{"{\"$or\":[{\"a\":1},{\"b\":2}]}", "{\"b\":2}", 1},
	{"{\"$or\":[{\"a\":1},{\"b\":2}]}", "{\"a\":2,\"b\":1}", 0},
	{"{\"$or\":[{\"a\":1},{}]}", "{\"a\":2}", 1},
	{"{\"$and\":[{\"a\":1},{\"b\":2}]}", "{\"a\":1,\"b\":2}", 1},
	{"{\"$and\":[{\"a\":1},{\"b\":2}]}", "{\"a\":1}", 0},
	{"{\"a\":1,\"b\":2}", "{\"b\":2,\"a\":1}", 1},
	{"{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":3}", 0},
	{"{\"$and\":[{\"a\":{\">\":1}},{\"a\":{\"<\":3}}]}", "{\"a\":2}", 1},
	{"{\"a\":1,\"$or\":[{\"b\":1},{\"c\":1}]}", "{\"a\":1,\"c\":1}", 1},
	{"{\"a\":1,\"$or\":[{\"b\":1},{\"c\":1}]}", "{\"c\":1}", 0},
	/* in: one of, mixed types */
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":\"R\"}", 1},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":1}", 1},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":1.0}", 1},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":true}", 1},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":false}", 0},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":\"1\"}", 0},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":\"B\"}", 0},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{\"band\":null}", 0},
	{"{\"band\":{\"in\":[\"V\",\"R\",1,true]}}", "{}", 0},
	{"{\"band\":{\"in\":[" BIG "]}}", "{\"band\":" BIGR "}", 0},
	{"{\"band\":{\"in\":[]}}", "{\"band\":\"R\"}", 0},
	{"{\"band\":{\"in\":[]}}", NULL, 0},
	/* booleans: equality only, and only with booleans */
	{"{\"flag\":true}", "{\"flag\":true}", 1},
	{"{\"flag\":true}", "{\"flag\":false}", 0},
	{"{\"flag\":true}", "{\"flag\":1}", 0},
	{"{\"flag\":true}", "{\"flag\":\"true\"}", 0},
	{"{\"flag\":{\"==\":false}}", "{\"flag\":false}", 1},
	{"{\"flag\":{\"!=\":true}}", "{\"flag\":false}", 1},
	{"{\"flag\":{\"!=\":true}}", "{\"flag\":true}", 0},
	{"{\"flag\":{\"!=\":true}}", "{\"flag\":0}", 0},
	{"{\"flag\":{\"!=\":true}}", "{}", 0},
	{"{\"n\":1}", "{\"n\":true}", 0},
	/* strings by their bytes: a prefix first, uppercase before lowercase */
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":\"ab\"}", 1},
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":\"abc\"}", 0},
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":\"abd\"}", 0},
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":\"\"}", 1},
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":\"B\"}", 1},
	{"{\"s\":{\"<=\":\"abc\"}}", "{\"s\":\"abc\"}", 1},
	{"{\"s\":{\">\":\"abc\"}}", "{\"s\":\"abcd\"}", 1},
	{"{\"s\":{\">\":\"z\"}}", "{\"s\":\"\xc3\xa9\"}", 1},
	{"{\"s\":{\">\":\"z\"}}", "{\"s\":\"\\u00e9\"}", 1},
	{"{\"s\":{\">\":\"\xc3\xa9\"}}", "{\"s\":\"\xf0\x9f\x98\x80\"}", 1},
	{"{\"s\":{\"<\":\"\xc3\xa9\"}}", "{\"s\":\"e\\u0301\"}", 1},
	{"{\"s\":{\"<\":\"abc\"}}", "{\"s\":1}", 0},
	{"{\"s\":{\"<\":5}}", "{\"s\":\"4\"}", 0},
	/* escapes decode before comparing */
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"caf\\u00e9\"}", 1},
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"caf\\u00E9\"}", 1},
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"caf\xc3\xa9\"}", 1},
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"cafe\\u0301\"}", 0},
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"caf\\u00e9 \"}", 0},
	{"{\"s\":\"caf\xc3\xa9\"}", "{\"s\":\"caf\"}", 0},
	{"{\"s\":\"\xf0\x9f\x98\x80\"}", "{\"s\":\"\\ud83d\\ude00\"}", 1},
	{"{\"s\":\"\xf0\x9f\x98\x80\"}", "{\"s\":\"\\uD83D\\uDE00\"}", 1},
	{"{\"s\":\"a\\\"b\"}", "{\"s\":\"a\\\"b\"}", 1},
	{"{\"s\":\"a\\\"b\"}", "{\"s\":\"a\\u0022b\"}", 1},
	{"{\"s\":\"a/b\"}", "{\"s\":\"a\\/b\"}", 1},
	{"{\"s\":\"a\\\\b\"}", "{\"s\":\"a\\\\b\"}", 1},
	{"{\"s\":\"t\\tx\\n\"}", "{\"s\":\"t\\u0009x\\u000A\"}", 1},
	{"{\"s\":\"\\b\\f\\r\"}", "{\"s\":\"\\b\\f\\r\"}", 1},
	{"{\"s\":{\">=\":\"ab\"}}", "{\"s\":\"a\\u0062c\"}", 1},
	{"{\"s\":{\">=\":\"ab\"}}", "{\"s\":\"\\u0061\"}", 0},
	{"{\"s\":{\">\":\"a\"}}", "{\"s\":\"\\u0061\"}", 0},
	{"{\"s\":{\"in\":[\"x\",\"caf\xc3\xa9\"]}}", "{\"s\":\"caf\\u00e9\"}", 1},
	/* keys decode too */
	{"{\"level\":\"A\"}", "{\"l\\u0065vel\":\"A\"}", 1},
	{"{\"\xc3\xa9\":1}", "{\"\\u00e9\":1}", 1},
	{"{\"k\\\"q\":1}", "{\"k\\\"q\":1}", 1},
	{"{\"k\\\"q\":1}", "{\"k\\u0022q\":1}", 1},
	{"{\"x y\":1}", "{\"x\\u0020y\":1}", 1},
	/* duplicate keys: the last value counts, as jansson keeps it */
	{"{\"a\":1}", "{\"a\":1,\"a\":2}", 0},
	{"{\"a\":2}", "{\"a\":1,\"a\":2}", 1},
	{"{\"a\":1}", "{\"a\":1,\"a\":[1]}", 0},
	{"{\"a\":1}", "{\"a\":{},\"a\":1}", 1},
	{"{\"a\":1}", "{\"\\u0061\":2,\"a\":1}", 1},
	{"{\"a\":1}", "{\"a\":1,\"\\u0061\":2}", 0},
	{"{\"a\":{\"exists\":true}}", "{\"a\":1,\"a\":null}", 1},
	/* whitespace anywhere between tokens */
	{"{\"a\":1}", " \t\r\n{ \"a\" :\n1 ,\"b\"\t: [ 1 , { } ] } \n", 1},
	/* \u0000 in a value is allowed (JSON_ALLOW_NUL), and compared as a byte */
	{"{\"a\":1}", "{\"a\":1,\"b\":\"x\\u0000y\"}", 1},
	{"{\"s\":\"x\\u0000y\"}", "{\"s\":\"x\\u0000y\"}", 1},
	{"{\"s\":\"x\\u0000y\"}", "{\"s\":\"x\"}", 0},
	{"{\"s\":{\">\":\"x\"}}", "{\"s\":\"x\\u0000\"}", 1},
	/* integers: json_int_t's range; beyond it jansson refuses the text */
	{"{\"a\":1}", "{\"a\":1,\"b\":9223372036854775807}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":-9223372036854775808}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":9223372036854775808}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":-9223372036854775809}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":[{\"c\":100000000000000000000}]}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":10000000000000000000}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":18446744073709551616}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":18446744073709551617}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":-18446744073709551616}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":184467440737095516160}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":18446744073709551616.0}", 1},
	{"{\"b\":9223372036854775807}", "{\"b\":9223372036854775807}", 1},
	{"{\"b\":-9223372036854775807}", "{\"b\":-9223372036854775807}", 1},
	/* reals: overflow refuses the text, underflow is 0 */
	{"{\"a\":1}", "{\"a\":1,\"b\":1.7976931348623157e308}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":1.7976931348623158e308}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":1.7976931348623159e308}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":-1e309}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":[1e400]}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":1e-400}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":0e99999999999999999999}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":0.0000e+0000}", 1},
	{"{\"b\":1.7976931348623157e308}", "{\"b\":1.7976931348623158e308}", 1},
	{"{\"b\":0}", "{\"b\":1e-400}", 1},
	{"{\"b\":0}", "{\"b\":-1e-400}", 1},
	{"{\"b\":5e-324}", "{\"b\":2.4703282292062328e-324}", 1},
	{"{\"b\":0}", "{\"b\":2.4703282292062327e-324}", 1},
	/* damaged, or not an object: no metadata */
	{"{\"a\":1}", "{\"a\":1", 0},
	{"{\"a\":{\"exists\":false}}", "{\"a\":1", 1},
	{"{\"a\":{\"exists\":false}}", "{\"a\":1,}", 1},
	{"{\"a\":{\"exists\":false}}", "{\"a\":1}x", 1},
	{"{\"a\":{\"exists\":false}}", "{\"a\":1}{}", 1},
	{"{\"a\":{\"exists\":false}}", "[{\"a\":1}]", 1},
	{"{\"a\":{\"exists\":false}}", "\"a\"", 1},
	{"{\"a\":{\"exists\":false}}", "", 1},
	{"{\"a\":{\"exists\":false}}", "   ", 1},
	{"{\"a\":{\"exists\":false}}", "\xef\xbb\xbf{\"a\":1}", 1},
	{"{\"$not\":{\"a\":1}}", "{\"a\":1,\"b\":\"\\ud800\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\ud800\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\udc00\\ud800\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\ud800\\u0041\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\ud800\\ud800\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\ud800\\\\udc00\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\udc00x\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"x\\udfff\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\udbff\\udfff\"}", 1},
	{"{\"s\":\"\xf4\x8f\xbf\xbf\"}", "{\"s\":\"\\udbff\\udfff\"}", 1},
	{"{\"s\":\"\xf0\x90\x80\x80\"}", "{\"s\":\"\\ud800\\udc00\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\u00e\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\u00eg\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\U00e9\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\\x\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xc3\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xc0\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xc1\xbf\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xc2\x80\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xe0\x9f\xbf\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xe0\xa0\x80\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xed\x9f\xbf\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xee\x80\x80\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xf0\x8f\xbf\xbf\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xf4\x8f\xbf\xbf\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xf5\x80\x80\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xe2\x82\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xe2\x82", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xe2\x28\xa1\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\xc3\xa9}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xed\xa0\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xf4\x90\x80\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\xf0\x80\x80\x80\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"\x7f\"}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":\"tab\there\"}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\\u0000\":2}", 0},
	{"{\"a\":1}", "{\"a\":1,\"b\":{\"\\u0000\":2}}", 0},
	{"{\"a\":1}", DMG "[1,2}", 0},
	{"{\"a\":1}", DMG "{\"c\"}}", 0},
	{"{\"a\":1}", DMG "{\"c\":}}", 0},
	{"{\"a\":1}", DMG "{1:2}}", 0},
	{"{\"a\":1}", DMG "tru}", 0},
	{"{\"a\":1}", DMG "True}", 0},
	{"{\"a\":1}", DMG "nulll}", 0},
	{"{\"a\":1}", DMG "01}", 0},
	{"{\"a\":1}", DMG "-01}", 0},
	{"{\"a\":1}", DMG "1.}", 0},
	{"{\"a\":1}", DMG ".5}", 0},
	{"{\"a\":1}", DMG "+1}", 0},
	{"{\"a\":1}", DMG "1e}", 0},
	{"{\"a\":1}", DMG "1e+}", 0},
	{"{\"a\":1}", DMG "-}", 0},
	{"{\"a\":1}", DMG "0x1}", 0},
	{"{\"a\":1}", DMG "NaN}", 0},
	{"{\"a\":1}", DMG "Infinity}", 0},
	{"{\"a\":1}", DMG "'x'}", 0},
	{"{\"a\":1}", DMG "1 2}", 0},
	{"{\"a\":1}", DMG "1true}", 0},
	{"{\"a\":1}", DMG "\"x\"\"y\"}", 0},
	{"{\"a\":1}", DMG "[1,]}", 0},
	{"{\"a\":1}", DMG "[,1]}", 0},
	{"{\"a\":1}", DMG "1}}", 0},
	{"{\"a\":1}", DMG "1]", 0},
	{"{\"a\":1}", DMG "1,}", 0},
	{"{\"a\":1}", DMG "1\f}", 0},
	{"{\"a\":1}", DMG "1 /*c*/}", 0},
	{"{\"a\":1}", DMG "1.5e3}", 1},
	{"{\"a\":1}", DMG "-0.0E-0}", 1},
	{"{\"a\":1}", "{\"a\":1,\"b\":[[[[{\"c\":[{}]}]]]]}", 1},
};

static void test_semantics(void)
{
	size_t n = sizeof sem_cases / sizeof sem_cases[0];
	for (size_t k = 0; k < n; k++) {
		const struct sem_case *c = &sem_cases[k];
		tsdb_err err;
		tsdb_pred *p = compile_text(c->where, &err);
		CHECKF(p, "%s: %s", c->where, err.msg);
		if (!p)
			continue;
		int disagree = 0;
		int got = match2(p, c->meta, c->meta ? strlen(c->meta) : 0, &disagree);
		CHECKF(!disagree, "where %s, meta %s: text and json paths disagree", c->where,
		       c->meta ? c->meta : "(none)");
		CHECKF(got == c->want, "where %s, meta %s: got %d, want %d", c->where,
		       c->meta ? c->meta : "(none)", got, c->want);
		tsdb_pred_free(p);
	}
	printf("# %zu semantic cases\n", n);
}

/* Texts holding NUL bytes: jansson drops one NUL right after a number or
 * a literal (its lexer puts the byte back and loses it), and refuses
 * every other. */
static void test_nul_bytes(void)
{
	static const struct {
		const char *text;
		size_t len;
		int exists_a, a_is_1;
	} cases[] = {
#define T(s, e, one) {s, sizeof s - 1, e, one}
		T("{\"a\":1\0}", 1, 1),
		T("{\"a\":1\0\0}", 0, 0),
		T("{\"a\":1\0,\"b\":2}", 1, 1),
		T("{\"a\":1\0 }", 1, 1),
		T("{\"a\":1 \0}", 0, 0),
		T("{\"a\":1.5\0}", 1, 0),
		T("{\"a\":1e0\0}", 1, 1),
		T("{\"a\":-0\0}", 1, 0),
		T("{\"a\":true\0}", 1, 0),
		T("{\"a\":null\0}", 1, 0),
		T("{\"a\":\"x\"\0}", 0, 0),
		T("{\"a\":[]\0}", 0, 0),
		T("{\"a\":{}\0}", 0, 0),
		T("{\"a\":[1\0]}", 1, 0),
		T("{\"a\"\0:1}", 0, 0),
		T("{\0\"a\":1}", 0, 0),
		T("{\"a\":1}\0", 0, 0),
		T("\0{\"a\":1}", 0, 0),
		T("{\"a\":\"\0\"}", 0, 0),
		T("{\"a\":1,\"b\":tru\0e}", 0, 0),
		T("{\"a\":1\0\"b\":2}", 0, 0),
#undef T
	};
	tsdb_pred *exists = compile_text("{\"a\":{\"exists\":true}}", NULL);
	tsdb_pred *one = compile_text("{\"a\":1}", NULL);
	REQUIRE(exists && one);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		int disagree = 0;
		int e = match2(exists, cases[k].text, cases[k].len, &disagree);
		int o = match2(one, cases[k].text, cases[k].len, &disagree);
		CHECKF(!disagree, "NUL case %zu: the paths disagree", k);
		CHECKF(e == cases[k].exists_a && o == cases[k].a_is_1, "NUL case %zu: exists %d, a==1 %d",
		       k, e, o);
	}
	tsdb_pred_free(exists);
	tsdb_pred_free(one);
}

/* jansson counts the depth of every value, scalars included, up to
 * JSON_PARSER_MAX_DEPTH; deeper text is refused, and skipping it must
 * not recurse. */
static void test_meta_depth(void)
{
	tsdb_pred *exists = compile_text("{\"a\":{\"exists\":true}}", NULL);
	REQUIRE(exists);
	size_t cap = 2 * 200000 + 64;
	char *buf = malloc(cap);
	REQUIRE(buf);
	static const size_t depths[] = {2046, 2047, 2048, 2049, 200000};
	for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++)
		for (int with_scalar = 0; with_scalar < 2; with_scalar++) {
			/* {"a":1,"b":[[...[1]...]]}: the object and depths[d] - 1 arrays */
			size_t n = (size_t)sprintf(buf, "{\"a\":1,\"b\":");
			for (size_t k = 1; k < depths[d]; k++)
				buf[n++] = '[';
			if (with_scalar)
				buf[n++] = '7';
			for (size_t k = 1; k < depths[d]; k++)
				buf[n++] = ']';
			buf[n++] = '}';
			size_t containers = depths[d];
			int valid = containers + (size_t)with_scalar <= JSON_PARSER_MAX_DEPTH;
			int disagree = 0;
			int got = match2(exists, buf, n, &disagree);
			CHECKF(!disagree, "depth %zu%s: the paths disagree", containers,
			       with_scalar ? " with a scalar" : "");
			CHECKF(got == valid, "depth %zu%s: got %d", containers,
			       with_scalar ? " with a scalar" : "", got);
		}
	free(buf);
	tsdb_pred_free(exists);
}

/* The compiled predicate's other answers. */
static void test_planner(void)
{
	tsdb_pred *p = compile_text(
		"{\"b\":1,\"ab\":1,\"a\":{\"<\":2,\">\":0},\"$or\":[{\"c\":1},{\"a\":3}],"
		"\"$not\":{\"\xc3\xa9\":{\"exists\":true}}}",
		NULL);
	REQUIRE(p);
	static const char *const want[] = {"a", "ab", "b", "c", "\xc3\xa9"};
	CHECK(tsdb_pred_field_count(p) == 5);
	for (size_t k = 0; k < 5 && k < tsdb_pred_field_count(p); k++) {
		size_t len = 0;
		const char *f = tsdb_pred_field(p, k, &len);
		CHECKF(f && len == strlen(want[k]) && strcmp(f, want[k]) == 0, "field %zu is %s", k,
		       f ? f : "NULL");
	}
	CHECK(tsdb_pred_field(p, 5, NULL) == NULL);
	CHECK(!tsdb_pred_always_true(p) && !tsdb_pred_always_false(p));
	tsdb_pred_free(p);

	static const struct {
		const char *where;
		int always_true, always_false;
	} constants[] = {
		{"{}", 1, 0},
		{"{\"$and\":[{}]}", 1, 0},
		{"{\"$or\":[{},{\"$not\":{}}]}", 1, 0},
		{"{\"$not\":{\"$not\":{}}}", 1, 0},
		{"{\"$not\":{}}", 0, 1},
		{"{\"$and\":[{},{\"$not\":{}}]}", 0, 1},
		{"{\"a\":{\"exists\":false}}", 0, 0},
		{"{\"$or\":[{},{\"a\":1}]}", 0, 0},
	};
	for (size_t k = 0; k < sizeof constants / sizeof constants[0]; k++) {
		p = compile_text(constants[k].where, NULL);
		CHECK(p);
		if (!p)
			continue;
		CHECKF(tsdb_pred_always_true(p) == constants[k].always_true &&
			       tsdb_pred_always_false(p) == constants[k].always_false,
		       "%s", constants[k].where);
		if (tsdb_pred_always_true(p) || tsdb_pred_always_false(p)) {
			CHECK(tsdb_pred_field_count(p) == 0);
			int want_match = tsdb_pred_always_true(p), disagree = 0;
			CHECK(match2(p, NULL, 0, &disagree) == want_match);
			CHECK(match2(p, "{\"a\":1}", 7, &disagree) == want_match);
			CHECK(match2(p, "{\"a\"", 4, &disagree) == want_match);
			CHECK(!disagree);
		}
		tsdb_pred_free(p);
	}

	/* tsdb_pred_match_json: anything but an object is no metadata */
	p = compile_text("{\"a\":{\"exists\":false}}", NULL);
	REQUIRE(p);
	json_t *arr = json_pack("[i]", 1);
	CHECK(tsdb_pred_match_json(p, arr) == 1);
	CHECK(tsdb_pred_match_json(p, NULL) == 1);
	CHECK(tsdb_pred_match_text(p, "", 0) == 1);
	CHECK(tsdb_pred_match_text(p, "{\"a\":1}", 0) == 1); /* len counts, not the NUL */
	json_decref(arr);
	tsdb_pred_free(p);
	tsdb_pred_free(NULL);
}

/* ---- refusals and bounds ------------------------------------------------- */

static const struct {
	const char *where;
	enum tsdb_errcode code;
	const char *msg;
} refusals[] = {
	{"[]", TSDB_E_INVALID_ARG, "where: must be an object, not an array"},
	{"3", TSDB_E_INVALID_ARG, "where: must be an object, not 3"},
	{"null", TSDB_E_INVALID_ARG, "where: must be an object, not null"},
	{"\"a\"", TSDB_E_INVALID_ARG, "where: must be an object, not a string"},
	{"{\"order\":{\"=~\":1}}", TSDB_E_INVALID_ARG, "where.order: unknown operator \"=~\""},
	{"{\"order\":{\"<\":1,\"=\":2}}", TSDB_E_INVALID_ARG, "where.order: unknown operator \"=\""},
	{"{\"order\":{\"$in\":[1]}}", TSDB_E_INVALID_ARG, "where.order: unknown operator \"$in\""},
	{"{\"order\":{\"IN\":[1]}}", TSDB_E_INVALID_ARG, "where.order: unknown operator \"IN\""},
	{"{\"$or\":[{\"a\":1},{\"b\":1},{\"level\":{\"<\":true}}]}", TSDB_E_INVALID_ARG,
	 "where.$or[2].level: \"<\" needs a number or a string, not true"},
	{"{\"level\":{\">=\":false}}", TSDB_E_INVALID_ARG,
	 "where.level: \">=\" needs a number or a string, not false"},
	{"{\"level\":{\"<=\":null}}", TSDB_E_INVALID_ARG,
	 "where.level: \"<=\" needs a number or a string, not null"},
	{"{\"level\":{\">\":[1]}}", TSDB_E_INVALID_ARG,
	 "where.level: \">\" needs a number or a string, not an array"},
	{"{\"level\":{\"==\":null}}", TSDB_E_INVALID_ARG,
	 "where.level: \"==\" needs a number, a string or a boolean, not null"},
	{"{\"level\":{\"!=\":{}}}", TSDB_E_INVALID_ARG,
	 "where.level: \"!=\" needs a number, a string or a boolean, not an object"},
	{"{\"level\":null}", TSDB_E_INVALID_ARG,
	 "where.level: null is not a condition (a missing field is {\"exists\": false})"},
	{"{\"level\":[1]}", TSDB_E_INVALID_ARG,
	 "where.level: an array is not a condition (one of several values is {\"in\": [...]})"},
	{"{\"level\":{}}", TSDB_E_INVALID_ARG,
	 "where.level: an empty condition (give an operator, \"in\" or \"exists\")"},
	{"{\"level\":{\"in\":\"A\"}}", TSDB_E_INVALID_ARG,
	 "where.level: \"in\" needs an array of numbers, strings and booleans, not a string"},
	{"{\"level\":{\"in\":[\"A\",null]}}", TSDB_E_INVALID_ARG,
	 "where.level.in[1]: must be a number, a string or a boolean, not null"},
	{"{\"level\":{\"in\":[[1]]}}", TSDB_E_INVALID_ARG,
	 "where.level.in[0]: must be a number, a string or a boolean, not an array"},
	{"{\"level\":{\"in\":[1,{}]}}", TSDB_E_INVALID_ARG,
	 "where.level.in[1]: must be a number, a string or a boolean, not an object"},
	{"{\"level\":{\"exists\":1}}", TSDB_E_INVALID_ARG,
	 "where.level: \"exists\" needs true or false, not 1"},
	{"{\"level\":{\"exists\":\"yes\"}}", TSDB_E_INVALID_ARG,
	 "where.level: \"exists\" needs true or false, not a string"},
	{"{\"level\":{\"exists\":null}}", TSDB_E_INVALID_ARG,
	 "where.level: \"exists\" needs true or false, not null"},
	{"{\"$and\":[]}", TSDB_E_INVALID_ARG, "where.$and: must hold at least one predicate"},
	{"{\"$or\":[]}", TSDB_E_INVALID_ARG, "where.$or: must hold at least one predicate"},
	{"{\"$or\":{}}", TSDB_E_INVALID_ARG, "where.$or: must be an array of predicates, not an object"},
	{"{\"$and\":{\"a\":1}}", TSDB_E_INVALID_ARG,
	 "where.$and: must be an array of predicates, not an object"},
	{"{\"$or\":[1]}", TSDB_E_INVALID_ARG, "where.$or[0]: must be an object, not 1"},
	{"{\"$or\":[{},[]]}", TSDB_E_INVALID_ARG, "where.$or[1]: must be an object, not an array"},
	{"{\"$not\":[]}", TSDB_E_INVALID_ARG, "where.$not: must be an object, not an array"},
	{"{\"$not\":true}", TSDB_E_INVALID_ARG, "where.$not: must be an object, not true"},
	{"{\"$nor\":[]}", TSDB_E_INVALID_ARG,
	 "where.$nor: unknown operator \"$nor\" (there are $and, $or and $not; a field whose name "
	 "starts with \"$\" cannot be filtered on)"},
	{"{\"$x\":1}", TSDB_E_INVALID_ARG,
	 "where.$x: unknown operator \"$x\" (there are $and, $or and $not; a field whose name "
	 "starts with \"$\" cannot be filtered on)"},
	{"{\"$\":1}", TSDB_E_INVALID_ARG,
	 "where.$: unknown operator \"$\" (there are $and, $or and $not; a field whose name "
	 "starts with \"$\" cannot be filtered on)"},
	{"{\"$AND\":[{}]}", TSDB_E_INVALID_ARG,
	 "where.$AND: unknown operator \"$AND\" (there are $and, $or and $not; a field whose name "
	 "starts with \"$\" cannot be filtered on)"},
	{"{\"\":1}", TSDB_E_INVALID_ARG, "where.\"\": a field name must not be empty"},
	{"{\"$not\":{\"$not\":{\"a\":{\"<\":null}}}}", TSDB_E_INVALID_ARG,
	 "where.$not.$not.a: \"<\" needs a number or a string, not null"},
	{"{\"$and\":[{\"a\":1},{\"$or\":[]}]}", TSDB_E_INVALID_ARG,
	 "where.$and[1].$or: must hold at least one predicate"},
	{"{\"a\":{\"in\":[1,2],\"exists\":\"x\"}}", TSDB_E_INVALID_ARG,
	 "where.a: \"exists\" needs true or false, not a string"},
	{"{\"\xc3\xa9t\xc3\xa9\":{\"=~\":1}}", TSDB_E_INVALID_ARG,
	 "where.\xc3\xa9t\xc3\xa9: unknown operator \"=~\""},
	{"{\"a\\u0001b\":{\"=~\":1}}", TSDB_E_INVALID_ARG, "where.a?b: unknown operator \"=~\""},
	{"{\"a\":1,\"b\":{\"<\":[]}}", TSDB_E_INVALID_ARG,
	 "where.b: \"<\" needs a number or a string, not an array"},
};

static int refused_with(const json_t *w, const char *name, enum tsdb_errcode code, const char *msg)
{
	tsdb_pred *p = (tsdb_pred *)1;
	tsdb_err err = {.code = TSDB_E_NONE};
	int rc = name ? tsdb_pred_compile_named(w, name, &p, &err) : tsdb_pred_compile(w, &p, &err);
	if (rc != -1 || p != NULL) {
		printf("# compiled, expected: %s\n", msg);
		if (rc == 0)
			tsdb_pred_free(p);
		return 0;
	}
	if (err.code != code || (msg && strcmp(err.msg, msg) != 0)) {
		printf("# code %d message: %s\n#   expected code %d: %s\n", err.code, err.msg, code,
		       msg ? msg : "(any)");
		return 0;
	}
	return 1;
}

static void test_refusals(void)
{
	for (size_t k = 0; k < sizeof refusals / sizeof refusals[0]; k++) {
		json_error_t jerr;
		json_t *w = json_loads(refusals[k].where, WHERE_FLAGS, &jerr);
		CHECKF(w, "%s: %s", refusals[k].where, jerr.text);
		CHECKF(refused_with(w, NULL, refusals[k].code, refusals[k].msg), "%s", refusals[k].where);
		json_decref(w);
	}
	/* no where at all */
	CHECK(refused_with(NULL, NULL, TSDB_E_INVALID_ARG, "where: must be an object, not nothing"));
	/* select's name for its filter */
	json_t *w = json_pack("{s:n}", "x");
	CHECK(refused_with(w, "md", TSDB_E_INVALID_ARG,
			   "md.x: null is not a condition (a missing field is {\"exists\": false})"));
	json_decref(w);
	/* keys that a parse cannot make but the API can: a NUL in a field name */
	w = json_object();
	json_object_setn_new(w, "a\0b", 3, json_integer(1));
	CHECK(refused_with(w, NULL, TSDB_E_INVALID_ARG,
			   "where.a?b: a field name must not hold a NUL byte"));
	json_decref(w);
	/* and in an operator's name */
	json_t *cond = json_object();
	json_object_setn_new(cond, "in\0", 3, json_integer(1));
	w = json_pack("{s:o}", "a", cond);
	CHECK(refused_with(w, NULL, TSDB_E_INVALID_ARG, "where.a: unknown operator \"in?\""));
	json_decref(w);
	cond = json_object();
	json_object_setn_new(cond, "\xc3\xa9\0\x01", 4, json_integer(1));
	w = json_pack("{s:o}", "a", cond);
	CHECK(refused_with(w, NULL, TSDB_E_INVALID_ARG, "where.a: unknown operator \"\xc3\xa9??\""));
	json_decref(w);
	printf("# %zu refusals\n", sizeof refusals / sizeof refusals[0] + 5);
}

/* {"$not": {"$not": ... {leaf} ...}}, levels predicates deep in all. */
static json_t *nested_not(int levels, json_t *leaf)
{
	json_t *p = leaf;
	for (int k = 1; k < levels; k++)
		p = json_pack("{s:o}", "$not", p);
	return p;
}

static json_t *nested_and(int levels)
{
	json_t *p = json_pack("{s:i}", "a", 1);
	for (int k = 1; k < levels; k++)
		p = json_pack("{s:[o]}", "$and", p);
	return p;
}

static int compiles(const json_t *w)
{
	tsdb_pred *p = NULL;
	tsdb_err err = {.code = TSDB_E_NONE};
	if (tsdb_pred_compile(w, &p, &err) != 0) {
		printf("# refused: %s\n", err.msg);
		return 0;
	}
	tsdb_pred_free(p);
	return 1;
}

static void test_bounds(void)
{
	char msg[1024];
	/* depth: 32 predicates nested, not 33 */
	json_t *w = nested_not(TSDB_PRED_MAX_DEPTH, json_pack("{s:i}", "a", 1));
	CHECK(compiles(w));
	json_decref(w);
	w = nested_not(TSDB_PRED_MAX_DEPTH + 1, json_object());
	size_t n = (size_t)snprintf(msg, sizeof msg, "where");
	for (int k = 0; k < TSDB_PRED_MAX_DEPTH; k++)
		n += (size_t)snprintf(msg + n, sizeof msg - n, ".$not");
	snprintf(msg + n, sizeof msg - n, ": nests deeper than %d levels", TSDB_PRED_MAX_DEPTH);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, msg));
	json_decref(w);
	w = nested_and(TSDB_PRED_MAX_DEPTH);
	CHECK(compiles(w));
	json_decref(w);
	w = nested_and(TSDB_PRED_MAX_DEPTH + 1);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, NULL));
	json_decref(w);
	/* refused before recursing that deep (jansson's own free recurses,
	 * so the test stays at a depth its stack affords) */
	w = nested_not(5000, json_object());
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, NULL));
	json_decref(w);

	/* conditions: 1024 fields, not 1025 */
	char key[32];
	w = json_object();
	for (int k = 0; k < TSDB_PRED_MAX_CONDITIONS; k++) {
		snprintf(key, sizeof key, "f%d", k);
		json_object_set_new(w, key, json_integer(k));
	}
	CHECK(compiles(w));
	json_object_set_new(w, "last", json_integer(0));
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.last: more than 1024 conditions"));
	json_decref(w);
	/* each $or element counts, even an empty one */
	json_t *list = json_array();
	for (int k = 0; k < TSDB_PRED_MAX_CONDITIONS; k++)
		json_array_append_new(list, json_object());
	w = json_pack("{s:O}", "$or", list);
	CHECK(compiles(w));
	json_decref(w);
	json_array_append_new(list, json_object());
	w = json_pack("{s:O}", "$or", list);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.$or[1024]: more than 1024 conditions"));
	json_decref(w);
	json_decref(list);
	/* 512 elements of one comparison each: 1024 */
	list = json_array();
	for (int k = 0; k < TSDB_PRED_MAX_CONDITIONS / 2; k++)
		json_array_append_new(list, json_pack("{s:i}", "a", k));
	w = json_pack("{s:O}", "$or", list);
	CHECK(compiles(w));
	json_decref(w);
	json_array_append_new(list, json_pack("{s:i}", "a", -1));
	w = json_pack("{s:O}", "$or", list);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.$or[512]: more than 1024 conditions"));
	json_decref(w);
	json_decref(list);
	/* every $not counts */
	w = json_pack("{s:[]}", "$and");
	for (int k = 0; k < TSDB_PRED_MAX_CONDITIONS / 2; k++)
		json_array_append_new(json_object_get(w, "$and"), json_pack("{s:{}}", "$not"));
	CHECK(compiles(w)); /* 512 elements + 512 $not */
	json_array_append_new(json_object_get(w, "$and"), json_object());
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.$and[512]: more than 1024 conditions"));
	json_decref(w);

	/* an "in" of 1024 values, not 1025; a huge one is refused at once */
	list = json_array();
	for (int k = 0; k < TSDB_PRED_MAX_IN; k++)
		json_array_append_new(list, json_integer(k));
	w = json_pack("{s:{s:O}}", "a", "in", list);
	CHECK(compiles(w));
	json_decref(w);
	json_array_append_new(list, json_integer(-1));
	w = json_pack("{s:{s:O}}", "a", "in", list);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.a: \"in\" has 1025 values (max 1024)"));
	json_decref(w);
	json_decref(list);
	list = json_array();
	for (int k = 0; k < 1000000; k++)
		json_array_append_new(list, json_true());
	w = json_pack("{s:{s:o}}", "a", "in", list);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.a: \"in\" has 1000000 values (max 1024)"));
	json_decref(w);

	/* 4096 values in all: four full lists, then one more value */
	list = json_array();
	for (int k = 0; k < TSDB_PRED_MAX_IN; k++)
		json_array_append_new(list, json_integer(k));
	w = json_pack("{s:{s:O},s:{s:O},s:{s:O},s:{s:O}}", "a", "in", list, "b", "in", list, "c", "in",
		      list, "d", "in", list);
	CHECK(compiles(w));
	json_object_set_new(w, "e", json_pack("{s:[]}", "in")); /* no values: fine */
	CHECK(compiles(w));
	json_object_set_new(w, "z", json_integer(1));
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.z: more than 4096 values in all"));
	json_decref(w);
	json_decref(list);

	/* field names of 1..255 bytes */
	char name[TSDB_PRED_MAX_FIELD + 2];
	memset(name, 'n', sizeof name);
	name[TSDB_PRED_MAX_FIELD] = '\0';
	w = json_pack("{s:i}", name, 1);
	CHECK(compiles(w));
	json_decref(w);
	name[TSDB_PRED_MAX_FIELD] = 'n';
	name[TSDB_PRED_MAX_FIELD + 1] = '\0';
	w = json_pack("{s:i}", name, 1);
	snprintf(msg, sizeof msg, "where.%.64s...: a field name of 256 bytes (max 255)", name);
	CHECK(refused_with(w, NULL, TSDB_E_INVALID_ARG, msg));
	json_decref(w);

	/* string operands of at most 4096 bytes, in lists too */
	char *s = malloc(TSDB_PRED_MAX_STRING + 2);
	REQUIRE(s);
	memset(s, 'x', TSDB_PRED_MAX_STRING + 1);
	s[TSDB_PRED_MAX_STRING] = '\0';
	w = json_pack("{s:s}", "a", s);
	CHECK(compiles(w));
	json_decref(w);
	s[TSDB_PRED_MAX_STRING] = 'x';
	s[TSDB_PRED_MAX_STRING + 1] = '\0';
	w = json_pack("{s:s}", "a", s);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.a: a string of 4097 bytes (max 4096)"));
	json_decref(w);
	w = json_pack("{s:{s:[i,s]}}", "a", "in", 1, s);
	CHECK(refused_with(w, NULL, TSDB_E_TOO_LARGE, "where.a.in[1]: a string of 4097 bytes (max 4096)"));
	json_decref(w);
	free(s);
}

/* ---- numbers ------------------------------------------------------------- */

static uint64_t bits_of(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof b);
	return b;
}

/* For the real spelt as text: with ref = strtod(text), {"x": ref} and the
 * comparisons against ref's neighbours match as they must through both
 * paths, or, when strtod overflows, the text is refused as a whole. */
static int check_spelling(const char *text, long *cases)
{
	char meta[4096];
	int n = snprintf(meta, sizeof meta, "{\"x\":%s,\"y\":1}", text);
	if (n < 0 || (size_t)n >= sizeof meta)
		return printf("# test bug: number too long\n"), 0;
	double ref = strtod(text, NULL);
	int ok = 1;
	if (isinf(ref)) {
		tsdb_pred *y = compile_text("{\"y\":1}", NULL);
		int disagree = 0;
		if (!y || match2(y, meta, (size_t)n, &disagree) != 0 || disagree) {
			printf("# %s overflows, yet the text was read\n", text);
			ok = 0;
		}
		tsdb_pred_free(y);
		++*cases;
		return ok;
	}
	/* the neighbours, where they are finite (else ref itself, with the
	 * comparison that must fail or hold as well) */
	double below = nextafter(ref, -INFINITY), above = nextafter(ref, INFINITY);
	int low = isfinite(below), high = isfinite(above);
	json_t *w[4] = {
		json_pack("{s:f}", "x", ref),
		json_pack("{s:{s:f,s:f}}", "x", low ? ">" : ">=", low ? below : ref, high ? "<" : "<=",
			  high ? above : ref),
		json_pack("{s:{s:f}}", "x", low ? "<=" : "<", low ? below : ref),
		json_pack("{s:{s:f}}", "x", high ? ">=" : ">", high ? above : ref),
	};
	int want[4] = {1, 1, 0, 0};
	for (int k = 0; k < 4; k++) {
		tsdb_pred *p = NULL;
		tsdb_err err;
		if (!w[k] || tsdb_pred_compile(w[k], &p, &err) != 0) {
			printf("# test bug: cannot compile a filter for %s\n", text);
			ok = 0;
			json_decref(w[k]);
			continue;
		}
		int disagree = 0;
		int got = match2(p, meta, (size_t)n, &disagree);
		if (got != want[k] || disagree) {
			printf("# %s (strtod %a): filter %d got %d%s\n", text, ref, k, got,
			       disagree ? ", the paths disagree" : "");
			ok = 0;
		}
		++*cases;
		tsdb_pred_free(p);
		json_decref(w[k]);
	}
	/* an integral real equals the integer operand */
	if (ok && ref == trunc(ref) && fabs(ref) < 9.2e18) {
		json_t *wi = json_pack("{s:I}", "x", (json_int_t)ref);
		tsdb_pred *p = NULL;
		tsdb_err err;
		if (wi && tsdb_pred_compile(wi, &p, &err) == 0) {
			int disagree = 0;
			if (match2(p, meta, (size_t)n, &disagree) != 1 || disagree) {
				printf("# %s: not equal to the integer %lld\n", text, (long long)ref);
				ok = 0;
			}
			tsdb_pred_free(p);
			++*cases;
		}
		json_decref(wi);
	}
	return ok;
}

#define BOUNDARY                                                                                   \
	"17976931348623158079372897140530341507993413271003782693617377898044496829276475094664" \
	"90179775872070963302864166928879109465555478519404026306574886715058206819089020007083" \
	"83676273854845817711531764475730270069855571366959622842914819860834936475292719074168" \
	"444365510704342711559699508093042880177904174497792"
#define BOUNDARY_LESS_1                                                                            \
	"17976931348623158079372897140530341507993413271003782693617377898044496829276475094664" \
	"90179775872070963302864166928879109465555478519404026306574886715058206819089020007083" \
	"83676273854845817711531764475730270069855571366959622842914819860834936475292719074168" \
	"444365510704342711559699508093042880177904174497791"

static void test_numbers(void)
{
	long cases = 0;
	/* 2^1024 - 2^970: halfway between DBL_MAX and 2^1024, rounds to even: overflow */
	static const char *const fixed[] = {
		BOUNDARY, BOUNDARY ".0", BOUNDARY_LESS_1 ".0", BOUNDARY_LESS_1 ".99999999999999999999",
		"-" BOUNDARY_LESS_1 ".9e0", BOUNDARY ".0000000000000000000000000000001",
		"0.0" BOUNDARY "e311", "0.0" BOUNDARY_LESS_1 "e311", "1.7976931348623157e308",
		"1.7976931348623158e308", "1.7976931348623159e308", "17976931348623157e292",
		"0.17976931348623159e309", "1e308", "9.99999999999999999999e307", "1e309",
		"2.4703282292062327e-324", "2.4703282292062328e-324", "4.9406564584124654e-324",
		"2.2250738585072011e-308", "2.2250738585072012e-308", "1e-400", "-1e-400",
		"0.000000000000000000000000000000001e-290", "123456789012345678901234567890e-20",
		"0.1", "0.30000000000000004", "9007199254740993.0", "9007199254740993.00000000001",
		"9007199254740992.99999999999", "9007199254740995.0", "-0.0", "0.0e-99999999999999",
		"1e-99999999999999999999999", "1E+0000000000000000000000000000001", "100000000000000000000000e-23",
	};
	for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
		CHECK(check_spelling(fixed[k], &cases));

	/* random decimal texts of 1..1100 digits: strtod is the reference */
	tsdb_rng r;
	tsdb_rng_seed(&r, 20251121);
	char text[1200];
	for (int round = 0; round < 3000; round++) {
		size_t n = 0;
		if (tsdb_rng_below(&r, 2))
			text[n++] = '-';
		size_t digits = 1 + (size_t)tsdb_rng_below(&r, round % 10 == 0 ? 1100 : 40);
		/* digits before the point: all of them means no fraction */
		size_t point = 1 + (size_t)tsdb_rng_below(&r, digits);
		int zero = point == 1 && digits > 1 && tsdb_rng_below(&r, 2); /* "0.ddd" */
		for (size_t k = 0; k < digits; k++) {
			if (k == point)
				text[n++] = '.';
			int d = (int)tsdb_rng_below(&r, 10);
			if (k == 0)
				d = zero ? 0 : 1 + (int)tsdb_rng_below(&r, 9);
			else if (tsdb_rng_below(&r, 4) == 0)
				d = tsdb_rng_below(&r, 2) ? 0 : 9; /* runs, as near the midpoints */
			text[n++] = (char)('0' + d);
		}
		/* a real: with a fraction or an exponent (or both) */
		if (point == digits || tsdb_rng_below(&r, 2)) {
			/* one draw per statement: argument order is unspecified */
			int e = (int)tsdb_rng_below(&r, 700) - 350;
			char letter = tsdb_rng_below(&r, 2) ? 'e' : 'E';
			const char *plus = e >= 0 && tsdb_rng_below(&r, 2) ? "+" : "";
			n += (size_t)snprintf(text + n, sizeof text - n, "%c%s%d", letter, plus, e);
		}
		text[n] = '\0';
		CHECKF(check_spelling(text, &cases), "%s", text);
		if (tap_current_failed)
			break;
	}
	/* doubles of random bits, printed with 17 significant digits and exactly */
	for (int round = 0; round < 2000; round++) {
		uint64_t b = tsdb_rng_next(&r);
		double x;
		memcpy(&x, &b, sizeof x);
		if (!isfinite(x))
			continue;
		snprintf(text, sizeof text, "%.16e", x);
		CHECKF(check_spelling(text, &cases), "%s", text);
		snprintf(text, sizeof text, "%.*e", round % 2 ? 767 : 30, x);
		CHECKF(check_spelling(text, &cases), "%s", text);
		if (tap_current_failed)
			break;
	}
#if LDBL_MANT_DIG >= 64
	/* Exact midpoints between adjacent doubles (a long double holds them),
	 * written out in full (at most 767 significant digits), then with
	 * zeros past 800 digits and a last 1: only that 1 says "round up". */
	for (int round = 0; round < 600; round++) {
		uint64_t b = tsdb_rng_next(&r) >> 1;
		if (round % 3 == 0)
			b >>= 52; /* subnormals, whose midpoints have the most digits */
		double x;
		memcpy(&x, &b, sizeof x);
		double y = nextafter(x, INFINITY);
		if (!isfinite(y))
			continue;
		long double mid = ((long double)x + (long double)y) / 2;
		snprintf(text, sizeof text, "%.800Le", mid);
		CHECKF(check_spelling(text, &cases), "%s", text);
		char *e = strchr(text, 'e');
		char exp10[16];
		snprintf(exp10, sizeof exp10, "%s", e);
		snprintf(e, sizeof text - (size_t)(e - text), "00000000000000000001%s", exp10);
		CHECKF(check_spelling(text, &cases), "%s", text);
		if (tap_current_failed)
			break;
	}
#endif
	printf("# %ld number cases\n", cases);
}

/* Integers of 1..22 digits, near and past json_int_t's ends: the text is
 * read exactly when jansson reads it, and then holds jansson's value. */
static void test_integers(void)
{
	tsdb_rng r;
	tsdb_rng_seed(&r, 64);
	tsdb_pred *y = compile_text("{\"y\":1}", NULL);
	REQUIRE(y);
	long cases = 0;
	char meta[96], num[40];
	for (int round = 0; round < 20000; round++) {
		uint64_t u = tsdb_rng_next(&r);
		switch (round % 4) {
		case 0: u >>= tsdb_rng_below(&r, 64); break;
		case 1: u = (uint64_t)INT64_MAX + tsdb_rng_below(&r, 5) - 2; break;
		case 2: u = UINT64_MAX - tsdb_rng_below(&r, 3); break;
		default: break;
		}
		int n = snprintf(num, sizeof num, "%s%llu", round % 3 ? "" : "-", (unsigned long long)u);
		if (round % 7 == 0) /* past 64 bits */
			n += snprintf(num + n, sizeof num - (size_t)n, "%d", (int)tsdb_rng_below(&r, 100));
		int len = snprintf(meta, sizeof meta, "{\"x\":%s,\"y\":1}", num);
		json_t *j = json_loadb(meta, (size_t)len, TSDB_PRED_META_JSON_FLAGS, NULL);
		int disagree = 0;
		CHECKF(match2(y, meta, (size_t)len, &disagree) == (j != NULL) && !disagree, "%s", num);
		if (j) {
			json_t *w = json_pack("{s:O}", "x", json_object_get(j, "x"));
			tsdb_pred *p = NULL;
			tsdb_err err;
			CHECK(w && tsdb_pred_compile(w, &p, &err) == 0);
			if (p)
				CHECKF(match2(p, meta, (size_t)len, &disagree) == 1 && !disagree, "%s", num);
			tsdb_pred_free(p);
			json_decref(w);
		}
		json_decref(j);
		cases++;
		if (tap_current_failed)
			break;
	}
	tsdb_pred_free(y);
	printf("# %ld integer cases\n", cases);
}

/* ---- the differential test ----------------------------------------------- */

#if LDBL_MANT_DIG >= 64
#define MODEL_EXACT 1
#else
#define MODEL_EXACT 0
#endif

enum mkind { M_INT, M_REAL, M_STR, M_TRUE, M_FALSE, M_NULL, M_ARRAY, M_OBJECT };

struct mval {
	enum mkind kind;
	int64_t i;
	double d;
	const char *s;
	size_t len;
};

#define MAX_MEMBERS 24

/* Metadata as the model sees it: members in text order (duplicates
 * kept), or none at all. */
struct mmeta {
	int present;
	size_t n;
	struct {
		const char *key;
		size_t klen;
		struct mval v;
	} m[MAX_MEMBERS];
};

static const struct mval *model_lookup(const struct mmeta *m, const char *key, size_t klen)
{
	const struct mval *found = NULL;
	if (!m->present)
		return NULL;
	for (size_t k = 0; k < m->n; k++) /* the last one wins */
		if (m->m[k].klen == klen && memcmp(m->m[k].key, key, klen) == 0)
			found = &m->m[k].v;
	return found;
}

/* Sign of v - s, or 2 when they are not of one kind (number, string, boolean). */
static int model_cmp(const struct mval *v, const json_t *s)
{
	if (json_is_number(s)) {
		if (v->kind != M_INT && v->kind != M_REAL)
			return 2;
		/* exact: a long double of 64 bits holds every int64 and every double */
		long double a = v->kind == M_INT ? (long double)v->i : (long double)v->d;
		long double b = json_is_integer(s) ? (long double)json_integer_value(s)
						   : (long double)json_real_value(s);
		return (a > b) - (a < b);
	}
	if (json_is_string(s)) {
		if (v->kind != M_STR)
			return 2;
		const unsigned char *a = (const unsigned char *)v->s;
		const unsigned char *b = (const unsigned char *)json_string_value(s);
		size_t blen = json_string_length(s);
		for (size_t k = 0;; k++) {
			if (k == v->len || k == blen)
				return (v->len > blen) - (v->len < blen);
			if (a[k] != b[k])
				return a[k] < b[k] ? -1 : 1;
		}
	}
	if (v->kind != M_TRUE && v->kind != M_FALSE)
		return 2;
	return (v->kind == M_TRUE) != json_is_true(s);
}

/* The filter's JSON form, interpreted directly. */
static int model_match(const json_t *p, const struct mmeta *m)
{
	const char *key;
	json_t *val;
	size_t klen;
	json_object_keylen_foreach((json_t *)p, key, klen, val) {
		int holds = 1;
		if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0) {
			int any = key[1] == 'o', seen = 0;
			size_t k;
			json_t *e;
			json_array_foreach(val, k, e) seen += model_match(e, m);
			holds = any ? seen > 0 : seen == (int)json_array_size(val);
		} else if (strcmp(key, "$not") == 0) {
			holds = !model_match(val, m);
		} else {
			const struct mval *v = model_lookup(m, key, klen);
			if (!json_is_object(val)) {
				holds = v && model_cmp(v, val) == 0;
			} else {
				const char *op;
				json_t *x;
				json_object_foreach(val, op, x) {
					int c = v ? model_cmp(v, x) : 2, ok;
					if (strcmp(op, "exists") == 0) {
						ok = (v != NULL) == json_is_true(x);
					} else if (strcmp(op, "in") == 0) {
						size_t k;
						json_t *e;
						ok = 0;
						json_array_foreach(x, k, e) ok |= v && model_cmp(v, e) == 0;
					} else if (c == 2) {
						ok = 0;
					} else if (strcmp(op, "==") == 0) {
						ok = c == 0;
					} else if (strcmp(op, "!=") == 0) {
						ok = c != 0;
					} else if (strcmp(op, "<") == 0) {
						ok = c < 0;
					} else if (strcmp(op, "<=") == 0) {
						ok = c <= 0;
					} else if (strcmp(op, ">") == 0) {
						ok = c > 0;
					} else {
						ok = c >= 0;
					}
					holds &= ok;
				}
			}
		}
		if (!holds)
			return 0;
	}
	return 1;
}

/* The universe random filters and metadata draw from, small so that
 * equalities happen often. */
static const char *const field_names[] = {
	"a", "b", "ab", "level", "lev", "levels", "A", "\xc3\xa9", "k\"q", "x y", "\xf0\x9f\x98\x80",
};
static const char *const meta_only_keys[] = {"$and", "", "c", "a\\b", "\x7f"};
static const int64_t ints[] = {
	0, 1, -1, 2, 3, 42, 9007199254740992, 9007199254740993, 9007199254740991, -9007199254740993,
	INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
};
static const double reals[] = {
	0.0, -0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 0.1, 9007199254740992.0, 9007199254740994.0,
	9007199254740991.0, 9223372036854775808.0, -9223372036854775808.0, 9223372036854774784.0,
	1e300, -1e300, 5e-324, DBL_MAX, -DBL_MAX, 42.0, -1.0,
};
static const struct {
	const char *s;
	size_t len;
} strings[] = {
#define S(x) {x, sizeof x - 1}
	S(""), S("a"), S("A"), S("ab"), S("abc"), S("b"), S("\xc3\xa9"), S("caf\xc3\xa9"), S("caf"),
	S("z"), S("\x7f"), S("a\0b"), S("a\0"), S("\xf0\x9f\x98\x80"), S("\""), S("\\"), S("a/b"),
	S("t\tx\n"), S("\xe2\x82\xac"), S("1"),
#undef S
};

#define N_OF(a) (sizeof a / sizeof a[0])

static struct mval random_scalar(tsdb_rng *r)
{
	struct mval v = {.kind = M_NULL};
	switch (tsdb_rng_below(r, 7)) {
	case 0:
	case 1:
		v.kind = M_INT;
		v.i = ints[tsdb_rng_below(r, N_OF(ints))];
		if (tsdb_rng_below(r, 8) == 0)
			v.i = (int64_t)tsdb_rng_next(r);
		break;
	case 2:
	case 3:
		v.kind = M_REAL;
		v.d = reals[tsdb_rng_below(r, N_OF(reals))];
		if (tsdb_rng_below(r, 8) == 0) {
			uint64_t b = tsdb_rng_next(r);
			memcpy(&v.d, &b, sizeof v.d);
			if (!isfinite(v.d))
				v.d = 0.25;
		}
		break;
	case 4:
	case 5: {
		size_t k = tsdb_rng_below(r, N_OF(strings));
		v.kind = M_STR;
		v.s = strings[k].s;
		v.len = strings[k].len;
		break;
	}
	default:
		v.kind = tsdb_rng_below(r, 2) ? M_TRUE : M_FALSE;
	}
	return v;
}

static json_t *scalar_json(const struct mval *v)
{
	switch (v->kind) {
	case M_INT: return json_integer(v->i);
	case M_REAL: return json_real(v->d);
	case M_STR: return json_stringn(v->s, v->len);
	case M_TRUE: return json_true();
	default: return json_false();
	}
}

static json_t *random_cond(tsdb_rng *r)
{
	if (tsdb_rng_below(r, 3) == 0) {
		struct mval v = random_scalar(r);
		return scalar_json(&v);
	}
	static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!=", "in", "exists"};
	json_t *c = json_object();
	size_t n = 1 + tsdb_rng_below(r, 3);
	for (size_t k = 0; k < n; k++) {
		const char *op = ops[tsdb_rng_below(r, N_OF(ops))];
		struct mval v = random_scalar(r);
		if (op[0] == '<' || op[0] == '>')
			while (v.kind == M_TRUE || v.kind == M_FALSE)
				v = random_scalar(r);
		if (strcmp(op, "in") == 0) {
			json_t *list = json_array();
			size_t m = tsdb_rng_below(r, 5);
			for (size_t e = 0; e < m; e++) {
				struct mval x = random_scalar(r);
				json_array_append_new(list, scalar_json(&x));
			}
			json_object_set_new(c, op, list);
		} else if (strcmp(op, "exists") == 0) {
			json_object_set_new(c, op, json_boolean(tsdb_rng_below(r, 2)));
		} else {
			json_object_set_new(c, op, scalar_json(&v));
		}
	}
	return c;
}

static json_t *random_pred(tsdb_rng *r, int depth)
{
	json_t *p = json_object();
	size_t n = tsdb_rng_below(r, depth > 3 ? 2 : 4);
	for (size_t k = 0; k < n; k++) {
		uint64_t roll = tsdb_rng_below(r, 10);
		if (roll < 6 || depth >= 5) {
			const char *name = field_names[tsdb_rng_below(r, N_OF(field_names))];
			json_object_set_new(p, name, random_cond(r));
		} else if (roll < 8) {
			json_t *list = json_array();
			size_t m = 1 + tsdb_rng_below(r, 3);
			for (size_t e = 0; e < m; e++)
				json_array_append_new(list, random_pred(r, depth + 1));
			json_object_set_new(p, roll == 6 ? "$and" : "$or", list);
		} else {
			json_object_set_new(p, "$not", random_pred(r, depth + 1));
		}
	}
	return p;
}

/* A growing text buffer. */
struct text {
	char *p;
	size_t n, cap;
};

static void put(struct text *t, const char *s, size_t len)
{
	if (t->n + len + 1 > t->cap) {
		t->cap = (t->n + len + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (!t->p)
			abort();
	}
	memcpy(t->p + t->n, s, len);
	t->n += len;
	t->p[t->n] = '\0';
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

static void put_ws(struct text *t, tsdb_rng *r)
{
	static const char *const ws[] = {"", "", "", "", " ", "\n", "\t", "\r\n", "  "};
	puts_(t, ws[tsdb_rng_below(r, N_OF(ws))]);
}

/* s[0..len) (valid UTF-8) as a JSON string literal, each character
 * written raw or escaped at random. */
static void put_escape(struct text *t, uint32_t unit, int upper)
{
	char buf[16];
	snprintf(buf, sizeof buf, upper ? "\\u%04X" : "\\u%04x", (unsigned)unit);
	puts_(t, buf);
}

static void put_string(struct text *t, tsdb_rng *r, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	puts_(t, "\"");
	for (size_t k = 0; k < len;) {
		uint32_t cp = u[k];
		size_t n = 1;
		if (u[k] >= 0xF0) {
			n = 4;
			cp = (uint32_t)(u[k] & 7) << 18 | (uint32_t)(u[k + 1] & 63) << 12 |
			     (uint32_t)(u[k + 2] & 63) << 6 | (u[k + 3] & 63);
		} else if (u[k] >= 0xE0) {
			n = 3;
			cp = (uint32_t)(u[k] & 15) << 12 | (uint32_t)(u[k + 1] & 63) << 6 | (u[k + 2] & 63);
		} else if (u[k] >= 0xC0) {
			n = 2;
			cp = (uint32_t)(u[k] & 31) << 6 | (u[k + 1] & 63);
		}
		int must = cp < 0x20 || cp == '"' || cp == '\\';
		uint64_t how = tsdb_rng_below(r, 4);
		int upper = (int)tsdb_rng_below(r, 2);
		if (!must && how < 2) {
			put(t, s + k, n);
		} else if (cp == '"' && how < 3) {
			puts_(t, "\\\"");
		} else if (cp == '\\' && how < 3) {
			puts_(t, "\\\\");
		} else if (cp == '/' && how == 2) {
			puts_(t, "\\/");
		} else if (cp == '\n' && how < 3) {
			puts_(t, "\\n");
		} else if (cp == '\t' && how < 3) {
			puts_(t, "\\t");
		} else if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			put_escape(t, 0xD800 + (v >> 10), upper);
			put_escape(t, 0xDC00 + (v & 0x3FF), upper);
		} else {
			put_escape(t, cp, upper);
		}
		k += n;
	}
	puts_(t, "\"");
}

/* x as a real token that strtod reads back exactly, spelt at random. */
static void put_real(struct text *t, tsdb_rng *r, double x)
{
	char buf[1200];
	int prec = (int)tsdb_rng_below(r, 30);
	switch (tsdb_rng_below(r, 5)) {
	case 0:
		snprintf(buf, sizeof buf, "%.17g", x);
		break;
	case 1:
		snprintf(buf, sizeof buf, "%.*e", 16 + prec, x);
		break;
	case 2:
		snprintf(buf, sizeof buf, "%.*E", tsdb_rng_below(r, 8) ? 16 + prec : 760 + prec, x);
		break;
	case 3:
		if (fabs(x) < 1e-5 || fabs(x) > 1e22)
			snprintf(buf, sizeof buf, "%.17e", x);
		else
			snprintf(buf, sizeof buf, "%.*f", 17 + prec, x);
		break;
	default: {
		/* mantissa and a rewritten exponent: a '+' or not, leading zeros */
		char m[64];
		snprintf(m, sizeof m, "%.17e", x);
		char *e = strchr(m, 'e');
		int exp10 = atoi(e + 1);
		*e = '\0';
		char letter = tsdb_rng_below(r, 2) ? 'e' : 'E';
		const char *sign = exp10 < 0 ? "-" : tsdb_rng_below(r, 2) ? "+" : "";
		int width = 1 + (int)tsdb_rng_below(r, 5);
		snprintf(buf, sizeof buf, "%s%c%s%.*d", m, letter, sign, width, abs(exp10));
	}
	}
	if (!strpbrk(buf, ".eE"))
		strcat(buf, tsdb_rng_below(r, 2) ? ".0" : "e0");
	if (bits_of(strtod(buf, NULL)) != bits_of(x))
		snprintf(buf, sizeof buf, "%.17e", x);
	puts_(t, buf);
}

static void put_scalar(struct text *t, tsdb_rng *r, const struct mval *v)
{
	char buf[32];
	switch (v->kind) {
	case M_INT:
		if (v->i == 0 && tsdb_rng_below(r, 3) == 0)
			puts_(t, "-0");
		else {
			snprintf(buf, sizeof buf, "%lld", (long long)v->i);
			puts_(t, buf);
		}
		break;
	case M_REAL: put_real(t, r, v->d); break;
	case M_STR: put_string(t, r, v->s, v->len); break;
	case M_TRUE: puts_(t, "true"); break;
	case M_FALSE: puts_(t, "false"); break;
	default: puts_(t, "null"); break;
	}
}

/* A nested value (an array or object of depth up to levels), holding keys
 * like the fields', which must not count. */
static void put_nested(struct text *t, tsdb_rng *r, int levels)
{
	int array = (int)tsdb_rng_below(r, 2);
	size_t n = tsdb_rng_below(r, 4);
	puts_(t, array ? "[" : "{");
	for (size_t k = 0; k < n; k++) {
		if (k)
			puts_(t, ",");
		put_ws(t, r);
		if (!array) {
			const char *key = field_names[tsdb_rng_below(r, N_OF(field_names))];
			put_string(t, r, key, strlen(key));
			put_ws(t, r);
			puts_(t, ":");
			put_ws(t, r);
		}
		if (levels > 0 && tsdb_rng_below(r, 3) == 0) {
			put_nested(t, r, levels - 1);
		} else {
			struct mval v = random_scalar(r);
			if (tsdb_rng_below(r, 6) == 0)
				v.kind = M_NULL;
			put_scalar(t, r, &v);
		}
		put_ws(t, r);
	}
	puts_(t, array ? "]" : "}");
}

/* A random metadata object into *m and its text into *t. */
static void random_meta(tsdb_rng *r, struct mmeta *m, struct text *t)
{
	m->present = 1;
	m->n = tsdb_rng_below(r, 8);
	t->n = 0;
	put_ws(t, r);
	puts_(t, "{");
	for (size_t k = 0; k < m->n; k++) {
		const char *key;
		if (k > 0 && tsdb_rng_below(r, 6) == 0) { /* a duplicate */
			key = m->m[tsdb_rng_below(r, k)].key;
		} else if (tsdb_rng_below(r, 8) == 0) {
			key = meta_only_keys[tsdb_rng_below(r, N_OF(meta_only_keys))];
		} else {
			key = field_names[tsdb_rng_below(r, N_OF(field_names))];
		}
		m->m[k].key = key;
		m->m[k].klen = strlen(key);
		if (k)
			puts_(t, ",");
		put_ws(t, r);
		put_string(t, r, key, m->m[k].klen);
		put_ws(t, r);
		puts_(t, ":");
		put_ws(t, r);
		uint64_t roll = tsdb_rng_below(r, 10);
		if (roll == 0) {
			m->m[k].v = (struct mval){.kind = M_NULL};
			puts_(t, "null");
		} else if (roll == 1) {
			m->m[k].v = (struct mval){.kind = M_ARRAY};
			put_nested(t, r, 2);
			/* put_nested picks array or object; the model only needs "not a scalar" */
		} else {
			m->m[k].v = random_scalar(r);
			put_scalar(t, r, &m->m[k].v);
		}
		put_ws(t, r);
	}
	puts_(t, "}");
	put_ws(t, r);
}

/* The model's view of what jansson made of a text. */
static void meta_from_json(const json_t *j, struct mmeta *m)
{
	m->present = json_is_object(j);
	m->n = 0;
	if (!m->present)
		return;
	const char *key;
	size_t klen;
	json_t *v;
	json_object_keylen_foreach((json_t *)j, key, klen, v) {
		if (m->n == MAX_MEMBERS)
			break; /* more than the model holds: cannot happen with these texts */
		struct mval x = {.kind = M_NULL};
		switch (json_typeof(v)) {
		case JSON_INTEGER: x.kind = M_INT; x.i = json_integer_value(v); break;
		case JSON_REAL: x.kind = M_REAL; x.d = json_real_value(v); break;
		case JSON_STRING: x.kind = M_STR; x.s = json_string_value(v); x.len = json_string_length(v); break;
		case JSON_TRUE: x.kind = M_TRUE; break;
		case JSON_FALSE: x.kind = M_FALSE; break;
		case JSON_NULL: break;
		default: x.kind = M_OBJECT; break;
		}
		m->m[m->n].key = key;
		m->m[m->n].klen = klen;
		m->m[m->n].v = x;
		m->n++;
	}
}

/* Damage: 1..3 random edits, biased to the bytes that matter to a lexer. */
static void mutate(struct text *t, tsdb_rng *r)
{
	static const char interesting[] = "{}[]:,\"\\ 0123456789-+.eEtrufalsn\0\x80\xc3\xa9\xed\xf4\xff\x1f";
	size_t edits = 1 + tsdb_rng_below(r, 3);
	for (size_t e = 0; e < edits; e++) {
		size_t at = t->n ? tsdb_rng_below(r, t->n) : 0;
		char c = tsdb_rng_below(r, 4) ? interesting[tsdb_rng_below(r, sizeof interesting - 1)]
					      : (char)tsdb_rng_below(r, 256);
		static const struct {
			const char *s;
			size_t len;
		} tokens[] = {
#define S(x) {x, sizeof x - 1}
			S("99999999999999999999"), S("9223372036854775808"), S("-9223372036854775809"),
			S("1e309"), S("1.7976931348623159e308"), S("1e-400"), S("\\ud800"), S("\\udc00"),
			S("\\u0000"), S("\xe0\x80\x80"), S("\xf4\x90\x80\x80"), S("\xed\xa0\x80"), S("\""),
			S("\\"), S("-0"), S("0."), S("tru"), S("null\0"), S("1\0"), S("\0"),
#undef S
		};
		switch (tsdb_rng_below(r, 6)) {
		case 5: { /* insert a token */
			size_t k = tsdb_rng_below(r, N_OF(tokens));
			char tail[4096];
			size_t rest = t->n - at < sizeof tail ? t->n - at : sizeof tail;
			memcpy(tail, t->p + at, rest);
			t->n = at;
			put(t, tokens[k].s, tokens[k].len);
			put(t, tail, rest);
			break;
		}
		case 0: /* replace */
			if (t->n)
				t->p[at] = c;
			break;
		case 1: /* insert */
			put(t, " ", 1);
			memmove(t->p + at + 1, t->p + at, t->n - at - 1);
			t->p[at] = c;
			break;
		case 2: /* delete */
			if (t->n) {
				memmove(t->p + at, t->p + at + 1, t->n - at - 1);
				t->n--;
			}
			break;
		case 3: /* truncate */
			t->n = at;
			break;
		default: { /* duplicate a range */
			size_t len = tsdb_rng_below(r, 8);
			if (at + len <= t->n) {
				char tmp[8];
				memcpy(tmp, t->p + at, len);
				put(t, tmp, len);
			}
		}
		}
	}
}

struct tally {
	long cases, valid, damaged, refused_by_jansson, matched;
};

/* One filter against one text: text path == json path == model. */
static int check_case(const tsdb_pred *p, const json_t *where, const struct text *t,
		      const struct mmeta *model, struct tally *tally)
{
	int by_text = tsdb_pred_match_text(p, t->p, t->n);
	json_t *j = json_loadb(t->p, t->n, TSDB_PRED_META_JSON_FLAGS, NULL);
	int by_json = tsdb_pred_match_json(p, j);
	struct mmeta from_json;
	if (!model) {
		meta_from_json(j, &from_json);
		model = &from_json;
		tally->refused_by_jansson += !json_is_object(j);
	}
	int want = model_match(where, model);
	tally->cases++;
	tally->matched += want;
	int ok = by_text == want && by_json == want;
	if (!ok) {
		char *ws = json_dumps(where, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("# where %s\n# meta (%zu bytes) %.*s\n# text %d json %d model %d (jansson %s)\n",
		       ws, t->n, (int)t->n, t->p, by_text, by_json, want, j ? "reads it" : "refuses it");
		free(ws);
	}
	/* the writer's form of what jansson read must match the same way */
	if (ok && json_is_object(j)) {
		char *compact = json_dumps(j, JSON_COMPACT);
		if (compact) {
			ok = tsdb_pred_match_text(p, compact, strlen(compact)) == want;
			if (!ok)
				printf("# compact form %s disagrees\n", compact);
			tally->cases++;
			free(compact);
		}
	}
	json_decref(j);
	return ok;
}

static void test_differential(void)
{
	if (!MODEL_EXACT)
		SKIP("long double cannot hold every int64 and double here: the model is not exact");
	tsdb_rng r;
	tsdb_rng_seed(&r, 7411);
	struct text t = {0}, copy = {0};
	struct tally tally = {0};
	long filters = 0;
	int failures = 0;
	for (int round = 0; round < 10000 && failures < 5; round++) {
		json_t *where = random_pred(&r, 1);
		tsdb_pred *p = NULL;
		tsdb_err err;
		if (tsdb_pred_compile(where, &p, &err) != 0) {
			char *ws = json_dumps(where, JSON_COMPACT);
			printf("# a valid filter was refused: %s: %s\n", ws, err.msg);
			free(ws);
			failures++;
			json_decref(where);
			continue;
		}
		filters++;
		for (int k = 0; k < 10; k++) {
			struct mmeta m;
			random_meta(&r, &m, &t);
			tally.valid++;
			if (!check_case(p, where, &t, &m, &tally))
				failures++;
			/* damaged copies: the model reads what jansson reads, if anything */
			for (int d = 0; d < 2; d++) {
				copy.n = 0;
				put(&copy, t.p, t.n);
				mutate(&copy, &r);
				tally.damaged++;
				if (!check_case(p, where, &copy, NULL, &tally))
					failures++;
			}
		}
		/* no metadata */
		struct mmeta none = {.present = 0};
		int want = model_match(where, &none);
		tally.cases++;
		if (tsdb_pred_match_text(p, NULL, 0) != want || tsdb_pred_match_json(p, NULL) != want)
			failures++;
		tsdb_pred_free(p);
		json_decref(where);
	}
	CHECKF(failures == 0, "%d disagreements", failures);
	free(t.p);
	free(copy.p);
	printf("# differential: %ld cases checked: %ld filters, %ld valid texts, %ld damaged "
	       "(%ld of them refused by jansson), %ld matches\n",
	       tally.cases, filters, tally.valid, tally.damaged, tally.refused_by_jansson, tally.matched);
}

int main(void)
{
	RUN(test_semantics);
	RUN(test_nul_bytes);
	RUN(test_meta_depth);
	RUN(test_planner);
	RUN(test_refusals);
	RUN(test_bounds);
	RUN(test_numbers);
	RUN(test_integers);
	RUN(test_differential);
	return tap_done();
}
