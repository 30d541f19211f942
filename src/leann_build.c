/* Graph construction for the leann backend.
 *
 * Why Vamana-style (one flat graph, RobustPrune) rather than HNSW layers:
 * LEANN stores only the graph and recomputes embeddings for visited nodes,
 * so every extra hop costs an embedding; a single well-connected layer with
 * a medoid entry point and "alpha" long edges reaches the neighbourhood in
 * few hops, and a flat CSR is what compresses best on disk.  The same
 * RobustPrune rule chooses diverse neighbours when the graph is pruned to
 * pruned_degree (the paper's high-degree-preserving pruning: hubs, the nodes
 * most others point to, keep graph_degree). */
#include <stdlib.h>
#include <string.h>

#include "leann.h"
#include "util.h"

void leann_graph_init(leann_graph *g, int max_degree, int pruned_degree)
{
    memset(g, 0, sizeof *g);
    g->max_degree = max_degree;
    g->pruned_degree = pruned_degree < max_degree ? pruned_degree : max_degree;
    g->entry = LEANN_NONE;
}

void leann_graph_reserve(leann_graph *g, uint32_t n)
{
    if (n <= g->cap)
        return;
    uint32_t cap = g->cap ? g->cap : 64;
    while (cap < n)
        cap = cap * 2;
    g->nbrs = rg_xrealloc(g->nbrs, sizeof(uint32_t) * (size_t)cap * g->max_degree);
    g->deg = rg_xrealloc(g->deg, sizeof(uint16_t) * cap);
    g->flags = rg_xrealloc(g->flags, cap);
    g->cap = cap;
}

uint32_t leann_graph_add_node(leann_graph *g)
{
    leann_graph_reserve(g, g->n + 1);
    uint32_t v = g->n++;
    g->deg[v] = 0;
    g->flags[v] = 0;
    return v;
}

void leann_graph_free(leann_graph *g)
{
    free(g->nbrs);
    free(g->deg);
    free(g->flags);
    memset(g, 0, sizeof *g);
    g->entry = LEANN_NONE;
}

double leann_graph_avg_degree(const leann_graph *g)
{
    uint64_t sum = 0, live = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->flags[v] & LEANN_NODE_DELETED)
            continue;
        sum += g->deg[v];
        live++;
    }
    return live ? (double)sum / (double)live : 0.0;
}

int leann_robust_prune(const leann_space *sp, uint32_t p, const uint32_t *cand, const float *dist,
                       int ncand, int bound, float alpha, uint32_t *out)
{
    (void)p;
    uint8_t stack_removed[512];
    uint8_t *removed = ncand <= 512 ? stack_removed : rg_xmalloc((size_t)ncand);
    memset(removed, 0, (size_t)ncand);
    int nout = 0;
    for (int i = 0; i < ncand && nout < bound; i++) {
        if (removed[i])
            continue;
        out[nout++] = cand[i];
        const float *vi = sp->vec(sp->ctx, cand[i]);
        for (int j = i + 1; j < ncand; j++) {
            if (removed[j])
                continue;
            if (cand[j] == cand[i]) {
                removed[j] = 1;
                continue;
            }
            float dij = 1.0f - leann_dot(vi, sp->vec(sp->ctx, cand[j]), (size_t)sp->dim);
            /* c_j is reachable through c_i: the edge p->c_j adds little. */
            if (alpha * dij <= dist[j])
                removed[j] = 1;
        }
    }
    if (removed != stack_removed)
        free(removed);
    return nout;
}

