/* Native sentence-transformers BERT: loads a model directory (config.json,
 * vocab.txt or tokenizer.json, tokenizer_config.json, model.safetensors,
 * modules.json, 1_Pooling/config.json, sentence_bert_config.json) and
 * computes sentence embeddings.
 *
 * The forward pass packs the tokens of a batch into one [tokens, hidden]
 * matrix, so the dense layers never multiply padding and attention runs per
 * sequence (which is what the padding mask of the reference model computes).
 * Matrix products use OpenBLAS (fp32) or bert_int8.c (int8); the engine's
 * own thread pool splits every step, and BLAS itself runs single-threaded. */
#ifndef RG_BERT_MODEL_H
#define RG_BERT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "bert_tokenizer.h"
#include "error.h"

typedef enum rg_bert_pooling { RG_BERT_POOL_MEAN, RG_BERT_POOL_CLS, RG_BERT_POOL_MAX } rg_bert_pooling;
/* bf16: dense products and attention on AMX bf16 tiles (fp32 sums); on a
 * CPU without AMX-BF16 it runs fp32. */
typedef enum rg_bert_precision { RG_BERT_FP32, RG_BERT_INT8, RG_BERT_BF16 } rg_bert_precision;
/* A bi-encoder embeds one text (sentence-transformers); a cross-encoder
 * scores a (query, passage) pair through a classification head
 * (BertForSequenceClassification / XLMRobertaForSequenceClassification, the
 * sentence-transformers CrossEncoder layout). */
typedef enum rg_bert_kind { RG_BERT_BI_ENCODER, RG_BERT_CROSS_ENCODER } rg_bert_kind;
typedef enum rg_bert_family { RG_BERT_FAMILY_BERT, RG_BERT_FAMILY_XLMR } rg_bert_family;
typedef enum rg_bert_tok_kind { RG_BERT_TOK_WORDPIECE, RG_BERT_TOK_UNIGRAM } rg_bert_tok_kind;

typedef struct rg_bert_info {
    char architecture[64];
    rg_bert_family family;     /* bert, or xlm-roberta (position ids offset, one token type) */
    rg_bert_kind kind;
    rg_bert_tok_kind tokenizer;
    int position_offset;       /* first position id: 0 (BERT) or padding_idx + 1 (XLM-R) */
    int num_labels;            /* cross-encoder: classifier outputs */
    int score_label;           /* cross-encoder with labels: the one whose probability is the score */
    char score_label_name[64];
    int vocab_size, hidden, layers, heads, intermediate, max_position, type_vocab;
    float layer_norm_eps;
    rg_bert_pooling pooling;
    bool normalize;            /* a Normalize module is listed (ragged always normalises) */
    int max_seq_length;        /* tokens incl. [CLS]/[SEP] */
    bool lower_case;
    int64_t parameters;
    uint64_t weights_bytes;    /* model.safetensors size */
    char weights_dtype[8];     /* dtype of the word embeddings: F32, F16, BF16 */
    size_t vocab_tokens;
    char fingerprint[65];      /* SHA-256 over config, tokenizer, weights sample, pooling, length */
} rg_bert_info;

typedef struct rg_bert_model_opts {
    int threads;               /* 0: all cores */
    rg_bert_precision precision;
} rg_bert_model_opts;

typedef struct rg_bert_model rg_bert_model;

rg_status rg_bert_model_open(const char *dir, const rg_bert_model_opts *opts, rg_bert_model **out, rg_error *err);
void rg_bert_model_free(rg_bert_model *m);

const rg_bert_info *rg_bert_model_info(const rg_bert_model *m);
/* The WordPiece tokenizer, or NULL for a Unigram model. */
const rg_bert_tokenizer *rg_bert_model_tokenizer(const rg_bert_model *m);
const char *rg_bert_pooling_name(rg_bert_pooling p);
const char *rg_bert_precision_name(rg_bert_precision p);   /* "fp32", "int8", "bf16" */
/* The precision m runs: its opts' one, except bf16 without AMX-BF16 -> fp32. */
rg_bert_precision rg_bert_model_precision(const rg_bert_model *m);
/* "fp32", "int8" or "bf16" -> *out; false for anything else. */
bool rg_bert_precision_parse(const char *s, rg_bert_precision *out);
const char *rg_bert_kind_name(rg_bert_kind k);         /* "bi-encoder", "cross-encoder" */
const char *rg_bert_family_name(rg_bert_family f);     /* "bert", "xlm-roberta" */
const char *rg_bert_tok_kind_name(rg_bert_tok_kind k); /* "wordpiece", "unigram" */

/* Embeds n token sequences (each with its [CLS] ... [SEP], at most
 * max_seq_length long) into out (n * hidden floats, L2-normalised); a
 * cross-encoder writes n scores instead (see rg_bert_model_score). */
rg_status rg_bert_model_encode_ids(rg_bert_model *m, const int32_t *const *ids, const int *lens, size_t n, float *out,
                                   rg_error *err);
/* The same with token type ids (types may be NULL: all 0). */
rg_status rg_bert_model_run_ids(rg_bert_model *m, const int32_t *const *ids, const uint8_t *const *types,
                                const int *lens, size_t n, float *out, rg_error *err);
/* Cross-encoders: relevance of each passage to query, higher is better:
 * the logit of a one-output head, or the probability (softmax) of
 * info.score_label for a head with several labels.  Each pair is
 * tokenized with the tokenizer's pair template ([CLS] q [SEP] p [SEP] or
 * <s> q </s></s> p </s>), the longer side truncated first to
 * max_seq_length. */
rg_status rg_bert_model_score(rg_bert_model *m, const char *query, const char *const *passages, size_t n,
                              int batch_size, float *scores, rg_error *err);
/* Token ids of a pair as rg_bert_model_score builds them (tests, bench):
 * at most max_seq_length ids and types; returns the count. */
int rg_bert_model_pair_ids(const rg_bert_model *m, const char *a, const char *b, int32_t *ids, uint8_t *types);
/* Token ids of one text with its special tokens (at most max_seq_length). */
int rg_bert_model_text_ids(const rg_bert_model *m, const char *text, int32_t *ids);
/* Tokenizes (truncating to max_seq_length), sorts by length, batches and
 * embeds n texts.  prefix (may be NULL) is prepended to every text. */
rg_status rg_bert_model_embed(rg_bert_model *m, const char *const *texts, size_t n, const char *prefix,
                              int batch_size, float *out, rg_error *err);
/* Token count of a text (WordPiece or Unigram), without special tokens. */
size_t rg_bert_model_count_tokens(const rg_bert_model *m, const char *text, size_t len);

/* Loads a model directory's metadata and weight header only (for
 * `ragged model info`): no weights are converted. */
rg_status rg_bert_model_inspect(const char *dir, rg_bert_info *info, rg_error *err);

/* An rg_embedder over a model directory without a config (embed_bert.c;
 * `ragged embed --model`, tests).  Prefixes may be NULL. */
struct rg_embedder;
rg_status rg_embedder_bert_open_path(const char *dir, const rg_bert_model_opts *opts, const char *query_prefix,
                                     const char *document_prefix, int batch_size, struct rg_embedder **out,
                                     rg_error *err);

#endif
