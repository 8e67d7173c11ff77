/*
 * svgplot.h - the picture behind `simsearch --plot`: a query series and its
 * nearest matches, each standardized and phase-aligned to the query, drawn
 * as one SVG file with a legend of ids and distances.
 *
 * What it promises:
 *  - The math is pure and total.  tsdb_svgplot_zscore maps any finite
 *    array to mean 0 and population standard deviation 1, and a constant
 *    array to all zeros (a constant has no shape); it cannot overflow,
 *    however large the values.  tsdb_svgplot_best_shift returns the
 *    circular shift that maximizes the cross-correlation of kernel.h,
 *    ccor_s(ref, x) = (1/n) sum_i ref[i] x[(i + s) mod n], the smallest s
 *    of equal ones, always in [0, n).  Rotating x by it (out[i] =
 *    x[(i + s) mod n]) undoes a rotation exactly.
 *  - The SVG is written by this code, needs no library, and is well-formed
 *    XML 1.0 whatever the labels hold: & < > " ' are escaped, and bytes
 *    that are not valid UTF-8, C0 controls, DEL, U+FFFE and U+FFFF (none
 *    of which XML allows) become U+FFFD.  It has width, height and
 *    viewBox, an axes box with phase 0..1 on x and the z-score on y, tick
 *    labels, one <polyline> per series (the query last, black and thicker)
 *    and a legend with one <text> per series: the query's label, and per
 *    match its distance as simsearch prints it (%.6f) and its id.
 *    Coordinates are written without printf's locale.
 *  - A series of m values is what the server's "shape" is: value j stands
 *    for the slice [j/m, (j+1)/m) of the period and is drawn at its middle;
 *    the line is closed across phase 0 = 1 (period 1).
 *  - Everything is bounded before anything is written: 1..TSDB_SVGPLOT_
 *    MAX_MATCHES matches, TSDB_SVGPLOT_MIN_POINTS..TSDB_SVGPLOT_MAX_POINTS
 *    values per series (the same for all), finite values and distances,
 *    labels and title of at most TSDB_SVGPLOT_MAX_LABEL bytes.  A
 *    violation is TSDB_E_INVALID_ARG (TSDB_E_TOO_LARGE past a bound) and
 *    no byte of output.  Alignment costs O(matches x points^2).
 *  - tsdb_svgplot_save replaces a file whole or not at all: it writes a
 *    temporary file in the same directory, syncs it and renames it over
 *    PATH; on any failure the temporary file is removed and PATH is as it
 *    was.  (A process killed while writing may leave ".NAME.*.tmp".)
 *
 * Errors are values (err.h); nothing here prints or exits.
 */
#ifndef TSDB_SVGPLOT_H
#define TSDB_SVGPLOT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

#define TSDB_SVGPLOT_MIN_POINTS 2
#define TSDB_SVGPLOT_MAX_POINTS 1024
#define TSDB_SVGPLOT_MAX_MATCHES 100
#define TSDB_SVGPLOT_MAX_LABEL 1024 /* bytes of one label, or of the title */

/* One series to draw: points values (the count is the call's), a label
 * (NUL-terminated, any bytes, see above; NULL is an empty one) and, for a
 * match, its distance. */
typedef struct tsdb_svgplot_series {
	const char *label;
	const double *v;
	double distance; /* ignored for the query */
} tsdb_svgplot_series;

/* out[i] = (x[i] - mean) / std (population), or 0 for every i when x is
 * constant.  x must be finite; out may be x. */
void tsdb_svgplot_zscore(const double *x, size_t n, double *out);

/* The s in [0, n) maximizing sum_i ref[i] x[(i + s) mod n], the smallest
 * of equal ones; 0 when n is 0.  Values must be finite (with a NaN the
 * answer is still some s in [0, n)). */
size_t tsdb_svgplot_best_shift(const double *ref, const double *x, size_t n);

/* out[i] = x[(i + s) mod n] for a shift s (any value; taken mod n).  out
 * must not overlap x. */
void tsdb_svgplot_rotate(const double *x, size_t n, size_t s, double *out);

/* Writes the SVG of query and matches[0..n) (each points values) to f:
 * every series z-scored, each match rotated by its best shift against the
 * query; the matches in the order given (nearest first, as a search sorts
 * them).  title (NULL: a default) is the picture's heading.  0, or -1 with
 * err filled: bad arguments (nothing written), or a write error of f
 * (TSDB_E_IO or TSDB_E_NOSPACE; f is then the caller's to discard). */
int tsdb_svgplot_write(FILE *f, const char *title, const tsdb_svgplot_series *query,
		       const tsdb_svgplot_series *matches, size_t n, size_t points, tsdb_err *err);

/* tsdb_svgplot_write into the file path, replaced whole or not at all (see
 * above); the arguments are checked before any file is made.  The file is
 * created with mode 0666 less the umask. */
int tsdb_svgplot_save(const char *path, const char *title, const tsdb_svgplot_series *query,
		      const tsdb_svgplot_series *matches, size_t n, size_t points, tsdb_err *err);

/* What tsdb_svgplot_save_payload drew. */
typedef struct tsdb_svgplot_info {
	size_t drawn;   /* matches drawn: the first min(results, TSDB_SVGPLOT_MAX_MATCHES) */
	size_t results; /* results in the payload */
	size_t points;  /* values per series */
} tsdb_svgplot_info;

/* The plot of a search payload (docs/PROTOCOL.md: with_id, with_ts or
 * within, asked with "shape" > 0) saved to path: the query is
 * "query_shape", labelled query_label; the matches are the first
 * TSDB_SVGPLOT_MAX_MATCHES of "results", each with its "id", "distance"
 * and "shape".  The payload is checked whole before any file is made: a
 * payload that is not an object, lacks "results" or "query_shape", or
 * whose results lack an id, a numeric distance or a shape of numbers as
 * long as the query's (a foreign or older server) is TSDB_E_INVALID_SERIES;
 * no results at all is TSDB_E_INVALID_ARG ("nothing to plot").  *info
 * (may be NULL) is filled on success. */
int tsdb_svgplot_save_payload(const char *path, const json_t *payload, const char *query_label,
			      tsdb_svgplot_info *info, tsdb_err *err);

#endif
