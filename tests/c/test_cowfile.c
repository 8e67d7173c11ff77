/*
 * test_cowfile.c - the append-only file with two commit records, on its
 * own: raw bytes, no trees.  Damaged and foreign headers and slots, the
 * read-only mapping, appends and their alignment, rollback, a commit that
 * fails half-way (the file stays at the previous commit), a file cut after
 * a commit (readers open the older one and say what was lost), and the
 * durable replace that compaction uses.
 */
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "cowfile.h"
#include "crc32c.h"
#include "le.h"
#include "tap.h"
#include "testutil.h"

/* Appends `len` bytes of the pattern `seed` and commits them with words
 * {offset, len}; returns the offset or 0 on failure. */
static uint64_t commit_pattern(cow_writer *w, uint8_t seed, size_t len, uint32_t align)
{
	tsdb_err err;
	uint8_t *buf = malloc(len);
	if (!buf)
		return 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
	uint64_t off = 0;
	if (cow_append(w, buf, len, align, &off, &err) < 0 ||
	    cow_commit(w, (uint64_t[2]){off, len}, 2, &err) < 0) {
		printf("# %s\n", err.msg);
		off = 0;
	}
	free(buf);
	return off;
}

/* The snapshot's data at words {offset, len} is the pattern `seed`. */
static int has_pattern(const cow_snap *s, uint8_t seed)
{
	if (s->meta.nwords != 2)
		return 0;
	const uint8_t *p = cow_ptr(s, s->meta.words[0], s->meta.words[1]);
	if (!p)
		return 0;
	for (uint64_t i = 0; i < s->meta.words[1]; i++)
		if (p[i] != (uint8_t)(seed + i * 7))
			return 0;
	return 1;
}

static void test_bad_files(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "bad.db");
	char *other = test_path(dir, "other.db");
	tsdb_err err;
	cow_snap s;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	CHECK(cow_create(path, NULL, 0, &err) < 0); /* never clobbers */
	size_t len;
	unsigned char *img = test_slurp(path, &len);
	REQUIRE(img && len == COW_DATA_START);
	CHECK(cow_snap_open(&s, path, &err) == 0 && s.meta.txn == 1);
	cow_snap_close(&s);

	img[0] ^= 1;
	test_spew(path, img, len);
	CHECK(cow_snap_open(&s, path, &err) < 0 && strstr(err.msg, "not a tsdb database"));
	img[0] ^= 1;
	/* A newer format version (header checksum redone). */
	img[8] = 2;
	le32_put(img + 60, crc32c(0, img, 60));
	test_spew(path, img, len);
	CHECK(cow_snap_open(&s, path, &err) < 0 && err.code == TSDB_E_VERSION && strstr(err.msg, "newer"));
	img[8] = 1;
	le32_put(img + 60, crc32c(0, img, 60));
	/* Both commit records damaged. */
	img[COW_SLOT_OFFSET(0) + 20] ^= 0x40;
	test_spew(path, img, len);
	CHECK(cow_snap_open(&s, path, &err) < 0 && strstr(err.msg, "no valid commit record"));
	img[COW_SLOT_OFFSET(0) + 20] ^= 0x40;
	/* Truncated below the header. */
	test_spew(path, img, 100);
	CHECK(cow_snap_open(&s, path, &err) < 0 && strstr(err.msg, "truncated"));
	/* Empty file, missing file. */
	test_spew(path, img, 0);
	CHECK(cow_snap_open(&s, path, &err) < 0);
	unlink(path);
	CHECK(cow_snap_open(&s, path, &err) < 0 && err.code == TSDB_E_UNAVAILABLE);
	/* A commit record copied from another file does not belong here. */
	REQUIRE(cow_create(other, NULL, 0, &err) == 0);
	size_t olen;
	unsigned char *oimg = test_slurp(other, &olen);
	REQUIRE(oimg);
	memcpy(img + COW_SLOT_OFFSET(0), oimg + COW_SLOT_OFFSET(0), COW_SLOT_SIZE);
	test_spew(path, img, len);
	CHECK(cow_snap_open(&s, path, &err) < 0 && strstr(err.msg, "another database"));
	free(oimg);
	free(img);
	free(path);
	free(other);
	test_rmtree(dir);
}

static void segv_exit(int sig)
{
	(void)sig;
	_exit(77);
}

