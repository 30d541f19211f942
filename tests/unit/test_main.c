#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

typedef struct {
    const char *name;
    const char *file;
    rg_test_fn fn;
} test_entry;

static test_entry *tests;
static size_t ntests, captests;
static int current_failed, current_skipped;
static char *current_tmpdir;

void rg_test_register(const char *name, const char *file, rg_test_fn fn)
{
    if (ntests == captests) {
        captests = captests ? captests * 2 : 64;
        tests = rg_xrealloc(tests, captests * sizeof *tests);
    }
    tests[ntests++] = (test_entry){name, file, fn};
}

void rg_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

void rg_test_skip(const char *why)
{
    fprintf(stderr, "    skipped: %s\n", why);
    current_skipped = 1;
}

const char *rg_test_tmpdir(void)
{
    if (!current_tmpdir) {
        const char *base = getenv("TMPDIR");
        char *tmpl = rg_xasprintf("%s/ragged-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            abort();
        }
        current_tmpdir = tmpl;
    }
    return current_tmpdir;
}

const char *rg_test_shared_dir(void)
{
    static char path[4096];
    const char *env = getenv("RAGGED_SHARED");
    snprintf(path, sizeof path, "%s", env && *env ? env : "../shared");
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/README.md", path);
    return access(probe, R_OK) == 0 ? path : NULL;
}

static int by_file_then_registration(const void *a, const void *b)
{
    const test_entry *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x < y ? -1 : x > y);
}

int main(int argc, char **argv)
{
    const char *pattern = argc > 1 ? argv[1] : NULL;
    qsort(tests, ntests, sizeof *tests, by_file_then_registration);
    /* RAGGED_TEST_SHARD=K/N: every N-th matching test from the K-th, so a
     * slow runner (qemu-user) can spread the suite over cores
     * (tests/unit_shards.sh). */
    unsigned shard = 0, nshards = 1, seen = 0;
    const char *sh = getenv("RAGGED_TEST_SHARD");
    if (sh && (sscanf(sh, "%u/%u", &shard, &nshards) != 2 || nshards == 0 || shard >= nshards)) {
        fprintf(stderr, "RAGGED_TEST_SHARD=%s: expected K/N with 0 <= K < N\n", sh);
        return 2;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < ntests; i++) {
        if (pattern && !strstr(tests[i].name, pattern))
            continue;
        if (seen++ % nshards != shard)
            continue;
        current_failed = current_skipped = 0;
        double t0 = rg_now();
        tests[i].fn();
        double dt = rg_now() - t0;
        if (current_tmpdir) {
            rg_remove_tree(current_tmpdir, NULL);
            free(current_tmpdir);
            current_tmpdir = NULL;
        }
        const char *verdict = current_failed ? "FAIL" : current_skipped ? "skip" : "ok";
        fprintf(stderr, "  %-4s %s (%.2fs)\n", verdict, tests[i].name, dt);
        if (current_failed)
            failed++;
        else if (current_skipped)
            skipped++;
        else
            passed++;
    }
    free(tests);
    printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
