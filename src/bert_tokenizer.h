/* BERT tokenizer: the "basic" pre-tokenizer (text cleaning, CJK splitting,
 * lower-casing, accent stripping, punctuation splitting) followed by greedy
 * longest-match-first WordPiece, as defined by the original BERT code and
 * transformers' BertTokenizer.  Unicode tables come from libutf8proc.
 *
 * A tokenizer is immutable after loading, so one instance may be used from
 * any number of threads at once. */
#ifndef RG_BERT_TOKENIZER_H
#define RG_BERT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "error.h"

typedef struct rg_bert_tokenizer rg_bert_tokenizer;

typedef struct rg_bert_tokenizer_opts {
    bool lower_case;          /* do_lower_case */
    bool strip_accents;       /* NFD + drop combining marks (BERT: follows lower_case) */
    bool tokenize_cjk;        /* put spaces around CJK ideographs */
    int max_chars_per_word;   /* longer words become [UNK]; 0: 100 */
} rg_bert_tokenizer_opts;

rg_bert_tokenizer_opts rg_bert_tokenizer_default_opts(void);

/* Loads vocab.txt (one token a line, id = line number) or, when path ends in
 * .json, the model.vocab map of a tokenizer.json. */
rg_status rg_bert_tokenizer_load(const char *path, const rg_bert_tokenizer_opts *opts,
                                 rg_bert_tokenizer **out, rg_error *err);
/* Builds a tokenizer from an in-memory token list (ids are indices). */
rg_status rg_bert_tokenizer_from_tokens(const char *const *tokens, size_t n,
                                        const rg_bert_tokenizer_opts *opts,
                                        rg_bert_tokenizer **out, rg_error *err);
void rg_bert_tokenizer_free(rg_bert_tokenizer *t);

/* Tokenizes text (any bytes; invalid UTF-8 is dropped) into WordPiece ids
 * without [CLS]/[SEP].  With ids != NULL at most cap ids are written and
 * work stops once cap is reached (truncation without tokenizing the rest of
 * a long document); with ids == NULL every token is counted.  Returns the
 * number of ids produced. */
size_t rg_bert_tokenize(const rg_bert_tokenizer *t, const char *text, size_t len,
                        int32_t *ids, size_t cap);

size_t rg_bert_tokenizer_vocab_size(const rg_bert_tokenizer *t);
/* Id of a token, or -1. */
int32_t rg_bert_tokenizer_id(const rg_bert_tokenizer *t, const char *token);
/* Token text of an id, or NULL. */
const char *rg_bert_tokenizer_token(const rg_bert_tokenizer *t, int32_t id);

typedef struct rg_bert_special_ids {
    int32_t cls, sep, pad, unk;
} rg_bert_special_ids;
rg_bert_special_ids rg_bert_tokenizer_specials(const rg_bert_tokenizer *t);

/* Where special tokens go around one text (single) or a pair (query,
 * passage): a sequence of items, each a special token id or the tokens of
 * text A or B, with the token type id of the item.  Shared by WordPiece
 * ([CLS] A [SEP] B [SEP]) and the Unigram tokenizer (from tokenizer.json's
 * post_processor, e.g. <s> A </s></s> B </s>). */
#define RG_TOK_TEMPLATE_MAX 8
typedef struct rg_tok_item {
    int8_t seq;               /* -1: the special token id; 0: text A; 1: text B */
    uint8_t type_id;
    int32_t id;
} rg_tok_item;
typedef struct rg_tok_template {
    int nsingle, npair;
    rg_tok_item single[RG_TOK_TEMPLATE_MAX], pair[RG_TOK_TEMPLATE_MAX];
} rg_tok_template;
/* BERT's: [CLS] A [SEP] and [CLS] A [SEP] B [SEP], B with type id 1. */
rg_tok_template rg_bert_tokenizer_template(const rg_bert_tokenizer *t);
/* Number of special tokens a template adds (single or pair). */
int rg_tok_template_specials(const rg_tok_template *tp, bool pair);

#endif
