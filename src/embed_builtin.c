/* The built-in, model-free embedder: works offline with nothing to download.
 *
 * Text is case-folded and stripped of accents (utf8proc), split into words,
 * English stop words are dropped and the rest stemmed (Snowball).  Two
 * kinds of features - stems and character 3-5-grams of each word (so
 * related word forms and typos still overlap) - are counted, given
 * sublinear weights (1 + ln tf), and projected into `embedding.dimension`
 * dimensions by signed feature hashing, then L2-normalised.  Deterministic:
 * the same text always gives the same vector on every platform.
 *
 * v2 (measured on SciFact train, docs/retrieval.md): stem bigrams are gone
 * (nDCG@10 0.425 -> 0.442 at 384 dimensions: they added collisions, not
 * signal) and the default dimension is 1024 (0.528: hashing collisions were
 * the main loss). */
#include <libstemmer.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer.h"
#include "config.h"
#include "embedder.h"
#include "util.h"

#define BUILTIN_VERSION "builtin-v2"
#define W_UNIGRAM 1.0f
#define W_BIGRAM 0.0f /* v1: 0.5; 0 leaves bigrams out */
#define W_NGRAMS_PER_WORD 0.6f /* total weight of one word's character n-grams */

typedef struct builtin {
    int dim;
    char *query_prefix;
    char *document_prefix;
    pthread_mutex_t stem_lock;   /* Snowball stemmers are not thread-safe */
    struct sb_stemmer *stemmer;
} builtin;


/* Feature accumulator: open addressing on 64-bit feature hashes. */
typedef struct feature {
    uint64_t h;
    float count;
    float weight;
} feature;

typedef struct features {
    feature *slots;
    size_t cap, n;
} features;

static void features_add(features *f, uint64_t h, float weight)
{
    if (h == 0)
        h = 1;
    if ((f->n + 1) * 2 > f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 256;
        feature *ns = rg_xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < f->cap; i++) {
            if (!f->slots[i].h)
                continue;
            size_t j = f->slots[i].h & (ncap - 1);
            while (ns[j].h)
                j = (j + 1) & (ncap - 1);
            ns[j] = f->slots[i];
        }
        free(f->slots);
        f->slots = ns;
        f->cap = ncap;
    }
    size_t j = h & (f->cap - 1);
    while (f->slots[j].h && f->slots[j].h != h)
        j = (j + 1) & (f->cap - 1);
    if (!f->slots[j].h) {
        f->slots[j].h = h;
        f->slots[j].weight = weight;
        f->n++;
    }
    f->slots[j].count += 1.0f;
}

typedef struct embed_ctx {
    builtin *b;
    features f;
    uint64_t prev_stem;   /* hash of previous content word, 0 at start */
} embed_ctx;

static void add_char_ngrams(embed_ctx *e, const char *w, size_t len)
{
    /* "<word>" with boundary marks, n-grams of 3..5 bytes (whole UTF-8
     * sequences are not guaranteed, which only affects hashing, not
     * correctness). */
    char buf[72];
    if (len > 64)
        return;
    buf[0] = '<';
    memcpy(buf + 1, w, len);
    buf[len + 1] = '>';
    size_t bl = len + 2;
    size_t total = 0;
    for (size_t n = 3; n <= 5; n++)
        if (bl >= n)
            total += bl - n + 1;
    if (!total)
        return;
    float wgt = W_NGRAMS_PER_WORD / (float)total;
    for (size_t n = 3; n <= 5; n++)
        for (size_t i = 0; i + n <= bl; i++)
            features_add(&e->f, rg_hash64(buf + i, n, 0x6e6772616dULL + n), wgt);
}

static void on_word(void *ctx, const char *w, size_t len)
{
    embed_ctx *e = ctx;
    char word[256];
    if (len >= sizeof word)
        len = sizeof word - 1;
    memcpy(word, w, len);
    word[len] = '\0';
    if (rg_english_stopword(word))
        return;
    pthread_mutex_lock(&e->b->stem_lock);
    const sb_symbol *st = sb_stemmer_stem(e->b->stemmer, (const sb_symbol *)word, (int)len);
    int sl = sb_stemmer_length(e->b->stemmer);
    uint64_t hs = rg_hash64(st ? (const char *)st : word, st ? (size_t)sl : len, 0x756e69ULL);
    pthread_mutex_unlock(&e->b->stem_lock);
    features_add(&e->f, hs, W_UNIGRAM);
    if (W_BIGRAM > 0 && e->prev_stem)
        features_add(&e->f, hs * 31 + e->prev_stem * 0x9e3779b97f4a7c15ULL, W_BIGRAM);
    e->prev_stem = hs;
    add_char_ngrams(e, word, len);
}

