/*
 * err.c - formatting of tsdb_err values.  Messages are truncated, never
 * overflowed; a NULL err is allowed so callers can ignore details.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tsdb_errf(tsdb_err *err, enum tsdb_errcode code, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

int tsdb_errno(tsdb_err *err, int errnum, const char *fmt, ...)
{
	if (!err)
		return -1;
	char head[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	enum tsdb_errcode code = (errnum == ENOSPC || errnum == EDQUOT) ? TSDB_E_NOSPACE : TSDB_E_IO;
	return tsdb_errf(err, code, "%s: %s", head, strerror(errnum));
}

int tsdb_errctx(tsdb_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char head[sizeof err->msg];
	char old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* Truncation is fine: a clipped message is still better than none. */
	size_t cap = sizeof err->msg - 1, n = 0;
	for (const char *parts[3] = {head, ": ", old}, **p = parts; p < parts + 3; p++)
		for (const char *c = *p; *c && n < cap; c++)
			err->msg[n++] = *c;
	err->msg[n] = '\0';
	return -1;
}
