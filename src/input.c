/*
 * input.c - loading series for insertion (see input.h for the formats,
 * the id rules and the two error modes).
 *
 * Invariants:
 *  - A batch owns every series, origin and file name in it; series move in
 *    by value (the source is zeroed), so there is one owner at every step.
 *  - In stop mode a failing call leaves the batch exactly as it found it
 *    (every public loader rolls back to its entry state), so a caller can
 *    load file after file and attribute each range of series to its file.
 *  - Nothing is allocated before its size is checked against a bound the
 *    caller set: file bytes before reading, series before growing.
 *  - Library code never prints: problems go to the caller's err or, in
 *    skip mode, to its callback.
 */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grow.h"

#define STDIN_NAME "standard input"

void tsdb_input_opts_default(tsdb_input_opts *o)
{
	memset(o, 0, sizeof *o);
	o->max_file_bytes = TSDB_INPUT_MAX_FILE_BYTES;
	o->max_points = TSDB_INPUT_MAX_POINTS;
	o->max_series = TSDB_INPUT_MAX_SERIES;
}

/* ---- the batch ---------------------------------------------------------- */

void tsdb_batch_init(tsdb_batch *b)
{
	memset(b, 0, sizeof *b);
}

void tsdb_batch_truncate(tsdb_batch *b, size_t n)
{
	while (b->n > n)
		tsdb_series_free(&b->series[--b->n]);
}

static void files_truncate(tsdb_batch *b, size_t nfiles)
{
	while (b->nfiles > nfiles)
		free(b->files[--b->nfiles]);
}

void tsdb_batch_free(tsdb_batch *b)
{
	tsdb_batch_truncate(b, 0);
	files_truncate(b, 0);
	free(b->series);
	free(b->origin);
	free(b->files);
	memset(b, 0, sizeof *b);
}

void tsdb_batch_remove(tsdb_batch *b, const unsigned char *drop)
{
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (drop[i]) {
			tsdb_series_free(&b->series[i]);
			continue;
		}
		if (k != i) {
			b->series[k] = b->series[i];
			b->origin[k] = b->origin[i];
			memset(&b->series[i], 0, sizeof b->series[i]);
		}
		k++;
	}
	b->n = k;
}

void tsdb_batch_where(const tsdb_batch *b, size_t i, char *buf, size_t cap)
{
	const tsdb_origin *o = &b->origin[i];
	if (o->line)
		snprintf(buf, cap, "%s line %zu", b->files[o->file], o->line);
	else
		snprintf(buf, cap, "%s", b->files[o->file]);
}

void tsdb_batch_err_where(const tsdb_batch *b, size_t i, tsdb_err *err)
{
	const tsdb_origin *o = &b->origin[i];
	tsdb_err_item(err, i, b->series[i].id, b->series[i].id_len);
	tsdb_err_place(err, b->files[o->file], o->line);
}

static int add_file(tsdb_batch *b, const char *name, size_t *idx, tsdb_err *err)
{
	char **files = tsdb_grow(b->files, &b->files_cap, b->nfiles + 1, sizeof *files, err);
	if (!files)
		return -1;
	b->files = files;
	char *copy = strdup(name);
	if (!copy)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	b->files[b->nfiles] = copy;
	*idx = b->nfiles++;
	return 0;
}

/* Internal functions return -1 for a problem an input caused (the mode
 * decides what happens) and FATAL for one nothing in the input caused: a
 * bound on the whole batch, out of memory.  Public ones return -1 for both. */
#define FATAL (-2)

/* Moves *s into the batch (s is zeroed either way, freed on failure);
 * failures are FATAL. */
