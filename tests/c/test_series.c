/*
 * test_series.c - the text and JSON parsers, validation, ids, the JSON
 * writer's bit-exact round trip and bounded file reading.  Messages are
 * checked where users read them (file and line, field and index).
 */
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "series.h"
#include "tap.h"

#define MAXP 100000

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static int parse(const char *text, tsdb_series *s, tsdb_err *err)
{
	return tsdb_series_parse_text(text, strlen(text), "x.dat", MAXP, s, err);
}

/* Expects parse failure with a message containing `msg`. */
#define PARSE_FAILS(text_, want_)                                                  \
	do {                                                                       \
		tsdb_series s_;                                                    \
		tsdb_err e_ = {0};                                                 \
		CHECKF(parse(text_, &s_, &e_) == -1, "parsed: %s", text_);         \
		CHECKF(contains(e_.msg, want_), "message '%s' lacks '%s'", e_.msg, want_); \
		CHECK(s_.t == NULL && s_.v == NULL && s_.n == 0);                  \
	} while (0)

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (!j)
		printf("# bad test JSON %s: %s\n", text, je.text);
	return j;
}

static int from_json_text(const char *text, size_t max_points, tsdb_series *s, tsdb_err *err)
{
	json_t *j = load(text);
	if (!j)
		return -2;
	int rc = tsdb_series_from_json(j, max_points, s, err);
	json_decref(j);
	return rc;
}

#define JSON_FAILS(text_, want_)                                                   \
	do {                                                                       \
		tsdb_series s_;                                                    \
		tsdb_err e_ = {0};                                                 \
		CHECKF(from_json_text(text_, MAXP, &s_, &e_) == -1, "accepted: %s", text_); \
		CHECKF(contains(e_.msg, want_), "message '%s' lacks '%s'", e_.msg, want_); \
		CHECK(s_.t == NULL && s_.n == 0 && s_.meta == NULL);               \
	} while (0)

/* ---- text --------------------------------------------------------------- */

static void test_text_basic(void)
{
	tsdb_series s;
	tsdb_err err = {0};
	const char *text = "# phase mag err jd\n"
			   "\n"
			   "0.1 1.5 0.01 2450000.5   # trailing comment\n"
			   "   \t\n"
			   "\t0.2\t-2e0\n"
			   "#0.25 99\n"
			   "0.3 +3.25 extra columns are ignored\n"
			   ".4 4.\n";
	REQUIRE(parse(text, &s, &err) == 0);
	REQUIRE(s.n == 4);
	CHECK(s.t[0] == 0.1 && s.t[1] == 0.2 && s.t[2] == 0.3 && s.t[3] == 0.4);
	CHECK(s.v[0] == 1.5 && s.v[1] == -2.0 && s.v[2] == 3.25 && s.v[3] == 4.0);
	CHECK(s.id_len == 0 && s.meta == NULL);
	tsdb_series_free(&s);
	CHECK(s.t == NULL && s.n == 0);
	tsdb_series_free(&s); /* safe twice */
}

static void test_text_crlf_and_no_final_newline(void)
{
	tsdb_series s;
	tsdb_err err = {0};
	REQUIRE(parse("0.1 1\r\n0.2 2\r\n\r\n# c\r\n0.3 3\r\n0.4 5", &s, &err) == 0);
	CHECK(s.n == 4 && s.v[3] == 5.0);
	tsdb_series_free(&s);
	REQUIRE(parse("0.1 1\r\n0.2 2\r\n0.3 3\r\n0.4 5\r\n", &s, &err) == 0);
	CHECK(s.n == 4 && s.v[3] == 5.0);
	tsdb_series_free(&s);
	/* a buffer that is not NUL-terminated: the length is the bound */
	const char buf[] = {'0', '.', '1', ' ', '1', '\n', '0', '.', '2', ' ', '2', '\n',
			    '0', '.', '3', ' ', '3', '\n', '0', '.', '4', ' ', '7'};
	REQUIRE(tsdb_series_parse_text(buf, sizeof buf, "b", 10, &s, &err) == 0);
	CHECK(s.n == 4 && s.v[3] == 7.0);
	tsdb_series_free(&s);
}