static void test_mapping_read_only(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "ro.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_snap s;
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		/* Our own handler, so sanitizers' handlers do not report it. */
		struct sigaction sa = {.sa_handler = segv_exit};
		sigaction(SIGSEGV, &sa, NULL);
		((volatile uint8_t *)s.base)[100] = 1;
		_exit(0);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 77, "status %d", status);
	cow_snap_close(&s);
	free(path);
	test_rmtree(dir);
}

/* Appends land at the alignment asked for, are invisible until committed,
 * and cow_ptr refuses every range outside the committed data. */
static void test_append_commit(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "append.db");
	tsdb_err err;
	REQUIRE(cow_create(path, (uint64_t[1]){42}, 1, &err) == 0);
	cow_writer w;
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	CHECK(w.snap.meta.txn == 1 && w.snap.meta.nwords == 1 && w.snap.meta.words[0] == 42);
	uint64_t off1, off4, off8;
	REQUIRE(cow_append(&w, "abc", 3, 1, &off1, &err) == 0);
	REQUIRE(cow_append(&w, "defg", 4, 4, &off4, &err) == 0);
	REQUIRE(cow_append(&w, "h", 1, 8, &off8, &err) == 0);
	CHECK(off1 == COW_DATA_START && off4 % 4 == 0 && off4 >= off1 + 3 && off8 % 8 == 0 && off8 >= off4 + 4);
	/* A reader opened now sees the empty commit only. */
	cow_snap before;
	REQUIRE(cow_snap_open(&before, path, &err) == 0);
	CHECK(before.meta.txn == 1 && before.size == COW_DATA_START && cow_ptr(&before, off1, 1) == NULL);
	REQUIRE(cow_commit(&w, (uint64_t[3]){off1, off4, off8}, 3, &err) == 0);
	CHECK(w.snap.meta.txn == 2 && w.snap.size == off8 + 1);
	cow_snap after;
	REQUIRE(cow_snap_open(&after, path, &err) == 0);
	CHECK(after.meta.txn == 2 && after.meta.nwords == 3 && after.meta.time_ns > 0);
	const uint8_t *p = cow_ptr(&after, after.meta.words[1], 4);
	CHECK(p && !memcmp(p, "defg", 4));
	CHECK(cow_ptr(&after, off8, 1) && cow_ptr(&after, off8, 2) == NULL);
	CHECK(cow_ptr(&after, COW_DATA_START - 1, 1) == NULL);
	CHECK(cow_ptr(&after, UINT64_MAX, 1) == NULL && cow_ptr(&after, off1, UINT64_MAX) == NULL);
	/* The first reader still has its snapshot. */
	CHECK(before.meta.txn == 1 && before.size == COW_DATA_START);
	CHECK(cow_commit(&w, NULL, COW_META_WORDS + 1, &err) < 0);
	cow_snap_close(&before);
	cow_snap_close(&after);
	cow_writer_close(&w);
	free(path);
	test_rmtree(dir);
}

/* Rolled-back bytes never reach a commit; the next append reuses the space. */
static void test_rollback(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "rollback.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	uint64_t first = commit_pattern(&w, 1, 5000, 8);
	REQUIRE(first != 0);
	uint64_t end = w.snap.size, off;
	/* Enough to spill the write-behind buffer to the file. */
	size_t big = 1u << 22;
	uint8_t *junk = calloc(1, big);
	REQUIRE(junk);
	memset(junk, 0xEE, big);
	REQUIRE(cow_append(&w, junk, big, 8, &off, &err) == 0);
	cow_rollback(&w);
	struct stat st;
	REQUIRE(stat(path, &st) == 0);
	CHECKF((uint64_t)st.st_size == end, "file is %lld bytes, committed %llu", (long long)st.st_size,
	       (unsigned long long)end);
	uint64_t second = commit_pattern(&w, 2, 100, 8);
	CHECK(second == (end + 7) / 8 * 8);
	cow_writer_close(&w);
	cow_snap s;
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	CHECK(s.meta.txn == 3 && has_pattern(&s, 2) && s.size == second + 100);
	cow_snap_close(&s);
	free(junk);
	free(path);
	test_rmtree(dir);
}

/* A commit whose write fails (here: the file size limit) reports it,
 * commits nothing, and leaves a file that opens at the previous commit
 * and takes the next commit. */
