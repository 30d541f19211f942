/* Search in the leann backend, all in this file, and the recompute of exact
 * vectors.  Stored data is read only through c->src (leann_source), so
 * nothing here touches SQLite:
 *
 *  1. leann_beam_search: best-first traversal of the graph with a beam of
 *     width L (leann_walk_beam: search_complexity, grown with the
 *     collection).  Distances come from a callback: PQ codes (ADC look-ups)
 *     for queries, exact vectors while building.  Beams over 512 run on
 *     binary heaps (leann_beam_search_heap), the same visits.
 *  2. leann_search: the two-level search.  PQ distances steer the traversal;
 *     the most promising candidates (rerank_candidates) get their exact
 *     embeddings recomputed from their passages through the collection's
 *     embedder (batched; hub and recent ones come from the cache), are
 *     reranked, and after a walk the exact top is refined through the graph
 *     on exact distances (refine_exact, leann_refine_beam); the k best are
 *     returned with exact cosine distances.
 *  3. Filtered queries: the source (c->src.filter_set; SQLite in
 *     store_leann.c) yields the matching set.  A small set is
 *     scored directly (PQ over the set, then exact rerank); a large one uses
 *     the graph, admitting only matching nodes as results; if the graph finds
 *     fewer than k, the set is scored directly, so a filtered query returns k
 *     hits whenever k records match. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"

void leann_beam_search(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, leann_visit *vs,
                       leann_cand **seen_out, size_t *nseen_out)
{
    leann_beam_search_from(g, dist, ctx, L, &g->entry, 1, vs, seen_out, nseen_out);
}

/* Binary heaps of candidates: a min-heap (max false) of nodes to expand, a
 * max-heap (max true) of the best L found. */
typedef struct cheap {
    leann_cand *a;
    size_t n, cap;
    bool max;
} cheap;

static inline bool cand_less(leann_cand x, leann_cand y)
{
    return x.dist < y.dist || (x.dist == y.dist && x.node < y.node);
}

static inline bool cheap_before(const cheap *h, leann_cand x, leann_cand y)
{
    return h->max ? cand_less(y, x) : cand_less(x, y);
}

static void cheap_push(cheap *h, leann_cand x)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->a = rg_xrealloc(h->a, h->cap * sizeof *h->a);
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cheap_before(h, x, h->a[p]))
            break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = x;
}

static leann_cand cheap_pop(cheap *h)
{
    leann_cand top = h->a[0], x = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= h->n)
            break;
        size_t c = l + 1 < h->n && cheap_before(h, h->a[l + 1], h->a[l]) ? l + 1 : l;
        if (!cheap_before(h, h->a[c], x))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n)
        h->a[i] = x;
    return top;
}

/* A walk takes a node's list this many neighbours at a time: the unvisited
 * ones (marked visited now, in list order), then their distances in one
 * call.  The same visits and the same distances, in the same order, as one
 * at a time. */
#define LEANN_WALK_CHUNK 64
static int unvisited(const leann_graph *g, leann_visit *vs, const uint32_t *nb, int d, uint32_t *fresh)
{
    int nf = 0;
    for (int i = 0; i < d; i++)
        if (nb[i] < g->n && !leann_visit_test_set(vs, nb[i]))
            fresh[nf++] = nb[i];
    return nf;
}

/* The same search with heaps, for wide beams: the sorted pool below moves
 * up to L entries on every insertion, which at the beams of large
 * collections (11,851 at 291K records, leann_walk_beam) cost more than the
 * PQ distances.  It expands the same nodes in the same order (the best
 * unexpanded one of the best L) up to ties of equal distance. */
#define LEANN_HEAP_BEAM 512
void leann_beam_search_heap(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                            int nentries, leann_visit *vs, leann_cand **seen_out, size_t *nseen_out)
{
    *seen_out = NULL;
    *nseen_out = 0;
    if (g->entry == LEANN_NONE || g->n == 0)
        return;
    if (L < 1)
        L = 1;
    leann_visit_begin(vs, g->n);
    cheap todo = {NULL, 0, 0, false}, best = {NULL, 0, 0, true};
    size_t seen_cap = (size_t)L * 8 + 64, nseen = 0;
    leann_cand *seen = rg_xmalloc(sizeof(leann_cand) * seen_cap);
    /* The entry points are taken as the list of a virtual first node. */
    const uint32_t *nb = entries;
    int d = nentries;
    uint32_t fresh[LEANN_WALK_CHUNK];
    float fd[LEANN_WALK_CHUNK];
    for (;;) {
        for (int i0 = 0; i0 < d; i0 += LEANN_WALK_CHUNK) {
            int nf = unvisited(g, vs, nb + i0, d - i0 < LEANN_WALK_CHUNK ? d - i0 : LEANN_WALK_CHUNK, fresh);
            dist(ctx, fresh, nf, fd);
            for (int f = 0; f < nf; f++) {
                leann_cand x = {fd[f], fresh[f]};
                if (nseen == seen_cap) {
                    seen_cap *= 2;
                    seen = rg_xrealloc(seen, sizeof(leann_cand) * seen_cap);
                }
                seen[nseen++] = x;
                if (best.n == (size_t)L && !cand_less(x, best.a[0]))
                    continue;
                cheap_push(&todo, x);
                cheap_push(&best, x);
                if (best.n > (size_t)L)
                    cheap_pop(&best);
            }
        }
        if (todo.n == 0)
            break;
        leann_cand c = cheap_pop(&todo);
        if (best.n == (size_t)L && cand_less(best.a[0], c))
            break;   /* every candidate left is worse than the L-th */
        nb = leann_graph_nbrs(g, c.node);
        d = g->deg[c.node];
    }
    free(todo.a);
    free(best.a);
    leann_cand_sort(seen, nseen);
    *seen_out = seen;
    *nseen_out = nseen;
}

