/*
 * client.h - the client side of the protocol: connect to a server address
 * and make one call.  Used by simsearch and the tests; links only the codec.
 *
 * Addresses: "HOST:PORT", "[V6ADDR]:PORT", or "unix:PATH".
 */
#ifndef TSDB_CLIENT_H
#define TSDB_CLIENT_H

#include <jansson.h>

#include "err.h"

#define TSDB_DEFAULT_PORT 7411
#define TSDB_DEFAULT_SERVER "127.0.0.1:7411"

/* Connects to addr, sends request (not stolen), reads one response frame
 * within timeout_ms, and returns the decoded response object in *response
 * (caller decrefs).  Connection and protocol failures fill err with a
 * message naming the address. */
int tsdb_call(const char *addr, const json_t *request, int timeout_ms,
	      json_t **response, tsdb_err *err);

#endif
