#include <string.h>

#include "query_output.h"
#include "test.h"

TEST(query_excerpt_centres_on_the_query_words)
{
    rg_buf b;
    rg_buf_init(&b);
    for (int i = 0; i < 80; i++)
        rg_buf_puts(&b, "filler words here ");
    rg_buf_puts(&b, "the insulin receptor binds glucose. ");
    for (int i = 0; i < 80; i++)
        rg_buf_puts(&b, "more filler ");
    char *ex = rg_query_excerpt(b.data, "insulin receptors", NULL, 120, false, false);
    CHECK_MSG(strstr(ex, "insulin receptor binds"), "%s", ex);
    CHECK(!strncmp(ex, "... ", 4));
    CHECK(strlen(ex) < 140);
    free(ex);
    ex = rg_query_excerpt(b.data, "Insulin", "binds glucose", 120, false, true);
    CHECK_MSG(strstr(ex, "\x1b[1minsulin\x1b[22m"), "%s", ex);
    CHECK_MSG(strstr(ex, "\x1b[1mbinds glucose\x1b[22m"), "%s", ex);
    free(ex);
    /* outside control characters never reach the terminal raw */
    ex = rg_query_excerpt("a \x1b]0;title\x07 b", "a", NULL, 0, false, false);
    CHECK(!strchr(ex, 0x1b) && !strchr(ex, 0x07));
    free(ex);
    rg_buf_free(&b);
}

/* A highlighted word longer than the excerpt (found by fuzz_excerpt: a run of
 * undecodable bytes matching the query) stops where the excerpt does. */
TEST(query_excerpt_cuts_a_long_highlighted_word)
{
    char word[400];
    memset(word, 'x', sizeof word - 1);
    word[sizeof word - 1] = '\0';
    char *ex = rg_query_excerpt(word, "xxx", NULL, 60, false, false);
    CHECK_MSG(strlen(ex) == 60 + 4, "%zu bytes: %s", strlen(ex), ex);
    free(ex);
    memset(word, 0xff, sizeof word - 1);
    ex = rg_query_excerpt(word, "\xff\xff", NULL, 60, false, false);
    CHECK_MSG(strlen(ex) <= 60 * 4 + 4, "%zu bytes", strlen(ex));
    free(ex);
}