static void test_text_errors(void)
{
	PARSE_FAILS("0.1 1\n0.2\n0.3 3\n0.4 4\n", "x.dat line 2: missing value column");
	PARSE_FAILS("0.1 1\n0.2 2 # x\n0.3 # 3\n", "x.dat line 3: missing value column");
	PARSE_FAILS("0.1 1\n0.2 2\n0.3 3\n0.4 4\n0.5 5\n0.6 6\n0.7 7\n0.8 8\n0.85 8\n"
		    "0.86 8\n0.87 8\n0.9 abc\n",
		    "x.dat line 12: value 'abc' is not a number");
	PARSE_FAILS("abc 1\n", "line 1: time 'abc' is not a number");
	const char *bad[] = {"nan", "NaN", "inf", "-inf", "infinity", "0x1p-2", "1e", "1e+",
			     "1.0f", "--1", "+-1", ".", "-", "1..2", "1e2.5", "1,5", "0.1.2",
			     "1_000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[64], msg[64];
		snprintf(text, sizeof text, "0.1 1\n0.2 %s\n", bad[i]);
		snprintf(msg, sizeof msg, "line 2: value '%s' is not a number", bad[i]);
		PARSE_FAILS(text, msg);
	}
	PARSE_FAILS("0.1 1e400\n", "line 1: value '1e400' is out of range");
	PARSE_FAILS("0.1 -1e400\n", "value '-1e400' is out of range");
	char longtok[300];
	memset(longtok, '1', sizeof longtok);
	memcpy(longtok, "0.5 ", 4);
	longtok[sizeof longtok - 1] = '\0';
	PARSE_FAILS(longtok, "is too long to be a number");
	/* control bytes in a bad token are not copied into the message */
	tsdb_series s;
	tsdb_err err = {0};
	CHECK(parse("0.1 a\x01\xff\n", &s, &err) == -1);
	CHECK(contains(err.msg, "value 'a?" "?' is not a number")); /* no trigraph */
}

static void test_text_times(void)
{
	PARSE_FAILS("0.1 1\n1.0 2\n0.3 3\n0.4 4\n", "line 2: time 1.0 is outside [0, 1)");
	PARSE_FAILS("-0.1 1\n0.2 2\n0.3 3\n0.4 4\n", "line 1: time -0.1 is outside [0, 1)");
	PARSE_FAILS("0.1 1\n0.2 2\n0.3 3\n1e9 4\n", "line 4: time 1e9 is outside [0, 1)");
	tsdb_series s;
	tsdb_err err = {0};
	/* 0 and the largest double below 1 are inside; -0 equals 0 */
	REQUIRE(parse("0 1\n-0.0 2\n0.5 3\n0.99999999999999989 4\n", &s, &err) == 0);
	CHECK(s.t[3] == nextafter(1.0, 0.0));
	CHECK(s.t[1] == 0.0);
	tsdb_series_free(&s);
}

