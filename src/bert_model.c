/* Native BERT forward pass.  See bert_model.h for the design. */
#include "bert_model.h"

#include <cblas.h>
#undef I /* <complex.h> via cblas.h */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_bf16.h"
#include "bert_f32.h"
#include "bert_int8.h"
#include "cpu.h"
#include "dynlib.h"
#include "safetensors.h"
#include "tokenizer_unigram.h"
#include "util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define RG_SOFTMAX_512 1
#include <immintrin.h>
#if defined(__linux__) && !defined(__clang__)
#define RG_ATTN_AMX 1   /* attention_amx: AMX bf16 tiles */
static size_t attention_amx_scratch(int L, int H);
#endif
#endif

/* OpenBLAS is opened when a model is, not linked: linked, its relocations
 * and thread start-up cost every command about 3 ms of CPU, and only BERT
 * models call it (dynlib.h, bench/startup/). */
#ifndef RG_OPENBLAS_SONAME
#error "RG_OPENBLAS_SONAME is not set: mk/dynlib.mk reads it from the OpenBLAS development package (libopenblas-dev)"
#endif
#ifndef RG_OPENBLAS_PACKAGE
#define RG_OPENBLAS_PACKAGE ""
#endif

/* ---- a small fork-join thread pool ---- */

typedef void (*pool_fn)(void *ctx, int task, int worker);

typedef struct pool {
    int nthreads;                 /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    uint64_t generation;
    pool_fn fn;
    void *ctx;
    int ntasks;
    atomic_int next;
    int active;
    bool stop;
} pool;

typedef struct pool_worker {
    pool *p;
    int id;
} pool_worker;

static void pool_work(pool *p, int worker)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next, 1);
        if (t >= p->ntasks)
            break;
        p->fn(p->ctx, t, worker);
    }
}

static void *pool_main(void *arg)
{
    pool_worker *w = arg;
    pool *p = w->p;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->generation == seen && !p->stop)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        pool_work(p, w->id);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0)
            pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
    free(w);
    return NULL;
}

static pool *pool_new(int n)
{
    pool *p = rg_xcalloc(1, sizeof *p);
    p->nthreads = n < 1 ? 1 : n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = rg_xcalloc((size_t)p->nthreads, sizeof *p->threads);
    for (int i = 1; i < p->nthreads; i++) {
        pool_worker *w = rg_xmalloc(sizeof *w);
        *w = (pool_worker){p, i};
        if (pthread_create(&p->threads[i], NULL, pool_main, w) != 0) {
            free(w);
            p->nthreads = i;   /* run with the threads we got */
            break;
        }
    }
    return p;
}