/* Sorts cand by distance to p and prunes to bound into p's slot list. */
void leann_graph_set_pruned(leann_graph *g, const leann_space *sp, uint32_t p, uint32_t *cand, int ncand,
                       int bound)
{
    leann_cand *cs = rg_xmalloc(sizeof(leann_cand) * (size_t)(ncand ? ncand : 1));
    int nc = 0;
    const float *vp = sp->vec(sp->ctx, p);
    for (int i = 0; i < ncand; i++) {
        if (cand[i] == p || (g->flags[cand[i]] & LEANN_NODE_DELETED))
            continue;
        cs[nc].node = cand[i];
        cs[nc].dist = 1.0f - leann_dot(vp, sp->vec(sp->ctx, cand[i]), (size_t)sp->dim);
        nc++;
    }
    qsort(cs, (size_t)nc, sizeof *cs, leann_cand_cmp);
    /* Drop duplicates (sorted, so equal nodes are adjacent only if equal
     * distance; dedupe fully through a linear pass over kept ones). */
    uint32_t *ids = rg_xmalloc(sizeof(uint32_t) * (size_t)(nc ? nc : 1));
    float *ds = rg_xmalloc(sizeof(float) * (size_t)(nc ? nc : 1));
    int m = 0;
    for (int i = 0; i < nc; i++) {
        if (i > 0 && cs[i].node == cs[i - 1].node)
            continue;
        ids[m] = cs[i].node;
        ds[m] = cs[i].dist;
        m++;
    }
    int k = leann_robust_prune(sp, p, ids, ds, m, bound, LEANN_ALPHA, leann_graph_nbrs(g, p));
    g->deg[p] = (uint16_t)k;
    free(cs);
    free(ids);
    free(ds);
}

void leann_graph_add_edge(leann_graph *g, const leann_space *sp, uint32_t v, uint32_t c)
{
    uint32_t *nb = leann_graph_nbrs(g, v);
    int d = g->deg[v];
    for (int i = 0; i < d; i++)
        if (nb[i] == c)
            return;
    int bound = leann_graph_bound(g, v);
    if (d < bound) {
        nb[d] = c;
        g->deg[v] = (uint16_t)(d + 1);
        return;
    }
    uint32_t cand[257];
    memcpy(cand, nb, sizeof(uint32_t) * (size_t)d);
    cand[d] = c;
    leann_graph_set_pruned(g, sp, v, cand, d + 1, bound);
}

void leann_graph_connect(leann_graph *g, const leann_space *sp, uint32_t v, const uint32_t *cand,
                         int ncand, int bound)
{
    uint32_t *tmp = rg_xmalloc(sizeof(uint32_t) * (size_t)(ncand ? ncand : 1));
    memcpy(tmp, cand, sizeof(uint32_t) * (size_t)ncand);
    leann_graph_set_pruned(g, sp, v, tmp, ncand, bound);
    free(tmp);
    uint32_t nb[256];
    int d = g->deg[v];
    memcpy(nb, leann_graph_nbrs(g, v), sizeof(uint32_t) * (size_t)d);
    for (int i = 0; i < d; i++)
        leann_graph_add_edge(g, sp, nb[i], v);
}

typedef struct exact_ctx {
    const leann_space *sp;
    const float *q;
} exact_ctx;

static float exact_dist(void *ctx, uint32_t node)
{
    exact_ctx *e = ctx;
    return 1.0f - leann_dot(e->q, e->sp->vec(e->sp->ctx, node), (size_t)e->sp->dim);
}

int leann_candidates_from_seen(const leann_graph *g, const leann_cand *seen, size_t nseen,
                               uint32_t self, uint32_t *out, int max)
{
    int n = 0;
    for (size_t i = 0; i < nseen && n < max; i++) {
        uint32_t u = seen[i].node;
        if (u == self || (g->flags[u] & LEANN_NODE_DELETED))
            continue;
        out[n++] = u;
    }
    return n;
}

/* Candidate pool size for a new node's neighbour choice. */
#define POOL_MAX 128

void leann_graph_insert_exact(leann_graph *g, const leann_space *sp, uint32_t v, int bound,
                              leann_visit *vs)
{
    if (g->entry == LEANN_NONE) {
        g->entry = v;
        g->deg[v] = 0;
        return;
    }
    exact_ctx ec = {sp, sp->vec(sp->ctx, v)};
    leann_cand *seen = NULL;
    size_t nseen = 0;
    leann_beam_search(g, exact_dist, &ec, LEANN_BUILD_L, vs, &seen, &nseen);
    uint32_t pool[POOL_MAX];
    int np = leann_candidates_from_seen(g, seen, nseen, v, pool, POOL_MAX);
    free(seen);
    leann_graph_connect(g, sp, v, pool, np, bound);
}

typedef struct array_space {
    const float *vecs;
    int dim;
} array_space;

static const float *array_vec(void *ctx, uint32_t node)
{
    array_space *a = ctx;
    return a->vecs + (size_t)node * a->dim;
}