void leann_beam_search_top(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                           int nentries, leann_visit *vs, leann_cand **best_out, int *nbest_out, leann_cand **seen_out,
                           size_t *nseen_out)
{
    *best_out = NULL;
    *nbest_out = 0;
    *seen_out = NULL;
    *nseen_out = 0;
    if (g->entry == LEANN_NONE || g->n == 0)
        return;
    if (L < 1)
        L = 1;
    if (L > LEANN_HEAP_BEAM) {
        leann_beam_search_heap(g, dist, ctx, L, entries, nentries, vs, seen_out, nseen_out);
        size_t nb = *nseen_out < (size_t)L ? *nseen_out : (size_t)L;
        *best_out = rg_xmalloc(sizeof(leann_cand) * (nb ? nb : 1));
        memcpy(*best_out, *seen_out, sizeof(leann_cand) * nb);
        *nbest_out = (int)nb;
        return;
    }
    leann_visit_begin(vs, g->n);
    leann_cand *pool = rg_xmalloc(sizeof(leann_cand) * ((size_t)L + 1));
    uint8_t *expanded = rg_xcalloc((size_t)L + 1, 1);
    size_t seen_cap = (size_t)L * 8 + 64, nseen = 0;
    leann_cand *seen = rg_xmalloc(sizeof(leann_cand) * seen_cap);
    int np = 0;

    uint32_t fresh[LEANN_WALK_CHUNK];
    float fd[LEANN_WALK_CHUNK];
    /* The entry points are taken as the list of a virtual first node. */
    const uint32_t *nb = entries;
    int d = nentries;
    int cur = 0;   /* first possibly unexpanded position */
    for (;;) {
        int lowest = np;   /* lowest position an insertion reached */
        for (int i0 = 0; i0 < d; i0 += LEANN_WALK_CHUNK) {
            int nf = unvisited(g, vs, nb + i0, d - i0 < LEANN_WALK_CHUNK ? d - i0 : LEANN_WALK_CHUNK, fresh);
            dist(ctx, fresh, nf, fd);
            for (int f = 0; f < nf; f++) {
                uint32_t u = fresh[f];
                float du = fd[f];
                if (nseen == seen_cap) {
                    seen_cap *= 2;
                    seen = rg_xrealloc(seen, sizeof(leann_cand) * seen_cap);
                }
                seen[nseen++] = (leann_cand){du, u};
                if (np == L && du >= pool[np - 1].dist)
                    continue;
                /* Sorted insert; the worst falls off a full beam. */
                int pos = np < L ? np : L - 1;
                while (pos > 0 && leann_cand_order(&pool[pos - 1], &(leann_cand){du, u}) > 0) {
                    pool[pos] = pool[pos - 1];
                    expanded[pos] = expanded[pos - 1];
                    pos--;
                }
                pool[pos] = (leann_cand){du, u};
                expanded[pos] = 0;
                if (np < L)
                    np++;
                if (pos < lowest)
                    lowest = pos;
            }
        }
        if (lowest < cur)
            cur = lowest;
        while (cur < np && expanded[cur])
            cur++;
        if (cur == np)
            break;
        expanded[cur] = 1;
        uint32_t v = pool[cur].node;
        nb = leann_graph_nbrs(g, v);
        d = g->deg[v];
    }
    free(expanded);
    *best_out = pool;
    *nbest_out = np;
    *seen_out = seen;
    *nseen_out = nseen;
}

void leann_beam_search_from(const leann_graph *g, leann_dist_fn dist, void *ctx, int L, const uint32_t *entries,
                            int nentries, leann_visit *vs, leann_cand **seen_out, size_t *nseen_out)
{
    leann_cand *best = NULL;
    int nbest = 0;
    leann_beam_search_top(g, dist, ctx, L, entries, nentries, vs, &best, &nbest, seen_out, nseen_out);
    free(best);
    /* The heap search (beams over LEANN_HEAP_BEAM) sorts its list itself. */
    if (L <= LEANN_HEAP_BEAM)
        leann_cand_sort(*seen_out, *nseen_out);
}

