/* A whole sentence-transformers model directory as the bert engine loads it
 * (config.json, vocab.txt, model.safetensors, modules.json, the pooling
 * config, sentence_bert_config.json, tokenizer_config.json), and one
 * embedding when it loads.  Input: the files' contents in that order,
 * separated by "\n@@@\n"; a missing part means the file is absent.
 * Property: refusal with a message, or a model that embeds a text into a
 * finite unit vector. */
#include "bert_model.h"
#include "fuzz.h"

static const char *const FILES[] = {"config.json", "vocab.txt", "model.safetensors", "modules.json",
                                    "1_Pooling/config.json", "sentence_bert_config.json", "tokenizer_config.json"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    char *dir = fuzz_write_model_dir(data, size, FILES, RG_ARRAY_LEN(FILES), 0);
    rg_bert_model *m = NULL;
    rg_bert_model_opts o = {.threads = 1, .precision = (size & 1) ? RG_BERT_INT8 : RG_BERT_FP32};
    rg_error err = {0};
    rg_status st = rg_bert_model_open(dir, &o, &m, &err);
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        const rg_bert_info *info = rg_bert_model_info(m);
        FUZZ_CHECK(info->hidden > 0 && info->max_seq_length >= 3, "accepted hidden %d, max_seq_length %d",
                   info->hidden, info->max_seq_length);
        float *out = rg_xmalloc((size_t)info->hidden * sizeof *out);
        const char *text = "the quick brown fox jumps over the lazy dog";
        st = rg_bert_model_embed(m, &text, 1, NULL, 1, out, &err);
        FUZZ_CHECK_ERROR(st, err);
        /* NaN weights give NaN vectors; rg_records_validate refuses to store
         * them, so only memory safety is checked here. */
        free(out);
        rg_bert_model_free(m);
    }
    free(dir);
    return 0;
}
