/*
 * test_input.c - loading series for insertion (input.h): text, JSON, JSON
 * Lines, directories and standard input; ids from file names; messages
 * that name the file and line; stop mode's rollback; skip mode's
 * collection; duplicate ids in a batch; bounds; blame.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"
#include "tap.h"
#include "testutil.h"

static int contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* Four points of a valid series, as text and as JSON. */
#define TEXT4 "0.0 1\n0.25 2\n0.5 3\n0.75 2\n"
#define TV4 "\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3,2]"

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = test_path(dir, name);
	if (test_spew(p, text, strlen(text)) != 0)
		printf("# cannot write %s\n", p);
	free(p);
}

/* Skip mode's callback: collects the messages. */
struct seen {
	int n;
	char msg[8][512];
};

static void collect(void *ctx, const tsdb_err *e)
{
	struct seen *s = ctx;
	if (s->n < 8)
		snprintf(s->msg[s->n], sizeof s->msg[0], "%s", e->msg);
	s->n++;
}

static void opts(tsdb_input_opts *o, int skip, struct seen *seen)
{
	tsdb_input_opts_default(o);
	o->skip_invalid = skip;
	o->on_invalid = collect;
	o->ctx = seen;
}

static int parse(tsdb_batch *b, const char *text, const char *name, const char *forced,
		 const tsdb_input_opts *o, tsdb_err *e)
{
	return tsdb_input_parse(b, text, strlen(text), name, forced, o, e);
}

static int id_is(const tsdb_series *s, const char *id)
{
	return s->id_len == strlen(id) && memcmp(s->id, id, s->id_len) == 0;
}

/* ---- ids from names ------------------------------------------------------ */

