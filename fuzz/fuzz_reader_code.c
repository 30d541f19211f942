/* The source code reader and the code chunker on arbitrary bytes.  Input:
 * one byte choosing the language (file name), one the chunk size, then the
 * file.  Properties: the reader contract (fuzz_reader.h) and, for the
 * text it returns, chunks inside the text, in order, on UTF-8 character
 * boundaries, covering every non-space byte, within the size unless the
 * chunk is a piece of one line longer than a chunk. */
#include "chunker_code.h"
#include "config.h"
#include "embedder.h"
#include "fuzz_reader.h"

static rg_embedder *emb;

static bool boundary(const char *t, size_t len, size_t off)
{
    return off == 0 || off == len || ((unsigned char)t[off] & 0xC0) != 0x80;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"f.c", "f.py", "f.rs", "f.js", "f.go", "f.sh", "f.rb", "f.lua", "script"};
    if (size < 2 || size > 65536)
        return 0;
    if (!emb) {
        rg_config *cfg = rg_config_new_defaults();
        rg_error err;
        if (rg_embedder_builtin_open(cfg, &emb, &err) != RG_OK)
            abort();
        rg_config_free(cfg);
    }
    const char *name = names[data[0] % (sizeof names / sizeof names[0])];
    size_t csize = 8 + data[1] % 64;
    data += 2, size -= 2;
    fuzz_reader(&rg_reader_code, name, data, size);

    rg_document doc;
    memset(&doc, 0, sizeof doc);
    rg_error err = {0};
    if (rg_reader_code.read(name, (const char *)data, size, &doc, &err) != RG_OK)
        return 0;
    rg_chunks ch;
    rg_chunk_code(doc.text, doc.len, doc.language, emb, csize, csize / 4, &ch);
    const char *t = doc.text;
    size_t covered = 0;
    for (size_t i = 0; i < ch.n; i++) {
        const rg_chunk *c = &ch.items[i];
        FUZZ_CHECK(c->start < c->end && c->end <= doc.len, "chunk %zu is [%zu, %zu) in %zu bytes", i, c->start,
                   c->end, doc.len);
        FUZZ_CHECK(i == 0 || c->start >= ch.items[i - 1].start, "chunk %zu starts before chunk %zu", i, i - 1);
        FUZZ_CHECK(boundary(t, doc.len, c->start) && boundary(t, doc.len, c->end),
                   "chunk %zu [%zu, %zu) cuts a UTF-8 character", i, c->start, c->end);
        /* Over the size only inside one over-long line, which the prose
         * chunker cuts by words (its own bounds, fuzz_chunker.c). */
        size_t tok = rg_embedder_count_tokens(emb, t + c->start, c->end - c->start);
        FUZZ_CHECK(tok <= csize + 1 || !memchr(t + c->start, '\n', c->end - c->start),
                   "chunk %zu spans lines with %zu tokens, size %zu", i, tok, csize);
        for (size_t k = covered; k < c->start; k++)
            FUZZ_CHECK(strchr(" \n\t\r\v\f", t[k]) != NULL, "byte %zu (0x%02x) is in no chunk", k,
                       (unsigned char)t[k]);
        if (c->end > covered)
            covered = c->end;
    }
    for (size_t k = covered; k < doc.len; k++)
        FUZZ_CHECK(strchr(" \n\t\r\v\f", t[k]) != NULL, "byte %zu (0x%02x) after the last chunk", k,
                   (unsigned char)t[k]);
    rg_chunks_free(&ch);
    rg_document_free(&doc);
    return 0;
}
