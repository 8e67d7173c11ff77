/*
 * svgplot.c - the SVG of a query and its matches (simsearch --plot):
 * z-scores, the best circular shift, the drawing, the atomic save, and the
 * reading of a search payload into series to draw.
 *
 * Invariants:
 *  - Nothing reaches the output before every argument has been checked
 *    (check_args, and check_payload for a payload), so a refused call
 *    writes nothing and creates no file.
 *  - Every byte of a label or title goes through put_text, which escapes
 *    the five XML specials and replaces what XML 1.0 does not allow; every
 *    other byte of the document is this file's own ASCII.  Hence the output
 *    is well-formed whatever the labels hold.
 *  - Numbers in the markup (coordinates) are formatted by fmt_coord, not
 *    printf, so the document does not depend on LC_NUMERIC; the legend's
 *    distances use printf's %.6f on purpose, to read as simsearch's table.
 *  - The save writes only to a file it created itself (O_CREAT | O_EXCL |
 *    O_NOFOLLOW, in the target's directory) and removes it on every failure
 *    path; PATH changes only by the final rename.
 */
#include "svgplot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the math ------------------------------------------------------------ */

void tsdb_svgplot_zscore(const double *x, size_t n, double *out)
{
	double lo = INFINITY, hi = -INFINITY, scale = 0;
	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, x[i]);
		hi = fmax(hi, x[i]);
		scale = fmax(scale, fabs(x[i]));
	}
	if (n == 0 || !(hi > lo) || !isfinite(scale)) {
		for (size_t i = 0; i < n; i++)
			out[i] = 0;
		return;
	}
	/* z-scores do not change with scale: dividing by max |x| first keeps
	 * the sums finite for any finite input. */
	double mean = 0, var = 0;
	for (size_t i = 0; i < n; i++)
		mean += x[i] / scale;
	mean /= (double)n;
	for (size_t i = 0; i < n; i++) {
		double d = x[i] / scale - mean;
		var += d * d;
	}
	double sd = sqrt(var / (double)n);
	if (!(sd > 0) || !isfinite(sd)) {
		for (size_t i = 0; i < n; i++)
			out[i] = 0;
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (x[i] / scale - mean) / sd;
}

size_t tsdb_svgplot_best_shift(const double *ref, const double *x, size_t n)
{
	size_t best = 0;
	double best_c = -INFINITY;
	for (size_t s = 0; s < n; s++) {
		double c = 0;
		/* i + s < n, then the wrapped part: no modulo in the inner loops */
		for (size_t i = 0; i + s < n; i++)
			c += ref[i] * x[i + s];
		for (size_t i = n - s; i < n; i++)
			c += ref[i] * x[i + s - n];
		if (c > best_c) {
			best_c = c;
			best = s;
		}
	}
	return best;
}

void tsdb_svgplot_rotate(const double *x, size_t n, size_t s, double *out)
{
	if (n == 0)
		return;
	s %= n;
	for (size_t i = 0; i < n; i++)
		out[i] = x[(i + s) % n];
}

/* ---- checks -------------------------------------------------------------- */

static const char *label_of(const tsdb_svgplot_series *s)
{
	return s->label ? s->label : "";
}

static int check_series(const tsdb_svgplot_series *s, const char *what, size_t points,
			tsdb_err *err)
{
	if (!s->v)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: %s has no values", what);
	if (strnlen(label_of(s), TSDB_SVGPLOT_MAX_LABEL + 1) > TSDB_SVGPLOT_MAX_LABEL)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "plot: the label of %s is longer than %d bytes",
				 what, TSDB_SVGPLOT_MAX_LABEL);
	for (size_t i = 0; i < points; i++)
		if (!isfinite(s->v[i]))
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: value %zu of %s is not a finite number",
					 i, what);
	return 0;
}

