/* See test_servers.h. */
#include "test_servers.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util.h"

static const char *server_script(void)
{
    const char *p = "tests/servers/http_test_server.py";
    return rg_path_exists(p) ? p : NULL;
}

bool rg_test_server_start(rg_test_server *s)
{
    const char *script = server_script();
    if (!script) {
        rg_test_skip("tests/servers/http_test_server.py not found (run from the repository root)");
        return false;
    }
    static unsigned started;
    char name[32];
    snprintf(name, sizeof name, "server-port-%u", ++started);
    char *port_file = rg_path_join(rg_test_tmpdir(), name);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("python3", "python3", script, "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    s->pid = pid;
    s->port = 0;
    for (int i = 0; i < 200 && !s->port; i++) {
        char *text = NULL;
        size_t len;
        if (rg_read_file(port_file, 64, &text, &len, NULL) == RG_OK) {
            s->port = atoi(text);
            free(text);
            break;
        }
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            break;
        }
        usleep(50 * 1000);
    }
    free(port_file);
    if (!s->port) {
        if (s->pid) {
            kill(s->pid, SIGTERM);
            waitpid(s->pid, NULL, 0);
        }
        rg_test_skip("python3 test server did not start within 10 s");
        return false;
    }
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    return true;
}

void rg_test_server_stop(rg_test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

int rg_test_closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

