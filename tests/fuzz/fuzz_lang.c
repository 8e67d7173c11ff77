/*
 * fuzz_lang.c - libFuzzer target for the query language (querylang.h):
 * tsdb_ql_compile on arbitrary bytes, i.e. whatever a user types after
 * simsearch or tsdb search.
 *
 * Every outcome is checked against the module's promises, and a broken one
 * aborts (a crash for libFuzzer) even when no sanitizer fires:
 *  - a success is a JSON object with a known "op", that serializes and
 *    reads back equal (no duplicate keys), nests at most 64 levels, has a
 *    ts_file exactly when the op needs a series from the caller, and, for
 *    the ops the protocol decoder knows, is accepted by it
 *    (tsdb_request_decode, its filter taken out and a series put in "ts"
 *    where the caller would) unless a number is beyond the server's
 *    default limits;
 *  - a failure leaves nothing behind, has an error code, and a message
 *    that is valid UTF-8 and starts with "L:C: ", the same place as
 *    error_at, whose byte offset lies in the input and counts to exactly
 *    that line and column (columns in characters);
 *  - compiling the same bytes twice gives the same answer.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "proto.h"
#include "querylang.h"

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_lang: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* Nesting of a JSON value as the protocol counts it (an object or array
 * is one level more than its deepest member; scalars are 0). */
static int json_depth(const json_t *v)
{
	int deepest = 0;
	if (json_is_object(v)) {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)v, key, member) {
			int d = json_depth(member);
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	}
	if (json_is_array(v)) {
		size_t i;
		json_t *member;
		json_array_foreach(v, i, member) {
			int d = json_depth(member);
			if (d > deepest)
				deepest = d;
		}
		return deepest + 1;
	}
	return 0;
}

/* Is integer field `name` of obj absent or within lo..hi? */
static int within_limits(const json_t *obj, const char *name, json_int_t lo, json_int_t hi)
{
	const json_t *v = json_object_get(obj, name);
	return !v || (json_integer_value(v) >= lo && json_integer_value(v) <= hi);
}

/* What the protocol decoder says of a compiled request: it must accept
 * it unless a number is beyond the server's default limits, and then
 * refuse it as an invalid component, never as a bad request, a bad op or
 * a bad id.  The filter (where, md) is taken out first: what it means and
 * which filters the server evaluates are the filter module's, fuzzed on
 * their own; the language only promises the JSON form.  select is
 * checked where the decoder knows it. */
static void check_decodes(const json_t *req, int needs_ts)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	enum tsdb_op known;
	if (tsdb_op_from_name(op, strlen(op), &known) != 0)
		return;
	json_t *copy = json_deep_copy(req);
	if (!copy)
		die("out of memory", NULL);
	json_object_del(copy, "where");
	json_object_del(copy, "md");
	if (needs_ts)
		json_object_set_new(copy, "ts", json_pack("{s[ffff]s[ffff]}", "t", 0.0, 0.25, 0.5,
							  0.75, "v", 1.0, 2.0, 3.0, 2.0));
	char *body = json_dumps(copy, JSON_COMPACT);
	if (!body)
		die("request does not serialize", NULL);
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	tsdb_request dec;
	tsdb_err err = {.code = TSDB_E_NONE};
	int rc = tsdb_request_decode(body, strlen(body), &lim, &dec, &err);
	const json_t *additional = json_object_get(copy, "additional");
	int in_range = within_limits(copy, "k", 1, lim.max_k) &&
		       within_limits(copy, "limit", 1, lim.max_limit) &&
		       within_limits(copy, "shape", 0, 256) &&
		       within_limits(additional, "limit", 1, lim.max_limit) &&
		       within_limits(additional, "offset", 0, INT32_MAX);
#ifdef TSDB_SELECT_MAX_FIELDS
	in_range = in_range && json_array_size(json_object_get(copy, "fields")) <= TSDB_SELECT_MAX_FIELDS;
