/* Answers without a network (src/answer.c): token estimates, prompt
 * building and trimming, citation extraction, the citation-marking and
 * secret-masking stream filters. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "util.h"

TEST(answer_token_estimate)
{
    CHECK_EQ_INT(rg_answer_count_tokens("", 0), 0);
    CHECK_EQ_INT(rg_answer_count_tokens("hello world", 11), 4);      /* 2 + 2 */
    CHECK_EQ_INT(rg_answer_count_tokens("a cat", 5), 2);
    CHECK_EQ_INT(rg_answer_count_tokens("12345", 5), 2);
    CHECK_EQ_INT(rg_answer_count_tokens("a, b.", 5), 4);
    CHECK_EQ_INT(rg_answer_count_tokens("\n\n\n", 3), 1);
    CHECK_EQ_INT(rg_answer_count_tokens("\xe6\x97\xa5\xe6\x9c\xac", 6), 2);
    /* Ordinary English prose: at least one token per word, and more than a
     * BPE tokenizer would use (~1.3/word): the estimate must not be low. */
    const char *prose = "The database is backed up every night with pg_dump and copies are kept offsite for thirty "
                        "days before they are deleted automatically by the retention job.";
    int64_t t = rg_answer_count_tokens(prose, strlen(prose));
    CHECK_MSG(t >= 30 && t <= 50, "estimate %lld for 25 words", (long long)t);
}

static rg_passage P(const char *text, const char *path, int64_t page)
{
    return (rg_passage){.text = text, .path = path, .page = page, .chunk = 0, .total = 1};
}

static char *words(int n, const char *w)
{
    rg_buf b;
    rg_buf_init(&b);
    for (int i = 0; i < n; i++)
        rg_buf_printf(&b, "%s%s", i ? " " : "", w);
    return rg_buf_steal(&b);
}

TEST(answer_prompt_includes_numbered_passages)
{
    rg_passage ps[] = {P("Backups run nightly.", "docs/backup.md", -1), P("Tomatoes need sun.", "garden.pdf", 3)};
    rg_prompt pr;
    rg_error err;
    CHECK_OK(rg_prompt_build("How are backups made?", ps, 2, 4096, 512, &pr, &err), &err);
    CHECK_EQ_INT(pr.npassages, 2);
    CHECK(!pr.last_trimmed);
    CHECK(strstr(pr.user, "[1] Source: docs/backup.md\nBackups run nightly.\n\n"));
    CHECK(strstr(pr.user, "[2] Source: garden.pdf, page 3\nTomatoes need sun.\n\n"));
    CHECK(strstr(pr.user, "Question: How are backups made?"));
    CHECK(strstr(pr.system, "square brackets"));
    CHECK(pr.tokens <= pr.budget);
    CHECK_EQ_INT(pr.budget, 4096 - 512);
    rg_prompt_free(&pr);
}

/* Whatever the budget, the messages as sent fit it. */
TEST(answer_prompt_trims_to_budget)
{
    char *long1 = words(400, "alpha"), *long2 = words(400, "bravo"), *long3 = words(400, "charlie");
    rg_passage ps[] = {P(long1, "a.txt", -1), P(long2, "b.txt", -1), P(long3, "c.txt", -1)};
    size_t prev = 0;
    for (int64_t ctx = 300; ctx <= 3000; ctx += 37) {
        rg_prompt pr;
        rg_error err;
        CHECK_OK(rg_prompt_build("what?", ps, 3, ctx, 100, &pr, &err), &err);
        int64_t sent = rg_answer_count_tokens(pr.system, strlen(pr.system)) +
                       rg_answer_count_tokens(pr.user, strlen(pr.user)) + 2 * RG_PROMPT_MESSAGE_OVERHEAD;
        CHECK_MSG(sent <= ctx - 100, "context %lld: prompt has %lld tokens, budget %lld", (long long)ctx,
                  (long long)sent, (long long)(ctx - 100));
        CHECK_MSG(sent == pr.tokens, "estimate %lld vs recount %lld", (long long)pr.tokens, (long long)sent);
        CHECK(pr.npassages >= prev);   /* more room never means fewer passages */
        prev = pr.npassages;
        /* Passages are numbered 1..n with nothing beyond. */
        char tag[32];
        snprintf(tag, sizeof tag, "[%zu] Source:", pr.npassages + 1);
        CHECK(!strstr(pr.user, tag));
        if (pr.last_trimmed) {
            CHECK(strstr(pr.user, " [...]\n\nQuestion: what?"));
            /* cut between words, never inside one */
            const char *cut = strstr(pr.user, " [...]");
            CHECK(cut[-1] == 'a' || cut[-1] == 'o' || cut[-1] == 'e');
            CHECK(cut[-2] != ' ');
        }
        rg_prompt_free(&pr);
    }
    CHECK_EQ_INT(prev, 3);
    free(long1);
    free(long2);
    free(long3);
}

