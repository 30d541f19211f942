/* BERT basic tokenizer + WordPiece.  See bert_tokenizer.h.
 *
 * The text is processed one code point at a time: cleaning, CJK splitting,
 * lower-casing, accent stripping and punctuation splitting are all local to a
 * character, so a single pass produces the words WordPiece needs without the
 * intermediate strings the reference implementation builds. */
#include "bert_tokenizer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util.h"

struct rg_bert_tokenizer {
    rg_bert_tokenizer_opts opts;
    char **tokens;            /* id -> text (NULL for ids a tokenizer.json skips) */
    size_t ntokens;
    int32_t *slots;           /* open addressing: id or -1 */
    size_t nslots;            /* power of two */
    rg_bert_special_ids sp;
};

rg_bert_tokenizer_opts rg_bert_tokenizer_default_opts(void)
{
    return (rg_bert_tokenizer_opts){.lower_case = true, .strip_accents = true, .tokenize_cjk = true,
                                    .max_chars_per_word = 100};
}

static uint64_t hash_piece(const char *prefix, size_t plen, const char *s, size_t n)
{
    /* Hash of prefix+s without building the concatenation. */
    uint64_t h = rg_hash64(prefix, plen, 0x9e3779b97f4a7c15ULL);
    return rg_hash64(s, n, h);
}

static int32_t lookup(const rg_bert_tokenizer *t, bool cont, const char *s, size_t n)
{
    size_t plen = cont ? 2 : 0;
    uint64_t h = hash_piece("##", plen, s, n);
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0)
            return -1;
        const char *tok = t->tokens[id];
        size_t tl = strlen(tok);
        if (tl == plen + n && (!cont || (tok[0] == '#' && tok[1] == '#')) && memcmp(tok + plen, s, n) == 0)
            return id;
    }
}

static rg_status build_index(rg_bert_tokenizer *t, rg_error *err)
{
    size_t cap = 16;
    while (cap < t->ntokens * 2)
        cap <<= 1;
    t->nslots = cap;
    t->slots = rg_xmalloc(cap * sizeof *t->slots);
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    for (size_t id = 0; id < t->ntokens; id++) {
        const char *tok = t->tokens[id];
        if (!tok)
            continue;
        size_t n = strlen(tok);
        bool cont = n >= 2 && tok[0] == '#' && tok[1] == '#';
        /* A duplicate keeps its first id, like a Python dict built in order
         * would keep the last; vocab.txt files have no duplicates in
         * practice, and the first is what WordPiece implementations use. */
        if (lookup(t, cont, tok + (cont ? 2 : 0), n - (cont ? 2 : 0)) >= 0)
            continue;
        uint64_t h = hash_piece("##", cont ? 2 : 0, tok + (cont ? 2 : 0), n - (cont ? 2 : 0));
        size_t i = (size_t)h & (cap - 1);
        while (t->slots[i] >= 0)
            i = (i + 1) & (cap - 1);
        t->slots[i] = (int32_t)id;
    }
    const char *names[4] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]"};
    int32_t ids[4];
    for (int i = 0; i < 4; i++) {
        ids[i] = rg_bert_tokenizer_id(t, names[i]);
        if (ids[i] < 0 && i != 2)
            return rg_error_set(err, RG_ERR_CORRUPT,
                                "the vocabulary has no %s token; is this a BERT WordPiece vocabulary?", names[i]);
    }
    t->sp = (rg_bert_special_ids){.cls = ids[0], .sep = ids[1], .pad = ids[2] < 0 ? 0 : ids[2], .unk = ids[3]};
    return RG_OK;
}

static rg_bert_tokenizer *tokenizer_new(const rg_bert_tokenizer_opts *opts)
{
    rg_bert_tokenizer *t = rg_xcalloc(1, sizeof *t);
    t->opts = opts ? *opts : rg_bert_tokenizer_default_opts();
    if (t->opts.max_chars_per_word <= 0)
        t->opts.max_chars_per_word = 100;
    return t;
}

rg_status rg_bert_tokenizer_from_tokens(const char *const *tokens, size_t n, const rg_bert_tokenizer_opts *opts,
                                        rg_bert_tokenizer **out, rg_error *err)
{
    rg_bert_tokenizer *t = tokenizer_new(opts);
    t->tokens = rg_xcalloc(n ? n : 1, sizeof *t->tokens);
    t->ntokens = n;
    for (size_t i = 0; i < n; i++)
        t->tokens[i] = rg_xstrdup(tokens[i]);
    rg_status st = build_index(t, err);
    if (st != RG_OK) {
        rg_bert_tokenizer_free(t);
        return st;
    }
    *out = t;
    return RG_OK;
}

