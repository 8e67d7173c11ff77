/*
 * client.h - the client side of the protocol: connect to a server address
 * and make one call.  Used by simsearch and the tests; links only the codec.
 *
 * Addresses: "HOST:PORT", "[V6ADDR]:PORT", "HOST" (port 7411), "unix:PATH"
 * or "unix:@NAME" (Linux abstract socket).
 */
#ifndef TSDB_CLIENT_H
#define TSDB_CLIENT_H

#include <jansson.h>

#include "err.h"

#define TSDB_DEFAULT_PORT 7411
#define TSDB_DEFAULT_SERVER "127.0.0.1:7411"

/* Connects to addr, sends request (not stolen), reads one response frame
 * within timeout_ms in all (connect, send and receive share it; < 0: no
 * limit; name resolution is not bounded), and returns the decoded response
 * object in *response (caller decrefs).  The response is an object with a
 * string "status"; a status other than "OK" is still a successful call.
 * Failures fill err with a message naming the address: TSDB_E_INVALID_ARG
 * for a malformed address, TSDB_E_TIMEOUT when the deadline passed,
 * TSDB_E_IO for resolution, connection and protocol failures ("cannot
 * connect to 127.0.0.1:7411: Connection refused"). */
int tsdb_call(const char *addr, const json_t *request, int timeout_ms,
	      json_t **response, tsdb_err *err);

#endif