static int check_args(const char *title, const tsdb_svgplot_series *query,
		      const tsdb_svgplot_series *matches, size_t n, size_t points, tsdb_err *err)
{
	if (points < TSDB_SVGPLOT_MIN_POINTS)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: %zu values per series; at least %d are needed",
				 points, TSDB_SVGPLOT_MIN_POINTS);
	if (points > TSDB_SVGPLOT_MAX_POINTS)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "plot: %zu values per series; at most %d are drawn",
				 points, TSDB_SVGPLOT_MAX_POINTS);
	if (n == 0)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: no matches: nothing to plot");
	if (n > TSDB_SVGPLOT_MAX_MATCHES)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "plot: %zu matches; at most %d are drawn", n,
				 TSDB_SVGPLOT_MAX_MATCHES);
	if (!query || !matches)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: no query or no matches given");
	if (title && strnlen(title, TSDB_SVGPLOT_MAX_LABEL + 1) > TSDB_SVGPLOT_MAX_LABEL)
		return tsdb_errf(err, TSDB_E_TOO_LARGE, "plot: the title is longer than %d bytes",
				 TSDB_SVGPLOT_MAX_LABEL);
	if (check_series(query, "the query", points, err))
		return -1;
	for (size_t i = 0; i < n; i++) {
		char what[32];
		snprintf(what, sizeof what, "match %zu", i + 1);
		if (check_series(&matches[i], what, points, err))
			return -1;
		if (!isfinite(matches[i].distance))
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: the distance of match %zu is not a finite number",
					 i + 1);
	}
	return 0;
}

/* ---- text ------------------------------------------------------------------ */

/* The length of the valid UTF-8 sequence at s (1..4) and its code point,
 * or 0 when the bytes there are not one (overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t len;
	uint32_t c = s[0], min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* s as XML character data (also fit for an attribute value). */
static void put_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp = 0;
		size_t len = utf8_decode(p, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || cp == 0xfffe || cp == 0xffff) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			p += len ? len : 1;
			continue;
		}
		switch (cp) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default: fwrite(p, 1, len, f);
		}
		p += len;
	}
}