#endif
	if (rc != 0 && (in_range || (err.code != TSDB_E_INVALID_ARG && err.code != TSDB_E_TOO_LARGE)))
		die("the decoder refuses a compiled request", err.msg);
	if (rc == 0 && !in_range)
		die("the decoder accepts a request beyond its limits", body);
	tsdb_request_free(&dec);
	json_decref(copy);
	free(body);
}

static void check_success(const tsdb_ql_result *r)
{
	static const char *const ops[] = {"with_id", "with_ts", "within", "select", "get", "info",
					  "list"};
	if (!json_is_object(r->request))
		die("request is not an object", NULL);
	if (r->error_at.line || r->error_at.column || r->error_at.offset)
		die("error_at set on success", NULL);
	const char *op = json_string_value(json_object_get(r->request, "op"));
	int known = 0;
	for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
		known |= strcmp(op, ops[i]) == 0;
	if (!known)
		die("request without a known op", op);
	int needs_ts = strcmp(op, "with_ts") == 0 ||
		       (strcmp(op, "within") == 0 && !json_object_get(r->request, "id"));
	if (needs_ts != (r->ts_file != NULL))
		die("ts_file disagrees with the op", op);
	if (r->ts_file && r->ts_file[0] == '\0')
		die("empty ts_file", NULL);
	if (json_depth(r->request) > TSDB_JSON_MAX_DEPTH)
		die("request nests deeper than the protocol allows", NULL);
	char *text = json_dumps(r->request, JSON_COMPACT);
	if (!text)
		die("request does not serialize", NULL);
	json_error_t jerr;
	json_t *back = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!back || !json_equal(back, r->request))
		die("request does not read back the same", text);
	json_decref(back);
	free(text);
	check_decodes(r->request, needs_ts);
}

static void check_failure(const uint8_t *data, size_t size, const tsdb_ql_result *r,
			  const tsdb_err *err)
{
	if (r->request || r->ts_file)
		die("failed compile left a result", err->msg);
	if (err->code == TSDB_E_NONE)
		die("failure without an error code", err->msg);
	json_t *utf8 = json_string(err->msg);
	if (!utf8)
		die("message is not valid UTF-8", err->msg);
	json_decref(utf8);
	size_t line, col;
	int used = 0;
	if (sscanf(err->msg, "%zu:%zu: %n", &line, &col, &used) != 2 || used == 0 ||
	    strncmp(err->msg + used - 2, ": ", 2) != 0)
		die("message does not start with \"L:C: \"", err->msg);
	if (line != r->error_at.line || col != r->error_at.column)
		die("message and error_at disagree", err->msg);
	size_t off = r->error_at.offset;
	if (off > size)
		die("error_at beyond the input", err->msg);
	/* the offset must count to that place: lines after line feeds,
	 * columns in characters (bytes that are not UTF-8 continuations) */
	size_t l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (data[i] == '\n')
			l++, c = 1;
		else if ((data[i] & 0xC0) != 0x80)
			c++;
	}
	if (l != line || c != col)
		die("error_at's offset is not at its line and column", err->msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tsdb_ql_result r, again;
	tsdb_err err = {.code = TSDB_E_NONE}, err2 = {.code = TSDB_E_NONE};
	int rc = tsdb_ql_compile((const char *)data, size, &r, &err);
	if (rc == 0)
		check_success(&r);
	else if (rc == -1)
		check_failure(data, size, &r, &err);
	else
		die("tsdb_ql_compile returned neither 0 nor -1", NULL);
	int rc2 = tsdb_ql_compile((const char *)data, size, &again, &err2);
	if (rc2 != rc || (rc == 0 && (!json_equal(r.request, again.request) ||
				      (r.ts_file == NULL) != (again.ts_file == NULL) ||
				      (r.ts_file && strcmp(r.ts_file, again.ts_file) != 0))) ||
	    (rc != 0 && strcmp(err.msg, err2.msg) != 0))
		die("two compiles of the same bytes disagree", err.msg);
	tsdb_ql_result_free(&again);
	tsdb_ql_result_free(&r);
	tsdb_ql_result_free(&r);  /* documented as safe to repeat */
	return 0;
}
