/* Shared helpers for the libFuzzer targets in fuzz/.
 *
 * Each target defines LLVMFuzzerTestOneInput.  Built with clang and
 * -fsanitize=fuzzer it is a fuzzer (`make fuzz`, `make fuzz-smoke`); built
 * with the normal compiler and fuzz/replay.c it replays a corpus directory
 * (`make check` replays fuzz/corpus/TARGET so every crash ever fixed stays
 * fixed, under ASan too in `make check-asan`).
 *
 * The contract every target checks: a hostile input ends in RG_OK or in an
 * rg_error with a non-empty message; never a crash, a hang or an unbounded
 * allocation.  FUZZ_CHECK aborts (a finding) when a property fails. */
#ifndef RG_FUZZ_H
#define RG_FUZZ_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__,     \
                    __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* A failed call must explain itself. */
#define FUZZ_CHECK_ERROR(st, err)                                                \
    FUZZ_CHECK((st) == RG_OK || (err).msg[0] != '\0', "status %s without a message", rg_status_name(st))

/* Private scratch directory of this fuzzing process, created on first use
 * and removed at exit. */
static char fuzz_dir_path[256];

static void fuzz_dir_cleanup(void)
{
    if (fuzz_dir_path[0])
        rg_remove_tree(fuzz_dir_path, NULL);
}

static inline const char *fuzz_dir(void)
{
    if (!fuzz_dir_path[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "%s/ragged-fuzz-%ld", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        if (mkdir(fuzz_dir_path, 0700) != 0 && errno != EEXIST) {
            perror(fuzz_dir_path);
            abort();
        }
        atexit(fuzz_dir_cleanup);
    }
    return fuzz_dir_path;
}

/* Writes data to fuzz_dir()/name; returns the path (caller frees). */
static inline char *fuzz_write(const char *name, const void *data, size_t n)
{
    char *path = rg_path_join(fuzz_dir(), name);
    char *dir = rg_path_dirname(path);
    rg_mkdir_p(dir, 0700, NULL);
    free(dir);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        abort();
    }
    if (n && fwrite(data, 1, n, f) != n) {
        perror(path);
        abort();
    }
    fclose(f);
    return path;
}

/* Splits data at each occurrence of sep (at most max parts); parts point
 * into data. */
static inline size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, const uint8_t **parts,
                                size_t *lens, size_t max)
{
    size_t n = 0, ls = strlen(sep), start = 0;
    for (size_t i = 0; n + 1 < max && i + ls <= size; i++) {
        if (memcmp(data + i, sep, ls) == 0) {
            parts[n] = data + start;
            lens[n++] = i - start;
            start = i + ls;
            i += ls - 1;
        }
    }
    parts[n] = data + start;
    lens[n++] = size - start;
    return n;
}

/* NUL-terminated copy (caller frees). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = rg_xmalloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A model directory fuzz_dir()/model from data: the contents of files[0..]
 * in order, separated by "\n@@@\n"; a missing part means the file is
 * absent, and so does an empty part of a file whose bit is set in
 * empty_absent.  Returns the directory (free it). */
static inline char *fuzz_write_model_dir(const uint8_t *data, size_t size, const char *const *files, size_t nfiles,
                                         uint32_t empty_absent)
{
    const uint8_t *parts[16];
    size_t lens[16];
    if (nfiles > 16)
        nfiles = 16;
    size_t n = fuzz_split(data, size, "\n@@@\n", parts, lens, nfiles);
    char *dir = rg_path_join(fuzz_dir(), "model");
    rg_remove_tree(dir, NULL);
    rg_mkdir_p(dir, 0700, NULL);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0 && (empty_absent >> i & 1))
            continue;
        char *name = rg_path_join("model", files[i]);
        free(fuzz_write(name, parts[i], lens[i]));
        free(name);
    }
    return dir;
}

#endif
