/*
 * err.h - errors as values.
 *
 * Every library function that can fail returns 0 on success and -1 on
 * failure, and on failure fills a tsdb_err the caller owns: a category code
 * (which the protocol maps to a status name) and a human-readable message
 * that names the thing that failed and why.  Library code never exits and
 * never prints; the program's main decides what to do with the message.
 *
 * An error about one series of a batch also says which, as data: where.item
 * is its index in the array the failing call was given, where.id its id,
 * where.file and where.line the input it came from, where.field the part
 * of it at fault ("t[3]", "v", "id", "meta").  Callers that retry without
 * the culprit (insert --skip-invalid, spool ingestion) read where.item,
 * never the message.  Whatever is unknown stays empty (item
 * TSDB_ERR_NO_ITEM, line 0, strings "").  tsdb_errf and tsdb_errno clear
 * where; tsdb_errctx keeps it.
 */
#ifndef TSDB_ERR_H
#define TSDB_ERR_H

#include <stddef.h>
#include <stdint.h>

enum tsdb_errcode {
	TSDB_E_NONE = 0,
	TSDB_E_UNKNOWN,        /* internal or unexpected failure */
	TSDB_E_INVALID_OP,     /* unknown operation or subcommand */
	TSDB_E_INVALID_KEY,    /* an id that is malformed or not stored */
	TSDB_E_INVALID_ARG,    /* a request field or option that is missing, mistyped or out of range */
	TSDB_E_INVALID_SERIES, /* input series that fails validation */
	TSDB_E_DUPLICATE,      /* an id that is already stored */
	TSDB_E_TOO_LARGE,      /* a size or count beyond its bound */
	TSDB_E_TIMEOUT,        /* a peer did not deliver in time */
	TSDB_E_IO,             /* a system call failed */
	TSDB_E_NOSPACE,        /* ENOSPC / EDQUOT */
	TSDB_E_CORRUPT,        /* a database file fails a structural or checksum check */
	TSDB_E_VERSION,        /* a file from a newer (or foreign) format version */
	TSDB_E_UNAVAILABLE,    /* no database at that location */
	TSDB_E_BAD_REQUEST,    /* a request that is not a frame of valid UTF-8 JSON object text, or nests too deep */
};

#define TSDB_ERR_NO_ITEM SIZE_MAX

typedef struct tsdb_err_where {
	size_t item;        /* index in the failing call's batch, or TSDB_ERR_NO_ITEM */
	size_t line;        /* 1-based line of the input, 0 when none */
	char id[256];       /* the series' id (ids are at most 255 bytes) */
	char file[256];     /* the input's name as shown in messages, truncated */
	char field[64];     /* the part at fault, truncated */
} tsdb_err_where;

typedef struct tsdb_err {
	enum tsdb_errcode code;
	char msg[512];
	tsdb_err_where where;
} tsdb_err;

/* Fill *err (if non-NULL) and return -1, so callers can `return tsdb_errf(...)`. */
int tsdb_errf(tsdb_err *err, enum tsdb_errcode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like tsdb_errf, appending ": strerror(errnum)" and choosing TSDB_E_NOSPACE
 * for ENOSPC/EDQUOT and TSDB_E_IO otherwise. */
int tsdb_errno(tsdb_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("file.dat: " + old message). */
int tsdb_errctx(tsdb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record which series an error is about (see the top of this file).  Each
 * sets only its own members and accepts a NULL err; id and file need not
 * be NUL-terminated (len bytes are taken, truncated to fit). */
void tsdb_err_item(tsdb_err *err, size_t item, const char *id, size_t id_len);
void tsdb_err_place(tsdb_err *err, const char *file, size_t line);
void tsdb_err_field(tsdb_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Does the error name one series of a batch? */
static inline int tsdb_err_has_item(const tsdb_err *err)
{
	return err && err->where.item != TSDB_ERR_NO_ITEM;
}

#endif
