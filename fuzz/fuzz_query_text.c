/* Arbitrary query text (command-line bytes: any encoding, any length)
 * through what reads it before a store does: the BM25 analyzer (case
 * folding, accent stripping, stop words, Snowball stemmers) and the builtin
 * embedder.  Input: a flags byte (stemmer), then the text.  Properties:
 * the analyzer's term count matches its output, terms are non-empty UTF-8
 * separated by single spaces; the embedding is finite with norm 1 or 0. */
#include <math.h>

#include "analyzer.h"
#include "config.h"
#include "embedder.h"
#include "fuzz.h"

static rg_analyzer *an[3];
static rg_embedder *emb;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    static const char *const stemmers[3] = {"english", "porter", "none"};
    if (!emb) {
        rg_error err;
        for (int i = 0; i < 3; i++)
            if (rg_analyzer_new(stemmers[i], &an[i], &err) != RG_OK)
                abort();
        rg_config *cfg = rg_config_new_defaults();
        if (rg_embedder_builtin_open(cfg, &emb, &err) != RG_OK)
            abort();
        rg_config_free(cfg);
    }
    char *text = fuzz_cstr(data + 1, size - 1);
    rg_buf out;
    rg_buf_init(&out);
    size_t n = rg_analyzer_terms(an[data[0] % 3], text, &out);
    size_t spaces = 0;
    for (size_t i = 0; i < out.len; i++)
        spaces += out.data[i] == ' ';
    FUZZ_CHECK(n == 0 ? out.len == 0 : spaces + 1 == n, "%zu terms but %zu separators in '%.200s'", n, spaces,
               out.data ? out.data : "");
    FUZZ_CHECK(out.len == 0 || (out.data[0] != ' ' && out.data[out.len - 1] != ' ' && !strstr(out.data, "  ")),
               "empty term in '%.200s'", out.data);
    FUZZ_CHECK(out.len == 0 || rg_utf8_valid(out.data, out.len), "terms are not UTF-8");
    rg_buf_free(&out);
    int dim = emb->identity.dim;
    float *v = rg_xmalloc((size_t)dim * sizeof *v);
    rg_error err = {0};
    const char *t = text;
    rg_status st = rg_embedder_embed(emb, &t, 1, RG_EMBED_QUERY, v, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        double norm = 0;
        for (int i = 0; i < dim; i++) {
            FUZZ_CHECK(isfinite(v[i]), "component %d is %f", i, v[i]);
            norm += (double)v[i] * v[i];
        }
        FUZZ_CHECK(norm < 1e-12 || fabs(norm - 1.0) < 1e-3, "norm %f", sqrt(norm));
    }
    free(v);
    free(text);
    return 0;
}
