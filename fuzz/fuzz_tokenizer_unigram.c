/* The SentencePiece Unigram tokenizer: tokenizer.json parsing (normalizers
 * including the Precompiled double array, pre-tokenizers, the Unigram
 * vocabulary, post-processors) and tokenization of arbitrary bytes.
 *
 * Input: TOKENIZER_JSON "\n@@@\n" TEXT.  Without the separator the whole
 * input is text for a fixed small tokenizer.
 * Properties: ids are inside the vocabulary, the count with ids == NULL
 * equals the full tokenization, truncation writes a prefix of at most cap
 * ids, the template's special ids are inside the vocabulary. */
#include <string.h>

#include "fuzz.h"
#include "tokenizer_unigram.h"

static const char FIXED[] =
    "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, {\"type\": \"Lowercase\"}, "
    "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \" \"}]}, "
    "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"always\"}, "
    "\"post_processor\": {\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 2], \"cls\": [\"<s>\", 0]}, "
    "\"model\": {\"type\": \"Unigram\", \"unk_id\": 3, \"byte_fallback\": true, \"vocab\": [[\"<s>\", 0], "
    "[\"<pad>\", 0], [\"</s>\", 0], [\"<unk>\", 0], [\"\\u2581\", -2], [\"\\u2581the\", -3], [\"a\", -5], "
    "[\"b\", -5], [\"ab\", -4], [\"\\u2581ab\", -6], [\"<0x41>\", 0], [\"<0xC3>\", 0], [\"<0xA9>\", 0]]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const uint8_t *parts[2];
    size_t lens[2];
    size_t n = fuzz_split(data, size, "\n@@@\n", parts, lens, 2);
    rg_unigram_tokenizer *t = NULL;
    rg_error err = {0};
    rg_status st;
    if (n == 2) {
        st = rg_unigram_load_buffer((const char *)parts[0], lens[0], "tokenizer.json", &t, &err);
    } else {
        st = rg_unigram_load_buffer(FIXED, strlen(FIXED), "fixed", &t, &err);
        FUZZ_CHECK(st == RG_OK, "fixed tokenizer refused: %s", err.msg);
    }
    FUZZ_CHECK_ERROR(st, err);
    if (st != RG_OK)
        return 0;
    size_t nv = rg_unigram_vocab_size(t);
    const rg_tok_template *tp = rg_unigram_template(t);
    for (int i = 0; i < tp->npair; i++)
        FUZZ_CHECK(tp->pair[i].seq >= 0 || (tp->pair[i].id >= 0 && (size_t)tp->pair[i].id < nv),
                   "template id %d outside %zu", tp->pair[i].id, nv);
    const char *text = (const char *)parts[n - 1];
    size_t len = lens[n - 1];
    size_t total = rg_unigram_tokenize(t, text, len, NULL, 0);
    int32_t *ids = rg_xmalloc((total + 1) * sizeof *ids);
    size_t got = rg_unigram_tokenize(t, text, len, ids, total + 1);
    FUZZ_CHECK(got == total, "counting gave %zu tokens, tokenizing %zu", total, got);
    for (size_t i = 0; i < got; i++)
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < nv, "id %d outside a vocabulary of %zu", ids[i], nv);
    if (total > 1) {
        size_t cap = total / 2;
        int32_t *part = rg_xmalloc(cap * sizeof *part);
        size_t k = rg_unigram_tokenize(t, text, len, part, cap);
        FUZZ_CHECK(k <= cap, "wrote %zu ids with room for %zu", k, cap);
        FUZZ_CHECK(memcmp(part, ids, k * sizeof *part) == 0, "truncated tokenization is not a prefix");
        free(part);
    }
    free(ids);
    rg_unigram_free(t);
    return 0;
}