static void test_id_from_name(void)
{
	static const char *const cases[][2] = {
		{"tests/data/51886.dat_folded", "51886"},
		{"a.b.c", "a.b"},
		{"plain", "plain"},
		{"dir/.hidden", ".hidden"},
		{".x.json", ".x"},
		{"x.", "x"},
		{"/abs/path/star 17.dat", "star 17"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char id[TSDB_ID_MAX + 1];
		size_t len = 0;
		tsdb_err e = {0};
		CHECKF(tsdb_input_id_from_name(cases[i][0], id, &len, &e) == 0, "%s: %s",
		       cases[i][0], e.msg);
		CHECKF(len == strlen(cases[i][1]) && strcmp(id, cases[i][1]) == 0, "%s -> '%s'",
		       cases[i][0], id);
	}
	char id[TSDB_ID_MAX + 1];
	size_t len;
	tsdb_err e = {0};
	CHECK(tsdb_input_id_from_name("dir/.dat", id, &len, &e) == 0 && strcmp(id, ".dat") == 0);
	CHECK(tsdb_input_id_from_name("dir/bad\x01name.dat", id, &len, &e) == -1);
	CHECK(contains(e.msg, "gives no valid id"));
	CHECK(tsdb_input_id_from_name("dir/", id, &len, &e) == -1);
	char longname[400];
	memset(longname, 'a', sizeof longname);
	memcpy(longname + 300, ".dat", 5);
	CHECK(tsdb_input_id_from_name(longname, id, &len, &e) == -1);
}

/* ---- formats -------------------------------------------------------------- */

static void test_text_file(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	REQUIRE(tsdb_input_load(&b, "tests/data/51886.dat_folded", NULL, &o, &e) == 0);
	REQUIRE(b.n == 1);
	CHECK(id_is(&b.series[0], "51886"));
	CHECK(b.series[0].n == 275);
	CHECK(b.series[0].t[0] == 0.00441654748283 && b.series[0].v[0] == 14.676);
	char where[256];
	tsdb_batch_where(&b, 0, where, sizeof where);
	CHECK(strcmp(where, "tests/data/51886.dat_folded") == 0);
	REQUIRE(tsdb_input_load(&b, "tests/data/169975.dat_folded", NULL, &o, &e) == 0);
	CHECK(b.n == 2 && id_is(&b.series[1], "169975"));
	CHECK(tsdb_input_finish(&b, &o, &e) == 0 && b.n == 2);
	tsdb_batch_free(&b);
	CHECK(b.n == 0 && b.series == NULL);
}

static void test_json_single_shapes(void)
{
	static const char *const docs[] = {
		"{" TV4 "}",
		"  \n{\"id\":\"own\"," TV4 ",\"meta\":{\"band\":\"V\"}}\n\n",
		"{\"time_points\":[0,0.25,0.5,0.75],\"data_points\":[1,2,3,2]}",
		"[[0,0.25,0.5,0.75],[1,2,3,2]]",
		"[[0,1],[0.25,2],[0.5,3],[0.75,2]]",
		"\xef\xbb\xbf{" TV4 "}",
		"{\n  \"t\": [0, 0.25, 0.5, 0.75],\n  \"v\": [1, 2, 3, 2]\n}\n",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		tsdb_batch b;
		tsdb_input_opts o;
		tsdb_err e = {0};
		struct seen seen = {0};
		opts(&o, 0, &seen);
		tsdb_batch_init(&b);
		CHECKF(parse(&b, docs[i], "dir/shape.json", NULL, &o, &e) == 0, "doc %zu: %s", i,
		       e.msg);
		if (b.n == 1) {
			CHECKF(id_is(&b.series[0], i == 1 ? "own" : "shape"), "doc %zu id '%s'", i,
			       b.series[0].id);
			CHECK(b.series[0].n == 4 && b.series[0].v[2] == 3.0);
			if (i == 1)
				CHECK(b.series[0].meta && strcmp(b.series[0].meta, "{\"band\":\"V\"}") == 0);
		} else
			CHECKF(0, "doc %zu gave %zu series", i, b.n);
		tsdb_batch_free(&b);
	}
}

static void test_json_lines(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	const char *text = "{\"id\":\"a\"," TV4 "}\n"
			   "\n"
			   "   \r\n"
			   "{\"id\":\"b\"," TV4 ",\"meta\":{\"k\":1}}\r\n"
			   "{\"id\":\"c\",\"time_points\":[0,0.25,0.5,0.75],\"data_points\":[1,2,3,2]}";
	REQUIRE(parse(&b, text, "batch.txt", NULL, &o, &e) == 0);
	REQUIRE(b.n == 3);
	CHECK(id_is(&b.series[0], "a") && id_is(&b.series[1], "b") && id_is(&b.series[2], "c"));
	char where[256];
	tsdb_batch_where(&b, 1, where, sizeof where);
	CHECKF(strcmp(where, "batch.txt line 4") == 0, "%s", where);
	tsdb_batch_where(&b, 2, where, sizeof where);
	CHECKF(strcmp(where, "batch.txt line 5") == 0, "%s", where);

	/* .jsonl is JSON Lines even with one line, so the line needs an id */
	REQUIRE(parse(&b, "{\"id\":\"d\"," TV4 "}\n", "one.jsonl", NULL, &o, &e) == 0);
	CHECK(b.n == 4 && b.origin[3].line == 1);
	CHECK(parse(&b, "{" TV4 "}\n", "anon.jsonl", NULL, &o, &e) == -1);
	CHECKF(contains(e.msg, "anon.jsonl line 1: the record has no id"), "%s", e.msg);
	CHECK(b.n == 4);
	tsdb_batch_free(&b);
}

/* Messages name the file and the line and say what is wrong. */
static void test_errors_name_place(void)
{
	static const struct {
		const char *text, *name, *want;
	} cases[] = {
		{"{\"id\":\"a\"," TV4 "}\n{\"id\":\"b\",\"t\":[0,0.25,0.5,\"x\"],\"v\":[1,2,3,2]}\n",
		 "batch.jsonl", "batch.jsonl line 2: t[3] is not a number"},
		{"{\"id\":\"a\"," TV4 "}\n\n[[0,1],[0.25,2],[0.5,3],[0.75,4]]\n", "b.jsonl",
		 "b.jsonl line 3: a JSON Lines record is an object with an id"},
		{"{\"id\":\"a\"," TV4 "}\n{\"id\":\"b\", oops}\n", "c.jsonl", "c.jsonl line 2: "},
		{"{\"id\":\"a\"," TV4 "} trailing\n", "d.json", "d.json line 1: "},
		{"{\"t\":[0,0.25],\n \"v\":[1,2,]}", "e.json", "e.json line 2 column"},
		{"{\"id\":\"x\",\"id\":\"y\"," TV4 "}", "f.json", "f.json line 1"},
		{"{\"id\":\"x\",\"t\":[0,0.25,0.5,1.5],\"v\":[1,2,3,2]}", "g.json",
		 "g.json: t[3] = 1.5 is outside [0, 1)"},
		{"0.1 1\n0.2 2\n0.3 x\n", "h.dat", "h.dat line 3: value 'x' is not a number"},
		{"0.1 1\n0.2 1\n0.3 1\n0.4 1\n", "i.dat", "i.dat: constant series"},
		{"", "j.dat", "j.dat: no series (the file is empty)"},
		{"  \n\t\n", "k.dat", "k.dat: no series"},
		{"{\"id\":\"a\"," TV4 ",\"band\":\"V\"}", "l.json", "l.json: unknown field 'band'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tsdb_batch b;
		tsdb_input_opts o;
		tsdb_err e = {0};
		struct seen seen = {0};
		opts(&o, 0, &seen);
		tsdb_batch_init(&b);
		CHECKF(parse(&b, cases[i].text, cases[i].name, NULL, &o, &e) == -1, "case %zu", i);
		CHECKF(contains(e.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i, e.msg,
		       cases[i].want);
		CHECKF(b.n == 0 && b.nfiles == 0, "case %zu left %zu series", i, b.n);
		CHECK(seen.n == 0);
		tsdb_batch_free(&b);
	}
}

/* Standard input has no name: ids come from the JSON or --id. */
static void test_stdin_and_forced_id(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	CHECK(parse(&b, TEXT4, NULL, NULL, &o, &e) == -1);
	CHECKF(contains(e.msg, "standard input: a series in the text format needs --id"), "%s",
	       e.msg);
	CHECK(parse(&b, "{" TV4 "}", NULL, NULL, &o, &e) == -1);
	CHECK(contains(e.msg, "standard input: the series has no id"));
	REQUIRE(parse(&b, TEXT4, NULL, "star-17", &o, &e) == 0);
	CHECK(b.n == 1 && id_is(&b.series[0], "star-17"));
	REQUIRE(parse(&b, "{\"id\":\"j\"," TV4 "}\n{\"id\":\"k\"," TV4 "}\n", NULL, NULL, &o,
		      &e) == 0);
	CHECK(b.n == 3 && id_is(&b.series[2], "k"));
	/* --id beats the file name, must agree with the JSON's own id, and
	 * cannot name a batch */
	REQUIRE(parse(&b, TEXT4, "x/file.dat", "forced", &o, &e) == 0);
	CHECK(b.n == 4 && id_is(&b.series[3], "forced"));
	REQUIRE(parse(&b, "{\"id\":\"same\"," TV4 "}", "x.json", "same", &o, &e) == 0);
	CHECK(b.n == 5);
	CHECK(parse(&b, "{\"id\":\"mine\"," TV4 "}", "x.json", "other", &o, &e) == -1);
	CHECK(contains(e.msg, "x.json: the series' id 'mine' differs from --id 'other'"));
	CHECK(parse(&b, "{\"id\":\"j\"," TV4 "}\n{\"id\":\"k\"," TV4 "}\n", "y.txt", "z", &o,
		    &e) == -1);
	CHECK(contains(e.msg, "y.txt: holds JSON Lines, but --id names a single series"));
	CHECK(parse(&b, TEXT4, "x.dat", "bad\x01id", &o, &e) == -1);
	CHECK(contains(e.msg, "x.dat: --id"));
	CHECK(tsdb_input_load(&b, "tests/data", NULL, &o, &e) == 0); /* a directory... */
	CHECK(tsdb_input_load(&b, "tests/data", "x", &o, &e) == -1); /* ...is not one series */
	CHECK(contains(e.msg, "is a directory"));
	CHECK(b.n == 7);
	/* a query needs no id */
	o.anonymous_ok = 1;
	REQUIRE(parse(&b, TEXT4, NULL, NULL, &o, &e) == 0);
	CHECK(b.n == 8 && b.series[7].id_len == 0);
	REQUIRE(parse(&b, TEXT4, "bad\x02name.dat", NULL, &o, &e) == 0);
	CHECK(b.n == 9 && b.series[8].id_len == 0);
	tsdb_batch_free(&b);
}

/* A directory: its regular files in name order, hidden ones and
 * subdirectories skipped, symbolic links to files followed. */
static void test_directory(void)
{
	char *dir = test_tmpdir();
	char *sub = test_path(dir, "sub");
	REQUIRE(mkdir(sub, 0755) == 0);
	write_file(dir, "b.dat", TEXT4);
	write_file(dir, "a.json", "{" TV4 "}");
	write_file(dir, "c.jsonl", "{\"id\":\"c1\"," TV4 "}\n{\"id\":\"c2\"," TV4 "}\n");
	write_file(dir, ".hidden.dat", "garbage");
	write_file(sub, "deep.dat", TEXT4);
	char *target = test_path(dir, "b.dat"), *link = test_path(dir, "link.dat");
	REQUIRE(symlink(target, link) == 0);

	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	REQUIRE(tsdb_input_load(&b, dir, NULL, &o, &e) == 0);
	REQUIRE(b.n == 5);
	const char *want[] = {"a", "b", "c1", "c2", "link"};
	for (size_t i = 0; i < 5; i++)
		CHECKF(id_is(&b.series[i], want[i]), "%zu: '%s'", i, b.series[i].id);
	char where[4200], expect[4200];
	tsdb_batch_where(&b, 3, where, sizeof where);
	snprintf(expect, sizeof expect, "%s/c.jsonl line 2", dir);
	CHECKF(strcmp(where, expect) == 0, "%s", where);
	CHECK(tsdb_input_finish(&b, &o, &e) == 0);
	tsdb_batch_free(&b);

	/* one bad file: stop mode loads nothing of the directory */
	write_file(dir, "d.dat", "0.1 1\n0.2 nope\n");
	tsdb_batch_init(&b);
	REQUIRE(tsdb_input_load(&b, "tests/data/51886.dat_folded", NULL, &o, &e) == 0);
	CHECK(tsdb_input_load(&b, dir, NULL, &o, &e) == -1);
	CHECKF(contains(e.msg, "/d.dat line 2: value 'nope' is not a number"), "%s", e.msg);
	CHECK(b.n == 1 && b.nfiles == 1);
	/* skip mode: the rest of it */
	o.skip_invalid = 1;
	REQUIRE(tsdb_input_load(&b, dir, NULL, &o, &e) == 0);
	CHECK(b.n == 6 && b.skipped == 1 && seen.n == 1);
	CHECK(contains(seen.msg[0], "d.dat line 2"));
	tsdb_batch_free(&b);

	CHECK(tsdb_input_load(&b, "/nonexistent/x.dat", NULL, &o, &e) == 0); /* skipped */
	CHECK(seen.n == 2 && contains(seen.msg[1], "cannot open /nonexistent/x.dat"));
	o.skip_invalid = 0;
	CHECK(tsdb_input_load(&b, "/nonexistent/x.dat", NULL, &o, &e) == -1);
	CHECK(e.code == TSDB_E_IO);
	tsdb_batch_free(&b);
	free(target);
	free(link);
	free(sub);
	test_rmtree(dir);
}

/* ---- modes ----------------------------------------------------------------- */

/* Stop mode leaves the batch as it was; skip mode reports every bad record
 * and keeps the good ones. */
static void test_stop_and_skip(void)
{
	const char *text = "{\"id\":\"a\"," TV4 "}\n"
			   "{\"id\":\"b\",\"t\":[0,0.25,0.5,0.75],\"v\":[1,2,3]}\n"
			   "{\"id\":\"c\"," TV4 "}\n"
			   "not json\n"
			   "{\"id\":\"e\"," TV4 "}\n";
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	REQUIRE(parse(&b, "{\"id\":\"first\"," TV4 "}", "first.json", NULL, &o, &e) == 0);
	CHECK(parse(&b, text, "mixed.jsonl", NULL, &o, &e) == -1);
	CHECK(contains(e.msg, "mixed.jsonl line 2: t has 4 elements but v has 3"));
	CHECK(b.n == 1 && b.nfiles == 1 && seen.n == 0);

	o.skip_invalid = 1;
	REQUIRE(parse(&b, text, "mixed.jsonl", NULL, &o, &e) == 0);
	CHECK(b.n == 4 && b.skipped == 2 && seen.n == 2);
	CHECK(id_is(&b.series[1], "a") && id_is(&b.series[2], "c") && id_is(&b.series[3], "e"));
	CHECK(contains(seen.msg[0], "mixed.jsonl line 2: "));
	CHECK(contains(seen.msg[1], "mixed.jsonl line 4: "));
	char where[256];
	tsdb_batch_where(&b, 3, where, sizeof where);
	CHECK(strcmp(where, "mixed.jsonl line 5") == 0);
	/* a bad whole file is one problem */
	REQUIRE(parse(&b, "0.1 x\n", "bad.dat", NULL, &o, &e) == 0);
	CHECK(b.n == 4 && seen.n == 3 && contains(seen.msg[2], "bad.dat line 1"));
	tsdb_batch_free(&b);
}

static void test_duplicates(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	REQUIRE(parse(&b, "{\"id\":\"x\"," TV4 "}\n{\"id\":\"y\"," TV4 "}\n", "a.jsonl", NULL, &o,
		      &e) == 0);
	REQUIRE(parse(&b, TEXT4, "dir/z.dat", NULL, &o, &e) == 0);
	REQUIRE(parse(&b, TEXT4, "dir/y.dat", NULL, &o, &e) == 0);
	REQUIRE(parse(&b, TEXT4, "other/x.txt", NULL, &o, &e) == 0);
	REQUIRE(parse(&b, TEXT4, "third/y.json", NULL, &o, &e) == 0);

	size_t other[6], ndup;
	REQUIRE(tsdb_batch_duplicates(&b, other, &ndup, &e) == 0);
	CHECK(ndup == 5);
	CHECK(other[0] == 4 && other[4] == 0);               /* x */
	CHECK(other[1] == 3 && other[3] == 1 && other[5] == 1); /* y */
	CHECK(other[2] == SIZE_MAX);                         /* z */

	/* stop mode names the earliest repetition and its first place */
	CHECK(tsdb_input_finish(&b, &o, &e) == -1);
	CHECK(e.code == TSDB_E_DUPLICATE);
	CHECKF(contains(e.msg, "duplicate id 'y': a.jsonl line 2 and dir/y.dat"), "%s", e.msg);
	CHECK(b.n == 6);
	/* skip mode: every copy is reported and left out */
	o.skip_invalid = 1;
	REQUIRE(tsdb_input_finish(&b, &o, &e) == 0);
	CHECK(b.n == 1 && id_is(&b.series[0], "z"));
	CHECK(seen.n == 5);
	CHECKF(contains(seen.msg[0], "a.jsonl line 1: duplicate id 'x' (also other/x.txt)"), "%s",
	       seen.msg[0]);
	tsdb_batch_free(&b);
}

/* ---- bounds ---------------------------------------------------------------- */

static void test_bounds(void)
{
	char *dir = test_tmpdir();
	write_file(dir, "ten.dat", "0.0 1\n0.25 2\n");
	char *p = test_path(dir, "ten.dat");
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	struct seen seen = {0};
	opts(&o, 0, &seen);
	tsdb_batch_init(&b);
	o.max_file_bytes = 13; /* the file's exact size is allowed ... */
	CHECK(tsdb_input_load(&b, p, NULL, &o, &e) == -1);
	CHECK(contains(e.msg, "needs at least 4 points")); /* it got to parsing */
	o.max_file_bytes = 12; /* ... one byte less is not */
	CHECK(tsdb_input_load(&b, p, NULL, &o, &e) == -1);
	CHECKF(e.code == TSDB_E_TOO_LARGE && contains(e.msg, "is 13 bytes (max 12)"), "%s", e.msg);
	/* a pipe has no size to check in advance */
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	REQUIRE(write(fds[1], "0123456789abc", 13) == 13);
	close(fds[1]);
	char *buf;
	size_t len;
	CHECK(tsdb_read_fd(fds[0], "pipe", 12, &buf, &len, &e) == -1);
	CHECK(e.code == TSDB_E_TOO_LARGE && contains(e.msg, "pipe is larger than 12 bytes"));
	close(fds[0]);

	tsdb_input_opts_default(&o);
	o.max_points = 3;
	CHECK(parse(&b, TEXT4, "p.dat", NULL, &o, &e) == -1);
	CHECK(e.code == TSDB_E_TOO_LARGE && contains(e.msg, "p.dat line 4: more than 3 points"));
	CHECK(parse(&b, "{" TV4 "}", "p.json", NULL, &o, &e) == -1);
	CHECK(e.code == TSDB_E_TOO_LARGE);

	tsdb_input_opts_default(&o);
	o.max_series = 2;
	const char *three = "{\"id\":\"a\"," TV4 "}\n{\"id\":\"b\"," TV4 "}\n{\"id\":\"c\"," TV4 "}\n";
	CHECK(parse(&b, three, "three.jsonl", NULL, &o, &e) == -1);
	CHECK(e.code == TSDB_E_TOO_LARGE && contains(e.msg, "more than 2 series"));
	CHECK(b.n == 0);
	/* a bound on the batch is not one input's fault: skip mode stops too */
	o.skip_invalid = 1;
	CHECK(parse(&b, three, "three.jsonl", NULL, &o, &e) == -1);
	CHECK(b.n == 0);
	tsdb_batch_free(&b);
	free(p);
	test_rmtree(dir);
}

/* The spool's open: regular files only, links refused, FIFOs never block. */
static void test_open_regular(void)
{
	char *dir = test_tmpdir();
	write_file(dir, "f.dat", TEXT4);
	char *f = test_path(dir, "f.dat"), *l = test_path(dir, "l.dat"), *q = test_path(dir, "q");
	REQUIRE(symlink(f, l) == 0);
	REQUIRE(mkfifo(q, 0644) == 0);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	REQUIRE(dfd >= 0);
	int fd;
	tsdb_err e = {0};
	CHECK(tsdb_input_open_regular(dfd, "f.dat", "f.dat", 1, &fd, &e) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(tsdb_input_open_regular(dfd, "l.dat", "l.dat", 1, &fd, &e) == -1);
	CHECK(fd < 0 && contains(e.msg, "l.dat is a symbolic link"));
	CHECK(tsdb_input_open_regular(dfd, "l.dat", "l.dat", 0, &fd, &e) == 0);
	if (fd >= 0)
		close(fd);
	CHECK(tsdb_input_open_regular(dfd, "q", "q", 1, &fd, &e) == -1);
	CHECK(contains(e.msg, "q is not a regular file"));
	CHECK(tsdb_input_open_regular(dfd, ".", ".", 1, &fd, &e) == -1);
	CHECK(tsdb_input_open_regular(dfd, "none", "none", 1, &fd, &e) == -1 && e.code == TSDB_E_IO);

	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_input_opts_default(&o);
	tsdb_batch_init(&b);
	REQUIRE(tsdb_input_open_regular(dfd, "f.dat", "spool/new/f.dat", 1, &fd, &e) == 0);
	CHECK(tsdb_input_load_fd(&b, fd, "spool/new/f.dat", &o, &e) == 0);
	CHECK(b.n == 1 && id_is(&b.series[0], "f"));
	close(fd);
	tsdb_batch_free(&b);
	close(dfd);
	free(f);
	free(l);
	free(q);
	test_rmtree(dir);
}

/* ---- blame ------------------------------------------------------------------ */

/* Blame reads the error's where.item, checked against the id there;
 * what the message says does not matter. */
static void test_blame(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	tsdb_input_opts_default(&o);
	tsdb_batch_init(&b);
	REQUIRE(parse(&b,
		      "{\"id\":\"ab\"," TV4 "}\n{\"id\":\"abc\"," TV4 "}\n{\"id\":\"b\"," TV4 "}\n",
		      "x.jsonl", NULL, &o, &e) == 0);
	tsdb_err m;
	tsdb_errf(&m, TSDB_E_DUPLICATE, "id 'abc' is already stored with other points");
	CHECK(tsdb_batch_blame(&b, &m) == -1); /* names an id, but as text only */
	tsdb_err_item(&m, 1, "abc", 3);
	CHECK(tsdb_batch_blame(&b, &m) == 1);
	tsdb_errf(&m, TSDB_E_INVALID_SERIES, "series 'b': constant on the grid");
	tsdb_err_item(&m, 2, "b", 1);
	CHECK(tsdb_batch_blame(&b, &m) == 2);
	tsdb_err_item(&m, 2, "ab", 2); /* an index that does not hold that id */
	CHECK(tsdb_batch_blame(&b, &m) == -1);
	tsdb_err_item(&m, 3, "b", 1); /* beyond the batch */
	CHECK(tsdb_batch_blame(&b, &m) == -1);
	tsdb_errctx(&m, "context"); /* context keeps where; a new error clears it */
	tsdb_err_item(&m, 0, "ab", 2);
	tsdb_errctx(&m, "more context");
	CHECK(tsdb_batch_blame(&b, &m) == 0);
	tsdb_errf(&m, TSDB_E_DUPLICATE, "'ab'");
	CHECK(!tsdb_err_has_item(&m) && tsdb_batch_blame(&b, &m) == -1);
	tsdb_batch_free(&b);
}

/* An input error says where, as data: the file, the line, the field. */
static void test_error_where(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	tsdb_input_opts_default(&o);
	tsdb_batch_init(&b);
	CHECK(parse(&b, "{\"id\":\"a\"," TV4 "}\n\n{\"id\":\"b\",\"t\":[0,0.5,1.5,0.7],\"v\":[1,2,3,4]}\n",
		    "x.jsonl", NULL, &o, &e) == -1);
	CHECK(!strcmp(e.where.file, "x.jsonl") && e.where.line == 3);
	CHECK(!strcmp(e.where.field, "t[2]"));
	CHECK(!tsdb_err_has_item(&e)); /* it never joined the batch */
	CHECK(parse(&b, "{\"id\":\"a\"," TV4 ",\"colour\":1}", "y.json", NULL, &o, &e) == -1);
	CHECK(!strcmp(e.where.file, "y.json") && e.where.line == 0 &&
	      !strcmp(e.where.field, "colour"));
	CHECK(parse(&b, "0.1 1\n0.2 x\n0.3 3\n", "z.dat", "z", &o, &e) == -1);
	CHECK(!strcmp(e.where.file, "z.dat") && e.where.line == 2);
	CHECK(parse(&b, "{\"id\":\"\"," TV4 "}", "w.json", NULL, &o, &e) == -1);
	CHECK(!strcmp(e.where.field, "id"));
	CHECK(b.n == 0);

	/* a duplicate within the batch names the later series, by index */
	REQUIRE(parse(&b, "{\"id\":\"a\"," TV4 "}\n{\"id\":\"c\"," TV4 "}\n{\"id\":\"a\"," TV4 "}\n",
		      "d.jsonl", NULL, &o, &e) == 0);
	CHECK(tsdb_input_finish(&b, &o, &e) == -1 && e.code == TSDB_E_DUPLICATE);
	CHECK(e.where.item == 2 && !strcmp(e.where.id, "a") && e.where.line == 3 &&
	      !strcmp(e.where.file, "d.jsonl"));
	CHECK(tsdb_batch_blame(&b, &e) == 2);
	tsdb_batch_free(&b);
}

static void test_remove_and_truncate(void)
{
	tsdb_batch b;
	tsdb_input_opts o;
	tsdb_err e = {0};
	tsdb_input_opts_default(&o);
	tsdb_batch_init(&b);
	for (int i = 0; i < 40; i++) {
		char line[128];
		snprintf(line, sizeof line, "{\"id\":\"s%02d\"," TV4 "}", i);
		REQUIRE(parse(&b, line, "x.json", NULL, &o, &e) == 0);
	}
	unsigned char drop[40] = {0};
	for (int i = 0; i < 40; i += 3)
		drop[i] = 1;
	tsdb_batch_remove(&b, drop);
	CHECK(b.n == 26);
	CHECK(id_is(&b.series[0], "s01") && id_is(&b.series[1], "s02") &&
	      id_is(&b.series[2], "s04") && id_is(&b.series[25], "s38"));
	CHECK(b.origin[2].file == 4);
	tsdb_batch_truncate(&b, 10);
	CHECK(b.n == 10);
	tsdb_batch_free(&b);
}

int main(void)
{
	RUN(test_id_from_name);
	RUN(test_text_file);
	RUN(test_json_single_shapes);
	RUN(test_json_lines);
	RUN(test_errors_name_place);
	RUN(test_stdin_and_forced_id);
	RUN(test_directory);
	RUN(test_stop_and_skip);
	RUN(test_duplicates);
	RUN(test_bounds);
	RUN(test_open_regular);
	RUN(test_blame);
	RUN(test_error_where);
	RUN(test_remove_and_truncate);
	return tap_done();
}