TEST(answer_prompt_small_context_drops_and_trims)
{
    char *long1 = words(100, "alpha"), *long2 = words(300, "bravo");
    rg_passage ps[] = {P(long1, "a.txt", -1), P(long2, "b.txt", -1), P("tiny", "c.txt", -1)};
    rg_prompt pr;
    rg_error err;
    /* Room for the first passage (200 tokens) and part of the second. */
    CHECK_OK(rg_prompt_build("what?", ps, 3, 700, 200, &pr, &err), &err);
    CHECK_EQ_INT(pr.npassages, 2);
    CHECK(pr.last_trimmed);
    CHECK(strstr(pr.user, "[2] Source: b.txt\nbravo"));
    CHECK(!strstr(pr.user, "c.txt"));
    rg_prompt_free(&pr);
    free(long1);
    free(long2);
}

TEST(answer_prompt_refuses_impossible_budgets)
{
    rg_passage ps[] = {P("text", "a.txt", -1)};
    rg_prompt pr;
    rg_error err;
    CHECK_EQ_INT(rg_prompt_build("q", ps, 1, 512, 512, &pr, &err), RG_ERR_INVALID);
    CHECK(strstr(err.msg, "llm.answer_tokens"));
    char *question = words(2000, "why");
    CHECK_EQ_INT(rg_prompt_build(question, ps, 1, 1024, 256, &pr, &err), RG_ERR_INVALID);
    CHECK(strstr(err.msg, "llm.context_tokens"));
    free(question);
}

static bool cites_equal(const char *text, const int *want, size_t n)
{
    rg_citations c;
    rg_citations_extract(text, strlen(text), &c);
    bool ok = c.n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = c.items[i] == want[i];
    rg_citations_free(&c);
    return ok;
}

TEST(answer_citations_extracted)
{
    CHECK(cites_equal("Backups run nightly [1].", (int[]){1}, 1));
    CHECK(cites_equal("a [2][1] b [1, 3] c [4-6] d [Passage 8] e [source 9; 10]", (int[]){1, 2, 3, 4, 5, 6, 8, 9, 10},
                      9));
    CHECK(cites_equal("en dash [2\xe2\x80\x93" "3]", (int[]){2, 3}, 2));
    CHECK(cites_equal("not citations: [a] [] [1a] [x 1] [1 2 b] [5-2] [1\n]", NULL, 0));
    CHECK(cites_equal("unclosed [3 and [4]", (int[]){4}, 1));
}

typedef struct {
    rg_buf out;
} sink;

static bool to_sink(void *ctx, const char *t, size_t n)
{
    rg_buf_append(&((sink *)ctx)->out, t, n);
    return true;
}

