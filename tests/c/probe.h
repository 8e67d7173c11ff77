/*
 * probe.h - what the handler's sandbox (sandbox.h) must forbid and must
 * allow, tried one by one by a process that has entered it.  Shared by
 * test_sandbox.c (in a forked child) and sandbox-probe.c (the same probes
 * inside a unit made from tsdb@.service, under the real systemd).
 *
 * probe_all prints one line per probe, "probe ok NAME: how" or "# probe
 * FAIL NAME: what happened" (a TAP comment, so that a test's runner shows
 * it), and returns the number of failures.  A forbidden action
 * passes when it fails; an allowed one when it works.
 */
#ifndef TSDB_TEST_PROBE_H
#define TSDB_TEST_PROBE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int probe_failures;

/* forbidden: rc < 0 is the pass; errno says how it was refused. */
static inline void probe_denied(const char *name, long rc)
{
	if (rc < 0)
		printf("probe ok %s: denied (%s)\n", name, strerror(errno));
	else {
		printf("# probe FAIL %s: allowed (returned %ld)\n", name, rc);
		probe_failures++;
	}
}

static inline void probe_allowed(const char *name, int ok)
{
	if (ok)
		printf("probe ok %s: allowed\n", name);
	else {
		printf("# probe FAIL %s: refused (%s)\n", name, strerror(errno));
		probe_failures++;
	}
}

/* open(path, flags) must fail; a descriptor that came back is closed. */
static inline void probe_open(const char *name, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	probe_denied(name, fd);
	if (fd >= 0)
		close(fd);
}

/* Every probe.  db_dir: the database directory the handler reads (writing
 * there must fail too); db_dir/probe-victim: a file the caller made, that
 * the probe tries to change and remove; other_pid: a process outside the
 * sandbox. */
static inline int probe_all(const char *db_dir, pid_t other_pid)
{
	char victim[4096];
	snprintf(victim, sizeof victim, "%s/probe-victim", db_dir);
	char path[4096];
	probe_failures = 0;

	/* The file system: nothing can be opened, created or changed. */
	snprintf(path, sizeof path, "%s/tsdb.db", db_dir);
	probe_open("read the database file by path", path, O_RDONLY);
	probe_open("write the database file", path, O_WRONLY);
	snprintf(path, sizeof path, "%s/new-file", db_dir);
	probe_open("create a file in the database directory", path, O_WRONLY | O_CREAT | O_EXCL);
	probe_denied("make a directory in the database directory", mkdir(path, 0755));
	probe_open("create a file in /tmp", "/tmp/tsdb-probe", O_WRONLY | O_CREAT | O_EXCL);
	probe_open("create a file in /var/tmp", "/var/tmp/tsdb-probe", O_WRONLY | O_CREAT | O_EXCL);
	probe_open("read /etc/passwd", "/etc/passwd", O_RDONLY);
	probe_open("open a file for appending", victim, O_WRONLY | O_APPEND);
	probe_denied("remove a file", unlink(victim));
	probe_denied("rename a file", rename(victim, path));
	probe_denied("truncate a file", truncate(victim, 0));
	probe_denied("change a file's mode", chmod(victim, 0666));
	probe_denied("change directory", chdir("/"));
	probe_denied("stat a path", ({ struct stat st; stat("/etc/passwd", &st); }));

	/* Programs: none can be run. */
	char *const argv[] = {"/bin/true", NULL};
	char *const envp[] = {NULL};
	probe_denied("execute /bin/true", execve("/bin/true", argv, envp));
	probe_denied("fork", ({
			     pid_t p = fork();
			     if (p == 0)
				     _exit(0);
			     if (p > 0)
				     waitpid(p, NULL, 0);
			     p;
		     }));

	/* Sockets: none of any family can be made. */
	probe_denied("create an IPv4 socket", socket(AF_INET, SOCK_STREAM, 0));
	probe_denied("create an IPv6 socket", socket(AF_INET6, SOCK_DGRAM, 0));
	probe_denied("create a unix socket", socket(AF_UNIX, SOCK_STREAM, 0));
	probe_denied("create a netlink socket", socket(AF_NETLINK, SOCK_RAW, 0));
	int sv[2];
	probe_denied("create a socket pair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));

	/* Other processes: not seen, not signalled, not traced. */
	probe_open("read /proc/1/status", "/proc/1/status", O_RDONLY);
	probe_denied("list /proc", ({
			     DIR *d = opendir("/proc");
			     if (d)
				     closedir(d);
			     d ? 0L : -1L;
		     }));
	probe_denied("signal another process", kill(other_pid, 0));
	probe_denied("trace another process", ptrace(PTRACE_ATTACH, other_pid, NULL, NULL));

	/* Privileges: none gained, no_new_privs cannot be undone. */
	probe_denied("setuid(0)", setuid(0));
	probe_denied("setgid(0)", setgid(0));
	probe_denied("prctl", prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
	probe_denied("executable memory (mmap)",
		     ({
			     void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			     if (m != MAP_FAILED)
				     munmap(m, 4096);
			     m == MAP_FAILED ? -1L : 0L;
		     }));
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	probe_allowed("anonymous memory (mmap)", page != MAP_FAILED);
	if (page != MAP_FAILED) {
		probe_denied("make memory executable (mprotect)", mprotect(page, 4096, PROT_READ | PROT_EXEC));
		munmap(page, 4096);
	}

	/* What the handler needs still works. */
	void *big = malloc(64u << 20);
	probe_allowed("malloc 64 MiB", big != NULL);
	if (big)
		memset(big, 1, 64u << 20);
	free(big);
	struct timespec ts;
	probe_allowed("read the clock", clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	probe_allowed("write to standard output", fflush(stdout) == 0);
	fflush(stdout);
	return probe_failures;
}

#endif