void leann_graph_prune_hubs(leann_graph *g, const leann_space *sp, double hub_fraction)
{
    uint32_t n = g->n;
    if (n == 0)
        return;
    uint32_t *indeg = rg_xcalloc(n, sizeof(uint32_t));
    for (uint32_t v = 0; v < n; v++)
        for (int i = 0; i < g->deg[v]; i++)
            indeg[leann_graph_nbrs(g, v)[i]]++;
    leann_cand *order = rg_xmalloc(sizeof(leann_cand) * n);
    for (uint32_t v = 0; v < n; v++)
        order[v] = (leann_cand){-(float)indeg[v], v};
    qsort(order, n, sizeof *order, leann_cand_cmp);
    uint32_t nhub = (uint32_t)((double)n * hub_fraction + 0.5);
    for (uint32_t v = 0; v < n; v++)
        g->flags[v] &= (uint8_t)~LEANN_NODE_HUB;
    for (uint32_t i = 0; i < nhub && i < n; i++)
        g->flags[order[i].node] |= LEANN_NODE_HUB;
    if (g->entry != LEANN_NONE)
        g->flags[g->entry] |= LEANN_NODE_HUB;   /* every search starts there */
    for (uint32_t v = 0; v < n; v++) {
        if ((g->flags[v] & (LEANN_NODE_HUB | LEANN_NODE_DELETED)) || g->deg[v] <= g->pruned_degree)
            continue;
        uint32_t cand[256];
        int d = g->deg[v];
        memcpy(cand, leann_graph_nbrs(g, v), sizeof(uint32_t) * (size_t)d);
        leann_graph_set_pruned(g, sp, v, cand, d, g->pruned_degree);
    }
    free(indeg);
    free(order);
}

void leann_graph_build(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                       uint64_t seed)
{
    array_space as = {vecs, dim};
    leann_space sp = {array_vec, &as, dim};
    leann_graph_reserve(g, n);
    g->n = n;
    memset(g->deg, 0, sizeof(uint16_t) * n);
    memset(g->flags, 0, n);
    g->entry = LEANN_NONE;
    if (n == 0)
        return;
    /* Entry point: the medoid (closest to the mean) so searches start in the
     * middle of the data. */
    float *mean = rg_xcalloc((size_t)dim, sizeof(float));
    for (uint32_t v = 0; v < n; v++)
        for (int t = 0; t < dim; t++)
            mean[t] += vecs[(size_t)v * dim + t];
    uint32_t medoid = 0;
    float best = -1e30f;
    for (uint32_t v = 0; v < n; v++) {
        float s = leann_dot(mean, vecs + (size_t)v * dim, (size_t)dim);
        if (s > best) {
            best = s;
            medoid = v;
        }
    }
    free(mean);
    /* Random insertion order (deterministic seed): sorted input would build
     * a chain-like graph. */
    uint32_t *order = rg_xmalloc(sizeof(uint32_t) * n);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t s = seed ? seed : 0x5eed;
    for (uint32_t i = n - 1; i > 0; i--) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        uint32_t j = (uint32_t)(s % (i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    leann_visit vs = {0};
    g->entry = medoid;
    /* Everyone is a hub while building (full degree); pruning comes after. */
    for (uint32_t v = 0; v < n; v++)
        g->flags[v] = LEANN_NODE_HUB;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = order[i];
        if (v == medoid)
            continue;
        leann_graph_insert_exact(g, &sp, v, g->max_degree, &vs);
    }
    /* Second pass (Vamana): nodes inserted early chose their neighbours from
     * a small graph; let them choose again from the full one. */
    if (n <= 200000) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = order[i];
            exact_ctx ec = {&sp, vecs + (size_t)v * dim};
            leann_cand *seen = NULL;
            size_t nseen = 0;
            leann_beam_search(g, exact_dist, &ec, LEANN_BUILD_L, &vs, &seen, &nseen);
            uint32_t pool[POOL_MAX + 256];
            int np = leann_candidates_from_seen(g, seen, nseen, v, pool, POOL_MAX);
            free(seen);
            for (int t = 0; t < g->deg[v]; t++)
                pool[np++] = leann_graph_nbrs(g, v)[t];
            leann_graph_connect(g, &sp, v, pool, np, g->max_degree);
        }
    }
    free(order);
    leann_visit_free(&vs);
    leann_graph_prune_hubs(g, &sp, hub_fraction);
}
