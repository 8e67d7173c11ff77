/*
 * simsearch - the command-line client: turns its arguments into one
 * request, makes one call and renders the payload for a person (a table,
 * with sparklines on a terminal) or, with --json, for a program.
 *
 * With --plot it also asks for the series' shapes and hands the payload to
 * svgplot, which draws them into an SVG file (replaced whole or not at all).
 *
 * Links only the codec, the client, the series parsers and the plot, never
 * storage.  Exit status says where a failure happened (see usage below):
 * scripts tell a typo (2) from a server that is down (3) from a request
 * the server refused (4) from a bad local file or a plot that cannot be
 * written (1).  Everything the server sends is checked for its type before
 * it is printed: a buggy or foreign server makes "?" appear, never a
 * crash, and a --plot of results without shapes fails with exit 3.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliopt.h"
#include "client.h"
#include "err.h"
#include "numparse.h"
#include "proto.h"
#include "querylang.h"
#include "series.h"
#include "svgplot.h"

enum exit_code {
	EXIT_OKAY = 0,
	EXIT_LOCAL = 1,    /* unreadable or invalid input file, --plot not written, out of memory */
	EXIT_USAGE = TSDB_CLI_USAGE, /* also a malformed --server address */
	EXIT_CONNECT = 3,  /* no answer: resolution, connection, timeout, malformed response
			      (also results without shapes for --plot) */
	EXIT_SERVER = 4,   /* the server answered with a status other than OK */
};

#define SPARK_POINTS 32              /* "shape" asked for on a terminal */
#define PLOT_POINTS 256              /* "shape" asked for --plot (the protocol's most) */
#define MAX_INPUT_BYTES (64u << 20)  /* a query file; the server's frame bound is smaller */

/* man/simsearch.txt */
extern const char simsearch_manual_usage[];

static const tsdb_cli cli = {.prog = "simsearch", .try_more = " for more information"};

enum mode { MODE_NEAREST, MODE_WITHIN, MODE_GET, MODE_INFO, MODE_LIST, MODE_SELECT };

typedef struct options {
	enum mode mode;
	const char *server;
	int timeout_ms;
	const char *file;     /* query series, or NULL */
	const char *id;       /* --id, or get's ID */
	long k;               /* 0: not given */
	double radius;
	long limit;           /* 0: not given */
	const char *prefix;
	const char *after;
	bool json;
	bool sparkline;
	const char *plot;     /* --plot FILE, or NULL */
	const char *where;    /* --where JSON text, or NULL */
	const char *query;    /* --query TEXT (docs/QUERY.md), or NULL */
} options;

enum { OPT_ID = 256, OPT_WITHIN, OPT_SERVER, OPT_TIMEOUT, OPT_JSON, OPT_NOSPARK, OPT_PREFIX,
       OPT_AFTER, OPT_LIMIT, OPT_PLOT, OPT_WHERE, OPT_QUERY, OPT_VERSION };

static const struct option longopts[] = {
	{"id", required_argument, NULL, OPT_ID},
	{"within", required_argument, NULL, OPT_WITHIN},
	{"server", required_argument, NULL, OPT_SERVER},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-sparkline", no_argument, NULL, OPT_NOSPARK},
	{"prefix", required_argument, NULL, OPT_PREFIX},
	{"after", required_argument, NULL, OPT_AFTER},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"plot", required_argument, NULL, OPT_PLOT},
	{"where", required_argument, NULL, OPT_WHERE},
	{"query", required_argument, NULL, OPT_QUERY},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* -k and --limit: a whole positive number, 0 meaning "not given". */
static int count_opt(const char *name, const char *arg, long *out)
{
	uint64_t v;
	if (tsdb_cli_u64(&cli, name, "a positive integer", arg, 1, 1000000000, &v))
		return -1;
	*out = (long)v;
	return 0;
}

/* The options that take a value, and getopt's errors; -1 to go on, else
 * the exit status. */