static int push(tsdb_batch *b, tsdb_series *s, size_t file, size_t line,
		const tsdb_input_opts *o, tsdb_err *err)
{
	if (b->n >= o->max_series) {
		tsdb_series_free(s);
		tsdb_errf(err, TSDB_E_TOO_LARGE, "more than %zu series in one batch",
			  o->max_series);
		return FATAL;
	}
	if (b->n == b->cap) {
		/* series and origin grow together, so they always share cap */
		size_t cap = b->cap, cap2 = b->cap;
		tsdb_series *series = tsdb_grow(b->series, &cap, b->n + 1, sizeof *series, err);
		if (series)
			b->series = series;
		tsdb_origin *origin = series ? tsdb_grow(b->origin, &cap2, cap, sizeof *origin, err) : NULL;
		if (!origin) {
			tsdb_series_free(s);
			return FATAL;
		}
		b->origin = origin;
		b->cap = cap;
	}
	b->series[b->n] = *s;
	b->origin[b->n].file = file;
	b->origin[b->n].line = line;
	b->n++;
	memset(s, 0, sizeof *s);
	return 0;
}

/* A problem an input caused.  Stop mode: fail with it (return -1).  Skip
 * mode: report it and go on (return 0), unless nothing in the input caused
 * it (out of memory, a bound on the whole batch). */
static int problem(tsdb_batch *b, const tsdb_input_opts *o, tsdb_err *err)
{
	if (!o->skip_invalid || err->code == TSDB_E_UNKNOWN)
		return -1;
	b->skipped++;
	if (o->on_invalid)
		o->on_invalid(o->ctx, err);
	return 0;
}

/* ---- ids ---------------------------------------------------------------- */

int tsdb_input_id_from_name(const char *name, char *id, size_t *len, tsdb_err *err)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	size_t n = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base) /* ".profile" has no extension to strip */
		n = (size_t)(dot - base);
	if (tsdb_id_validate(base, n, err))
		return tsdb_errctx(err, "file name '%s' gives no valid id", base);
	memcpy(id, base, n);
	id[n] = '\0';
	*len = n;
	return 0;
}

/* Gives s its id: the forced one, else the one it carries, else the
 * file's.  A carried id that contradicts the forced one is an error. */
static int settle_id(tsdb_series *s, const char *name, const char *shown,
		     const char *forced_id, const tsdb_input_opts *o, tsdb_err *err)
{
	if (forced_id) {
		size_t n = strlen(forced_id);
		if (tsdb_id_validate(forced_id, n, err))
			return tsdb_errctx(err, "%s: --id", shown);
		if (s->id_len && (s->id_len != n || memcmp(s->id, forced_id, n) != 0))
			return tsdb_errf(err, TSDB_E_INVALID_KEY,
					 "%s: the series' id '%s' differs from --id '%s'", shown,
					 s->id, forced_id);
		return tsdb_series_set_id(s, forced_id, n, err);
	}
	if (s->id_len)
		return 0;
	if (!name && o->anonymous_ok)
		return 0;
	if (!name)
		return tsdb_errf(err, TSDB_E_INVALID_KEY,
				 "%s: the series has no id (give one in the JSON or with --id)",
				 shown);
	if (tsdb_input_id_from_name(name, s->id, &s->id_len, err)) {
		if (o->anonymous_ok) /* a query needs no id: the name was only a guess */
			return 0;
		return tsdb_errctx(err, "%s", shown);
	}
	return 0;
}

/* ---- parsing ------------------------------------------------------------ */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* JSON object or array text, rejecting duplicate keys as the protocol
 * does (a series with two "t" members is ambiguous, not "the last one"). */
#define JSON_FLAGS JSON_REJECT_DUPLICATES

static int load_single_json(tsdb_batch *b, const json_t *j, size_t file, const char *name,
			    const char *shown, const char *forced_id,
			    const tsdb_input_opts *o, tsdb_err *err)
{
	tsdb_series s;
	if (tsdb_series_from_json(j, o->max_points, &s, err))
		return tsdb_errctx(err, "%s", shown);
	if (settle_id(&s, name, shown, forced_id, o, err)) {
		tsdb_series_free(&s);
		return -1;
	}
	return push(b, &s, file, 0, o, err);
}