static void pool_free(pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

static void pool_run(pool *p, int ntasks, pool_fn fn, void *ctx)
{
    if (ntasks <= 0)
        return;
    if (p->nthreads == 1 || ntasks == 1) {
        for (int t = 0; t < ntasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->ntasks = ntasks;
    atomic_store(&p->next, 0);
    p->active = p->nthreads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pool_work(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* ---- weights ---- */

typedef struct linear {
    int n, k;                     /* y[., n] = x[., k] W^T + b */
    const float *w;               /* [n, k] */
    const float *b;               /* [n] */
    rg_int8_matrix *q;            /* int8 precision only */
    rg_bf16_matrix *h;            /* bf16 precision on AMX only */
    rg_f32_matrix *p;             /* fp32 packed for the SIMD kernel, or NULL: OpenBLAS */
} linear;

typedef struct layer {
    linear qkv;                   /* query, key, value fused: [3H, H] */
    linear attn_out;
    const float *ln1_g, *ln1_b;
    linear inter;
    linear out;
    const float *ln2_g, *ln2_b;
} layer;

struct rg_bert_model {
    rg_bert_info info;
    rg_bert_model_opts opts;
    rg_bert_tokenizer *tok;       /* WordPiece, or */
    rg_unigram_tokenizer *utok;   /* Unigram (tokenizer.json) */
    rg_tok_template tmpl;         /* special tokens around one text or a pair */
    rg_safetensors *st;
    const float *word_emb, *pos_emb, *type_emb, *emb_ln_g, *emb_ln_b;
    layer *layers;
    linear head_dense, head_out;  /* cross-encoder: dense + tanh, then the classifier */
    float **owned;                /* converted tensors to free */
    size_t nowned, capowned;
    pool *pool;
    __typeof__(cblas_sgemm) *sgemm; /* from OpenBLAS, opened by rg_bert_model_open */
    pthread_mutex_t lock;         /* one forward pass at a time (shared scratch, pool) */
    /* scratch, grown on demand */
    float *x, *qkv, *ctx, *tmp, *inter;
    int8_t *xq;
    float *xscale;
    size_t cap_tokens;
    float *scores;                /* per worker: scores_stride floats of attention scratch */
    size_t scores_stride;
    bool softmax512;              /* the CPU runs the AVX-512 softmax, attention and LayerNorm (rg_cpu_has) */
    bool attn_amx;                /* attention on AMX bf16 tiles (attention_amx): int8 on AMX, bf16 */
    void *blockbuf;               /* per worker: post_attention_task's buffers */
    size_t blockbuf_stride;
};

const char *rg_bert_pooling_name(rg_bert_pooling p)
{
    return p == RG_BERT_POOL_CLS ? "cls" : p == RG_BERT_POOL_MAX ? "max" : "mean";
}

const char *rg_bert_precision_name(rg_bert_precision p)
{
    return p == RG_BERT_INT8 ? "int8" : p == RG_BERT_BF16 ? "bf16" : "fp32";
}

bool rg_bert_precision_parse(const char *s, rg_bert_precision *out)
{
    static const rg_bert_precision all[] = {RG_BERT_FP32, RG_BERT_INT8, RG_BERT_BF16};
    for (size_t i = 0; s && i < sizeof all / sizeof all[0]; i++)
        if (strcmp(s, rg_bert_precision_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    return false;
}

const char *rg_bert_kind_name(rg_bert_kind k) { return k == RG_BERT_CROSS_ENCODER ? "cross-encoder" : "bi-encoder"; }
const char *rg_bert_family_name(rg_bert_family f) { return f == RG_BERT_FAMILY_XLMR ? "xlm-roberta" : "bert"; }
const char *rg_bert_tok_kind_name(rg_bert_tok_kind k) { return k == RG_BERT_TOK_UNIGRAM ? "unigram" : "wordpiece"; }

static size_t tokenize(const rg_bert_model *m, const char *text, size_t len, int32_t *ids, size_t cap)
{
    return m->utok ? rg_unigram_tokenize(m->utok, text, len, ids, cap) : rg_bert_tokenize(m->tok, text, len, ids, cap);
}

static void keep_owned(rg_bert_model *m, float *p)
{
    if (!p)
        return;
    if (m->nowned == m->capowned) {
        m->capowned = m->capowned ? m->capowned * 2 : 64;
        m->owned = rg_xrealloc(m->owned, m->capowned * sizeof *m->owned);
    }
    m->owned[m->nowned++] = p;
}

/* Finds a tensor under its sentence-transformers name, or with the "bert."
 * or "roberta." prefix that *For* checkpoints use; LayerNorm may use
 * gamma/beta. */
static const rg_st_tensor *find_tensor(const rg_safetensors *st, const char *name)
{
    const rg_st_tensor *t = rg_safetensors_find(st, name);
    char alt[256];
    if (!t) {
        snprintf(alt, sizeof alt, "bert.%s", name);
        t = rg_safetensors_find(st, alt);
    }
    if (!t) {
        snprintf(alt, sizeof alt, "roberta.%s", name);
        t = rg_safetensors_find(st, alt);
    }
    if (!t && strstr(name, "LayerNorm.")) {
        const char *suffix = strrchr(name, '.');
        const char *repl = strcmp(suffix, ".weight") == 0 ? ".gamma" : strcmp(suffix, ".bias") == 0 ? ".beta" : NULL;
        if (repl) {
            snprintf(alt, sizeof alt, "%.*s%s", (int)(suffix - name), name, repl);
            t = find_tensor(st, alt);
        }
    }
    return t;
}

static rg_status get(rg_bert_model *m, const char *name, int ndim, int64_t d0, int64_t d1, const float **out,
                     rg_error *err)
{
    const rg_st_tensor *t = find_tensor(m->st, name);
    if (!t)
        return rg_error_set(err, RG_ERR_CORRUPT,
                            "%s: tensor '%s' is missing; is this a BERT or XLM-RoBERTa sentence-transformers model "
                            "(or CrossEncoder)?",
                            rg_safetensors_path(m->st), name);
    int64_t shape[2] = {d0, d1};
    float *owned;
    rg_status st = rg_safetensors_get_f32(m->st, t, ndim, shape, out, &owned, err);
    keep_owned(m, owned);
    if (st == RG_OK)
        m->info.parameters += t->numel;
    return st;
}

static rg_status get_linear(rg_bert_model *m, const char *prefix, int n, int k, linear *l, rg_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s.weight", prefix);
    rg_status st = get(m, name, 2, n, k, &l->w, err);
    if (st != RG_OK)
        return st;
    snprintf(name, sizeof name, "%s.bias", prefix);
    l->n = n;
    l->k = k;
    return get(m, name, 1, n, 0, &l->b, err);
}

static rg_status load_weights(rg_bert_model *m, rg_error *err)
{
    rg_bert_info *in = &m->info;
    int H = in->hidden, I = in->intermediate;
    rg_status st;
    if ((st = get(m, "embeddings.word_embeddings.weight", 2, in->vocab_size, H, &m->word_emb, err)) ||
        (st = get(m, "embeddings.position_embeddings.weight", 2, in->max_position, H, &m->pos_emb, err)) ||
        (st = get(m, "embeddings.token_type_embeddings.weight", 2, in->type_vocab, H, &m->type_emb, err)) ||
        (st = get(m, "embeddings.LayerNorm.weight", 1, H, 0, &m->emb_ln_g, err)) ||
        (st = get(m, "embeddings.LayerNorm.bias", 1, H, 0, &m->emb_ln_b, err)))
        return st;
    const rg_st_tensor *we = find_tensor(m->st, "embeddings.word_embeddings.weight");
    snprintf(in->weights_dtype, sizeof in->weights_dtype, "%s", we->dtype_name);
    m->layers = rg_xcalloc((size_t)in->layers, sizeof *m->layers);
    for (int i = 0; i < in->layers; i++) {
        layer *L = &m->layers[i];
        char p[128], n2[160];
        snprintf(p, sizeof p, "encoder.layer.%d", i);
        /* Fuse Q, K and V into one [3H, H] product: one pass over x. */
        float *w = malloc((size_t)3 * H * H * sizeof *w), *b = malloc((size_t)3 * H * sizeof *b);
        if (!w || !b) {
            free(w);
            free(b);
            return rg_error_set(err, RG_ERR_NOMEM, "out of memory loading layer %d", i);
        }
        keep_owned(m, w);
        keep_owned(m, b);
        static const char *qkv[3] = {"query", "key", "value"};
        for (int j = 0; j < 3; j++) {
            linear part;
            snprintf(n2, sizeof n2, "%s.attention.self.%s", p, qkv[j]);
            if ((st = get_linear(m, n2, H, H, &part, err)))
                return st;
            memcpy(w + (size_t)j * H * H, part.w, (size_t)H * H * sizeof *w);
            memcpy(b + (size_t)j * H, part.b, (size_t)H * sizeof *b);
        }
        L->qkv = (linear){.n = 3 * H, .k = H, .w = w, .b = b};
        snprintf(n2, sizeof n2, "%s.attention.output.dense", p);
        if ((st = get_linear(m, n2, H, H, &L->attn_out, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.attention.output.LayerNorm.weight", p);
        if ((st = get(m, n2, 1, H, 0, &L->ln1_g, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.attention.output.LayerNorm.bias", p);
        if ((st = get(m, n2, 1, H, 0, &L->ln1_b, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.intermediate.dense", p);
        if ((st = get_linear(m, n2, I, H, &L->inter, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.output.dense", p);
        if ((st = get_linear(m, n2, H, I, &L->out, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.output.LayerNorm.weight", p);
        if ((st = get(m, n2, 1, H, 0, &L->ln2_g, err)))
            return st;
        snprintf(n2, sizeof n2, "%s.output.LayerNorm.bias", p);
        if ((st = get(m, n2, 1, H, 0, &L->ln2_b, err)))
            return st;
        linear *ls[4] = {&L->qkv, &L->attn_out, &L->inter, &L->out};
        for (int j = 0; j < 4; j++) {
            if (m->opts.precision == RG_BERT_INT8)
                ls[j]->q = rg_int8_matrix_new(ls[j]->w, ls[j]->n, ls[j]->k);
            else if (m->opts.precision == RG_BERT_BF16)
                ls[j]->h = rg_bf16_matrix_new(ls[j]->w, ls[j]->n, ls[j]->k);
            if (!ls[j]->q && !ls[j]->h)
                ls[j]->p = rg_f32_matrix_new(ls[j]->w, ls[j]->n, ls[j]->k);
        }
    }
    /* Q, K, V were counted separately by get(); the fused copy adds nothing. */
    if (in->kind == RG_BERT_CROSS_ENCODER) {
        /* BertForSequenceClassification: pooler (dense + tanh on [CLS]) then
         * classifier; XLMRobertaForSequenceClassification: classifier.dense
         * (+ tanh) then classifier.out_proj.  The same computation. */
        bool x = in->family == RG_BERT_FAMILY_XLMR;
        if ((st = get_linear(m, x ? "classifier.dense" : "pooler.dense", H, H, &m->head_dense, err)) ||
            (st = get_linear(m, x ? "classifier.out_proj" : "classifier", in->num_labels, H, &m->head_out, err)))
            return st;
    }
    return RG_OK;
}

/* ---- model directory ---- */

static json_t *load_json(const char *dir, const char *name, bool required, rg_status *st, rg_error *err)
{
    char *path = rg_path_join(dir, name);
    *st = RG_OK;
    if (!rg_path_exists(path)) {
        if (required)
            *st = rg_error_set(err, RG_ERR_NOTFOUND, "%s is missing; a sentence-transformers model directory "
                               "needs config.json, vocab.txt, model.safetensors", path);
        free(path);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        *st = rg_error_set(err, RG_ERR_CORRUPT, "%s: invalid JSON at line %d: %s", path, jerr.line, jerr.text);
    free(path);
    return j;
}

static int json_int_or(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

static rg_status parse_config(rg_bert_model *m, const char *dir, rg_error *err)
{
    rg_status st;
    rg_bert_info *in = &m->info;
    json_t *cfg = load_json(dir, "config.json", true, &st, err);
    if (!cfg)
        return st;
    const char *type = json_string_value(json_object_get(cfg, "model_type"));
    json_t *arch = json_array_get(json_object_get(cfg, "architectures"), 0);
    snprintf(in->architecture, sizeof in->architecture, "%s",
             json_is_string(arch) ? json_string_value(arch) : type ? type : "unknown");
    const char *act = json_string_value(json_object_get(cfg, "hidden_act"));
    const char *pos = json_string_value(json_object_get(cfg, "position_embedding_type"));
    in->vocab_size = json_int_or(cfg, "vocab_size", 0);
    in->hidden = json_int_or(cfg, "hidden_size", 0);
    in->layers = json_int_or(cfg, "num_hidden_layers", 0);
    in->heads = json_int_or(cfg, "num_attention_heads", 0);
    in->intermediate = json_int_or(cfg, "intermediate_size", 0);
    in->max_position = json_int_or(cfg, "max_position_embeddings", 512);
    bool xlmr = type && strcmp(type, "xlm-roberta") == 0;
    in->family = xlmr ? RG_BERT_FAMILY_XLMR : RG_BERT_FAMILY_BERT;
    in->type_vocab = json_int_or(cfg, "type_vocab_size", xlmr ? 1 : 2);
    /* RoBERTa numbers positions from padding_idx + 1 (create_position_ids_
     * from_input_ids: a text has no padding inside it). */
    in->position_offset = xlmr ? json_int_or(cfg, "pad_token_id", 1) + 1 : 0;
    size_t al = strlen(in->architecture);
    static const char seqcls[] = "ForSequenceClassification";
    in->kind = al > sizeof seqcls - 1 && strcmp(in->architecture + al - (sizeof seqcls - 1), seqcls) == 0
                   ? RG_BERT_CROSS_ENCODER : RG_BERT_BI_ENCODER;
    json_t *labels = json_object_get(cfg, "id2label");
    in->num_labels = json_is_object(labels) && json_object_size(labels) > 0 ? (int)json_object_size(labels)
                                                                           : json_int_or(cfg, "num_labels", 1);
    /* Several labels: the last one is the "relevant" class of binary
     * classifiers (LABEL_1); its name is shown by `ragged model info`. */
    in->score_label = in->num_labels - 1;
    char key[32];
    snprintf(key, sizeof key, "%d", in->score_label);
    const char *lname = json_string_value(json_object_get(labels, key));
    snprintf(in->score_label_name, sizeof in->score_label_name, "%s", lname ? lname : key);
    json_t *eps = json_object_get(cfg, "layer_norm_eps");
    in->layer_norm_eps = json_is_number(eps) ? (float)json_number_value(eps) : 1e-12f;
    char path[64];
    snprintf(path, sizeof path, "config.json");
    if (!type || (strcmp(type, "bert") != 0 && !xlmr))
        st = rg_error_set(err, RG_ERR_INVALID, "%s/config.json: model_type is '%s'; ragged's bert engine runs BERT "
                          "and XLM-RoBERTa models (e.g. all-MiniLM-L6-v2, bge-small-en-v1.5, multilingual-e5-small)",
                          dir, type ? type : "missing");
    else if (in->num_labels < 1 || in->num_labels > 1024 || in->position_offset < 0 || in->position_offset > 64)
        st = rg_error_set(err, RG_ERR_INVALID, "%s/config.json: invalid num_labels (%d) or pad_token_id", dir,
                          in->num_labels);
    else if (act && strcmp(act, "gelu") != 0)
        st = rg_error_set(err, RG_ERR_INVALID, "%s/config.json: hidden_act '%s' is not supported (only 'gelu')", dir,
                          act);
    else if (pos && strcmp(pos, "absolute") != 0)
        st = rg_error_set(err, RG_ERR_INVALID, "%s/config.json: position_embedding_type '%s' is not supported "
                          "(only 'absolute')", dir, pos);
    else if (in->vocab_size <= 0 || in->hidden <= 0 || in->layers <= 0 || in->heads <= 0 || in->intermediate <= 0 ||
             in->hidden % in->heads != 0 || in->type_vocab <= 0 || in->max_position <= 2 + in->position_offset ||
             in->hidden > 65536 || in->intermediate > 1 << 20 || in->layers > 1024 || in->max_position > 1 << 20)
        st = rg_error_set(err, RG_ERR_INVALID, "%s/config.json: invalid dimensions (vocab_size %d, hidden_size %d, "
                          "num_hidden_layers %d, num_attention_heads %d, intermediate_size %d)", dir, in->vocab_size,
                          in->hidden, in->layers, in->heads, in->intermediate);
    json_decref(cfg);
    if (st != RG_OK)
        return st;

    /* Tokenizer options. */
    rg_bert_tokenizer_opts topts = rg_bert_tokenizer_default_opts();
    json_t *tc = load_json(dir, "tokenizer_config.json", false, &st, err);
    if (st != RG_OK)
        return st;
    int model_max_length = json_int_or(tc, "model_max_length", 0);
    if (tc) {
        json_t *lc = json_object_get(tc, "do_lower_case"), *sa = json_object_get(tc, "strip_accents");
        json_t *cjk = json_object_get(tc, "tokenize_chinese_chars");
        if (json_is_boolean(lc))
            topts.lower_case = json_is_true(lc);
        topts.strip_accents = json_is_boolean(sa) ? json_is_true(sa) : topts.lower_case;
        if (json_is_boolean(cjk))
            topts.tokenize_cjk = json_is_true(cjk);
        json_decref(tc);
    }
    in->lower_case = topts.lower_case;
    char *vpath = rg_path_join(dir, "vocab.txt");
    if (!rg_path_exists(vpath)) {
        free(vpath);
        vpath = rg_path_join(dir, "tokenizer.json");
        if (!rg_path_exists(vpath)) {
            st = rg_error_set(err, RG_ERR_NOTFOUND, "%s: neither vocab.txt nor tokenizer.json is present; copy the "
                              "model's tokenizer files into the directory", dir);
            free(vpath);
            return st;
        }
    }
    /* tokenizer.json says which model it is: WordPiece or Unigram. */
    in->tokenizer = RG_BERT_TOK_WORDPIECE;
    size_t vl = strlen(vpath);
    if (vl >= 5 && strcmp(vpath + vl - 5, ".json") == 0) {
        json_error_t jerr;
        json_t *tj = json_load_file(vpath, 0, &jerr);
        const char *mt = json_string_value(json_object_get(json_object_get(tj, "model"), "type"));
        if (mt && strcmp(mt, "Unigram") == 0)
            in->tokenizer = RG_BERT_TOK_UNIGRAM;
        json_decref(tj);
    }
    if (in->tokenizer == RG_BERT_TOK_UNIGRAM) {
        st = rg_unigram_load(vpath, &m->utok, err);
        if (st == RG_OK) {
            m->tmpl = *rg_unigram_template(m->utok);
            in->vocab_tokens = rg_unigram_vocab_size(m->utok);
        }
    } else {
        st = rg_bert_tokenizer_load(vpath, &topts, &m->tok, err);
        if (st == RG_OK) {
            m->tmpl = rg_bert_tokenizer_template(m->tok);
            in->vocab_tokens = rg_bert_tokenizer_vocab_size(m->tok);
        }
    }
    free(vpath);
    if (st != RG_OK)
        return st;
    for (int i = 0; i < m->tmpl.nsingle; i++)
        if (m->tmpl.single[i].type_id >= in->type_vocab)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: the tokenizer's template uses token type %d but the model "
                                "has %d", dir, m->tmpl.single[i].type_id, in->type_vocab);
    for (int i = 0; i < m->tmpl.npair; i++)
        if (m->tmpl.pair[i].type_id >= in->type_vocab)
            m->tmpl.pair[i].type_id = 0;   /* RoBERTa-style models have one token type */
    if (in->vocab_tokens > (size_t)in->vocab_size)
        return rg_error_set(err, RG_ERR_MISMATCH, "%s: the vocabulary has %zu tokens but config.json vocab_size is %d",
                            dir, in->vocab_tokens, in->vocab_size);

    /* Pooling: modules.json names the pooling directory. */
    char *pool_dir = rg_xstrdup("1_Pooling");
    json_t *mods = load_json(dir, "modules.json", false, &st, err);
    if (st != RG_OK) {
        free(pool_dir);
        return st;
    }
    in->normalize = false;
    size_t i;
    json_t *mod;
    json_array_foreach(mods, i, mod) {
        const char *mt = json_string_value(json_object_get(mod, "type"));
        const char *mp = json_string_value(json_object_get(mod, "path"));
        if (!mt)
            continue;
        if (strstr(mt, "Pooling") && mp) {
            free(pool_dir);
            pool_dir = rg_xstrdup(mp);
        } else if (strstr(mt, "Normalize")) {
            in->normalize = true;
        } else if (!strstr(mt, "Transformer")) {
            st = rg_error_set(err, RG_ERR_INVALID, "%s/modules.json: module %s is not supported (ragged runs "
                              "Transformer + Pooling + Normalize)", dir, mt);
        }
    }
    json_decref(mods);
    if (st != RG_OK) {
        free(pool_dir);
        return st;
    }
    char *pool_cfg = rg_xasprintf("%s/config.json", pool_dir);
    free(pool_dir);
    json_t *pc = load_json(dir, pool_cfg, false, &st, err);
    in->pooling = RG_BERT_POOL_MEAN;
    if (pc) {
        int modes = 0;
        if (json_is_true(json_object_get(pc, "pooling_mode_cls_token")))
            in->pooling = RG_BERT_POOL_CLS, modes++;
        if (json_is_true(json_object_get(pc, "pooling_mode_max_tokens")))
            in->pooling = RG_BERT_POOL_MAX, modes++;
        if (json_is_true(json_object_get(pc, "pooling_mode_mean_tokens")))
            in->pooling = RG_BERT_POOL_MEAN, modes++;
        static const char *unsupported[] = {"pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                                            "pooling_mode_lasttoken"};
        for (size_t u = 0; u < RG_ARRAY_LEN(unsupported); u++)
            if (json_is_true(json_object_get(pc, unsupported[u])))
                modes += 100;
        if (modes != 1)
            st = rg_error_set(err, RG_ERR_INVALID, "%s/%s: ragged supports exactly one of mean, cls or max pooling",
                              dir, pool_cfg);
        json_decref(pc);
    }
    free(pool_cfg);
    if (st != RG_OK)
        return st;

    json_t *sb = load_json(dir, "sentence_bert_config.json", false, &st, err);
    if (st != RG_OK)
        return st;
    int positions = in->max_position - in->position_offset;
    /* CrossEncoder directories have no sentence_bert_config.json: the
     * tokenizer's model_max_length is what sentence-transformers uses. */
    int def_len = in->kind == RG_BERT_CROSS_ENCODER && model_max_length > 0 && model_max_length < (1 << 20)
                      ? model_max_length : RG_MIN(512, positions);
    in->max_seq_length = json_int_or(sb, "max_seq_length", def_len);
    json_decref(sb);
    /* Position ids run offset..offset+len-1; the table must hold them. */
    if (in->max_seq_length > positions)
        in->max_seq_length = positions;
    if (in->max_seq_length < 3)
        return rg_error_set(err, RG_ERR_INVALID, "%s/sentence_bert_config.json: max_seq_length %d is too small", dir,
                            in->max_seq_length);
    return RG_OK;
}

static rg_status fingerprint(rg_bert_model *m, const char *dir, rg_error *err)
{
    /* Everything that changes vectors: the config, tokenizer files, the
     * weights file's size, header and a sample of tensor bytes, pooling and
     * length, and the precision.  (Hashing whole multi-GB weight files on
     * every open would be too slow; header + samples catch any re-export.) */
    rg_buf b;
    rg_buf_init(&b);
    static const char *files[] = {"config.json", "tokenizer_config.json", "vocab.txt", "tokenizer.json",
                                  "modules.json", "sentence_bert_config.json"};
    for (size_t i = 0; i < RG_ARRAY_LEN(files); i++) {
        char *p = rg_path_join(dir, files[i]);
        char hex[65] = "absent";
        if (rg_path_exists(p)) {
            rg_status st = rg_sha256_file_hex(p, hex, err);
            if (st != RG_OK) {
                free(p);
                rg_buf_free(&b);
                return st;
            }
        }
        rg_buf_printf(&b, "%s=%s\n", files[i], hex);
        free(p);
    }
    size_t hl;
    const char *hdr = rg_safetensors_header(m->st, &hl);
    char hex[65];
    rg_sha256_hex(hdr, hl, hex);
    rg_buf_printf(&b, "weights_size=%llu header=%s\n", (unsigned long long)rg_safetensors_file_size(m->st), hex);
    for (size_t i = 0; i < rg_safetensors_count(m->st); i++) {
        const rg_st_tensor *t = rg_safetensors_at(m->st, i);
        size_t n = RG_MIN(t->nbytes, (size_t)4096);
        /* first and last bytes of every tensor */
        rg_sha256_hex(t->data, n, hex);
        rg_buf_printf(&b, "%s:%s", t->name, hex);
        rg_sha256_hex((const char *)t->data + t->nbytes - n, n, hex);
        rg_buf_printf(&b, ":%s\n", hex);
    }
    rg_buf_printf(&b, "pooling=%s max_seq_length=%d precision=%s\n", rg_bert_pooling_name(m->info.pooling),
                  m->info.max_seq_length, rg_bert_precision_name(m->opts.precision));
    rg_sha256_hex(b.data, b.len, m->info.fingerprint);
    rg_buf_free(&b);
    return RG_OK;
}

/* Every open loads the library again: after the first, dlopen only finds
 * it already mapped (it is never unloaded, see dynlib.c), so the function
 * pointers can live in the model instead of in global state. */
static rg_status load_blas(rg_bert_model *m, rg_error *err)
{
    static const rg_dynlib lib = {RG_OPENBLAS_SONAME, RG_OPENBLAS_PACKAGE, "running a BERT model"};
    static const char *const names[] = {"cblas_sgemm", "openblas_set_num_threads"};
    void *syms[2];
    rg_status st = rg_dynlib_load(&lib, names, 2, syms, err);
    if (st != RG_OK)
        return st;
    m->sgemm = (__typeof__(m->sgemm))syms[0];
    /* The engine splits work across its own threads; BLAS running threads of
     * its own under them would oversubscribe the cores. */
    ((__typeof__(openblas_set_num_threads) *)syms[1])(1);
    return RG_OK;
}

rg_status rg_bert_model_open(const char *dir, const rg_bert_model_opts *opts, rg_bert_model **out, rg_error *err)
{
    if (!rg_is_dir(dir))
        return rg_error_set(err, RG_ERR_NOTFOUND, "model directory %s does not exist; set embedding.model to a "
                            "sentence-transformers model directory", dir);
    rg_bert_model *m = rg_xcalloc(1, sizeof *m);
    m->opts = opts ? *opts : (rg_bert_model_opts){0};
    pthread_mutex_init(&m->lock, NULL);
    rg_status st = parse_config(m, dir, err);
    if (st == RG_OK)
        st = load_blas(m, err);
    if (st == RG_OK) {
        char *wpath = rg_path_join(dir, "model.safetensors");
        if (!rg_path_exists(wpath)) {
            char *bin = rg_path_join(dir, "pytorch_model.bin");
            st = rg_error_set(err, RG_ERR_NOTFOUND, "%s is missing%s", wpath,
                              rg_path_exists(bin) ? " (only pytorch_model.bin is present: convert it to safetensors, "
                                                    "ragged does not read pickle files)" : "");
            free(bin);
        } else {
            st = rg_safetensors_open(wpath, &m->st, err);
        }
        free(wpath);
    }
    if (st == RG_OK)
        st = load_weights(m, err);
    if (st == RG_OK)
        st = fingerprint(m, dir, err);
    if (st != RG_OK) {
        rg_bert_model_free(m);
        return st;
    }
    m->info.weights_bytes = rg_safetensors_file_size(m->st);
    int threads = m->opts.threads > 0 ? m->opts.threads : rg_cpu_count();
    m->opts.threads = threads;
    m->pool = pool_new(threads);
    m->softmax512 = rg_cpu_has(RG_CPU_AVX512F);
    int L = m->info.max_seq_length;
    /* Per worker: the scores, L x L rounded up to 16 columns, then K^T
     * and V packed for attention512 (head size x L rounded up, L x head
     * size). */
    int Lp = (L + 15) / 16 * 16, d = m->info.hidden / m->info.heads;
    m->scores_stride = (size_t)L * Lp + (size_t)d * Lp + (size_t)L * d;
#ifdef RG_ATTN_AMX
    /* int8 precision runs attention on AMX bf16 tiles where the int8
     * products run on AMX (RAGGED_INT8_KERNEL=vnni turns both off);
     * RAGGED_ATTENTION=bf16 asks for them in any precision (tests compare
     * with the fp32 reference), RAGGED_ATTENTION=fp32 never. */
    const char *att = getenv("RAGGED_ATTENTION");
    bool want = att && strcmp(att, "bf16") == 0   ? true
                : att && strcmp(att, "fp32") == 0 ? false
                : m->opts.precision == RG_BERT_INT8 ? strcmp(rg_int8_kernel_name(), "amx") == 0
                                                  : m->opts.precision == RG_BERT_BF16;
    m->attn_amx = want && d % 32 == 0 && d <= 64 &&
                  rg_cpu_has(RG_CPU_AMX_BF16 | RG_CPU_AVX512BF16 | RG_CPU_AVX512F | RG_CPU_AVX512BW);
    if (m->attn_amx)
        m->scores_stride = RG_MAX(m->scores_stride, attention_amx_scratch(L, m->info.hidden) / sizeof(float) + 1);
#endif
    m->scores = rg_xmalloc((size_t)threads * m->scores_stride * sizeof *m->scores);
    *out = m;
    return RG_OK;
}

void rg_bert_model_free(rg_bert_model *m)
{
    if (!m)
        return;
    pool_free(m->pool);
    if (m->layers)
        for (int i = 0; i < m->info.layers; i++) {
            rg_int8_matrix_free(m->layers[i].qkv.q);
            rg_int8_matrix_free(m->layers[i].attn_out.q);
            rg_int8_matrix_free(m->layers[i].inter.q);
            rg_int8_matrix_free(m->layers[i].out.q);
            rg_bf16_matrix_free(m->layers[i].qkv.h);
            rg_bf16_matrix_free(m->layers[i].attn_out.h);
            rg_bf16_matrix_free(m->layers[i].inter.h);
            rg_bf16_matrix_free(m->layers[i].out.h);
            rg_f32_matrix_free(m->layers[i].qkv.p);
            rg_f32_matrix_free(m->layers[i].attn_out.p);
            rg_f32_matrix_free(m->layers[i].inter.p);
            rg_f32_matrix_free(m->layers[i].out.p);
        }
    free(m->layers);
    for (size_t i = 0; i < m->nowned; i++)
        free(m->owned[i]);
    free(m->owned);
    rg_safetensors_free(m->st);
    rg_bert_tokenizer_free(m->tok);
    rg_unigram_free(m->utok);
    free(m->x);
    free(m->qkv);
    free(m->ctx);
    free(m->tmp);
    free(m->inter);
    free(m->xq);
    free(m->xscale);
    free(m->scores);
    free(m->blockbuf);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

const rg_bert_info *rg_bert_model_info(const rg_bert_model *m) { return &m->info; }

rg_bert_precision rg_bert_model_precision(const rg_bert_model *m)
{
    if (m->opts.precision == RG_BERT_BF16 && !(m->info.layers > 0 && m->layers[0].qkv.h))
        return RG_BERT_FP32;
    return m->opts.precision;
}
const rg_bert_tokenizer *rg_bert_model_tokenizer(const rg_bert_model *m) { return m->tok; }

rg_status rg_bert_model_inspect(const char *dir, rg_bert_info *info, rg_error *err)
{
    rg_bert_model *m;
    rg_bert_model_opts o = {.threads = 1, .precision = RG_BERT_FP32};
    rg_status st = rg_bert_model_open(dir, &o, &m, err);
    if (st != RG_OK)
        return st;
    *info = m->info;
    rg_bert_model_free(m);
    return RG_OK;
}

/* ---- forward pass ---- */

typedef struct fwd {
    rg_bert_model *m;
    int T;                        /* packed tokens */
    size_t nseq;
    const int *lens;
    const int *offs;              /* first token of each sequence */
    const int32_t *const *ids;
    const uint8_t *const *types;  /* NULL: all token type 0 */
    /* current step */
    const linear *lin;
    const float *in;
    float *out;
    int gelu;
    int col_block;                /* columns per task */
    const float *res;             /* residual to add before LayerNorm */
    const float *ln_g, *ln_b;
    int rows_per_task;
    bool in_quantized;            /* m->xq already holds the rows of in (int8 or bf16, row split) */
    const layer *layer;           /* post_attention_task */
    int attn_heads;               /* attention_amx_task: heads a task */
} fwd;

/* Element-wise loops are compiled for AVX-512, AVX2 and baseline x86-64 and
 * picked at load time (ifunc), so the default build flags still get SIMD. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RG_VECTOR_LOOP __attribute__((target_clones("avx512f", "avx2", "default"), optimize("O3")))
#else
#define RG_VECTOR_LOOP
#endif

/* erf as a rational function on [-4, 4] (beyond, erf is +-1 in float): max
 * error 4.2e-7, with no library call so the GELU loop vectorises. */
/* The coefficients, shared with gelu512 below. */
#define ERF_P6 -2.72614225801306e-10f
#define ERF_P5 2.77068142495902e-08f
#define ERF_P4 -2.10102402082508e-06f
#define ERF_P3 -5.69250639462346e-05f
#define ERF_P2 -7.34990630326855e-04f
#define ERF_P1 -2.95459980854025e-03f
#define ERF_P0 -1.60960333262415e-02f
#define ERF_Q4 -1.45660718464996e-05f
#define ERF_Q3 -2.13374055278905e-04f
#define ERF_Q2 -1.68282697438203e-03f
#define ERF_Q1 -7.37332916720468e-03f
#define ERF_Q0 -1.42647390514189e-02f

static inline float erf_approx(float x)
{
    x = x < -4.0f ? -4.0f : x > 4.0f ? 4.0f : x;
    float x2 = x * x;
    float p = ERF_P6;
    p = p * x2 + ERF_P5;
    p = p * x2 + ERF_P4;
    p = p * x2 + ERF_P3;
    p = p * x2 + ERF_P2;
    p = p * x2 + ERF_P1;
    p = p * x2 + ERF_P0;
    p *= x;
    float q = ERF_Q4;
    q = q * x2 + ERF_Q3;
    q = q * x2 + ERF_Q2;
    q = q * x2 + ERF_Q1;
    q = q * x2 + ERF_Q0;
    return p / q;
}

/* e^x for x <= 0 (softmax after subtracting the maximum): 2^n * p(r) with
 * r = x - n ln 2 and a degree-6 polynomial; relative error ~2e-7. */
static inline float exp_nonpos(float x)
{
    /* Written so NaN (a damaged model) also lands in range: the int
     * conversion below would be undefined behaviour otherwise. */
    x = x >= -87.0f ? (x <= 0.0f ? x : 0.0f) : -87.0f;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
    float r = x - n * 0.693145751953125f - n * 1.428606765330187045e-06f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#ifdef RG_SOFTMAX_512
#define AVX512_ATTR __attribute__((target("avx512f")))
/* exp_nonpos on 16 lanes, the same steps in the same order (FMA aside). */
AVX512_ATTR static inline __m512 exp_nonpos512(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_setzero_ps()), _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* The compiler leaves softmax_row's exp loop scalar, and attention runs it
 * on L x L scores per head: this is the hand-vectorised copy. */
AVX512_ATTR static void softmax_row512(float *restrict row, int n)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 16 <= n; j += 16)
        mx = _mm512_max_ps(_mm512_loadu_ps(row + j), mx);
    __mmask16 tail = (__mmask16)((1u << (n - j)) - 1);
    if (tail)
        mx = _mm512_mask_max_ps(mx, tail, _mm512_maskz_loadu_ps(tail, row + j), mx);
    __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
    for (j = 0; j + 16 <= n; j += 16) {
        __m512 e = exp_nonpos512(_mm512_sub_ps(_mm512_loadu_ps(row + j), vmx));
        _mm512_storeu_ps(row + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (tail) {
        __m512 e = exp_nonpos512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + j), vmx));
        _mm512_mask_storeu_ps(row + j, tail, e);
        sum = _mm512_mask_add_ps(sum, tail, sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (j = 0; j + 16 <= n; j += 16)
        _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
    if (tail)
        _mm512_mask_storeu_ps(row + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + j), inv));
}
#endif

#ifdef RG_SOFTMAX_512
/* Attention of one head without BLAS: OpenBLAS packs both operands of
 * every small product (L x L x d per head), which cost about as much as
 * the arithmetic.  Here K is transposed once into kt ([d][Lp], zero
 * columns past L) so a score row is 16 keys per register, V is copied
 * once into vp ([L][d]: its rows are 3H apart in place, a page each, and
 * every block of 4 query rows reads all of them), Q is read in place, and
 * S = softmax(scale Q K^T) (stride Lp) feeds O = S V. */
AVX512_ATTR static inline __attribute__((always_inline)) void
qk_tile(const float *q, int ldq, const float *kt, int Lp, int d, float scale, int i0, int j0, int R, int JB, float *S)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < JB; b++)
            acc[i][b] = _mm512_setzero_ps();
    for (int e = 0; e < d; e++) {
        __m512 kv[4];
#pragma GCC unroll 4
        for (int b = 0; b < JB; b++)
            kv[b] = _mm512_loadu_ps(kt + (size_t)e * Lp + j0 + 16 * b);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 qb = _mm512_set1_ps(q[(size_t)(i0 + i) * ldq + e]);
#pragma GCC unroll 4
            for (int b = 0; b < JB; b++)
                acc[i][b] = _mm512_fmadd_ps(qb, kv[b], acc[i][b]);
        }
    }
    __m512 sc = _mm512_set1_ps(scale);
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < JB; b++)
            _mm512_storeu_ps(S + (size_t)(i0 + i) * Lp + j0 + 16 * b, _mm512_mul_ps(acc[i][b], sc));
}

AVX512_ATTR static inline __attribute__((always_inline)) void
pv_tile(const float *S, int Lp, const float *v, int ldv, int L, int i0, int R, int DV, float *out, int ldo)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < DV; b++)
            acc[i][b] = _mm512_setzero_ps();
    for (int j = 0; j < L; j++) {
        __m512 vv[4];
#pragma GCC unroll 4
        for (int b = 0; b < DV; b++)
            vv[b] = _mm512_loadu_ps(v + (size_t)j * ldv + 16 * b);
#pragma GCC unroll 4
        for (int i = 0; i < R; i++) {
            __m512 sb = _mm512_set1_ps(S[(size_t)(i0 + i) * Lp + j]);
#pragma GCC unroll 4
            for (int b = 0; b < DV; b++)
                acc[i][b] = _mm512_fmadd_ps(sb, vv[b], acc[i][b]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < R; i++)
#pragma GCC unroll 4
        for (int b = 0; b < DV; b++)
            _mm512_storeu_ps(out + (size_t)(i0 + i) * ldo + 16 * b, acc[i][b]);
}

#define PV_ROWS(DVC)                                                                     \
    do {                                                                                 \
        int r = 0;                                                                       \
        for (; r + 4 <= L; r += 4)                                                       \
            pv_tile(S, Lp, v, ldv, L, r, 4, DVC, out, ldo);                              \
        for (; r < L; r++)                                                               \
            pv_tile(S, Lp, v, ldv, L, r, 1, DVC, out, ldo);                              \
    } while (0)

/* d a multiple of 16, at most 64. */
AVX512_ATTR static void attention512(const float *q, const float *k, const float *v, int ldqkv, int L, int d,
                                     float scale, float *S, float *kt, float *out, int ldo)
{
    int Lp = (L + 15) / 16 * 16;
    float *vp = kt + (size_t)d * Lp;
    for (int j = 0; j < L; j++) {
        const float *kr = k + (size_t)j * ldqkv;
        for (int e = 0; e < d; e++)
            kt[(size_t)e * Lp + j] = kr[e];
        memcpy(vp + (size_t)j * d, v + (size_t)j * ldqkv, (size_t)d * sizeof *vp);
    }
    for (int e = 0; e < d; e++)
        for (int j = L; j < Lp; j++)
            kt[(size_t)e * Lp + j] = 0.0f;
    v = vp;
    int ldv = d;
    int i = 0;
    for (; i + 4 <= L; i += 4) {
        int j = 0;
        for (; j + 64 <= Lp; j += 64)
            qk_tile(q, ldqkv, kt, Lp, d, scale, i, j, 4, 4, S);
        for (; j < Lp; j += 16)
            qk_tile(q, ldqkv, kt, Lp, d, scale, i, j, 4, 1, S);
    }
    for (; i < L; i++)
        for (int j = 0; j < Lp; j += 16)
            qk_tile(q, ldqkv, kt, Lp, d, scale, i, j, 1, 1, S);
    for (i = 0; i < L; i++)
        softmax_row512(S + (size_t)i * Lp, L);
    switch (d / 16) {
    case 1: PV_ROWS(1); break;
    case 2: PV_ROWS(2); break;
    case 3: PV_ROWS(3); break;
    default: PV_ROWS(4); break;
    }
}
#undef PV_ROWS
#endif

#ifdef RG_ATTN_AMX
/* Attention of one head on AMX bf16 tiles (int8 precision only, where the
 * CPU has AMX-BF16): the fp32 kernel above spends about a third of an int8
 * forward pass in these L x L x d products, which TDPBF16PS does ~16x
 * faster.  bf16 keeps 8 bits of mantissa, more than the int8 activations
 * of the dense layers, and the sums stay fp32.
 *
 * Q (scaled by 1/sqrt d) is converted to bf16 rows, K and V to the B-tile
 * layout (pairs of the reduced dimension side by side in a 32-bit lane).
 * Then per block of 16 query rows: S = Q K^T into fp32 tiles, softmax in
 * fp32 written back as unnormalised bf16 exponentials P, O = P V in fp32
 * tiles, O divided by the row sums.  A block's S and P stay in L1.
 * d must be a multiple of 32, at most 64 (MiniLM and BERT-base heads). */
#define AMX_BF16_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

typedef struct amx_tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg;

/* Bytes of per-worker scratch attention_amx needs for L tokens, H hidden
 * (all heads of a sequence are packed at once). */
static size_t attention_amx_scratch(int L, int H)
{
    size_t L16 = (size_t)(L + 15) / 16 * 16, L32 = (size_t)(L + 31) / 32 * 32;
    return L16 * H * 2 * 2      /* Q bf16, high and low parts */
           + L16 * H * 2 * 2    /* K packed, high and low parts */
           + L32 * H * 2        /* V packed */
           + 32 * L32 * 4       /* S of one row block */
           + 32 * L32 * 2       /* P of one row block */
           + 32 * 64 * 4        /* O of one row block */
           + 64;
}

AMX_BF16_ATTR static inline __m512i bf16_pairs(__m512 lo, __m512 hi)
{
    /* 32-bit lane c = (bf16(lo[c]), bf16(hi[c])): lo in the low half. */
    __m512i a = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
    __m512i b = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));
    return _mm512_or_si512(a, _mm512_slli_epi32(b, 16));
}

/* 32 floats (a: the first 16) as bf16 high parts and the bf16 rounding of
 * what those leave out. */
AMX_BF16_ATTR static inline void bf16_split(__m512 a, __m512 b, __m512i *hi, __m512i *lo)
{
    __m256bh ha = _mm512_cvtneps_pbh(a), hb = _mm512_cvtneps_pbh(b);
    __m256bh la = _mm512_cvtneps_pbh(_mm512_sub_ps(a, _mm512_cvtpbh_ps(ha)));
    __m256bh lb = _mm512_cvtneps_pbh(_mm512_sub_ps(b, _mm512_cvtpbh_ps(hb)));
    *hi = _mm512_inserti64x4(_mm512_castsi256_si512((__m256i)ha), (__m256i)hb, 1);
    *lo = _mm512_inserti64x4(_mm512_castsi256_si512((__m256i)la), (__m256i)lb, 1);
}

/* Heads [h0, h1) of one sequence: qkv holds its L rows of [Q | K | V]
 * (stride ldqkv, H = heads * d wide each), out its L rows (stride ldo).
 * The packing reads each row of the heads once, in order: reading one
 * head's 32 values from every row (4.6 KB apart) stalled on memory. */
AMX_BF16_ATTR static void attention_amx(const float *qkv, int ldqkv, int H, int L, int d, int h0, int h1, float scale,
                                        void *scratch, float *out, int ldo)
{
    int L16 = (L + 15) / 16 * 16, L32 = (L + 31) / 32 * 32, KS = d / 32, nh = h1 - h0, W = nh * d;
    uint8_t *p = (uint8_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    uint16_t *qb = (uint16_t *)p;                        /* [nh][L16][d] */
    uint16_t *kp = qb + (size_t)L16 * W;                 /* [nh][L16/16][KS][16 pairs][16 keys][2] */
    uint16_t *qlo = kp + (size_t)L16 * W;                /* as qb: q - bf16(q), rounded to bf16 */
    uint16_t *klo = qlo + (size_t)L16 * W;               /* as kp */
    uint16_t *vp = klo + (size_t)L16 * W;                /* [nh][L32/32][d/16][16 key pairs][16 cols][2] */
    float *S = (float *)(vp + (size_t)L32 * W);          /* [32][L32] */
    uint16_t *P = (uint16_t *)(S + (size_t)32 * L32);    /* [32][L32] */
    float *O = (float *)(P + (size_t)32 * L32);          /* [32][d] */
    const float *q = qkv + (size_t)h0 * d, *k = q + H, *v = q + 2 * H;
    const __m512 vscale = _mm512_set1_ps(scale);
    const __m512i lane = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32(16));
    /* Two rows at a time (V pairs them): each row's Q, K and V are read
     * together, and the rows 4 ahead are prefetched (rows are 4.6 KB
     * apart, past what the hardware prefetcher follows). */
    for (int i = 0; i < L32; i += 2) {
        for (int ii = i; ii < i + 2 && ii < L16; ii++) {
            if (ii + 4 < L)
                for (int c = 0; c < W; c += 16) {
                    _mm_prefetch((const char *)(q + (size_t)(ii + 4) * ldqkv + c), _MM_HINT_T0);
                    _mm_prefetch((const char *)(k + (size_t)(ii + 4) * ldqkv + c), _MM_HINT_T0);
                    _mm_prefetch((const char *)(v + (size_t)(ii + 4) * ldqkv + c), _MM_HINT_T0);
                }
            for (int c = 0; c < W; c += 32) {
                int h = c / d, ks = (c % d) / 32;
                __m512i qv = _mm512_setzero_si512(), kv = qv, qvl = qv, kvl = qv;
                if (ii < L) {
                    const float *qr = q + (size_t)ii * ldqkv + c, *kr = k + (size_t)ii * ldqkv + c;
                    bf16_split(_mm512_mul_ps(_mm512_loadu_ps(qr), vscale),
                               _mm512_mul_ps(_mm512_loadu_ps(qr + 16), vscale), &qv, &qvl);
                    bf16_split(_mm512_loadu_ps(kr), _mm512_loadu_ps(kr + 16), &kv, &kvl);
                }
                size_t qo = ((size_t)h * L16 + ii) * d + 32 * ks;
                _mm512_storeu_si512(qb + qo, qv);
                _mm512_storeu_si512(qlo + qo, qvl);
                /* key ii is column ii % 16 of its block's tile: pair r of
                 * its 32 values goes to tile row r */
                size_t ko = (size_t)h * L16 * d + ((size_t)(ii / 16) * KS + ks) * 512;
                _mm512_i32scatter_epi32((int32_t *)(kp + ko) + ii % 16, lane, kv, 4);
                _mm512_i32scatter_epi32((int32_t *)(klo + ko) + ii % 16, lane, kvl, 4);
            }
        }
        for (int c = 0; c < W; c += 16) {
            int h = c / d;
            int32_t *row = (int32_t *)(vp + (size_t)h * L32 * d + (size_t)(i / 32) * d * 32) + (i % 32) / 2 * 16;
            __m512 a = i < L ? _mm512_loadu_ps(v + (size_t)i * ldqkv + c) : _mm512_setzero_ps();
            __m512 b = i + 1 < L ? _mm512_loadu_ps(v + (size_t)(i + 1) * ldqkv + c) : _mm512_setzero_ps();
            _mm512_storeu_si512(row + (size_t)((c % d) / 16) * 256, bf16_pairs(a, b));
        }
    }
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
    /* Blocks of 32 query rows: 2 x 2 accumulator tiles per step, four
     * independent products in flight instead of one waiting on the last. */
    for (int h = 0; h < nh; h++) {
        const uint16_t *qh = qb + (size_t)h * L16 * d, *kh = kp + (size_t)h * L16 * d, *vh = vp + (size_t)h * L32 * d;
        const ptrdiff_t qd = qlo - qb, kd = klo - kp;   /* from a high part to its low part */
        float *oh = out + (size_t)(h0 + h) * d;
        for (int i0 = 0; i0 < L; i0 += 32) {
            /* rows past L16 (one 16-row block left) read Q rows that
             * exist in qb only when 32 divides L16: else the second A
             * tile repeats the first and its results are not used */
            int two = i0 + 16 < L16;
            const uint16_t *qa = qh + (size_t)i0 * d, *qc = two ? qa + (size_t)16 * d : qa;
            /* S = Q K^T for rows i0..i0+31 */
            for (int j0 = 0; j0 < L16; j0 += 32) {
                int jt = j0 + 16 < L16;
                const uint16_t *kb0 = kh + (size_t)(j0 / 16) * KS * 512, *kb1 = jt ? kb0 + (size_t)KS * 512 : kb0;
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                /* Q K^T ~ Qhi Khi + Qlo Khi + Qhi Klo: the scores to ~16
                 * bits; bf16 alone moved them enough to reorder int8's
                 * rankings (tests/unit/test_bert_xlmr.c) */
                for (int ks = 0; ks < KS; ks++)
                    for (int part = 0; part < 3; part++) {
                        ptrdiff_t ao = part == 1 ? qd : 0, bo = part == 2 ? kd : 0;
                        _tile_loadd(4, qa + ao + 32 * ks, d * 2);
                        _tile_loadd(5, qc + ao + 32 * ks, d * 2);
                        _tile_loadd(6, kb0 + bo + (size_t)ks * 512, 64);
                        _tile_loadd(7, kb1 + bo + (size_t)ks * 512, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                _tile_stored(0, S + j0, L32 * 4);
                _tile_stored(2, S + (size_t)16 * L32 + j0, L32 * 4);
                if (jt) {
                    _tile_stored(1, S + j0 + 16, L32 * 4);
                    _tile_stored(3, S + (size_t)16 * L32 + j0 + 16, L32 * 4);
                }
            }
            /* P = exp(S - row max) as bf16, zero past L; sums kept for O */
            float inv[32];
            int rows = RG_MIN(32, L - i0);
            for (int i = 0; i < 32; i++) {
                uint16_t *pr = P + (size_t)i * L32;
                if (i >= rows) {
                    memset(pr, 0, (size_t)L32 * 2);
                    continue;
                }
                const float *sr = S + (size_t)i * L32;
                __m512 mx = _mm512_set1_ps(-INFINITY);
                for (int j = 0; j < L; j += 16) {
                    __mmask16 mk = L - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (L - j)) - 1);
                    mx = _mm512_mask_max_ps(mx, mk, _mm512_loadu_ps(sr + j), mx);
                }
                __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
                for (int j = 0; j < L32; j += 16) {
                    __mmask16 mk = j >= L ? 0 : L - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (L - j)) - 1);
                    __m512 e = _mm512_maskz_mov_ps(mk, exp_nonpos512(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, sr + j),
                                                                                   vmx)));
                    sum = _mm512_add_ps(sum, e);
                    _mm256_storeu_si256((__m256i *)(pr + j), (__m256i)_mm512_cvtneps_pbh(e));
                }
                inv[i] = 1.0f / _mm512_reduce_add_ps(sum);
            }
            /* O = P V for the block, 2 x 2 tiles of 16 rows x 16 columns */
            for (int c = 0; c < d; c += 32) {
                _tile_zero(0);
                _tile_zero(1);
                _tile_zero(2);
                _tile_zero(3);
                for (int j0 = 0; j0 < L32; j0 += 32) {
                    const uint16_t *vb = vh + (size_t)(j0 / 32) * d * 32 + (size_t)(c / 16) * 512;
                    _tile_loadd(4, P + j0, L32 * 2);
                    _tile_loadd(5, P + (size_t)16 * L32 + j0, L32 * 2);
                    _tile_loadd(6, vb, 64);
                    _tile_loadd(7, vb + 512, 64);
                    _tile_dpbf16ps(0, 4, 6);
                    _tile_dpbf16ps(1, 4, 7);
                    _tile_dpbf16ps(2, 5, 6);
                    _tile_dpbf16ps(3, 5, 7);
                }
                _tile_stored(0, O + c, d * 4);
                _tile_stored(1, O + c + 16, d * 4);
                _tile_stored(2, O + (size_t)16 * d + c, d * 4);
                _tile_stored(3, O + (size_t)16 * d + c + 16, d * 4);
            }
            for (int i = 0; i < rows; i++)
                for (int c = 0; c < d; c += 16)
                    _mm512_storeu_ps(oh + (size_t)(i0 + i) * ldo + c,
                                     _mm512_mul_ps(_mm512_loadu_ps(O + (size_t)i * d + c), _mm512_set1_ps(inv[i])));
        }
    }
    _tile_release();
}

/* Attention on AMX for task t: a whole sequence when there are enough of
 * them to share out (f->attn_heads == heads), else one head. */
static void attention_amx_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    int H = m->info.hidden, nh = m->info.heads, d = H / nh, per = f->attn_heads, groups = nh / per;
    int s = task / groups, h0 = task % groups * per;
    attention_amx(m->qkv + (size_t)f->offs[s] * 3 * H, 3 * H, H, f->lens[s], d, h0, h0 + per, 1.0f / sqrtf((float)d),
                  m->scores + (size_t)worker * m->scores_stride, m->ctx + (size_t)f->offs[s] * H, H);
}
#endif

RG_VECTOR_LOOP static void softmax_row(float *restrict row, int n)
{
    float mx = row[0], sum = 0;
    for (int j = 1; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
    for (int j = 0; j < n; j++) {
        float e = exp_nonpos(row[j] - mx);
        row[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < n; j++)
        row[j] *= inv;
}

/* y += b, then optionally GELU(y) = y/2 (1 + erf(y/sqrt 2)). */
RG_VECTOR_LOOP static void bias_gelu_row(float *restrict y, const float *restrict b, int n, int gelu_act)
{
    if (gelu_act) {
        for (int c = 0; c < n; c++) {
            float v = y[c] + b[c];
            y[c] = 0.5f * v * (1.0f + erf_approx(v * 0.70710678118654752f));
        }
    } else {
        for (int c = 0; c < n; c++)
            y[c] += b[c];
    }
}

/* Epilogue of the int8 products (bert_int8.h): bias and GELU on a block of
 * outputs while it is still in L1, instead of another pass over memory. */
typedef struct bias_act {
    const float *b;
    int gelu;
    bool v512;
} bias_act;

#ifdef RG_SOFTMAX_512
/* GELU with erf_approx's rational function on 16 lanes. */
AVX512_ATTR static inline __m512 gelu512(__m512 v)
{
    __m512 x = _mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f));
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(ERF_P6);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P5));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P4));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P3));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P2));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P1));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(ERF_P0));
    p = _mm512_mul_ps(p, x);
    __m512 q = _mm512_set1_ps(ERF_Q4);
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(ERF_Q3));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(ERF_Q2));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(ERF_Q1));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(ERF_Q0));
    /* p / q by a reciprocal estimate (14 bits) and one Newton step: a
     * division per 16 lanes was the slowest part of the epilogue */
    __m512 r = _mm512_rcp14_ps(q);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, _mm512_set1_ps(2.0f)));
    __m512 erf = _mm512_mul_ps(p, r);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