/* ---- the two-level query ----------------------------------------------- */

static float pq_dist(const leann_pq_query *p, uint32_t node)
{
    return leann_pq_distance(p->pq, p->table, p->codes + (size_t)node * p->pq->m);
}

/* The most candidates an adaptive rerank (rerank_candidates 0) may
 * recompute.  The exact rerank is what makes the answer exact; its size is
 * what a query costs (each candidate is one embedding unless cached).  The
 * adaptive rule usually stops far earlier (bench/leann/RESULTS.md); the cap
 * bounds a query whose PQ distances are poor.  A fixed rerank of
 * max(k + 20, L / 40) was the old default; the cap is 2.5 times that.
 * Measured on scifact with the builtin embedder and 64-byte codes
 * (bench/leann/RESULTS-codes.md): caps of 2, 2.5, 3 and 4 times gave
 * recall@10 0.952, 0.962, 0.968, 0.974 for 51, 58, 64, 73 recomputed
 * candidates a query.  The walk itself costs only PQ look-ups, so a wide
 * beam is cheap and grows the cap slowly: the default beam of 1000 visits
 * about 3,300 nodes of scifact (bench/leann/RESULTS-graph.md).
 *
 * Past LEANN_RERANK_GROW_N live records the cap grows with the square root
 * of the collection (at most LEANN_RERANK_GROW_MAX times): the true top k
 * sits deeper in the PQ order of a larger collection, while a query whose
 * PQ order is reliable still stops early (docs/leann.md, Limits). */
#define LEANN_RERANK_GROW_N 16384
#define LEANN_RERANK_GROW_MAX 4.0
static int rerank_cap(int k, int L, int64_t live)
{
    int r = L / 40;
    if (r < k + 20)
        r = k + 20;
    double grow = live > LEANN_RERANK_GROW_N ? sqrt((double)live / LEANN_RERANK_GROW_N) : 1.0;
    if (grow > LEANN_RERANK_GROW_MAX)
        grow = LEANN_RERANK_GROW_MAX;
    return (int)(2.5 * r * grow);
}

/* The best `max` nodes of a set by PQ distance (sorted).  When the set is
 * small this is cheaper and more exact than walking a graph built for
 * everybody.  Bounded insertion: O(n log max) for the usual case. */
static size_t score_set(const leann_pq_query *pc, const uint32_t *set, size_t n, leann_cand *best, size_t max)
{
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        leann_cand x = {pq_dist(pc, set[i]), set[i]};
        if (nb == max && leann_cand_order(&x, &best[nb - 1]) >= 0)
            continue;
        size_t lo = 0, hi = nb;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (leann_cand_order(&best[mid], &x) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = nb < max ? nb : max - 1;
        memmove(best + lo + 1, best + lo, (end - lo) * sizeof *best);
        best[lo] = x;
        if (nb < max)
            nb++;
    }
    return nb;
}

/* ---- exact rerank -------------------------------------------------------- */

/* Expected number of the true top k still among cand[done..ncand).  The
 * exact distance of a candidate is its PQ distance plus an error (minus
 * <q, residual>); the errors of the candidates scored so far give its mean
 * and spread, and each unscored candidate's chance of beating the current
 * k-th exact distance is read off a normal with that mean and spread.  The
 * spread is an estimate from few samples, biased low by the selection (the
 * scored ones are the PQ best), which is why the threshold is a small
 * fraction of one miss and why a minimum sample comes first. */
double leann_rerank_expected_misses(const leann_cand *cand, size_t ncand, const float *exact, size_t done, int k)
{
    if (done < (size_t)k || done < 2)
        return (double)(ncand - done);
    double mean = 0, m2 = 0;
    for (size_t i = 0; i < done; i++)
        mean += exact[i] - cand[i].dist;
    mean /= (double)done;
    for (size_t i = 0; i < done; i++) {
        double e = exact[i] - cand[i].dist - mean;
        m2 += e * e;
    }
    double sd = sqrt(m2 / (double)(done - 1));
    if (sd < 1e-6)
        sd = 1e-6;   /* PQ that is exact for this query: only ties remain */
    /* k-th smallest exact distance: a bounded insertion into k slots. */
    float *best = rg_xmalloc((size_t)k * sizeof *best);
    int nb = 0;
    for (size_t i = 0; i < done; i++) {
        float x = exact[i];
        if (nb == k && x >= best[k - 1])
            continue;
        int pos = nb < k ? nb++ : k - 1;
        while (pos > 0 && best[pos - 1] > x) {
            best[pos] = best[pos - 1];
            pos--;
        }
        best[pos] = x;
    }
    double kth = best[k - 1];
    free(best);
    double misses = 0;
    for (size_t j = done; j < ncand; j++) {
        double p = 0.5 * erfc((cand[j].dist + mean - kth) / (sd * M_SQRT2));
        misses += p;
        /* PQ-sorted: every later candidate is less likely still. */
        if (p < 1e-9)
            break;
    }
    return misses;
}