static void embed_one(builtin *b, const char *prefix, const char *text, float *out)
{
    memset(out, 0, (size_t)b->dim * sizeof *out);
    char *joined = NULL;
    if (prefix && *prefix)
        text = joined = rg_xasprintf("%s%s", prefix, text);
    size_t nlen = 0;
    char *norm = rg_text_fold(text, strlen(text), &nlen);
    embed_ctx e = {.b = b};
    if (norm)
        rg_text_words(norm, nlen, on_word, &e);
    for (size_t i = 0; i < e.f.cap; i++) {
        feature *ft = &e.f.slots[i];
        if (!ft->h)
            continue;
        float w = ft->weight * (1.0f + logf(ft->count));
        /* Two buckets per feature with independent signs halve the damage a
         * single collision does. */
        uint64_t h1 = rg_hash64(&ft->h, sizeof ft->h, 1), h2 = rg_hash64(&ft->h, sizeof ft->h, 2);
        out[h1 % (uint64_t)b->dim] += (h1 >> 63) ? w : -w;
        out[h2 % (uint64_t)b->dim] += (h2 >> 63) ? w : -w;
    }
    rg_normalize(out, (size_t)b->dim);
    free(e.f.slots);
    free(norm);
    free(joined);
}

static rg_status builtin_embed(void *impl, const char *const *texts, size_t n, rg_embed_role role, float *out,
                               rg_error *err)
{
    builtin *b = impl;
    const char *prefix = role == RG_EMBED_QUERY ? b->query_prefix : b->document_prefix;
    for (size_t i = 0; i < n; i++)
        embed_one(b, prefix, texts[i] ? texts[i] : "", out + i * (size_t)b->dim);
    return RG_OK;
}

static void count_word(void *ctx, const char *w, size_t len)
{
    (*(size_t *)ctx)++;
}

static size_t builtin_count_tokens(void *impl, const char *text, size_t len)
{
    size_t nlen = 0, n = 0;
    char *norm = rg_text_fold(text, len, &nlen);
    if (norm)
        rg_text_words(norm, nlen, count_word, &n);
    free(norm);
    return n;
}

static void builtin_free(void *impl)
{
    builtin *b = impl;
    if (!b)
        return;
    sb_stemmer_delete(b->stemmer);
    pthread_mutex_destroy(&b->stem_lock);
    free(b->query_prefix);
    free(b->document_prefix);
    free(b);
}

static const rg_embedder_ops BUILTIN_OPS = {
    .abi_version = RG_EMBEDDER_ABI,
    .name = "builtin",
    .embed = builtin_embed,
    .count_tokens = builtin_count_tokens,
    .free = builtin_free,
};

rg_status rg_embedder_builtin_open(const rg_config *cfg, rg_embedder **out, rg_error *err)
{
    builtin *b = rg_xcalloc(1, sizeof *b);
    b->dim = (int)rg_config_int(cfg, "embedding.dimension");
    b->query_prefix = rg_xstrdup(rg_config_str(cfg, "embedding.query_prefix"));
    b->document_prefix = rg_xstrdup(rg_config_str(cfg, "embedding.document_prefix"));
    pthread_mutex_init(&b->stem_lock, NULL);
    b->stemmer = sb_stemmer_new("english", NULL);
    if (!b->stemmer) {
        builtin_free(b);
        return rg_error_set(err, RG_ERR_INTERNAL, "cannot create the English Snowball stemmer (libstemmer)");
    }
    rg_embedder *e = rg_embedder_new(&BUILTIN_OPS, b);
    snprintf(e->identity.kind, sizeof e->identity.kind, "builtin");
    snprintf(e->identity.model, sizeof e->identity.model, "%s", BUILTIN_VERSION);
    e->identity.dim = b->dim;
    char *desc = rg_xasprintf("%s|dim=%d|qp=%s|dp=%s|uni=%g|bi=%g|ng=%g", BUILTIN_VERSION, b->dim, b->query_prefix,
                              b->document_prefix, W_UNIGRAM, W_BIGRAM, W_NGRAMS_PER_WORD);
    rg_sha256_hex(desc, strlen(desc), e->identity.fingerprint);
    free(desc);
    e->max_tokens = 512;
    e->batch_size = (int)rg_config_int(cfg, "embedding.batch_size");
    *out = e;
    return RG_OK;
}