/* JSON Lines: each non-blank line one series object with an id.  A bad
 * line is one problem; in skip mode the other lines still load. */
static int load_json_lines(tsdb_batch *b, const char *buf, size_t len, size_t start,
			   size_t file, const char *shown, const tsdb_input_opts *o,
			   tsdb_err *err)
{
	size_t line = 1;
	for (size_t i = start; i < len; line++) {
		const char *eol = memchr(buf + i, '\n', len - i);
		size_t end = eol ? (size_t)(eol - buf) : len;
		size_t p = i;
		i = eol ? end + 1 : len;
		while (p < end && is_space(buf[p]))
			p++;
		if (p == end)
			continue;

		json_error_t je;
		json_t *j = json_loadb(buf + p, end - p, JSON_FLAGS, &je);
		tsdb_series s;
		int rc = 0;
		if (!j)
			rc = tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s line %zu: %s", shown, line,
				       je.text);
		else if (!json_is_object(j))
			rc = tsdb_errf(err, TSDB_E_INVALID_SERIES,
				       "%s line %zu: a JSON Lines record is an object with an id",
				       shown, line);
		else if (tsdb_series_from_json(j, o->max_points, &s, err))
			rc = tsdb_errctx(err, "%s line %zu", shown, line);
		else if (!s.id_len) {
			tsdb_series_free(&s);
			rc = tsdb_errf(err, TSDB_E_INVALID_KEY, "%s line %zu: the record has no id",
				       shown, line);
		}
		json_decref(j);
		if (rc) {
			tsdb_err_place(err, shown, line);
			if (problem(b, o, err))
				return -1;
			continue;
		}
		if ((rc = push(b, &s, file, line, o, err)) != 0)
			return rc;
	}
	return 0;
}

/* One file's contents; problems are returned (the caller applies the
 * mode), except inside JSON Lines where each line is its own problem. */
static int parse_file(tsdb_batch *b, const char *buf, size_t len, const char *name,
		      const char *shown, size_t file, const char *forced_id,
		      const tsdb_input_opts *o, tsdb_err *err)
{
	size_t start = 0;
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		start = 3;
	size_t p = start;
	while (p < len && is_space(buf[p]))
		p++;
	if (p == len)
		return tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s: no series (the file is empty)",
				 shown);

	if (buf[p] != '{' && buf[p] != '[') {
		tsdb_series s;
		if (!forced_id && !name && !o->anonymous_ok)
			return tsdb_errf(err, TSDB_E_INVALID_KEY,
					 "%s: a series in the text format needs --id", shown);
		if (tsdb_series_parse_text(buf + start, len - start, shown, o->max_points, &s,
					   err))
			return -1;
		if (settle_id(&s, name, shown, forced_id, o, err)) {
			tsdb_series_free(&s);
			return -1;
		}
		return push(b, &s, file, 0, o, err);
	}

	int lines = name && (ends_with(name, ".jsonl") || ends_with(name, ".ndjson"));
	if (!lines) {
		/* one value followed by nothing but white space is a single
		 * series; anything after it makes the file JSON Lines */
		json_error_t je;
		json_t *j = json_loadb(buf + start, len - start,
				       JSON_FLAGS | JSON_DISABLE_EOF_CHECK, &je);
		if (!j) {
			tsdb_errf(err, TSDB_E_INVALID_SERIES, "%s line %d column %d: %s", shown,
				  je.line, je.column, je.text);
			tsdb_err_place(err, shown, je.line > 0 ? (size_t)je.line : 0);
			return -1;
		}
		size_t q = start + (size_t)je.position;
		while (q < len && is_space(buf[q]))
			q++;
		if (q == len) {
			int rc = load_single_json(b, j, file, name, shown, forced_id, o, err);
			json_decref(j);
			return rc;
		}
		json_decref(j);
	}
	if (forced_id)
		return tsdb_errf(err, TSDB_E_INVALID_ARG,
				 "%s: holds JSON Lines, but --id names a single series", shown);
	return load_json_lines(b, buf, len, start, file, shown, o, err);
}