/* Code points of s: its width in characters, near enough. */
static size_t text_cols(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* x with two decimals, in the C locale's way whatever the locale is. */
static const char *fmt_coord(double x, char buf[32])
{
	long long c = llround(x * 100);
	unsigned long long a = c < 0 ? 0ull - (unsigned long long)c : (unsigned long long)c;
	snprintf(buf, 32, "%s%llu.%02llu", c < 0 ? "-" : "", a / 100, a % 100);
	return buf;
}

/* ---- the drawing --------------------------------------------------------- */

enum {
	LEFT = 64,        /* room for the y tick labels and the axis name */
	TOP = 44,         /* room for the title */
	PW = 640,         /* plot area */
	PH = 360,
	BOTTOM = 52,      /* x tick labels and the axis name */
	GAP = 24,         /* between the plot and the legend */
	ROW = 18,         /* a legend row */
	SAMPLE = 28,      /* a legend row's line sample */
	DIST_COL = 76,    /* width of the legend's distance column */
	CHAR_W = 8,       /* a character of the 12px font, generously */
};

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
				      "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};
#define NCOLORS (sizeof palette / sizeof palette[0])
static const char *const dashes[] = {"", " stroke-dasharray=\"6 3\"", " stroke-dasharray=\"2 2\""};

typedef struct frame {
	double lo, hi; /* the y range */
} frame;

static double px_x(double phase)
{
	return LEFT + phase * PW;
}

static double px_y(const frame *fr, double z)
{
	return TOP + (fr->hi - z) / (fr->hi - fr->lo) * PH;
}

/* A style for match i: a color, and a dash pattern once colors repeat. */
static void match_style(FILE *f, size_t i)
{
	fprintf(f, "stroke=\"%s\" stroke-width=\"1.5\"%s", palette[i % NCOLORS],
		dashes[(i / NCOLORS) % 3]);
}

/* The series z[0..m) as a closed periodic line over phase 0..1. */
static void put_points(FILE *f, const frame *fr, const double *z, size_t m)
{
	char a[32], b[32];
	double wrap = (z[m - 1] + z[0]) / 2;
	fprintf(f, " points=\"%s,%s", fmt_coord(px_x(0), a), fmt_coord(px_y(fr, wrap), b));
	for (size_t j = 0; j < m; j++)
		fprintf(f, " %s,%s", fmt_coord(px_x(((double)j + 0.5) / (double)m), a),
			fmt_coord(px_y(fr, z[j]), b));
	fprintf(f, " %s,%s\"", fmt_coord(px_x(1), a), fmt_coord(px_y(fr, wrap), b));
}

static void put_axes(FILE *f, const frame *fr)
{
	char a[32], b[32], c[32], d[32];
	fputs("<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">\n", f);
	static const char *const xlabels[] = {"0", "0.25", "0.5", "0.75", "1"};
	for (int i = 0; i <= 4; i++) {
		double x = px_x(i / 4.0);
		fprintf(f, "<line x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"/>\n", fmt_coord(x, a), TOP,
			fmt_coord(x, b), TOP + PH);
	}
	/* y ticks: a step of 1, 2 or 5 times a power of ten, about six of them */
	double raw = (fr->hi - fr->lo) / 6, p = pow(10, floor(log10(raw))), q = raw / p;
	double step = (q <= 1 ? 1 : q <= 2 ? 2 : q <= 5 ? 5 : 10) * p;
	long k0 = (long)ceil(fr->lo / step), k1 = (long)floor(fr->hi / step);
	for (long k = k0; k <= k1; k++) {
		double y = px_y(fr, (double)k * step);
		fprintf(f, "<line x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"%s/>\n", LEFT, fmt_coord(y, a),
			LEFT + PW, fmt_coord(y, b), k == 0 ? " stroke=\"#aaaaaa\"" : "");
	}
	fputs("</g>\n", f);
	fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
		"stroke=\"#333333\" stroke-width=\"1\"/>\n", LEFT, TOP, PW, PH);
	fputs("<g class=\"ticks\" fill=\"#333333\">\n", f);
	for (int i = 0; i <= 4; i++)
		fprintf(f, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			fmt_coord(px_x(i / 4.0), a), TOP + PH + 18, xlabels[i]);
	for (long k = k0; k <= k1; k++) {
		/* the tick's value as text: k * step is exact enough for %g */
		char label[32];
		snprintf(label, sizeof label, "%g", (double)k * step);
		fprintf(f, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", LEFT - 6,
			fmt_coord(px_y(fr, (double)k * step) + 4, a), label);
	}
	fprintf(f, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">phase</text>\n",
		fmt_coord(px_x(0.5), c), TOP + PH + 40);
	fprintf(f, "<text x=\"%d\" y=\"%s\" text-anchor=\"middle\" transform=\"rotate(-90 %d %s)\">"
		"z-score</text>\n", 20, fmt_coord(TOP + PH / 2.0, c), 20, fmt_coord(TOP + PH / 2.0, d));
	fputs("</g>\n", f);
}

/* One legend row: a line sample in the series' style, then two columns. */
static void put_legend_row(FILE *f, size_t row, long style, const char *col1, const char *col2)
{
	char a[32];
	int x0 = LEFT + PW + GAP, y = TOP + 12 + (int)row * ROW;
	fprintf(f, "<g class=\"entry\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" ", x0, y - 4,
		x0 + SAMPLE, y - 4);
	if (style < 0)
		fputs("stroke=\"#000000\" stroke-width=\"3\"", f);
	else
		match_style(f, (size_t)style);
	fprintf(f, "/><text x=\"%d\" y=\"%d\"><tspan class=\"%s\">", x0 + SAMPLE + 8, y,
		style < 0 ? "query" : "distance");
	put_text(f, col1);
	fprintf(f, "</tspan> <tspan class=\"%s\" x=\"%s\">", style < 0 ? "label" : "id",
		fmt_coord(x0 + SAMPLE + 8 + DIST_COL, a));
	put_text(f, col2);
	fputs("</tspan></text></g>\n", f);
}

static void draw(FILE *f, const char *title, const tsdb_svgplot_series *query,
		 const tsdb_svgplot_series *matches, size_t n, size_t m, const double *z,
		 const size_t *shift)
{
	/* z: the query's z-scores, then each match's, aligned */
	frame fr = {.lo = -1, .hi = 1};
	for (size_t i = 0; i < (n + 1) * m; i++) {
		fr.lo = fmin(fr.lo, z[i]);
		fr.hi = fmax(fr.hi, z[i]);
	}
	double pad = (fr.hi - fr.lo) * 0.05;
	fr.lo -= pad;
	fr.hi += pad;

	size_t cols = text_cols(label_of(query));
	for (size_t i = 0; i < n; i++) {
		size_t c = text_cols(label_of(&matches[i]));
		cols = c > cols ? c : cols;
	}
	size_t width = LEFT + PW + GAP + SAMPLE + 8 + DIST_COL + cols * CHAR_W + 16;
	size_t height = TOP + PH + BOTTOM, lh = TOP + (n + 1) * ROW + 16;
	height = lh > height ? lh : height;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%zu\" "
		"height=\"%zu\" viewBox=\"0 0 %zu %zu\" font-family=\"sans-serif\" font-size=\"12\">\n",
		width, height, width, height);
	fputs("<title>", f);
	put_text(f, title);
	fputs("</title>\n<desc>Each series standardized (mean 0, standard deviation 1) and "
	      "circularly shifted to its best match with the query; phase on x.</desc>\n", f);
	fputs("<rect class=\"background\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n", f);
	fprintf(f, "<text class=\"title\" x=\"%d\" y=\"%d\" font-size=\"14\">", LEFT, TOP - 16);
	put_text(f, title);
	fputs("</text>\n", f);
	put_axes(f, &fr);

	/* the farthest match first, so that the nearest lie on top; the query last */
	fputs("<g class=\"series\" fill=\"none\" stroke-linejoin=\"round\">\n", f);
	for (size_t i = n; i-- > 0;) {
		char dist[64];
		snprintf(dist, sizeof dist, "%.6f", matches[i].distance);
		fputs("<polyline class=\"match\" ", f);
		match_style(f, i);
		put_points(f, &fr, z + (i + 1) * m, m);
		fputs("><title>", f);
		put_text(f, label_of(&matches[i]));
		fprintf(f, ": distance %s, shifted by %zu of %zu</title></polyline>\n", dist, shift[i], m);
	}
	fputs("<polyline class=\"query\" stroke=\"#000000\" stroke-width=\"3\"", f);
	put_points(f, &fr, z, m);
	fputs("><title>query ", f);
	put_text(f, label_of(query));
	fputs("</title></polyline>\n</g>\n", f);

	fputs("<g class=\"legend\" fill=\"#000000\">\n", f);
	put_legend_row(f, 0, -1, "query", label_of(query));
	for (size_t i = 0; i < n; i++) {
		char dist[64];
		snprintf(dist, sizeof dist, "%.6f", matches[i].distance);
		put_legend_row(f, i + 1, (long)i, dist, label_of(&matches[i]));
	}
	fputs("</g>\n</svg>\n", f);
}

