/*
 * input.h - loading series for insertion: files, directories and standard
 * input, in the text format or JSON, into one batch.
 *
 * What a path holds:
 *   - "-": standard input, JSON Lines or a single series;
 *   - a directory: every regular file in it, sorted by name (byte order),
 *     not recursive, names starting with '.' skipped;
 *   - any other path: one file.
 * What a file holds, by its first non-space byte (a UTF-8 BOM is skipped):
 *   - '{' or '[': JSON.  One JSON value followed only by white space is a
 *     single series in any shape tsdb_series_from_json accepts; otherwise
 *     (and always for names ending in .jsonl or .ndjson) the file is JSON
 *     Lines: one series object with an "id" per line, blank lines allowed.
 *   - anything else: the text format (tsdb_series_parse_text).
 * Ids: a JSON series carries its own; a single series without one takes
 * the file's base name without its last extension
 * ("tests/data/51886.dat_folded" -> "51886"; ".x" and "x" stay as they
 * are); standard input has no name, so there the id must come from the
 * JSON or from a forced id (insert --id).  A forced id applies to a file
 * holding a single series only and must agree with an id the JSON carries.
 *
 * Errors name the place and the reason, "batch.jsonl line 12: t[3] is not a
 * number".  Two modes (tsdb_input_opts.skip_invalid):
 *   - stop (default): the first problem fails the call with that message and
 *     the batch is left exactly as it was before the call;
 *   - skip: each problem is passed to opts.on_invalid, the offending series
 *     (a JSON Lines record, or a whole file when the file itself is bad) is
 *     left out and loading goes on.  The call then fails only for what no
 *     input caused (out of memory) or for a bound on the whole batch.
 * Duplicate ids are found once everything is loaded (tsdb_input_finish).
 *
 * Bounds: bytes per file (max_file_bytes), points per series (max_points),
 * series per batch (max_series); a larger input is refused (TSDB_E_TOO_LARGE),
 * never truncated.
 */
#ifndef TSDB_INPUT_H
#define TSDB_INPUT_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "series.h"

#define TSDB_INPUT_MAX_FILE_BYTES ((size_t)1 << 30)   /* 1 GiB */
#define TSDB_INPUT_MAX_POINTS ((size_t)10000000)
#define TSDB_INPUT_MAX_SERIES ((size_t)10000000)

typedef struct tsdb_input_opts {
	size_t max_file_bytes;
	size_t max_points;        /* per series */
	size_t max_series;        /* per batch */
	int skip_invalid;         /* skip mode (above) instead of stop */
	int anonymous_ok;         /* a series may stay without an id (search queries) */
	/* skip mode: told about each problem (err->msg names the place) */
	void (*on_invalid)(void *ctx, const tsdb_err *err);
	void *ctx;
} tsdb_input_opts;

/* The defaults above, stop mode, no callback. */
void tsdb_input_opts_default(tsdb_input_opts *o);

/* Where a series came from: a file (index into tsdb_batch.files) and the
 * line of its JSON Lines record, 0 for a whole file. */
typedef struct tsdb_origin {
	size_t file;
	size_t line;
} tsdb_origin;

/* A batch owns its series (contiguous, so it can go to tsdb_insert as is),
 * their origins and the display names of the files they came from. */
typedef struct tsdb_batch {
	tsdb_series *series;
	tsdb_origin *origin;      /* parallel to series */
	size_t n, cap;
	char **files;
	size_t nfiles, files_cap;
	size_t skipped;           /* skip mode: problems reported so far */
} tsdb_batch;

void tsdb_batch_init(tsdb_batch *b);
void tsdb_batch_free(tsdb_batch *b);

/* Frees series [n, b->n) and shrinks the batch to n of them. */
void tsdb_batch_truncate(tsdb_batch *b, size_t n);

/* Removes the series whose drop[i] is non-zero, keeping the order of the
 * others (drop has b->n entries). */
void tsdb_batch_remove(tsdb_batch *b, const unsigned char *drop);

/* "batch.jsonl line 12" or "dir/51886.dat_folded", for messages. */
void tsdb_batch_where(const tsdb_batch *b, size_t i, char *buf, size_t cap);

/* Marks err as being about series i of b: its index, id, file and line
 * (err.h, where). */
void tsdb_batch_err_where(const tsdb_batch *b, size_t i, tsdb_err *err);

/* The id a file name gives: its base name (after the last '/') without
 * its last extension, validated as an id.  id must hold TSDB_ID_MAX + 1. */
int tsdb_input_id_from_name(const char *name, char *id, size_t *len, tsdb_err *err);

/* Loads a path (see the top of this file) into b.  forced_id (or NULL) is
 * insert --id: the path must then be "-" or a file holding one series. */
int tsdb_input_load(tsdb_batch *b, const char *path, const char *forced_id,
		    const tsdb_input_opts *o, tsdb_err *err);

/* Loads a file already open for reading (the spool opens with O_NOFOLLOW);
 * name is shown in messages and gives the id of a single series. */
int tsdb_input_load_fd(tsdb_batch *b, int fd, const char *name, const tsdb_input_opts *o,
		       tsdb_err *err);

/* Parses a buffer (the contents of the file called name; name NULL means
 * standard input, which gives no id).  forced_id as for tsdb_input_load. */
int tsdb_input_parse(tsdb_batch *b, const char *buf, size_t len, const char *name,
		     const char *forced_id, const tsdb_input_opts *o, tsdb_err *err);

/* Opens name (relative to dirfd) for reading and checks that it is a
 * regular file; with nofollow a symbolic link is refused too (the spool,
 * whose directory others may write).  *fd is the caller's to close. */
int tsdb_input_open_regular(int dirfd, const char *name, const char *shown, int nofollow,
			    int *fd, tsdb_err *err);

/* The names of the regular files in directory d (path is for messages),
 * sorted byte-wise, hidden ones (a leading '.') left out; with nofollow a
 * symbolic link is not a regular file.  More than max is TSDB_E_TOO_LARGE.
 * The caller frees *out with tsdb_input_free_names. */
int tsdb_input_list_dir(DIR *d, const char *path, int nofollow, size_t max, char ***out,
			size_t *nout, tsdb_err *err);
void tsdb_input_free_names(char **names, size_t n);


/* Duplicate ids within b: other[i] (b->n entries) is the earliest other
 * series with the same id as series i, or SIZE_MAX when its id is unique;
 * *ndup counts the series that share their id. */
int tsdb_batch_duplicates(const tsdb_batch *b, size_t *other, size_t *ndup, tsdb_err *err);

/* Ends loading: duplicate ids are an error naming both places ("duplicate
 * id 'x': a.jsonl line 3 and b/x.dat"), or in skip mode every series
 * sharing an id is reported and left out (which one was meant is unknown). */
int tsdb_input_finish(tsdb_batch *b, const tsdb_input_opts *o, tsdb_err *err);

/* Is a failure with this code about the data (a duplicate, an invalid
 * series or id, one too large) rather than about the database or the
 * system?  Such a failure is the input's to fix; another is retried or
 * reported as the system's. */
int tsdb_batch_series_error(enum tsdb_errcode code);

/* The series of b that an error from a call given b->series is about
 * (err->where.item, when the id there matches), or -1 when it is about no
 * one series. */
ptrdiff_t tsdb_batch_blame(const tsdb_batch *b, const tsdb_err *err);

/* A search query: path ("-" is standard input) must hold exactly one
 * series, which may have no id; it is loaded into the empty batch b (with
 * the default bounds).  Anything else is an error naming the path. */
int tsdb_input_load_query(tsdb_batch *b, const char *path, tsdb_err *err);

#endif