static int value_opt(int c, char **argv, options *o, bool *within)
{
	double secs;
	switch (c) {
	case 'k':
		return count_opt("-k", optarg, &o->k) ? EXIT_USAGE : -1;
	case OPT_LIMIT:
		return count_opt("--limit", optarg, &o->limit) ? EXIT_USAGE : -1;
	case OPT_WITHIN:
		if (tsdb_cli_double(&cli, "--within", "a distance >= 0", optarg, 0, 0, 1e300,
				    &o->radius))
			return EXIT_USAGE;
		*within = true;
		return -1;
	case OPT_TIMEOUT:
		if (tsdb_cli_double(&cli, "--timeout", "seconds in 0.001..86400", optarg, 0.001, 0,
				    86400, &secs))
			return EXIT_USAGE;
		o->timeout_ms = (int)ceil(secs * 1000);
		return -1;
	case OPT_ID: o->id = optarg; return -1;
	case OPT_SERVER: o->server = optarg; return -1;
	case OPT_PREFIX: o->prefix = optarg; return -1;
	case OPT_AFTER: o->after = optarg; return -1;
	case OPT_WHERE: o->where = optarg; return -1;
	case OPT_QUERY: o->query = optarg; return -1;
	case OPT_PLOT:
		if (!*optarg)
			return tsdb_cli_usage(&cli, "--plot: expected a file name");
		o->plot = optarg;
		return -1;
	default: return tsdb_cli_getopt_error(&cli, c, argv);
	}
}

/* One option; -1 to go on, else the exit status. */
static int handle_opt(int c, char **argv, options *o, bool *within)
{
	switch (c) {
	case OPT_JSON: o->json = true; return -1;
	case OPT_NOSPARK: o->sparkline = false; return -1;
	case 'h':
		fputs(simsearch_manual_usage, stdout);
		return EXIT_OKAY;
	case OPT_VERSION:
		puts("simsearch (tsdb) " TSDB_VERSION);
		return EXIT_OKAY;
	default:
		return value_opt(c, argv, o, within);
	}
}

/* get ID, info, list: -1 to go on, else the exit status. */
static int command_args(options *o, char **pos, int npos, bool within)
{
	const char *cmd = pos[0];
	o->mode = cmd[0] == 'g' ? MODE_GET : cmd[0] == 'i' ? MODE_INFO : MODE_LIST;
	int want = o->mode == MODE_GET ? 2 : 1;
	if (npos != want)
		return tsdb_cli_usage(&cli, o->mode == MODE_GET ? "%s: expects one ID"
								 : "%s: expects no arguments", cmd);
	if (o->id || within || o->k || o->plot || o->where)
		return tsdb_cli_usage(&cli, "%s: -k, --id, --within, --where and --plot are for searches", cmd);
	if (o->mode != MODE_LIST && (o->prefix || o->after || o->limit))
		return tsdb_cli_usage(&cli, "%s: --prefix, --after and --limit are for list", cmd);
	if (o->mode == MODE_GET)
		o->id = pos[1];
	return -1;
}

/* A search: one FILE or --id; -1 to go on, else the exit status. */
static int search_args(options *o, char **pos, int npos, bool within)
{
	if (o->prefix || o->after)
		return tsdb_cli_usage(&cli, "--prefix and --after are for list");
	if (npos > 1)
		return tsdb_cli_usage(&cli, "unexpected argument '%s'", pos[1]);
	if ((npos == 1) == (o->id != NULL))
		return tsdb_cli_usage(&cli, "give one query: a FILE or --id ID (see --help)");
	o->file = npos == 1 ? pos[0] : NULL;
	if (within) {
		o->mode = MODE_WITHIN;
		if (o->k)
			return tsdb_cli_usage(&cli, "-k does not apply to --within (use --limit)");
	} else if (o->limit) {
		return tsdb_cli_usage(&cli, "--limit applies to list and --within");
	}
	if (o->where) {
		/* only JSON is checked here; the server checks the filter and
		 * names the place of a mistake */
		json_error_t jerr;
		json_t *w = json_loads(o->where, JSON_REJECT_DUPLICATES, &jerr);
		if (!w)
			return tsdb_cli_usage(&cli, "--where: not JSON: %s (at byte %d)", jerr.text, jerr.position);
		json_decref(w);
	}
	return -1;
}

/* --query: the whole request; only the connection options and --json,
 * --no-sparkline and --plot go with it.  The mode is the query's op. */