rg_status leann_rerank_exact(const float *q, size_t dim, const leann_cand *cand, size_t ncand, int k, bool adaptive,
                             leann_vecs_fn vecs_fn, void *ctx, float *exact, size_t *scored, rg_error *err)
{
    leann_rerank_rule rule = {LEANN_RERANK_MIN, LEANN_RERANK_STEP, LEANN_RERANK_MISSES};
    return leann_rerank_exact_rule(q, dim, cand, ncand, k, adaptive ? &rule : NULL, vecs_fn, ctx, exact, scored,
                                   err);
}

rg_status leann_rerank_exact_rule(const float *q, size_t dim, const leann_cand *cand, size_t ncand, int k,
                                  const leann_rerank_rule *rule, leann_vecs_fn vecs_fn, void *ctx, float *exact,
                                  size_t *scored, rg_error *err)
{
    *scored = 0;
    size_t done = 0;
    bool adaptive = rule != NULL;
    size_t step = adaptive ? (size_t)RG_MAX(rule->step, 1) : ncand;
    size_t next = adaptive ? RG_MAX((size_t)k + 2, (size_t)RG_MAX(rule->first, 1)) : ncand;
    float *vecs = malloc(RG_MAX(RG_MAX(next, step), (size_t)1) * dim * sizeof(float));
    if (!vecs)
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory for %zu candidate embeddings", next);
    uint32_t *nodes = rg_xmalloc(RG_MAX(RG_MAX(next, step), (size_t)1) * sizeof *nodes);
    rg_status rc = RG_OK;
    while (done < ncand) {
        size_t end = RG_MIN(next, ncand);
        for (size_t i = done; i < end; i++)
            nodes[i - done] = cand[i].node;
        rc = vecs_fn(ctx, nodes, end - done, vecs, err);
        if (rc != RG_OK)
            break;
        for (size_t i = done; i < end; i++)
            exact[i] = 1.0f - rg_dot(q, vecs + (i - done) * dim, dim);
        done = end;
        if (done >= ncand ||
            (adaptive && leann_rerank_expected_misses(cand, ncand, exact, done, k) < rule->misses))
            break;
        next = done + step;
    }
    free(nodes);
    free(vecs);
    *scored = done;
    return rc;
}

typedef struct ranked {
    float dist;
    int64_t seq;
    uint32_t node;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static rg_status coll_vecs(void *ctx, const uint32_t *nodes, size_t n, float *out, rg_error *err)
{
    return leann_fetch_vectors(ctx, nodes, n, out, err);
}

/* ---- exact refinement ------------------------------------------------------ */

/* The nodes whose exact distance a query knows, in the order found. */
typedef struct xset {
    uint32_t *node;
    float *dist;
    size_t n, cap;
} xset;

static void xset_add(xset *x, uint32_t node, float dist)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->node = rg_xrealloc(x->node, x->cap * sizeof *x->node);
        x->dist = rg_xrealloc(x->dist, x->cap * sizeof *x->dist);
    }
    x->node[x->n] = node;
    x->dist[x->n++] = dist;
}

typedef struct rpool {
    float dist;
    uint32_t node;
    uint8_t expanded;
} rpool;

/* Sorted insert into a pool of at most w; returns whether it went in. */
static bool rpool_insert(rpool *pool, int *np, int w, float d, uint32_t node)
{
    if (*np == w && d >= pool[w - 1].dist)
        return false;
    int pos = *np < w ? (*np)++ : w - 1;
    while (pos > 0 && (pool[pos - 1].dist > d || (pool[pos - 1].dist == d && pool[pos - 1].node > node))) {
        pool[pos] = pool[pos - 1];
        pos--;
    }
    pool[pos] = (rpool){d, node, 0};
    return true;
}

/* Exact-distance refinement (issue 16, item 3): the PQ-steered walk and
 * its rerank end near the true neighbours but, at 291K Debian-doc chunks
 * with 128-byte codes, miss a fifth of them however wide the beam, because
 * the codes cannot tell the near ones apart (bench/scale/RESULTS-recall.md).
 * The graph can: from the exact top found so far, a best-first search on
 * EXACT distances (a beam of w) expands the best unexpanded node, recomputes
 * its neighbours not seen yet and stops when the w best are all expanded,
 * i.e. when the exact top stopped changing, or after `budget` recomputes.
 * Every unseen live neighbour of an expanded node is recomputed: letting
 * the PQ codes choose which (the LEANN paper's two-level search: skip a
 * neighbour whose bias-corrected PQ distance is past the pool's w-th exact
 * one by g spreads of the PQ error) was measured at 291K and lost more
 * recall than a smaller beam saving the same recomputes (RESULTS-recall.md).
 * Nodes recomputed are marked in c->visit (the caller began it and marked
 * the nodes already in x). */
