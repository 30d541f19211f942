/* The BERT WordPiece tokenizer: vocabulary loading (vocab.txt and
 * tokenizer.json) and tokenization of arbitrary bytes.
 *
 * Input: FLAGS-BYTE VOCAB "\n@@@\n" TEXT.  Bit 0 of the flags picks
 * tokenizer.json over vocab.txt, bits 1-3 the options.  Without the
 * separator the whole input is text for a fixed small vocabulary.
 * Properties: ids are inside the vocabulary, the count with ids == NULL
 * equals the full tokenization, truncation writes at most cap ids. */
#include "bert_tokenizer.h"
#include "fuzz.h"

static const char *const FIXED[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox",
                                    "##s", "##ing", "a", "b", "c", "##a", "##b", "##c", "é", "中", ".", ",", "!",
                                    "un", "##able", "token", "##izer", "12", "##3"};

static void check_tokenize(const rg_bert_tokenizer *t, const char *text, size_t len)
{
    size_t nv = rg_bert_tokenizer_vocab_size(t);
    size_t total = rg_bert_tokenize(t, text, len, NULL, 0);
    FUZZ_CHECK(total <= 4 * len + 4, "%zu tokens from %zu bytes", total, len);
    int32_t *ids = rg_xmalloc((total + 1) * sizeof *ids);
    size_t got = rg_bert_tokenize(t, text, len, ids, total + 1);
    FUZZ_CHECK(got == total, "counting gave %zu tokens, tokenizing %zu", total, got);
    for (size_t i = 0; i < got; i++)
        FUZZ_CHECK(ids[i] >= 0 && (size_t)ids[i] < nv, "id %d outside a vocabulary of %zu", ids[i], nv);
    if (total > 1) {
        size_t cap = total / 2;
        size_t part = rg_bert_tokenize(t, text, len, ids, cap);
        FUZZ_CHECK(part <= cap, "wrote %zu ids with room for %zu", part, cap);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    uint8_t flags = data[0];
    const uint8_t *parts[2];
    size_t lens[2];
    size_t n = fuzz_split(data + 1, size - 1, "\n@@@\n", parts, lens, 2);
    rg_bert_tokenizer_opts o = rg_bert_tokenizer_default_opts();
    o.lower_case = flags & 2;
    o.strip_accents = flags & 4;
    o.tokenize_cjk = flags & 8;
    o.max_chars_per_word = (flags & 16) ? 5 : 0;
    rg_bert_tokenizer *t = NULL;
    rg_error err = {0};
    rg_status st;
    if (n == 2) {
        char *path = fuzz_write((flags & 1) ? "tokenizer.json" : "vocab.txt", parts[0], lens[0]);
        st = rg_bert_tokenizer_load(path, &o, &t, &err);
        free(path);
    } else {
        st = rg_bert_tokenizer_from_tokens(FIXED, RG_ARRAY_LEN(FIXED), &o, &t, &err);
        FUZZ_CHECK(st == RG_OK, "fixed vocabulary refused: %s", err.msg);
    }
    FUZZ_CHECK_ERROR(st, err);
    if (st == RG_OK) {
        rg_bert_special_ids sp = rg_bert_tokenizer_specials(t);
        (void)sp;
        check_tokenize(t, (const char *)parts[n - 1], lens[n - 1]);
        rg_bert_tokenizer_free(t);
    }
    return 0;
}
