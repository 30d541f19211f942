/* Text analysis for BM25: normalise, split into words, drop stop words,
 * stem.  See analyzer.h. */
#include "analyzer.h"

#include <libstemmer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

struct rg_analyzer {
    char name[16];
    struct sb_stemmer *stemmer; /* NULL: no stemming */
};

/* The stop list of the builtin embedder (NLTK's English list without
 * contractions): a search for "the effect of X" should be about X. */
static const char *const STOPWORDS[] = {
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
    "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once",
    "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some",
    "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
    "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
    "yourselves"};

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp((const char *)a, *(const char *const *)b);
}

bool rg_english_stopword(const char *w)
{
    return bsearch(w, STOPWORDS, RG_ARRAY_LEN(STOPWORDS), sizeof STOPWORDS[0], cmp_cstr) != NULL;
}

rg_status rg_analyzer_new(const char *stemmer, rg_analyzer **out, rg_error *err)
{
    *out = NULL;
    if (strcmp(stemmer, "english") && strcmp(stemmer, "porter") && strcmp(stemmer, "none"))
        return rg_error_set(err, RG_ERR_INVALID, "unknown stemmer '%s'; valid stemmers: english, porter, none",
                            stemmer);
    rg_analyzer *a = rg_xcalloc(1, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", stemmer);
    if (strcmp(stemmer, "none")) {
        a->stemmer = sb_stemmer_new(stemmer, NULL);
        if (!a->stemmer) {
            free(a);
            return rg_error_set(err, RG_ERR_INTERNAL, "cannot create the Snowball '%s' stemmer (libstemmer)", stemmer);
        }
    }
    *out = a;
    return RG_OK;
}

void rg_analyzer_free(rg_analyzer *a)
{
    if (!a)
        return;
    if (a->stemmer)
        sb_stemmer_delete(a->stemmer);
    free(a);
}

const char *rg_analyzer_stemmer(const rg_analyzer *a)
{
    return a->name;
}

char *rg_text_fold(const char *text, size_t len, size_t *outlen)
{
    /* ASCII runs are folded here: case folding is A-Z -> a-z and no ASCII
     * character decomposes, is a mark or is default-ignorable.  Only the
     * runs in between go through utf8proc; an ASCII character has combining
     * class 0, so no reordering of marks crosses it and folding each run
     * alone gives what folding the whole text gives. */
    rg_buf out;
    rg_buf_init(&out);
    size_t i = 0;
    while (i < len && text[i]) {
        size_t j = i;
        while (j < len && text[j] && (unsigned char)text[j] < 0x80)
            j++;
        for (; i < j; i++)
            rg_buf_putc(&out, (text[i] >= 'A' && text[i] <= 'Z') ? (char)(text[i] + ('a' - 'A')) : text[i]);
        while (j < len && (unsigned char)text[j] >= 0x80)
            j++;
        if (j == i)
            continue;
        utf8proc_uint8_t *norm = NULL;
        utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(j - i), &norm,
                                          UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_DECOMPOSE |
                                              UTF8PROC_COMPAT | UTF8PROC_IGNORE);
        if (n < 0) {
            rg_buf_free(&out);
            return NULL;
        }
        rg_buf_append(&out, (const char *)norm, (size_t)n);
        free(norm);
        i = j;
    }
    /* Words stop at a NUL, as they always did. */
    if (i < len && !rg_utf8_valid(text + i, len - i)) {
        rg_buf_free(&out);
        return NULL;
    }
    *outlen = out.len;
    if (!out.data)
        return rg_xstrdup("");
    return rg_buf_steal(&out);
}

static bool is_word_char(utf8proc_int32_t cp)
{
    if (cp < 0x80)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

void rg_text_words(const char *s, size_t n, void (*fn)(void *ctx, const char *w, size_t len), void *ctx)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t i = 0, start = 0;
    bool in_word = false;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t step = 1;
        if (p[i] < 0x80) {
            cp = p[i];
        } else {
            step = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &cp);
            if (step <= 0) {
                step = 1;
                cp = ' ';
            }
        }
        bool w = is_word_char(cp);
        if (w && !in_word) {
            start = i;
            in_word = true;
        } else if (!w && in_word) {
            fn(ctx, s + start, i - start);
            in_word = false;
        }
        i += (size_t)step;
    }
    if (in_word)
        fn(ctx, s + start, n - start);
}

static size_t emit(rg_analyzer *a, const char *w, size_t len, rg_buf *out)
{
    char word[256];
    if (len >= sizeof word)
        return 0; /* not a word a query would contain */
    memcpy(word, w, len);
    word[len] = '\0';
    if (rg_english_stopword(word))
        return 0;
    const char *t = word;
    size_t tl = len;
    if (a->stemmer) {
        const sb_symbol *st = sb_stemmer_stem(a->stemmer, (const sb_symbol *)word, (int)len);
        if (st) {
            t = (const char *)st;
            tl = (size_t)sb_stemmer_length(a->stemmer);
        }
    }
    if (!tl)
        return 0;
    if (out->len && out->data[out->len - 1] != ' ')
        rg_buf_putc(out, ' ');
    rg_buf_append(out, t, tl);
    return 1;
}

typedef struct terms_ctx {
    rg_analyzer *a;
    rg_buf *out;
    size_t count;
} terms_ctx;

static void on_term(void *ctx, const char *w, size_t len)
{
    terms_ctx *t = ctx;
    t->count += emit(t->a, w, len, t->out);
}

size_t rg_analyzer_terms(rg_analyzer *a, const char *text, rg_buf *out)
{
    size_t n = 0;
    char *norm = rg_text_fold(text, strlen(text), &n);
    if (!norm)
        return 0;
    terms_ctx t = {a, out, 0};
    rg_text_words(norm, n, on_term, &t);
    free(norm);
    return t.count;
}