static int query_args(options *o, int npos, bool within)
{
	if (npos || o->id || within || o->k || o->where || o->limit || o->prefix || o->after)
		return tsdb_cli_usage(&cli, "--query is the whole request: no FILE, command, -k, --id, --within, "
					    "--where, --limit, --prefix or --after with it");
	tsdb_ql_result r;
	tsdb_err err;
	if (tsdb_ql_compile(o->query, strlen(o->query), &r, &err))
		return tsdb_cli_usage(&cli, "--query: %s", err.msg);
	static const struct {
		const char *op;
		enum mode mode;
	} modes[] = {{"with_id", MODE_NEAREST}, {"with_ts", MODE_NEAREST}, {"within", MODE_WITHIN},
		     {"get", MODE_GET}, {"info", MODE_INFO}, {"list", MODE_LIST}, {"select", MODE_SELECT}};
	const char *op = json_string_value(json_object_get(r.request, "op"));
	for (size_t i = 0; op && i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(op, modes[i].op) == 0)
			o->mode = modes[i].mode;
	tsdb_ql_result_free(&r);
	if (o->plot && o->mode != MODE_NEAREST && o->mode != MODE_WITHIN)
		return tsdb_cli_usage(&cli, "--plot draws the answer of a search: (top ...) or (within ...)");
	return -1;
}

static bool is_command(const char *a)
{
	return a && (strcmp(a, "get") == 0 || strcmp(a, "info") == 0 || strcmp(a, "list") == 0);
}

/* Fills *o from argv; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, options *o)
{
	const char *env = getenv("TSDB_SERVER");
	*o = (options){.mode = MODE_NEAREST, .server = env && *env ? env : TSDB_DEFAULT_SERVER,
		       .timeout_ms = 10000, .sparkline = true};
	bool within = false;
	int c, rc;
	opterr = 0;  /* our own messages, with the usage hint */
	while ((c = getopt_long(argc, argv, ":k:h", longopts, NULL)) != -1)
		if ((rc = handle_opt(c, argv, o, &within)) >= 0)
			return rc;
	char **pos = argv + optind;
	int npos = argc - optind;
	if (o->query)
		return query_args(o, npos, within);
	if (npos > 0 && is_command(pos[0]))
		return command_args(o, pos, npos, within);
	return search_args(o, pos, npos, within);
}

/* Reads FILE (text or JSON, detected by its first non-blank byte) as the
 * request's "ts": {"t": [...], "v": [...]}, validated here so that a bad
 * file is the user's local error (exit 1) and costs no round trip. */
static json_t *read_series(const char *path, tsdb_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	if (tsdb_read_file(path, MAX_INPUT_BYTES, &buf, &len, err))
		return NULL;
	const char *name = strcmp(path, "-") == 0 ? "standard input" : path;
	size_t i = strspn(buf, " \t\r\n\f\v");
	tsdb_series s = {0};
	int rc;
	tsdb_limits lim;
	tsdb_limits_default(&lim);
	if (buf[i] == '{' || buf[i] == '[') {
		json_error_t jerr;
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j)
			rc = tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s line %d: not valid JSON: %s",
				       name, jerr.line, jerr.text);
		else if ((rc = tsdb_series_from_json(j, lim.max_points, &s, err)) != 0)
			tsdb_errctx(err, "%s", name);
		json_decref(j);
	} else {
		rc = tsdb_series_parse_text(buf, len, name, lim.max_points, &s, err);
	}
	free(buf);
	if (rc)
		return NULL;
	json_t *ts = tsdb_series_to_json(&s);
	tsdb_series_free(&s);
	if (!ts) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		return NULL;
	}
	/* The query is its points; the file's id and meta are not the server's business. */
	json_object_del(ts, "id");
	json_object_del(ts, "meta");
	return ts;
}

static bool want_shape(const options *o)
{
	return o->sparkline && !o->json && isatty(STDOUT_FILENO);
}

/* The request of --query (already compiled once by query_args): the
 * query's, with the series of (like-file F) read here and the shapes a
 * plot or a terminal's sparklines need. */
