/*
 * check.h - `tsdb check`: verifies a database read-only, as a reader would
 * see it: the commit record, the params record, every tree (rbt_check),
 * every series record (bounds and checksum), and that all indexes agree:
 * the id index and every vantage-point index hold the same rows, each entry
 * points at the record it names, and each vantage-point key is exactly the
 * distance stored in that record; every metadata index holds exactly the
 * keys the stored series' metadata gives (metaindex.h).  With deep != 0 the derived data (grid,
 * spectrum, self-kernel, vantage-point distances) is also recomputed from
 * the original points and compared bit for bit.  The error names the first
 * problem found.
 */
#ifndef TSDB_CHECK_H
#define TSDB_CHECK_H

#include <stdint.h>

#include "db.h"
#include "err.h"

typedef struct tsdb_check_report {
	uint64_t txn;
	uint64_t series;
	uint64_t nodes;
	uint32_t trees;
	uint64_t file_bytes;
	uint64_t live_bytes;   /* bytes reachable from the commit */
} tsdb_check_report;

int tsdb_check(tsdb_db *db, int deep, tsdb_check_report *rep, tsdb_err *err);

#endif