AVX512_ATTR static void bias_act_block512(const bias_act *a, const float *src, int lds, float *dst, int ldd, int rows,
                                          int c0, int n)
{
    for (int j = 0; j < n; j += 16) {
        __mmask16 mk = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512 b = _mm512_maskz_loadu_ps(mk, a->b + c0 + j);
        for (int i = 0; i < rows; i++) {
            __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, src + (size_t)i * lds + j), b);
            _mm512_mask_storeu_ps(dst + (size_t)i * ldd + j, mk, a->gelu ? gelu512(v) : v);
        }
    }
}
#endif

static void bias_act_epilogue(void *ctx, const float *src, int lds, float *dst, int ldd, int rows, int c0, int n)
{
    const bias_act *a = ctx;
#ifdef RG_SOFTMAX_512
    if (a->v512) {
        bias_act_block512(a, src, lds, dst, ldd, rows, c0, n);
        return;
    }
#endif
    for (int i = 0; i < rows; i++) {
        float *y = dst + (size_t)i * ldd;
        if (y != src + (size_t)i * lds)
            memcpy(y, src + (size_t)i * lds, (size_t)n * sizeof *y);
        bias_gelu_row(y, a->b + c0, n, a->gelu);
    }
}

/* One column block of out = in W^T + b (optionally GELU). */
static void linear_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    const linear *l = f->lin;
    int n0 = task * f->col_block, n1 = RG_MIN(l->n, n0 + f->col_block);
    if (n0 >= n1)
        return;
    if (l->q) {
        rg_int8_gemm(l->q, f->m->xq, f->m->xscale, f->T, n0, n1, f->out, l->n);
    } else if (l->h) {
        rg_bf16_gemm(l->h, (const uint16_t *)f->m->xq, f->T, n0, n1, f->out, l->n, NULL);
    } else if (l->p) {
        rg_f32_gemm(l->p, f->in, l->k, f->T, n0, n1, f->out, l->n);
    } else {
        f->m->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, f->T, n1 - n0, l->k, 1.0f, f->in, l->k,
                    l->w + (size_t)n0 * l->k, l->k, 0.0f, f->out + n0, l->n);
    }
    for (int r = 0; r < f->T; r++)
        bias_gelu_row(f->out + (size_t)r * l->n + n0, l->b + n0, n1 - n0, f->gelu);
}

