/*
 * cowfile.c - the append-only, two-slot commit file (see cowfile.h).
 *
 * Header (64 bytes at 0): magic[8] "\x89TSDB\r\n\x1a", u32 format version,
 * u32 header size, u64 creation time (ns), u8 file_id[16], 20 reserved
 * bytes, u32 crc32c of bytes [0, 60).
 * Commit slot (at 1024 and 2048): u32 magic "TCMT", u32 version, u64 txn,
 * u64 end, u64 time_ns, u8 file_id[16], u32 nwords, u32 reserved,
 * u64 words[nwords], u32 crc32c of everything before it.  The file id binds
 * a slot to its file, so a slot copied from another database is invalid.
 */
#include "cowfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "le.h"

static const uint8_t file_magic[8] = {0x89, 'T', 'S', 'D', 'B', '\r', '\n', 0x1a};
#define SLOT_MAGIC 0x544d4354u /* "TCMT" */
#define SLOT_FIXED 56u         /* bytes before words[] */
#define WBUF_CAP (1u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Moves all len bytes at off, with pwrite when writing, else pread (a
 * read that meets the end of the file fails with EIO), retrying on EINTR
 * and short transfers. */
static int pio_all(int fd, uint8_t *p, size_t len, uint64_t off, int writing)
{
	while (len > 0) {
		ssize_t n = writing ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0 && !writing) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, (uint8_t *)buf, len, off, 1); /* only read from */
}

static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, buf, len, off, 0);
}

static size_t slot_encode(uint8_t *slot, const uint8_t file_id[16], const cow_meta *m)
{
	memset(slot, 0, COW_SLOT_SIZE);
	le32_put(slot + 0, SLOT_MAGIC);
	le32_put(slot + 4, COW_FORMAT_VERSION);
	le64_put(slot + 8, m->txn);
	le64_put(slot + 16, m->end);
	le64_put(slot + 24, m->time_ns);
	memcpy(slot + 32, file_id, 16);
	le32_put(slot + 48, m->nwords);
	for (uint32_t i = 0; i < m->nwords; i++)
		le64_put(slot + SLOT_FIXED + 8 * i, m->words[i]);
	size_t used = SLOT_FIXED + 8 * (size_t)m->nwords;
	le32_put(slot + used, crc32c(0, slot, used));
	return used + 4;
}

int cow_slot_decode(const uint8_t *slot, const uint8_t file_id[16], uint64_t file_size,
		    cow_meta *m, tsdb_err *err)
{
	if (le32_get(slot) != SLOT_MAGIC)
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit record has no magic (never written or overwritten)");
	uint32_t nwords = le32_get(slot + 48);
	if (nwords > COW_META_WORDS)
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit record claims %u words (max %u)", nwords, COW_META_WORDS);
	size_t used = SLOT_FIXED + 8 * (size_t)nwords;
	if (le32_get(slot + used) != crc32c(0, slot, used))
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit record checksum mismatch (torn or damaged)");
	uint32_t version = le32_get(slot + 4);
	if (version != COW_FORMAT_VERSION)
		return tsdb_errf(err, TSDB_E_VERSION, "commit record has format version %u, this build reads %u",
				 version, COW_FORMAT_VERSION);
	if (memcmp(slot + 32, file_id, 16) != 0)
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit record belongs to another database file");
	m->txn = le64_get(slot + 8);
	m->end = le64_get(slot + 16);
	m->time_ns = le64_get(slot + 24);
	m->nwords = nwords;
	memset(m->words, 0, sizeof m->words);
	for (uint32_t i = 0; i < nwords; i++)
		m->words[i] = le64_get(slot + SLOT_FIXED + 8 * i);
	if (m->end < COW_DATA_START)
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit record ends at %llu, inside the header",
				 (unsigned long long)m->end);
	if (m->end > file_size)
		return tsdb_errf(err, TSDB_E_CORRUPT, "commit txn %llu ends at byte %llu but the file has %llu (truncated)",
				 (unsigned long long)m->txn, (unsigned long long)m->end, (unsigned long long)file_size);
	return 0;
}

