/*
 * path.c - file names under a directory (see path.h).
 */
#include "path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tsdb_path_join(char **out, const char *dir, const char *name, tsdb_err *err)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	if (!(*out = malloc(n)))
		return tsdb_errf(err, TSDB_E_UNKNOWN, "out of memory");
	snprintf(*out, n, "%s/%s", dir, name);
	return 0;
}
