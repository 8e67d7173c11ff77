/*
 * tap.h - the C tests' tiny harness.  Each test binary runs named test
 * functions and prints one TAP line per test ("ok N - name" or
 * "not ok N - name"), so tests/run can count C and bats tests alike.
 * CHECK records a failure and continues; REQUIRE returns from the test;
 * SKIP(reason) ends it as skipped ("ok N - name # skip reason"), which
 * tests/run counts as skipped, never as passed.  FIGURE prints a figure
 * the README states ("# figure KEY: VALUE"); tests/figures checks the
 * README against it.
 */
#ifndef TSDB_TAP_H
#define TSDB_TAP_H

#include <stdio.h>
#include <stdlib.h>

static int tap_count;
static int tap_failures;
static int tap_current_failed;
static const char *tap_skip_reason;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			tap_current_failed = 1;                                  \
		}                                                                \
	} while (0)

#define CHECKF(cond, ...)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("# %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                     \
			printf("\n");                                            \
			tap_current_failed = 1;                                  \
		}                                                                \
	} while (0)

#define REQUIRE(cond)                                                            \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("# %s:%d: requirement failed: %s\n", __FILE__, __LINE__, #cond); \
			tap_current_failed = 1;                                  \
			return;                                                  \
		}                                                                \
	} while (0)

#define SKIP(reason)                                                             \
	do {                                                                     \
		tap_skip_reason = (reason);                                      \
		return;                                                          \
	} while (0)

#define FIGURE(key, ...)                                                         \
	do {                                                                     \
		printf("# figure %s: ", key);                                    \
		printf(__VA_ARGS__);                                             \
		printf("\n");                                                    \
	} while (0)

static inline void tap_run(const char *name, void (*fn)(void))
{
	tap_current_failed = 0;
	tap_skip_reason = NULL;
	fflush(stdout);
	fn();
	tap_count++;
	if (tap_current_failed)
		tap_failures++;
	if (tap_skip_reason && !tap_current_failed)
		printf("ok %d - %s # skip %s\n", tap_count, name, tap_skip_reason);
	else
		printf("%sok %d - %s\n", tap_current_failed ? "not " : "", tap_count, name);
	fflush(stdout);
}

#define RUN(fn) tap_run(#fn, fn)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