static void quantize_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    int r0 = task * f->rows_per_task, r1 = RG_MIN(f->T, r0 + f->rows_per_task);
    if (f->lin->h) {
        int kpad = rg_bf16_matrix_kpad(f->lin->h);
        rg_bf16_convert_rows(f->in, r0, r1, f->lin->k, f->lin->k, (uint16_t *)f->m->xq, kpad);
        return;
    }
    int kpad = rg_int8_matrix_kpad(f->lin->q);
    rg_int8_quantize_rows(f->in, r0, r1, f->lin->k, f->lin->k, f->m->xq, kpad, f->m->xscale);
}

/* One block of rows through the whole layer: quantise (int8), multiply by
 * every column, add the bias (and GELU) while the block is still in L2.
 * Each thread reads all the weights (at most a few MB, shared in L3), but
 * activations and outputs are touched once instead of once per step. */
static void linear_rows_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    const linear *l = f->lin;
    int r0 = task * f->rows_per_task, r1 = RG_MIN(f->T, r0 + f->rows_per_task);
    float *y = f->out + (size_t)r0 * l->n;
    if (l->q) {
        int kpad = rg_int8_matrix_kpad(l->q);
        if (!f->in_quantized)
            rg_int8_quantize_rows(f->in, r0, r1, l->k, l->k, m->xq, kpad, m->xscale);
        bias_act ba = {l->b, f->gelu, m->softmax512};
        rg_int8_epilogue epi = {bias_act_epilogue, &ba};
        rg_int8_gemm_epi(l->q, m->xq + (size_t)r0 * kpad, m->xscale + r0, r1 - r0, 0, l->n, y, l->n, &epi);
        return;
    } else if (l->h) {
        int kpad = rg_bf16_matrix_kpad(l->h);
        uint16_t *xb = (uint16_t *)m->xq;
        if (!f->in_quantized)
            rg_bf16_convert_rows(f->in, r0, r1, l->k, l->k, xb, kpad);
        bias_act ba = {l->b, f->gelu, m->softmax512};
        rg_int8_epilogue epi = {bias_act_epilogue, &ba};
        rg_bf16_gemm(l->h, xb + (size_t)r0 * kpad, r1 - r0, 0, l->n, y, l->n, &epi);
        return;
    } else if (l->p) {
        rg_f32_gemm(l->p, f->in + (size_t)r0 * l->k, l->k, r1 - r0, 0, l->n, y, l->n);
    } else {
        m->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, l->n, l->k, 1.0f, f->in + (size_t)r0 * l->k, l->k,
                 l->w, l->k, 0.0f, y, l->n);
    }
    for (int r = r0; r < r1; r++)
        bias_gelu_row(f->out + (size_t)r * l->n, l->b, l->n, f->gelu);
}

