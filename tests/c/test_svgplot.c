/*
 * test_svgplot.c - the promises of svgplot.h: a series rotated by s is
 * aligned back exactly (for many s and lengths); z-scores have mean 0 and
 * standard deviation 1, a constant is all zeros, huge values do not
 * overflow; hostile labels come out escaped and the output stays valid
 * UTF-8 XML text; every bound (no matches, too many, too few or too many
 * points, non-finite numbers, long labels) is an error that writes
 * nothing; the save replaces a file whole or leaves it alone and leaves
 * no temporary file; a search payload without shapes is refused.
 */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rng.h"
#include "svgplot.h"
#include "tap.h"
#include "testutil.h"

static void random_series(tsdb_rng *r, double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = tsdb_rng_normal(r);
}

/* A whole file as a NUL-terminated string, or NULL. */
static char *slurp_text(const char *path, size_t *len)
{
	unsigned char *b = test_slurp(path, len);
	char *s = b ? realloc(b, *len + 1) : NULL;
	if (!s) {
		free(b);
		return NULL;
	}
	s[*len] = '\0';
	return s;
}

/* ---- alignment ------------------------------------------------------------ */

static void test_shift_recovers_rotation_exactly(void)
{
	static const size_t lengths[] = {2, 3, 5, 16, 63, 64, 128, 256, 1000};
	tsdb_rng r;
	tsdb_rng_seed(&r, 42);
	for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
		size_t n = lengths[li];
		double *ref = malloc(n * sizeof *ref), *x = malloc(n * sizeof *x),
		       *back = malloc(n * sizeof *back), *zr = malloc(n * sizeof *zr),
		       *zx = malloc(n * sizeof *zx);
		REQUIRE(ref && x && back && zr && zx);
		random_series(&r, ref, n);
		size_t shifts[] = {0, 1, n / 3, n / 2, n - 1, (size_t)tsdb_rng_below(&r, n)};
		for (size_t k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
			size_t s = shifts[k] % n;
			/* x is ref rotated by s: x[j] = ref[j - s] */
			for (size_t j = 0; j < n; j++)
				x[j] = ref[(j + n - s) % n];
			size_t got = tsdb_svgplot_best_shift(ref, x, n);
			CHECKF(got == s, "n=%zu: rotated by %zu, best shift %zu", n, s, got);
			tsdb_svgplot_rotate(x, n, got, back);
			CHECKF(memcmp(back, ref, n * sizeof *ref) == 0, "n=%zu s=%zu: not aligned back exactly",
			       n, s);
			/* the plot aligns z-scores: the same shift */
			tsdb_svgplot_zscore(ref, n, zr);
			tsdb_svgplot_zscore(x, n, zx);
			got = tsdb_svgplot_best_shift(zr, zx, n);
			CHECKF(got == s, "n=%zu: z-scores rotated by %zu, best shift %zu", n, s, got);
			/* and a scaled, offset copy too (z-scoring removes both) */
			for (size_t j = 0; j < n; j++)
				zx[j] = 3.5 * x[j] - 40;
			tsdb_svgplot_zscore(zx, n, zx);
			got = tsdb_svgplot_best_shift(zr, zx, n);
			CHECKF(got == s, "n=%zu: scaled copy rotated by %zu, best shift %zu", n, s, got);
		}
		free(ref);
		free(x);
		free(back);
		free(zr);
		free(zx);
	}
}

static void test_shift_edge_cases(void)
{
	double c[8] = {1, 1, 1, 1, 1, 1, 1, 1}, nan8[8];
	/* all shifts equal: the smallest */
	CHECK(tsdb_svgplot_best_shift(c, c, 8) == 0);
	CHECK(tsdb_svgplot_best_shift(NULL, NULL, 0) == 0);
	double one = 5;
	CHECK(tsdb_svgplot_best_shift(&one, &one, 1) == 0);
	for (int i = 0; i < 8; i++)
		nan8[i] = NAN;
	CHECK(tsdb_svgplot_best_shift(c, nan8, 8) < 8);
	/* rotate takes any s mod n */
	double x[4] = {1, 2, 3, 4}, out[4];
	tsdb_svgplot_rotate(x, 4, 9, out);
	CHECK(out[0] == 2 && out[1] == 3 && out[2] == 4 && out[3] == 1);
}

