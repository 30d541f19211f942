/* BERT tokenizer: cases derived by hand from the algorithm (basic
 * tokenization, then greedy longest-match WordPiece), checked against the real
 * 30,522-token uncased vocabulary in ../shared and against tiny vocabularies. */
#include <stdlib.h>
#include <string.h>

#include "bert_tokenizer.h"
#include "test.h"
#include "util.h"

/* Space-joined token strings of a text (cap 0: unlimited). */
static char *tokens_of(const rg_bert_tokenizer *t, const char *text, size_t cap)
{
    size_t len = strlen(text);
    size_t n = rg_bert_tokenize(t, text, len, NULL, 0);
    size_t want = cap ? cap : n;
    int32_t *ids = rg_xmalloc((want + 1) * sizeof *ids);
    size_t got = rg_bert_tokenize(t, text, len, ids, want);
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; i < got; i++) {
        if (i)
            rg_buf_putc(&b, ' ');
        rg_buf_puts(&b, rg_bert_tokenizer_token(t, ids[i]));
    }
    free(ids);
    return rg_buf_steal(&b);
}

#define CHECK_TOKENS(tok, text, expected)                                     \
    do {                                                                      \
        char *got_ = tokens_of(tok, text, 0);                                 \
        int same_ = strcmp(got_, expected) == 0;                              \
        if (!same_)                                                           \
            rg_test_fail(__FILE__, __LINE__, "tokens of \"%s\": got \"%s\", want \"%s\"", text, got_, expected); \
        free(got_);                                                           \
        if (!same_)                                                           \
            return;                                                           \
    } while (0)

static rg_bert_tokenizer *load_real(void)
{
    const char *shared = rg_test_shared_dir();
    if (!shared) {
        rg_test_skip("../shared is absent (set RAGGED_SHARED): no real vocabulary to test against");
        return NULL;
    }
    char *path = rg_xasprintf("%s/models/all-MiniLM-L6-v2/vocab.txt", shared);
    rg_bert_tokenizer *t = NULL;
    rg_error err = {0};
    rg_bert_tokenizer_opts o = rg_bert_tokenizer_default_opts();
    if (rg_bert_tokenizer_load(path, &o, &t, &err) != RG_OK)
        rg_test_fail(__FILE__, __LINE__, "%s", err.msg);
    free(path);
    return t;
}

TEST(tokenizer_real_vocab_basics)
{
    rg_bert_tokenizer *t = load_real();
    if (!t)
        return;
    CHECK_EQ_INT(rg_bert_tokenizer_vocab_size(t), 30522);
    rg_bert_special_ids sp = rg_bert_tokenizer_specials(t);
    CHECK_EQ_INT(sp.pad, 0);
    CHECK_EQ_INT(sp.unk, 100);
    CHECK_EQ_INT(sp.cls, 101);
    CHECK_EQ_INT(sp.sep, 102);
    CHECK_EQ_INT(rg_bert_tokenizer_id(t, "hello"), 7592);
    CHECK_EQ_INT(rg_bert_tokenizer_id(t, "##able"), 3085);
    CHECK_EQ_INT(rg_bert_tokenizer_id(t, "able##"), -1);
    rg_bert_tokenizer_free(t);
}

TEST(tokenizer_real_vocab_punctuation_case_accents)
{
    rg_bert_tokenizer *t = load_real();
    if (!t)
        return;
    CHECK_TOKENS(t, "Hello, World!", "hello , world !");
    CHECK_TOKENS(t, "don't", "don ' t");
    CHECK_TOKENS(t, "em\xe2\x80\x94" "dash", "em \xe2\x80\x94 dash");            /* U+2014 is Pd */
    CHECK_TOKENS(t, "$5 10%", "$ 5 10 %");                                        /* ASCII symbols split */
    /* accents: precomposed and combining forms both lose the mark */
    CHECK_TOKENS(t, "Caf\xc3\xa9 na\xc3\xafve R\xc3\x89SUM\xc3\x89", "cafe naive resume");
    CHECK_TOKENS(t, "cafe\xcc\x81", "cafe");
    rg_bert_tokenizer_free(t);
}

