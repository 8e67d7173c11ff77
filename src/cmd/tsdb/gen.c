/*
 * gen.c - `tsdb gen`: the course's synthetic series as JSON Lines on
 * standard output (gen.h does the writing).
 */
#include "cmd.h"
#include "gen.h"

#define GEN_MAX 100000000ull

int cmd_gen(const struct cmd *self, int argc, char **argv)
{
	static const struct option lo[] = {
		{"seed", required_argument, NULL, 's'},
		{"length", required_argument, NULL, 'L'},
		{"meta", no_argument, NULL, 'm'},
		COMMON_LONGOPTS,
		{0, 0, 0, 0},
	};
	const char *db = NULL;
	uint64_t seed = 1, n;
	uint32_t L = 100;
	int c, rc, meta = 0;
	while ((c = getopt_long(argc, argv, "hs:L:", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &seed))
				return EX_USAGE;
			break;
		case 'L':
			if (parse_u32("--length", optarg, TSDB_L_MIN, TSDB_L_MAX, &L))
				return EX_USAGE;
			break;
		case 'm':
			meta = 1;
			break;
		default:
			if ((rc = common_opt(self, c, &db)) >= 0)
				return rc;
		}
	}
	if ((rc = want_args(argc - optind, 1, 1)) >= 0)
		return rc;
	if (parse_u64("N", argv[optind], 0, GEN_MAX, &n))
		return EX_USAGE;
	tsdb_err e = {0};
	if (tsdb_gen_write_meta(stdout, seed, n, L, meta, &e) == 0)
		return EX_OK;
	/* a write error is main's to report, with its errno */
	return ferror(stdout) ? EX_FAIL : fail(&e);
}
