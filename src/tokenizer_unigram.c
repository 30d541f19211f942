/* SentencePiece Unigram tokenization from tokenizer.json.  See
 * tokenizer_unigram.h; the algorithms follow the `tokenizers` library
 * (normalizers/precompiled.rs, pre_tokenizers/metaspace.rs,
 * models/unigram/model.rs), and tests/ref/unigram_ref.py is an independent
 * Python implementation of the same definitions that the tests compare with. */
#include "tokenizer_unigram.h"

#include <jansson.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util.h"

/* ---- normalizers ---- */

typedef enum norm_kind { N_NFC, N_NFD, N_NFKC, N_NFKD, N_LOWER, N_STRIP, N_REPLACE, N_REGEX, N_PREPEND, N_PRECOMPILED } norm_kind;

typedef struct normalizer {
    norm_kind kind;
    bool left, right;             /* Strip */
    char *pattern, *content;      /* Replace (string pattern), Prepend (content) */
    regex_t re;                   /* Replace (regex pattern) */
    uint32_t *trie;               /* Precompiled: darts-clone double array */
    size_t ntrie;
    char *normalized;             /* Precompiled: NUL-separated replacements */
    size_t nnormalized;
} normalizer;

typedef enum meta_scheme { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } meta_scheme;

typedef struct pretok {
    bool metaspace;               /* else WhitespaceSplit */
    char rep[8];                  /* Metaspace replacement (UTF-8), e.g. U+2581 */
    size_t nrep;
    meta_scheme scheme;
    bool split;
} pretok;

struct rg_unigram_tokenizer {
    char **pieces;
    size_t *lens;                 /* strlen of each piece */
    double *scores;
    size_t npieces;
    int32_t *slots;               /* open addressing over pieces: id or -1 */
    size_t nslots;
    size_t max_piece_bytes;
    double unk_score;             /* min score - 10, as tokenizers' K_UNK_PENALTY */
    int32_t unk_id;
    bool byte_fallback;
    int32_t byte_ids[256];        /* <0xXX> pieces, -1 when absent */
    normalizer *norms;
    size_t nnorms;
    pretok *pres;
    size_t npres;
    rg_tok_template tmpl;
};

/* ---- vocabulary index ---- */

/* FNV-1a, extended one byte at a time: Viterbi tries every piece length at
 * a position, and an incremental hash keeps that linear in the longest
 * piece instead of quadratic. */
#define FNV_BASIS 0xcbf29ce484222325ULL
static inline uint64_t fnv_step(uint64_t h, unsigned char c) { return (h ^ c) * 0x100000001b3ULL; }

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = FNV_BASIS;
    for (size_t i = 0; i < n; i++)
        h = fnv_step(h, (unsigned char)s[i]);
    return h;
}

static int32_t piece_id_h(const rg_unigram_tokenizer *t, const char *s, size_t n, uint64_t h)
{
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)(h ^ (h >> 29)) & mask;; i = (i + 1) & mask) {
        int32_t id = t->slots[i];
        if (id < 0)
            return -1;
        if (t->lens[id] == n && memcmp(t->pieces[id], s, n) == 0)
            return id;
    }
}

static int32_t piece_id(const rg_unigram_tokenizer *t, const char *s, size_t n)
{
    return piece_id_h(t, s, n, fnv(s, n));
}

static void build_index(rg_unigram_tokenizer *t)
{
    size_t cap = 16;
    while (cap < t->npieces * 2)
        cap <<= 1;
    t->nslots = cap;
    t->slots = rg_xmalloc(cap * sizeof *t->slots);
    memset(t->slots, 0xff, cap * sizeof *t->slots);
    t->lens = rg_xmalloc((t->npieces ? t->npieces : 1) * sizeof *t->lens);
    for (size_t id = 0; id < t->npieces; id++)
        t->lens[id] = strlen(t->pieces[id]);
    for (size_t id = 0; id < t->npieces; id++) {
        size_t n = t->lens[id];
        if (n == 0)
            continue;
        t->max_piece_bytes = RG_MAX(t->max_piece_bytes, n);
        /* A duplicate piece maps to its last id, as tokenizers' token_to_ids
         * map (built in vocabulary order) does. */
        uint64_t h = fnv(t->pieces[id], n);
        size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
        for (;; i = (i + 1) & (cap - 1)) {
            int32_t o = t->slots[i];
            if (o < 0 || (t->lens[o] == n && memcmp(t->pieces[o], t->pieces[id], n) == 0))
                break;
        }
        t->slots[i] = (int32_t)id;
    }
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = piece_id(t, name, 6);
    }
}