/* Rows per task when a step splits by rows: a multiple of 32 (AMX's row
 * block), enough to keep a task's output within L2. */
#define RG_ROW_BLOCK 128

static bool row_split(const fwd *f) { return f->T >= 2 * RG_ROW_BLOCK * f->m->pool->nthreads; }

static void run_linear(fwd *f, const linear *l, const float *in, float *out, int gelu_act)
{
    rg_bert_model *m = f->m;
    int threads = m->pool->nthreads;
    f->lin = l;
    f->in = in;
    f->out = out;
    f->gelu = gelu_act;
    /* Many tokens (passages, a reranked list): split by rows.  Few tokens
     * (a query): split by columns so each thread streams part of the
     * weights. */
    if (row_split(f)) {
        f->rows_per_task = RG_ROW_BLOCK;
        pool_run(m->pool, (f->T + RG_ROW_BLOCK - 1) / RG_ROW_BLOCK, linear_rows_task, f);
        return;
    }
    if (l->q || l->h) {
        f->rows_per_task = RG_MAX(1, (f->T + threads - 1) / threads);
        pool_run(m->pool, (f->T + f->rows_per_task - 1) / f->rows_per_task, quantize_task, f);
    }
    /* Blocks of whole 16-column groups, a few per thread for balance. */
    int tasks = threads == 1 ? 1 : threads * 2;
    int cb = (l->n + tasks - 1) / tasks;
    cb = (cb + 15) / 16 * 16;
    f->col_block = cb;
    pool_run(m->pool, (l->n + cb - 1) / cb, linear_task, f);
}

