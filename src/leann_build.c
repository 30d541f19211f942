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
#include <pthread.h>
#include <stdatomic.h>
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

/* RobustPrune; clean (may be NULL) marks candidates that together were the
 * whole output of an earlier RobustPrune of the same p with the same alpha
 * (a list kept since its last prune).  Such a candidate was not covered by
 * any other clean candidate closer to p then, and distances have not
 * changed, so it is compared only with the non-clean ones kept before it:
 * the same choice for far fewer dot products when a full list takes a few
 * new edges (the build's reverse-edge merge, most of its cost). */
int leann_robust_prune_clean(const leann_space *sp, const uint32_t *cand, const float *dist, const uint8_t *clean,
                             int ncand, int bound, float alpha, uint32_t *out, float *out_dist)
{
    /* Lazy form of the greedy rule: a candidate is compared only with the
     * ones kept before it, and the scan stops once bound are kept, so the
     * tail of a long candidate list costs nothing.  Same choice as checking
     * every kept one against all later candidates. */
    const float *kept[256];
    uint8_t kept_clean[256];
    int nout = 0;
    if (bound > 256)
        bound = 256;
    for (int i = 0; i < ncand && nout < bound; i++) {
        bool dup = false;
        for (int k = 0; k < nout && !dup; k++)
            dup = out[k] == cand[i];
        if (dup)
            continue;
        const float *vi = sp->vec(sp->ctx, cand[i]);
        bool ci = clean && clean[i], covered = false;
        for (int k = 0; k < nout && !covered; k++) {
            if (ci && kept_clean[k])
                continue;
            float dki = 1.0f - leann_dot(kept[k], vi, (size_t)sp->dim);
            /* c_i is reachable through an already kept c_k: the edge
             * p->c_i adds little. */
            covered = alpha * dki <= dist[i];
        }
        if (covered)
            continue;
        kept[nout] = vi;
        kept_clean[nout] = ci;
        if (out_dist)
            out_dist[nout] = dist[i];
        out[nout++] = cand[i];
    }
    return nout;
}

int leann_robust_prune(const leann_space *sp, uint32_t p, const uint32_t *cand, const float *dist,
                       int ncand, int bound, float alpha, uint32_t *out)
{
    (void)p;
    return leann_robust_prune_clean(sp, cand, dist, NULL, ncand, bound, alpha, out, NULL);
}

static int prune_into(const leann_graph *g, const leann_space *sp, uint32_t p, const uint32_t *cand, int ncand,
                      int bound, float alpha, uint32_t *out);

void leann_graph_set_pruned(leann_graph *g, const leann_space *sp, uint32_t p, uint32_t *cand, int ncand,
                            int bound)
{
    g->deg[p] = (uint16_t)prune_into(g, sp, p, cand, ncand, bound, LEANN_ALPHA, leann_graph_nbrs(g, p));
}