static rg_status refine_exact(leann_coll *c, const float *q, const uint8_t *in_set, xset *x, int w, int budget,
                              rg_error *err)
{
    const leann_graph *g = &c->graph;
    size_t dim = (size_t)c->dim;
    rpool *pool = rg_xmalloc((size_t)w * sizeof *pool);
    int np = 0;
    for (size_t i = 0; i < x->n; i++)
        rpool_insert(pool, &np, w, x->dist[i], x->node[i]);
    uint32_t *batch = rg_xmalloc((size_t)g->max_degree * sizeof *batch);
    float *vecs = rg_xmalloc((size_t)g->max_degree * dim * sizeof *vecs);
    rg_status rc = RG_OK;
    int spent = 0;
    while (rc == RG_OK && spent < budget) {
        int cur = 0;
        while (cur < np && pool[cur].expanded)
            cur++;
        if (cur == np)
            break;
        pool[cur].expanded = 1;
        uint32_t v = pool[cur].node;
        const uint32_t *nb = leann_graph_nbrs(g, v);
        int d = g->deg[v], nbatch = 0;
        for (int i = 0; i < d; i++) {
            uint32_t u = nb[i];
            if (u >= g->n || (g->flags[u] & LEANN_NODE_DELETED) || (in_set && !in_set[u]))
                continue;
            if (!leann_visit_test_set(&c->visit, u))
                batch[nbatch++] = u;
        }
        if (nbatch > budget - spent)
            nbatch = budget - spent;
        if (nbatch == 0)
            continue;
        rc = leann_fetch_vectors(c, batch, (size_t)nbatch, vecs, err);
        spent += nbatch;
        for (int i = 0; rc == RG_OK && i < nbatch; i++) {
            float e = 1.0f - rg_dot(q, vecs + (size_t)i * dim, dim);
            xset_add(x, batch[i], e);
            rpool_insert(pool, &np, w, e, batch[i]);
        }
    }
    c->last_query_refined = (uint64_t)spent;
    free(pool);
    free(batch);
    free(vecs);
    return rc;
}

/* Exact distances for the best candidates; the best k (ties by insertion
 * order, as the exact backend breaks them) into *out.  Only the first nexact
 * are guaranteed exact; when k is larger (the deep vector side of a hybrid
 * query, which only feeds fusion), the rest are ranked by the PQ distance
 * corrected by the mean PQ error observed on this query, so they cost no
 * recompute.  refine_w > 0: the exact top is then refined through the graph
 * (refine_exact) with at most refine_max more recomputes. */
static rg_status rerank(leann_coll *c, const float *q, const uint8_t *in_set, const leann_cand *cand,
                        size_t n, int k, int nexact, bool adaptive, int refine_w, int refine_max, leann_cand **out,
                        size_t *nout, rg_error *err)
{
    float *exact = rg_xmalloc((n ? n : 1) * sizeof *exact);
    size_t scored = 0;
    rg_status rc = leann_rerank_exact(q, (size_t)c->dim, cand, n, nexact, adaptive, coll_vecs, c, exact, &scored, err);
    double bias = 0;
    for (size_t i = 0; i < scored; i++)
        bias += exact[i] - cand[i].dist;
    bias = scored ? bias / (double)scored : 0;
    xset x = {0};
    for (size_t i = 0; i < scored; i++)
        xset_add(&x, cand[i].node, exact[i]);
    bool refined = false;
    if (rc == RG_OK && refine_w > 0 && refine_max > 0 && scored > 0 && c->graph.n > 0) {
        leann_visit_begin(&c->visit, c->graph.n);
        for (size_t i = 0; i < scored; i++)
            leann_visit_test_set(&c->visit, cand[i].node);
        rc = refine_exact(c, q, in_set, &x, RG_MAX(refine_w, nexact), refine_max, err);
        refined = true;
    }
    /* Every exactly scored node, then (when fewer than k) PQ-ranked ones
     * the refinement did not score. */
    size_t ranked_n = x.n;
    for (size_t i = scored; i < n && ranked_n < (size_t)k; i++)
        if (!refined || c->visit.stamp[cand[i].node] != c->visit.cur)
            ranked_n++;
    ranked *rk = rg_xmalloc((ranked_n ? ranked_n : 1) * sizeof *rk);
    uint32_t *nodes = rg_xmalloc((ranked_n ? ranked_n : 1) * sizeof *nodes);
    int64_t *seq = rg_xmalloc((ranked_n ? ranked_n : 1) * sizeof *seq);
    float *dist = rg_xmalloc((ranked_n ? ranked_n : 1) * sizeof *dist);
    size_t r = 0;
    for (; r < x.n; r++) {
        nodes[r] = x.node[r];
        dist[r] = x.dist[r];
    }
    for (size_t i = scored; i < n && r < ranked_n; i++)
        if (!refined || c->visit.stamp[cand[i].node] != c->visit.cur) {
            nodes[r] = cand[i].node;
            dist[r++] = (float)(cand[i].dist + bias);
        }
    if (rc == RG_OK && ranked_n)
        rc = c->src.order(c->src.ctx, nodes, ranked_n, seq, err);
    for (size_t i = 0; rc == RG_OK && i < ranked_n; i++)
        rk[i] = (ranked){dist[i], seq[i], nodes[i]};
    if (rc == RG_OK) {
        /* The exact top nexact first, then everything else by (exact or
         * estimated) distance. */
        qsort(rk, x.n, sizeof *rk, ranked_cmp);
        size_t top = RG_MIN(x.n, (size_t)nexact);
        qsort(rk + top, ranked_n - top, sizeof *rk, ranked_cmp);
        size_t m = RG_MIN(ranked_n, (size_t)k);
        *out = rg_xmalloc((m ? m : 1) * sizeof **out);
        for (size_t i = 0; i < m; i++)
            (*out)[i] = (leann_cand){rk[i].dist, rk[i].node};
        *nout = m;
    }
    free(nodes);
    free(seq);
    free(dist);
    free(rk);
    free(exact);
    free(x.node);
    free(x.dist);
    return rc;
}