static json_t *query_request(const options *o, tsdb_err *err)
{
	tsdb_ql_result r;
	if (tsdb_ql_compile(o->query, strlen(o->query), &r, err))
		return NULL;
	json_t *req = r.request;
	r.request = NULL;
	int bad = 0;
	if (r.ts_file) {
		json_t *ts = read_series(r.ts_file, err);
		if (!ts) {
			json_decref(req);
			tsdb_ql_result_free(&r);
			return NULL;
		}
		bad |= json_object_set_new(req, "ts", ts);
	}
	tsdb_ql_result_free(&r);
	if ((o->mode == MODE_NEAREST || o->mode == MODE_WITHIN) && !json_object_get(req, "shape") &&
	    (o->plot || want_shape(o)))
		bad |= json_object_set_new(req, "shape", json_integer(o->plot ? PLOT_POINTS : SPARK_POINTS));
	if (bad) {
		json_decref(req);
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		return NULL;
	}
	return req;
}

/* The request for o, or NULL with err filled (a local error). */
static json_t *build_request(const options *o, tsdb_err *err)
{
	if (o->query)
		return query_request(o, err);
	static const char *const ops[] = {[MODE_GET] = "get", [MODE_INFO] = "info",
					  [MODE_LIST] = "list"};
	json_t *req = json_object();
	if (!req) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		return NULL;
	}
	const char *op = o->mode == MODE_WITHIN ? "within"
			 : o->mode == MODE_NEAREST ? (o->file ? "with_ts" : "with_id")
						   : ops[o->mode];
	int bad = json_object_set_new(req, "op", json_string(op));
	if (o->id)
		bad |= json_object_set_new(req, "id", json_string(o->id));
	if (o->file) {
		json_t *ts = read_series(o->file, err);
		if (!ts) {
			json_decref(req);
			return NULL;
		}
		bad |= json_object_set_new(req, "ts", ts);
	}
	if (o->mode == MODE_NEAREST)
		bad |= json_object_set_new(req, "k", json_integer(o->k ? o->k : 5));
	if (o->mode == MODE_WITHIN)
		bad |= json_object_set_new(req, "radius", json_real(o->radius));
	if ((o->mode == MODE_NEAREST || o->mode == MODE_WITHIN) && (o->plot || want_shape(o)))
		bad |= json_object_set_new(req, "shape", json_integer(o->plot ? PLOT_POINTS : SPARK_POINTS));
	if (o->limit)
		bad |= json_object_set_new(req, "limit", json_integer(o->limit));
	if (o->where)  /* parsed once already: only memory can fail here */
		bad |= json_object_set_new(req, "where", json_loads(o->where, JSON_REJECT_DUPLICATES, NULL));
	if (o->prefix)
		bad |= json_object_set_new(req, "prefix", json_string(o->prefix));
	if (o->after)
		bad |= json_object_set_new(req, "after", json_string(o->after));
	if (bad) {
		/* json_string refuses invalid UTF-8; an id or prefix typed in a
		 * Latin-1 terminal is the likely cause, not memory. */
		json_decref(req);
		tsdb_errf(err, TSDB_E_INVALID_ARG, "cannot encode the request (is every argument valid UTF-8?)");
		return NULL;
	}
	return req;
}

/* ---- rendering ------------------------------------------------------- */

/* Code points in a UTF-8 string: its width in columns, near enough. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void print_padded(const char *s, size_t width)
{
	fputs(s, stdout);
	for (size_t w = text_width(s); w < width; w++)
		putchar(' ');
}

/* One line of ▁..█ for an array of numbers, scaled to its own range; a
 * longer one (the shapes asked for --plot) is averaged down to SPARK_POINTS. */