/* ---- Precompiled (SentencePiece's compiled normalisation map) ---- */

static size_t b64_decode(const char *in, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *in; in++) {
        int v;
        char c = *in;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+') v = 62;
        else if (c == '/') v = 63;
        else if (c == '=') break;
        else return (size_t)-1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

static rg_status precompiled_parse(normalizer *nm, const char *b64, const char *name, rg_error *err)
{
    size_t blen = strlen(b64);
    unsigned char *raw = rg_xmalloc(blen / 4 * 3 + 4);
    size_t n = b64_decode(b64, raw);
    uint32_t tsize = 0;
    if (n != (size_t)-1 && n >= 4)
        tsize = rg_le32(raw);
    if (n == (size_t)-1 || n < 4 || tsize % 4 || tsize == 0 || (size_t)tsize > n - 4) {
        free(raw);
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: the Precompiled normalizer's precompiled_charsmap is not a "
                            "valid SentencePiece character map", name);
    }
    nm->ntrie = tsize / 4;
    nm->trie = rg_xmalloc(nm->ntrie * sizeof *nm->trie);
    for (size_t i = 0; i < nm->ntrie; i++) {
        const unsigned char *u = raw + 4 + i * 4;
        nm->trie[i] = rg_le32(u);
    }
    nm->nnormalized = n - 4 - tsize;
    nm->normalized = rg_xmalloc(nm->nnormalized + 1);
    memcpy(nm->normalized, raw + 4 + tsize, nm->nnormalized);
    nm->normalized[nm->nnormalized] = '\0';
    free(raw);
    return RG_OK;
}

/* darts-clone common-prefix search; the replacement of the first (shortest)
 * matching prefix, as spm_precompiled's transform() takes results[0]. */
static const char *precompiled_lookup(const normalizer *nm, const char *s, size_t n)
{
#define D_LEAF(u) (((u) >> 8) & 1)
#define D_VALUE(u) ((u) & 0x7fffffffu)
#define D_LABEL(u) ((u) & (0x80000000u | 0xffu))
#define D_OFFSET(u) (((size_t)(u) >> 10) << (((u) & (1u << 9)) >> 6))
    size_t pos = 0;
    if (nm->ntrie == 0)
        return NULL;
    uint32_t unit = nm->trie[0];
    pos ^= D_OFFSET(unit);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0)
            break;
        pos ^= c;
        if (pos >= nm->ntrie)
            return NULL;
        unit = nm->trie[pos];
        if (D_LABEL(unit) != c)
            return NULL;
        pos ^= D_OFFSET(unit);
        if (pos >= nm->ntrie)
            return NULL;
        if (D_LEAF(unit)) {
            size_t v = D_VALUE(nm->trie[pos]);
            return v < nm->nnormalized ? nm->normalized + v : NULL;
        }
    }
    return NULL;
#undef D_LEAF
#undef D_VALUE
#undef D_LABEL
#undef D_OFFSET
}

static void precompiled_apply(const normalizer *nm, const char *s, size_t n, rg_buf *out)
{
    /* Grapheme by grapheme: a whole cluster shorter than 6 bytes is looked
     * up first, then its characters one by one. */
    size_t pos = 0;
    while (pos < n) {
        utf8proc_int32_t c, prev;
        utf8proc_int32_t state = 0;
        size_t g = pos;
        utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)s + g, (utf8proc_ssize_t)(n - g), &prev);
        g += (size_t)l;
        while (g < n) {
            l = utf8proc_iterate((const uint8_t *)s + g, (utf8proc_ssize_t)(n - g), &c);
            if (utf8proc_grapheme_break_stateful(prev, c, &state))
                break;
            prev = c;
            g += (size_t)l;
        }
        const char *rep = g - pos < 6 ? precompiled_lookup(nm, s + pos, g - pos) : NULL;
        if (rep) {
            rg_buf_puts(out, rep);
        } else {
            for (size_t p = pos; p < g;) {
                l = utf8proc_iterate((const uint8_t *)s + p, (utf8proc_ssize_t)(g - p), &c);
                rep = precompiled_lookup(nm, s + p, (size_t)l);
                if (rep)
                    rg_buf_puts(out, rep);
                else
                    rg_buf_append(out, s + p, (size_t)l);
                p += (size_t)l;
            }
        }
        pos = g;
    }
}