/* Graph-walk candidates that are live and (if set) in the filter bitmap. */
static size_t graph_candidates(leann_coll *c, leann_pq_query *pc, int L, const uint8_t *in_set, leann_cand *out, size_t max)
{
    leann_cand *seen = NULL;
    size_t nseen = 0, n = 0;
    leann_beam_search(&c->graph, leann_pq_dists, pc, L, &c->visit, &seen, &nseen);
    for (size_t i = 0; i < nseen && n < max; i++) {
        uint32_t v = seen[i].node;
        if (c->graph.flags[v] & LEANN_NODE_DELETED)
            continue;
        if (in_set && !in_set[v])
            continue;
        out[n++] = seen[i];
    }
    free(seen);
    return n;
}

/* ---- defaults by collection ------------------------------------------------ */

/* The beam of a walk.  A query's own search_complexity is used as given;
 * the configured one (default 1000) is the beam up to
 * LEANN_BEAM_GROW_N live records and grows in proportion past it, up to
 * LEANN_BEAM_GROW_MAX times (11,851 at 291K records, 16,000 from 393K on).
 * Measured at 291K Debian-doc chunks (bench/scale/RESULTS-recall.md, 200
 * queries) with the exact refinement below (beam 100): beams of 5,925 and
 * 11,851 found 0.946 and 0.959 of the true top 10, p50 196 and 282 ms.  The
 * refinement only improves on what the walk brought into view, and a hop
 * costs PQ look-ups, no recompute. */
#define LEANN_BEAM_GROW_N 24576
#define LEANN_BEAM_GROW_MAX 16.0
int leann_walk_beam(const leann_coll *c, int asked)
{
    if (asked > 0)
        return asked;
    int L = c->params.search_complexity;
    if (c->live > LEANN_BEAM_GROW_N) {
        double grow = RG_MIN((double)c->live / LEANN_BEAM_GROW_N, LEANN_BEAM_GROW_MAX);
        L = (int)RG_MIN(grow * L, 100000.0);
    }
    return L;
}

/* The exact refinement's beam (refine_beam -1, the default: automatic).
 * It costs recomputes (about 7 per beam slot at 291K), so it is on only
 * where a recompute is cheap: the builtin embedder (about 0.1 ms).  With a
 * neural model a recompute is a forward pass (75-90 ms for MiniLM in fp32)
 * and 700 of them would take a minute; those collections keep the PQ walk
 * and the adaptive rerank.  Scans (collections under scan_threshold) see
 * every code and are not refined. */
#define LEANN_REFINE_BEAM_CHEAP 100
#define LEANN_REFINE_BUDGET 20   /* recomputes at most, per beam slot */
/* Past LEANN_REFINE_GROW_N live records the automatic beam grows with the
 * square root of the size, up to LEANN_REFINE_GROW_MAX times (211 at 291K
 * records).  On 291K Debian-doc chunks grown by insertion: 100 0.948, 211
 * 0.9555, 300 0.9585 of the true top 10 in the harness (one graph,
 * bench/leann/RESULTS-insert.md); on a default ingest 211 found 0.943 and
 * 400 (growth in proportion, tried) 0.946 for 1.7x the query CPU (p50 260
 * -> 450 ms; bench/scale/RESULTS-recall.md), so the square root stays. */