int cow_create(const char *path, const uint64_t *words, uint32_t nwords, tsdb_err *err)
{
	return cow_create_at(path, 1, words, nwords, err);
}

int cow_create_at(const char *path, uint64_t txn, const uint64_t *words, uint32_t nwords, tsdb_err *err)
{
	if (nwords > COW_META_WORDS)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "%u commit words requested (max %u)", nwords, COW_META_WORDS);
	uint8_t *page = calloc(1, COW_DATA_START);
	if (!page)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	uint8_t file_id[16];
	if (getrandom(file_id, sizeof file_id, 0) != (ssize_t)sizeof file_id) {
		free(page);
		return tsdb_errno(err, errno, "%s: getrandom", path);
	}
	uint64_t t = now_ns();
	memcpy(page, file_magic, 8);
	le32_put(page + 8, COW_FORMAT_VERSION);
	le32_put(page + 12, COW_HEADER_SIZE);
	le64_put(page + 16, t);
	memcpy(page + 24, file_id, 16);
	le32_put(page + 60, crc32c(0, page, 60));
	cow_meta m = {.txn = txn ? txn : 1, .end = COW_DATA_START, .time_ns = t, .nwords = nwords};
	if (nwords)
		memcpy(m.words, words, 8 * (size_t)nwords);
	slot_encode(page + COW_SLOT_OFFSET(0), file_id, &m);

	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(page);
		return tsdb_errno(err, errno, "%s: cannot create", path);
	}
	int rc = 0;
	if (pwrite_all(fd, page, COW_DATA_START, 0) < 0 || fsync(fd) < 0) {
		rc = tsdb_errno(err, errno, "%s: cannot write", path);
		unlink(path);
	}
	close(fd);
	free(page);
	return rc;
}

static int header_check(const uint8_t *h, const char *name, uint8_t file_id[16], tsdb_err *err)
{
	if (memcmp(h, file_magic, 8) != 0)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: not a tsdb database file (bad magic)", name);
	uint32_t version = le32_get(h + 8);
	if (le32_get(h + 60) != crc32c(0, h, 60))
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: file header checksum mismatch", name);
	if (version > COW_FORMAT_VERSION)
		return tsdb_errf(err, TSDB_E_VERSION,
				 "%s: format version %u is newer than this build supports (%u); upgrade tsdb",
				 name, version, COW_FORMAT_VERSION);
	if (version != COW_FORMAT_VERSION)
		return tsdb_errf(err, TSDB_E_VERSION, "%s: unsupported format version %u", name, version);
	memcpy(file_id, h + 24, 16);
	return 0;
}

/* Reads header and slots through pread (not the mapping: the commit picked
 * decides how much to map). */
