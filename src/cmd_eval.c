/* ragged eval: retrieval quality on a BEIR dataset (nDCG@10, Recall@100,
 * latency) for any backend, embedder and retrieval mode. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beir.h"
#include "chunker.h"
#include "cli.h"
#include "metrics.h"
#include "rerank.h"
#include "retrieve.h"
#include "util.h"

int rg_cmd_eval(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged eval --corpus FILE --queries FILE --qrels FILE [--mode LIST]\n"
    "                   [--fusion rrf|score] [--rrf-k N] [--vector-weight W] [--bm25-weight W]\n"
    "                   [--depth N] [--limit N] [--reuse] [--sweep] [--set KEY=VALUE]...\n"
    "                   [--rerank | --no-rerank] [--rerank-model DIR]\n\n"
    "Measures retrieval on a BEIR dataset: ingests the corpus into a collection (document =\n"
    "title + \" \" + text, chunked like any document, a document scores as its best chunk),\n"
    "runs every judged query and prints nDCG@10, Recall@100 and query latency.\n\n"
    "  --corpus FILE        corpus.jsonl ({\"_id\", \"title\", \"text\"} per line)\n"
    "  --queries FILE       queries.jsonl ({\"_id\", \"text\"} per line)\n"
    "  --qrels FILE         judgements (query-id, corpus-id, score; TSV with a header)\n"
    "  --mode LIST          comma-separated vector, bm25, hybrid, or all (default: all)\n"
    "  --fusion, --rrf-k, --vector-weight, --bm25-weight\n"
    "                       hybrid fusion (defaults: the retrieval.* configuration)\n"
    "  --depth N            passages retrieved per query and per side (default 200)\n"
    "  --limit N            only the first N judged queries\n"
    "  --reuse              keep the collection if it already holds records (default:\n"
    "                       rebuild it from the corpus)\n"
    "  --sweep              also fuse the two sides with a grid of fusion settings\n"
    "  --set KEY=VALUE      configuration override, e.g. --set retrieval.bm25_k1=0.9\n"
    "  --rerank-model DIR   also rerank each mode's best retrieval.rerank.top_n passages with\n"
    "                       this cross-encoder and report both (default: retrieval.rerank.model)\n"
    "  --rerank, --no-rerank  require the configured reranker / do not rerank even if\n"
    "                       retrieval.rerank.model is set\n"
    "The collection defaults to beir-DIR (DIR: the corpus file's directory name).\n"
    "Queries whose id equals a document id never retrieve that document (as BEIR does).\n\n" RG_CLI_COMMON_HELP;

#define NDCG_K 10
#define RECALL_K 100

typedef struct eval_run {
    double ndcg, recall;
    double *lat;
    size_t n;
    /* the same first-stage lists, reranked (when a reranker is set) */
    double ndcg_rr, recall_rr;
    double *lat_rr;
} eval_run;

typedef struct evaluator {
    rg_beir_docs queries;        /* judged ones only */
    json_t *qrels;
    const char **ranked;         /* scratch: doc ids of one query */
} evaluator;

/* Doc ids of chunk hits ("DOC#i"), best chunk first, without duplicates and
 * without the query's own id. */
static size_t docs_of(const rg_hits *h, const char *qid, const char **out, json_t *seen)
{
    json_object_clear(seen);
    size_t n = 0;
    for (size_t i = 0; i < h->n && n < RECALL_K; i++) {
        char *id = h->items[i].id;
        char *hash = strrchr(id, '#');
        if (hash)
            *hash = '\0';
        if (strcmp(id, qid) && !json_object_get(seen, id)) {
            json_object_set_new(seen, id, json_true());
            out[n++] = id;
        }
    }
    return n;
}

static void score_query(evaluator *ev, size_t q, const rg_hits *h, json_t *seen, double *ndcg, double *recall)
{
    const char *qid = ev->queries.items[q].id;
    size_t n = docs_of(h, qid, ev->ranked, seen);
    const json_t *rels = json_object_get(ev->qrels, qid);
    *ndcg += rg_ndcg_at(ev->ranked, n, rels, NDCG_K);
    *recall += rg_recall_at(ev->ranked, n, rels, RECALL_K);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    if (!n || !v)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i];
}

