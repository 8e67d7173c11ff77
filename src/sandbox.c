/*
 * sandbox.c - the handler's own confinement (sandbox.h): rlimits,
 * no_new_privs, Landlock and a seccomp allow-list, applied in-process.
 *
 * Why here and not in tsdb@.service: under systemd each sandboxing
 * directive that needs a mount namespace, DynamicUser, ProtectKernelTunables
 * or SystemCallFilter=@system-service costs milliseconds per activation (a
 * handler lives for one request of about 1 ms).  The same protections made
 * by the process itself cost tens of microseconds: one Landlock ruleset
 * with no rules, one BPF program.
 *
 * Invariants: every layer is applied or the call fails (Landlock excepted:
 * see sandbox.h); nothing is ever relaxed afterwards (none of these can be);
 * the allow-list below names the reason for each call it lets through.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- rlimits and no_new_privs --------------------------------------------------- */

/* 1 when set, 0 when a seccomp filter around us (SystemCallFilter=~@resources)
 * refuses setrlimit: the service manager has set its limits then, and our
 * own filter forbids fork anyway; -1 on any other error. */
static int set_limit(int resource, const char *name, tsdb_err *err)
{
	struct rlimit zero = {0, 0};
	if (setrlimit(resource, &zero) == 0)
		return 1;
	if (errno == EPERM)
		return 0;
	return tsdb_errno(err, errno, "%s", name);
}

/* ---- Landlock ------------------------------------------------------------------- */

/* The kernel's ABI (linux/landlock.h), spelled out here because the
 * headers of an older libc know fewer rights than the running kernel may
 * enforce; the values are fixed by the kernel's ABI. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};

/* 1 when applied, 0 when the kernel has no Landlock, -1 on error. */
static int apply_landlock(tsdb_err *err)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	/* ENOSYS: no Landlock in this kernel; EOPNOTSUPP: not enabled at boot;
	 * EPERM: a seccomp filter around us (a container manager's) refuses
	 * it.  None of them is ours to fix, and seccomp follows anyway. */
	if (abi < 0)
		return (errno == ENOSYS || errno == EOPNOTSUPP || errno == EPERM)
			       ? 0
			       : tsdb_errno(err, errno, "landlock ABI");
	struct ll_ruleset_attr attr = {.handled_access_fs = LL_FS_ABI1};
	size_t size = sizeof attr.handled_access_fs;
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 4) {
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof attr;
	}
	/* No rule is added: every handled right is denied everywhere. */
	int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0u);
	if (fd < 0)
		return tsdb_errno(err, errno, "landlock_create_ruleset");
	int rc = (int)syscall(SYS_landlock_restrict_self, fd, 0u);
	int saved = errno;
	close(fd);
	if (rc != 0)
		return tsdb_errno(err, saved, "landlock_restrict_self");
	return 1;
}

/* ---- seccomp -------------------------------------------------------------------- */

/* Calls allowed whatever their arguments, and why the handler makes them. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(readv),         /* the request */
	SCMP_SYS(write), SCMP_SYS(writev),       /* the response (a pipe), the log line */
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),   /* the request, the drain after the answer */
	SCMP_SYS(sendto), SCMP_SYS(sendmsg),     /* the response on a socket */
	SCMP_SYS(shutdown),                      /* half-close after the response */
	SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), /* SO_TYPE, SO_SNDTIMEO on the connection */
	SCMP_SYS(poll), SCMP_SYS(ppoll),         /* receive and send deadlines */
	SCMP_SYS(pread64),                       /* series records of the open database */
	SCMP_SYS(lseek),
	SCMP_SYS(close),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), /* malloc */
	SCMP_SYS(futex),                         /* libc's internal locks */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), /* deadlines */
	SCMP_SYS(getrandom),                     /* jansson's hash seed, if not yet made */
	SCMP_SYS(sysinfo),                       /* qsort sizes its buffer by physical memory */
	SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(sched_yield),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

static int rule(scmp_filter_ctx ctx, int call, unsigned n, const struct scmp_arg_cmp *cmp,
		tsdb_err *err)
{
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, n, cmp);
	if (rc < 0)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "seccomp rule for syscall %d: %s", call,
				 strerror(-rc));
	return 0;
}

/* One argument comparison, every field named (libseccomp's SCMP_A* macros
 * leave datum_b to the compiler's zeroing, which clang warns about). */