/* Runs the citation filter over text cut at every position. */
TEST(answer_cite_filter_marks_invalid_any_split)
{
    const char *text = "See [1] and [3], also [1, 4] and [x] [[2]. Range [1-5] [Passage 2] end [";
    const char *want = "See [1] and [3?], also [1, 4?] and [x] [[2]. Range [1-5?] [Passage 2] end [";
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        sink s;
        rg_buf_init(&s.out);
        rg_cite_filter f;
        rg_cite_filter_init(&f, 2, to_sink, &s);
        rg_cite_filter_feed(&f, text, cut);
        rg_cite_filter_feed(&f, text + cut, len - cut);
        rg_cite_filter_flush(&f);
        CHECK_MSG(s.out.data && strcmp(s.out.data, want) == 0, "cut %zu: %s", cut, s.out.data);
        CHECK_EQ_INT(f.flagged, 3);
        rg_cite_filter_free(&f);
        rg_buf_free(&s.out);
    }
}

TEST(answer_mask_secret)
{
    const char *secret = "sk-PLANTED-0123456789";
    char *m = rg_mask_secret("key sk-PLANTED-0123456789 and again sk-PLANTED-0123456789.", secret);
    CHECK_EQ_STR(m, "key [redacted] and again [redacted].");
    free(m);
    m = rg_mask_secret("short keys are not masked: abc", "abc");
    CHECK_EQ_STR(m, "short keys are not masked: abc");
    free(m);
    rg_error err;
    rg_error_set(&err, RG_ERR_SERVER, "Incorrect API key provided: %s", secret);
    rg_error_mask_secret(&err, secret);
    CHECK_EQ_STR(err.msg, "Incorrect API key provided: [redacted]");
    /* A secret cut by the message length limit leaves no prefix behind. */
    rg_error_set(&err, RG_ERR_SERVER, "%*s%s", RG_ERROR_MSG_MAX - 10, "", secret);
    rg_error_mask_secret(&err, secret);
    CHECK(!strstr(err.msg, "sk-PLANT"));
}

/* Every spelling a server may use: another letter case, JSON escapes
 * (\/ and \uXXXX), URL escapes and HTML character references (issue 21:
 * a key with '/' escaped as \/ was printed in full). */
TEST(answer_mask_secret_spellings)
{
    const char *secret = "sk-PLANTED/0123456789";
    const char *texts[] = {
        "invalid api key: sk-planted/0123456789",
        "invalid api key: SK-PLANTED/0123456789",
        "{\"error\": \"invalid api key: sk-PLANTED\\/0123456789\"}",
        "{\"error\": \"\\u0073\\u006B-PLANTED\\u002f0123456789\"}",
        "<p>Authorization: Bearer sk&#45;PLANTED&#x2F;0123456789</p>",
        "GET /?key=sk-PLANTED%2F0123456789 HTTP/1.1",
    };
    for (size_t i = 0; i < RG_ARRAY_LEN(texts); i++) {
        char *m = rg_mask_secret(texts[i], secret);
        CHECK_MSG(strstr(m, "[redacted]") && !strcasestr(m, "PLANTED"), "not masked: %s -> %s", texts[i], m);
        free(m);
        char *raw = rg_xstrdup(texts[i]);
        size_t len = strlen(raw);
        rg_secret_blank(raw, len, secret);
        CHECK_MSG(strlen(raw) == len && !strcasestr(raw, "PLANTED") && strstr(raw, "****"), "not blanked: %s", raw);
        free(raw);
    }
    /* Near misses stay. */
    char *m = rg_mask_secret("sk-PLANTED/012345678X and sk-PLANTED\\n0123456789", secret);
    CHECK_EQ_STR(m, "sk-PLANTED/012345678X and sk-PLANTED\\n0123456789");
    free(m);
}