static int write_error(tsdb_err *err, const char *name)
{
	return tsdb_errno(err, errno ? errno : EIO, "cannot write %s", name);
}

/* tsdb_svgplot_write after check_args; name is the output's name in messages. */
static int write_checked(FILE *f, const char *name, const char *title,
			 const tsdb_svgplot_series *query, const tsdb_svgplot_series *matches,
			 size_t n, size_t m, tsdb_err *err)
{
	double *z = malloc((n + 1) * m * sizeof *z);
	double *tmp = malloc(m * sizeof *tmp);
	size_t *shift = malloc(n * sizeof *shift);
	if (!z || !tmp || !shift) {
		free(z);
		free(tmp);
		free(shift);
		return tsdb_errf(err, TSDB_E_UNKNOWN, "plot: out of memory");
	}
	tsdb_svgplot_zscore(query->v, m, z);
	for (size_t i = 0; i < n; i++) {
		tsdb_svgplot_zscore(matches[i].v, m, tmp);
		shift[i] = tsdb_svgplot_best_shift(z, tmp, m);
		tsdb_svgplot_rotate(tmp, m, shift[i], z + (i + 1) * m);
	}
	errno = 0;
	draw(f, title ? title : "tsdb: the query and its nearest matches", query, matches, n, m, z,
	     shift);
	free(z);
	free(tmp);
	free(shift);
	if (fflush(f) != 0 || ferror(f))
		return write_error(err, name);
	return 0;
}

int tsdb_svgplot_write(FILE *f, const char *title, const tsdb_svgplot_series *query,
		       const tsdb_svgplot_series *matches, size_t n, size_t points, tsdb_err *err)
{
	if (!f)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: no output stream");
	if (check_args(title, query, matches, n, points, err))
		return -1;
	return write_checked(f, "the plot", title, query, matches, n, points, err);
}

/* ---- the save ------------------------------------------------------------ */

/* Creates "DIR/.BASE.PID.N.tmp" beside path; its name in *tmp_out
 * (malloc'ed) and the open stream in *out. */
static int create_temp(const char *path, char **tmp_out, FILE **out, tsdb_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t dirlen = (size_t)(base - path);
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s: a directory, not a file name", path);
	size_t cap = strlen(path) + 64;
	char *tmp = malloc(cap);
	if (!tmp)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "plot: out of memory");
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(tmp, cap, "%.*s.%s.%ld.%d.tmp", (int)dirlen, path, base, (long)getpid(), attempt);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			break;
		FILE *f = fdopen(fd, "w");
		if (!f) {
			int e = errno;
			close(fd);
			unlink(tmp);
			free(tmp);
			return tsdb_errno(err, e, "cannot write %s", path);
		}
		*tmp_out = tmp;
		*out = f;
		return 0;
	}
	int e = errno;
	free(tmp);
	return tsdb_errno(err, e, "cannot create a temporary file beside %s", path);
}

