/* SentencePiece Unigram tokenizer read from a Hugging Face tokenizer.json,
 * as the `tokenizers` library runs it (XLM-RoBERTa, multilingual-e5,
 * paraphrase-multilingual-*):
 *
 *   normalizer     Sequence of Precompiled (SentencePiece's compiled
 *                  character map), NFC/NFD/NFKC/NFKD, Lowercase, Strip,
 *                  Replace (string, or a regular expression read as POSIX
 *                  ERE), Prepend
 *   pre-tokenizer  Metaspace (replacement, prepend_scheme/add_prefix_space,
 *                  split), WhitespaceSplit, or a Sequence of them
 *   model          Unigram: best segmentation by Viterbi over the piece
 *                  log-probabilities; a character no piece covers is an
 *                  unknown (score min - 10), runs of unknowns are fused, and
 *                  with byte_fallback an unknown becomes its <0xXX> byte
 *                  pieces
 *   post-processor TemplateProcessing, RobertaProcessing or BertProcessing
 *                  (the special tokens around one text or a pair)
 *
 * Immutable after loading: one instance serves any number of threads. */
#ifndef RG_TOKENIZER_UNIGRAM_H
#define RG_TOKENIZER_UNIGRAM_H

#include <stddef.h>
#include <stdint.h>
#include "bert_tokenizer.h"
#include "error.h"

typedef struct rg_unigram_tokenizer rg_unigram_tokenizer;

/* Loads a tokenizer.json whose model.type is Unigram. */
rg_status rg_unigram_load(const char *path, rg_unigram_tokenizer **out, rg_error *err);
/* The same from memory (fuzzing); name is used in messages. */
rg_status rg_unigram_load_buffer(const char *json, size_t len, const char *name, rg_unigram_tokenizer **out,
                                 rg_error *err);
void rg_unigram_free(rg_unigram_tokenizer *t);

/* Same contract as rg_bert_tokenize: ids without special tokens, at most cap
 * written when ids != NULL, every token counted when ids == NULL. */
size_t rg_unigram_tokenize(const rg_unigram_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap);

size_t rg_unigram_vocab_size(const rg_unigram_tokenizer *t);
/* The special tokens around a single text and a pair, from the file's
 * post_processor (none when it has none). */
const rg_tok_template *rg_unigram_template(const rg_unigram_tokenizer *t);
int32_t rg_unigram_unk_id(const rg_unigram_tokenizer *t);
/* Normalizer + pre-tokenizer output for tests: the pre-tokens joined by
 * '|'; caller frees. */
char *rg_unigram_pretokenize_debug(const rg_unigram_tokenizer *t, const char *text, size_t len);

#endif