static void print_sparkline(const json_t *a)
{
	static const char *const blocks[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
	size_t n = json_array_size(a), cols = n < SPARK_POINTS ? n : SPARK_POINTS;
	double col[SPARK_POINTS], lo = INFINITY, hi = -INFINITY;
	for (size_t c = 0; c < cols; c++) {
		double sum = 0;
		size_t k = 0;
		for (size_t i = c * n / cols; i < (c + 1) * n / cols; i++) {
			const json_t *x = json_array_get(a, i);
			if (json_is_number(x)) {
				sum += json_number_value(x);
				k++;
			}
		}
		col[c] = k && isfinite(sum) ? sum / (double)k : NAN;
		if (!isnan(col[c])) {
			lo = fmin(lo, col[c]);
			hi = fmax(hi, col[c]);
		}
	}
	for (size_t c = 0; c < cols; c++) {
		if (isnan(col[c])) {
			putchar(' ');
			continue;
		}
		int b = hi > lo ? (int)lround((col[c] - lo) / (hi - lo) * 7) : 3;
		fputs(blocks[b < 0 ? 0 : b > 7 ? 7 : b], stdout);
	}
}

static const char *str_or(const json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* with_id, with_ts and within: a ranked table. */
static void render_results(const options *o, const json_t *p)
{
	const json_t *results = json_object_get(p, "results");
	size_t n = json_array_size(results);  /* 0 when not an array */
	size_t idw = 2;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r) {
		size_t w = text_width(str_or(json_object_get(r, "id"), "?"));
		idw = w > idw ? w : idw;
	}
	bool spark = want_shape(o);
	const json_t *qs = json_object_get(p, "query_shape");
	if (spark && json_is_array(qs)) {
		print_padded("query", 6 + idw + 2 + 12);
		print_sparkline(qs);
		putchar('\n');
	}
	printf("rank  ");
	print_padded("id", idw + 2);
	printf(spark ? "%-12s%s\n" : "%s\n", "distance", "shape");
	json_array_foreach(results, i, r) {
		const json_t *d = json_object_get(r, "distance");
		printf("%4zu  ", i + 1);
		print_padded(str_or(json_object_get(r, "id"), "?"), idw + 2);
		const json_t *shape = json_object_get(r, "shape");
		if (!spark || !json_is_array(shape)) {
			if (json_is_number(d))
				printf("%.6f\n", json_number_value(d));
			else
				puts("?");
			continue;
		}
		if (json_is_number(d))
			printf("%-12.6f", json_number_value(d));
		else
			printf("%-12s", "?");
		print_sparkline(shape);
		putchar('\n');
	}
	const json_t *series = json_object_get(p, "series"), *computed = json_object_get(p, "computed");
	printf("%zu result%s of %" JSON_INTEGER_FORMAT " series; %" JSON_INTEGER_FORMAT
	       " distances computed\n", n, n == 1 ? "" : "s", json_integer_value(series),
	       json_integer_value(computed));
	if (o->mode == MODE_WITHIN && json_is_true(json_object_get(p, "truncated")))
		fprintf(stderr, "simsearch: results truncated at %zu; raise --limit for more\n", n);
}

/* get: the text format, so the output reads back as a query FILE. */
static void render_get(const json_t *p)
{
	const json_t *t = json_object_get(p, "t"), *v = json_object_get(p, "v");
	printf("# id: %s\n", str_or(json_object_get(p, "id"), "?"));
	const json_t *meta = json_object_get(p, "meta");
	if (json_is_object(meta)) {
		char *m = json_dumps(meta, JSON_COMPACT);
		printf("# meta: %s\n", m ? m : "?");
		free(m);
	}
	size_t n = json_array_size(t);
	if (json_array_size(v) != n)
		fprintf(stderr, "simsearch: the server sent %zu times and %zu values\n", n,
			json_array_size(v));
	for (size_t i = 0; i < n && i < json_array_size(v); i++) {
		char ts[TSDB_DOUBLE_TEXT_MAX], vs[TSDB_DOUBLE_TEXT_MAX];
		tsdb_format_double(json_number_value(json_array_get(t, i)), ts);
		tsdb_format_double(json_number_value(json_array_get(v, i)), vs);
		printf("%s %s\n", ts, vs);
	}
}

/* info: one "key value" line each, in the server's order. */
static void render_info(const json_t *p)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)p, key, val) {
		char *text = json_is_string(val) ? NULL : json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-22s %s\n", key, json_is_string(val) ? json_string_value(val) : text ? text : "?");
		free(text);
	}
}