static rg_status load_tokenizer_json(rg_bert_tokenizer *t, const char *path, rg_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: invalid JSON at line %d: %s", path, jerr.line, jerr.text);
    json_t *vocab = json_object_get(json_object_get(root, "model"), "vocab");
    const char *type = json_string_value(json_object_get(json_object_get(root, "model"), "type"));
    if (!json_is_object(vocab) || (type && strcmp(type, "WordPiece") != 0)) {
        /* type points into root: format the message before freeing it. */
        rg_status st = rg_error_set(err, RG_ERR_INVALID, "%s: not a WordPiece tokenizer (model.type is %s); "
                                    "ragged's bert engine reads BERT WordPiece vocabularies only",
                                    path, type ? type : "missing");
        json_decref(root);
        return st;
    }
    size_t maxid = 0;
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id > 10000000) {
            rg_status st = rg_error_set(err, RG_ERR_CORRUPT, "%s: token '%s' has an invalid id", path, key);
            json_decref(root);
            return st;
        }
        if ((size_t)id + 1 > maxid)
            maxid = (size_t)id + 1;
    }
    t->ntokens = maxid;
    t->tokens = rg_xcalloc(maxid ? maxid : 1, sizeof *t->tokens);
    json_object_foreach(vocab, key, val) {
        size_t id = (size_t)json_integer_value(val);
        if (!t->tokens[id])
            t->tokens[id] = rg_xstrdup(key);
    }
    json_decref(root);
    return RG_OK;
}

static rg_status load_vocab_txt(rg_bert_tokenizer *t, const char *path, rg_error *err)
{
    char *data;
    size_t len;
    rg_status st = rg_read_file(path, (size_t)1 << 30, &data, &len, err);
    if (st != RG_OK)
        return st;
    size_t cap = 1024;
    t->tokens = rg_xmalloc(cap * sizeof *t->tokens);
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - data) : len;
        size_t e = end;
        if (e > pos && data[e - 1] == '\r')
            e--;
        if (t->ntokens == cap) {
            cap *= 2;
            t->tokens = rg_xrealloc(t->tokens, cap * sizeof *t->tokens);
        }
        t->tokens[t->ntokens++] = rg_xstrndup(data + pos, e - pos);
        pos = end + 1;
    }
    free(data);
    if (t->ntokens == 0)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: the vocabulary is empty", path);
    return RG_OK;
}

rg_status rg_bert_tokenizer_load(const char *path, const rg_bert_tokenizer_opts *opts, rg_bert_tokenizer **out,
                                 rg_error *err)
{
    rg_bert_tokenizer *t = tokenizer_new(opts);
    size_t n = strlen(path);
    bool json = n >= 5 && strcmp(path + n - 5, ".json") == 0;
    rg_status st = json ? load_tokenizer_json(t, path, err) : load_vocab_txt(t, path, err);
    if (st == RG_OK)
        st = build_index(t, err);
    if (st != RG_OK) {
        rg_bert_tokenizer_free(t);
        return st;
    }
    *out = t;
    return RG_OK;
}

void rg_bert_tokenizer_free(rg_bert_tokenizer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ntokens; i++)
        free(t->tokens[i]);
    free(t->tokens);
    free(t->slots);
    free(t);
}

size_t rg_bert_tokenizer_vocab_size(const rg_bert_tokenizer *t) { return t->ntokens; }

int32_t rg_bert_tokenizer_id(const rg_bert_tokenizer *t, const char *token)
{
    size_t n = strlen(token);
    bool cont = n >= 2 && token[0] == '#' && token[1] == '#';
    return lookup(t, cont, token + (cont ? 2 : 0), n - (cont ? 2 : 0));
}

const char *rg_bert_tokenizer_token(const rg_bert_tokenizer *t, int32_t id)
{
    return id >= 0 && (size_t)id < t->ntokens ? t->tokens[id] : NULL;
}

rg_bert_special_ids rg_bert_tokenizer_specials(const rg_bert_tokenizer *t) { return t->sp; }

rg_tok_template rg_bert_tokenizer_template(const rg_bert_tokenizer *t)
{
    rg_tok_template tp = {
        .nsingle = 3,
        .npair = 5,
        .single = {{-1, 0, t->sp.cls}, {0, 0, 0}, {-1, 0, t->sp.sep}},
        .pair = {{-1, 0, t->sp.cls}, {0, 0, 0}, {-1, 0, t->sp.sep}, {1, 1, 0}, {-1, 1, t->sp.sep}},
    };
    return tp;
}

int rg_tok_template_specials(const rg_tok_template *tp, bool pair)
{
    int n = pair ? tp->npair : tp->nsingle, k = 0;
    const rg_tok_item *it = pair ? tp->pair : tp->single;
    for (int i = 0; i < n; i++)
        k += it[i].seq < 0;
    return k;
}

/* ---- character classes, as BERT defines them ---- */

static bool is_whitespace(int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return true;
    return utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

static bool is_control(int32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN:
        return true;
    default:
        return false;
    }
}

static bool is_punctuation(int32_t c)
{
    /* BERT counts all non-alphanumeric ASCII as punctuation ("$", "^", "`"
     * are symbols in Unicode). */
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return true;
    default:
        return false;
    }
}