/* The public entry points share this: stop mode rolls the batch back on
 * failure, skip mode turns an input's problem into a report. */
static int finish_call(tsdb_batch *b, size_t n0, size_t nfiles0, int rc,
		       const tsdb_input_opts *o, tsdb_err *err)
{
	if (rc == -1 && problem(b, o, err) == 0)
		rc = 0;
	if (rc) {
		rc = -1;
		tsdb_batch_truncate(b, n0);
		files_truncate(b, nfiles0);
	}
	return rc;
}

int tsdb_input_parse(tsdb_batch *b, const char *buf, size_t len, const char *name,
		     const char *forced_id, const tsdb_input_opts *o, tsdb_err *err)
{
	tsdb_err local;
	if (!err)
		err = &local;
	size_t n0 = b->n, nfiles0 = b->nfiles, file = 0;
	const char *shown = name ? name : STDIN_NAME;
	int rc = add_file(b, shown, &file, err) ? FATAL : 0;
	if (rc == 0)
		rc = parse_file(b, buf, len, name, shown, file, forced_id, o, err);
	if (rc == -1 && !err->where.file[0])
		tsdb_err_place(err, shown, 0);
	return finish_call(b, n0, nfiles0, rc, o, err);
}

/* ---- files -------------------------------------------------------------- */


/* Reads and parses one open file; the caller owns fd. */
static int load_fd(tsdb_batch *b, int fd, const char *name, const char *forced_id,
		   const tsdb_input_opts *o, tsdb_err *err)
{
	char *buf;
	size_t len;
	const char *shown = name ? name : STDIN_NAME;
	if (tsdb_read_fd(fd, shown, o->max_file_bytes, &buf, &len, err)) {
		tsdb_err_place(err, shown, 0);
		return problem(b, o, err);
	}
	int rc = tsdb_input_parse(b, buf, len, name, forced_id, o, err);
	free(buf);
	return rc;
}

int tsdb_input_load_fd(tsdb_batch *b, int fd, const char *name, const tsdb_input_opts *o,
		       tsdb_err *err)
{
	tsdb_err local;
	return load_fd(b, fd, name, NULL, o, err ? err : &local);
}

int tsdb_input_open_regular(int dirfd, const char *name, const char *shown, int nofollow,
			    int *fd, tsdb_err *err)
{
	/* O_NONBLOCK: a FIFO swapped in after the caller listed the
	 * directory must not hang the open; regular files ignore the flag */
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0);
	struct stat st;
	*fd = openat(dirfd, name, flags);
	if (*fd < 0) {
		if (errno == ELOOP && nofollow)
			return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s is a symbolic link", shown);
		return tsdb_errno(err, errno, "cannot open %s", shown);
	}
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = errno;
		int rc = S_ISREG(st.st_mode) ? tsdb_errno(err, e, "cannot stat %s", shown)
					     : tsdb_errf(err, TSDB_E_INVALID_ARG,
							 "%s is not a regular file", shown);
		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void tsdb_input_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int tsdb_input_list_dir(DIR *d, const char *path, int nofollow, size_t max, char ***out, size_t *nout,
			tsdb_err *err)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	*out = NULL;
	*nout = 0;
	rewinddir(d);
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno)
				rc = tsdb_errno(err, errno, "cannot read directory %s", path);
			break;
		}
		struct stat st;
		if (e->d_name[0] == '.' ||
		    fstatat(dirfd(d), e->d_name, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n >= max) {
			rc = tsdb_errf(err, TSDB_E_TOO_LARGE, "%s holds more than %zu files", path, max);
			break;
		}
		char **grown = tsdb_grow(names, &cap, n + 1, sizeof *names, err);
		if (!grown) {
			rc = -1;
			break;
		}
		names = grown;
		if (!(names[n] = strdup(e->d_name))) {
			rc = tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory listing %s", path);
			break;
		}
		n++;
	}
	if (rc) {
		tsdb_input_free_names(names, n);
		return -1;
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	*out = names;
	*nout = n;
	return 0;
}

