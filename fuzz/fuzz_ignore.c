/* .gitignore/.ignore files (ignore.c) and the escape form of file names
 * (walk.c): both read outside data.  Properties:
 * - parsing any text never crashes, and matching any path against its rules
 *   ends (the "**" search is bounded) with one of the three verdicts;
 * - every line of the input, taken as a file name, escapes to valid UTF-8
 *   without control bytes and unescapes to itself. */
#include "fuzz.h"
#include "ignore.h"
#include "walk.h"

static const char *const PATHS[] = {"a.txt", "docs/a/b/draft.md", "build", "x/y/z/keep.bak", ".hidden/f", "",
                                    "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    rg_ignore *ig = rg_ignore_new();
    rg_ignore_add_text(ig, (const char *)data, size);
    for (size_t i = 0; i < RG_ARRAY_LEN(PATHS); i++)
        for (int dir = 0; dir < 2; dir++) {
            rg_ignore_verdict v = rg_ignore_match(ig, PATHS[i], dir);
            FUZZ_CHECK(v == RG_IGNORE_NONE || v == RG_IGNORE_EXCLUDE || v == RG_IGNORE_INCLUDE, "verdict %d", v);
        }
    /* Each line as a path too: against the rules and through the escape. */
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        char *line = rg_xstrndup((const char *)data + start, i - start); /* stops at a NUL */
        (void)rg_ignore_match(ig, line, false);
        char *e = rg_path_escape(line);
        FUZZ_CHECK(rg_utf8_valid(e, strlen(e)), "escape is not UTF-8");
        for (const char *p = e; *p; p++)
            FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in escape");
        char *u = rg_path_unescape(e);
        FUZZ_CHECK(strcmp(u, line) == 0, "escape does not round-trip");
        free(u);
        free(e);
        free(line);
        start = i + 1;
    }
    rg_ignore_free(ig);
    return 0;
}
