#include <string.h>

#include "chunker.h"
#include "config.h"
#include "test.h"
#include "util.h"

static rg_embedder *builtin(void)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_embedder *e = NULL;
    rg_error err;
    rg_embedder_open(cfg, &e, &err);
    rg_config_free(cfg);
    return e;
}

TEST(chunker_respects_size_and_overlaps)
{
    rg_embedder *e = builtin();
    CHECK(e);
    rg_buf text;
    rg_buf_init(&text);
    for (int p = 0; p < 20; p++) {
        for (int s = 0; s < 6; s++)
            rg_buf_printf(&text, "Paragraph %d sentence %d talks about topic number %d in some detail. ", p, s, p * 6 + s);
        rg_buf_puts(&text, "\n\n");
    }
    rg_chunks ch;
    rg_chunk_text(text.data, text.len, e, 60, 12, &ch);
    CHECK(ch.n > 5);
    for (size_t i = 0; i < ch.n; i++) {
        size_t tok = rg_embedder_count_tokens(e, text.data + ch.items[i].start, ch.items[i].end - ch.items[i].start);
        CHECK_MSG(tok <= 60, "chunk %zu has %zu tokens", i, tok);
        /* chunks start at a sentence start and end after a full stop */
        CHECK(text.data[ch.items[i].end - 1] == '.');
        CHECK(ch.items[i].start == 0 || text.data[ch.items[i].start - 1] == ' ' || text.data[ch.items[i].start - 1] == '\n');
        if (i) {
            CHECK(ch.items[i].start > ch.items[i - 1].start); /* progress */
            CHECK(ch.items[i].start < ch.items[i - 1].end);   /* overlap */
        }
    }
    /* Every byte of text is covered. */
    CHECK_EQ_INT(ch.items[0].start, 0);
    for (size_t i = 1; i < ch.n; i++)
        CHECK(ch.items[i].start <= ch.items[i - 1].end);
    CHECK(ch.items[ch.n - 1].end >= text.len - 3);
    rg_chunks_free(&ch);
    rg_buf_free(&text);
    rg_embedder_free(e);
}

TEST(chunker_splits_sentences_longer_than_a_chunk)
{
    rg_embedder *e = builtin();
    rg_buf text;
    rg_buf_init(&text);
    for (int i = 0; i < 500; i++)
        rg_buf_printf(&text, "word%d ", i);
    rg_buf_puts(&text, "https://example.invalid/");
    for (int i = 0; i < 3000; i++)
        rg_buf_putc(&text, 'x'); /* one enormous token-like run */
    rg_chunks ch;
    rg_chunk_text(text.data, text.len, e, 50, 0, &ch);
    CHECK(ch.n >= 10);
    for (size_t i = 0; i < ch.n; i++)
        CHECK(rg_embedder_count_tokens(e, text.data + ch.items[i].start, ch.items[i].end - ch.items[i].start) <= 50);
    rg_chunks_free(&ch);
    /* Empty and whitespace-only text give no chunks. */
    rg_chunk_text("  \n\n \t", 6, e, 50, 0, &ch);
    CHECK_EQ_INT(ch.n, 0);
    rg_chunks_free(&ch);
    rg_buf_free(&text);
    rg_embedder_free(e);
}

TEST(chunk_size_capped_by_embedder)
{
    rg_embedder *e = builtin();
    e->max_tokens = 40;
    CHECK_EQ_INT(rg_chunk_effective_size(e, 256), 38);
    CHECK_EQ_INT(rg_chunk_effective_size(e, 20), 20);
    rg_embedder_free(e);
}
