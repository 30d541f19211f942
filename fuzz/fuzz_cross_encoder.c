/* A cross-encoder or XLM-RoBERTa model directory as the bert engine loads
 * it: config.json (architecture, model_type, id2label / num_labels,
 * pad_token_id, type_vocab_size), tokenizer.json (Unigram) or vocab.txt,
 * model.safetensors (with the classification head), tokenizer_config.json
 * (model_max_length).  Input: the files' contents in the order of FILES
 * separated by "\n@@@\n"; a missing part means the file is absent (an
 * empty vocab.txt part also means absent, so tokenizer.json is read).
 * Property: refusal with a message, or a model that scores a pair (a
 * cross-encoder) or embeds a text (a bi-encoder). */
#include "bert_model.h"
#include "fuzz.h"

static const char *const FILES[] = {"config.json", "tokenizer.json", "model.safetensors", "tokenizer_config.json",
                                    "vocab.txt"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *dir = fuzz_write_model_dir(data, size, FILES, RG_ARRAY_LEN(FILES), 1u << 4 /* vocab.txt */);
    rg_bert_model *m = NULL;
    rg_bert_model_opts o = {.threads = 1, .precision = (size & 1) ? RG_BERT_INT8 : RG_BERT_FP32};
    rg_error err = {0};
    rg_status st = rg_bert_model_open(dir, &o, &m, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        const rg_bert_info *info = rg_bert_model_info(m);
        FUZZ_CHECK(info->hidden > 0 && info->max_seq_length >= 3 && info->num_labels >= 1,
                   "accepted hidden %d, max_seq_length %d, labels %d", info->hidden, info->max_seq_length,
                   info->num_labels);
        const char *text = "the quick brown fox jumps over the lazy dog";
        float *out = rg_xmalloc((size_t)info->hidden * sizeof *out);
        if (info->kind == RG_BERT_CROSS_ENCODER)
            st = rg_bert_model_score(m, "quick fox", &text, 1, 1, out, &err);
        else
            st = rg_bert_model_embed(m, &text, 1, NULL, 1, out, &err);
        FUZZ_CHECK_ERROR(st, err);
        free(out);
        rg_bert_model_free(m);
    }
    free(dir);
    return 0;
}
