/* The BM25 segment reader (bm25_segment.c) and the top-k search over it
 * (bm25_search.c).  Input: a mode byte, then a segment file.  Mode bit 0
 * clear: the checksums are recomputed first (rg_bm25_seg_resign), so the
 * mutations reach the dictionary, postings, length and id decoders instead
 * of stopping at a checksum; set: the bytes as they are (the checksums
 * must catch them).  Mode bit 1 set: the rest is documents instead (one a
 * line, terms separated by spaces) and the segment the builder writes for
 * them must read back whole (rg_bm25_seg_verify), whatever the gaps and
 * frequencies.  Properties: a refusal with a message, or a segment
 * whose full verification, term walk and searches (with and without
 * tombstones and a filter) end in RG_OK or an error, never reading outside
 * the input (ASan) and never returning a document number outside it. */
#include "bm25.h"
#include "fuzz.h"

typedef struct walk {
    char terms[4][RG_BM25_TERM_MAX + 1];
    size_t n;
} walk;

static rg_status take_term(void *ctx, const char *term, size_t len, rg_bm25_cursor *c, rg_error *err)
{
    walk *w = ctx;
    (void)c;
    (void)err;
    if (w->n < 4) {
        memcpy(w->terms[w->n], term, len);
        w->terms[w->n][len] = '\0';
        w->n++;
    }
    return RG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    if (data[0] & 2) {
        rg_bm25_builder *b = rg_bm25_builder_new();
        size_t start = 1;
        for (size_t i = 1; i <= size; i++)
            if (i == size || data[i] == '\n') {
                char id[24];
                snprintf(id, sizeof id, "d%zu", rg_bm25_builder_ndocs(b));
                rg_bm25_builder_add(b, id, (const char *)data + start, i - start);
                start = i + 1;
            }
        rg_buf out;
        rg_buf_init(&out);
        rg_bm25_builder_encode(b, &out);
        rg_bm25_builder_free(b);
        rg_bm25_seg *s = NULL;
        rg_error err;
        rg_status st = rg_bm25_seg_parse(out.data, out.len, "built.seg", &s, &err);
        if (st == RG_OK)
            st = rg_bm25_seg_verify(s, &err);
        FUZZ_CHECK(st == RG_OK, "a segment the builder wrote does not read back: %s", err.msg);
        rg_bm25_seg_free(s);
        rg_buf_free(&out);
        return 0;
    }
    uint8_t *buf = rg_xmalloc(size);
    memcpy(buf, data + 1, size - 1);
    if (!(data[0] & 1))
        rg_bm25_seg_resign(buf, size - 1);
    rg_bm25_seg *s = NULL;
    rg_error err;
    rg_status st = rg_bm25_seg_parse(buf, size - 1, "fuzz.seg", &s, &err);
    if (st != RG_OK) {
        FUZZ_CHECK_ERROR(st, err);
        free(buf);
        return 0;
    }
    if ((st = rg_bm25_seg_verify(s, &err)) != RG_OK)
        FUZZ_CHECK_ERROR(st, err);
    walk w = {.n = 0};
    if ((st = rg_bm25_seg_terms(s, take_term, &w, &err)) != RG_OK)
        FUZZ_CHECK_ERROR(st, err);
    uint32_t nd = rg_bm25_seg_ndocs(s);
    uint8_t *dead = rg_xcalloc(nd / 8 + 1, 1), *allow = rg_xcalloc(nd / 8 + 1, 1);
    for (uint32_t d = 0; d < nd; d++)
        rg_bit_set(d % 3 ? allow : dead, d);
    rg_bm25_qterm q[5];
    size_t nq = 0;
    for (size_t i = 0; i < w.n; i++)
        q[nq++] = (rg_bm25_qterm){w.terms[i], strlen(w.terms[i]), 1.0 + (double)i};
    q[nq++] = (rg_bm25_qterm){"zzzz", 4, 1.0};
    for (int round = 0; round < 3; round++) {
        rg_bm25_part part = {s, round ? dead : NULL, round == 2 ? allow : NULL};
        rg_bm25_stats stats = {1.2, 0.75, nd ? nd : 1, rg_bm25_seg_total_dl(s)};
        rg_bm25_result *r = NULL;
        size_t n = 0;
        st = rg_bm25_search(&part, 1, q, nq, &stats, round == 1 ? 1 : 10, &r, &n, &err);
        if (st != RG_OK)
            FUZZ_CHECK_ERROR(st, err);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(r[i].doc < nd && r[i].id, "result %zu: document %u of %u", i, r[i].doc, nd);
        rg_bm25_results_free(r, n);
    }
    free(dead);
    free(allow);
    rg_bm25_seg_free(s);
    free(buf);
    return 0;
}