TEST(answer_redactor_any_split)
{
    const char *secret = "sk-PLANTED-0123456789";
    /* The first in another letter case: an answer may repeat the key so. */
    const char *text = "a sk-planted-0123456789 b sk-PLANTED-01 c sk-sk-PLANTED-0123456789sk-PLANTED-012";
    const char *want = "a [redacted] b sk-PLANTED-01 c sk-[redacted]sk-PLANTED-012";
    size_t len = strlen(text);
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b += 7) {
            sink s;
            rg_buf_init(&s.out);
            rg_redactor r;
            rg_redactor_init(&r, secret, to_sink, &s);
            rg_redactor_feed(&r, text, a);
            rg_redactor_feed(&r, text + a, b - a);
            rg_redactor_feed(&r, text + b, len - b);
            rg_redactor_flush(&r);
            CHECK_MSG(s.out.data && strcmp(s.out.data, want) == 0, "cuts %zu,%zu: %s", a, b, s.out.data);
            rg_redactor_free(&r);
            rg_buf_free(&s.out);
        }
    /* Byte by byte. */
    sink s;
    rg_buf_init(&s.out);
    rg_redactor r;
    rg_redactor_init(&r, secret, to_sink, &s);
    for (size_t i = 0; i < len; i++)
        rg_redactor_feed(&r, text + i, 1);
    rg_redactor_flush(&r);
    CHECK_EQ_STR(s.out.data, want);
    rg_redactor_free(&r);
    rg_buf_free(&s.out);
}

TEST(answer_passage_describe)
{
    rg_passage p = {.text = "", .path = "docs/a.pdf", .page = 4, .chunk = 1, .total = 9};
    char *d = rg_passage_describe(&p, true);
    CHECK_EQ_STR(d, "docs/a.pdf, page 4, chunk 2/9");
    free(d);
    p.page = -1;
    p.chunk = -1;
    d = rg_passage_describe(&p, true);
    CHECK_EQ_STR(d, "docs/a.pdf");
    free(d);
}

TEST(answer_url_for_display)
{
    static const char *const cases[][2] = {
        {"http://127.0.0.1:11434", "http://127.0.0.1:11434"},
        {"http://user:pw@host:8080/v1", "http://host:8080/v1"},
        {"https://a:b@c@host/path?x=1@y", "https://host/path?x=1@y"},
        {"user:pw@host", "host"},
        {"", ""},
    };
    for (size_t i = 0; i < RG_ARRAY_LEN(cases); i++) {
        char *d = rg_url_for_display(cases[i][0]);
        CHECK_EQ_STR(d, cases[i][1]);
        free(d);
    }
}

/* The whole answer stream (redactor, leading blanks, citation filter) as
 * query --answer and serve's /v1/answer use it, cut at every position. */
TEST(answer_stream_masks_trims_and_flags_any_split)
{
    const char *secret = "sk-PLANTED-0123456789";
    const char *text = "\n \n  Key sk-PLANTED-0123456789 is in [1] and [4].";
    const char *want_out = "Key [redacted] is in [1] and [4?].";
    const char *want_answer = "Key [redacted] is in [1] and [4].";
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        sink s;
        rg_buf_init(&s.out);
        rg_answer_stream st;
        rg_answer_stream_init(&st, secret, 2, to_sink, &s);
        rg_answer_stream_feed(&st, text, cut);
        rg_answer_stream_feed(&st, text + cut, len - cut);
        rg_answer_stream_flush(&st);
        CHECK_MSG(s.out.data && strcmp(s.out.data, want_out) == 0, "cut %zu: %s", cut, s.out.data);
        CHECK_MSG(st.answer.len == strlen(want_answer) && !memcmp(st.answer.data, want_answer, st.answer.len),
                  "cut %zu: %.*s", cut, (int)st.answer.len, st.answer.data);
        rg_answer_stream_free(&st);
        rg_buf_free(&s.out);
    }
    /* Without a sink (JSON output) the answer is only kept. */
    rg_answer_stream st;
    rg_answer_stream_init(&st, NULL, 2, NULL, NULL);
    rg_answer_stream_feed(&st, text, len);
    rg_answer_stream_flush(&st);
    CHECK_EQ_INT(st.answer.len, strlen("Key sk-PLANTED-0123456789 is in [1] and [4]."));
    rg_answer_stream_free(&st);
}