int tsdb_svgplot_save(const char *path, const char *title, const tsdb_svgplot_series *query,
		      const tsdb_svgplot_series *matches, size_t n, size_t points, tsdb_err *err)
{
	if (!path || !*path)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "plot: no file name");
	if (check_args(title, query, matches, n, points, err))
		return -1;
	char *tmp = NULL;
	FILE *f = NULL;
	if (create_temp(path, &tmp, &f, err))
		return -1;
	int rc = write_checked(f, path, title, query, matches, n, points, err);
	if (rc == 0 && fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS)
		rc = write_error(err, path);
	if (fclose(f) != 0 && rc == 0)
		rc = write_error(err, path);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = tsdb_errno(err, errno, "cannot rename %s to %s", tmp, path);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* ---- a search payload ---------------------------------------------------- */

static int bad_payload(tsdb_err *err, const char *what)
{
	return tsdb_errf(err, TSDB_E_INVALID_SERIES,
			 "the server's answer has %s (an older or foreign server?)", what);
}

/* The numbers of the array a (of exactly m elements) into out. */
static int shape_values(const json_t *a, size_t m, double *out)
{
	if (!json_is_array(a) || json_array_size(a) != m)
		return -1;
	for (size_t j = 0; j < m; j++) {
		const json_t *x = json_array_get(a, j);
		if (!json_is_number(x) || !isfinite(json_number_value(x)))
			return -1;
		out[j] = json_number_value(x);
	}
	return 0;
}

int tsdb_svgplot_save_payload(const char *path, const json_t *payload, const char *query_label,
			      tsdb_svgplot_info *info, tsdb_err *err)
{
	if (!json_is_object(payload))
		return bad_payload(err, "a payload that is not an object");
	const json_t *results = json_object_get(payload, "results");
	if (!json_is_array(results))
		return bad_payload(err, "no \"results\" array");
	size_t total = json_array_size(results);
	if (total == 0)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "no results: nothing to plot");
	const json_t *qs = json_object_get(payload, "query_shape");
	if (!json_is_array(qs))
		return bad_payload(err, "no \"query_shape\" array");
	size_t m = json_array_size(qs);
	if (m < TSDB_SVGPLOT_MIN_POINTS || m > TSDB_SVGPLOT_MAX_POINTS) {
		char what[96];
		snprintf(what, sizeof what, "a \"query_shape\" of %zu values (%d..%d are drawn)", m,
			 TSDB_SVGPLOT_MIN_POINTS, TSDB_SVGPLOT_MAX_POINTS);
		return bad_payload(err, what);
	}
	size_t n = total < TSDB_SVGPLOT_MAX_MATCHES ? total : TSDB_SVGPLOT_MAX_MATCHES;
	double *v = malloc((n + 1) * m * sizeof *v);
	tsdb_svgplot_series *s = malloc((n + 1) * sizeof *s);
	int rc = -1;
	if (!v || !s) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "plot: out of memory");
		goto out;
	}
	if (shape_values(qs, m, v)) {
		bad_payload(err, "a \"query_shape\" that is not all numbers");
		goto out;
	}
	s[0] = (tsdb_svgplot_series){.label = query_label ? query_label : "", .v = v};
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(results, i);
		const json_t *id = json_object_get(r, "id"), *d = json_object_get(r, "distance");
		char what[128];
		if (!json_is_string(id) || !json_is_number(d)) {
			snprintf(what, sizeof what, "a result %zu without a string \"id\" and a numeric \"distance\"", i + 1);
			bad_payload(err, what);
			goto out;
		}
		if (shape_values(json_object_get(r, "shape"), m, v + (i + 1) * m)) {
			snprintf(what, sizeof what, "a result %zu without a \"shape\" of %zu numbers", i + 1, m);
			bad_payload(err, what);
			goto out;
		}
		s[i + 1] = (tsdb_svgplot_series){.label = json_string_value(id), .v = v + (i + 1) * m,
						 .distance = json_number_value(d)};
	}
	char title[128];
	if (n == total)
		snprintf(title, sizeof title, "tsdb: the query and its %zu nearest match%s", n,
			 n == 1 ? "" : "es");
	else
		snprintf(title, sizeof title, "tsdb: the query and the nearest %zu of its %zu matches", n,
			 total);
	rc = tsdb_svgplot_save(path, title, &s[0], s + 1, n, m, err);
	if (rc == 0 && info)
		*info = (tsdb_svgplot_info){.drawn = n, .results = total, .points = m};
out:
	free(v);
	free(s);
	return rc;
}