RG_VECTOR_LOOP static void layer_norm_row(float *restrict y, const float *restrict x, const float *restrict g,
                                          const float *restrict b, int n, float eps)
{
    /* Two passes (mean, then squared deviations) in float: exact enough for
     * rows of a few thousand values and vectorisable. */
    float mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= (float)n;
    for (int i = 0; i < n; i++) {
        float d = x[i] - mean;
        var += d * d;
    }
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < n; i++)
        y[i] = (x[i] - mean) * inv * g[i] + b[i];
}

#ifdef RG_SOFTMAX_512
/* layer_norm_row by hand: the compiler leaves most of it scalar.  Sums
 * go by 16 lanes, so the last bits differ from the scalar loop's. */
AVX512_ATTR static void layer_norm_row512(float *restrict y, const float *restrict x, const float *restrict g,
                                          const float *restrict b, int n, float eps)
{
    __m512 sum = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(mk, x + i));
    }
    float mean = _mm512_reduce_add_ps(sum) / (float)n;
    __m512 vm = _mm512_set1_ps(mean), var = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 d = _mm512_maskz_sub_ps(mk, _mm512_maskz_loadu_ps(mk, x + i), vm);
        var = _mm512_fmadd_ps(d, d, var);
    }
    __m512 inv = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(var) / (float)n + eps));
    for (int i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), vm), inv);
        _mm512_mask_storeu_ps(y + i, mk,
                              _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(mk, g + i), _mm512_maskz_loadu_ps(mk, b + i)));
    }
}
#endif

static void layer_norm(const rg_bert_model *m, float *y, const float *x, const float *g, const float *b)
{
#ifdef RG_SOFTMAX_512
    if (m->softmax512) {
        layer_norm_row512(y, x, g, b, m->info.hidden, m->info.layer_norm_eps);
        return;
    }
#endif
    layer_norm_row(y, x, g, b, m->info.hidden, m->info.layer_norm_eps);
}

/* x = LayerNorm(out + res) for a block of rows (in place into f->m->x). */
static void add_ln_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    int H = m->info.hidden;
    int r0 = task * f->rows_per_task, r1 = RG_MIN(f->T, r0 + f->rows_per_task);
    for (int r = r0; r < r1; r++) {
        float *y = f->out + (size_t)r * H;
        const float *res = f->res + (size_t)r * H;
        for (int i = 0; i < H; i++)
            y[i] += res[i];
        layer_norm(m, m->x + (size_t)r * H, y, f->ln_g, f->ln_b);
    }
}

static void run_add_ln(fwd *f, float *out, const float *res, const float *g, const float *b)
{
    int threads = f->m->pool->nthreads;
    f->out = out;
    f->res = res;
    f->ln_g = g;
    f->ln_b = b;
    f->rows_per_task = RG_MAX(1, (f->T + threads * 4 - 1) / (threads * 4));
    pool_run(f->m->pool, (f->T + f->rows_per_task - 1) / f->rows_per_task, add_ln_task, f);
}

