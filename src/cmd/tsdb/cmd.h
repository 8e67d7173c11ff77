/*
 * cmd.h - what the commands of `tsdb` share (private to src/cmd/tsdb/):
 * the command table's entry, the exit statuses, option parsing common to
 * every command, failure messages, and the manual text (man/tsdb.txt,
 * compiled by scripts/mkmanual).
 *
 * Conventions every command follows:
 *   - --db DIR, else $TSDB_DB, else the compiled-in default (tsdb_db_dir);
 *   - -h/--help prints the command's manual page on standard output;
 *   - exit status 0 success, 1 failure ("tsdb: ..." on standard error,
 *     naming the database, file or id and the reason), 2 usage error;
 *   - results go to standard output, which main checks for write errors
 *     before exiting 0, so a full disk is a failure and not a short file.
 */
#ifndef TSDB_CMD_H
#define TSDB_CMD_H

#include <getopt.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cliopt.h"
#include "db.h"
#include "err.h"
#include "predicate.h"
#include "writer.h"

enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = TSDB_CLI_USAGE };

/* Long options without a short form. */
enum {
	OPT_DB = 0x100,
	OPT_PREFIX,
	OPT_AFTER,
	OPT_LIMIT,
	OPT_JSON,
	OPT_REPLACE,
	OPT_SKIP,
	OPT_ID,
	OPT_WITHIN,
	OPT_BRUTE,
	OPT_SPOOL,
	OPT_BATCH,
	OPT_MULT,
	OPT_FLAG,       /* the one flag of simple_opts */
	OPT_WHERE,
	OPT_PLAN,
	OPT_EXPLAIN,
	OPT_FIELDS,
	OPT_ALL_FIELDS,
	OPT_SORT,
	OPT_OFFSET,
	OPT_QUERY,
};

struct cmd;
typedef int (*run_fn)(const struct cmd *self, int argc, char **argv);

/* One command: its name and its code; its manual page is found by name. */
struct cmd {
	const char *name;
	run_fn run;
};

/* The commands (each in its own file). */
int cmd_init(const struct cmd *self, int argc, char **argv);
int cmd_insert(const struct cmd *self, int argc, char **argv);
int cmd_remove(const struct cmd *self, int argc, char **argv);
int cmd_get(const struct cmd *self, int argc, char **argv);
int cmd_list(const struct cmd *self, int argc, char **argv);
int cmd_info(const struct cmd *self, int argc, char **argv);
int cmd_check(const struct cmd *self, int argc, char **argv);
int cmd_compact(const struct cmd *self, int argc, char **argv);
int cmd_reindex(const struct cmd *self, int argc, char **argv);
int cmd_gen(const struct cmd *self, int argc, char **argv);
int cmd_search(const struct cmd *self, int argc, char **argv);
int cmd_select(const struct cmd *self, int argc, char **argv);
int cmd_ingest(const struct cmd *self, int argc, char **argv);
int cmd_index(const struct cmd *self, int argc, char **argv);
int cmd_help(const struct cmd *self, int argc, char **argv);

/* ---- the manual (generated from man/tsdb.txt) ---- */
enum { MAN_NAME, MAN_ARGS, MAN_SUMMARY, MAN_DESCRIPTION, MAN_OPTIONS, MAN_EXAMPLES, MAN_FIELDS };
extern const char *const tsdb_manual_pages[][MAN_FIELDS];
extern const unsigned tsdb_manual_npages;
extern const char tsdb_manual_overview[], tsdb_manual_common_options[],
	tsdb_manual_common_tail[], tsdb_manual_overview_examples[];

/* A command's manual page on f. */
void print_help(const struct cmd *c, FILE *f);

/* ---- usage ---- */

/* "tsdb CMD": the program name of usage messages (main sets it). */
extern tsdb_cli cmd_cli;
#define usage_error(...) tsdb_cli_usage(&cmd_cli, __VA_ARGS__)

/* Option values; a refused one is a usage error (printed), -1. */
int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* A finite number in [min, max]; with open_min, min itself is excluded. */
int parse_double(const char *opt, const char *s, double min, int open_min, double max,
		 double *out);

#define COMMON_LONGOPTS {"db", required_argument, NULL, OPT_DB}, {"help", no_argument, NULL, 'h'}

/* Handles an option every command takes.  Returns -1 when parsing goes on,
 * else the exit status the command returns now (help printed, or a usage
 * error). */
int common_opt(const struct cmd *self, int c, const char **db);

/* Positional argument count check: -1 to go on, else the exit status. */
int want_args(int have, int min, int max);

/* The options of a command whose only own option is one boolean flag (or
 * none: flag NULL): --db, --help and the flag, then min..max arguments
 * (max -1: any number).  -1 to go on, else the exit status. */
int simple_opts(const struct cmd *self, int argc, char **argv, const char *flag, int *on,
		const char **db, int min, int max);

/* A --where filter given as JSON text, compiled (predicate.h); -1 with
 * err filled (not printed). */
int compile_where(const char *text, tsdb_pred **out, tsdb_err *err);

/* ---- failures and output ---- */

/* "tsdb: msg", with the database directory in front when the message does
 * not already name it.  Return EX_FAIL. */
int fail_in(const char *dir, const tsdb_err *e);
/* On standard error, what the compaction after an insert did, if any. */
void report_compaction(const char *dir, const tsdb_insert_result *res);
int fail(const tsdb_err *e);

/* Opens the database of --db (or the default) read-only; -1 after the
 * message. */
int open_db(tsdb_db *d, const char *db, const char **dir);

/* Compact JSON on one line of standard output; takes j (NULL: out of
 * memory).  EX_OK or EX_FAIL after the message. */
int print_json(json_t *j);

/* ---- progress on a terminal ---- */

struct progress {
	int shown;
	unsigned last;   /* per mille last printed */
};

/* The progress hook *fn / *ctx, set only for a batch of n >= PROGRESS_MIN
 * when standard error is a terminal. */
void progress_setup(struct progress *p, size_t n,
		    void (**fn)(void *, const char *, size_t, size_t), void **ctx);
void progress_end(struct progress *p);

#endif