static bool is_ws(utf8proc_int32_t c)
{
    /* Rust's char::is_whitespace: the Unicode White_Space property. */
    return (c >= 9 && c <= 13) || c == ' ' || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Applies one normalizer to in (valid UTF-8) into out. */
static void normalize_one(const normalizer *nm, const char *in, size_t n, rg_buf *out)
{
    switch (nm->kind) {
    case N_NFC: case N_NFD: case N_NFKC: case N_NFKD: {
        int flags = UTF8PROC_STABLE | (nm->kind == N_NFC || nm->kind == N_NFKC ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
                    (nm->kind == N_NFKC || nm->kind == N_NFKD ? UTF8PROC_COMPAT : 0);
        utf8proc_uint8_t *m = NULL;
        utf8proc_ssize_t r = n ? utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)n, &m,
                                              (utf8proc_option_t)flags) : 0;
        if (r >= 0 && m)
            rg_buf_append(out, m, (size_t)r);
        else if (r < 0)
            rg_buf_append(out, in, n);
        free(m);
        return;
    }
    case N_LOWER:
        for (size_t p = 0; p < n;) {
            utf8proc_int32_t c;
            utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)in + p, (utf8proc_ssize_t)(n - p), &c);
            uint8_t buf[4];
            rg_buf_append(out, buf, (size_t)utf8proc_encode_char(utf8proc_tolower(c), buf));
            p += (size_t)l;
        }
        return;
    case N_STRIP: {
        size_t a = 0, b = n;
        utf8proc_int32_t c;
        while (nm->left && a < b) {
            utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)in + a, (utf8proc_ssize_t)(b - a), &c);
            if (!is_ws(c))
                break;
            a += (size_t)l;
        }
        while (nm->right && b > a) {
            size_t s = b - 1;
            while (s > a && ((unsigned char)in[s] & 0xc0) == 0x80)
                s--;
            utf8proc_iterate((const uint8_t *)in + s, (utf8proc_ssize_t)(b - s), &c);
            if (!is_ws(c))
                break;
            b = s;
        }
        rg_buf_append(out, in + a, b - a);
        return;
    }
    case N_REPLACE: {
        size_t pl = strlen(nm->pattern);
        for (size_t p = 0; p < n;) {
            if (pl && p + pl <= n && memcmp(in + p, nm->pattern, pl) == 0) {
                rg_buf_puts(out, nm->content);
                p += pl;
            } else {
                rg_buf_putc(out, in[p++]);
            }
        }
        return;
    }
    case N_REGEX: {
        /* regexec needs a C string; the text may hold NUL bytes, which are
         * copied through (and end a match window). */
        char *s = rg_xstrndup(in, n);
        size_t p = 0;
        while (p < n) {
            regmatch_t m;
            if (s[p] == '\0') {
                rg_buf_putc(out, '\0');
                p++;
                continue;
            }
            if (regexec(&nm->re, s + p, 1, &m, p ? REG_NOTBOL : 0) != 0 || m.rm_so < 0) {
                rg_buf_puts(out, s + p);
                p += strlen(s + p);
                continue;
            }
            rg_buf_append(out, s + p, (size_t)m.rm_so);
            rg_buf_puts(out, nm->content);
            if (m.rm_eo == m.rm_so) {   /* empty match: step one byte */
                if (s[p + (size_t)m.rm_so])
                    rg_buf_putc(out, s[p + (size_t)m.rm_so]);
                p += (size_t)m.rm_so + 1;
            } else {
                p += (size_t)m.rm_eo;
            }
        }
        free(s);
        return;
    }
    case N_PREPEND:
        if (n)
            rg_buf_puts(out, nm->content);
        rg_buf_append(out, in, n);
        return;
    case N_PRECOMPILED:
        precompiled_apply(nm, in, n, out);
        return;
    }
}

/* ---- loading ---- */