/* The input of a dense product in the form its kernel reads: rows [r0,
 * r1) of x (stride ldx) quantised (int8, one scale a row) or converted
 * (bf16) into buf at the product's row stride. */
static void act_prepare(const linear *l, const float *x, int r0, int r1, int ldx, void *buf, float *scales)
{
    if (l->q)
        rg_int8_quantize_rows(x, r0, r1, l->k, ldx, buf, rg_int8_matrix_kpad(l->q), scales);
    else
        rg_bf16_convert_rows(x, r0, r1, l->k, ldx, buf, rg_bf16_matrix_kpad(l->h));
}

/* y = rows [r0, r0 + n) of buf times W^T, then epi (bias, GELU). */
static void act_gemm(const linear *l, const void *buf, const float *scales, int r0, int n, float *y, int ldy,
                     const rg_int8_epilogue *epi)
{
    if (l->q)
        rg_int8_gemm_epi(l->q, (const int8_t *)buf + (size_t)r0 * rg_int8_matrix_kpad(l->q), scales + r0, n, 0, l->n,
                         y, ldy, epi);
    else
        rg_bf16_gemm(l->h, (const uint16_t *)buf + (size_t)r0 * rg_bf16_matrix_kpad(l->h), n, 0, l->n, y, ldy, epi);
}

/* int8 or bf16, many tokens: everything after attention in one task per
 * block of rows, so the block stays in L2 from the attention output to the
 * next layer's input: out = LN(ctx Wo + bo + x), x = LN(GELU(out Wi + bi)
 * Wf + bf + out), each product's input quantised or converted once, and x
 * prepared in m->xq for the next layer's QKV product.  The intermediate
 * activations (4x hidden) never leave the worker's buffer. */
static void post_attention_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    const layer *L = f->layer;
    int H = m->info.hidden, I = m->info.intermediate;
    int r0 = task * f->rows_per_task, r1 = RG_MIN(f->T, r0 + f->rows_per_task), n = r1 - r0;
    uint8_t *wb = (uint8_t *)m->blockbuf + (size_t)worker * m->blockbuf_stride;
    float *ibuf = (float *)wb;                                          /* [RG_ROW_BLOCK][I] */
    float *ws = ibuf + (size_t)RG_ROW_BLOCK * I;                        /* [RG_ROW_BLOCK] */
    void *wq = ws + RG_ROW_BLOCK;                                       /* [RG_ROW_BLOCK][max(kH, kI)] */
    float *x = m->x + (size_t)r0 * H, *t = m->tmp + (size_t)r0 * H;
    bias_act ba = {L->attn_out.b, 0, m->softmax512};
    rg_int8_epilogue epi = {bias_act_epilogue, &ba};

    act_prepare(&L->attn_out, m->ctx, r0, r1, H, m->xq, m->xscale);
    act_gemm(&L->attn_out, m->xq, m->xscale, r0, n, t, H, &epi);
    for (int r = 0; r < n; r++) {
        float *y = t + (size_t)r * H;
        const float *res = x + (size_t)r * H;
        for (int i = 0; i < H; i++)
            y[i] += res[i];
        layer_norm(m, x + (size_t)r * H, y, L->ln1_g, L->ln1_b);
    }
    act_prepare(&L->inter, x, 0, n, H, wq, ws);
    ba = (bias_act){L->inter.b, 1, m->softmax512};
    act_gemm(&L->inter, wq, ws, 0, n, ibuf, I, &epi);
    act_prepare(&L->out, ibuf, 0, n, I, wq, ws);
    ba = (bias_act){L->out.b, 0, m->softmax512};
    act_gemm(&L->out, wq, ws, 0, n, t, H, &epi);
    for (int r = 0; r < n; r++) {
        float *y = t + (size_t)r * H;
        const float *res = x + (size_t)r * H;
        for (int i = 0; i < H; i++)
            y[i] += res[i];
        layer_norm(m, x + (size_t)r * H, y, L->ln2_g, L->ln2_b);
    }
    /* the next layer's QKV input (the same k as attn_out's) */
    act_prepare(&L->attn_out, m->x, r0, r1, H, m->xq, m->xscale);
}

static void run_post_attention(fwd *f, const layer *L)
{
    rg_bert_model *m = f->m;
    if (!m->blockbuf) {
        size_t H = (size_t)m->info.hidden, I = (size_t)m->info.intermediate;
        size_t kmax = (RG_MAX(H, I) + 63) / 64 * 64;
        m->blockbuf_stride = (RG_ROW_BLOCK * I * sizeof(float) + RG_ROW_BLOCK * sizeof(float) +
                              RG_ROW_BLOCK * kmax * 4 + 63) / 64 * 64;   /* bf16: 2 parts of 2 bytes */
        m->blockbuf = aligned_alloc(64, m->blockbuf_stride * (size_t)m->pool->nthreads);
        if (!m->blockbuf)
            abort();
    }
    f->layer = L;
    f->rows_per_task = RG_ROW_BLOCK;
    pool_run(m->pool, (f->T + RG_ROW_BLOCK - 1) / RG_ROW_BLOCK, post_attention_task, f);
}

/* Self-attention of one head of one sequence: softmax(Q K^T / sqrt(d)) V. */
static void attention_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    int H = m->info.hidden, nh = m->info.heads, d = H / nh;
    int s = task / nh, h = task % nh;
    int L = f->lens[s];
    const float *base = m->qkv + (size_t)f->offs[s] * 3 * H + (size_t)h * d;
    const float *q = base, *k = base + H, *v = base + 2 * H;
    float *S = m->scores + (size_t)worker * m->scores_stride;
    float scale = 1.0f / sqrtf((float)d);
#ifdef RG_SOFTMAX_512
    if (m->softmax512 && d % 16 == 0 && d <= 64) {
        int Lp = (L + 15) / 16 * 16;
        attention512(q, k, v, 3 * H, L, d, scale, S, S + (size_t)L * Lp,
                     m->ctx + (size_t)f->offs[s] * H + (size_t)h * d, H);
        return;
    }
#endif
    m->sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, scale, q, 3 * H, k, 3 * H, 0.0f, S, L);
#ifdef RG_SOFTMAX_512
    if (m->softmax512)
        for (int i = 0; i < L; i++)
            softmax_row512(S + (size_t)i * L, L);
    else
#endif
        for (int i = 0; i < L; i++)
            softmax_row(S + (size_t)i * L, L);
    m->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, 1.0f, S, L, v, 3 * H, 0.0f,
                m->ctx + (size_t)f->offs[s] * H + (size_t)h * d, H);
}

static void embed_task(void *arg, int task, int worker)
{
    fwd *f = arg;
    rg_bert_model *m = f->m;
    int H = m->info.hidden;
    const int32_t *const *ids = f->ids;
    size_t s = (size_t)task;
    const uint8_t *ty = f->types ? f->types[s] : NULL;
    for (int i = 0; i < f->lens[s]; i++) {
        int32_t id = ids[s][i];
        float *y = m->tmp + (size_t)(f->offs[s] + i) * H;
        const float *w = m->word_emb + (size_t)id * H;
        const float *p = m->pos_emb + (size_t)(i + m->info.position_offset) * H;
        const float *t = m->type_emb + (size_t)(ty ? ty[i] : 0) * H;
        for (int c = 0; c < H; c++)
            y[c] = w[c] + p[c] + t[c];
        layer_norm(m, m->x + (size_t)(f->offs[s] + i) * H, y, m->emb_ln_g, m->emb_ln_b);
    }
}

static void grow_scratch(rg_bert_model *m, size_t T)
{
    if (T <= m->cap_tokens)
        return;
    size_t H = (size_t)m->info.hidden, I = (size_t)m->info.intermediate;
    free(m->x);
    free(m->qkv);
    free(m->ctx);
    free(m->tmp);
    free(m->inter);
    free(m->xq);
    free(m->xscale);
    m->x = rg_xmalloc(T * H * sizeof(float));
    m->qkv = rg_xmalloc(T * 3 * H * sizeof(float));
    m->ctx = rg_xmalloc(T * H * sizeof(float));
    m->tmp = rg_xmalloc(T * H * sizeof(float));
    m->inter = rg_xmalloc(T * I * sizeof(float));
    /* int8 rows are padded to a multiple of 64 values; bf16 rows hold two
     * parts of 2 bytes a value (bert_bf16.h) */
    size_t kmax = (RG_MAX(H, I) + 63) / 64 * 64;
    m->xq = rg_xmalloc(T * kmax * (m->opts.precision == RG_BERT_BF16 ? 4 : 1));
    m->xscale = rg_xmalloc(T * sizeof(float));
    m->cap_tokens = T;
}

/* Cross-encoder head on the final [CLS] row: tanh(dense) then the
 * classifier; the score is the logit (one label) or the probability of
 * score_label. */
static float head_score(const rg_bert_model *m, const float *cls, float *h, float *logits)
{
    int H = m->info.hidden, L = m->info.num_labels;
    const linear *d = &m->head_dense, *o = &m->head_out;
    for (int j = 0; j < H; j++) {
        const float *w = d->w + (size_t)j * H;
        float acc = d->b[j];
        for (int c = 0; c < H; c++)
            acc += w[c] * cls[c];
        h[j] = tanhf(acc);
    }
    for (int j = 0; j < L; j++) {
        const float *w = o->w + (size_t)j * H;
        float acc = o->b[j];
        for (int c = 0; c < H; c++)
            acc += w[c] * h[c];
        logits[j] = acc;
    }
    if (L == 1)
        return logits[0];
    float mx = logits[0], sum = 0;
    for (int j = 1; j < L; j++)
        mx = logits[j] > mx ? logits[j] : mx;
    for (int j = 0; j < L; j++)
        sum += expf(logits[j] - mx);
    return expf(logits[m->info.score_label] - mx) / sum;
}

rg_status rg_bert_model_encode_ids(rg_bert_model *m, const int32_t *const *ids, const int *lens, size_t n, float *out,
                                   rg_error *err)
{
    return rg_bert_model_run_ids(m, ids, NULL, lens, n, out, err);
}

