/*
 * fuzz_pred.c - libFuzzer target for metadata filters (predicate.h): the
 * compiler on any JSON a request can carry, and the promise that the
 * stored-text matcher reads metadata exactly as jansson does.
 *
 * The input is a filter's JSON text, a newline, and a metadata text (any
 * bytes, up to the end of the input); without a newline it is all filter.
 *  - The filter is parsed with the request decoder's flags and compiled.
 *    A refusal must be INVALID_ARG or TOO_LARGE with a message that names
 *    the place ("where...") and is valid UTF-8 (it travels in a response);
 *    an accepted filter lists its fields distinct and in byte order, and
 *    an always-true or always-false one reads none.
 *  - Every compiled filter (the input's, and a few fixed ones that read
 *    many fields, so that the scanner runs on every input) is matched
 *    against the metadata text and against the whole input as text:
 *        tsdb_pred_match_text == tsdb_pred_match_json(json_loadb(...)),
 *    and when jansson reads an object, its compact form (what the writer
 *    stores) must match the same way.
 * A disagreement aborts: it is a bug even when no sanitizer fires.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "predicate.h"

/* src/proto.c parses requests, and so a where, so. */
#define REQUEST_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_pred: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

static const char *const fixed_filters[] = {
	"{\"a\":{\"exists\":true}}",
	"{\"$not\":{\"a\":1}}",
	"{\"$or\":[{\"a\":{\"<\":\"m\"}},{\"b\":{\">=\":0.5}},{\"\xc3\xa9\":{\"in\":[1,\"x\",true,-0.0]}}]}",
	"{\"a\":{\"!=\":9007199254740993},\"b\":{\"exists\":false},\"c\":\"caf\xc3\xa9\"}",
	("{\"$and\":[{\"level\":{\">\":\"A\",\"<=\":\"Z\"}},{\"$not\":{\"x\":false}}],"
	 "\"n\":{\"in\":[0,1e300,\"\\u0000\"]}}"),
};
#define NFIXED (sizeof fixed_filters / sizeof fixed_filters[0])
static tsdb_pred *fixed[NFIXED];

/* Both matchers on text[0..len), and on the compact text of what jansson
 * read; a copy of exactly len bytes, so a read past the end is caught. */
static void check_agreement(const tsdb_pred *p, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	if (!copy)
		die("out of memory", NULL);
	memcpy(copy, text, len);
	int by_text = tsdb_pred_match_text(p, copy, len);
	json_t *j = json_loadb(copy, len, TSDB_PRED_META_JSON_FLAGS, NULL);
	int by_json = tsdb_pred_match_json(p, j);
	if (by_text != by_json)
		die(by_text ? "the text path matches, the json path does not"
			    : "the json path matches, the text path does not",
		    j ? "jansson read the text" : "jansson refused the text");
	if (json_is_object(j)) {
		size_t need = json_dumpb(j, NULL, 0, JSON_COMPACT);
		char *compact = need ? malloc(need) : NULL;
		if (compact && json_dumpb(j, compact, need, JSON_COMPACT) == need &&
		    tsdb_pred_match_text(p, compact, need) != by_json)
			die("the compact form of the metadata matches otherwise", NULL);
		free(compact);
	}
	json_decref(j);
	free(copy);
	if (tsdb_pred_match_text(p, NULL, 0) != tsdb_pred_match_json(p, NULL))
		die("the paths disagree on no metadata", NULL);
}

/* What tsdb_pred_compile promises about a predicate it accepted. */
static void check_compiled(const tsdb_pred *p)
{
	size_t n = tsdb_pred_field_count(p), prev_len = 0;
	const char *prev = NULL;
	for (size_t k = 0; k < n; k++) {
		size_t len = 0;
		const char *f = tsdb_pred_field(p, k, &len);
		if (!f || len == 0 || len > TSDB_PRED_MAX_FIELD || strlen(f) != len)
			die("a field name out of its bounds", f);
		if (prev) {
			int c = memcmp(prev, f, prev_len < len ? prev_len : len);
			if (c > 0 || (c == 0 && prev_len >= len))
				die("fields not distinct and in byte order", f);
		}
		prev = f;
		prev_len = len;
	}
	if (tsdb_pred_field(p, n, NULL))
		die("a field past the count", NULL);
	if (tsdb_pred_always_true(p) && tsdb_pred_always_false(p))
		die("always true and always false", NULL);
	if ((tsdb_pred_always_true(p) || tsdb_pred_always_false(p)) && n)
		die("a constant predicate reads fields", NULL);
	if (tsdb_pred_always_true(p) && !tsdb_pred_match_text(p, NULL, 0))
		die("an always-true predicate does not match", NULL);
	if (tsdb_pred_always_false(p) && tsdb_pred_match_text(p, NULL, 0))
		die("an always-false predicate matches", NULL);
}

static void check_refusal(const tsdb_err *err)
{
	if (err->code != TSDB_E_INVALID_ARG && err->code != TSDB_E_TOO_LARGE)
		die("a refusal with an unexpected code", err->msg);
	if (strncmp(err->msg, "where", 5) != 0 || !strstr(err->msg, ": "))
		die("a refusal that does not name its place", err->msg);
	json_t *s = json_string(err->msg); /* NULL unless valid UTF-8 */
	if (!s)
		die("a refusal message that is not UTF-8", err->msg);
	json_decref(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t k = 0; k < NFIXED; k++) {
		tsdb_err err;
		json_t *w = json_loads(fixed_filters[k], REQUEST_FLAGS, NULL);
		if (!w || tsdb_pred_compile(w, &fixed[k], &err) != 0)
			die("a fixed filter does not compile", fixed_filters[k]);
		json_decref(w);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	size_t where_len = nl ? (size_t)(nl - in) : size;
	const char *meta = nl ? nl + 1 : NULL;
	size_t meta_len = nl ? size - where_len - 1 : 0;

	json_t *where = json_loadb(in, where_len, REQUEST_FLAGS, NULL);
	if (where) {
		static char sentinel;
		tsdb_pred *p = (tsdb_pred *)&sentinel; /* must become NULL on a refusal */
		tsdb_err err = {.code = TSDB_E_NONE};
		if (tsdb_pred_compile(where, &p, &err) == 0) {
			if (!p)
				die("compiled to NULL", NULL);
			check_compiled(p);
			if (meta)
				check_agreement(p, meta, meta_len);
			check_agreement(p, in, size);
			tsdb_pred_free(p);
		} else {
			if (p)
				die("a refusal left a predicate", err.msg);
			check_refusal(&err);
		}
		json_decref(where);
	}
	for (size_t k = 0; k < NFIXED; k++) {
		if (meta)
			check_agreement(fixed[k], meta, meta_len);
		check_agreement(fixed[k], in, size);
	}
	return 0;
}