static void test_failed_commit(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "fail.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	REQUIRE(commit_pattern(&w, 3, 10000, 8) != 0);
	cow_writer_close(&w);
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		cow_writer cw;
		if (cow_writer_open(&cw, path, &err) < 0)
			_exit(2);
		struct rlimit lim = {(rlim_t)cw.snap.size + 3000, RLIM_INFINITY};
		if (setrlimit(RLIMIT_FSIZE, &lim) < 0)
			_exit(3);
		uint8_t buf[4096] = {0};
		uint64_t off;
		for (int i = 0; i < 4; i++)
			if (cow_append(&cw, buf, sizeof buf, 8, &off, &err) < 0)
				_exit(4);
		int rc = cow_commit(&cw, (uint64_t[2]){off, 4096}, 2, &err);
		_exit(rc < 0 && err.code == TSDB_E_IO && strstr(err.msg, "fail.db") ? 0 : 5);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cow_snap s;
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	CHECK(s.meta.txn == 2 && has_pattern(&s, 3));
	cow_snap_close(&s);
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	CHECK(w.snap.meta.txn == 2);
	REQUIRE(commit_pattern(&w, 4, 64, 1) != 0);
	cow_writer_close(&w);
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	CHECK(s.meta.txn == 3 && has_pattern(&s, 4));
	cow_snap_close(&s);
	free(path);
	test_rmtree(dir);
}

/* A file cut after a commit (not what a crash does) opens at the commit
 * before, and the snapshot says which commit was lost. */
static void test_lost_commit(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "lost.db");
	tsdb_err err;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	cow_writer w;
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	REQUIRE(commit_pattern(&w, 5, 3000, 8) != 0);
	uint64_t kept_end = w.snap.size;
	REQUIRE(commit_pattern(&w, 6, 3000, 8) != 0);
	cow_writer_close(&w);
	REQUIRE(truncate(path, (off_t)kept_end) == 0);
	cow_snap s;
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	CHECK(s.meta.txn == 2 && has_pattern(&s, 5));
	CHECKF(strstr(s.lost, "txn 3") && strstr(s.lost, "truncated"), "lost: \"%s\"", s.lost);
	cow_snap_close(&s);
	/* An intact file reports nothing lost. */
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	REQUIRE(commit_pattern(&w, 7, 10, 1) != 0);
	cow_writer_close(&w);
	REQUIRE(cow_snap_open(&s, path, &err) == 0);
	CHECK(s.lost[0] == '\0' && has_pattern(&s, 7));
	cow_snap_close(&s);
	free(path);
	test_rmtree(dir);
}

/* cow_replace puts a complete file in place; a reader that mapped the old
 * one keeps reading it; a missing source changes nothing. */
static void test_replace(void)
{
	char *dir = test_tmpdir();
	char *path = test_path(dir, "live.db");
	char *tmp = test_path(dir, "live.db.tmp");
	tsdb_err err;
	cow_writer w;
	REQUIRE(cow_create(path, NULL, 0, &err) == 0);
	REQUIRE(cow_writer_open(&w, path, &err) == 0);
	REQUIRE(commit_pattern(&w, 8, 20000, 8) != 0);
	cow_writer_close(&w);
	REQUIRE(cow_create(tmp, NULL, 0, &err) == 0);
	REQUIRE(cow_writer_open(&w, tmp, &err) == 0);
	REQUIRE(commit_pattern(&w, 9, 100, 8) != 0);
	cow_writer_close(&w);
	cow_snap old;
	REQUIRE(cow_snap_open(&old, path, &err) == 0);
	REQUIRE(cow_replace(tmp, path, &err) == 0);
	CHECK(access(tmp, F_OK) < 0 && errno == ENOENT);
	cow_snap now;
	REQUIRE(cow_snap_open(&now, path, &err) == 0);
	CHECK(has_pattern(&now, 9) && now.size < old.size);
	CHECK(has_pattern(&old, 8));
	CHECK(cow_replace(tmp, path, &err) < 0 && err.code == TSDB_E_IO && strstr(err.msg, "live.db.tmp"));
	cow_snap again;
	REQUIRE(cow_snap_open(&again, path, &err) == 0);
	CHECK(has_pattern(&again, 9));
	cow_snap_close(&again);
	cow_snap_close(&now);
	cow_snap_close(&old);
	free(path);
	free(tmp);
	test_rmtree(dir);
}

int main(void)
{
	RUN(test_bad_files);
	RUN(test_mapping_read_only);
	RUN(test_append_commit);
	RUN(test_rollback);
	RUN(test_failed_commit);
	RUN(test_lost_commit);
	RUN(test_replace);
	return tap_done();
}