#define LEANN_REFINE_GROW_N 65536
#define LEANN_REFINE_GROW_MAX 4.0
/* The refinement's seeds: a walk followed by the refinement ranks this many
 * times its beam of candidates by PQ and scores them all exactly, instead of
 * letting the adaptive rerank stop at the first dozens.  The refinement only
 * follows edges from the exact top it starts with; the more of the PQ
 * neighbourhood it sees exactly, the fewer regions it never enters.  291K
 * Debian-doc chunks grown by insertion (bench/leann/RESULTS-insert.md,
 * refinement beam 211): adaptive rerank (about 60 scored) 0.9555 with 1,854
 * recomputes a query; 2x the beam (422) 0.9745 with 2,066; 5x (1,055)
 * 0.9750 with 2,518. */
#define LEANN_REFINE_SEEDS 2
int leann_refine_beam(const leann_coll *c)
{
    if (c->params.refine_beam >= 0)
        return c->params.refine_beam;
    const rg_embedder *e = c->embedder;
    if (!e || strcmp(e->identity.kind, "builtin") != 0)
        return 0;
    double grow = c->live > LEANN_REFINE_GROW_N ? sqrt((double)c->live / LEANN_REFINE_GROW_N) : 1.0;
    return (int)(LEANN_REFINE_BEAM_CHEAP * RG_MIN(grow, LEANN_REFINE_GROW_MAX));
}

rg_status leann_search(leann_coll *c, const float *q, const rg_query_opts *opts, leann_cand **out, size_t *nout,
                       rg_error *err)
{
    *out = NULL;
    *nout = 0;
    if (c->live <= 0 || c->pq.m == 0 || c->graph.n == 0)
        return RG_OK;
    uint64_t before = c->recomputed;
    int k = opts->k;
    int L = leann_walk_beam(c, opts->search_complexity);
    if (L < k)
        L = k;
    int nexact = opts->exact > 0 && opts->exact < k ? opts->exact : k;
    bool adaptive = c->params.rerank_candidates <= 0;
    /* The cap follows the configured beam, not the grown one: the rerank
     * costs recomputes, the beam does not. */
    int R = adaptive ? rerank_cap(k, opts->search_complexity > 0 ? L : c->params.search_complexity, c->live)
                     : c->params.rerank_candidates;
    if (R < k)
        R = k;
    /* A walk that the exact refinement follows scores its best
     * LEANN_REFINE_SEEDS x the refinement beam PQ candidates, or the
     * adaptive cap R if larger, exactly and starts the refinement from all
     * of them, not from the few the adaptive rule would score.  R is the
     * larger for the deep vector side of a hybrid query (k 100: 1,200 at
     * 291K records): scoring only max(k, 2 x beam) there cost 60 ms less a
     * query (CPU p50 411 -> 350 ms) and lost hybrid recall@10 (0.999 ->
     * 0.996; bench/scale/RESULTS-recall.md), so it stays. */
    int refine_w = leann_refine_beam(c);
    int R_walk = adaptive && refine_w > 0 ? RG_MAX(R, LEANN_REFINE_SEEDS * refine_w) : R;
    float *table = rg_xmalloc(sizeof(float) * (size_t)c->pq.m * c->pq.ksub);
    leann_pq_table(&c->pq, q, table);
    leann_pq_query pc = {&c->pq, table, c->codes};
    leann_cand *cand = rg_xmalloc((size_t)R_walk * sizeof *cand);   /* R_walk >= R */
    size_t ncand = 0;
    rg_status rc = RG_OK;
    uint32_t *set = NULL;
    size_t nset = 0;
    bool use_set = false, walked = false;
    uint8_t *in_set = NULL;
    const char *path = "walk";

    if (opts->where) {
        path = "filtered scan";
        rc = c->src.filter_set(c->src.ctx, opts->where, &set, &nset, err);
        if (rc == RG_OK && nset > 0) {
            /* A selective filter leaves a walk surrounded by non-matching
             * nodes: score such a set (or any set under the scan size). */
            if (nset <= (size_t)R || (int64_t)nset <= c->params.scan_threshold || nset <= c->graph.n / 4) {
                use_set = true;   /* small: score the whole set */
            } else {
                in_set = rg_xcalloc(c->graph.n, 1);
                for (size_t i = 0; i < nset; i++)
                    in_set[set[i]] = 1;
                ncand = graph_candidates(c, &pc, L, in_set, cand, (size_t)R_walk);
                walked = true;
                /* The walk found too few matches: fall back to the set. */
                use_set = ncand < (size_t)k && ncand < nset;
                path = use_set ? "filtered walk, then scan" : "filtered walk";
            }
        }
    } else if (c->live <= c->params.scan_threshold) {
        /* Small collection: a scan of every code costs about what a walk
         * does and misses nothing the codes can see. */
        set = rg_xmalloc((size_t)c->live * sizeof *set);
        for (uint32_t v = 0; v < c->graph.n && nset < (size_t)c->live; v++)
            if (!(c->graph.flags[v] & LEANN_NODE_DELETED))
                set[nset++] = v;
        use_set = true;
        path = "scan";
    } else {
        ncand = graph_candidates(c, &pc, L, NULL, cand, (size_t)R_walk);
        walked = true;
        if (ncand < (size_t)k && ncand < (size_t)c->live) {
            /* Unreachable nodes (heavy deletes): score everybody. */
            rc = c->src.filter_set(c->src.ctx, NULL, &set, &nset, err);
            use_set = rc == RG_OK;
            path = "walk, then scan";
        }
    }
    if (rc == RG_OK && use_set) {
        ncand = score_set(&pc, set, nset, cand, (size_t)R);
        walked = false;
    }
    int refine_max = 0;
    c->last_query_refined = 0;
    if (walked && refine_w > 0) {
        refine_max = refine_w * LEANN_REFINE_BUDGET;
        path = in_set ? "filtered walk, exact refinement" : "walk, exact refinement";
        adaptive = false;   /* every seed scored (R_walk of them) */
    } else {
        refine_w = 0;
    }
    if (rc == RG_OK && ncand > 0)
        rc = rerank(c, q, in_set, cand, ncand, k, nexact, adaptive, refine_w, refine_max, out, nout, err);
    c->last_query_recomputed = c->recomputed - before;
    c->last_query_path = path;
    free(in_set);
    free(set);
    free(cand);
    free(table);
    return rc;
}

