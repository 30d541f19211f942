/* Top-k BM25 over segments: block-max MaxScore, document at a time.
 *
 * Every query term gets an upper bound per segment, the largest score any
 * of its blocks can give (a block keeps its largest frequency and smallest
 * document length, and BM25 grows with the one and falls with the other).
 * Terms sorted by bound split into "essential" ones, whose documents are
 * visited, and a prefix of "non-essential" ones whose bounds together stay
 * under the k-th best score so far: a document in none of the essential
 * lists cannot make it, and a visited one is looked up in the others only
 * while its score plus their (block) bounds can still beat the k-th.  The
 * answer is exactly the exhaustive one; the skipped work is what keeps a
 * query of common words fast on a large index.  Cost is linear in the
 * query terms (each is one cursor) and in the postings actually decoded.
 *
 * BM25 (lexical.h): idf = log(1 + (N - df + 0.5) / (df + 0.5)) with N and
 * df counting live documents, score = sum over query terms of weight * idf
 * * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)). */
#include "bm25.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tcur {
    rg_bm25_cursor c;
    double w;                      /* query weight * idf */
    double ub;                     /* bound of any document in this segment */
    bool done;
} tcur;

typedef struct scorer {
    double k1, b, avgdl;
} scorer;

static double tf_part(const scorer *sc, double tf, double dl)
{
    return tf * (sc->k1 + 1.0) / (tf + sc->k1 * (1.0 - sc->b + sc->b * dl / sc->avgdl));
}

/* Safety margin for bounds: rounding may make a sum of parts differ from
 * a bound computed in another order in the last bits. */
static double bound(double x)
{
    return x * (1.0 + 1e-9) + 1e-12;
}

/* ---- the result heap: the k best so far, the worst at the root ----
 *
 * Ids are looked up only when needed: a segment keeps them in compressed
 * frames of 256, so decoding one for every document that enters the heap
 * was most of a query's time.  Scores decide almost every comparison; an
 * entry's id is read only to break a tie (then kept) and, at the end, for
 * the k results. */

typedef struct heap {
    rg_bm25_result *e;
    size_t n, k;
    rg_bm25_part *parts;
    rg_status rc;                  /* the first failed id lookup */
    rg_error *err;
} heap;

static void need_id(heap *h, rg_bm25_result *r)
{
    if (r->id || h->rc != RG_OK)
        return;
    const char *id;
    h->rc = rg_bm25_seg_id(h->parts[r->part].seg, r->doc, &id, h->err);
    if (h->rc == RG_OK)
        r->id = rg_xstrdup(id);
}

/* a worse than b: lower score, or the same score and a larger id */
static bool worse(heap *h, rg_bm25_result *a, rg_bm25_result *b)
{
    if (a->score != b->score)
        return a->score < b->score;
    need_id(h, a);
    need_id(h, b);
    return h->rc == RG_OK && strcmp(a->id, b->id) > 0;
}

static void sift_down(heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && worse(h, &h->e[l], &h->e[m]))
            m = l;
        if (r < h->n && worse(h, &h->e[r], &h->e[m]))
            m = r;
        if (m == i)
            return;
        rg_bm25_result t = h->e[i];
        h->e[i] = h->e[m];
        h->e[m] = t;
        i = m;
    }
}

