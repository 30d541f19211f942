/* Helpers shared by the reader tests: files in the test's temp dir, and a
 * stderr capture to prove parsers stay quiet on bad input. */
#ifndef RG_TEST_READER_UTIL_H
#define RG_TEST_READER_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"
#include "test.h"
#include "util.h"

static inline char *rt_write(const char *name, const void *data, size_t n)
{
    char *path = rg_path_join(rg_test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        abort();
    }
    if (n && fwrite(data, 1, n, f) != n)
        abort();
    fclose(f);
    return path;
}

/* Reads name (written from data) into doc; returns the status. */
static inline rg_status rt_read(const char *name, const void *data, size_t n, rg_document *doc, rg_error *err)
{
    char *path = rt_write(name, data, n);
    rg_status st = rg_document_read(path, 0, doc, err);
    free(path);
    return st;
}

/* stderr capture: begin returns a token to pass to end, which returns how
 * many bytes were written to stderr in between. */
typedef struct rt_capture {
    int saved;
    char path[4096];
} rt_capture;

static inline void rt_capture_begin(rt_capture *c)
{
    fflush(stderr);
    snprintf(c->path, sizeof c->path, "%s/stderr.capture", rg_test_tmpdir());
    int fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    c->saved = dup(2);
    dup2(fd, 2);
    close(fd);
}

static inline long rt_capture_end(rt_capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    struct stat st;
    long n = stat(c->path, &st) == 0 ? (long)st.st_size : -1;
    if (n > 0) {
        /* Show what leaked, so a failure is easy to diagnose. */
        FILE *f = fopen(c->path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            fprintf(stderr, "    stderr> %s", line);
        if (f)
            fclose(f);
    }
    return n;
}

#endif
