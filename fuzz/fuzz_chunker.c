/* The chunker over arbitrary text with the builtin embedder.  Input: two
 * bytes choosing size and overlap, then the text.  Properties: chunks lie
 * inside the text, in order, start and end on UTF-8 character boundaries,
 * cover every non-space byte, and never exceed the size by more than the
 * one-token slack of a forced cut. */
#include "chunker.h"
#include "config.h"
#include "embedder.h"
#include "fuzz.h"

static rg_embedder *emb;

static bool boundary(const char *t, size_t len, size_t off)
{
    return off == 0 || off == len || ((unsigned char)t[off] & 0xC0) != 0x80;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536)
        return 0;
    if (!emb) {
        rg_config *cfg = rg_config_new_defaults();
        rg_error err;
        if (rg_embedder_builtin_open(cfg, &emb, &err) != RG_OK)
            abort();
        rg_config_free(cfg);
    }
    size_t csize = 16 + data[0] % 64, overlap = data[1] % 20;
    const char *text = (const char *)data + 2;
    size_t len = size - 2;
    /* Readers hand the chunker valid UTF-8 without NULs; nothing else reaches it. */
    if (!rg_utf8_valid(text, len) || memchr(text, '\0', len))
        return 0;
    rg_chunks ch;
    memset(&ch, 0, sizeof ch);
    rg_chunk_text(text, len, emb, csize, overlap, &ch);
    size_t covered = 0; /* text before this offset is inside some chunk */
    for (size_t i = 0; i < ch.n; i++) {
        const rg_chunk *c = &ch.items[i];
        FUZZ_CHECK(c->start < c->end && c->end <= len, "chunk %zu is [%zu, %zu) in %zu bytes", i, c->start, c->end,
                   len);
        FUZZ_CHECK(i == 0 || c->start >= ch.items[i - 1].start, "chunk %zu starts before chunk %zu", i, i - 1);
        FUZZ_CHECK(boundary(text, len, c->start) && boundary(text, len, c->end),
                   "chunk %zu [%zu, %zu) cuts a UTF-8 character", i, c->start, c->end);
        for (size_t k = covered; k < c->start; k++) {
            if (!strchr(" \n\t\r\v\f", text[k]))
                for (size_t x = 0; x < ch.n; x++)
                    fprintf(stderr, "chunk %zu: [%zu, %zu) %zu tokens: '%.*s'\n", x, ch.items[x].start,
                            ch.items[x].end, ch.items[x].tokens, (int)RG_MIN(ch.items[x].end - ch.items[x].start, 60),
                            text + ch.items[x].start);
            FUZZ_CHECK(strchr(" \n\t\r\v\f", text[k]) != NULL,
                       "byte %zu (0x%02x) is in no chunk", k, (unsigned char)text[k]);
        }
        if (c->end > covered)
            covered = c->end;
    }
    rg_chunks_free(&ch);
    return 0;
}
