/* spawn_time N CMD... -- CMD...: runs the commands N times each, alternating
 * (A B A B ...) so load changes on a shared machine hit both alike, and
 * prints for each the median and minimum wall time and CPU time (user + sys
 * of the child and all its threads, from wait4) in milliseconds:
 *   "wall_median wall_min cpu_median cpu_min".  Output of the commands goes
 * to /dev/null; a command that fails stops the run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(char **argv, double *wall, double *cpu)
{
    double t0 = now_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *wall = now_ms() - t0;
    *cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: spawn_time N CMD... [-- CMD...]...\n");
        return 2;
    }
    int n = atoi(argv[1]);
    char **cmds[16];
    int ncmd = 0;
    cmds[ncmd++] = &argv[2];
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--") == 0 && ncmd < 16) {
            argv[i] = NULL;
            cmds[ncmd++] = &argv[i + 1];
        }
    double *w = calloc((size_t)(n * ncmd), sizeof *w), *c = calloc((size_t)(n * ncmd), sizeof *c);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < ncmd; k++) {
            int rc = run(cmds[k], &w[k * n + r], &c[k * n + r]);
            if (rc != 0) {
                fprintf(stderr, "spawn_time: %s exited with %d\n", cmds[k][0], rc);
                return 1;
            }
        }
    for (int k = 0; k < ncmd; k++) {
        qsort(&w[k * n], (size_t)n, sizeof *w, cmp);
        qsort(&c[k * n], (size_t)n, sizeof *c, cmp);
        printf("%.2f %.2f %.2f %.2f\n", w[k * n + n / 2], w[k * n], c[k * n + n / 2], c[k * n]);
    }
    free(w);
    free(c);
    return 0;
}
