/*
 * test_sandbox.c - the handler's sandbox (sandbox.h) in a forked child:
 * after tsdb_sandbox_enter, every forbidden action of probe.h fails and
 * every needed one works; the kernel reports no_new_privs and a seccomp
 * filter on the process; the victim file is unchanged.  Under ASan (no
 * Landlock, no seccomp there) only the layers that remain are checked.
 */
#include <stdint.h>

#include "probe.h"
#include "sandbox.h"
#include "tap.h"
#include "testutil.h"

/* "Name:\tvalue" of /proc/PID/status, or -1. */
static long proc_status(pid_t pid, const char *name)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(name);
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* The child: enter, say what was applied, wait for the go, probe. */
static void child(int ready_fd, int go_fd, const char *dir)
{
	tsdb_err err;
	unsigned applied = 0;
	if (tsdb_sandbox_enter(&applied, &err) != 0) {
		printf("# enter: %s\n", err.msg);
		_exit(99);
	}
	if (write(ready_fd, &applied, sizeof applied) != (ssize_t)sizeof applied)
		_exit(98);
	char go;
	if (read(go_fd, &go, 1) != 1)
		_exit(97);
	if (applied & TSDB_SANDBOX_SECCOMP)
		_exit(probe_all(dir, getppid()) == 0 ? 0 : 1);
	_exit(0);
}

static void test_forbidden_and_allowed(void)
{
	char *dir = test_tmpdir();
	char *victim = test_path(dir, "probe-victim");
	REQUIRE(test_spew(victim, "keep", 4) == 0);
	int ready[2], go[2];
	REQUIRE(pipe(ready) == 0 && pipe(go) == 0);
	fflush(stdout);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		child(ready[1], go[0], dir);
	}
	close(ready[1]);
	close(go[0]);
	unsigned applied = 0;
	REQUIRE(read(ready[0], &applied, sizeof applied) == (ssize_t)sizeof applied);
	printf("# applied: %s\n", tsdb_sandbox_describe(applied));
	CHECK(applied & TSDB_SANDBOX_NO_NEW_PRIVS);
	if (tsdb_sandbox_layers() & TSDB_SANDBOX_RLIMITS)
		CHECK(applied & TSDB_SANDBOX_RLIMITS);
	CHECK(proc_status(pid, "NoNewPrivs") == 1);
	if (tsdb_sandbox_layers() & TSDB_SANDBOX_SECCOMP) {
		CHECK(applied & TSDB_SANDBOX_SECCOMP);
		CHECK(applied & TSDB_SANDBOX_LANDLOCK); /* this kernel has it */
		CHECK(proc_status(pid, "Seccomp") == 2); /* SECCOMP_MODE_FILTER */
	} else {
		printf("# a sanitizer build: no_new_privs alone\n");
		CHECK(!(applied & (TSDB_SANDBOX_SECCOMP | TSDB_SANDBOX_LANDLOCK)));
	}
	REQUIRE(write(go[1], "g", 1) == 1);
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe status %d", status);
	size_t len;
	unsigned char *after = test_slurp(victim, &len);
	CHECK(after && len == 4 && memcmp(after, "keep", 4) == 0);
	free(after);
	close(ready[0]);
	close(go[1]);
	free(victim);
	test_rmtree(dir);
}

static void test_describe(void)
{
	CHECK(strcmp(tsdb_sandbox_describe(0), "") == 0);
	CHECK(strcmp(tsdb_sandbox_describe(TSDB_SANDBOX_RLIMITS | TSDB_SANDBOX_SECCOMP), "rlimits seccomp") == 0);
}

int main(void)
{
	RUN(test_forbidden_and_allowed);
	RUN(test_describe);
	return tap_done();
}