/* ---- z-scores ------------------------------------------------------------- */

static void test_zscore(void)
{
	static const double consts[] = {0.1, 0, -5, 1e300, -1e-310, 7.25};
	static const size_t lens[] = {1, 2, 3, 7, 256};
	double x[256], z[256];
	for (size_t ci = 0; ci < sizeof consts / sizeof consts[0]; ci++) {
		for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
			for (size_t i = 0; i < lens[li]; i++) {
				x[i] = consts[ci];
				z[i] = 99;
			}
			tsdb_svgplot_zscore(x, lens[li], z);
			int zeros = 1;
			for (size_t i = 0; i < lens[li]; i++)
				zeros &= z[i] == 0;
			CHECKF(zeros, "constant %g x %zu is not all zeros", consts[ci], lens[li]);
		}
	}
	tsdb_rng r;
	tsdb_rng_seed(&r, 7);
	for (int scale = -300; scale <= 300; scale += 100) {
		for (size_t i = 0; i < 256; i++)
			x[i] = (tsdb_rng_normal(&r) + 3) * pow(10, scale);
		x[0] = scale >= 300 ? 1.7e308 : x[0]; /* near the largest double */
		tsdb_svgplot_zscore(x, 256, x); /* in place */
		double mean = 0, var = 0;
		for (size_t i = 0; i < 256; i++)
			mean += x[i];
		mean /= 256;
		for (size_t i = 0; i < 256; i++)
			var += (x[i] - mean) * (x[i] - mean);
		double sd = sqrt(var / 256);
		CHECKF(fabs(mean) < 1e-12 && fabs(sd - 1) < 1e-12, "scale 1e%d: mean %g, sd %.17g", scale,
		       mean, sd);
	}
	double two[2] = {-1e308, 1e308};
	tsdb_svgplot_zscore(two, 2, two);
	CHECK(two[0] == -1 && two[1] == 1);
}

/* ---- the SVG --------------------------------------------------------------- */

/* The output of tsdb_svgplot_write into memory; NULL (and rc) on failure. */
static char *plot_text(const char *title, const tsdb_svgplot_series *q, const tsdb_svgplot_series *m,
		       size_t n, size_t points, int *rc, tsdb_err *err, size_t *len)
{
	/* static: open_memstream keeps their addresses past this call */
	static char *buf;
	static size_t size;
	buf = NULL;
	size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		abort();
	*rc = tsdb_svgplot_write(f, title, q, m, n, points, err);
	fclose(f);
	*len = size;
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Valid UTF-8, no control character but '\n', and every '&' an entity
 * of the five: text that any XML parser takes. */
static int clean_text(const char *s, size_t len)
{
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '&') {
			int ok = 0;
			for (int e = 0; e < 5; e++)
				ok |= strncmp(s + i, ents[e], strlen(ents[e])) == 0;
			if (!ok)
				return printf("# bare & at %zu\n", i), 0;
		}
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return printf("# control byte %#x at %zu\n", c, i), 0;
		size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (n == 0 || i + n > len)
			return printf("# bad UTF-8 lead %#x at %zu\n", c, i), 0;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return printf("# bad UTF-8 continuation at %zu\n", i + k), 0;
		if (n == 3 && c == 0xed && (unsigned char)s[i + 1] >= 0xa0)
			return printf("# surrogate at %zu\n", i), 0;
		if (n == 3 && c == 0xef && (unsigned char)s[i + 1] == 0xbf &&
		    (unsigned char)s[i + 2] >= 0xbe)
			return printf("# U+FFFE/U+FFFF at %zu\n", i), 0;
		i += n;
	}
	return 1;
}

