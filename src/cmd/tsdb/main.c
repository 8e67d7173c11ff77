/*
 * main.c - the writer and admin command line: `tsdb COMMAND [OPTIONS]`.
 *
 * Only the table of commands, dispatch and the manual's layout live here;
 * each command is its own file (cmd.h lists them), and each is thin over
 * the library.  The manual's text is man/tsdb.txt.
 */
#include <errno.h>
#include <string.h>

#include "cmd.h"

static const struct cmd cmds[] = {
	{"init", cmd_init},       {"insert", cmd_insert}, {"remove", cmd_remove},
	{"get", cmd_get},         {"list", cmd_list},     {"info", cmd_info},
	{"check", cmd_check},     {"compact", cmd_compact}, {"reindex", cmd_reindex},
	{"gen", cmd_gen},         {"search", cmd_search}, {"select", cmd_select},
	{"index", cmd_index},     {"ingest", cmd_ingest}, {"help", cmd_help},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static const struct cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

/* A field of a command's manual page.  Every command has a page in
 * man/tsdb.txt; one missing would print as an empty page, not crash. */
static const char *man_field(const struct cmd *c, int field)
{
	static const char *const none[MAN_FIELDS] = {"", "", "", "", "", NULL};
	for (unsigned i = 0; i < tsdb_manual_npages; i++)
		if (strcmp(tsdb_manual_pages[i][MAN_NAME], c->name) == 0)
			return tsdb_manual_pages[i][field];
	return none[field];
}

void print_help(const struct cmd *c, FILE *f)
{
	const char *examples = man_field(c, MAN_EXAMPLES);
	fprintf(f, "NAME\n    tsdb %s - %s\n\n", c->name, man_field(c, MAN_SUMMARY));
	fprintf(f, "SYNOPSIS\n    tsdb %s %s\n\n", c->name, man_field(c, MAN_ARGS));
	fprintf(f, "DESCRIPTION\n%s\n", man_field(c, MAN_DESCRIPTION));
	fprintf(f, "OPTIONS\n%s%s\n", man_field(c, MAN_OPTIONS), tsdb_manual_common_options);
	fputs(tsdb_manual_common_tail, f);
	if (examples)
		fprintf(f, "\nEXAMPLES\n%s", examples);
}

static void print_overview(FILE *f)
{
	fputs(tsdb_manual_overview, f);
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "    %-9s %s\n", cmds[i].name, man_field(&cmds[i], MAN_SUMMARY));
	fputs("\nOPTIONS\n", f);
	fputs(tsdb_manual_common_options, f);
	fputc('\n', f);
	fputs(tsdb_manual_common_tail, f);
	fprintf(f, "\nEXAMPLES\n%s", tsdb_manual_overview_examples);
}

int cmd_help(const struct cmd *self, int argc, char **argv)
{
	const char *db = NULL;
	int rc;
	if ((rc = simple_opts(self, argc, argv, NULL, NULL, &db, 0, 1)) >= 0)
		return rc;
	if (optind == argc) {
		print_overview(stdout);
		return EX_OK;
	}
	const struct cmd *c2 = find_cmd(argv[optind]);
	if (!c2)
		return usage_error("no command '%s'", argv[optind]);
	print_help(c2, stdout);
	return EX_OK;
}

int main(int argc, char **argv)
{
	static char prog[64];
	if (argc < 2) {
		fputs("usage: tsdb COMMAND [OPTIONS] [ARGUMENTS]\nTry 'tsdb --help'.\n", stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		print_overview(stdout);
		return fflush(stdout) ? EX_FAIL : EX_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		puts("tsdb " TSDB_VERSION);
		return fflush(stdout) ? EX_FAIL : EX_OK;
	}
	const struct cmd *c = find_cmd(argv[1]);
	if (!c) {
		fprintf(stderr, "tsdb: no command '%s'\nTry 'tsdb --help'.\n", argv[1]);
		return EX_USAGE;
	}
	snprintf(prog, sizeof prog, "tsdb %s", c->name);
	cmd_cli.prog = prog;
	argv[1] = prog; /* getopt's messages then say "tsdb init: ..." */
	int rc = c->run(c, argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tsdb: cannot write standard output: %s\n", strerror(errno));
		return EX_FAIL;
	}
	return rc;
}
