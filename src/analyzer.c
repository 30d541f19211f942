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

static bool is_word_char(utf8proc_int32_t cp)
{
    utf8proc_category_t c = utf8proc_category(cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
           (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
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

size_t rg_analyzer_terms(rg_analyzer *a, const char *text, rg_buf *out)
{
    utf8proc_uint8_t *norm = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)strlen(text), &norm,
                                      UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT |
                                          UTF8PROC_IGNORE);
    if (n < 0)
        return 0;
    size_t count = 0, i = 0, start = 0;
    bool in_word = false;
    const char *s = (const char *)norm;
    while (i < (size_t)n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t step = utf8proc_iterate(norm + i, n - (utf8proc_ssize_t)i, &cp);
        if (step <= 0) {
            step = 1;
            cp = ' ';
        }
        bool w = is_word_char(cp);
        if (w && !in_word) {
            start = i;
            in_word = true;
        } else if (!w && in_word) {
            count += emit(a, s + start, i - start, out);
            in_word = false;
        }
        i += (size_t)step;
    }
    if (in_word)
        count += emit(a, s + start, (size_t)n - start, out);
    free(norm);
    return count;
}
