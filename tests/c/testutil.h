/*
 * testutil.h - scratch directories and file helpers shared by the C tests.
 */
#ifndef TSDB_TESTUTIL_H
#define TSDB_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory under $TMPDIR (or /tmp), removed by test_rmtree. */
static inline char *test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(4096);
	if (!path)
		abort();
	snprintf(path, 4096, "%s/tsdb-test-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(path))
		abort();
	return path;
}

static inline void test_rmtree(char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", dir);
	free(dir);
}

static inline char *test_path(const char *dir, const char *name)
{
	char *p = malloc(4096);
	if (!p)
		abort();
	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

/* Whole file into memory; *len set; NULL on failure. */
static inline unsigned char *test_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static inline int test_spew(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

#endif
