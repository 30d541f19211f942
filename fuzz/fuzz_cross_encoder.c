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
    const uint8_t *parts[RG_ARRAY_LEN(FILES)];
    size_t lens[RG_ARRAY_LEN(FILES)];
    size_t n = fuzz_split(data, size, "\n@@@\n", parts, lens, RG_ARRAY_LEN(FILES));
    char *dir = rg_path_join(fuzz_dir(), "model");
    rg_remove_tree(dir, NULL);
    rg_mkdir_p(dir, 0700, NULL);
    for (size_t i = 0; i < n; i++) {
        if (i == 4 && lens[i] == 0)
            continue;
        char *name = rg_path_join("model", FILES[i]);
        free(fuzz_write(name, parts[i], lens[i]));
        free(name);
    }
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