static int load_dir(tsdb_batch *b, const char *path, const tsdb_input_opts *o, tsdb_err *err)
{
	DIR *d = opendir(path);
	if (!d) {
		tsdb_errno(err, errno, "cannot open directory %s", path);
		return problem(b, o, err);
	}
	char **names;
	size_t n;
	/* A directory the user names is the user's: links to files count. */
	int rc = tsdb_input_list_dir(d, path, 0, o->max_series, &names, &n, err);
	if (rc) {
		closedir(d);
		/* An unreadable directory is one more bad input; too many files or
		 * no memory ends the load. */
		return err->code == TSDB_E_TOO_LARGE || err->code == TSDB_E_UNKNOWN ? -1 : problem(b, o, err);
	}
	size_t plen = strlen(path);
	const char *sep = plen && path[plen - 1] == '/' ? "" : "/";
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t sz = plen + strlen(sep) + strlen(names[i]) + 1;
		char *shown = malloc(sz);
		if (!shown) {
			rc = tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
			break;
		}
		snprintf(shown, sz, "%s%s%s", path, sep, names[i]);
		int fd;
		if (tsdb_input_open_regular(dirfd(d), names[i], shown, 0, &fd, err))
			rc = problem(b, o, err);
		else {
			rc = load_fd(b, fd, shown, NULL, o, err);
			close(fd);
		}
		free(shown);
	}
	tsdb_input_free_names(names, n);
	closedir(d);
	return rc;
}

int tsdb_input_load(tsdb_batch *b, const char *path, const char *forced_id,
		    const tsdb_input_opts *o, tsdb_err *err)
{
	tsdb_err local;
	if (!err)
		err = &local;
	size_t n0 = b->n, nfiles0 = b->nfiles;
	int rc;
	if (strcmp(path, "-") == 0)
		rc = load_fd(b, STDIN_FILENO, NULL, forced_id, o, err);
	else {
		struct stat st;
		int fd;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (forced_id)
				return tsdb_errf(err, TSDB_E_INVALID_ARG,
						 "--id names a single series, but %s is a directory",
						 path);
			rc = load_dir(b, path, o, err);
		} else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
			/* blocking, and FIFOs allowed: `tsdb insert <(cmd)` */
			tsdb_errno(err, errno, "cannot open %s", path);
			rc = problem(b, o, err);
		}
		else {
			rc = load_fd(b, fd, path, forced_id, o, err);
			close(fd);
		}
	}
	if (rc) {
		/* a directory's earlier files are undone too: all or nothing */
		tsdb_batch_truncate(b, n0);
		files_truncate(b, nfiles0);
	}
	return rc;
}

/* ---- duplicate ids ------------------------------------------------------ */

typedef struct id_ref {
	const tsdb_series *s;
	size_t i;
} id_ref;

static int cmp_ref(const void *pa, const void *pb)
{
	const id_ref *a = pa, *b = pb;
	size_t n = a->s->id_len < b->s->id_len ? a->s->id_len : b->s->id_len;
	int c = memcmp(a->s->id, b->s->id, n);
	if (c)
		return c;
	if (a->s->id_len != b->s->id_len)
		return a->s->id_len < b->s->id_len ? -1 : 1;
	return (a->i > b->i) - (a->i < b->i);
}

static int same_id(const tsdb_series *a, const tsdb_series *b)
{
	return a->id_len == b->id_len && memcmp(a->id, b->id, a->id_len) == 0;
}

