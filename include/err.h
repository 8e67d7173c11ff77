/*
 * err.h - errors as values.
 *
 * Every library function that can fail returns 0 on success and -1 on
 * failure, and on failure fills a tsdb_err the caller owns: a category code
 * (which the protocol maps to a status name) and a human-readable message
 * that names the thing that failed and why.  Library code never exits and
 * never prints; the program's main decides what to do with the message.
 */
#ifndef TSDB_ERR_H
#define TSDB_ERR_H

#include <stddef.h>

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

typedef struct tsdb_err {
	enum tsdb_errcode code;
	char msg[512];
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

#endif