static void test_hostile_labels_are_escaped(void)
{
	enum { M = 32, N = 8 };
	static const char *const labels[N] = {
		"a&b<c>\"d'e", "</text></svg><script>x</script>", "]]><!--", "bad\xff\xfe utf8",
		"ctl\x01\x1f\x7f", "nonchar \xef\xbf\xbf\xef\xbf\xbe", "surrogate \xed\xa0\x80",
		"cut \xe2\x82",
	};
	double v[N + 1][M];
	tsdb_rng r;
	tsdb_rng_seed(&r, 3);
	for (int i = 0; i <= N; i++)
		random_series(&r, v[i], M);
	tsdb_svgplot_series q = {.label = "q&<>\"'", .v = v[0]}, m[N];
	for (int i = 0; i < N; i++)
		m[i] = (tsdb_svgplot_series){.label = labels[i], .v = v[i + 1], .distance = 0.125 * i};
	int rc;
	tsdb_err err = {0};
	size_t len;
	char *s = plot_text("title & <things>", &q, m, N, M, &rc, &err, &len);
	REQUIRE(s);
	CHECKF(rc == 0, "%s", err.msg);
	CHECK(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 44) == 0);
	CHECK(clean_text(s, len));
	CHECK(strstr(s, "a&amp;b&lt;c&gt;&quot;d&apos;e") != NULL);
	CHECK(strstr(s, "q&amp;&lt;&gt;&quot;&apos;") != NULL);
	CHECK(strstr(s, "title &amp; &lt;things&gt;") != NULL);
	CHECK(strstr(s, "<script") == NULL && strstr(s, "<!--") == NULL && strstr(s, "]]>") == NULL);
	CHECK(strstr(s, "bad\xef\xbf\xbd\xef\xbf\xbd utf8") != NULL);
	CHECK(strstr(s, "ctl\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") != NULL);
	CHECK(strstr(s, "cut \xef\xbf\xbd\xef\xbf\xbd") != NULL);
	/* the elements: one polyline per series, the query last; one legend row each */
	CHECK(count(s, "<polyline ") == N + 1);
	CHECK(count(s, "<polyline class=\"query\"") == 1);
	CHECK(strstr(s, "<polyline class=\"query\"") > strstr(s, "<polyline class=\"match\""));
	CHECK(count(s, "<g class=\"entry\">") == N + 1);
	CHECK(count(s, "</svg>\n") == 1 && strcmp(s + len - 7, "</svg>\n") == 0);
	/* distances as simsearch prints them */
	CHECK(strstr(s, ">0.000000</tspan>") && strstr(s, ">0.875000</tspan>"));
	free(s);
}

static void test_bounds_are_errors(void)
{
	enum { M = TSDB_SVGPLOT_MAX_POINTS + 1 };
	static double v[TSDB_SVGPLOT_MAX_MATCHES + 2][M];
	static tsdb_svgplot_series m[TSDB_SVGPLOT_MAX_MATCHES + 1];
	for (int i = 0; i < TSDB_SVGPLOT_MAX_MATCHES + 2; i++)
		for (int j = 0; j < M; j++)
			v[i][j] = sin(j * 0.1 + i);
	tsdb_svgplot_series q = {.label = "q", .v = v[0]};
	for (int i = 0; i <= TSDB_SVGPLOT_MAX_MATCHES; i++)
		m[i] = (tsdb_svgplot_series){.label = "m", .v = v[i + 1], .distance = 0.5};
	int rc;
	tsdb_err err = {0};
	size_t len;
	char *s;
#define REFUSED(want, ...)                                                                     \
	do {                                                                                   \
		s = plot_text(__VA_ARGS__, &rc, &err, &len);                                   \
		CHECKF(rc == -1 && err.code == (want) && len == 0, "rc %d code %d len %zu: %s", rc, \
		       (int)err.code, len, rc ? err.msg : "");                                 \
		free(s);                                                                       \
	} while (0)
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 0, 16);
	REFUSED(TSDB_E_TOO_LARGE, NULL, &q, m, TSDB_SVGPLOT_MAX_MATCHES + 1, 16);
	REFUSED(TSDB_E_TOO_LARGE, NULL, &q, m, 3, TSDB_SVGPLOT_MAX_POINTS + 1);
	REFUSED(TSDB_E_TOO_LARGE, NULL, &q, m, 3, SIZE_MAX);
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 1);
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 0);
	REFUSED(TSDB_E_INVALID_ARG, NULL, NULL, m, 3, 16);
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, NULL, 3, 16);
	/* the largest plot is fine */
	s = plot_text(NULL, &q, m, TSDB_SVGPLOT_MAX_MATCHES, TSDB_SVGPLOT_MAX_POINTS, &rc, &err, &len);
	CHECKF(rc == 0 && count(s, "<polyline ") == TSDB_SVGPLOT_MAX_MATCHES + 1, "%s", err.msg);
	free(s);
	/* non-finite values and distances, a missing array, a long label or title */
	double saved = v[3][5];
	v[3][5] = NAN;
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 16);
	v[3][5] = INFINITY;
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 16);
	v[3][5] = saved;
	m[1].distance = NAN;
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 16);
	m[1].distance = 0.5;
	m[2].v = NULL;
	REFUSED(TSDB_E_INVALID_ARG, NULL, &q, m, 3, 16);
	m[2].v = v[3];
	static char longlabel[TSDB_SVGPLOT_MAX_LABEL + 2];
	memset(longlabel, 'x', TSDB_SVGPLOT_MAX_LABEL + 1);
	m[0].label = longlabel;
	REFUSED(TSDB_E_TOO_LARGE, NULL, &q, m, 3, 16);
	REFUSED(TSDB_E_TOO_LARGE, longlabel, &q, m + 1, 2, 16);
	longlabel[TSDB_SVGPLOT_MAX_LABEL] = '\0'; /* exactly the bound: fine */
	s = plot_text(longlabel, &q, m, 3, 16, &rc, &err, &len);
	CHECKF(rc == 0, "%s", err.msg);
	free(s);
	m[0].label = NULL; /* no label: an empty one */
	s = plot_text(NULL, &q, m, 3, 16, &rc, &err, &len);
	CHECKF(rc == 0, "%s", err.msg);
	free(s);
	CHECK(tsdb_svgplot_write(NULL, NULL, &q, m, 3, 16, &err) == -1);