TEST(tokenizer_real_vocab_wordpiece_and_unknown)
{
    rg_bert_tokenizer *t = load_real();
    if (!t)
        return;
    /* "unaffable": longest prefixes in the vocab are una, then ##ffa, ##ble */
    CHECK_TOKENS(t, "unaffable", "una ##ffa ##ble");
    CHECK_TOKENS(t, "tokenization", "token ##ization");
    /* emoji and dingbats are not punctuation and not in the vocab: [UNK] words */
    CHECK_TOKENS(t, "I \xe2\x9d\xa4 \xf0\x9f\x98\x80", "i [UNK] [UNK]");
    /* an unknown piece makes the whole word [UNK], even after known pieces */
    CHECK_TOKENS(t, "hello\xf0\x9f\x98\x80", "[UNK]");
    /* CJK ideographs are split into single characters */
    CHECK_TOKENS(t, "\xe4\xb8\xad\xe5\x9b\xbd\xe4\xba\xba", "\xe4\xb8\xad \xe5\x9b\xbd \xe4\xba\xba");
    /* whitespace classes, control characters removed */
    CHECK_TOKENS(t, "hello\tworld\xc2\xa0" "again\x01\n", "hello world again");
    /* words longer than 100 characters are [UNK]; 100 is still split */
    char longw[102];
    memset(longw, 'a', 101);
    longw[101] = 0;
    CHECK_TOKENS(t, longw, "[UNK]");
    longw[100] = 0;
    char *s = tokens_of(t, longw, 0);
    CHECK_MSG(strncmp(s, "aaa ##aa", 8) == 0 && !strstr(s, "[UNK]"), "100 a's: %s", s);
    free(s);
    rg_bert_tokenizer_free(t);
}

TEST(tokenizer_truncates_and_counts)
{
    rg_bert_tokenizer *t = load_real();
    if (!t)
        return;
    const char *text = "Hello, World! unaffable tokenization";
    CHECK_EQ_INT(rg_bert_tokenize(t, text, strlen(text), NULL, 0), 9);
    char *s = tokens_of(t, text, 5);
    CHECK_EQ_STR(s, "hello , world ! una");
    free(s);
    CHECK_EQ_INT(rg_bert_tokenize(t, "", 0, NULL, 0), 0);
    /* invalid UTF-8 bytes are dropped, not fatal */
    CHECK_EQ_INT(rg_bert_tokenize(t, "hel\xfflo", 6, NULL, 0), 1);
    rg_bert_tokenizer_free(t);
}

TEST(tokenizer_tiny_vocab_cased_nfc)
{
    const char *vocab[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "Caf\xc3\xa9", "caf", "##e", "!"};
    rg_bert_tokenizer_opts o = rg_bert_tokenizer_default_opts();
    o.lower_case = false;
    o.strip_accents = false;
    rg_bert_tokenizer *t;
    rg_error err = {0};
    CHECK_OK(rg_bert_tokenizer_from_tokens(vocab, RG_ARRAY_LEN(vocab), &o, &t, &err), &err);
    /* cased: the decomposed spelling is composed (NFC) and matches "Café" */
    CHECK_TOKENS(t, "Cafe\xcc\x81!", "Caf\xc3\xa9 !");
    CHECK_TOKENS(t, "cafe CAFE", "caf ##e [UNK]");
    rg_bert_tokenizer_free(t);
    o = rg_bert_tokenizer_default_opts();
    CHECK_OK(rg_bert_tokenizer_from_tokens(vocab, RG_ARRAY_LEN(vocab), &o, &t, &err), &err);
    CHECK_TOKENS(t, "CAF\xc3\x89", "caf ##e");
    rg_bert_tokenizer_free(t);
    const char *novocab[] = {"[PAD]", "a"};
    CHECK(rg_bert_tokenizer_from_tokens(novocab, 2, &o, &t, &err) == RG_ERR_CORRUPT);
    CHECK(strstr(err.msg, "[CLS]"));
}

TEST(tokenizer_json_vocab_matches_txt)
{
    const char *shared = rg_test_shared_dir();
    if (!shared) {
        rg_test_skip("../shared is absent: no tokenizer.json to test against");
        return;
    }
    char *path = rg_xasprintf("%s/models/all-MiniLM-L6-v2/tokenizer.json", shared);
    rg_bert_tokenizer *tj = NULL, *tt = load_real();
    rg_error err = {0};
    rg_bert_tokenizer_opts o = rg_bert_tokenizer_default_opts();
    rg_status st = rg_bert_tokenizer_load(path, &o, &tj, &err);
    free(path);
    CHECK_OK(st, &err);
    CHECK(tt);
    CHECK_EQ_INT(rg_bert_tokenizer_vocab_size(tj), rg_bert_tokenizer_vocab_size(tt));
    char *a = tokens_of(tj, "Tokenization of unaffable caf\xc3\xa9s!", 0);
    char *b = tokens_of(tt, "Tokenization of unaffable caf\xc3\xa9s!", 0);
    int same = strcmp(a, b) == 0;
    free(a);
    free(b);
    rg_bert_tokenizer_free(tj);
    rg_bert_tokenizer_free(tt);
    CHECK(same);
}
