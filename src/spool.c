/*
 * spool.c - ingestion of SPOOL/new/ (see spool.h for the layout and the
 * producers' contract).
 *
 * One run: take the spool's lock, list new/ once (later arrivals wait for
 * the next run), then per chunk of `batch` files in name order:
 *   1. parse each file completely (one file is all or nothing); a file
 *      that fails, or repeats an id of an earlier file of the chunk, goes
 *      to failed/ (step 4);
 *   2. insert the rest in ONE tsdb_insert with unchanged_ok: an id already
 *      stored with identical points and meta counts as stored;
 *   3. rename every committed file new/NAME -> done/NAME, fsync done/ and
 *      new/;
 *   4. a failed file: write the reason to failed/.reason.tmp, fsync it,
 *      rename it to failed/NAME.reason, fsync failed/, and only THEN rename
 *      new/NAME -> failed/NAME and fsync failed/ and new/.
 * If the insert fails because of one series (an id stored with different
 * content, a series the writer refuses) and the error names it (where.item), that
 * file goes to failed/ and the rest is retried; if it names no series,
 * the chunk's files are inserted one commit each so every file gets its
 * own verdict.  Any other failure ends the run; files not yet moved stay in
 * new/.
 *
 * Why a kill (or crash) at any instant loses and duplicates nothing:
 *  - A file leaves new/ only by rename(2), which is atomic within the
 *    spool's file system, so at every instant it is in exactly one of new/,
 *    done/, failed/.  Nothing is ever deleted (names are unique by the
 *    producers' contract, so a rename never replaces another file).
 *  - It is renamed to done/ only after tsdb_insert returned, i.e. after the
 *    commit holding its series is durable.  A kill before the commit leaves
 *    the database as it was (the writer's guarantee) and the file in new/,
 *    so the next run does everything again.
 *  - A kill after the commit but before the rename leaves a stored file in
 *    new/.  The next run parses it again (the same bytes give the same
 *    series) and inserts with unchanged_ok: every id is found stored with
 *    identical content, so nothing is stored twice (ids are keys, and an
 *    unchanged series is not written again) and the file moves to done/.
 *  - A failed file's reason is complete (temporary file, fsync, rename)
 *    before the file moves, so failed/NAME never lacks its reason; a kill
 *    between the two renames leaves the file in new/ and the next run,
 *    deriving the same verdict, replaces the reason and moves the file.
 *  - The lock keeps two runs from racing on the same files; it is an
 *    flock, so the kernel drops it with the killed process.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer.h"

#define REASON_SUFFIX ".reason"
#define REASON_TMP ".reason.tmp"
#define LOCK_NAME ".lock"

void tsdb_spool_opts_default(tsdb_spool_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch = TSDB_SPOOL_BATCH;
	tsdb_input_opts_default(&o->input);
}

typedef struct spool {
	const char *path;
	const tsdb_spool_opts *o;
	tsdb_spool_result *r;
	int dir, lock, fnew, fdone, ffailed;   /* descriptors, -1 when closed */
} spool;

/* One file of the chunk: its series are batch.series[first, first+count). */
typedef struct entry {
	char *name;
	size_t first, count;
	int settled;        /* moved to done/ or failed/, or left */
} entry;

/* ---- directories ---------------------------------------------------------- */

static int fsync_dir(int fd, const char *path, const char *sub, tsdb_err *err)
{
	if (fsync(fd) != 0)
		return tsdb_errno(err, errno, "cannot sync %s/%s", path, sub);
	return 0;
}