#undef REFUSED
}

/* ---- saving ------------------------------------------------------------ */

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	if (!d)
		return SIZE_MAX;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_save_whole_or_nothing(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "out.svg");
	double v[3][16];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 16; j++)
			v[i][j] = cos(j * 0.4 + i);
	tsdb_svgplot_series q = {.label = "q", .v = v[0]};
	tsdb_svgplot_series m[2] = {{.label = "a", .v = v[1], .distance = 0.1},
				    {.label = "b", .v = v[2], .distance = 0.2}};
	tsdb_err err;
	/* refused arguments create nothing */
	CHECK(tsdb_svgplot_save(path, NULL, &q, m, 0, 16, &err) == -1);
	CHECK(dir_entries(dir) == 0);
	/* success: the file and nothing else */
	CHECKF(tsdb_svgplot_save(path, NULL, &q, m, 2, 16, &err) == 0, "%s", err.msg);
	CHECK(dir_entries(dir) == 1);
	size_t len = 0;
	char *first = slurp_text(path, &len);
	REQUIRE(first && len > 100);
	CHECK(strstr(first, "</svg>") != NULL);
	/* a failure later leaves the old file as it was */
	CHECK(tsdb_svgplot_save(path, NULL, &q, m, 2, 1, &err) == -1);
	size_t len2 = 0;
	char *again = slurp_text(path, &len2);
	CHECK(again && len2 == len && memcmp(first, again, len) == 0);
	free(again);
	/* a directory in the way: the rename fails, the temporary file goes */
	char *sub = test_path(dir, "sub.svg");
	REQUIRE(mkdir(sub, 0755) == 0);
	char *inside = test_path(sub, "x");
	REQUIRE(test_spew(inside, "x", 1) == 0);
	CHECK(tsdb_svgplot_save(sub, NULL, &q, m, 2, 16, &err) == -1);
	CHECK(dir_entries(dir) == 2);
	/* a missing directory, or a name that is a directory's */
	char *missing = test_path(dir, "no/such/dir/out.svg");
	CHECK(tsdb_svgplot_save(missing, NULL, &q, m, 2, 16, &err) == -1 && err.code == TSDB_E_IO);
	char *slash = test_path(dir, "");
	CHECK(tsdb_svgplot_save(slash, NULL, &q, m, 2, 16, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
	CHECK(tsdb_svgplot_save("", NULL, &q, m, 2, 16, &err) == -1);
	CHECK(dir_entries(dir) == 2);
	/* replacing works, and the new content is whole */
	m[0].label = "replaced";
	CHECKF(tsdb_svgplot_save(path, NULL, &q, m, 2, 16, &err) == 0, "%s", err.msg);
	again = slurp_text(path, &len2);
	CHECK(again && strstr(again, ">replaced</tspan>") && strstr(again, "</svg>\n"));
	CHECK(dir_entries(dir) == 2);
	free(again);
	free(first);
	free(inside);
	free(sub);
	free(missing);
	free(slash);
	free(path);
	test_rmtree(dir);
}

/* ---- payloads ------------------------------------------------------------ */

static json_t *shape_json(size_t m, double phase)
{
	json_t *a = json_array();
	for (size_t j = 0; j < m; j++)
		json_array_append_new(a, json_real(sin(2 * M_PI * ((double)j / (double)m + phase))));
	return a;
}

static json_t *payload_json(size_t results, size_t m)
{
	json_t *p = json_object(), *rs = json_array();
	for (size_t i = 0; i < results; i++) {
		char id[32];
		snprintf(id, sizeof id, "s%04zu", i);
		json_array_append_new(rs, json_pack("{s:s, s:f, s:o}", "id", id, "distance", 0.001 * (double)i,
						    "shape", shape_json(m, 0.01 * (double)i)));
	}
	json_object_set_new(p, "results", rs);
	json_object_set_new(p, "query_shape", shape_json(m, 0));
	return p;
}

static void test_payloads(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "p.svg");
	tsdb_err err;
	tsdb_svgplot_info info;
	json_t *p = payload_json(5, 64);
	CHECKF(tsdb_svgplot_save_payload(path, p, "my query", &info, &err) == 0, "%s", err.msg);
	CHECK(info.drawn == 5 && info.results == 5 && info.points == 64);
	size_t len = 0;
	char *s = slurp_text(path, &len);
	REQUIRE(s);
	CHECK(count(s, "<polyline ") == 6 && strstr(s, ">my query</tspan>") && strstr(s, ">s0004</tspan>"));
	CHECK(strstr(s, ">0.004000</tspan>") != NULL);
	free(s);
	json_decref(p);
	unlink(path);

	/* more results than are drawn: the nearest */
	p = payload_json(TSDB_SVGPLOT_MAX_MATCHES + 50, 16);
	CHECKF(tsdb_svgplot_save_payload(path, p, "q", &info, &err) == 0, "%s", err.msg);
	CHECK(info.drawn == TSDB_SVGPLOT_MAX_MATCHES && info.results == TSDB_SVGPLOT_MAX_MATCHES + 50);
	json_decref(p);
	unlink(path);

	/* foreign or broken answers: refused, no file */
	static const char *const broken[] = {
		"[1, 2]",
		"{\"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1, 2, 3]}]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1, \"x\", 3]}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1, null, 3]}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1, 2]}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": \"0.1\", \"shape\": [1, 2, 3]}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": 7, \"distance\": 0.1, \"shape\": [1, 2, 3]}], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [7], \"query_shape\": [1, 2, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1, 2, 3]}], \"query_shape\": [1, {}, 3]}",
		"{\"results\": [{\"id\": \"a\", \"distance\": 0.1, \"shape\": [1]}], \"query_shape\": [1]}",
		"{\"results\": {}, \"query_shape\": [1, 2, 3]}",
	};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		json_error_t jerr;
		p = json_loads(broken[i], 0, &jerr);
		REQUIRE(p);
		int rc = tsdb_svgplot_save_payload(path, p, "q", NULL, &err);
		CHECKF(rc == -1 && err.code == TSDB_E_INVALID_SERIES, "payload %zu: rc %d code %d", i, rc,
		       (int)err.code);
		json_decref(p);
	}
	CHECK(tsdb_svgplot_save_payload(path, NULL, "q", NULL, &err) == -1 && err.code == TSDB_E_INVALID_SERIES);
	/* nothing to plot */
	p = payload_json(0, 16);
	CHECK(tsdb_svgplot_save_payload(path, p, "q", NULL, &err) == -1 && err.code == TSDB_E_INVALID_ARG);
	json_decref(p);
	CHECK(dir_entries(dir) == 0);
	free(path);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_shift_recovers_rotation_exactly);
	RUN(test_shift_edge_cases);
	RUN(test_zscore);
	RUN(test_hostile_labels_are_escaped);
	RUN(test_bounds_are_errors);
	RUN(test_save_whole_or_nothing);
	RUN(test_payloads);
	return tap_done();
}