static rg_status parse_normalizer(rg_unigram_tokenizer *t, json_t *j, const char *name, rg_error *err)
{
    if (!j || json_is_null(j))
        return RG_OK;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && !strcmp(type, "Sequence")) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(j, "normalizers"), i, sub) {
            rg_status st = parse_normalizer(t, sub, name, err);
            if (st != RG_OK)
                return st;
        }
        return RG_OK;
    }
    if (t->nnorms >= 32)
        return rg_error_set(err, RG_ERR_INVALID, "%s: more than 32 normalizers", name);
    normalizer nm = {0};
    if (!type)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: a normalizer has no type", name);
    if (!strcmp(type, "NFC")) nm.kind = N_NFC;
    else if (!strcmp(type, "NFD")) nm.kind = N_NFD;
    else if (!strcmp(type, "NFKC")) nm.kind = N_NFKC;
    else if (!strcmp(type, "NFKD")) nm.kind = N_NFKD;
    else if (!strcmp(type, "Lowercase")) nm.kind = N_LOWER;
    else if (!strcmp(type, "Strip")) {
        nm.kind = N_STRIP;
        nm.left = json_is_true(json_object_get(j, "strip_left"));
        nm.right = json_is_true(json_object_get(j, "strip_right"));
    } else if (!strcmp(type, "Prepend")) {
        const char *p = json_string_value(json_object_get(j, "prepend"));
        if (!p)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: Prepend normalizer without 'prepend'", name);
        nm.kind = N_PREPEND;
        nm.content = rg_xstrdup(p);
    } else if (!strcmp(type, "Replace")) {
        json_t *pat = json_object_get(j, "pattern");
        const char *content = json_string_value(json_object_get(j, "content"));
        const char *str = json_string_value(json_object_get(pat, "String"));
        const char *re = json_string_value(json_object_get(pat, "Regex"));
        if (!content || (!str && !re))
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: Replace normalizer needs pattern.String or "
                                "pattern.Regex and content", name);
        if (str) {
            nm.kind = N_REPLACE;
            nm.pattern = rg_xstrdup(str);
        } else {
            nm.kind = N_REGEX;
            if (regcomp(&nm.re, re, REG_EXTENDED) != 0)
                return rg_error_set(err, RG_ERR_INVALID, "%s: the Replace pattern /%s/ is not a regular expression "
                                    "ragged can read (POSIX extended syntax)", name, re);
        }
        nm.content = rg_xstrdup(content);
    } else if (!strcmp(type, "Precompiled")) {
        const char *b64 = json_string_value(json_object_get(j, "precompiled_charsmap"));
        nm.kind = N_PRECOMPILED;
        if (b64 && *b64) {
            rg_status st = precompiled_parse(&nm, b64, name, err);
            if (st != RG_OK)
                return st;
        }
    } else {
        return rg_error_set(err, RG_ERR_INVALID, "%s: normalizer '%s' is not supported (ragged reads Precompiled, "
                            "NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend)", name, type);
    }
    t->norms = rg_xrealloc(t->norms, (t->nnorms + 1) * sizeof *t->norms);
    t->norms[t->nnorms++] = nm;
    return RG_OK;
}

static rg_status parse_pretokenizer(rg_unigram_tokenizer *t, json_t *j, const char *name, rg_error *err)
{
    if (!j || json_is_null(j))
        return RG_OK;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && !strcmp(type, "Sequence")) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(j, "pretokenizers"), i, sub) {
            rg_status st = parse_pretokenizer(t, sub, name, err);
            if (st != RG_OK)
                return st;
        }
        return RG_OK;
    }
    if (t->npres >= 8)
        return rg_error_set(err, RG_ERR_INVALID, "%s: more than 8 pre-tokenizers", name);
    pretok p = {0};
    if (type && !strcmp(type, "WhitespaceSplit")) {
        p.metaspace = false;
    } else if (type && !strcmp(type, "Metaspace")) {
        p.metaspace = true;
        const char *rep = json_string_value(json_object_get(j, "replacement"));
        if (!rep)
            rep = "\xe2\x96\x81";
        p.nrep = strlen(rep);
        if (p.nrep == 0 || p.nrep >= sizeof p.rep || utf8proc_iterate((const uint8_t *)rep, (utf8proc_ssize_t)p.nrep,
                                                                      &(utf8proc_int32_t){0}) != (utf8proc_ssize_t)p.nrep)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: Metaspace replacement must be one character", name);
        memcpy(p.rep, rep, p.nrep);
        const char *scheme = json_string_value(json_object_get(j, "prepend_scheme"));
        json_t *aps = json_object_get(j, "add_prefix_space");
        if (scheme)
            p.scheme = !strcmp(scheme, "first") ? PREPEND_FIRST : !strcmp(scheme, "never") ? PREPEND_NEVER
                                                                                            : PREPEND_ALWAYS;
        else
            p.scheme = json_is_false(aps) ? PREPEND_NEVER : PREPEND_ALWAYS;
        json_t *split = json_object_get(j, "split");
        p.split = !json_is_false(split);
    } else {
        return rg_error_set(err, RG_ERR_INVALID, "%s: pre-tokenizer '%s' is not supported with a Unigram model "
                            "(ragged reads Metaspace and WhitespaceSplit)", name, type ? type : "without a type");
    }
    t->pres = rg_xrealloc(t->pres, (t->npres + 1) * sizeof *t->pres);
    t->pres[t->npres++] = p;
    return RG_OK;
}

