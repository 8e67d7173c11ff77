/*
 * sandbox-probe DB_DIR - the handler's sandbox tried from inside a unit:
 * enters it with the handler's own function (tsdb_sandbox_enter), then
 * runs every probe of probe.h against DB_DIR (where DB_DIR/probe-victim
 * must exist) and PID 1.  Prints its network namespace, the layers
 * applied and one line per
 * probe; exits 0 when every forbidden action failed and every needed one
 * worked, 1 otherwise, 2 when the sandbox could not be entered.
 * systemd.bats runs it in a unit made from tsdb@.service's own settings.
 */
#include "probe.h"
#include "sandbox.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sandbox-probe DB_DIR\n");
		return 2;
	}
	/* Which network namespace the unit gave us (read before the sandbox
	 * forbids it): systemd.bats checks every instance shares one. */
	char ns[64] = "";
	ssize_t n = readlink("/proc/self/ns/net", ns, sizeof ns - 1);
	printf("netns: %s\n", n > 0 ? ns : "?");
	tsdb_err err;
	unsigned applied;
	if (tsdb_sandbox_enter(&applied, &err) != 0) {
		printf("sandbox-probe: %s\n", err.msg);
		return 2;
	}
	printf("applied: %s\n", tsdb_sandbox_describe(applied));
	int failures = probe_all(argv[1], 1);
	printf("%d failed\n", failures);
	fflush(stdout);
	return failures ? 1 : 0;
}
