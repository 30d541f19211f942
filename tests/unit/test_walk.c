/* Selection rules (ignore.c), the walk (walk.c) and the escape form of
 * file names. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunker.h"
#include "config.h"
#include "ignore.h"
#include "test.h"
#include "util.h"
#include "walk.h"

TEST(glob_double_star_and_segments)
{
    CHECK(rg_glob_match("*.txt", "a.txt"));
    CHECK(!rg_glob_match("*.txt", "d/a.txt")); /* '*' never crosses '/' */
    CHECK(rg_glob_match("**/a.txt", "a.txt"));
    CHECK(rg_glob_match("**/a.txt", "x/y/a.txt"));
    CHECK(rg_glob_match("docs/**/draft.md", "docs/draft.md"));
    CHECK(rg_glob_match("docs/**/draft.md", "docs/a/b/draft.md"));
    CHECK(!rg_glob_match("docs/**/draft.md", "other/docs/draft.md"));
    CHECK(rg_glob_match("build/**", "build/x/y.o"));
    CHECK(rg_glob_match("a/[bc]?/*.md", "a/cz/readme.md"));
    CHECK(!rg_glob_match("a/b", "a/b/c"));
    /* Many "**" against a deep path: bounded work, no hang. */
    char deep[2048] = "";
    for (int i = 0; i < 200; i++)
        strcat(deep, "x/");
    strcat(deep, "y");
    CHECK(!rg_glob_match("**/**/**/**/**/**/**/**/**/**/**/**/z", deep));
}

TEST(gitignore_rules_negation_anchoring_dirs)
{
    rg_ignore *ig = rg_ignore_new();
    const char text[] = "# comment\n\n*.bak\n!keep.bak\nbuild/\n/top.txt\ndocs/**/draft.md\n\\#hash.txt\ntrail.txt   \n";
    rg_ignore_add_text(ig, text, sizeof text - 1);
    CHECK_EQ_INT(rg_ignore_match(ig, "x.bak", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "sub/x.bak", false), RG_IGNORE_EXCLUDE); /* unanchored: any depth */
    CHECK_EQ_INT(rg_ignore_match(ig, "keep.bak", false), RG_IGNORE_INCLUDE);  /* last match wins */
    CHECK_EQ_INT(rg_ignore_match(ig, "build", true), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "build", false), RG_IGNORE_NONE);       /* directory-only */
    CHECK_EQ_INT(rg_ignore_match(ig, "a/build", true), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "top.txt", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "sub/top.txt", false), RG_IGNORE_NONE); /* anchored */
    CHECK_EQ_INT(rg_ignore_match(ig, "docs/draft.md", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "docs/a/b/draft.md", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "#hash.txt", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "trail.txt", false), RG_IGNORE_EXCLUDE);
    CHECK_EQ_INT(rg_ignore_match(ig, "comment", false), RG_IGNORE_NONE);
    rg_ignore_free(ig);
}

TEST(path_escape_round_trips)
{
    const char *cases[] = {"/plain/utf8/caf\xc3\xa9.txt", "/latin1/caf\xe9.txt", "/back\\slash",
                           "/ctl\x1b[31m\nname", "/x\\xe9 literal", "/cut\xc3"};
    for (size_t i = 0; i < RG_ARRAY_LEN(cases); i++) {
        char *e = rg_path_escape(cases[i]);
        CHECK_MSG(rg_utf8_valid(e, strlen(e)), "escape of case %zu is not UTF-8", i);
        for (const char *p = e; *p; p++)
            CHECK_MSG((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte left in case %zu", i);
        char *u = rg_path_unescape(e);
        CHECK_EQ_STR(u, cases[i]);
        free(e);
        free(u);
    }
    char *e = rg_path_escape("/plain/utf8/caf\xc3\xa9.txt");
    CHECK_EQ_STR(e, "/plain/utf8/caf\xc3\xa9.txt"); /* clean names are unchanged */
    free(e);
    e = rg_path_escape("/latin1/caf\xe9.txt");
    CHECK_EQ_STR(e, "/latin1/caf\\xe9.txt");
    free(e);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char *p = rg_path_join(dir, rel);
    char *d = rg_path_dirname(p);
    rg_error err;
    rg_mkdir_p(d, 0755, &err);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    free(d);
    free(p);
}

static bool found(const rg_walk_result *r, const char *suffix)
{
    size_t l = strlen(suffix);
    for (size_t i = 0; i < r->nfiles; i++) {
        size_t pl = strlen(r->files[i].path);
        if (pl >= l && !strcmp(r->files[i].path + pl - l, suffix))
            return true;
    }
    return false;
}

TEST(walk_reads_each_file_once_and_names_loops)
{
    const char *d = rg_test_tmpdir();
    put(d, "t/a.txt", "alpha\n");
    put(d, "t/sub/c.md", "# c\n");
    char *t = rg_path_join(d, "t"), *sub = rg_path_join(t, "sub");
    char *link = rg_path_join(t, "b.txt"), *up = rg_path_join(sub, "up"), *l1 = rg_path_join(t, "l1"),
         *l2 = rg_path_join(t, "l2"), *a = rg_path_join(t, "a.txt");
    CHECK(symlink("a.txt", link) == 0);
    CHECK(symlink("..", up) == 0);
    CHECK(symlink("l2", l1) == 0);
    CHECK(symlink("l1", l2) == 0);
    const char *args[] = {t, sub, a, t};
    rg_walk_opts o = {0};
    rg_walk_result r;
    CHECK(rg_walk(args, 4, &o, &r));
    CHECK_EQ_INT(r.nfiles, 2);
    CHECK(found(&r, "/t/a.txt") && found(&r, "/t/sub/c.md"));
    CHECK_EQ_INT(r.duplicates, 2); /* b.txt -> a.txt, and a.txt named again */
    CHECK_EQ_INT(r.warnings, 3);   /* up (loop), l1 and l2 (loop) */
    CHECK_EQ_INT(r.failed_args, 0);
    rg_walk_result_free(&r);
    free(t), free(sub), free(link), free(up), free(l1), free(l2), free(a);
}

TEST(chunker_cuts_a_huge_word_by_bytes)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_embedder *e = NULL;
    rg_error err;
    rg_embedder_open(cfg, &e, &err);
    rg_config_free(cfg);
    CHECK(e);
    size_t n = 300000;
    char *text = malloc(n + 1);
    memset(text, 'a', n);
    text[n] = '\0';
    rg_chunks ch;
    rg_chunk_text(text, n, e, 256, 32, &ch);
    CHECK(ch.n > 10);
    for (size_t i = 0; i < ch.n; i++)
        CHECK_MSG(ch.items[i].end - ch.items[i].start <= 256 * 32, "chunk %zu is %zu bytes", i,
                  ch.items[i].end - ch.items[i].start);
    CHECK_EQ_INT(ch.items[ch.n - 1].end, n);
    rg_chunks_free(&ch);
    free(text);
    rg_embedder_free(e);
}