/* The id of a special token named in a post-processor. */
static rg_status special_id(const rg_unigram_tokenizer *t, json_t *specials, const char *tok, int32_t *id,
                            const char *name, rg_error *err)
{
    json_t *ids = json_object_get(json_object_get(specials, tok), "ids");
    if (json_array_size(ids) == 1 && json_is_integer(json_array_get(ids, 0))) {
        *id = (int32_t)json_integer_value(json_array_get(ids, 0));
    } else {
        *id = piece_id(t, tok, strlen(tok));
    }
    if (*id < 0 || (size_t)*id >= t->npieces)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: post_processor special token '%s' is not in the vocabulary",
                            name, tok);
    return RG_OK;
}

static rg_status parse_template_list(const rg_unigram_tokenizer *t, json_t *list, json_t *specials, rg_tok_item *out,
                                     int *n, const char *name, rg_error *err)
{
    size_t i;
    json_t *it;
    *n = 0;
    json_array_foreach(list, i, it) {
        if (*n >= RG_TOK_TEMPLATE_MAX)
            return rg_error_set(err, RG_ERR_INVALID, "%s: post_processor template is too long", name);
        json_t *sp = json_object_get(it, "SpecialToken"), *sq = json_object_get(it, "Sequence");
        json_t *o = sp ? sp : sq;
        const char *idname = json_string_value(json_object_get(o, "id"));
        json_t *type = json_object_get(o, "type_id");
        if (!o || !idname)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: post_processor template item %zu is neither a "
                                "SpecialToken nor a Sequence", name, i);
        rg_tok_item x = {.type_id = (uint8_t)(json_is_integer(type) ? json_integer_value(type) & 0xff : 0)};
        if (sp) {
            x.seq = -1;
            rg_status st = special_id(t, specials, idname, &x.id, name, err);
            if (st != RG_OK)
                return st;
        } else {
            if (strcmp(idname, "A") && strcmp(idname, "B"))
                return rg_error_set(err, RG_ERR_CORRUPT, "%s: post_processor sequence '%s' (A or B)", name, idname);
            x.seq = idname[0] == 'A' ? 0 : 1;
        }
        out[(*n)++] = x;
    }
    return RG_OK;
}

static rg_status parse_post(rg_unigram_tokenizer *t, json_t *j, const char *name, rg_error *err)
{
    rg_tok_template *tp = &t->tmpl;
    tp->nsingle = 1;
    tp->single[0] = (rg_tok_item){0, 0, 0};
    tp->npair = 2;
    tp->pair[0] = (rg_tok_item){0, 0, 0};
    tp->pair[1] = (rg_tok_item){1, 1, 0};
    if (!j || json_is_null(j))
        return RG_OK;
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && !strcmp(type, "TemplateProcessing")) {
        json_t *sp = json_object_get(j, "special_tokens");
        rg_status st = parse_template_list(t, json_object_get(j, "single"), sp, tp->single, &tp->nsingle, name, err);
        if (st == RG_OK)
            st = parse_template_list(t, json_object_get(j, "pair"), sp, tp->pair, &tp->npair, name, err);
        return st;
    }
    if (type && (!strcmp(type, "RobertaProcessing") || !strcmp(type, "BertProcessing"))) {
        json_t *sep = json_object_get(j, "sep"), *cls = json_object_get(j, "cls");
        json_t *sid = json_array_get(sep, 1), *cid = json_array_get(cls, 1);
        if (!json_is_integer(sid) || !json_is_integer(cid) || json_integer_value(sid) < 0 ||
            json_integer_value(cid) < 0 || (size_t)json_integer_value(sid) >= t->npieces ||
            (size_t)json_integer_value(cid) >= t->npieces)
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: %s needs sep and cls as [token, id] in the vocabulary",
                                name, type);
        int32_t s = (int32_t)json_integer_value(sid), c = (int32_t)json_integer_value(cid);
        tp->nsingle = 3;
        tp->single[0] = (rg_tok_item){-1, 0, c};
        tp->single[1] = (rg_tok_item){0, 0, 0};
        tp->single[2] = (rg_tok_item){-1, 0, s};
        if (type[0] == 'R') {  /* <s> A </s></s> B </s>, one token type */
            tp->npair = 6;
            tp->pair[0] = (rg_tok_item){-1, 0, c};
            tp->pair[1] = (rg_tok_item){0, 0, 0};
            tp->pair[2] = (rg_tok_item){-1, 0, s};
            tp->pair[3] = (rg_tok_item){-1, 0, s};
            tp->pair[4] = (rg_tok_item){1, 0, 0};
            tp->pair[5] = (rg_tok_item){-1, 0, s};
        } else {
            tp->npair = 5;
            tp->pair[0] = (rg_tok_item){-1, 0, c};
            tp->pair[1] = (rg_tok_item){0, 0, 0};
            tp->pair[2] = (rg_tok_item){-1, 0, s};
            tp->pair[3] = (rg_tok_item){1, 1, 0};
            tp->pair[4] = (rg_tok_item){-1, 1, s};
        }
        return RG_OK;
    }
    return rg_error_set(err, RG_ERR_INVALID, "%s: post_processor '%s' is not supported (ragged reads "
                        "TemplateProcessing, RobertaProcessing, BertProcessing)", name, type ? type : "without a type");
}