/* ---- recomputing embeddings ------------------------------------------------ */

void leann_passages_free(leann_passage *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].text);
        free(p[i].vec);
        p[i].text = NULL;
        p[i].vec = NULL;
    }
}

/* ---- recomputing embeddings ------------------------------------------------ */

rg_status leann_fetch_vectors(leann_coll *c, const uint32_t *nodes, size_t n, float *out, rg_error *err)
{
    size_t dim = (size_t)c->dim;
    uint32_t *miss = NULL, *mnodes = NULL;
    size_t nmiss = 0;
    for (size_t i = 0; i < n; i++) {
        const float *v = leann_cache_get(&c->cache, nodes[i]);
        if (v) {
            memcpy(out + i * dim, v, dim * sizeof(float));
        } else {
            if (!miss) {
                miss = rg_xmalloc(n * sizeof *miss);
                mnodes = rg_xmalloc(n * sizeof *mnodes);
            }
            mnodes[nmiss] = nodes[i];
            miss[nmiss++] = (uint32_t)i;
        }
    }
    if (nmiss == 0)
        return RG_OK;
    leann_passage *ps = rg_xmalloc(nmiss * sizeof *ps);
    rg_status rc = c->src.passages(c->src.ctx, mnodes, nmiss, ps, err);
    bool fetched = rc == RG_OK;
    char **texts = rg_xcalloc(nmiss, sizeof *texts);
    size_t *tpos = rg_xmalloc(nmiss * sizeof *tpos);
    size_t nt = 0;
    for (size_t m = 0; rc == RG_OK && m < nmiss; m++) {
        size_t i = miss[m];
        if (ps[m].vec) {
            /* A record without text keeps its vector: nothing to recompute
             * it from. */
            memcpy(out + i * dim, ps[m].vec, dim * sizeof(float));
            leann_cache_put(&c->cache, nodes[i], out + i * dim,
                            nodes[i] < c->graph.n && (c->graph.flags[nodes[i]] & LEANN_NODE_HUB));
        } else {
            texts[nt] = ps[m].text;
            tpos[nt++] = i;
        }
    }
    if (rc == RG_OK && nt > 0) {
        if (!c->embedder) {
            rc = rg_error_set(err, RG_ERR_INVALID,
                              "collection %s was opened without an embedder; leann needs it to recompute embeddings",
                              c->name);
        } else {
            float *buf = malloc(nt * dim * sizeof(float));
            if (!buf)
                rc = rg_error_set(err, RG_ERR_NOMEM, "out of memory recomputing %zu embeddings", nt);
            else
                rc = rg_embedder_embed(c->embedder, (const char *const *)texts, nt, RG_EMBED_DOCUMENT, buf, err);
            for (size_t t = 0; rc == RG_OK && t < nt; t++) {
                size_t i = tpos[t];
                memcpy(out + i * dim, buf + t * dim, dim * sizeof(float));
                leann_cache_put(&c->cache, nodes[i], out + i * dim,
                                nodes[i] < c->graph.n && (c->graph.flags[nodes[i]] & LEANN_NODE_HUB));
            }
            free(buf);
            c->recomputed += nt;
        }
    }
    if (fetched)
        leann_passages_free(ps, nmiss);   /* owns the texts */
    free(ps);
    free(texts);
    free(tpos);
    free(miss);
    free(mnodes);
    return rc;
}
