/*
 * cowfile.h - an append-only file with two alternating commit records,
 * read through a read-only mmap.  Knows nothing of trees or series.
 *
 * Layout (all little-endian):
 *     [0, 64)        file header: magic, format version, file id, crc
 *     [1024, 2048)   commit slot 0
 *     [2048, 3072)   commit slot 1
 *     [4096, end)    data: whatever upper layers append
 * A commit record carries a transaction id, the committed length `end`,
 * the commit time and up to COW_META_WORDS opaque 64-bit words (tree roots,
 * counts, record offsets: the upper layers decide), all under a CRC-32C.
 *
 * Invariants:
 *  - Bytes below a committed `end` are never written again; a writer only
 *    appends past the newest commit and then overwrites the OLDER slot.
 *  - A commit is durable and atomic: data is fdatasync'ed before its commit
 *    record is written, and the record is fdatasync'ed before the commit
 *    returns.  A torn record fails its CRC and the other slot wins.
 *  - A reader picks the valid slot with the highest txn once, at open, and
 *    maps exactly [0, end): it sees that snapshot for as long as it lives,
 *    whatever writers do afterwards, and never reads outside the mapping
 *    (cow_ptr is the only way in and it checks bounds).
 *  - Callers serialize writers (the database holds an flock).
 */
#ifndef TSDB_COWFILE_H
#define TSDB_COWFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define COW_FORMAT_VERSION 1u
#define COW_META_WORDS 96u
#define COW_DATA_START 4096u

typedef struct cow_meta {
	uint64_t txn;
	uint64_t end;       /* committed length of the file */
	uint64_t time_ns;   /* wall clock at commit (CLOCK_REALTIME) */
	uint32_t nwords;
	uint64_t words[COW_META_WORDS];
} cow_meta;

/* A read-only snapshot: one commit, mapped. */
typedef struct cow_snap {
	int fd;
	const uint8_t *base;  /* mapping of [0, size) */
	uint64_t size;        /* == meta.end */
	uint64_t file_bytes;  /* length of the file when opened */
	cow_meta meta;
	int slot;             /* which slot held the commit */
	uint8_t file_id[16];
	/* Non-empty when an intact commit record newer than the one opened
	 * points past the end of the file: the file was cut after that commit
	 * (not a crash, which never leaves such a record).  Readers carry on
	 * with the older commit; `tsdb check` reports it. */
	char lost[160];
} cow_snap;

/* Creates a new file at path (O_EXCL) holding an empty commit (txn 1,
 * end COW_DATA_START, the given words), fsync'ed. */
int cow_create(const char *path, const uint64_t *words, uint32_t nwords, tsdb_err *err);
/* The same with the empty commit at txn (>= 1): a file that replaces
 * another (compaction) goes on from the other's transaction ids. */
int cow_create_at(const char *path, uint64_t txn, const uint64_t *words, uint32_t nwords, tsdb_err *err);

/* Opens the newest valid commit of the file at path. */
int cow_snap_open(cow_snap *s, const char *path, tsdb_err *err);
/* The same on an open descriptor (dup'ed; the caller keeps fd). */
int cow_snap_open_fd(cow_snap *s, int fd, const char *name, tsdb_err *err);
void cow_snap_close(cow_snap *s);

/* Pointer to [off, off + len) of the data area, or NULL when any of it
 * lies outside [COW_DATA_START, size). */
static inline const uint8_t *cow_ptr(const cow_snap *s, uint64_t off, uint64_t len)
{
	if (off < COW_DATA_START || off > s->size || len > s->size - off)
		return NULL;
	return s->base + off;
}

/* The writer: appends after the newest commit, then commits. */
typedef struct cow_writer {
	cow_snap snap;      /* the newest commit, mapped read-only */
	int wfd;
	uint64_t end;       /* where the next append goes */
	uint8_t *buf;       /* write-behind buffer for [buf_off, buf_off + buf_len) */
	size_t buf_len, buf_cap;
	uint64_t buf_off;
	char *path;
} cow_writer;

/* Opens path for appending (the caller holds the database lock).  Bytes
 * past the newest commit (a crashed writer's leftovers) are cut off. */
int cow_writer_open(cow_writer *w, const char *path, tsdb_err *err);

/* Appends len bytes at the next multiple of align (1, 4 or 8), returning
 * their offset.  Not visible to anyone until cow_commit. */
int cow_append(cow_writer *w, const void *data, size_t len, uint32_t align,
	       uint64_t *off, tsdb_err *err);

/* Makes everything appended so far durable and visible as one commit
 * carrying words[0..nwords).  On success w->snap is the new commit.  On
 * failure nothing is committed and the appended bytes are discarded. */
int cow_commit(cow_writer *w, const uint64_t *words, uint32_t nwords, tsdb_err *err);

/* Discards everything appended since the last commit. */
void cow_rollback(cow_writer *w);
void cow_writer_close(cow_writer *w);

/* Durably replaces `path` by the complete file `tmp_path` (fsync, rename,
 * fsync of the directory).  Readers that mapped the old file keep it. */
int cow_replace(const char *tmp_path, const char *path, tsdb_err *err);

/* Reads one commit slot's raw bytes (for tests and `tsdb check`): validity
 * and the decoded record.  Returns 0 if valid, -1 with the reason if not. */
int cow_slot_decode(const uint8_t *slot_bytes, const uint8_t file_id[16],
		    uint64_t file_size, cow_meta *out, tsdb_err *err);

#define COW_HEADER_SIZE 64u
#define COW_SLOT_OFFSET(i) (1024u + 1024u * (unsigned)(i))
#define COW_SLOT_SIZE 1024u

#endif