static rg_status parse_model(rg_unigram_tokenizer *t, json_t *model, const char *name, rg_error *err)
{
    const char *type = json_string_value(json_object_get(model, "type"));
    json_t *vocab = json_object_get(model, "vocab");
    if (!type || strcmp(type, "Unigram") != 0 || !json_is_array(vocab))
        return rg_error_set(err, RG_ERR_INVALID, "%s: not a Unigram tokenizer (model.type is %s)", name,
                            type ? type : "missing");
    size_t n = json_array_size(vocab);
    if (n == 0 || n > 10000000)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: the Unigram vocabulary has %zu pieces", name, n);
    t->pieces = rg_xcalloc(n, sizeof *t->pieces);
    t->scores = rg_xcalloc(n, sizeof *t->scores);
    double min_score = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(vocab, i);
        const char *p = json_string_value(json_array_get(e, 0));
        json_t *sc = json_array_get(e, 1);
        if (!p || !json_is_number(sc)) {
            t->npieces = i;
            return rg_error_set(err, RG_ERR_CORRUPT, "%s: Unigram vocabulary entry %zu is not [piece, score]", name, i);
        }
        t->pieces[i] = rg_xstrdup(p);
        t->scores[i] = json_number_value(sc);
        if (i == 0 || t->scores[i] < min_score)
            min_score = t->scores[i];
        t->npieces = i + 1;
    }
    t->unk_score = min_score - 10.0;
    json_t *unk = json_object_get(model, "unk_id");
    if (!json_is_integer(unk) || json_integer_value(unk) < 0 || (size_t)json_integer_value(unk) >= n)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: the Unigram model has no valid unk_id (ragged needs one for "
                            "characters no piece covers)", name);
    t->unk_id = (int32_t)json_integer_value(unk);
    t->byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    build_index(t);
    return RG_OK;
}

rg_status rg_unigram_load_buffer(const char *json, size_t len, const char *name, rg_unigram_tokenizer **out,
                                 rg_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root)
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: invalid JSON at line %d: %s", name, jerr.line, jerr.text);
    rg_unigram_tokenizer *t = rg_xcalloc(1, sizeof *t);
    rg_status st = parse_model(t, json_object_get(root, "model"), name, err);
    if (st == RG_OK)
        st = parse_normalizer(t, json_object_get(root, "normalizer"), name, err);
    if (st == RG_OK)
        st = parse_pretokenizer(t, json_object_get(root, "pre_tokenizer"), name, err);
    if (st == RG_OK)
        st = parse_post(t, json_object_get(root, "post_processor"), name, err);
    json_decref(root);
    if (st != RG_OK) {
        rg_unigram_free(t);
        return st;
    }
    *out = t;
    return RG_OK;
}

rg_status rg_unigram_load(const char *path, rg_unigram_tokenizer **out, rg_error *err)
{
    char *data;
    size_t len;
    rg_status st = rg_read_file(path, (size_t)1 << 30, &data, &len, err);
    if (st != RG_OK)
        return st;
    st = rg_unigram_load_buffer(data, len, path, out, err);
    free(data);
    return st;
}

void rg_unigram_free(rg_unigram_tokenizer *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->npieces; i++)
        free(t->pieces[i]);
    free(t->pieces);
    free(t->lens);
    free(t->scores);
    free(t->slots);
    for (size_t i = 0; i < t->nnorms; i++) {
        free(t->norms[i].pattern);
        free(t->norms[i].content);
        free(t->norms[i].trie);
        free(t->norms[i].normalized);
        if (t->norms[i].kind == N_REGEX)
            regfree(&t->norms[i].re);
    }
    free(t->norms);
    free(t->pres);
    free(t);
}

size_t rg_unigram_vocab_size(const rg_unigram_tokenizer *t) { return t->npieces; }
const rg_tok_template *rg_unigram_template(const rg_unigram_tokenizer *t) { return &t->tmpl; }
int32_t rg_unigram_unk_id(const rg_unigram_tokenizer *t) { return t->unk_id; }

/* ---- normalise + pre-tokenise ---- */