/* ---- ingest ---- */

static rg_status ingest_corpus(rg_cli *cli, rg_collection *coll, rg_embedder *emb, const rg_config *cfg,
                               const rg_beir_docs *corpus, int64_t *chunks_out, rg_error *err)
{
    size_t size = (size_t)rg_config_int(cfg, "chunking.size"), overlap = (size_t)rg_config_int(cfg, "chunking.overlap");
    int dim = rg_collection_dim(coll);
    rg_progress *pg = rg_progress_new(cli, "ingesting corpus", (int64_t)corpus->n);
    rg_status rc = RG_OK;
    int64_t chunks = 0;
    const size_t per_batch = 256;
    char **texts = NULL, **ids = NULL;
    json_t **metas = NULL;
    size_t cap = 0;
    for (size_t d0 = 0; rc == RG_OK && d0 < corpus->n; d0 += per_batch) {
        if (cli->interrupted && *cli->interrupted) {
            rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted");
            break;
        }
        size_t n = 0;
        for (size_t d = d0; d < corpus->n && d < d0 + per_batch; d++) {
            const rg_beir_doc *doc = &corpus->items[d];
            char *full = *doc->title ? rg_xasprintf("%s %s", doc->title, doc->text) : rg_xstrdup(doc->text);
            rg_chunks ch = {0};
            rg_chunk_text(full, strlen(full), emb, size, overlap, &ch);
            for (size_t i = 0; i < ch.n; i++) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 512;
                    texts = rg_xrealloc(texts, cap * sizeof *texts);
                    ids = rg_xrealloc(ids, cap * sizeof *ids);
                    metas = rg_xrealloc(metas, cap * sizeof *metas);
                }
                texts[n] = rg_xstrndup(full + ch.items[i].start, ch.items[i].end - ch.items[i].start);
                ids[n] = rg_xasprintf("%s#%zu", doc->id, i);
                metas[n] = json_pack("{s:s, s:I, s:I}", "document_id", doc->id, "chunk_position", (json_int_t)i,
                                     "total_chunks", (json_int_t)ch.n);
                n++;
            }
            rg_chunks_free(&ch);
            free(full);
        }
        float *vecs = rg_xmalloc((n ? n : 1) * (size_t)dim * sizeof *vecs);
        rc = rg_embedder_embed(emb, (const char *const *)texts, n, RG_EMBED_DOCUMENT, vecs, err);
        if (rc == RG_OK) {
            rg_record *recs = rg_xcalloc(n ? n : 1, sizeof *recs);
            for (size_t i = 0; i < n; i++)
                recs[i] = (rg_record){ids[i], texts[i], metas[i], vecs + i * (size_t)dim, true};
            rc = rg_collection_upsert(coll, recs, n, err);
            free(recs);
        }
        free(vecs);
        for (size_t i = 0; i < n; i++) {
            free(texts[i]);
            free(ids[i]);
            json_decref(metas[i]);
        }
        chunks += (int64_t)n;
        rg_progress_update(pg, (int64_t)(d0 + per_batch < corpus->n ? d0 + per_batch : corpus->n), NULL);
    }
    free(texts);
    free(ids);
    free(metas);
    rg_progress_free(pg);
    *chunks_out = chunks;
    return rc;
}

/* ---- running ---- */