static bool is_cjk(int32_t c)
{
    /* The CJK Unified Ideographs blocks BERT splits on (not Hangul, kana). */
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* ---- tokenization ---- */

typedef struct tok_state {
    const rg_bert_tokenizer *t;
    int32_t *ids;
    size_t cap, count;
    bool full;
    int32_t *word;            /* code points of the current word */
    size_t wlen, wcap;
    char *bytes;              /* UTF-8 of the word */
    size_t *offs;             /* byte offset of each code point, plus the end */
} tok_state;

static void emit(tok_state *s, int32_t id)
{
    if (s->ids) {
        if (s->count >= s->cap) {
            s->full = true;
            return;
        }
        s->ids[s->count] = id;
    }
    s->count++;
    if (s->ids && s->count >= s->cap)
        s->full = true;
}

static void wordpiece(tok_state *s)
{
    size_t n = s->wlen;
    if (n == 0)
        return;
    s->wlen = 0;
    const rg_bert_tokenizer *t = s->t;
    if (n > (size_t)t->opts.max_chars_per_word) {
        emit(s, t->sp.unk);
        return;
    }
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        s->offs[i] = b;
        b += (size_t)utf8proc_encode_char(s->word[i], (utf8proc_uint8_t *)s->bytes + b);
    }
    s->offs[n] = b;
    /* Greedy longest match first; one unmatched piece makes the whole word
     * [UNK] (BERT discards the pieces already found). */
    int32_t pieces[256];
    int32_t *pc = n <= 256 ? pieces : rg_xmalloc(n * sizeof *pc);
    size_t np = 0, start = 0;
    bool bad = false;
    while (start < n) {
        int32_t found = -1;
        size_t end = n;
        for (; end > start; end--) {
            found = lookup(t, start > 0, s->bytes + s->offs[start], s->offs[end] - s->offs[start]);
            if (found >= 0)
                break;
        }
        if (found < 0) {
            bad = true;
            break;
        }
        pc[np++] = found;
        start = end;
    }
    if (bad)
        emit(s, t->sp.unk);
    else
        for (size_t i = 0; i < np && !s->full; i++)
            emit(s, pc[i]);
    if (pc != pieces)
        free(pc);
}

static void push_char(tok_state *s, int32_t c)
{
    if (s->wlen == s->wcap) {
        s->wcap = s->wcap ? s->wcap * 2 : 64;
        s->word = rg_xrealloc(s->word, s->wcap * sizeof *s->word);
        s->bytes = rg_xrealloc(s->bytes, s->wcap * 4 + 4);
        s->offs = rg_xrealloc(s->offs, (s->wcap + 1) * sizeof *s->offs);
    }
    s->word[s->wlen++] = c;
}

/* A character after cleaning and CJK handling: case, accents, punctuation. */
static void feed(tok_state *s, int32_t c)
{
    const rg_bert_tokenizer_opts *o = &s->t->opts;
    if (o->lower_case)
        c = utf8proc_tolower(c);
    int32_t dec[32];
    utf8proc_ssize_t nd = 1;
    dec[0] = c;
    if (o->strip_accents) {
        int boundclass = 0;
        nd = utf8proc_decompose_char(c, dec, 32, UTF8PROC_DECOMPOSE, &boundclass);
        if (nd < 0 || nd > 32) {
            dec[0] = c;
            nd = 1;
        }
    }
    for (utf8proc_ssize_t i = 0; i < nd; i++) {
        int32_t d = dec[i];
        if (o->strip_accents && utf8proc_category(d) == UTF8PROC_CATEGORY_MN)
            continue;
        if (is_punctuation(d)) {
            wordpiece(s);
            push_char(s, d);
            wordpiece(s);
        } else {
            push_char(s, d);
        }
    }
}

size_t rg_bert_tokenize(const rg_bert_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap)
{
    tok_state s = {.t = t, .ids = ids, .cap = cap};
    if (ids && cap == 0)
        return 0;
    /* Cased models keep accents, so composed and decomposed spellings must
     * meet: normalise to NFC first as transformers does.  (With lower-casing
     * and accent stripping the text ends up in NFD regardless.) */
    utf8proc_uint8_t *nfc = NULL;
    if (!t->opts.strip_accents && len > 0) {
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len, &nfc,
                                          UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (r >= 0) {
            text = (const char *)nfc;
            len = (size_t)r;
        } else {
            nfc = NULL;   /* invalid UTF-8: fall back to the raw text, bad bytes are dropped below */
        }
    }
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)text;
    size_t pos = 0;
    while (pos < len && !s.full) {
        int32_t c;
        utf8proc_ssize_t n = utf8proc_iterate(p + pos, (utf8proc_ssize_t)(len - pos), &c);
        if (n <= 0) {           /* invalid byte: skip it */
            pos++;
            continue;
        }
        pos += (size_t)n;
        if (c == 0 || c == 0xFFFD || is_control(c))
            continue;
        if (is_whitespace(c)) {
            wordpiece(&s);
        } else if (t->opts.tokenize_cjk && is_cjk(c)) {
            wordpiece(&s);
            feed(&s, c);
            wordpiece(&s);
        } else {
            feed(&s, c);
        }
    }
    if (!s.full)
        wordpiece(&s);
    free(s.word);
    free(s.bytes);
    free(s.offs);
    free(nfc);
    return s.count;
}