typedef struct span {
    size_t start, end;            /* bytes in the work buffer */
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

static void spans_push(spans *s, size_t a, size_t b)
{
    if (a >= b)
        return;   /* tokenizers drops empty splits */
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = rg_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = (span){a, b};
}

/* Appends the valid UTF-8 of s to out, dropping invalid bytes (the input
 * text, and a Precompiled map's replacements, which come from the file). */
static void append_valid_utf8(rg_buf *out, const char *s, size_t n)
{
    for (size_t p = 0; p < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)s + p, (utf8proc_ssize_t)(n - p), &c);
        if (l <= 0) {
            p++;
            continue;
        }
        rg_buf_append(out, s + p, (size_t)l);
        p += (size_t)l;
    }
}

/* Normalises text into *buf and splits it into pre-tokens (spans of *buf;
 * Metaspace rewrites the buffer). */
static void pre_tokenize(const rg_unigram_tokenizer *t, const char *text, size_t len, rg_buf *buf, spans *out)
{
    rg_buf a, b;
    rg_buf_init(&a);
    rg_buf_init(&b);
    /* Invalid UTF-8 bytes are dropped (as by the WordPiece tokenizer). */
    append_valid_utf8(&a, text, len);
    for (size_t i = 0; i < t->nnorms; i++) {
        b.len = 0;
        normalize_one(&t->norms[i], a.data ? a.data : "", a.len, &b);
        a.len = 0;
        append_valid_utf8(&a, b.data ? b.data : "", b.len);
    }
    spans cur = {0}, next = {0};
    if (a.len)
        spans_push(&cur, 0, a.len);
    for (size_t k = 0; k < t->npres; k++) {
        const pretok *pt = &t->pres[k];
        next.n = 0;
        b.len = 0;
        for (size_t si = 0; si < cur.n; si++) {
            const char *s = a.data + cur.v[si].start;
            size_t n = cur.v[si].end - cur.v[si].start;
            if (!pt->metaspace) {
                size_t w = b.len;
                rg_buf_append(&b, s, n);
                size_t ws = 0;
                bool in = false;
                for (size_t p = 0; p < n;) {
                    utf8proc_int32_t c;
                    utf8proc_ssize_t l = utf8proc_iterate((const uint8_t *)s + p, (utf8proc_ssize_t)(n - p), &c);
                    if (is_ws(c)) {
                        if (in)
                            spans_push(&next, w + ws, w + p);
                        in = false;
                    } else if (!in) {
                        in = true;
                        ws = p;
                    }
                    p += (size_t)l;
                }
                if (in)
                    spans_push(&next, w + ws, w + n);
                continue;
            }
            size_t w = b.len;
            bool starts = n >= pt->nrep && memcmp(s, pt->rep, pt->nrep) == 0;
            bool prepend = !starts && (pt->scheme == PREPEND_ALWAYS ||
                                       (pt->scheme == PREPEND_FIRST && cur.v[si].start == 0));
            /* ' ' at the start counts as the replacement too (it becomes one). */
            if (prepend && n && s[0] == ' ')
                prepend = false;
            if (prepend)
                rg_buf_append(&b, pt->rep, pt->nrep);
            for (size_t p = 0; p < n; p++) {
                if (s[p] == ' ')
                    rg_buf_append(&b, pt->rep, pt->nrep);
                else
                    rg_buf_putc(&b, s[p]);
            }
            size_t end = b.len;
            if (!pt->split) {
                spans_push(&next, w, end);
                continue;
            }
            /* Split before every replacement (MergedWithNext). */
            size_t st = w;
            for (size_t p = w; p + pt->nrep <= end;) {
                if (memcmp(b.data + p, pt->rep, pt->nrep) == 0) {
                    if (p > st)
                        spans_push(&next, st, p);
                    st = p;
                    p += pt->nrep;
                } else {
                    p++;
                }
            }
            spans_push(&next, st, end);
        }
        spans tmp = cur;
        cur = next;
        next = tmp;
        rg_buf t2 = a;
        a = b;
        b = t2;
    }
    rg_buf_free(&b);
    free(next.v);
    *buf = a;
    *out = cur;
}

char *rg_unigram_pretokenize_debug(const rg_unigram_tokenizer *t, const char *text, size_t len)
{
    rg_buf buf, o;
    spans sp;
    pre_tokenize(t, text, len, &buf, &sp);
    rg_buf_init(&o);
    for (size_t i = 0; i < sp.n; i++) {
        if (i)
            rg_buf_putc(&o, '|');
        rg_buf_append(&o, buf.data + sp.v[i].start, sp.v[i].end - sp.v[i].start);
    }
    rg_buf_putc(&o, '\0');
    rg_buf_free(&buf);
    free(sp.v);
    return rg_buf_steal(&o);
}