static rg_status run_mode(rg_cli *cli, evaluator *ev, rg_collection *coll, const rg_retrieve_opts *o,
                          rg_reranker *rr, eval_run *run, rg_error *err)
{
    size_t nq = ev->queries.n;
    run->lat = rg_xcalloc(nq ? nq : 1, sizeof *run->lat);
    run->lat_rr = rr ? rg_xcalloc(nq ? nq : 1, sizeof *run->lat_rr) : NULL;
    json_t *seen = json_object();
    rg_status rc = RG_OK;
    rg_progress *pg = rg_progress_new(cli, rg_retrieve_mode_name(o->mode), (int64_t)nq);
    for (size_t q = 0; rc == RG_OK && q < nq; q++) {
        rg_hits h;
        rg_hits_init(&h);
        double t0 = rg_now();
        rc = rg_retrieve(coll, ev->queries.items[q].text, o, &h, err);
        run->lat[q] = rg_now() - t0;
        if (rc == RG_OK && rr) {
            /* Same first stage, reranked: scoring rewrites ids, so a copy. */
            rg_hits hr;
            rg_hits_init(&hr);
            for (size_t i = 0; i < h.n; i++)
                rg_hits_push(&hr, h.items[i].id, h.items[i].distance, NULL, NULL);
            double t1 = rg_now();
            rc = rg_retrieve_rerank(coll, ev->queries.items[q].text, rr, (size_t)rr->top_n, &hr, NULL, err);
            run->lat_rr[q] = rg_now() - t1;
            if (rc == RG_OK)
                score_query(ev, q, &hr, seen, &run->ndcg_rr, &run->recall_rr);
            rg_hits_free(&hr);
        }
        if (rc == RG_OK)
            score_query(ev, q, &h, seen, &run->ndcg, &run->recall);
        rg_hits_free(&h);
        run->n++;
        if (q % 32 == 0)
            rg_progress_update(pg, (int64_t)q, NULL);
        if (cli->interrupted && *cli->interrupted)
            rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted");
    }
    rg_progress_free(pg);
    json_decref(seen);
    if (nq) {
        run->ndcg /= (double)nq;
        run->recall /= (double)nq;
        run->ndcg_rr /= (double)nq;
        run->recall_rr /= (double)nq;
    }
    return rc;
}

static json_t *run_json(const char *mode, const rg_retrieve_opts *o, eval_run *r)
{
    json_t *j = json_pack("{s:s, s:f, s:f, s:I, s:{s:f, s:f}}", "mode", mode, "ndcg@10", r->ndcg, "recall@100",
                          r->recall, "queries", (json_int_t)r->n, "latency_ms", "p50",
                          percentile(r->lat, r->n, 0.50) * 1e3, "p95", percentile(r->lat, r->n, 0.95) * 1e3);
    if (r->lat_rr)
        json_object_set_new(j, "rerank", json_pack("{s:f, s:f, s:{s:f, s:f}}", "ndcg@10", r->ndcg_rr, "recall@100",
                                                   r->recall_rr, "latency_ms", "p50",
                                                   percentile(r->lat_rr, r->n, 0.50) * 1e3, "p95",
                                                   percentile(r->lat_rr, r->n, 0.95) * 1e3));
    if (o && o->mode == RG_RETRIEVE_HYBRID) {
        json_object_set_new(j, "fusion", json_string(rg_fusion_name(o->fusion)));
        if (o->fusion == RG_FUSION_RRF)
            json_object_set_new(j, "rrf_k", json_integer(o->rrf_k));
        json_object_set_new(j, "vector_weight", json_real(o->vector_weight));
        json_object_set_new(j, "bm25_weight", json_real(o->bm25_weight));
    }
    return j;
}

/* Fuses cached sides with a grid of settings (no retrieval per setting). */
static json_t *sweep(evaluator *ev, rg_collection *coll, const rg_retrieve_opts *base, int depth, rg_error *err,
                     rg_status *rc)
{
    size_t nq = ev->queries.n;
    rg_hits *vec = rg_xcalloc(nq ? nq : 1, sizeof *vec), *lex = rg_xcalloc(nq ? nq : 1, sizeof *lex);
    *rc = RG_OK;
    for (size_t q = 0; *rc == RG_OK && q < nq; q++)
        *rc = rg_retrieve_sides(coll, ev->queries.items[q].text, base, depth, &vec[q], &lex[q], err);
    json_t *out = json_array();
    static const int rrf_ks[] = {5, 10, 20, 30, 60, 100};
    static const double ratios[] = {0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0};   /* bm25 : vector */
    json_t *seen = json_object();
    for (int fu = 0; *rc == RG_OK && fu < 2; fu++) {
        size_t n1 = fu == 0 ? RG_ARRAY_LEN(rrf_ks) : 1;
        size_t n2 = fu == 0 ? RG_ARRAY_LEN(ratios) : 21;
        for (size_t a = 0; a < n1; a++)
            for (size_t b = 0; b < n2; b++) {
                rg_retrieve_opts o = *base;
                o.mode = RG_RETRIEVE_HYBRID;
                o.fusion = fu == 0 ? RG_FUSION_RRF : RG_FUSION_SCORE;
                if (fu == 0) {
                    o.rrf_k = rrf_ks[a];
                    o.vector_weight = 1.0;
                    o.bm25_weight = ratios[b];
                } else {
                    o.vector_weight = (double)b / 20.0;
                    o.bm25_weight = 1.0 - o.vector_weight;
                }
                eval_run r = {0};
                for (size_t q = 0; q < nq; q++) {
                    rg_hits h;
                    rg_hits_init(&h);
                    rg_fuse(&vec[q], &lex[q], &o, depth, &h);
                    score_query(ev, q, &h, seen, &r.ndcg, &r.recall);
                    rg_hits_free(&h);
                }
                r.n = nq;
                if (nq) {
                    r.ndcg /= (double)nq;
                    r.recall /= (double)nq;
                }
                json_t *j = run_json("hybrid", &o, &r);
                json_object_del(j, "latency_ms");
                json_array_append_new(out, j);
            }
    }
    json_decref(seen);
    for (size_t q = 0; q < nq; q++) {
        rg_hits_free(&vec[q]);
        rg_hits_free(&lex[q]);
    }
    free(vec);
    free(lex);
    return out;
}

