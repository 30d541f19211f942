#include "chunker.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A unit is the smallest piece the packer moves: a sentence, or a run of
 * words when a sentence is longer than a chunk. */
typedef struct unit {
    size_t start, end, tokens;
    bool paragraph_start;
} unit;

typedef struct units {
    unit *items;
    size_t n, cap;
} units;

static void units_push(units *u, size_t start, size_t end, size_t tokens, bool para)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 64;
        u->items = rg_xrealloc(u->items, u->cap * sizeof *u->items);
    }
    u->items[u->n++] = (unit){start, end, tokens, para};
}

size_t rg_chunk_effective_size(rg_embedder *emb, size_t size)
{
    size_t limit = emb && emb->max_tokens > 2 ? (size_t)emb->max_tokens - 2 : size; /* [CLS] and [SEP] */
    return RG_MAX((size_t)1, RG_MIN(size, limit));
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* End of the sentence starting at i (exclusive), within [i, end). */
static size_t sentence_end(const char *t, size_t i, size_t end)
{
    for (size_t j = i; j < end; j++) {
        char c = t[j];
        if ((c == '.' || c == '!' || c == '?') && j + 1 < end && is_space(t[j + 1])) {
            /* Skip "e.g. x" and initials: a sentence ends before a capital,
             * a digit or a quote, or at a line break. */
            size_t k = j + 1;
            while (k < end && is_space(t[k]) && t[k] != '\n')
                k++;
            if (k >= end || t[k] == '\n' || isupper((unsigned char)t[k]) || isdigit((unsigned char)t[k]) ||
                t[k] == '"' || t[k] == '(' || (unsigned char)t[k] >= 0x80)
                return j + 1;
        }
        if (c == '\n' && j + 1 < end && t[j + 1] == '\n')
            return j;
    }
    return end;
}

/* Whether [a, b) holds anything but spaces: words the embedder counts as
 * zero tokens (a lone quote) must still land in a unit, or the text between
 * two chunks is lost. */
static bool has_text(const char *t, size_t a, size_t b)
{
    for (size_t i = a; i < b; i++)
        if (!is_space(t[i]))
            return true;
    return false;
}

/* A chunk holds at most this many bytes per token of its budget.  Token
 * counts alone do not bound a chunk: a tokenizer counts a 50 MB "word" (no
 * space in it) as one unknown token, and it would become one 50 MB chunk.
 * Real text averages 4-6 bytes a token, URLs and code under 16. */
#define CHUNK_BYTES_PER_TOKEN 32

static size_t max_chunk_bytes(size_t size)
{
    return size * CHUNK_BYTES_PER_TOKEN;
}

/* End of a cut at most max bytes after p, moved back to a UTF-8 boundary
 * (never before p + 1). */
static size_t cut_at(const char *t, size_t p, size_t end, size_t max)
{
    size_t q = RG_MIN(end, p + RG_MAX(max, (size_t)4));
    while (q < end && q > p + 1 && ((unsigned char)t[q] & 0xc0) == 0x80)
        q--;
    return q;
}

/* Splits an over-long piece at word boundaries into units of <= size tokens
 * and <= max_chunk_bytes(size) bytes. */
static void split_words(const char *t, size_t start, size_t end, rg_embedder *emb, size_t size, bool para, units *u)
{
    size_t max_bytes = max_chunk_bytes(size);
    size_t piece = start, tokens = 0, i = start;
    while (i < end) {
        while (i < end && is_space(t[i]))
            i++;
        size_t w = i;
        while (i < end && !is_space(t[i]))
            i++;
        if (w == i)
            break;
        /* Counting the tokens of a huge word costs its length again; past
         * the byte limit it is cut whatever its count. */
        size_t wt = i - w > max_bytes ? size + 1 : rg_embedder_count_tokens(emb, t + w, i - w);
        if (wt > size) {
            /* A "word" longer than a chunk (a URL, base64, a run without
             * spaces): cut it by bytes at UTF-8 boundaries, in proportion
             * to its tokens and never over the byte limit. */
            if (tokens || has_text(t, piece, w)) {
                units_push(u, piece, w, tokens, para && piece == start);
                tokens = 0;
            }
            size_t step = i - w > max_bytes ? max_bytes / 2 : RG_MAX((size_t)1, (i - w) * size / (wt + 1));
            size_t p = w;
            while (p < i) {
                size_t q = RG_MIN(i, p + step);
                while (q < i && ((unsigned char)t[q] & 0xc0) == 0x80)
                    q++;
                if (q - p > max_bytes)
                    q = cut_at(t, p, i, max_bytes);
                units_push(u, p, q, rg_embedder_count_tokens(emb, t + p, q - p), para && p == start);
                p = q;
            }
            piece = i;
            continue;
        }
        if (tokens && (tokens + wt > size || i - piece > max_bytes)) {
            units_push(u, piece, w, tokens, para && piece == start);
            piece = w;
            tokens = 0;
        }
        tokens += wt;
    }
    if (tokens || has_text(t, piece, end))
        units_push(u, piece, end, tokens, para && piece == start);
}

void rg_chunk_text(const char *t, size_t len, rg_embedder *emb, size_t size, size_t overlap, rg_chunks *out)
{
    memset(out, 0, sizeof *out);
    size = rg_chunk_effective_size(emb, size);
    if (overlap >= size / 2)
        overlap = size / 2;
    units u = {0};
    size_t i = 0;
    bool para = true;
    while (i < len) {
        while (i < len && is_space(t[i])) {
            if (t[i] == '\n' && i + 1 < len && t[i + 1] == '\n')
                para = true;
            i++;
        }
        if (i >= len)
            break;
        size_t e = sentence_end(t, i, len);
        size_t s_end = e;
        while (s_end > i && is_space(t[s_end - 1]))
            s_end--;
        if (s_end > i) {
            size_t tok = s_end - i > max_chunk_bytes(size) ? size + 1 : rg_embedder_count_tokens(emb, t + i, s_end - i);
            if (tok > size)
                split_words(t, i, s_end, emb, size, para, &u);
            else if (tok > 0 || s_end > i)
                units_push(&u, i, s_end, tok, para);
            para = false;
        }
        i = e > i ? e : i + 1;
    }
    size_t max_bytes = max_chunk_bytes(size);
    /* Greedy packing; a new chunk prefers to start at a paragraph start when
     * the current chunk is already more than half full. */
    size_t a = 0;
    while (a < u.n) {
        size_t tokens = 0, b = a;
        while (b < u.n && ((tokens + u.items[b].tokens <= size && u.items[b].end - u.items[a].start <= max_bytes) ||
                           b == a)) {
            if (b > a && u.items[b].paragraph_start && tokens > size / 2 && tokens + u.items[b].tokens > size * 3 / 4)
                break;
            tokens += u.items[b].tokens;
            b++;
        }
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 16;
            out->items = rg_xrealloc(out->items, out->cap * sizeof *out->items);
        }
        out->items[out->n++] = (rg_chunk){u.items[a].start, u.items[b - 1].end, tokens};
        if (b >= u.n)
            break;
        /* Step back over whole units worth at most `overlap` tokens, but
         * always make progress. */
        size_t back = b, ov = 0;
        while (back > a + 1 && ov + u.items[back - 1].tokens <= overlap) {
            ov += u.items[back - 1].tokens;
            back--;
        }
        a = back;
    }
    free(u.items);
}

void rg_chunks_free(rg_chunks *c)
{
    free(c->items);
    memset(c, 0, sizeof *c);
}