/* ---- Viterbi ---- */

typedef struct emitter {
    int32_t *ids;
    size_t cap, count;
    bool full;
} emitter;

static void emit(emitter *e, int32_t id)
{
    if (e->full)
        return;
    if (e->ids) {
        e->ids[e->count] = id;
        if (e->count + 1 >= e->cap)
            e->full = true;
    }
    e->count++;
}

/* A token string of the best path: its id, or byte pieces, or unk. */
static void emit_string(const rg_unigram_tokenizer *t, emitter *e, const char *s, size_t n)
{
    int32_t id = piece_id(t, s, n);
    if (id >= 0) {
        emit(e, id);
        return;
    }
    if (t->byte_fallback) {
        bool all = true;
        for (size_t i = 0; i < n; i++)
            all = all && t->byte_ids[(unsigned char)s[i]] >= 0;
        if (all) {
            for (size_t i = 0; i < n; i++)
                emit(e, t->byte_ids[(unsigned char)s[i]]);
            return;
        }
    }
    emit(e, t->unk_id);
}

typedef struct node {
    double score;
    size_t from;
    int32_t id;
    bool set;
} node;

static void viterbi(const rg_unigram_tokenizer *t, const char *s, size_t n, node *best, emitter *e)
{
    for (size_t i = 0; i <= n; i++)
        best[i].set = false;
    best[0] = (node){0, 0, -1, true};
    for (size_t b = 0; b < n;) {
        utf8proc_int32_t c;
        size_t mb = (size_t)utf8proc_iterate((const uint8_t *)s + b, (utf8proc_ssize_t)(n - b), &c);
        bool single = false;
        double base = best[b].score;
        /* Every piece starting at b, shortest first (the trie order). */
        size_t lim = RG_MIN(n - b, t->max_piece_bytes);
        uint64_t h = fnv(s + b, mb - 1);
        for (size_t l = mb; l <= lim; l++) {
            h = fnv_step(h, (unsigned char)s[b + l - 1]);
            if (b + l < n && ((unsigned char)s[b + l] & 0xc0) == 0x80)
                continue;   /* not a character boundary */
            int32_t id = piece_id_h(t, s + b, l, h);
            if (id < 0)
                continue;
            double cand = base + t->scores[id];
            node *tn = &best[b + l];
            if (!tn->set || cand > tn->score)
                *tn = (node){cand, b, id, true};
            if (l == mb)
                single = true;
        }
        if (!single) {
            double cand = base + t->unk_score;
            node *tn = &best[b + mb];
            if (!tn->set || cand > tn->score)
                *tn = (node){cand, b, t->unk_id, true};
        }
        b += mb;
    }
    /* Backtrack into (start, end) pairs, runs of unknowns fused. */
    size_t cnt = 0;
    for (size_t end = n; end > 0; end = best[end].from)
        cnt++;
    size_t *starts = rg_xmalloc((cnt + 1) * sizeof *starts);
    int32_t *ids = rg_xmalloc((cnt + 1) * sizeof *ids);
    size_t k = cnt;
    for (size_t end = n; end > 0; end = best[end].from) {
        k--;
        starts[k] = best[end].from;
        ids[k] = best[end].id;
    }
    for (size_t i = 0; i < cnt && !e->full;) {
        size_t a = starts[i], j = i + 1;
        if (ids[i] == t->unk_id)
            while (j < cnt && ids[j] == t->unk_id)
                j++;
        size_t z = j < cnt ? starts[j] : n;
        emit_string(t, e, s + a, z - a);
        i = j;
    }
    free(starts);
    free(ids);
}

size_t rg_unigram_tokenize(const rg_unigram_tokenizer *t, const char *text, size_t len, int32_t *ids, size_t cap)
{
    if (ids && cap == 0)
        return 0;
    emitter e = {.ids = ids, .cap = cap};
    rg_buf buf;
    spans sp;
    pre_tokenize(t, text, len, &buf, &sp);
    size_t longest = 0;
    for (size_t i = 0; i < sp.n; i++)
        longest = RG_MAX(longest, sp.v[i].end - sp.v[i].start);
    node *best = rg_xmalloc((longest + 1) * sizeof *best);
    for (size_t i = 0; i < sp.n && !e.full; i++)
        viterbi(t, buf.data + sp.v[i].start, sp.v[i].end - sp.v[i].start, best, &e);
    free(best);
    free(sp.v);
    rg_buf_free(&buf);
    return e.count;
}