static bool parse_float_arg(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || v < 0 || v > 1000)
        return false;
    *out = v;
    return true;
}

int rg_cmd_eval(rg_cli *cli, int argc, char **argv)
{
    enum { O_CORPUS = 2001, O_QUERIES, O_QRELS, O_MODE, O_FUSION, O_RRFK, O_VW, O_BW, O_DEPTH, O_LIMIT, O_REUSE,
           O_SWEEP, O_SET, O_RERANK_MODEL, O_NO_RERANK, O_RERANK };
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"corpus", required_argument, NULL, O_CORPUS},
                                         {"queries", required_argument, NULL, O_QUERIES},
                                         {"qrels", required_argument, NULL, O_QRELS},
                                         {"mode", required_argument, NULL, O_MODE},
                                         {"fusion", required_argument, NULL, O_FUSION},
                                         {"rrf-k", required_argument, NULL, O_RRFK},
                                         {"vector-weight", required_argument, NULL, O_VW},
                                         {"bm25-weight", required_argument, NULL, O_BW},
                                         {"depth", required_argument, NULL, O_DEPTH},
                                         {"limit", required_argument, NULL, O_LIMIT},
                                         {"reuse", no_argument, NULL, O_REUSE},
                                         {"sweep", no_argument, NULL, O_SWEEP},
                                         {"set", required_argument, NULL, O_SET},
                                         {"rerank-model", required_argument, NULL, O_RERANK_MODEL},
                                         {"no-rerank", no_argument, NULL, O_NO_RERANK},
                                         {"rerank", no_argument, NULL, O_RERANK},
                                         {0}};
    const char *rerank_model = NULL;
    bool no_rerank = false, need_rerank = false;
    const char *corpus_path = NULL, *queries_path = NULL, *qrels_path = NULL, *modes = "all", *fusion = NULL;
    long rrf_k = 0, depth = 200, limit = 0;
    double vw = -1, bw = -1;
    bool reuse = false, do_sweep = false;
    const char **sets = rg_xcalloc((size_t)argc + 1, sizeof *sets);
    size_t nsets = 0;
    int c, rc = 0;
    rg_cli_getopt_reset();
    while (rc == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(HELP, stdout); free(sets); return 0;
        case O_CORPUS: corpus_path = optarg; break;
        case O_QUERIES: queries_path = optarg; break;
        case O_QRELS: qrels_path = optarg; break;
        case O_MODE: modes = optarg; break;
        case O_FUSION: fusion = optarg; break;
        case O_RRFK:
            if (!rg_cli_parse_long(optarg, 1, 100000, &rrf_k))
                rc = rg_cli_usage_error(cli, "--rrf-k takes a number from 1 to 100000, not '%s'", optarg);
            break;
        case O_VW:
        case O_BW:
            if (!parse_float_arg(optarg, c == O_VW ? &vw : &bw))
                rc = rg_cli_usage_error(cli, "%s takes a number from 0 to 1000, not '%s'",
                                        c == O_VW ? "--vector-weight" : "--bm25-weight", optarg);
            break;
        case O_DEPTH:
            if (!rg_cli_parse_long(optarg, RECALL_K, 100000, &depth))
                rc = rg_cli_usage_error(cli, "--depth takes a number from %d to 100000, not '%s'", RECALL_K, optarg);
            break;
        case O_LIMIT:
            if (!rg_cli_parse_long(optarg, 1, 100000000, &limit))
                rc = rg_cli_usage_error(cli, "--limit takes a positive number, not '%s'", optarg);
            break;
        case O_REUSE: reuse = true; break;
        case O_SWEEP: do_sweep = true; break;
        case O_SET: sets[nsets++] = optarg; break;
        case O_RERANK_MODEL: rerank_model = optarg; break;
        case O_NO_RERANK: no_rerank = true; break;
        case O_RERANK: need_rerank = true; break;
        default:
            if (!rg_cli_common_option(cli, c, optarg, &rc)) {
                free(sets);
                return rc;
            }
        }
    }
    if (rc) {
        free(sets);
        return rc;
    }
    if (!corpus_path || !queries_path || !qrels_path) {
        free(sets);
        return rg_cli_usage_error(cli, "eval needs --corpus, --queries and --qrels");
    }
    rg_config *cfg = rg_cli_config(cli);
    rg_error err;
    if (!cfg) {
        free(sets);
        return 2;
    }
    for (size_t i = 0; i < nsets; i++) {
        const char *eq = strchr(sets[i], '=');
        if (!eq) {
            int code = rg_cli_usage_error(cli, "--set takes KEY=VALUE, not '%s'", sets[i]);
            free(sets);
            return code;
        }
        char *key = rg_xstrndup(sets[i], (size_t)(eq - sets[i]));
        rg_status st = rg_config_set(cfg, key, eq + 1, RG_SRC_FLAG, &err);
        free(key);
        if (st != RG_OK) {
            free(sets);
            return rg_cli_fail(cli, &err);
        }
    }
    free(sets);

    /* Modes. */
    bool want[3] = {false, false, false};
    {
        char *copy = rg_xstrdup(modes), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
            rg_retrieve_mode m;
            if (!strcmp(t, "all"))
                want[0] = want[1] = want[2] = true;
            else if (rg_retrieve_mode_parse(t, &m, &err) == RG_OK)
                want[m] = true;
            else
                rc = rg_cli_usage_error(cli, "%s", err.msg);
        }
        free(copy);
        if (rc)
            return rc;
    }
    rg_retrieve_opts base;
    rg_retrieve_opts_from_config(&base, cfg);
    if (fusion && rg_fusion_parse(fusion, &base.fusion, &err) != RG_OK)
        return rg_cli_usage_error(cli, "%s", err.msg);
    if (rrf_k)
        base.rrf_k = (int)rrf_k;
    if (vw >= 0)
        base.vector_weight = vw;
    if (bw >= 0)
        base.bm25_weight = bw;
    base.k = (int)depth;
    base.candidates = (int)depth;

    /* Data. */
    evaluator ev = {0};
    rg_beir_docs corpus = {0}, all_queries = {0};
    rg_status st = rg_beir_load_jsonl(corpus_path, &corpus, &err);
    if (st == RG_OK)
        st = rg_beir_load_jsonl(queries_path, &all_queries, &err);
    if (st == RG_OK) {
        char msg[512];
        ev.qrels = rg_qrels_load(qrels_path, msg, sizeof msg);
        if (!ev.qrels)
            st = rg_error_set(&err, RG_ERR_INVALID, "%s", msg);
    }
    if (st != RG_OK) {
        rg_beir_docs_free(&corpus);
        rg_beir_docs_free(&all_queries);
        json_decref(ev.qrels);
        return rg_cli_fail(cli, &err);
    }
    /* Judged queries only, in file order. */
    for (size_t i = 0; i < all_queries.n; i++) {
        rg_beir_doc *q = &all_queries.items[i];
        if (json_object_get(ev.qrels, q->id) && (!limit || ev.queries.n < (size_t)limit)) {
            if (ev.queries.n == ev.queries.cap) {
                ev.queries.cap = ev.queries.cap ? ev.queries.cap * 2 : 256;
                ev.queries.items = rg_xrealloc(ev.queries.items, ev.queries.cap * sizeof *ev.queries.items);
            }
            ev.queries.items[ev.queries.n++] = *q;
            memset(q, 0, sizeof *q);
        }
    }
    rg_beir_docs_free(&all_queries);
    ev.ranked = rg_xmalloc(RECALL_K * sizeof *ev.ranked);

    /* Collection. */
    char *coll_name = NULL;
    if (!strcmp(cli->collection, "default")) {
        char *dir = rg_path_dirname(corpus_path);
        char *abs = realpath(dir, NULL);
        const char *base_name = strrchr(abs ? abs : dir, '/');
        base_name = base_name ? base_name + 1 : (abs ? abs : dir);
        rg_buf nb;
        rg_buf_init(&nb);
        rg_buf_puts(&nb, "beir-");
        for (const char *p = base_name; *p; p++)
            rg_buf_putc(&nb, (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '-');
        if (nb.data[nb.len - 1] == '-')
            rg_buf_putc(&nb, 'x');
        coll_name = rg_buf_steal(&nb);
        free(abs);
        free(dir);
    } else {
        coll_name = rg_xstrdup(cli->collection);
    }
    rg_embedder *emb = NULL;
    rg_store *store = NULL;
    rg_collection *coll = NULL;
    int64_t chunks = 0, existing = 0;
    double ingest_s = 0;
    bool ingested = false;
    rg_reranker *rr = NULL;
    st = no_rerank ? RG_OK : rg_reranker_open(cfg, rerank_model, &rr, &err);
    if (st == RG_OK && need_rerank && !rr)
        st = rg_error_set(&err, RG_ERR_INVALID, "--rerank needs a cross-encoder: set retrieval.rerank.model or "
                          "pass --rerank-model DIR");
    if (st == RG_OK)
        st = rg_embedder_open(cfg, &emb, &err);
    if (st == RG_OK)
        st = rg_store_open(cfg, NULL, &store, &err);
    if (st == RG_OK && reuse && rg_collection_open(store, coll_name, emb, false, &coll, &err) == RG_OK) {
        st = rg_collection_count(coll, &existing, &err);
        if (st == RG_OK && existing == 0) {
            rg_collection_close(coll);
            coll = NULL;
        }
    }
    if (st == RG_OK && !coll) {
        st = rg_store_delete_collection(store, coll_name, &err);
        if (st == RG_ERR_NOTFOUND)
            st = RG_OK;
        if (st == RG_OK)
            st = rg_collection_open(store, coll_name, emb, true, &coll, &err);
        double t0 = rg_now();
        if (st == RG_OK)
            st = ingest_corpus(cli, coll, emb, cfg, &corpus, &chunks, &err);
        ingest_s = rg_now() - t0;
        ingested = true;
    } else {
        chunks = existing;
    }
    /* The first BM25 query would (re)build the lexical index: do it now so
     * it does not count as query latency. */
    if (st == RG_OK && (want[1] || want[2])) {
        rg_hits h;
        rg_hits_init(&h);
        rg_query_opts q = {.k = 1};
        st = rg_collection_query_lexical(coll, "warm up", &q, &h, &err);
        rg_hits_free(&h);
    }
    json_t *results = json_array();
    for (int m = 0; st == RG_OK && m < 3; m++) {
        if (!want[m])
            continue;
        rg_retrieve_opts o = base;
        o.mode = (rg_retrieve_mode)m;
        eval_run r = {0};
        st = run_mode(cli, &ev, coll, &o, rr, &r, &err);
        if (st == RG_OK)
            json_array_append_new(results, run_json(rg_retrieve_mode_name(o.mode), &o, &r));
        free(r.lat);
        free(r.lat_rr);
    }
    json_t *grid = NULL;
    if (st == RG_OK && do_sweep)
        grid = sweep(&ev, coll, &base, (int)depth, &err, &st);
    if (st != RG_OK) {
        rc = rg_cli_fail(cli, &err);
    } else {
        char ident[512];
        rg_embedder_identity_format(&emb->identity, ident, sizeof ident);
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:f, s:I, s:o}", "corpus", corpus_path,
                              "qrels", qrels_path, "backend", rg_store_backend(store), "embedder", ident,
                              "collection", coll_name, "documents", (json_int_t)corpus.n, "chunks",
                              (json_int_t)chunks, "queries", (json_int_t)ev.queries.n, "ingested", ingested,
                              "ingest_seconds", ingest_s, "depth", (json_int_t)depth, "results", results);
        results = NULL;
        json_object_set_new(j, "bm25", json_pack("{s:s, s:f, s:f}", "stemmer", rg_config_str(cfg, "retrieval.bm25_stemmer"),
                                                 "k1", rg_config_float(cfg, "retrieval.bm25_k1"), "b",
                                                 rg_config_float(cfg, "retrieval.bm25_b")));
        if (grid)
            json_object_set_new(j, "sweep", json_incref(grid));
        if (rr)
            json_object_set_new(j, "reranker", json_pack("{s:s, s:i}", "name", rr->name, "top_n", rr->top_n));
        if (cli->format == RG_FORMAT_JSON) {
            rg_cli_print_json(j);
        } else {
            printf("%s: %zu documents (%lld chunks), %zu judged queries, %s backend, embedder %s\n", corpus_path,
                   corpus.n, (long long)chunks, ev.queries.n, rg_store_backend(store), ident);
            if (rr)
                printf("reranker: %s, top %d of each mode's list\n", rr->name, rr->top_n);
            if (ingested)
                printf("ingest: %.1f s\n", ingest_s);
            printf("%-8s %-22s %9s %10s %9s %9s\n", "mode", "fusion", "nDCG@10", "Recall@100", "p50 ms", "p95 ms");
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(j, "results"), i, r)
            {
                char fu[64] = "-";
                if (json_object_get(r, "fusion"))
                    snprintf(fu, sizeof fu, "%s k=%lld w=%.2g/%.2g", json_string_value(json_object_get(r, "fusion")),
                             (long long)json_integer_value(json_object_get(r, "rrf_k")),
                             json_real_value(json_object_get(r, "vector_weight")),
                             json_real_value(json_object_get(r, "bm25_weight")));
                printf("%-8s %-22s %9.4f %10.4f %9.2f %9.2f\n", json_string_value(json_object_get(r, "mode")), fu,
                       json_real_value(json_object_get(r, "ndcg@10")), json_real_value(json_object_get(r, "recall@100")),
                       json_real_value(json_object_get(json_object_get(r, "latency_ms"), "p50")),
                       json_real_value(json_object_get(json_object_get(r, "latency_ms"), "p95")));
                json_t *x = json_object_get(r, "rerank");
                if (x)
                    printf("%-8s %-22s %9.4f %10.4f %9.2f %9.2f  (+ rerank ms)\n", "", "reranked",
                           json_real_value(json_object_get(x, "ndcg@10")),
                           json_real_value(json_object_get(x, "recall@100")),
                           json_real_value(json_object_get(json_object_get(x, "latency_ms"), "p50")),
                           json_real_value(json_object_get(json_object_get(x, "latency_ms"), "p95")));
            }
            json_array_foreach(grid, i, r)
            {
                printf("sweep  %-6s rrf_k=%-4lld vector=%.2f bm25=%.2f  nDCG@10 %.4f  Recall@100 %.4f\n",
                       json_string_value(json_object_get(r, "fusion")),
                       (long long)json_integer_value(json_object_get(r, "rrf_k")),
                       json_real_value(json_object_get(r, "vector_weight")),
                       json_real_value(json_object_get(r, "bm25_weight")), json_real_value(json_object_get(r, "ndcg@10")),
                       json_real_value(json_object_get(r, "recall@100")));
            }
            json_decref(j);
        }
    }
    json_decref(grid);
    json_decref(results);
    rg_collection_close(coll);
    rg_store_close(store);
    rg_embedder_free(emb);
    rg_reranker_free(rr);
    free(coll_name);
    free(ev.ranked);
    rg_beir_docs_free(&ev.queries);
    rg_beir_docs_free(&corpus);
    json_decref(ev.qrels);
    return rc;
}