rg_status rg_bert_model_run_ids(rg_bert_model *m, const int32_t *const *ids, const uint8_t *const *types,
                                const int *lens, size_t n, float *out, rg_error *err)
{
    if (n == 0)
        return RG_OK;
    const rg_bert_info *in = &m->info;
    int H = in->hidden;
    int *offs = rg_xmalloc(n * sizeof *offs);
    size_t T = 0;
    for (size_t s = 0; s < n; s++) {
        if (lens[s] < 1 || lens[s] > in->max_seq_length) {
            free(offs);
            return rg_error_set(err, RG_ERR_INVALID, "sequence %zu has %d tokens; the model reads 1..%d", s, lens[s],
                                in->max_seq_length);
        }
        for (int i = 0; i < lens[s]; i++)
            if (ids[s][i] < 0 || ids[s][i] >= in->vocab_size) {
                free(offs);
                return rg_error_set(err, RG_ERR_INVALID, "token id %d is outside the vocabulary (%d)", ids[s][i],
                                    in->vocab_size);
            }
        for (int i = 0; types && types[s] && i < lens[s]; i++)
            if (types[s][i] >= in->type_vocab) {
                free(offs);
                return rg_error_set(err, RG_ERR_INVALID, "token type %d is outside the model's %d types", types[s][i],
                                    in->type_vocab);
            }
        offs[s] = (int)T;
        T += (size_t)lens[s];
    }
    pthread_mutex_lock(&m->lock);
    grow_scratch(m, T);
    fwd f = {.m = m, .T = (int)T, .nseq = n, .lens = lens, .offs = offs, .ids = ids, .types = types};
    pool_run(m->pool, (int)n, embed_task, &f);
    /* int8 or bf16 with many tokens: post_attention_task from attention to
     * the next layer's quantised input */
    bool fused = (m->layers[0].qkv.q || m->layers[0].qkv.h) && row_split(&f);
    for (int l = 0; l < in->layers; l++) {
        const layer *L = &m->layers[l];
        f.in_quantized = fused && l > 0;
        run_linear(&f, &L->qkv, m->x, m->qkv, 0);
        f.in_quantized = false;
#ifdef RG_ATTN_AMX
        if (m->attn_amx) {
            /* whole sequences a task when there are enough to share out */
            f.attn_heads = (int)n >= 4 * m->pool->nthreads ? in->heads : 1;
            pool_run(m->pool, (int)n * (in->heads / f.attn_heads), attention_amx_task, &f);
        } else
#endif
            pool_run(m->pool, (int)n * in->heads, attention_task, &f);
        if (fused) {
            run_post_attention(&f, L);
            continue;
        }
        run_linear(&f, &L->attn_out, m->ctx, m->tmp, 0);
        run_add_ln(&f, m->tmp, m->x, L->ln1_g, L->ln1_b);
        run_linear(&f, &L->inter, m->x, m->inter, 1);
        run_linear(&f, &L->out, m->inter, m->tmp, 0);
        run_add_ln(&f, m->tmp, m->x, L->ln2_g, L->ln2_b);
    }
    float *hbuf = in->kind == RG_BERT_CROSS_ENCODER ? rg_xmalloc(((size_t)H + (size_t)in->num_labels) * sizeof *hbuf)
                                                    : NULL;
    for (size_t s = 0; s < n; s++) {
        float *o = out + s * (size_t)H;
        const float *x = m->x + (size_t)offs[s] * H;
        if (hbuf) {
            out[s] = head_score(m, x, hbuf, hbuf + H);
            continue;
        }
        if (in->pooling == RG_BERT_POOL_CLS) {
            memcpy(o, x, (size_t)H * sizeof *o);
        } else if (in->pooling == RG_BERT_POOL_MAX) {
            memcpy(o, x, (size_t)H * sizeof *o);
            for (int i = 1; i < lens[s]; i++)
                for (int c = 0; c < H; c++)
                    o[c] = x[(size_t)i * H + c] > o[c] ? x[(size_t)i * H + c] : o[c];
        } else {
            for (int c = 0; c < H; c++) {
                double acc = 0;
                for (int i = 0; i < lens[s]; i++)
                    acc += x[(size_t)i * H + c];
                o[c] = (float)(acc / lens[s]);
            }
        }
        rg_normalize(o, (size_t)H);
    }
    pthread_mutex_unlock(&m->lock);
    free(hbuf);
    free(offs);
    return RG_OK;
}

size_t rg_bert_model_count_tokens(const rg_bert_model *m, const char *text, size_t len)
{
    return tokenize(m, text, len, NULL, 0);
}

#define RG_BERT_MAX_BATCH_TOKENS 16384

typedef struct seq_ref {
    size_t index;
    int len;
} seq_ref;

static int by_len_desc(const void *a, const void *b)
{
    const seq_ref *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Fills ids (and types) from a template; a and b are token lists. */
static int apply_template(const rg_tok_item *items, int nitems, const int32_t *a, int la, const int32_t *b, int lb,
                          int32_t *ids, uint8_t *types)
{
    int k = 0;
    for (int i = 0; i < nitems; i++) {
        const rg_tok_item *it = &items[i];
        if (it->seq < 0) {
            if (types)
                types[k] = it->type_id;
            ids[k++] = it->id;
            continue;
        }
        const int32_t *src = it->seq == 0 ? a : b;
        int n = it->seq == 0 ? la : lb;
        for (int j = 0; j < n; j++) {
            if (types)
                types[k] = it->type_id;
            ids[k++] = src[j];
        }
    }
    return k;
}

int rg_bert_model_text_ids(const rg_bert_model *m, const char *text, int32_t *ids)
{
    int maxlen = m->info.max_seq_length;
    int budget = maxlen - rg_tok_template_specials(&m->tmpl, false);
    int32_t *a = rg_xmalloc((size_t)RG_MAX(budget, 1) * sizeof *a);
    int la = budget > 0 ? (int)tokenize(m, text, strlen(text), a, (size_t)budget) : 0;
    int k = apply_template(m->tmpl.single, m->tmpl.nsingle, a, la, NULL, 0, ids, NULL);
    free(a);
    return k;
}

int rg_bert_model_pair_ids(const rg_bert_model *m, const char *qa, const char *qb, int32_t *ids, uint8_t *types)
{
    int maxlen = m->info.max_seq_length;
    int budget = RG_MAX(0, maxlen - rg_tok_template_specials(&m->tmpl, true));
    int32_t *a = rg_xmalloc(((size_t)budget + 1) * sizeof *a), *b = rg_xmalloc(((size_t)budget + 1) * sizeof *b);
    /* One more than the budget is enough to know which side is longer. */
    int n1 = budget > 0 ? (int)tokenize(m, qa, strlen(qa), a, (size_t)budget + 1) : 0;
    int n2 = budget > 0 ? (int)tokenize(m, qb, strlen(qb), b, (size_t)budget + 1) : 0;
    if (n1 + n2 > budget) {
        /* tokenizers' LongestFirst truncation (utils/truncation.rs): the
         * shorter side keeps what it can, at least half the budget. */
        bool swap = n1 > n2;
        int s1 = swap ? n2 : n1, s2 = swap ? n1 : n2;
        s2 = s1 > budget ? s1 : RG_MAX(s1, budget - s1);
        if (s1 + s2 > budget) {
            s1 = budget / 2;
            s2 = s1 + budget % 2;
        }
        int t1 = swap ? s2 : s1, t2 = swap ? s1 : s2;
        n1 = RG_MIN(n1, t1);
        n2 = RG_MIN(n2, t2);
    }
    int k = apply_template(m->tmpl.pair, m->tmpl.npair, a, n1, b, n2, ids, types);
    free(a);
    free(b);
    return k;
}

/* Sorts n prepared rows (stride max_seq_length) by length and runs them in
 * batches; out gets out_dim floats per row in the original order. */
static rg_status run_batched(rg_bert_model *m, const int32_t *ids, const uint8_t *types, const int *lens, size_t n,
                             int batch_size, float *out, size_t out_dim, rg_error *err)
{
    int maxlen = m->info.max_seq_length;
    if (batch_size <= 0)
        batch_size = 32;
    seq_ref *refs = rg_xmalloc((n ? n : 1) * sizeof *refs);
    for (size_t i = 0; i < n; i++)
        refs[i] = (seq_ref){i, lens[i]};
    /* Longest first: similar lengths share a batch, and the attention tasks of
     * a batch are handed out biggest first. */
    qsort(refs, n, sizeof *refs, by_len_desc);
    const int32_t **bptr = rg_xmalloc((size_t)batch_size * sizeof *bptr);
    const uint8_t **btyp = rg_xmalloc((size_t)batch_size * sizeof *btyp);
    int *blen = rg_xmalloc((size_t)batch_size * sizeof *blen);
    float *bout = rg_xmalloc((size_t)batch_size * out_dim * sizeof *bout);
    rg_status st = RG_OK;
    /* Scratch memory grows with the tokens of a batch (about 5 hidden +
     * 1 FFN row of floats per token), so a batch also ends at a token budget. */
    size_t token_budget = RG_MAX((size_t)maxlen, (size_t)RG_BERT_MAX_BATCH_TOKENS);
    for (size_t b0 = 0, bn = 0; b0 < n && st == RG_OK; b0 += bn) {
        size_t tokens = 0;
        for (bn = 0; bn < (size_t)batch_size && b0 + bn < n; bn++) {
            if (bn > 0 && tokens + (size_t)refs[b0 + bn].len > token_budget)
                break;
            tokens += (size_t)refs[b0 + bn].len;
            bptr[bn] = ids + refs[b0 + bn].index * (size_t)maxlen;
            btyp[bn] = types ? types + refs[b0 + bn].index * (size_t)maxlen : NULL;
            blen[bn] = refs[b0 + bn].len;
        }
        st = rg_bert_model_run_ids(m, bptr, types ? btyp : NULL, blen, bn, bout, err);
        for (size_t j = 0; j < bn && st == RG_OK; j++)
            memcpy(out + refs[b0 + j].index * out_dim, bout + j * out_dim, out_dim * sizeof *out);
    }
    free(bptr);
    free(btyp);
    free(blen);
    free(bout);
    free(refs);
    return st;
}

rg_status rg_bert_model_embed(rg_bert_model *m, const char *const *texts, size_t n, const char *prefix, int batch_size,
                              float *out, rg_error *err)
{
    const rg_bert_info *in = &m->info;
    if (in->kind != RG_BERT_BI_ENCODER)
        return rg_error_set(err, RG_ERR_INVALID, "this model is a cross-encoder (%s): it scores (query, passage) "
                            "pairs and cannot embed; use it as retrieval.rerank.model", in->architecture);
    int maxlen = in->max_seq_length;
    int32_t *ids = rg_xmalloc((n ? n : 1) * (size_t)maxlen * sizeof *ids);
    int *lens = rg_xmalloc((n ? n : 1) * sizeof *lens);
    size_t plen = prefix ? strlen(prefix) : 0;
    rg_buf tmp;
    rg_buf_init(&tmp);
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        if (plen) {
            tmp.len = 0;
            rg_buf_append(&tmp, prefix, plen);
            rg_buf_puts(&tmp, t);
            rg_buf_putc(&tmp, '\0');
            t = tmp.data;
        }
        lens[i] = rg_bert_model_text_ids(m, t, ids + i * (size_t)maxlen);
    }
    rg_buf_free(&tmp);
    rg_status st = run_batched(m, ids, NULL, lens, n, batch_size, out, (size_t)in->hidden, err);
    free(lens);
    free(ids);
    return st;
}

rg_status rg_bert_model_score(rg_bert_model *m, const char *query, const char *const *passages, size_t n,
                              int batch_size, float *scores, rg_error *err)
{
    const rg_bert_info *in = &m->info;
    if (in->kind != RG_BERT_CROSS_ENCODER)
        return rg_error_set(err, RG_ERR_INVALID, "this model is a bi-encoder (%s); reranking needs a cross-encoder "
                            "(BertForSequenceClassification or XLMRobertaForSequenceClassification, e.g. "
                            "ms-marco-MiniLM-L-6-v2)", in->architecture);
    int maxlen = in->max_seq_length;
    int32_t *ids = rg_xmalloc((n ? n : 1) * (size_t)maxlen * sizeof *ids);
    uint8_t *types = rg_xmalloc((n ? n : 1) * (size_t)maxlen);
    int *lens = rg_xmalloc((n ? n : 1) * sizeof *lens);
    for (size_t i = 0; i < n; i++)
        lens[i] = rg_bert_model_pair_ids(m, query ? query : "", passages[i] ? passages[i] : "",
                                         ids + i * (size_t)maxlen, types + i * (size_t)maxlen);
    rg_status st = run_batched(m, ids, types, lens, n, batch_size, scores, 1, err);
    free(lens);
    free(types);
    free(ids);
    return st;
}
