/*
 * err.c - formatting of tsdb_err values.  Messages and the strings of
 * where are truncated, never overflowed; a NULL err is allowed so callers
 * can ignore details.
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
	err->where.item = TSDB_ERR_NO_ITEM;
	err->where.line = 0;
	err->where.id[0] = err->where.file[0] = err->where.field[0] = '\0';
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

static void copy_bounded(char *dst, size_t cap, const char *src, size_t len)
{
	if (len > cap - 1)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void tsdb_err_item(tsdb_err *err, size_t item, const char *id, size_t id_len)
{
	if (!err)
		return;
	err->where.item = item;
	copy_bounded(err->where.id, sizeof err->where.id, id ? id : "", id ? id_len : 0);
}

void tsdb_err_place(tsdb_err *err, const char *file, size_t line)
{
	if (!err)
		return;
	if (file)
		copy_bounded(err->where.file, sizeof err->where.file, file, strlen(file));
	err->where.line = line;
}

void tsdb_err_field(tsdb_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->where.field, sizeof err->where.field, fmt, ap);
	va_end(ap);
}