static void test_text_counts(void)
{
	PARSE_FAILS("0.1 1\n0.2 2\n0.3 3\n", "x.dat: needs at least 4 points, got 3");
	PARSE_FAILS("", "needs at least 4 points, got 0");
	PARSE_FAILS("# only a comment\n\n", "needs at least 4 points, got 0");
	PARSE_FAILS("0.1 2\n0.2 2\n0.3 2\n0.4 2.0\n", "x.dat: constant series has no shape");

	tsdb_series s;
	tsdb_err err = {0};
	const char *five = "0.1 1\n0.2 2\n0.3 3\n0.4 4\n0.5 5\n";
	CHECK(tsdb_series_parse_text(five, strlen(five), "f", 4, &s, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE);
	CHECKF(contains(err.msg, "f line 5: more than 4 points"), "%s", err.msg);
	CHECK(s.t == NULL);
	REQUIRE(tsdb_series_parse_text(five, strlen(five), "f", 5, &s, &err) == 0);
	CHECK(s.n == 5);
	tsdb_series_free(&s);

	/* growth past the first allocation */
	char *big = malloc(20000 * 24);
	REQUIRE(big);
	size_t off = 0;
	for (int i = 0; i < 20000; i++)
		off += (size_t)sprintf(big + off, "%.10f %d\n", i / 20000.0, i % 17);
	REQUIRE(tsdb_series_parse_text(big, off, "big", MAXP, &s, &err) == 0);
	CHECK(s.n == 20000 && s.v[19999] == 19999 % 17);
	tsdb_series_free(&s);
	CHECK(tsdb_series_parse_text(big, off, "big", 19999, &s, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE);
	free(big);
}

/* ---- validation and ids -------------------------------------------------- */

static void test_validate(void)
{
	double t[5] = {0.1, 0.2, 0.3, 0.4, 0.5}, v[5] = {1, 2, 3, 4, 5};
	tsdb_series s = {.n = 5, .t = t, .v = v};
	tsdb_err err = {0};
	CHECK(tsdb_series_validate(&s, 5, &err) == 0);
	CHECK(tsdb_series_validate(&s, 4, &err) == -1 && err.code == TSDB_E_TOO_LARGE);
	CHECK(contains(err.msg, "series has 5 points (max 4)"));
	s.n = 3;
	CHECK(tsdb_series_validate(&s, 5, &err) == -1 && err.code == TSDB_E_INVALID_SERIES);
	CHECK(strcmp(err.msg, "needs at least 4 points, got 3") == 0);
	s.n = 5;
	t[4] = 1.2;
	CHECK(tsdb_series_validate(&s, 5, &err) == -1);
	CHECK(strcmp(err.msg, "t[4] = 1.2 is outside [0, 1)") == 0);
	t[4] = NAN;
	CHECK(tsdb_series_validate(&s, 5, &err) == -1 && contains(err.msg, "t[4] = nan"));
	t[4] = 0.5;
	v[2] = INFINITY;
	CHECK(tsdb_series_validate(&s, 5, &err) == -1);
	CHECK(strcmp(err.msg, "v[2] = inf is not finite") == 0);
	for (int i = 0; i < 5; i++)
		v[i] = -3.5;
	CHECK(tsdb_series_validate(&s, 5, &err) == -1);
	CHECK(strcmp(err.msg, "constant series has no shape") == 0);
	v[0] = -0.0, v[1] = 0.0, v[2] = 0.0, v[3] = 0.0, v[4] = 0.0; /* -0 == 0 */
	CHECK(tsdb_series_validate(&s, 5, &err) == -1);
}

static void test_id_validation(void)
{
	tsdb_err err = {0};
	char id[300];
	memset(id, 'a', sizeof id);
	CHECK(tsdb_id_validate(id, 0, &err) == -1 && err.code == TSDB_E_INVALID_KEY);
	CHECK(strcmp(err.msg, "id is empty") == 0);
	CHECK(tsdb_id_validate(id, 255, &err) == 0);
	CHECK(tsdb_id_validate(id, 256, &err) == -1);
	CHECK(strcmp(err.msg, "id is 256 bytes (max 255)") == 0);
	CHECK(tsdb_id_validate(id, 300, &err) == -1);
	CHECK(strcmp(err.msg, "id is 300 bytes (max 255)") == 0);

	CHECK(tsdb_id_validate("abc\x01", 4, &err) == -1);
	CHECK(strcmp(err.msg, "id contains a control character at byte 3") == 0);
	CHECK(tsdb_id_validate("a\x7f", 2, &err) == -1 && contains(err.msg, "at byte 1"));
	CHECK(tsdb_id_validate("a\tb", 3, &err) == -1);
	CHECK(tsdb_id_validate("ab\0c", 4, &err) == -1 && contains(err.msg, "at byte 2"));

	const char *good[] = {"a", "ts-000001", "lc/51886", "../../etc/passwd", "a b",
			      "h\xc3\xa9llo",                     /* é */
			      "\xe2\x82\xac",                     /* € */
			      "\xed\x9f\xbf",                     /* U+D7FF, below the surrogates */
			      "\xee\x80\x80",                     /* U+E000, above them */
			      "\xf0\x9f\x98\x80",                 /* 😀 */
			      "\xf4\x8f\xbf\xbf",                 /* U+10FFFF */
			      "\xc2\x80"};                        /* U+0080 */
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		CHECKF(tsdb_id_validate(good[i], strlen(good[i]), &err) == 0, "good[%zu]: %s", i,
		       err.msg);
	const char *bad[] = {"\x80",             /* lone continuation */
			     "\xc0\x80",         /* overlong NUL */
			     "\xc1\xbf",         /* overlong */
			     "\xe0\x80\x80",     /* overlong */
			     "\xe0\x9f\xbf",     /* overlong */
			     "\xed\xa0\x80",     /* surrogate U+D800 */
			     "\xed\xbf\xbf",     /* surrogate U+DFFF */
			     "\xf0\x8f\xbf\xbf", /* overlong */
			     "\xf4\x90\x80\x80", /* above U+10FFFF */
			     "\xf5\x80\x80\x80", "\xff", "\xfe",
			     "\xe2\x82",         /* truncated */
			     "a\xc3",            /* truncated at the end */
			     "\xc3\x28"};        /* bad continuation */
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECKF(tsdb_id_validate(bad[i], strlen(bad[i]), &err) == -1, "bad[%zu]", i);
		CHECK(strcmp(err.msg, "id is not valid UTF-8") == 0);
	}
	/* the length, not a NUL, bounds the check */
	CHECK(tsdb_id_validate("\xe2\x82\xac", 2, &err) == -1);

	tsdb_series s = {0};
	CHECK(tsdb_series_set_id(&s, "lc/1", 4, &err) == 0);
	CHECK(strcmp(s.id, "lc/1") == 0 && s.id_len == 4);
	CHECK(tsdb_series_set_id(&s, "", 0, &err) == -1);
	CHECK(strcmp(s.id, "lc/1") == 0); /* unchanged on failure */
	CHECK(tsdb_series_set_id(&s, id, 255, &err) == 0 && s.id_len == 255 && s.id[255] == 0);
}

/* ---- JSON --------------------------------------------------------------- */

static void test_json_object(void)
{
	tsdb_series s;
	tsdb_err err = {0};
	REQUIRE(from_json_text("{\"id\":\"lc/1\",\"t\":[0,0.25,0.5,0.75],\"v\":[1,2.5,-3,4e0],"
			       "\"meta\":{\"z\":1,\"a\":[true,null],\"m\":{\"k\":\"\\u00e9\"}}}",
			       MAXP, &s, &err) == 0);
	REQUIRE(s.n == 4);
	CHECK(strcmp(s.id, "lc/1") == 0 && s.id_len == 4);
	CHECK(s.t[1] == 0.25 && s.v[0] == 1.0 && s.v[1] == 2.5 && s.v[2] == -3.0);
	/* meta keeps the user's key order, compactly */
	CHECKF(s.meta && strcmp(s.meta, "{\"z\":1,\"a\":[true,null],\"m\":{\"k\":\"\xc3\xa9\"}}") == 0,
	       "%s", s.meta ? s.meta : "(null)");
	CHECK(s.meta && s.meta_len == strlen(s.meta));
	tsdb_series_free(&s);

	/* an integer id is its decimal text (course clients send them) */
	REQUIRE(from_json_text("{\"id\":12,\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,4]}", MAXP, &s, &err) == 0);
	CHECK(strcmp(s.id, "12") == 0 && s.id_len == 2);
	tsdb_series_free(&s);

	/* id and meta are optional; null means absent */
	REQUIRE(from_json_text("{\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,4],\"meta\":null,"
			       "\"id\":null}",
			       MAXP, &s, &err) == 0);
	CHECK(s.id_len == 0 && s.id[0] == 0 && s.meta == NULL);
	tsdb_series_free(&s);
	REQUIRE(from_json_text("{\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,4],\"meta\":{}}", MAXP,
			       &s, &err) == 0);
	CHECK(s.meta && strcmp(s.meta, "{}") == 0);
	tsdb_series_free(&s);

	/* the course's object shape, which may also carry id and meta */
	REQUIRE(from_json_text("{\"time_points\":[0.1,0.2,0.3,0.4],\"data_points\":[5,6,7,9],"
			       "\"id\":\"c\"}",
			       MAXP, &s, &err) == 0);
	CHECK(s.n == 4 && s.v[3] == 9.0 && strcmp(s.id, "c") == 0);
	tsdb_series_free(&s);
}

static void test_json_arrays(void)
{
	tsdb_series s;
	tsdb_err err = {0};
	/* [[t...], [v...]] */
	REQUIRE(from_json_text("[[0.1,0.2,0.3,0.4],[1,2,3,5]]", MAXP, &s, &err) == 0);
	CHECK(s.n == 4 && s.t[3] == 0.4 && s.v[3] == 5.0 && s.id_len == 0);
	tsdb_series_free(&s);
	/* a list of [t, v] pairs */
	REQUIRE(from_json_text("[[0.1,1],[0.2,2],[0.3,3],[0.4,5],[0.5,0]]", MAXP, &s, &err) == 0);
	CHECK(s.n == 5 && s.t[4] == 0.5 && s.v[3] == 5.0);
	tsdb_series_free(&s);
	/* two arrays of equal length > 2 are columns, even if that length is 4 */
	REQUIRE(from_json_text("[[0.1,0.2,0.3],[1,2,3]]", MAXP, &s, &err) == -1);
	CHECK(strcmp(err.msg, "needs at least 4 points, got 3") == 0);
	/* ambiguity: [[a,b],[c,d]] reads as two pairs; either reading is 2
	 * points and is rejected, so nothing depends on the choice */
	JSON_FAILS("[[0.1,1],[0.2,2]]", "needs at least 4 points, got 2");
	/* two arrays that are not both pairs are columns, so lengths are compared */
	JSON_FAILS("[[0.1,0.2,0.3,0.4],[1,2]]", "t has 4 elements but v has 2");
	JSON_FAILS("[[0.1,0.2,0.3,0.4],[]]", "t has 4 elements but v has 0");
	/* three or more elements: pairs */
	JSON_FAILS("[[0.1,1],[0.2,2],[0.3,3,3],[0.4,4]]", "point 2 is not a [t, v] pair");
	JSON_FAILS("[[0.1,1],[0.2,2],5,[0.4,4]]", "point 2 is not a [t, v] pair");
	JSON_FAILS("[]", "needs at least 4 points, got 0");
	JSON_FAILS("[[0.1,1],[0.2,2],[0.3,\"3\"],[0.4,4]]", "v[2] is not a number");
	JSON_FAILS("[[0.1,1],[0.2,2],[true,3],[0.4,4]]", "t[2] is not a number");
}

static void test_json_errors(void)
{
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,\"x\"],\"v\":[1,2,3,4]}", "t[3] is not a number");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,true,3,4]}", "v[1] is not a number");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,null,4]}", "v[2] is not a number");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,[3],4]}", "v[2] is not a number");
	JSON_FAILS("{\"time_points\":[0.1,0.2,0.3,{}],\"data_points\":[1,2,3,4]}",
		   "time_points[3] is not a number");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3]}", "t has 4 elements but v has 3");
	JSON_FAILS("{\"t\":\"0.1\",\"v\":[1,2,3]}", "t is not an array");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":null}", "v is not an array");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4]}", "missing field 'v'");
	JSON_FAILS("{\"data_points\":[0.1,0.2,0.3,0.4]}", "missing field 'time_points'");
	JSON_FAILS("{}", "series object has no 't' and 'v'");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"time_points\":[]}", "not both");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"metadata\":{}}",
		   "unknown field 'metadata'");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"meta\":[1,2]}",
		   "meta is not an object");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"meta\":\"x\"}",
		   "meta is not an object");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"id\":7.5}", "id is not a string or an integer");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"id\":[7]}", "id is not a string or an integer");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"id\":\"\"}", "id is empty");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4],\"id\":\"a\\u0000b\"}",
		   "id contains a control character at byte 1");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,1.5],\"v\":[1,2,3,4]}", "t[3] = 1.5 is outside [0, 1)");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,-1e-300],\"v\":[1,2,3,4]}", "t[3] = -1e-300 is outside");
	JSON_FAILS("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[2,2,2,2.0]}", "constant series has no shape");
	JSON_FAILS("\"0.1 1\"", "a series is a JSON object or array");
	JSON_FAILS("42", "a series is a JSON object or array");

	tsdb_series s;
	tsdb_err err = {0};
	CHECK(from_json_text("[[0.1,0.2,0.3,0.4,0.5],[1,2,3,4,5]]", 4, &s, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE && contains(err.msg, "series has 5 points (max 4)"));
	CHECK(from_json_text("[[0.1,1],[0.2,2],[0.3,3],[0.4,4],[0.5,5]]", 4, &s, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE);

	/* jansson itself refuses what is not a finite JSON number */
	json_error_t je;
	CHECK(json_loads("[1e400]", 0, &je) == NULL);
	CHECK(json_loads("[NaN]", 0, &je) == NULL);
	CHECK(json_loads("[Infinity]", 0, &je) == NULL);
	CHECK(json_loads("[99999999999999999999]", 0, &je) == NULL);

	/* integers are converted to the nearest double */
	REQUIRE(from_json_text("[[0,0.25,0.5,0.75],[9007199254740993,-1,0,1]]", MAXP, &s, &err) ==
		0);
	CHECK(s.v[0] == 9007199254740992.0 && s.t[0] == 0.0);
	tsdb_series_free(&s);
}

static void test_json_meta_bound(void)
{
	size_t big = TSDB_META_MAX; /* the quotes and key push it over */
	char *str = malloc(big + 1);
	REQUIRE(str);
	memset(str, 'x', big);
	str[big] = '\0';
	json_t *j = load("{\"t\":[0.1,0.2,0.3,0.4],\"v\":[1,2,3,4]}");
	REQUIRE(j);
	json_t *meta = json_object();
	json_object_set_new(meta, "k", json_string(str));
	json_object_set_new(j, "meta", meta);
	tsdb_series s;
	tsdb_err err = {0};
	CHECK(tsdb_series_from_json(j, MAXP, &s, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE && contains(err.msg, "bytes (max 65536)"));
	/* exactly at the bound is fine: {"k":"..."} is 8 bytes of syntax */
	str[big - 8] = '\0';
	json_object_set_new(meta, "k", json_string(str));
	REQUIRE(tsdb_series_from_json(j, MAXP, &s, &err) == 0);
	CHECK(s.meta_len == TSDB_META_MAX && strlen(s.meta) == TSDB_META_MAX);
	tsdb_series_free(&s);
	json_decref(j);
	free(str);
}

/* to_json -> text -> json_loads -> from_json must give back every bit. */
static void round_trip(const tsdb_series *in)
{
	json_t *j = tsdb_series_to_json(in);
	REQUIRE(j);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	REQUIRE(text);
	json_error_t je;
	json_t *back = json_loads(text, 0, &je);
	free(text);
	REQUIRE(back);
	tsdb_series out;
	tsdb_err err = {0};
	int rc = tsdb_series_from_json(back, MAXP, &out, &err);
	json_decref(back);
	REQUIRE(rc == 0);
	CHECK(out.n == in->n);
	CHECK(memcmp(out.t, in->t, in->n * sizeof(double)) == 0);
	CHECK(memcmp(out.v, in->v, in->n * sizeof(double)) == 0);
	CHECK(out.id_len == in->id_len && memcmp(out.id, in->id, in->id_len) == 0);
	CHECK((out.meta == NULL) == (in->meta == NULL));
	if (out.meta && in->meta)
		CHECKF(strcmp(out.meta, in->meta) == 0, "%s vs %s", out.meta, in->meta);
	tsdb_series_free(&out);
}

static void test_round_trip_bits(void)
{
	/* extreme and awkward doubles as values, edge times */
	double t[] = {0.0, -0.0, 5e-324, 0.1, 1.0 / 3, 0.5, nextafter(1.0, 0.0), 0.7,
		      DBL_MIN, 0.2, 0.3, 0.4};
	double v[] = {-0.0, 5e-324, 1e308, -DBL_MAX, DBL_MAX, DBL_MIN, 0.1, 1.0 / 3,
		      -2.2250738585072009e-308 /* largest subnormal */, 123456789012345678.0,
		      1.0, 0.0};
	size_t n = sizeof t / sizeof t[0];
	tsdb_series s = {.n = n, .t = t, .v = v};
	tsdb_err err = {0};
	REQUIRE(tsdb_series_validate(&s, MAXP, &err) == 0);
	round_trip(&s);

	/* random bit patterns: every finite double as a value, random times */
	double rt[500], rv[500];
	tsdb_rng r;
	tsdb_rng_seed(&r, 77);
	for (size_t i = 0; i < 500; i++) {
		uint64_t bits;
		do {
			bits = tsdb_rng_next(&r);
			memcpy(&rv[i], &bits, sizeof bits);
		} while (!isfinite(rv[i]));
		rt[i] = tsdb_rng_uniform(&r) * ldexp(1.0, -(int)tsdb_rng_below(&r, 60));
	}
	tsdb_series s2 = {.n = 500, .t = rt, .v = rv};
	REQUIRE(tsdb_series_validate(&s2, MAXP, &err) == 0);
	round_trip(&s2);

	/* with an id and metadata */
	tsdb_series s3 = {0};
	REQUIRE(from_json_text("{\"id\":\"\xc3\xa9/x\",\"t\":[0,0.1,0.2,0.3],\"v\":[0.1,0.2,0.3,"
			       "0.7],\"meta\":{\"b\":0.1,\"a\":\"q\\\"\",\"n\":[1,{\"x\":null}]}}",
			       MAXP, &s3, &err) == 0);
	round_trip(&s3);
	json_t *j = tsdb_series_to_json(&s3);
	REQUIRE(j);
	CHECK(json_is_object(json_object_get(j, "meta")));
	CHECK(strcmp(json_string_value(json_object_get(j, "id")), "\xc3\xa9/x") == 0);
	json_decref(j);
	tsdb_series_free(&s3);

	/* no id and no meta come out as null */
	j = tsdb_series_to_json(&s);
	REQUIRE(j);
	CHECK(json_is_null(json_object_get(j, "id")) && json_is_null(json_object_get(j, "meta")));
	CHECK(json_array_size(json_object_get(j, "t")) == n);
	json_decref(j);
}

/* ---- files and the two real light curves -------------------------------- */

static void load_curve(const char *path, size_t npoints, double t0, double v0)
{
	char *buf;
	size_t len;
	tsdb_err err = {0};
	REQUIRE(tsdb_read_file(path, 1 << 20, &buf, &len, &err) == 0);
	CHECK(buf[len] == '\0');
	tsdb_series s;
	REQUIRE(tsdb_series_parse_text(buf, len, path, MAXP, &s, &err) == 0);
	CHECKF(s.n == npoints, "%s: %zu points", path, s.n);
	CHECK(s.t[0] == t0 && s.v[0] == v0);
	round_trip(&s);
	tsdb_series_free(&s);
	free(buf);
}

static void test_light_curves(void)
{
	load_curve("tests/data/169975.dat_folded", 300, 0.00180913740769, 15.137);
	load_curve("tests/data/51886.dat_folded", 275, 0.00441654748283, 14.676);
}

static void test_read_file(void)
{
	char *buf = (char *)1;
	size_t len = 7;
	tsdb_err err = {0};
	CHECK(tsdb_read_file("tests/data/no-such-file", 100, &buf, &len, &err) == -1);
	CHECK(buf == NULL && len == 0 && err.code == TSDB_E_IO);
	CHECKF(contains(err.msg, "tests/data/no-such-file") &&
		       contains(err.msg, "No such file or directory"),
	       "%s", err.msg);
	CHECK(tsdb_read_file("tests/data", 100, &buf, &len, &err) == -1);
	CHECKF(contains(err.msg, "tests/data") && contains(err.msg, "directory"), "%s", err.msg);
	CHECK(tsdb_read_file("tests/data/51886.dat_folded", 1000, &buf, &len, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE && contains(err.msg, "51886.dat_folded"));
	REQUIRE(tsdb_read_file("tests/data/51886.dat_folded", 11543, &buf, &len, &err) == 0);
	CHECK(len == 11543);
	free(buf);
	/* a file without a size in stat, read to its end */
	REQUIRE(tsdb_read_file("/proc/self/status", 1 << 20, &buf, &len, &err) == 0);
	CHECK(len > 0 && strlen(buf) == len && contains(buf, "Name:"));
	free(buf);
	CHECK(tsdb_read_file("/proc/self/status", 10, &buf, &len, &err) == -1);
	CHECK(err.code == TSDB_E_TOO_LARGE);

	/* "-" is standard input */
	int saved = dup(0);
	int fd = open("tests/data/169975.dat_folded", O_RDONLY);
	REQUIRE(saved >= 0 && fd >= 0);
	REQUIRE(dup2(fd, 0) == 0);
	close(fd);
	int rc = tsdb_read_file("-", 1 << 20, &buf, &len, &err);
	dup2(saved, 0);
	close(saved);
	REQUIRE(rc == 0);
	CHECK(len == 12604);
	free(buf);
}

int main(void)
{
	RUN(test_text_basic);
	RUN(test_text_crlf_and_no_final_newline);
	RUN(test_text_errors);
	RUN(test_text_times);
	RUN(test_text_counts);
	RUN(test_validate);
	RUN(test_id_validation);
	RUN(test_json_object);
	RUN(test_json_arrays);
	RUN(test_json_errors);
	RUN(test_json_meta_bound);
	RUN(test_round_trip_bits);
	RUN(test_light_curves);
	RUN(test_read_file);
	return tap_done();
}
