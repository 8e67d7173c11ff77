/*
 * empty_handler.c - the floor for the service benchmark: exec'ed and linked
 * like tsdb-handler (same static libraries, same frame code), it reads one
 * request frame and answers a fixed OK response without opening a database.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	/* Socket activation passes the connection as fd 3, inetd as 0/1. */
	const char *fds = getenv("LISTEN_FDS");
	int in = fds && atoi(fds) == 1 ? 3 : 0, out = in ? 3 : 1;
	tsdb_err err;
	char *body = NULL;
	size_t len;
	if (tsdb_frame_read(in, 8u << 20, 5000, &body, &len, &err) < 0)
		return 1;
	free(body);
	size_t rlen;
	char *resp = tsdb_response_encode("with_id", TSDB_E_NONE, NULL, json_pack("{s:[]}", "results"), &rlen);
	int rc = resp && tsdb_frame_write(out, resp, rlen, &err) == 0 ? 0 : 1;
	free(resp);
	return rc;
}