static int snap_load(cow_snap *s, int fd, const char *name, tsdb_err *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return tsdb_errno(err, errno, "%s: stat", name);
	if (!S_ISREG(st.st_mode))
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: not a regular file", name);
	s->file_bytes = (uint64_t)st.st_size;
	if (s->file_bytes < COW_DATA_START)
		return tsdb_errf(err, TSDB_E_CORRUPT, "%s: truncated to %llu bytes (smaller than the header)",
				 name, (unsigned long long)s->file_bytes);
	uint8_t page[COW_DATA_START];
	if (pread_all(fd, page, sizeof page, 0) < 0)
		return tsdb_errno(err, errno, "%s: read", name);
	if (header_check(page, name, s->file_id, err) < 0)
		return -1;
	cow_meta m[2];
	tsdb_err why[2];
	int ok[2];
	for (int i = 0; i < 2; i++)
		ok[i] = cow_slot_decode(page + COW_SLOT_OFFSET(i), s->file_id, s->file_bytes, &m[i], &why[i]) == 0;
	int pick = -1;
	if (ok[0] && ok[1])
		pick = m[1].txn > m[0].txn ? 1 : 0;
	else if (ok[0] || ok[1])
		pick = ok[0] ? 0 : 1;
	if (pick < 0) {
		tsdb_errf(err, why[0].code == TSDB_E_VERSION ? TSDB_E_VERSION : TSDB_E_CORRUPT,
			  "%s: no valid commit record (slot 0: %s; slot 1: %s)", name, why[0].msg, why[1].msg);
		return -1;
	}
	s->meta = m[pick];
	s->slot = pick;
	cow_meta whole;
	int other = 1 - pick;
	if (!ok[other] && cow_slot_decode(page + COW_SLOT_OFFSET(other), s->file_id, UINT64_MAX, &whole, NULL) == 0 &&
	    whole.txn > s->meta.txn)
		snprintf(s->lost, sizeof s->lost, "commit txn %llu ends at byte %llu but the file has %llu: truncated after that commit",
			 (unsigned long long)whole.txn, (unsigned long long)whole.end, (unsigned long long)s->file_bytes);
	s->size = s->meta.end;
	void *map = mmap(NULL, s->size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return tsdb_errno(err, errno, "%s: mmap", name);
	s->base = map;
	return 0;
}

int cow_snap_open_fd(cow_snap *s, int fd, const char *name, tsdb_err *err)
{
	memset(s, 0, sizeof *s);
	s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s->fd < 0)
		return tsdb_errno(err, errno, "%s: dup", name);
	if (snap_load(s, s->fd, name, err) < 0) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

int cow_snap_open(cow_snap *s, const char *path, tsdb_err *err)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tsdb_errf(err, errno == ENOENT ? TSDB_E_UNAVAILABLE : TSDB_E_IO, "%s: cannot open: %s",
				 path, strerror(errno));
	s->fd = fd;
	if (snap_load(s, fd, path, err) < 0) {
		close(fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

void cow_snap_close(cow_snap *s)
{
	if (s->base)
		munmap((void *)s->base, s->size);
	if (s->fd >= 0)
		close(s->fd);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

int cow_writer_open(cow_writer *w, const char *path, tsdb_err *err)
{
	memset(w, 0, sizeof *w);
	w->wfd = -1;
	if (cow_snap_open(&w->snap, path, err) < 0)
		return -1;
	w->wfd = open(path, O_RDWR | O_CLOEXEC);
	if (w->wfd < 0) {
		tsdb_errno(err, errno, "%s: cannot open for writing", path);
		goto fail;
	}
	w->path = strdup(path);
	w->buf = malloc(WBUF_CAP);
	if (!w->path || !w->buf) {
		tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
		goto fail;
	}
	w->buf_cap = WBUF_CAP;
	w->end = w->snap.size;
	w->buf_off = w->end;
	/* Leftovers of a writer that died before committing. */
	if (w->snap.file_bytes > w->snap.size && ftruncate(w->wfd, (off_t)w->snap.size) < 0) {
		tsdb_errno(err, errno, "%s: cannot cut uncommitted tail", path);
		goto fail;
	}
	return 0;
fail:
	cow_writer_close(w);
	return -1;
}

static int flush(cow_writer *w, tsdb_err *err)
{
	if (w->buf_len && pwrite_all(w->wfd, w->buf, w->buf_len, w->buf_off) < 0)
		return tsdb_errno(err, errno, "%s: write", w->path);
	w->buf_off += w->buf_len;
	w->buf_len = 0;
	return 0;
}

int cow_append(cow_writer *w, const void *data, size_t len, uint32_t align, uint64_t *off,
	       tsdb_err *err)
{
	static const uint8_t zeros[8];
	uint64_t pad = (align > 1) ? (align - w->end % align) % align : 0;
	if (w->buf_len + pad + len > w->buf_cap && flush(w, err) < 0)
		return -1;
	if (pad) {
		memcpy(w->buf + w->buf_len, zeros, pad);
		w->buf_len += pad;
		w->end += pad;
	}
	*off = w->end;
	if (len > w->buf_cap) {
		if (flush(w, err) < 0)
			return -1;
		if (pwrite_all(w->wfd, data, len, w->end) < 0)
			return tsdb_errno(err, errno, "%s: write", w->path);
		w->buf_off += len;
	} else {
		memcpy(w->buf + w->buf_len, data, len);
		w->buf_len += len;
	}
	w->end += len;
	return 0;
}

void cow_rollback(cow_writer *w)
{
	w->buf_len = 0;
	w->end = w->snap.size;
	w->buf_off = w->end;
	/* Best effort: a failure here leaves garbage past the commit, which
	 * readers never map and the next writer cuts off. */
	if (ftruncate(w->wfd, (off_t)w->snap.size) < 0) {
	}
}

int cow_commit(cow_writer *w, const uint64_t *words, uint32_t nwords, tsdb_err *err)
{
	if (nwords > COW_META_WORDS)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "%u commit words (max %u)", nwords, COW_META_WORDS);
	cow_meta m = {.txn = w->snap.meta.txn + 1, .end = w->end, .time_ns = now_ns(), .nwords = nwords};
	if (nwords)
		memcpy(m.words, words, 8 * (size_t)nwords);
	uint8_t slot[COW_SLOT_SIZE];
	size_t slot_len = slot_encode(slot, w->snap.file_id, &m);
	int target = 1 - w->snap.slot;
	/* Until the record is written, only bytes past the last commit were:
	 * cutting them off leaves the file exactly as it was. */
	if (flush(w, err) < 0) {
		cow_rollback(w);
		return -1;
	}
	if (fdatasync(w->wfd) < 0) {
		tsdb_errno(err, errno, "%s: commit txn %llu", w->path, (unsigned long long)m.txn);
		cow_rollback(w);
		return -1;
	}
	if (pwrite_all(w->wfd, slot, slot_len, COW_SLOT_OFFSET(target)) < 0 || fdatasync(w->wfd) < 0) {
		tsdb_errno(err, errno, "%s: commit txn %llu", w->path, (unsigned long long)m.txn);
		/* The newest commit's slot is untouched; the one written may hold
		 * part or all of the new record.  Zero it so it can never pass for
		 * a commit once the data behind it is cut off. */
		if (pwrite_all(w->wfd, (uint8_t[COW_SLOT_SIZE]){0}, COW_SLOT_SIZE, COW_SLOT_OFFSET(target)) == 0)
			(void)fdatasync(w->wfd);
		cow_rollback(w);
		return -1;
	}

	/* Committed: grow the mapping (mremap keeps the pages already mapped). */
	void *map = mremap((void *)w->snap.base, w->snap.size, m.end, MREMAP_MAYMOVE);
	if (map == MAP_FAILED)
		return tsdb_errno(err, errno, "%s: mremap after commit txn %llu (the commit is durable)",
				  w->path, (unsigned long long)m.txn);
	w->snap.base = map;
	w->snap.size = m.end;
	w->snap.file_bytes = m.end;
	w->snap.meta = m;
	w->snap.slot = target;
	return 0;
}

void cow_writer_close(cow_writer *w)
{
	cow_snap_close(&w->snap);
	if (w->wfd >= 0)
		close(w->wfd);
	free(w->buf);
	free(w->path);
	memset(w, 0, sizeof *w);
	w->wfd = -1;
}

int cow_replace(const char *tmp_path, const char *path, tsdb_err *err)
{
	int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tsdb_errno(err, errno, "%s: open", tmp_path);
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	if (rc < 0)
		return tsdb_errno(err, saved, "%s: fsync", tmp_path);
	if (rename(tmp_path, path) < 0)
		return tsdb_errno(err, errno, "rename %s to %s", tmp_path, path);
	char *copy = strdup(path);
	if (!copy)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (dfd < 0)
		return tsdb_errno(err, errno, "%s: open directory", path);
	rc = fsync(dfd);
	saved = errno;
	close(dfd);
	if (rc < 0)
		return tsdb_errno(err, saved, "%s: fsync directory", path);
	return 0;
}
