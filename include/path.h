/*
 * path.h - file names under a directory.  The one place that builds
 * "DIR/NAME", so the reader and the writer name a database's files alike.
 */
#ifndef TSDB_PATH_H
#define TSDB_PATH_H

#include "err.h"

/* *out = "dir/name", malloc'ed (the caller frees it). */
int tsdb_path_join(char **out, const char *dir, const char *name, tsdb_err *err);

#endif
