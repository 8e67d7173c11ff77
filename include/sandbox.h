/*
 * sandbox.h - confines the calling process, for the rest of its life, to
 * what a tsdb-handler needs once its database is open: reading and writing
 * the descriptors it already holds, memory, the clock, and exit.
 *
 * tsdb_sandbox_enter applies, in this order, each layer the kernel offers:
 *   rlimits      no core dumps (RLIMIT_CORE 0) and no new processes
 *                (RLIMIT_NPROC 0: binding for any uid but root's)
 *   no_new_privs no exec can ever gain privileges (set-uid, file caps)
 *   landlock     no file system access at all (no path can be opened,
 *                created, renamed, linked or executed), no TCP bind or
 *                connect, no signal to and no abstract socket of a process
 *                outside the sandbox (each as far as the kernel's Landlock
 *                ABI goes; skipped where Landlock is not enabled)
 *   seccomp      an allow-list of system calls (src/sandbox.c lists them
 *                with the reason for each); everything else fails with
 *                EPERM: open, exec, socket, kill, ptrace, set*id, mount...
 *                mmap and mprotect never with PROT_EXEC
 * A failure to apply no_new_privs or seccomp is an error (the caller must
 * not go on unconfined).  Not errors: Landlock's absence (seccomp already
 * forbids every call that takes a path), and rlimits refused with EPERM
 * by a filter around the process (a unit's SystemCallFilter=~@resources,
 * whose LimitCORE= and TasksMax= then bound it; seccomp forbids fork).
 *
 * Under AddressSanitizer the landlock and seccomp layers and RLIMIT_NPROC
 * are left out: the leak checker reads /proc, clones a thread and ptraces
 * the process at exit.  The applied
 * mask says what was done, so a caller (and the tests) can tell.
 *
 * Call it after every file the process needs is open and before it reads
 * anything untrusted; the process must be single-threaded.
 */
#ifndef TSDB_SANDBOX_H
#define TSDB_SANDBOX_H

#include "err.h"

enum {
	TSDB_SANDBOX_RLIMITS = 1u << 0,
	TSDB_SANDBOX_NO_NEW_PRIVS = 1u << 1,
	TSDB_SANDBOX_LANDLOCK = 1u << 2,
	TSDB_SANDBOX_SECCOMP = 1u << 3,
};

/* Applies the layers above; *applied (when not NULL) gets the mask of those
 * in force.  Returns 0, or -1 with err set (the process may then be partly
 * confined: it should exit). */
int tsdb_sandbox_enter(unsigned *applied, tsdb_err *err);

/* The layers this build applies where the kernel has them: all four, or
 * no_new_privs alone (and RLIMIT_CORE) under AddressSanitizer. */
unsigned tsdb_sandbox_layers(void);

/* "rlimits no_new_privs landlock seccomp" for a mask (static storage). */
const char *tsdb_sandbox_describe(unsigned applied);

#endif