void leann_graph_add_edge(leann_graph *g, const leann_space *sp, uint32_t v, uint32_t c)
{
    uint32_t *nb = leann_graph_nbrs(g, v);
    int d = g->deg[v];
    for (int i = 0; i < d; i++)
        if (nb[i] == c)
            return;
    /* A reverse edge is kept as Algorithm 3 keeps them after a bulk build
     * (leann_graph_prune_hubs): appended while the list is shorter than
     * graph_degree, whatever the node's own bound (pruned_degree is what a
     * node chooses, not what others may add), and only a full list is
     * re-pruned, to graph_degree.  Re-pruning at pruned_degree dropped most
     * new nodes from the lists of the nodes they chose, so an inserted node
     * had few in-edges: on 291K Debian-doc chunks (95% inserted) walk
     * recall@10 0.855 against 0.924 with this rule (bench/leann/insert_lab.c,
     * bench/leann/RESULTS-insert.md). */
    if (d < g->max_degree) {
        nb[d] = c;
        g->deg[v] = (uint16_t)(d + 1);
        return;
    }
    uint32_t cand[257];
    memcpy(cand, nb, sizeof(uint32_t) * (size_t)d);
    cand[d] = c;
    leann_graph_set_pruned(g, sp, v, cand, d + 1, g->max_degree);
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

/* ---- bulk build ----------------------------------------------------------
 *
 * Batched, parallel Vamana (the ParlayANN scheme): nodes are inserted in
 * batches whose size doubles from 1 up to a cap.  Within a batch every node
 * searches the graph as it was before the batch and chooses its neighbours
 * (read-only on the graph, so threads need no locks); then the reverse edges
 * are grouped by target and every target merges all of its new in-edges at
 * once, pruning at most once per batch.  The old serial insert re-pruned a
 * full list for every reverse edge that overflowed it (O(R^2) dot products
 * per edge), which was most of the build time. */

/* Candidate pool size for a node's neighbour choice. */
#ifndef POOL_MAX
#define POOL_MAX 128
#endif
/* Largest batch: a fraction of n (nodes of one batch cannot see each other
 * while choosing neighbours), and a floor so small graphs still batch. */
#define BATCH_FRACTION 0.02
#define BATCH_MIN_CAP 64

typedef struct array_space {
    const float *vecs;
    int dim;
} array_space;

static const float *array_vec(void *ctx, uint32_t node)
{
    array_space *a = ctx;
    return a->vecs + (size_t)node * a->dim;
}

typedef struct exact_ctx {
    const leann_space *sp;
    const float *q;
} exact_ctx;

static void exact_dist(void *ctx, const uint32_t *nodes, int n, float *out)
{
    exact_ctx *e = ctx;
    for (int i = 0; i < n; i++)
        out[i] = 1.0f - leann_dot(e->q, e->sp->vec(e->sp->ctx, nodes[i]), (size_t)e->sp->dim);
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

/* A parallel for: fn(job, i, thread) for i in [0, n), threads take indices
 * from a shared counter.  Up to rg_cpu_count() threads (8 at most); falls
 * back to the calling thread alone when threads cannot start. */
#define MAX_THREADS 8
typedef void (*par_fn)(void *job, uint32_t i, int thread);
typedef struct par_state {
    par_fn fn;
    void *job;
    uint32_t n;
    atomic_uint next;
    int thread;
    struct par_state *shared;
} par_state;

static void *par_worker(void *arg)
{
    par_state *me = arg, *s = me->shared;
    for (;;) {
        uint32_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n)
            break;
        s->fn(s->job, i, me->thread);
    }
    return NULL;
}

static void par_for(int nth, uint32_t n, par_fn fn, void *job)
{
    par_state s = {.fn = fn, .job = job, .n = n};
    atomic_init(&s.next, 0);
    s.shared = &s;
    if (nth > (int)n)
        nth = (int)n;
    pthread_t th[MAX_THREADS];
    par_state me[MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nth; t++) {
        me[t] = (par_state){.thread = t, .shared = &s};
        if (pthread_create(&th[t], NULL, par_worker, &me[t]) != 0)
            break;
        started = t;
    }
    me[0] = (par_state){.thread = 0, .shared = &s};
    par_worker(&me[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
}

static int build_threads(uint32_t n)
{
    int t = rg_cpu_count();
    if (t > MAX_THREADS)
        t = MAX_THREADS;
    return n < 1024 ? 1 : t;   /* thread start-up would dominate */
}

typedef struct edge {
    uint32_t to, from;
    float dist;
} edge;

static int edge_cmp(const void *a, const void *b)
{
    const edge *x = a, *y = b;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    return (x->from > y->from) - (x->from < y->from);
}

typedef struct build_job {
    leann_graph *g;
    const leann_space *sp;
    float alpha;
    const uint32_t *batch;
    uint32_t *lists;       /* batch size * max_degree: chosen neighbours */
    float *listd;          /* and their distances */
    float *ndist;          /* n * max_degree: distance of every list entry to its
                            * node, so no re-prune computes one again */
    uint16_t *nlist;
    leann_visit vs[MAX_THREADS];
    uint16_t *clean;       /* per node: leading entries of its list that are
                            * its last RobustPrune's output (prune_into_clean) */
    const edge *edges;     /* reverse edges sorted by target */
    const uint32_t *group; /* group k: edges[group[k] .. group[k + 1]) */
    void (*progress)(void *ctx, uint32_t done, uint32_t n);
    void *progress_ctx;
} build_job;

/* Sorted, deduplicated candidates (no p, no deleted) with distances to p,
 * then RobustPrune into out.  The first nclean candidates are p's list as
 * its last RobustPrune left it (leann_robust_prune_clean); 0 when unknown. */
typedef struct prune_cand {
    float dist;
    uint32_t node;
    uint32_t clean;
} prune_cand;

static int prune_cand_cmp(const void *a, const void *b)
{
    const prune_cand *x = a, *y = b;   /* as leann_cand_cmp */
    if (x->dist < y->dist)
        return -1;
    if (x->dist > y->dist)
        return 1;
    return (x->node > y->node) - (x->node < y->node);
}

static int prune_into_clean(const leann_graph *g, const leann_space *sp, uint32_t p, const uint32_t *cand,
                            const float *cdist, int ncand, int nclean, int bound, float alpha, uint32_t *out,
                            float *out_dist)
{
    prune_cand stack[512];
    prune_cand *cs = ncand <= 512 ? stack : rg_xmalloc(sizeof(prune_cand) * (size_t)ncand);
    int nc = 0;
    const float *vp = sp->vec(sp->ctx, p);
    for (int i = 0; i < ncand; i++) {
        if (cand[i] == p || (g->flags[cand[i]] & LEANN_NODE_DELETED))
            continue;
        cs[nc].node = cand[i];
        /* A known distance is the same float: leann_dot(a, b) and
         * leann_dot(b, a) add the same products in the same order. */
        cs[nc].dist = cdist ? cdist[i] : 1.0f - leann_dot(vp, sp->vec(sp->ctx, cand[i]), (size_t)sp->dim);
        cs[nc].clean = i < nclean;
        nc++;
    }
    qsort(cs, (size_t)nc, sizeof *cs, prune_cand_cmp);
    uint32_t ids_stack[512];
    float ds_stack[512];
    uint8_t cl_stack[512];
    uint32_t *ids = nc <= 512 ? ids_stack : rg_xmalloc(sizeof(uint32_t) * (size_t)nc);
    float *ds = nc <= 512 ? ds_stack : rg_xmalloc(sizeof(float) * (size_t)nc);
    uint8_t *cl = nc <= 512 ? cl_stack : rg_xmalloc((size_t)nc);
    int m = 0;
    for (int i = 0; i < nc; i++) {
        /* Equal nodes have equal distances, so they sort next to each other
         * unless another node ties; RobustPrune drops any left. */
        if (i > 0 && cs[i].node == cs[i - 1].node)
            continue;
        ids[m] = cs[i].node;
        ds[m] = cs[i].dist;
        cl[m] = (uint8_t)cs[i].clean;
        m++;
    }
    int k = leann_robust_prune_clean(sp, ids, ds, nclean > 0 ? cl : NULL, m, bound, alpha, out, out_dist);
    if (cs != stack)
        free(cs);
    if (ids != ids_stack) {
        free(ids);
        free(ds);
        free(cl);
    }
    return k;
}

static int prune_into(const leann_graph *g, const leann_space *sp, uint32_t p, const uint32_t *cand, int ncand,
                      int bound, float alpha, uint32_t *out)
{
    return prune_into_clean(g, sp, p, cand, NULL, ncand, 0, bound, alpha, out, NULL);
}

static void choose_neighbours(void *arg, uint32_t i, int thread)
{
    build_job *j = arg;
    const leann_graph *g = j->g;
    uint32_t v = j->batch[i];
    exact_ctx ec = {j->sp, j->sp->vec(j->sp->ctx, v)};
    leann_cand *seen = NULL;
    size_t nseen = 0;
    leann_beam_search(g, exact_dist, &ec, LEANN_BUILD_L, &j->vs[thread], &seen, &nseen);
    uint32_t pool[POOL_MAX];
    float pd[POOL_MAX];
    int np = 0;
    /* As leann_candidates_from_seen, keeping the walk's exact distances. */
    for (size_t t = 0; t < nseen && np < POOL_MAX; t++) {
        uint32_t u = seen[t].node;
        if (u == v || (g->flags[u] & LEANN_NODE_DELETED))
            continue;
        pd[np] = seen[t].dist;
        pool[np++] = u;
    }
    free(seen);
    size_t at = (size_t)i * g->max_degree;
    j->nlist[i] = (uint16_t)prune_into_clean(g, j->sp, v, pool, pd, np, 0, g->max_degree, j->alpha, j->lists + at,
                                             j->listd + at);
}

static void merge_in_edges(void *arg, uint32_t k, int thread)
{
    (void)thread;
    build_job *j = arg;
    leann_graph *g = j->g;
    const edge *e = j->edges + j->group[k];
    uint32_t ne = j->group[k + 1] - j->group[k], u = e[0].to;
    uint32_t *nb = leann_graph_nbrs(g, u);
    float *nd = j->ndist + (size_t)u * g->max_degree;
    int d = g->deg[u];
    uint32_t stack[512];
    float dstack[512];
    uint32_t *cand = (size_t)d + ne <= 512 ? stack : rg_xmalloc(sizeof(uint32_t) * ((size_t)d + ne));
    float *cd = (size_t)d + ne <= 512 ? dstack : rg_xmalloc(sizeof(float) * ((size_t)d + ne));
    memcpy(cand, nb, sizeof(uint32_t) * (size_t)d);
    memcpy(cd, nd, sizeof(float) * (size_t)d);
    int nc = d;
    for (uint32_t t = 0; t < ne; t++) {
        bool have = false;
        for (int s = 0; s < d && !have; s++)
            have = nb[s] == e[t].from;
        if (!have) {
            cd[nc] = e[t].dist;
            cand[nc++] = e[t].from;
        }
    }
    if (nc <= g->max_degree) {
        /* appended after the list: its clean prefix stays */
        memcpy(nb, cand, sizeof(uint32_t) * (size_t)nc);
        memcpy(nd, cd, sizeof(float) * (size_t)nc);
        g->deg[u] = (uint16_t)nc;
    } else {
        g->deg[u] = (uint16_t)prune_into_clean(g, j->sp, u, cand, cd, nc, j->clean[u], g->max_degree, j->alpha, nb, nd);
        j->clean[u] = g->deg[u];
    }
    if (cand != stack) {
        free(cand);
        free(cd);
    }
}

/* Inserts order[from..n): batches of doubling size (from first) up to cap. */
static void build_pass(build_job *j, const uint32_t *order, uint32_t from, uint32_t n, uint32_t first, uint32_t cap,
                       int nth)
{
    leann_graph *g = j->g;
    int R = g->max_degree;
    uint32_t *lists = rg_xmalloc(sizeof(uint32_t) * (size_t)cap * (size_t)R);
    float *listd = rg_xmalloc(sizeof(float) * (size_t)cap * (size_t)R);
    uint16_t *nlist = rg_xmalloc(sizeof(uint16_t) * cap);
    edge *edges = rg_xmalloc(sizeof(edge) * (size_t)cap * (size_t)R);
    uint32_t *group = rg_xmalloc(sizeof(uint32_t) * ((size_t)cap * (size_t)R + 1));
    j->lists = lists;
    j->listd = listd;
    j->nlist = nlist;
    uint32_t done = from, size = first;
    while (done < n) {
        uint32_t b = size < cap ? size : cap;
        if (b > n - done)
            b = n - done;
        j->batch = order + done;
        par_for(nth, b, choose_neighbours, j);
        size_t ne = 0;
        for (uint32_t i = 0; i < b; i++) {
            uint32_t v = j->batch[i];
            memcpy(leann_graph_nbrs(g, v), lists + (size_t)i * R, sizeof(uint32_t) * nlist[i]);
            memcpy(j->ndist + (size_t)v * R, listd + (size_t)i * R, sizeof(float) * nlist[i]);
            g->deg[v] = nlist[i];
            j->clean[v] = nlist[i];
            for (int t = 0; t < nlist[i]; t++)
                edges[ne++] = (edge){lists[(size_t)i * R + t], v, listd[(size_t)i * R + t]};
        }
        qsort(edges, ne, sizeof *edges, edge_cmp);
        uint32_t ng = 0;
        for (size_t t = 0; t < ne; t++)
            if (t == 0 || edges[t].to != edges[t - 1].to)
                group[ng++] = (uint32_t)t;
        group[ng] = (uint32_t)ne;
        j->edges = edges;
        j->group = group;
        par_for(nth, ng, merge_in_edges, j);
        done += b;
        if (j->progress)
            j->progress(j->progress_ctx, done, n);
        if (size < cap)
            size *= 2;
    }
    free(lists);
    free(listd);
    free(nlist);
    free(edges);
    free(group);
}

/* High-degree-preserving pruning, as the LEANN paper's Algorithm 3
 * (arXiv 2506.08276): the hub_fraction nodes most others point to (plus
 * the entry) choose graph_degree neighbours, every other node
 * pruned_degree (RobustPrune over its full build list, which stands in for
 * the paper's search(v, ef)); then every chosen edge is made
 * bidirectional, and a list is shrunk (RobustPrune) only past
 * graph_degree.  So the nodes many others choose keep long lists in both
 * directions, and walks route through them.  Measured against ragged's
 * earlier rule (prune everyone but the hubs to pruned_degree, no reverse
 * edges) on scifact at about equal average degree (12.6 with
 * pruned_degree 8 against 12.4 with 12): exact walk recall@10 0.998
 * against 0.964 at a beam of 1000, 0.974 against 0.904 at 400
 * (docs/leann.md, Index). */
typedef struct prune_job {
    leann_graph *g;
    const leann_space *sp;
    const uint8_t *hub;
    uint16_t *clean;      /* as build_job's; NULL: unknown */
    float *ndist;         /* as build_job's; NULL: unknown */
    uint32_t *chosen;     /* n * max_degree */
    uint16_t *nchosen;
    float *chosen_d;      /* n * max_degree when ndist */
} prune_job;

static void choose_one(void *arg, uint32_t v, int thread)
{
    (void)thread;
    prune_job *j = arg;
    leann_graph *g = j->g;
    int M = g->max_degree;
    uint32_t cand[256];
    int d = g->deg[v];
    memcpy(cand, leann_graph_nbrs(g, v), sizeof(uint32_t) * (size_t)d);
    /* A clean prefix of the build list stays clean for a smaller bound:
     * the lazy rule keeps a prefix of what it kept before. */
    size_t at = (size_t)v * M;
    j->nchosen[v] = (uint16_t)prune_into_clean(g, j->sp, v, cand, j->ndist ? j->ndist + at : NULL, d,
                                               j->clean ? j->clean[v] : 0, j->hub[v] ? M : g->pruned_degree,
                                               LEANN_ALPHA, j->chosen + at, j->ndist ? j->chosen_d + at : NULL);
}

static void prune_hubs_clean(leann_graph *g, const leann_space *sp, double hub_fraction, uint16_t *clean,
                             float *ndist);

void leann_graph_prune_hubs(leann_graph *g, const leann_space *sp, double hub_fraction)
{
    prune_hubs_clean(g, sp, hub_fraction, NULL, NULL);
}

/* clean, ndist: as build_job's (NULL: unknown); kept up to date as lists
 * change. */
static void prune_hubs_clean(leann_graph *g, const leann_space *sp, double hub_fraction, uint16_t *clean,
                             float *ndist)
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
    leann_cand_sort(order, n);
    uint32_t nhub = (uint32_t)((double)n * hub_fraction + 0.5);
    uint8_t *hub = rg_xcalloc(n, 1);
    for (uint32_t i = 0; i < nhub && i < n; i++)
        hub[order[i].node] = 1;
    if (g->entry != LEANN_NONE)
        hub[g->entry] = 1;   /* every search starts there */
    int M = g->max_degree;
    prune_job j = {g, sp, hub, clean, ndist, rg_xmalloc(sizeof(uint32_t) * (size_t)n * M),
                   rg_xcalloc(n, sizeof(uint16_t)), ndist ? rg_xmalloc(sizeof(float) * (size_t)n * M) : NULL};
    /* Each choice depends only on the node's own build list: parallel. */
    par_for(build_threads(n), n, choose_one, &j);
    for (uint32_t v = 0; v < n; v++) {
        g->deg[v] = j.nchosen[v];
        memcpy(leann_graph_nbrs(g, v), j.chosen + (size_t)v * M, sizeof(uint32_t) * j.nchosen[v]);
        g->flags[v] = (uint8_t)((g->flags[v] & ~LEANN_NODE_HUB) | (hub[v] ? LEANN_NODE_HUB : 0));
        if (clean)
            clean[v] = j.nchosen[v];
        if (ndist)
            memcpy(ndist + (size_t)v * M, j.chosen_d + (size_t)v * M, sizeof(float) * j.nchosen[v]);
    }
    /* Bidirectional: q gets v back; a list is shrunk only past M. */
    for (uint32_t v = 0; v < n; v++)
        for (int i = 0; i < j.nchosen[v]; i++) {
            uint32_t q = j.chosen[(size_t)v * M + i];
            uint32_t *nb = leann_graph_nbrs(g, q);
            int d = g->deg[q];
            bool have = false;
            for (int t = 0; t < d && !have; t++)
                have = nb[t] == v;
            if (have)
                continue;
            float dvq = ndist ? j.chosen_d[(size_t)v * M + i] : 0;
            float *nd = ndist ? ndist + (size_t)q * M : NULL;
            if (d < M) {
                nb[d] = v;
                if (nd)
                    nd[d] = dvq;
                g->deg[q] = (uint16_t)(d + 1);
            } else {
                uint32_t cand[257];
                float cd[257];
                memcpy(cand, nb, sizeof(uint32_t) * (size_t)d);
                cand[d] = v;
                if (nd) {
                    memcpy(cd, nd, sizeof(float) * (size_t)d);
                    cd[d] = dvq;
                }
                g->deg[q] = (uint16_t)prune_into_clean(g, sp, q, cand, nd ? cd : NULL, d + 1, clean ? clean[q] : 0, M,
                                                       LEANN_ALPHA, nb, nd);
                if (clean)
                    clean[q] = g->deg[q];
            }
        }
    free(j.chosen);
    free(j.nchosen);
    free(j.chosen_d);
    free(hub);
    free(indeg);
    free(order);
    leann_graph_reconnect(g, sp, NULL);
}

/* Breadth-first from queue[*head..*tail) over live nodes, marking seen. */
static void reach_from(const leann_graph *g, uint8_t *seen, uint32_t *queue, uint32_t *head, uint32_t *tail)
{
    while (*head < *tail) {
        uint32_t v = queue[(*head)++];
        for (int i = 0; i < g->deg[v]; i++) {
            uint32_t u = leann_graph_nbrs(g, v)[i];
            if (!seen[u] && !(g->flags[u] & LEANN_NODE_DELETED)) {
                seen[u] = 1;
                queue[(*tail)++] = u;
            }
        }
    }
}

uint32_t leann_graph_unreachable(const leann_graph *g)
{
    uint32_t live = 0;
    for (uint32_t v = 0; v < g->n; v++)
        live += !(g->flags[v] & LEANN_NODE_DELETED);
    if (g->entry == LEANN_NONE || g->n == 0)
        return live;
    if (g->flags[g->entry] & LEANN_NODE_DELETED)
        return live;
    uint8_t *seen = rg_xcalloc(g->n, 1);
    uint32_t *queue = rg_xmalloc(sizeof(uint32_t) * g->n);
    uint32_t head = 0, tail = 0;
    queue[tail++] = g->entry;
    seen[g->entry] = 1;
    reach_from(g, seen, queue, &head, &tail);
    free(seen);
    free(queue);
    return live - tail;
}

void leann_graph_reconnect(leann_graph *g, const leann_space *sp, uint8_t *dirty)
{
    if (g->entry == LEANN_NONE || g->n == 0)
        return;
    uint8_t *seen = rg_xcalloc(g->n, 1);
    uint32_t *queue = rg_xmalloc(sizeof(uint32_t) * g->n);
    uint32_t head = 0, tail = 0;
    queue[tail++] = g->entry;
    seen[g->entry] = 1;
    reach_from(g, seen, queue, &head, &tail);
    leann_visit vs = {0};
    /* Every node seen has been expanded before the next stranded node is
     * looked at, so a reached node's list never holds that node already
     * (which would make a duplicate edge the graph file refuses). */
    for (uint32_t u = 0; u < g->n; u++) {
        if (seen[u] || (g->flags[u] & LEANN_NODE_DELETED))
            continue;
        uint32_t w = LEANN_NONE;
        /* 1. Its nearest reachable out-neighbour with room links back (the
         *    lists are in RobustPrune order, nearest first). */
        const uint32_t *nb = leann_graph_nbrs(g, u);
        for (int i = 0; i < g->deg[u] && w == LEANN_NONE; i++)
            if (seen[nb[i]] && g->deg[nb[i]] < g->max_degree)
                w = nb[i];
        /* 2. Else the nearest node a walk from the entry finds for u's
         *    vector (a node inserted whose in-edges all lost their
         *    re-prunes has nothing reachable in its own list). */
        if (w == LEANN_NONE && sp) {
            exact_ctx e = {sp, sp->vec(sp->ctx, u)};
            leann_cand *found = NULL;
            size_t nfound = 0;
            leann_beam_search(g, exact_dist, &e, LEANN_BUILD_L, &vs, &found, &nfound);
            for (size_t i = 0; i < nfound && w == LEANN_NONE; i++) {
                uint32_t x = found[i].node;
                if (x != u && seen[x] && !(g->flags[x] & LEANN_NODE_DELETED) && g->deg[x] < g->max_degree)
                    w = x;
            }
            free(found);
            if (sp->release)
                sp->release(sp->ctx);   /* nothing of the walk is held past here */
        }
        /* 3. Else any reached node with room (every list full: only in
         *    degenerate graphs of fewer than max_degree nodes). */
        for (uint32_t i = 0; i < tail && w == LEANN_NONE; i++)
            if (g->deg[queue[i]] < g->max_degree)
                w = queue[i];
        if (w == LEANN_NONE)
            continue;
        /* Over its pruned bound it becomes a hub: hubs are the nodes others
         * depend on, and they have the room.  Under churn this mints hubs
         * (SciFact: 182 -> 1,683 after three cycles), and they carry edges
         * the walk needs: taking the flag away (the list may pass its bound
         * without it, but then never grows) kept 82 hubs and lowered walk
         * recall@10 after two cycles from 0.956 to 0.943
         * (bench/leann/RESULTS-churn.md), so it stays. */
        if (g->deg[w] >= leann_graph_bound(g, w))
            g->flags[w] |= LEANN_NODE_HUB;
        leann_graph_nbrs(g, w)[g->deg[w]++] = u;
        if (dirty)
            dirty[w] = 1;
        seen[u] = 1;
        queue[tail++] = u;
        reach_from(g, seen, queue, &head, &tail);
    }
    leann_visit_free(&vs);
    free(seen);
    free(queue);
}

void leann_graph_build(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                       uint64_t seed)
{
    leann_graph_build_progress(g, vecs, n, dim, hub_fraction, seed, NULL, NULL);
}

void leann_graph_build_progress(leann_graph *g, const float *vecs, uint32_t n, int dim, double hub_fraction,
                                uint64_t seed, void (*progress)(void *ctx, uint32_t done, uint32_t n), void *ctx)
{
    array_space as = {vecs, dim};
    leann_space sp = {array_vec, &as, dim, NULL};
    g->entry = LEANN_NONE;
    g->n = n;
    if (n == 0)   /* (a rebuild after every record was deleted) */
        return;
    leann_graph_reserve(g, n);
    memset(g->deg, 0, sizeof(uint16_t) * n);
    memset(g->flags, 0, n);
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
     * a chain-like graph.  The medoid goes first: it is the entry. */
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
    for (uint32_t i = 0; i < n; i++)
        if (order[i] == medoid) {
            order[i] = order[0];
            order[0] = medoid;
            break;
        }
    g->entry = medoid;
    /* Everyone is a hub while building (full degree); pruning comes after. */
    for (uint32_t v = 0; v < n; v++)
        g->flags[v] = LEANN_NODE_HUB;
    int nth = build_threads(n);
    uint32_t cap = (uint32_t)((double)n * BATCH_FRACTION);
    if (cap < BATCH_MIN_CAP)
        cap = BATCH_MIN_CAP;
    /* One pass, alpha LEANN_ALPHA from the start.  A second Vamana pass
     * (every node choosing again from the finished graph) doubled the build
     * time and moved scifact walk recall@10 from 0.947 to 0.949: the
     * doubling batches already let early nodes gain edges from later ones
     * through the reverse-edge merge. */
    build_job j = {.g = g, .sp = &sp, .alpha = LEANN_ALPHA, .progress = progress, .progress_ctx = ctx,
                   .clean = rg_xcalloc(n, sizeof(uint16_t)),
                   .ndist = rg_xmalloc(sizeof(float) * (size_t)n * (size_t)g->max_degree)};
    build_pass(&j, order, 1, n, 1, cap, nth);
    for (int t = 0; t < MAX_THREADS; t++)
        leann_visit_free(&j.vs[t]);
    free(order);
    prune_hubs_clean(g, &sp, hub_fraction, j.clean, j.ndist);
    free(j.clean);
    free(j.ndist);
}