static void sift_up(heap *h, size_t i)
{
    while (i && worse(h, &h->e[i], &h->e[(i - 1) / 2])) {
        rg_bm25_result t = h->e[i];
        h->e[i] = h->e[(i - 1) / 2];
        h->e[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* The score a document must beat (or tie with a smaller id) to enter. */
static double threshold(const heap *h)
{
    return h->n < h->k ? -INFINITY : h->e[0].score;
}

static rg_status offer(heap *h, uint32_t pi, uint32_t doc, double score)
{
    if (h->n == h->k && score < h->e[0].score)
        return RG_OK;
    rg_bm25_result r = {score, pi, doc, NULL};
    if (h->n == h->k) {
        if (!worse(h, &h->e[0], &r)) {
            free(r.id);
            return h->rc;
        }
        free(h->e[0].id);
        h->e[0] = r;
        sift_down(h, 0);
        return h->rc;
    }
    h->e[h->n++] = r;
    sift_up(h, h->n - 1);
    return h->rc;
}

/* ---- cursors ---- */

static uint32_t cur_doc(const tcur *t)
{
    return t->c.docs[t->c.pos];
}

/* Moves t to its first document >= target (t->done past the end); blocks
 * entirely below target are skipped without decoding. */
static rg_status seek(tcur *t, uint32_t target, rg_error *err)
{
    rg_status rc = RG_OK;
    while (t->c.last < target) {
        bool more;
        if ((rc = rg_bm25_cursor_next_block(&t->c, &more, err)) != RG_OK)
            return rc;
        if (!more) {
            t->done = true;
            return RG_OK;
        }
    }
    if ((rc = rg_bm25_cursor_decode(&t->c, err)) != RG_OK)
        return rc;
    while (t->c.docs[t->c.pos] < target)
        t->c.pos++;   /* stops at the block's last document, which is >= target */
    return RG_OK;
}

static rg_status step(tcur *t, rg_error *err)
{
    if (++t->c.pos < t->c.n)
        return RG_OK;
    bool more;
    rg_status rc = rg_bm25_cursor_next_block(&t->c, &more, err);
    if (rc == RG_OK && !more)
        t->done = true;
    else if (rc == RG_OK)
        rc = rg_bm25_cursor_decode(&t->c, err);
    return rc;
}

/* Walks every block header of c (a copy): the term's bound in the segment
 * and, when the segment has tombstones, its live document count. */
static rg_status scan(rg_bm25_cursor *c, const scorer *sc, const uint8_t *dead, double *ub, uint64_t *live,
                      rg_error *err)
{
    *ub = 0;
    *live = 0;
    for (bool more = true; more;) {
        double x = tf_part(sc, c->max_tf, c->min_dl);
        if (x > *ub)
            *ub = x;
        rg_status rc = RG_OK;
        if (dead) {
            rc = rg_bm25_cursor_decode(c, err);
            for (uint32_t i = 0; rc == RG_OK && i < c->n; i++)
                *live += !rg_bit_get(dead, c->docs[i]);
        } else {
            *live += c->n;
        }
        if (rc == RG_OK)
            rc = rg_bm25_cursor_next_block(c, &more, err);
        if (rc != RG_OK)
            return rc;
    }
    return RG_OK;
}

static int cmp_ub(const void *a, const void *b)
{
    const tcur *x = a, *y = b;
    return (x->ub > y->ub) - (x->ub < y->ub);
}

/* MaxScore over one segment. */
static rg_status search_part(rg_bm25_part *part, uint32_t pi, tcur *t, size_t nt, const scorer *sc, heap *h,
                             rg_error *err)
{
    if (!nt)
        return RG_OK;
    qsort(t, nt, sizeof *t, cmp_ub);
    double *prefix = rg_xmalloc(nt * sizeof *prefix);   /* prefix[i] = bound of t[0..i] together */
    double acc = 0;
    for (size_t i = 0; i < nt; i++)
        prefix[i] = acc = bound(acc + t[i].ub);
    rg_status rc = RG_OK;
    for (size_t i = 0; rc == RG_OK && i < nt; i++)
        rc = rg_bm25_cursor_decode(&t[i].c, err);
    size_t ess = 0;                /* t[ess..] are essential */
    double theta = NAN;
    while (rc == RG_OK) {
        double th = threshold(h);
        if (th != theta) {
            theta = th;
            while (ess < nt && prefix[ess] < theta)
                ess++;
            if (ess == nt)
                break;             /* no document can enter any more */
        }
        uint32_t d = UINT32_MAX;
        for (size_t i = ess; i < nt; i++)
            if (!t[i].done && cur_doc(&t[i]) < d)
                d = cur_doc(&t[i]);
        if (d == UINT32_MAX)
            break;
        uint32_t dl = 0;
        if ((rc = rg_bm25_seg_dl(part->seg, d, &dl, err)) != RG_OK)
            break;
        double score = 0;
        for (size_t i = ess; rc == RG_OK && i < nt; i++)
            if (!t[i].done && cur_doc(&t[i]) == d) {
                score += t[i].w * tf_part(sc, t[i].c.tfs[t[i].c.pos], dl);
                rc = step(&t[i], err);
            }
        if (rc != RG_OK || rg_bit_get(part->dead, d) || (part->allow && !rg_bit_get(part->allow, d)))
            continue;
        bool out = false;
        for (size_t i = ess; i-- > 0 && rc == RG_OK;) {
            if (score + prefix[i] < theta) {
                out = true;
                break;
            }
            if (t[i].done)
                continue;
            /* The block that would hold d: its own bound may rule it out. */
            while (t[i].c.last < d && rc == RG_OK) {
                bool more;
                rc = rg_bm25_cursor_next_block(&t[i].c, &more, err);
                if (rc == RG_OK && !more)
                    t[i].done = true;
                if (t[i].done)
                    break;
            }
            if (rc != RG_OK || t[i].done)
                continue;
            double blk = bound(t[i].w * tf_part(sc, t[i].c.max_tf, t[i].c.min_dl));
            if (score + blk + (i ? prefix[i - 1] : 0) < theta)
                continue;
            if ((rc = seek(&t[i], d, err)) != RG_OK || t[i].done)
                continue;
            if (cur_doc(&t[i]) == d)
                score += t[i].w * tf_part(sc, t[i].c.tfs[t[i].c.pos], dl);
        }
        if (rc == RG_OK && !out)
            rc = offer(h, pi, d, score);
    }
    free(prefix);
    return rc;
}

static int cmp_result(const void *a, const void *b)
{
    const rg_bm25_result *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

rg_status rg_bm25_search(rg_bm25_part *parts, size_t nparts, const rg_bm25_qterm *q, size_t nq,
                         const rg_bm25_stats *st, int k, rg_bm25_result **out, size_t *n, rg_error *err)
{
    *out = NULL;
    *n = 0;
    if (k < 1 || !nq || !st->ndocs)
        return RG_OK;
    scorer sc = {st->k1, st->b, (double)st->total_dl / (double)st->ndocs};
    if (!(sc.avgdl > 0))
        sc.avgdl = 1.0;
    /* Pass 1: every term's cursor in every segment, its bound and its live
     * document frequency. */
    tcur *all = rg_xcalloc(nparts * nq + 1, sizeof *all);
    bool *found = rg_xcalloc(nparts * nq + 1, sizeof *found);
    uint64_t *df = rg_xcalloc(nq, sizeof *df);
    rg_bm25_cursor *tmp = rg_xmalloc(sizeof *tmp);
    rg_status rc = RG_OK;
    for (size_t p = 0; rc == RG_OK && p < nparts; p++)
        for (size_t i = 0; rc == RG_OK && i < nq; i++) {
            tcur *t = &all[p * nq + i];
            rc = rg_bm25_seg_term(parts[p].seg, q[i].term, q[i].len, &t->c, &found[p * nq + i], err);
            if (rc != RG_OK || !found[p * nq + i])
                continue;
            memcpy(tmp, &t->c, sizeof *tmp);
            uint64_t live = 0;
            rc = scan(tmp, &sc, parts[p].dead, &t->ub, &live, err);
            df[i] += live;
        }
    free(tmp);
    heap h = {rg_xcalloc((size_t)k, sizeof(rg_bm25_result)), 0, (size_t)k, parts, RG_OK, err};
    tcur *t = rg_xcalloc(nq + 1, sizeof *t);
    for (size_t p = 0; rc == RG_OK && p < nparts; p++) {
        size_t nt = 0;
        for (size_t i = 0; i < nq; i++) {
            if (!found[p * nq + i] || !df[i])
                continue;
            double idf = log(1.0 + ((double)st->ndocs - (double)df[i] + 0.5) / ((double)df[i] + 0.5));
            t[nt] = all[p * nq + i];
            t[nt].w = q[i].weight * idf;
            t[nt].ub = t[nt].w * t[nt].ub;
            nt++;
        }
        rc = search_part(&parts[p], (uint32_t)p, t, nt, &sc, &h, err);
    }
    free(t);
    free(all);
    free(found);
    free(df);
    for (size_t i = 0; rc == RG_OK && i < h.n; i++) {
        need_id(&h, &h.e[i]);
        rc = h.rc;
    }
    if (rc != RG_OK) {
        rg_bm25_results_free(h.e, h.n);
        return rc;
    }
    qsort(h.e, h.n, sizeof *h.e, cmp_result);
    *out = h.e;
    *n = h.n;
    return RG_OK;
}

void rg_bm25_results_free(rg_bm25_result *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].id);
    free(r);
}