int tsdb_batch_duplicates(const tsdb_batch *b, size_t *other, size_t *ndup, tsdb_err *err)
{
	*ndup = 0;
	for (size_t i = 0; i < b->n; i++)
		other[i] = SIZE_MAX;
	if (b->n < 2)
		return 0;
	id_ref *r = malloc(b->n * sizeof *r);
	if (!r)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory checking %zu ids", b->n);
	for (size_t i = 0; i < b->n; i++)
		r[i] = (id_ref){&b->series[i], i};
	qsort(r, b->n, sizeof *r, cmp_ref);
	/* within a run of equal ids the entries are in input order: the
	 * first's partner is the second, everyone else's is the first */
	for (size_t g = 0; g < b->n;) {
		size_t e = g + 1;
		while (e < b->n && same_id(r[g].s, r[e].s))
			e++;
		if (e - g > 1) {
			other[r[g].i] = r[g + 1].i;
			for (size_t k = g + 1; k < e; k++)
				other[r[k].i] = r[g].i;
			*ndup += e - g;
		}
		g = e;
	}
	free(r);
	return 0;
}

int tsdb_input_finish(tsdb_batch *b, const tsdb_input_opts *o, tsdb_err *err)
{
	tsdb_err local;
	if (!err)
		err = &local;
	if (b->n < 2)
		return 0;
	size_t ndup;
	size_t *other = malloc(b->n * sizeof *other);
	unsigned char *drop = calloc(b->n, 1);
	int rc = -1;
	if (!other || !drop) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory checking %zu ids", b->n);
		goto out;
	}
	if (tsdb_batch_duplicates(b, other, &ndup, err))
		goto out;
	char w1[512], w2[512];
	for (size_t j = 0; j < b->n && ndup; j++) {
		size_t i = other[j];
		if (i == SIZE_MAX)
			continue;
		tsdb_batch_where(b, j, w1, sizeof w1);
		tsdb_batch_where(b, i, w2, sizeof w2);
		if (!o->skip_invalid) {
			/* name the earliest repetition, in input order */
			if (i > j)
				continue;
			tsdb_errf(err, TSDB_E_DUPLICATE, "duplicate id '%s': %s and %s",
				  b->series[j].id, w2, w1);
			tsdb_batch_err_where(b, j, err);
			goto out;
		}
		tsdb_errf(err, TSDB_E_DUPLICATE, "%s: duplicate id '%s' (also %s); left out", w1,
			  b->series[j].id, w2);
		tsdb_batch_err_where(b, j, err);
		if (problem(b, o, err))
			goto out;
		drop[j] = 1;
	}
	tsdb_batch_remove(b, drop);
	rc = 0;
out:
	free(other);
	free(drop);
	return rc;
}

/* ---- blame -------------------------------------------------------------- */

int tsdb_batch_series_error(enum tsdb_errcode c)
{
	return c == TSDB_E_DUPLICATE || c == TSDB_E_INVALID_SERIES || c == TSDB_E_INVALID_KEY ||
	       c == TSDB_E_TOO_LARGE;
}

ptrdiff_t tsdb_batch_blame(const tsdb_batch *b, const tsdb_err *err)
{
	/* the index is checked against the id too: an error from a call given
	 * another array must not blame the wrong series */
	size_t i = err->where.item;
	if (!tsdb_err_has_item(err) || i >= b->n)
		return -1;
	const tsdb_series *s = &b->series[i];
	if (strlen(err->where.id) != s->id_len || memcmp(err->where.id, s->id, s->id_len) != 0)
		return -1;
	return (ptrdiff_t)i;
}

/* ---- a search query ------------------------------------------------------ */

int tsdb_input_load_query(tsdb_batch *b, const char *path, tsdb_err *err)
{
	tsdb_input_opts in;
	tsdb_input_opts_default(&in);
	in.anonymous_ok = 1;
	if (tsdb_input_load(b, path, NULL, &in, err))
		return -1;
	if (b->n != 1)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "%s holds %zu series; search takes one",
				 strcmp(path, "-") ? path : "standard input", b->n);
	return 0;
}
