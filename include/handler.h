/*
 * handler.h - the server side of one connection, as a library function so
 * that tests and fuzzers can drive it without a socket: read ONE request
 * frame, decode it, open the database snapshot read-only, execute the op,
 * write ONE response frame.  src/cmd/tsdb-handler.c is a thin main around
 * tsdb_handle; docs/PROTOCOL.md is the reference for every byte it sends.
 *
 * Invariants:
 *  - Everything the peer controls is bounded (cfg->limits: frame size,
 *    receive deadline, k, points, limit; cfg->max_shape_values: the
 *    sparkline values one response may carry; cfg->send_timeout_ms: how
 *    long a peer that does not read may hold the process).
 *  - Every outcome is one log record; every outcome except "the peer was
 *    gone before a request arrived" is one response frame (an error frame
 *    when the request failed).  A response is written whole or not at all
 *    as far as the process can tell: it is encoded completely before the
 *    first byte is written.
 *  - The database snapshot is opened first, read-only (tsdb_db_open):
 *    nothing is ever written under its directory.  With cfg->sandbox the
 *    process then confines itself (sandbox.h) before it reads a byte of
 *    the request: no file can be opened after that point.  A failure to
 *    open is kept and answered only once a valid request asks for data,
 *    so a bad request still gets the status its own fault earns.
 *  - Nothing the request does not need is initialized (no FFT plans for
 *    get, list, info: the search module makes them on first use).
 *  - On a socket, the response is followed by shutdown(SHUT_WR) and, when
 *    input is left unread (a second request, a body refused unread), a
 *    short drain of what the peer still sends: closing with unread input
 *    would make the kernel reset the connection and drop the part of the
 *    response not yet sent.
 *  - No process state is touched (signals, environment, exit): that is the
 *    main's business.
 */
#ifndef TSDB_HANDLER_H
#define TSDB_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

/* Shape ("sparkline") values one response may carry: results x shape plus
 * query_shape.  A with_id / with_ts answer stays below it at any k <= 1000
 * (1001 x 256); only a large `within` with shapes reaches it (TOO_LARGE). */
#define TSDB_HANDLER_MAX_SHAPE_VALUES 1000000u
/* Time a peer may take to take in the response before it is given up. */
#define TSDB_HANDLER_SEND_TIMEOUT_MS 30000
/* After the response, time the peer has to close its side while unread
 * bytes it sent are drained (see tsdb_handle). */
#define TSDB_HANDLER_LINGER_MS 1000
/* Memory the JSON trees of one request may take (tsdb_json_budget): half
 * the unit's MemoryMax, so a request that would need more is refused as
 * TOO_LARGE instead of the process being killed without an answer. */
#define TSDB_HANDLER_JSON_BUDGET (256u << 20)

typedef struct tsdb_handler_config {
	const char *db_dir;          /* as given (--db) or NULL: tsdb_db_dir() resolves it */
	tsdb_limits limits;          /* request bounds; limits.timeout_ms is the receive deadline */
	int send_timeout_ms;         /* bound on writing the response (< 0: none) */
	uint32_t max_shape_values;   /* see TSDB_HANDLER_MAX_SHAPE_VALUES */
	int sandbox;                 /* confine the process (sandbox.h) before reading the request */
} tsdb_handler_config;

/* Defaults: tsdb_limits_default, the constants above, db_dir NULL ($TSDB_DB,
 * else the compiled-in directory), sandbox off (a library caller such as a
 * test or a fuzzer must not confine itself; tsdb-handler turns it on). */
void tsdb_handler_config_default(tsdb_handler_config *cfg);

/* What happened, for the one log line.  Counters are -1 when they do not
 * apply to the op. */
typedef struct tsdb_handler_log {
	const char *op;              /* static op name; NULL while unknown */
	enum tsdb_errcode status;    /* the status sent (or that would have been) */
	char error[512];             /* the error message when status is not OK */
	int server_fault;            /* status is the server's failure, not the client's */
	int responded;               /* a whole response frame was written */
	int peer_gone;               /* the peer closed before a request arrived: nothing was due */
	char send_error[512];        /* why the response could not be written ("" if it was) */
	char peer[96];               /* "1.2.3.4:5", "[::1]:5", "unix", or "" when not a socket */
	int64_t k, limit, results, computed, series;
	int truncated;               /* within: -1 n/a, else 0/1 */
	double radius;               /* within: NAN otherwise */
	double recv_ms;              /* waiting for the request (the client's pace) */
	double ms;                   /* from the request received to the response sent (ours) */
} tsdb_handler_log;

/* Serves one request read from in_fd, answering on out_fd (the same fd for
 * a socket; stdin and stdout under inetd).  Fills *log.  Returns 0 when a
 * response was written or none was due (log->peer_gone), -1 when one was
 * due but could not be written (log->send_error says why). */
int tsdb_handle(int in_fd, int out_fd, const tsdb_handler_config *cfg, tsdb_handler_log *log);

/* journald priority for the line: 6 (info) for an answered OK, 3 (err) for
 * a server-side failure (damaged or missing database, I/O on its files, out
 * of memory), 4 (warning) for everything the client caused. */
int tsdb_handler_log_priority(const tsdb_handler_log *log);

/* The line's text after "tsdb-handler: ", e.g.
 *     op=with_id status=OK k=10 results=10 computed=123 series=1000 ms=0.84 recv_ms=0.02
 *     peer=127.0.0.1:40312
 * with error="..." (quotes, backslashes and control bytes escaped) when not
 * OK.  Truncated to fit; always NUL-terminated. */
void tsdb_handler_log_format(const tsdb_handler_log *log, char *buf, size_t size);

#endif