static struct scmp_arg_cmp arg_cmp(unsigned arg, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = op, .datum_a = a, .datum_b = b};
	return c;
}

static int add_rules(scmp_filter_ctx ctx, tsdb_err *err)
{
	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (rule(ctx, allowed[i], 0, NULL, err))
			return -1;
	/* Memory, never executable (what MemoryDenyWriteExecute= would do). */
	struct scmp_arg_cmp no_exec = arg_cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if (rule(ctx, SCMP_SYS(mmap), 1, &no_exec, err) || rule(ctx, SCMP_SYS(mprotect), 1, &no_exec, err))
		return -1;
	/* FIONREAD: is unread input left after the response (the drain). */
	struct scmp_arg_cmp fionread = arg_cmp(1, SCMP_CMP_EQ, FIONREAD, 0);
	if (rule(ctx, SCMP_SYS(ioctl), 1, &fionread, err))
		return -1;
	/* Descriptor flags of the connection (non-blocking reads and writes). */
	static const int fcntl_cmds[] = {F_GETFL, F_SETFL, F_GETFD, F_SETFD};
	for (size_t i = 0; i < 4; i++) {
		struct scmp_arg_cmp cmd = arg_cmp(1, SCMP_CMP_EQ, (scmp_datum_t)fcntl_cmds[i], 0);
		if (rule(ctx, SCMP_SYS(fcntl), 1, &cmd, err))
			return -1;
	}
	/* abort() signals the process itself, and only itself. */
	struct scmp_arg_cmp self = arg_cmp(0, SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	if (rule(ctx, SCMP_SYS(tgkill), 1, &self, err))
		return -1;
	return 0;
}

static int apply_seccomp(tsdb_err *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return tsdb_errf(err, TSDB_E_UNKNOWN, "seccomp_init failed");
	int rc = add_rules(ctx, err);
	if (rc == 0) {
		int lrc = seccomp_load(ctx);
		if (lrc < 0)
			rc = tsdb_errf(err, TSDB_E_UNKNOWN, "seccomp_load: %s", strerror(-lrc));
	}
	seccomp_release(ctx);
	return rc;
}

/* ---- the whole ------------------------------------------------------------------ */

int tsdb_sandbox_enter(unsigned *applied, tsdb_err *err)
{
	unsigned done = 0;
	if (applied)
		*applied = 0;
	/* Under ASan the leak checker clones a thread at exit: no NPROC bound. */
	int core = set_limit(RLIMIT_CORE, "setrlimit RLIMIT_CORE", err);
	int nproc = core < 0 || UNDER_ASAN ? 0 : set_limit(RLIMIT_NPROC, "setrlimit RLIMIT_NPROC", err);
	if (core < 0 || nproc < 0)
		return -1;
	if (core && nproc)
		done |= TSDB_SANDBOX_RLIMITS;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return tsdb_errno(err, errno, "prctl PR_SET_NO_NEW_PRIVS");
	done |= TSDB_SANDBOX_NO_NEW_PRIVS;
	if (!UNDER_ASAN) {
		int ll = apply_landlock(err);
		if (ll < 0)
			return -1;
		if (ll > 0)
			done |= TSDB_SANDBOX_LANDLOCK;
		if (apply_seccomp(err))
			return -1;
		done |= TSDB_SANDBOX_SECCOMP;
	}
	if (applied)
		*applied = done;
	return 0;
}

unsigned tsdb_sandbox_layers(void)
{
	return UNDER_ASAN ? TSDB_SANDBOX_NO_NEW_PRIVS
			  : TSDB_SANDBOX_RLIMITS | TSDB_SANDBOX_NO_NEW_PRIVS | TSDB_SANDBOX_LANDLOCK |
				    TSDB_SANDBOX_SECCOMP;
}

const char *tsdb_sandbox_describe(unsigned applied)
{
	static char buf[64];
	snprintf(buf, sizeof buf, "%s%s%s%s", applied & TSDB_SANDBOX_RLIMITS ? "rlimits " : "",
		 applied & TSDB_SANDBOX_NO_NEW_PRIVS ? "no_new_privs " : "",
		 applied & TSDB_SANDBOX_LANDLOCK ? "landlock " : "",
		 applied & TSDB_SANDBOX_SECCOMP ? "seccomp " : "");
	size_t n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
	return buf;
}
