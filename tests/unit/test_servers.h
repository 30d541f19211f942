/* Helpers for tests that talk to local servers: the python HTTP test server
 * (tests/servers/http_test_server.py) started on a free loopback port and
 * stopped by PID, and a loopback port with nothing listening. */
#ifndef RG_TEST_SERVERS_H
#define RG_TEST_SERVERS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct rg_test_server {
    pid_t pid;
    int port;
    char base[64];   /* http://127.0.0.1:PORT */
} rg_test_server;

/* Starts the server and waits (at most 10 s) for it to publish its port;
 * false (the test is marked skipped, saying why) when it cannot. */
bool rg_test_server_start(rg_test_server *s);
void rg_test_server_stop(rg_test_server *s);
/* A loopback port that was free a moment ago (bound, then closed). */
int rg_test_closed_port(void);

#endif