static void render_list(const json_t *p)
{
	const json_t *ids = json_object_get(p, "ids");
	size_t i;
	json_t *id;
	const char *last = NULL;
	json_array_foreach(ids, i, id) {
		if (json_is_string(id)) {
			puts(json_string_value(id));
			last = json_string_value(id);
		}
	}
	if (json_is_true(json_object_get(p, "more")) && last)
		fprintf(stderr, "simsearch: more ids follow; continue with --after '%s'\n", last);
}

/* One line per result: the id, then its metadata (when asked) as JSON. */
static void render_select(const json_t *p)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(p, "results"), i, r) {
		fputs(str_or(json_object_get(r, "id"), "?"), stdout);
		const json_t *meta = json_object_get(r, "meta");
		if (meta) {
			char *text = json_dumps(meta, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("\t%s", text ? text : "?");
			free(text);
		}
		putchar('\n');
	}
	if (json_is_true(json_object_get(p, "more")))
		fprintf(stderr, "simsearch: %lld series match; more follow (offset)\n",
			(long long)json_integer_value(json_object_get(p, "count")));
}

static int render(const options *o, const json_t *payload)
{
	if (!payload)
		payload = json_null();
	if (o->json) {
		char *text = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!text) {
			fputs("simsearch: out of memory\n", stderr);
			return EXIT_LOCAL;
		}
		puts(text);
		free(text);
	} else if (!json_is_object(payload)) {
		fputs("simsearch: the server's payload is not an object\n", stderr);
		return EXIT_CONNECT;
	} else if (o->mode == MODE_GET) {
		render_get(payload);
	} else if (o->mode == MODE_INFO) {
		render_info(payload);
	} else if (o->mode == MODE_LIST) {
		render_list(payload);
	} else if (o->mode == MODE_SELECT) {
		render_select(payload);
	} else {
		render_results(o, payload);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "simsearch: writing the output: %s\n", strerror(errno));
		return EXIT_LOCAL;
	}
	return EXIT_OKAY;
}

/* --plot: the query and its results into o->plot, and one line saying so. */
static int write_plot(const options *o, const json_t *payload)
{
	const char *label = !o->file ? o->id : strcmp(o->file, "-") == 0 ? "standard input" : o->file;
	tsdb_svgplot_info info;
	tsdb_err err;
	if (tsdb_svgplot_save_payload(o->plot, payload, label, &info, &err)) {
		fprintf(stderr, "simsearch: --plot: %s; %s not written\n", err.msg, o->plot);
		return err.code == TSDB_E_INVALID_SERIES ? EXIT_CONNECT : EXIT_LOCAL;
	}
	if (info.drawn < info.results)
		fprintf(stderr, "simsearch: plot of the query and the nearest %zu of %zu results written to %s\n",
			info.drawn, info.results, o->plot);
	else
		fprintf(stderr, "simsearch: plot of the query and %zu result%s written to %s\n",
			info.drawn, info.drawn == 1 ? "" : "s", o->plot);
	return EXIT_OKAY;
}

int main(int argc, char **argv)
{
	options o;
	int rc = parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	tsdb_err err;
	json_t *req = build_request(&o, &err);
	if (!req) {
		fprintf(stderr, "simsearch: %s\n", err.msg);
		return EXIT_LOCAL;
	}
	json_t *resp = NULL;
	rc = tsdb_call(o.server, req, o.timeout_ms, &resp, &err);
	json_decref(req);
	if (rc) {
		fprintf(stderr, "simsearch: %s\n", err.msg);
		/* TSDB_E_INVALID_ARG from tsdb_call is a malformed address: a typo. */
		return err.code == TSDB_E_INVALID_ARG ? EXIT_USAGE : EXIT_CONNECT;
	}
	const char *status = json_string_value(json_object_get(resp, "status"));
	if (strcmp(status, "OK") != 0) {
		fprintf(stderr, "simsearch: %s: %s: %s\n", o.server, status,
			str_or(json_object_get(resp, "error"), "(no message)"));
		rc = EXIT_SERVER;
	} else {
		rc = render(&o, json_object_get(resp, "payload"));
		if (rc == EXIT_OKAY && o.plot)
			rc = write_plot(&o, json_object_get(resp, "payload"));
	}
	json_decref(resp);
	return rc;
}