/* Opens (making it if missing) the subdirectory sub of the spool. */
static int open_sub(spool *sp, const char *sub, int *fd, tsdb_err *err)
{
	if (mkdirat(sp->dir, sub, 0755) == 0) {
		if (fsync_dir(sp->dir, sp->path, ".", err))
			return -1;
	} else if (errno != EEXIST)
		return tsdb_errno(err, errno, "cannot create %s/%s", sp->path, sub);
	*fd = openat(sp->dir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return tsdb_errno(err, errno, "cannot open %s/%s", sp->path, sub);
	return 0;
}

static void spool_close(spool *sp)
{
	int *fds[] = {&sp->fnew, &sp->fdone, &sp->ffailed, &sp->lock, &sp->dir};
	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int spool_open(spool *sp, tsdb_err *err)
{
	if (mkdir(sp->path, 0755) != 0 && errno != EEXIST)
		return tsdb_errno(err, errno, "cannot create spool %s", sp->path);
	sp->dir = open(sp->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dir < 0)
		return tsdb_errno(err, errno, "cannot open spool %s", sp->path);
	sp->lock = openat(sp->dir, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (sp->lock < 0)
		return tsdb_errno(err, errno, "cannot open %s/%s", sp->path, LOCK_NAME);
	while (flock(sp->lock, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			return tsdb_errf(err, TSDB_E_UNAVAILABLE,
					 "spool %s is busy: another ingest holds %s/%s", sp->path,
					 sp->path, LOCK_NAME);
		return tsdb_errno(err, errno, "cannot lock %s/%s", sp->path, LOCK_NAME);
	}
	if (open_sub(sp, "new", &sp->fnew, err) || open_sub(sp, "done", &sp->fdone, err) ||
	    open_sub(sp, "failed", &sp->ffailed, err))
		return -1;
	return 0;
}

/* The names in new/ to ingest, sorted.  Anything that is not a regular file
 * (a symbolic link included) is left where it is; the O_NOFOLLOW open
 * decides again when the file is read. */
static int list_new(spool *sp, char ***out, size_t *nout, tsdb_err *err)
{
	int fd = dup(sp->fnew);
	if (fd < 0)
		return tsdb_errno(err, errno, "cannot read %s/new", sp->path);
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return tsdb_errno(err, e, "cannot read %s/new", sp->path);
	}
	char shown[PATH_MAX];
	snprintf(shown, sizeof shown, "%s/new", sp->path);
	int rc = tsdb_input_list_dir(d, shown, 1, SIZE_MAX, out, nout, err);
	closedir(d);
	return rc;
}

/* ---- verdicts ------------------------------------------------------------ */

static void tell(spool *sp, entry *e, enum tsdb_spool_fate fate, const char *reason)
{
	e->settled = 1;
	if (fate == TSDB_SPOOL_DONE)
		sp->r->done++;
	else if (fate == TSDB_SPOOL_FAILED)
		sp->r->failed++;
	else
		sp->r->left++;
	if (sp->o->on_file)
		sp->o->on_file(sp->o->ctx, e->name, fate, reason);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* failed/NAME.reason, complete and durable before it has its name. */
static int write_reason(spool *sp, const char *name, const char *reason, tsdb_err *err)
{
	char final[NAME_MAX + 1];
	if (snprintf(final, sizeof final, "%s%s", name, REASON_SUFFIX) >= (int)sizeof final)
		return 0; /* no room for a name: the callback still has the reason */
	/* a planted file or link must not redirect the write: remove, O_EXCL */
	if (unlinkat(sp->ffailed, REASON_TMP, 0) != 0 && errno != ENOENT)
		return tsdb_errno(err, errno, "cannot remove %s/failed/%s", sp->path, REASON_TMP);
	int fd = openat(sp->ffailed, REASON_TMP,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return tsdb_errno(err, errno, "cannot create %s/failed/%s", sp->path, REASON_TMP);
	if (write_all(fd, reason, strlen(reason)) || write_all(fd, "\n", 1) || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		return tsdb_errno(err, e, "cannot write %s/failed/%s", sp->path, REASON_TMP);
	}
	if (close(fd) != 0)
		return tsdb_errno(err, errno, "cannot write %s/failed/%s", sp->path, REASON_TMP);
	if (renameat(sp->ffailed, REASON_TMP, sp->ffailed, final) != 0)
		return tsdb_errno(err, errno, "cannot rename %s/failed/%s to %s", sp->path,
				  REASON_TMP, final);
	return fsync_dir(sp->ffailed, sp->path, "failed", err);
}

/* Renames new/NAME into to/.  A file gone meanwhile (someone removed it)
 * is no error: there is nothing left to lose. */
static int move(spool *sp, const char *name, int to, const char *toname, tsdb_err *err)
{
	if (renameat(sp->fnew, name, to, name) != 0 && errno != ENOENT)
		return tsdb_errno(err, errno, "cannot move %s/new/%s to %s/", sp->path, name,
				  toname);
	return 0;
}

static int fail_file(spool *sp, entry *e, const char *reason, tsdb_err *err)
{
	if (write_reason(sp, e->name, reason, err) ||
	    move(sp, e->name, sp->ffailed, "failed", err) ||
	    fsync_dir(sp->ffailed, sp->path, "failed", err) ||
	    fsync_dir(sp->fnew, sp->path, "new", err))
		return -1;
	tell(sp, e, TSDB_SPOOL_FAILED, reason);
	return 0;
}

/* Moves the chunk's stored, unsettled files to done/. */
static int done_files(spool *sp, entry *es, size_t n, tsdb_err *err)
{
	size_t moved = 0;
	for (size_t i = 0; i < n; i++) {
		if (es[i].settled || es[i].count == 0)
			continue;
		if (move(sp, es[i].name, sp->fdone, "done", err))
			return -1;
		tell(sp, &es[i], TSDB_SPOOL_DONE, NULL);
		moved++;
	}
	if (!moved)
		return 0;
	return fsync_dir(sp->fdone, sp->path, "done", err) ||
	       fsync_dir(sp->fnew, sp->path, "new", err) ? -1 : 0;
}

/* Drops the series of settled files from the batch and renumbers the
 * others' ranges (entries are in batch order). */
static int drop_settled(tsdb_batch *b, entry *es, size_t n, tsdb_err *err)
{
	unsigned char *drop = calloc(b->n ? b->n : 1, 1);
	if (!drop)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (es[i].settled)
			memset(drop + es[i].first, 1, es[i].count);
	tsdb_batch_remove(b, drop);
	free(drop);
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		if (es[i].settled)
			es[i].count = 0;
		es[i].first = at;
		at += es[i].count;
	}
	return 0;
}

/* The entry holding series i. */
static entry *owner(entry *es, size_t n, size_t i)
{
	for (size_t k = 0; k < n; k++)
		if (!es[k].settled && i >= es[k].first && i < es[k].first + es[k].count)
			return &es[k];
	return NULL;
}

/* ---- one chunk ----------------------------------------------------------- */

/* Step 1: parses the chunk's files into b. */
static int load_chunk(spool *sp, tsdb_batch *b, entry *es, size_t n, tsdb_err *err)
{
	tsdb_input_opts io = sp->o->input;
	io.skip_invalid = 0;
	io.on_invalid = NULL;
	for (size_t i = 0; i < n; i++) {
		entry *e = &es[i];
		char shown[PATH_MAX + NAME_MAX + 8];
		char id[TSDB_ID_MAX + 1];
		size_t idlen;
		tsdb_err fe = {0};
		int fd;
		snprintf(shown, sizeof shown, "%s/new/%s", sp->path, e->name);
		e->first = b->n;
		if (tsdb_input_id_from_name(e->name, id, &idlen, &fe)) {
			tsdb_errctx(&fe, "%s", shown);
			if (fail_file(sp, e, fe.msg, err))
				return -1;
			continue;
		}
		if (tsdb_input_open_regular(sp->fnew, e->name, shown, 1, &fd, &fe)) {
			/* not a regular file, or unreadable for now: leave it */
			tell(sp, e, TSDB_SPOOL_LEFT, fe.msg);
			continue;
		}
		int rc = tsdb_input_load_fd(b, fd, shown, &io, &fe);
		close(fd);
		if (rc && (fe.code == TSDB_E_IO || fe.code == TSDB_E_UNKNOWN)) {
			if (fe.code == TSDB_E_UNKNOWN) { /* out of memory: give up */
				*err = fe;
				return -1;
			}
			tell(sp, e, TSDB_SPOOL_LEFT, fe.msg);
			continue;
		}
		if (rc) {
			if (fail_file(sp, e, fe.msg, err))
				return -1;
			continue;
		}
		e->count = b->n - e->first;
	}
	return 0;
}

/* Files repeating an id of an earlier file in the chunk fail: the first
 * in name order wins, as it does across chunks (a later chunk finds the id
 * stored), so the outcome does not depend on --batch. */
static int fail_duplicates(spool *sp, tsdb_batch *b, entry *es, size_t n, tsdb_err *err)
{
	size_t ndup;
	size_t *other = malloc((b->n ? b->n : 1) * sizeof *other);
	if (!other)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	int rc = tsdb_batch_duplicates(b, other, &ndup, err);
	for (size_t i = 0; rc == 0 && ndup && i < b->n; i++) {
		if (other[i] == SIZE_MAX || other[i] > i)
			continue;
		entry *e = owner(es, n, i);
		if (!e)
			continue; /* its file already failed for an earlier id */
		char w[1024], reason[sizeof w + TSDB_ID_MAX + 64];
		tsdb_batch_where(b, other[i], w, sizeof w);
		snprintf(reason, sizeof reason, "%s/new/%s: duplicate id '%s' (first %s)", sp->path,
			 e->name, b->series[i].id, w);
		rc = fail_file(sp, e, reason, err);
	}
	free(other);
	return rc ? -1 : drop_settled(b, es, n, err);
}

static int insert(spool *sp, const tsdb_series *s, size_t n, const char *dbdir,
		  tsdb_err *err)
{
	tsdb_insert_opts io = {0};
	tsdb_insert_result res = {0};
	io.unchanged_ok = 1;
	io.progress = sp->o->progress;
	io.progress_ctx = sp->o->progress_ctx;
	if (tsdb_insert(dbdir, s, n, &io, &res, err))
		return -1;
	sp->r->inserted += res.inserted;
	sp->r->unchanged += res.unchanged;
	sp->r->batches++;
	sp->r->txn = res.txn;
	sp->r->compactions += (size_t)res.compacted;
	if (res.compact_failed) {
		sp->r->compact_failures++;
		sp->r->compact_err = res.compact_err;
	}
	return 0;
}

/* A file the writer refused: the reason names the file, then the writer's
 * message. */
static int fail_insert(spool *sp, entry *e, tsdb_err *why, tsdb_err *err)
{
	tsdb_errctx(why, "%s/new/%s", sp->path, e->name);
	return fail_file(sp, e, why->msg, err);
}

/* Step 2 and 3, with the retries described at the top. */
static int store_chunk(spool *sp, const char *dbdir, tsdb_batch *b, entry *es, size_t n,
		       tsdb_err *err)
{
	while (b->n) {
		tsdb_err ie = {0};
		if (insert(sp, b->series, b->n, dbdir, &ie) == 0)
			return done_files(sp, es, n, err);
		if (!tsdb_batch_series_error(ie.code)) {
			*err = ie;
			return -1;
		}
		ptrdiff_t i = tsdb_batch_blame(b, &ie);
		entry *e = i >= 0 ? owner(es, n, (size_t)i) : NULL;
		if (!e)
			break;
		if (fail_insert(sp, e, &ie, err) || drop_settled(b, es, n, err))
			return -1;
	}
	/* no id to blame: every file gets its own commit and verdict */
	for (size_t k = 0; k < n; k++) {
		entry *e = &es[k];
		tsdb_err ie = {0};
		if (e->settled || e->count == 0)
			continue;
		if (insert(sp, b->series + e->first, e->count, dbdir, &ie) == 0) {
			if (done_files(sp, e, 1, err))
				return -1;
		} else if (!tsdb_batch_series_error(ie.code)) {
			*err = ie;
			return -1;
		} else if (fail_insert(sp, e, &ie, err))
			return -1;
	}
	return 0;
}

static int do_chunk(spool *sp, const char *dbdir, char **names, size_t n, tsdb_err *err)
{
	tsdb_batch b;
	entry *es = calloc(n, sizeof *es);
	if (!es)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	for (size_t i = 0; i < n; i++)
		es[i].name = names[i];
	tsdb_batch_init(&b);
	int rc = load_chunk(sp, &b, es, n, err);
	if (rc == 0)
		rc = fail_duplicates(sp, &b, es, n, err);
	if (rc == 0)
		rc = store_chunk(sp, dbdir, &b, es, n, err);
	tsdb_batch_free(&b);
	free(es);
	return rc;
}

int tsdb_spool_ingest(const char *dbdir, const char *path, const tsdb_spool_opts *o,
		      tsdb_spool_result *r, tsdb_err *err)
{
	tsdb_err local;
	if (!err)
		err = &local;
	memset(r, 0, sizeof *r);
	if (o->batch == 0)
		return tsdb_errf(err, TSDB_E_INVALID_ARG, "batch size must be at least 1");
	spool sp = {.path = path, .o = o, .r = r,
		    .dir = -1, .lock = -1, .fnew = -1, .fdone = -1, .ffailed = -1};
	char **names = NULL;
	size_t n = 0;
	int rc = spool_open(&sp, err);
	if (rc == 0)
		rc = list_new(&sp, &names, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i += o->batch)
		rc = do_chunk(&sp, dbdir, names + i, n - i < o->batch ? n - i : o->batch, err);
	tsdb_input_free_names(names, n);
	spool_close(&sp);
	return rc;
}
