/* The migration engine (see migrate.h for the guarantees).
 *
 * Flow: recover leftovers in the target backend -> open source (read only)
 * -> decide whether stored vectors can be reused (same embedder identity)
 * -> page through the source with offset/limit, embedding when needed and
 * adding each page to TARGET.rgmig-staging-PID -> compact (the "build"
 * phase: leann rebuilds its graph) -> verify -> rename into place.
 *
 * Memory holds one page of records (plus, with --verify, the matching page
 * of the target and the sampled query passages), whatever the collection
 * size. */
#include "migrate.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedder.h"
#include "util.h"

static const char *const PHASE_NAMES[RG_MIGRATE_NPHASES] = {"recover", "read",   "embed",   "write",
                                                            "build",   "verify", "queries", "publish"};

const char *rg_migrate_phase_name(rg_migrate_phase p)
{
    return p < RG_MIGRATE_NPHASES ? PHASE_NAMES[p] : "?";
}

typedef struct mig {
    const rg_migrate_opts *o;
    rg_migrate_report *r;
    double phase_start;
    rg_migrate_phase phase;
} mig;

static void notice(const rg_migrate_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notice(const rg_migrate_opts *o, const char *fmt, ...)
{
    if (!o->on_notice)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    o->on_notice(o->ctx, msg);
}

/* Charges the time since the last call to the phase that was running. */
static void phase_clock(mig *m, rg_migrate_phase next)
{
    double now = rg_now();
    m->r->phase_seconds[m->phase] += now - m->phase_start;
    m->phase_start = now;
    m->phase = next;
}

static void progress(mig *m, rg_migrate_phase phase, int64_t done, int64_t total)
{
    phase_clock(m, phase);
    if (m->o->on_progress)
        m->o->on_progress(m->o->ctx, phase, done, total);
}

static bool interrupted(const mig *m)
{
    return m->o->interrupted && *m->o->interrupted;
}

/* ---- leftovers ---------------------------------------------------------- */

/* Splits NAME<tag>PID; false if name is not one of ours. */
static bool parse_leftover(const char *name, const char *tag, char *base, size_t basecap, long *pid)
{
    const char *p = strstr(name, tag);
    if (!p || p == name)
        return false;
    const char *digits = p + strlen(tag);
    if (!*digits)
        return false;
    for (const char *d = digits; *d; d++)
        if (*d < '0' || *d > '9')
            return false;
    if ((size_t)(p - name) >= basecap)
        return false;
    memcpy(base, name, (size_t)(p - name));
    base[p - name] = '\0';
    *pid = strtol(digits, NULL, 10);
    return true;
}

/* A leftover is stale when the process that made it is gone.  Our own pid
 * cannot own anything yet when recovery runs, so a match is pid reuse. */
static bool pid_alive(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

static bool info_has(const rg_collection_info *infos, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(infos[i].name, name))
            return true;
    return false;
}

/* BM25 index files of a dead migration's staging or backup collection that
 * the backend no longer holds (rg_store_sweep_indexes). */
static bool dead_leftover_index(const char *name, void *ctx)
{
    (void)ctx;
    char base[RG_COLLECTION_NAME_MAX + 1];
    long pid;
    return (parse_leftover(name, RG_MIGRATE_STAGING_TAG, base, sizeof base, &pid) ||
            parse_leftover(name, RG_MIGRATE_BACKUP_TAG, base, sizeof base, &pid)) &&
           !pid_alive(pid);
}

int rg_migrate_recover(rg_store *store, bool dry_run, void (*on_notice)(void *ctx, const char *msg), void *ctx,
                       rg_error *err)
{
    rg_migrate_opts o = {.on_notice = on_notice, .ctx = ctx};
    rg_collection_info *infos = NULL;
    size_t n = 0;
    if (rg_store_list(store, &infos, &n, err) != RG_OK)
        return -1;
    const char *be = rg_store_backend(store);
    int found = 0;
    char base[RG_COLLECTION_NAME_MAX + 1];
    long pid;
    /* Backups first: a backup whose target is missing is the old target of
     * a swap killed between its two renames; it goes back. */
    for (size_t i = 0; i < n; i++) {
        const char *name = infos[i].name;
        if (!parse_leftover(name, RG_MIGRATE_BACKUP_TAG, base, sizeof base, &pid))
            continue;
        if (pid_alive(pid)) {
            notice(&o, "%s/%s belongs to a migration still running (pid %ld); left alone", be, name, pid);
            continue;
        }
        found++;
        rg_error e;
        if (info_has(infos, n, base)) {
            if (dry_run) {
                notice(&o, "would delete %s/%s, the old target left by a migration killed after publishing", be,
                       name);
            } else if (rg_store_delete_collection(store, name, &e) == RG_OK) {
                notice(&o, "deleted %s/%s, the old target left by a migration killed after publishing '%s'", be,
                       name, base);
            } else {
                notice(&o, "could not delete leftover %s/%s: %s", be, name, e.msg);
            }
        } else if (dry_run) {
            notice(&o, "would restore %s/%s as '%s' (a migration was killed while swapping it)", be, name, base);
        } else if (rg_store_rename_collection(store, name, base, &e) == RG_OK) {
            notice(&o, "restored '%s' in the %s backend from %s, left by a migration killed while swapping it", base,
                   be, name);
        } else {
            notice(&o, "could not restore %s/%s as '%s': %s", be, name, base, e.msg);
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = infos[i].name;
        if (!parse_leftover(name, RG_MIGRATE_STAGING_TAG, base, sizeof base, &pid))
            continue;
        if (pid_alive(pid)) {
            notice(&o, "%s/%s belongs to a migration still running (pid %ld); left alone", be, name, pid);
            continue;
        }
        found++;
        rg_error e;
        if (dry_run)
            notice(&o, "would delete %s/%s, staging data of an interrupted migration (pid %ld)", be, name, pid);
        else if (rg_store_delete_collection(store, name, &e) == RG_OK)
            notice(&o, "deleted %s/%s, staging data of an interrupted migration (pid %ld)", be, name, pid);
        else
            notice(&o, "could not delete leftover %s/%s: %s", be, name, e.msg);
    }
    free(infos);
    /* A kill between a rename or delete in the backend and the same step on
     * the collection's BM25 index leaves the index under a staging or backup
     * name that no collection has any more. */
    if (!dry_run) {
        rg_error e;
        int swept = rg_store_sweep_indexes(store, dead_leftover_index, NULL, &e);
        if (swept > 0) {
            notice(&o, "deleted %d BM25 index(es) of %s collections left by interrupted migrations", swept, be);
            found += swept;
        }
    }
    return found;
}

/* ---- sizing --------------------------------------------------------------- */

size_t rg_migrate_default_batch(const char *from_backend, const char *to_backend, int dim, double avg_record_bytes)
{
    bool remote = !strcmp(from_backend, "chromadb") || !strcmp(to_backend, "chromadb");
    double per, budget;
    size_t lo, hi;
    /* Into leann the write page is sized for leann; rg_migrate reads a
     * ChromaDB source in smaller requests to fill it. */
    if (remote && strcmp(to_backend, "leann") != 0) {
        /* A JSON request carries each float as ~12 characters; 8 MiB keeps a
         * page five times under ChromaDB's 40 MiB body limit even when the
         * average hides a few long records (the backend splits by bytes too). */
        per = avg_record_bytes * 1.2 + dim * 12.0 + 256;
        budget = 8.0 * 1024 * 1024;
        lo = 16, hi = 1000;
    } else if (!strcmp(to_backend, "leann")) {
        /* leann stores no vectors: every later insert that triggers one of
         * its rebuilds recomputes the vectors already written.  Large pages
         * (up to 96 MiB) let a collection of tens of thousands of records
         * go in as one build from the copied vectors. */
        per = avg_record_bytes + dim * 4.0 + 256;
        budget = 96.0 * 1024 * 1024;
        lo = 64, hi = 50000;
    } else {
        per = avg_record_bytes + dim * 4.0 + 256;
        budget = 16.0 * 1024 * 1024;
        lo = 64, hi = 2000;
    }
    size_t n = (size_t)(budget / per);
    return n < lo ? lo : n > hi ? hi : n;
}

/* Rough bytes on disk of n records in a backend, for --dry-run only. */
static int64_t estimate_bytes(const char *backend, int64_t n, int dim, double avg)
{
    double per;
    if (!strcmp(backend, "exact"))
        per = dim * 4.0 + avg + 64;               /* vectors + text in SQLite */
    else if (!strcmp(backend, "leann"))
        per = avg * 0.5 + 16 * 4.0 + dim / 4.0 + 64; /* zstd text, pruned graph, PQ codes; no vectors */
    else if (!strcmp(backend, "chromadb"))
        per = dim * 4.0 * 2 + avg * 2 + 256;       /* SQLite copy + HNSW copy of vectors, text + FTS */
    else
        return -1;
    return (int64_t)(per * (double)n);
}

static double record_text_bytes(const rg_record *rec)
{
    double b = (double)strlen(rec->id) + (rec->document ? (double)strlen(rec->document) : 0);
    if (rec->metadata) {
        char *s = json_dumps(rec->metadata, JSON_COMPACT);
        if (s)
            b += (double)strlen(s);
        free(s);
    }
    return b;
}

/* ---- helpers ------------------------------------------------------------- */

static rg_status exists_in(rg_store *s, const char *name, bool *out, rg_error *err)
{
    rg_collection_info *infos = NULL;
    size_t n = 0;
    rg_status rc = rg_store_list(s, &infos, &n, err);
    *out = rc == RG_OK && info_has(infos, n, name);
    free(infos);
    return rc;
}

static int64_t bytes_of(rg_collection *c)
{
    rg_store_stats st;
    rg_error e;
    if (rg_collection_stats(c, &st, &e) != RG_OK)
        return -1;
    int64_t b = st.bytes_total;
    rg_store_stats_free(&st);
    return b;
}

static int64_t bytes_of_name(rg_store *s, const char *name)
{
    rg_collection *c = NULL;
    rg_error e;
    if (rg_collection_open(s, name, NULL, false, &c, &e) != RG_OK)
        return -1;
    int64_t b = bytes_of(c);
    rg_collection_close(c);
    return b;
}

/* Metadata in canonical form: sorted keys, no spaces; no metadata and an
 * empty object are the same thing (ChromaDB returns null for {}). */
static uint64_t meta_hash(const json_t *m)
{
    if (!m || json_object_size(m) == 0)
        return rg_hash64("{}", 2, 0x6d657461);
    char *s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = rg_hash64(s, strlen(s), 0x6d657461);
    free(s);
    return h;
}

static uint64_t doc_hash(const char *d)
{
    /* NULL and "" differ: a record without a document is not one with an
     * empty document. */
    return d ? rg_hash64(d, strlen(d), 0x646f63) : 0x6e6f646f63ULL;
}

static uint64_t record_hash(const char *id, uint64_t dh, uint64_t mh)
{
    uint64_t h = rg_hash64(id, strlen(id), 0x6964);
    uint64_t parts[3] = {h, dh, mh};
    return rg_hash64(parts, sizeof parts, 0x726563);
}

static int cmp_rec_id(const void *a, const void *b)
{
    return strcmp(((const rg_record *)a)->id, ((const rg_record *)b)->id);
}

/* ---- verification -------------------------------------------------------- */

static void add_mismatch(rg_migrate_verify_report *v, const char *id, const char *what)
{
    if (v->nmismatches >= RG_MIGRATE_MAX_MISMATCHES)
        return;
    rg_migrate_mismatch *x = &v->mismatches[v->nmismatches++];
    snprintf(x->id, sizeof x->id, "%s", id);
    snprintf(x->what, sizeof x->what, "%s", what);
}

static rg_status verify(mig *m, rg_collection *src, rg_collection *dst, bool same_embedder, rg_embedder *emb,
                        rg_error *err)
{
    const rg_migrate_opts *o = m->o;
    rg_migrate_verify_report *v = &m->r->verify;
    v->done = true;
    v->k = o->verify_k > 0 ? o->verify_k : 10;
    v->min_overlap = o->min_overlap >= 0 ? o->min_overlap : 0.8;
    rg_status rc = rg_collection_count(src, &v->source_count, err);
    if (rc == RG_OK)
        rc = rg_collection_count(dst, &v->target_count, err);
    if (rc != RG_OK)
        return rc;
    int nq = o->verify_queries > 0 ? o->verify_queries : 50;
    if ((int64_t)nq > v->source_count)
        nq = (int)v->source_count;
    /* Query passages: evenly spaced positions of the source. */
    char **sample = rg_xcalloc((size_t)(nq ? nq : 1), sizeof *sample);
    int nsample = 0;
    uint64_t sdig = 0, tdig = 0;
    size_t batch = m->r->read_batch;
    rg_record_batch sb, tb;
    rg_record_batch_init(&sb, rg_collection_dim(src));
    rg_record_batch_init(&tb, rg_collection_dim(dst));
    const char **ids = rg_xmalloc(batch * sizeof *ids);
    int64_t pos = 0;
    progress(m, RG_MIGRATE_VERIFY, 0, v->source_count);
    for (;;) {
        if (interrupted(m)) {
            rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted during verification");
            break;
        }
        rg_record_batch_clear(&sb);
        rg_record_batch_clear(&tb);
        rc = rg_collection_get(src, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, (size_t)pos, batch,
                               &sb, err);
        if (rc != RG_OK) {
            rg_error_prefix(err, "verify: reading the source");
            break;
        }
        if (sb.n == 0)
            break;
        for (size_t i = 0; i < sb.n; i++)
            ids[i] = sb.items[i].id;
        rc = rg_collection_get(dst, ids, sb.n, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, 0, 0, &tb, err);
        if (rc != RG_OK) {
            rg_error_prefix(err, "verify: reading the target");
            break;
        }
        qsort(tb.items, tb.n, sizeof *tb.items, cmp_rec_id);
        for (size_t i = 0; i < sb.n; i++) {
            const rg_record *s = &sb.items[i];
            int64_t p = pos + (int64_t)i;
            if (nsample < nq && p == (int64_t)nsample * v->source_count / nq && s->document && *s->document)
                sample[nsample++] = rg_xstrdup(s->document);
            uint64_t sdh = doc_hash(s->document), smh = meta_hash(s->metadata);
            sdig += record_hash(s->id, sdh, smh);
            v->checked++;
            rg_record key = {.id = s->id};
            const rg_record *t = bsearch(&key, tb.items, tb.n, sizeof *tb.items, cmp_rec_id);
            if (!t) {
                v->missing++;
                add_mismatch(v, s->id, "missing in target");
                continue;
            }
            uint64_t tdh = doc_hash(t->document), tmh = meta_hash(t->metadata);
            tdig += record_hash(t->id, tdh, tmh);
            if (tdh != sdh) {
                v->documents_differ++;
                add_mismatch(v, s->id, "document differs");
            }
            if (tmh != smh) {
                v->metadata_differ++;
                add_mismatch(v, s->id, "metadata differs");
            }
        }
        pos += (int64_t)sb.n;
        progress(m, RG_MIGRATE_VERIFY, pos, v->source_count);
        if (sb.n < batch)
            break;
    }
    free(ids);
    rg_record_batch_free(&sb);
    rg_record_batch_free(&tb);
    snprintf(v->source_digest, sizeof v->source_digest, "%016llx", (unsigned long long)sdig);
    snprintf(v->target_digest, sizeof v->target_digest, "%016llx", (unsigned long long)tdig);

    /* Top-k overlap: the same query vector against both collections. */
    v->queries = 0;
    if (rc == RG_OK && !same_embedder)
        snprintf(v->overlap_skipped, sizeof v->overlap_skipped,
                 "the source and target embedders differ, so their neighbours are not comparable");
    else if (rc == RG_OK && nsample == 0)
        snprintf(v->overlap_skipped, sizeof v->overlap_skipped, "the source has no documents to query with");
    if (rc == RG_OK && !v->overlap_skipped[0]) {
        float *q = rg_xmalloc((size_t)emb->identity.dim * sizeof *q);
        double sum = 0, mn = 1;
        rg_query_opts qo = {.k = v->k};
        for (int i = 0; rc == RG_OK && i < nsample; i++) {
            progress(m, RG_MIGRATE_QUERIES, i, nsample);
            if (interrupted(m)) {
                rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted during verification");
                break;
            }
            const char *texts[1] = {sample[i]};
            rc = rg_embedder_embed(emb, texts, 1, RG_EMBED_QUERY, q, err);
            rg_hits hs, ht;
            rg_hits_init(&hs);
            rg_hits_init(&ht);
            if (rc == RG_OK && (rc = rg_collection_query(src, q, &qo, &hs, err)) != RG_OK)
                rg_error_prefix(err, "verify: querying the source");
            if (rc == RG_OK && (rc = rg_collection_query(dst, q, &qo, &ht, err)) != RG_OK)
                rg_error_prefix(err, "verify: querying the target");
            if (rc == RG_OK && hs.n > 0) {
                size_t same = 0;
                for (size_t a = 0; a < hs.n; a++)
                    for (size_t b = 0; b < ht.n; b++)
                        if (!strcmp(hs.items[a].id, ht.items[b].id)) {
                            same++;
                            break;
                        }
                double ov = (double)same / (double)hs.n;
                sum += ov;
                if (ov < mn)
                    mn = ov;
                v->queries++;
            }
            rg_hits_free(&hs);
            rg_hits_free(&ht);
        }
        free(q);
        if (rc == RG_OK)
            progress(m, RG_MIGRATE_QUERIES, nsample, nsample);
        v->overlap_mean = v->queries ? sum / v->queries : 0;
        v->overlap_min = v->queries ? mn : 0;
    }
    for (int i = 0; i < nsample; i++)
        free(sample[i]);
    free(sample);
    if (rc != RG_OK)
        return rc;

    if (v->source_count != v->target_count)
        snprintf(v->failure, sizeof v->failure, "the target holds %lld records, the source %lld",
                 (long long)v->target_count, (long long)v->source_count);
    else if (v->missing || v->documents_differ || v->metadata_differ)
        snprintf(v->failure, sizeof v->failure,
                 "%lld record(s) missing, %lld document(s) and %lld metadata value(s) differ (first: '%s', %s)",
                 (long long)v->missing, (long long)v->documents_differ, (long long)v->metadata_differ,
                 v->mismatches[0].id, v->mismatches[0].what);
    else if (v->queries && v->overlap_mean < v->min_overlap)
        snprintf(v->failure, sizeof v->failure,
                 "mean top-%d overlap %.3f over %d queries is below the minimum %.3f (--min-overlap)", v->k,
                 v->overlap_mean, v->queries, v->min_overlap);
    v->passed = !v->failure[0];
    return RG_OK;
}

/* ---- the migration ------------------------------------------------------- */

static void report_init(rg_migrate_report *r, const rg_migrate_opts *o, const char *target)
{
    memset(r, 0, sizeof *r);
    snprintf(r->from_backend, sizeof r->from_backend, "%s", o->from_backend);
    snprintf(r->to_backend, sizeof r->to_backend, "%s", o->to_backend);
    snprintf(r->source, sizeof r->source, "%s", o->collection);
    snprintf(r->target, sizeof r->target, "%s", target);
    snprintf(r->staging, sizeof r->staging, "%s%s%ld", target, RG_MIGRATE_STAGING_TAG, (long)getpid());
    snprintf(r->backup, sizeof r->backup, "%s%s%ld", target, RG_MIGRATE_BACKUP_TAG, (long)getpid());
    r->bytes_before = r->bytes_after = r->bytes_estimated = -1;
    r->dry_run = o->dry_run;
}

/* Copies every record of src into dst, page by page. */
static rg_status copy_records(mig *m, rg_collection *src, rg_collection *dst, bool reuse, rg_embedder *emb,
                              rg_error *err)
{
    rg_migrate_report *r = m->r;
    size_t batch = r->batch_size;
    int dim = rg_collection_dim(dst);
    unsigned include = RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS | (reuse ? RG_INCLUDE_EMBEDDINGS : 0);
    rg_record_batch b;
    rg_record_batch_init(&b, rg_collection_dim(src));
    float *vecs = NULL;
    const char **texts = NULL;
    if (!reuse) {
        vecs = malloc(batch * (size_t)dim * sizeof *vecs);
        texts = malloc(batch * sizeof *texts);
        if (!vecs || !texts) {
            free(vecs);
            free(texts);
            return rg_error_set(err, RG_ERR_NOMEM, "out of memory for a page of %zu vectors (try --batch-size 100)",
                                batch);
        }
    }
    rg_status rc = RG_OK;
    int64_t total = r->records_source;
    for (;;) {
        if (interrupted(m)) {
            rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted after %lld of %lld records",
                              (long long)r->records_written, (long long)total);
            break;
        }
        /* A write page may span several read pages (a ChromaDB source read
         * in small requests, a leann target written in one big page);
         * backends append to the batch. */
        rg_record_batch_clear(&b);
        bool eof = false;
        while (rc == RG_OK && b.n < batch) {
            if (b.n && interrupted(m))
                break;
            if (r->records_written + (int64_t)b.n < total)
                progress(m, RG_MIGRATE_READ, r->records_written + (int64_t)b.n, total);
            size_t before = b.n, want = RG_MIN(r->read_batch, batch - b.n);
            rc = rg_collection_get(src, NULL, 0, NULL, include, (size_t)r->records_written + b.n, want, &b, err);
            if (rc != RG_OK)
                rg_error_prefix(err, "reading %s/%s at record %lld", r->from_backend, r->source,
                                (long long)(r->records_written + (int64_t)before));
            else if (b.n - before < want)
                eof = true;
            if (eof)
                break;
        }
        if (rc != RG_OK)
            break;
        if (b.n == 0)
            break;
        if (!eof && b.n < batch) {   /* interrupted while filling the page */
            rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted after %lld of %lld records",
                              (long long)r->records_written, (long long)total);
            break;
        }
        if (!reuse) {
            progress(m, RG_MIGRATE_EMBED, r->records_written, total);
            for (size_t i = 0; i < b.n; i++) {
                if (!b.items[i].document) {
                    rc = rg_error_set(err, RG_ERR_INVALID,
                                      "record '%s' has no document, so it cannot be re-embedded for the target "
                                      "embedder; migrate with the embedder the source was built with",
                                      b.items[i].id);
                    break;
                }
                texts[i] = b.items[i].document;
            }
            if (rc == RG_OK)
                rc = rg_embedder_embed(emb, texts, b.n, RG_EMBED_DOCUMENT, vecs, err);
            if (rc != RG_OK)
                break;
            for (size_t i = 0; i < b.n; i++) {
                free(b.items[i].embedding);
                b.items[i].embedding = NULL;
            }
            /* The page borrows rows of vecs; detached again before clear. */
            for (size_t i = 0; i < b.n; i++) {
                b.items[i].embedding = vecs + i * (size_t)dim;
                b.items[i].embedded = true; /* the target's embedder, just now */
            }
        }
        progress(m, RG_MIGRATE_WRITE, r->records_written, total);
        rc = rg_collection_add(dst, b.items, b.n, err);
        if (!reuse)
            for (size_t i = 0; i < b.n; i++)
                b.items[i].embedding = NULL;
        if (rc != RG_OK) {
            rg_error_prefix(err, "writing %s/%s", r->to_backend, r->staging);
            break;
        }
        r->records_written += (int64_t)b.n;
        r->batches++;
        progress(m, RG_MIGRATE_WRITE, r->records_written, total > r->records_written ? total : r->records_written);
        if (eof)
            break;
    }
    rg_record_batch_free(&b);
    free(vecs);
    free(texts);
    if (rc == RG_OK && r->records_written != total)
        rc = rg_error_set(err, RG_ERR_MISMATCH,
                          "the source changed during the migration (it held %lld records at the start, %lld were "
                          "read); run again when nothing writes to it",
                          (long long)total, (long long)r->records_written);
    return rc;
}

/* Publishes staging as the target (swapping out an old target through the
 * backup name).  Signals are not checked here: each step is one rename and
 * every failure path puts the old target back. */
static rg_status publish(mig *m, rg_store *ts, rg_error *err)
{
    rg_migrate_report *r = m->r;
    const char *be = r->to_backend;
    bool exists = false;
    rg_status rc = exists_in(ts, r->target, &exists, err);
    if (rc != RG_OK)
        return rc;
    progress(m, RG_MIGRATE_PUBLISH, 0, 1);
    if (exists && !m->o->overwrite)
        return rg_error_set(err, RG_ERR_EXISTS,
                            "collection '%s' appeared in the %s backend during the migration; nothing was "
                            "replaced (use --overwrite to replace it)",
                            r->target, be);
    if (!exists) {
        rc = rg_store_rename_collection(ts, r->staging, r->target, err);
        if (rc == RG_OK)
            r->published = true;
        return rc;
    }
    rc = rg_store_rename_collection(ts, r->target, r->backup, err);
    if (rc != RG_OK)
        return rg_error_prefix(err, "moving the old target aside");
    rc = rg_store_rename_collection(ts, r->staging, r->target, err);
    if (rc != RG_OK) {
        rg_error e2;
        rg_error_prefix(err, "publishing");
        if (rg_store_rename_collection(ts, r->backup, r->target, &e2) != RG_OK)
            rg_error_prefix(err, "AND the old target could not be put back (%s): it is %s/%s; the next "
                                 "'ragged migrate' restores it",
                            e2.msg, be, r->backup);
        return rc;
    }
    r->published = true;
    r->overwrote = true;
    rg_error e3;
    if (rg_store_delete_collection(ts, r->backup, &e3) != RG_OK)
        notice(m->o, "the new '%s' is in place but the old copy %s/%s could not be deleted (%s); the next "
                     "'ragged migrate' deletes it",
               r->target, be, r->backup, e3.msg);
    return RG_OK;
}

rg_status rg_migrate(const rg_config *cfg, const rg_migrate_opts *o, rg_migrate_report *r, rg_error *err)
{
    const char *target = o->to && *o->to ? o->to : o->collection;
    report_init(r, o, target ? target : "");
    mig m = {.o = o, .r = r, .phase_start = rg_now(), .phase = RG_MIGRATE_RECOVER};
    double t0 = rg_now();
    if (!o->from_backend || !rg_store_backend_find(o->from_backend))
        return rg_error_set(err, RG_ERR_INVALID, "unknown source backend '%s'; valid backends: leann, chromadb, exact",
                            o->from_backend ? o->from_backend : "");
    if (!o->to_backend || !rg_store_backend_find(o->to_backend))
        return rg_error_set(err, RG_ERR_INVALID, "unknown target backend '%s'; valid backends: leann, chromadb, exact",
                            o->to_backend ? o->to_backend : "");
    rg_status rc = rg_collection_name_check(o->collection, err);
    if (rc == RG_OK)
        rc = rg_collection_name_check(target, err);
    if (rc != RG_OK)
        return rc;
    char pidbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%ld", (long)getpid());
    size_t longest = strlen(target) + RG_MAX(strlen(RG_MIGRATE_STAGING_TAG), strlen(RG_MIGRATE_BACKUP_TAG)) +
                     strlen(pidbuf);
    if (longest > RG_COLLECTION_NAME_MAX || rg_collection_name_check(r->backup, NULL) != RG_OK ||
        rg_collection_name_check(r->staging, NULL) != RG_OK)
        return rg_error_set(err, RG_ERR_INVALID,
                            "target name '%.60s...' is too long to add the staging suffix '%s%ld' (%d characters "
                            "at most); choose a shorter one with --to",
                            target, RG_MIGRATE_STAGING_TAG, (long)getpid(), RG_COLLECTION_NAME_MAX);
    if (!strcmp(o->from_backend, o->to_backend) && !strcmp(o->collection, target))
        return rg_error_set(err, RG_ERR_INVALID,
                            "the source and target are the same collection (%s/%s); give another name with --to",
                            o->from_backend, target);
    if (strstr(target, RG_MIGRATE_STAGING_TAG) || strstr(target, RG_MIGRATE_BACKUP_TAG))
        return rg_error_set(err, RG_ERR_INVALID, "'%s' is a name migrations use for their own data; choose another",
                            target);

    rg_embedder *emb = NULL;
    rg_store *ss = NULL, *ts = NULL;
    rg_collection *src = NULL, *dst = NULL;
    bool staging_created = false;
    rc = rg_embedder_open(cfg, &emb, err);
    if (rc == RG_OK && (rc = rg_store_open(cfg, o->from_backend, &ss, err)) != RG_OK)
        rg_error_prefix(err, "source backend %s", o->from_backend);
    if (rc == RG_OK && (rc = rg_store_open(cfg, o->to_backend, &ts, err)) != RG_OK)
        rg_error_prefix(err, "target backend %s", o->to_backend);
    if (rc != RG_OK)
        goto done;
    rg_embedder_identity_format(&emb->identity, r->target_embedder, sizeof r->target_embedder);

    /* Leftovers of killed runs go first: a restored backup changes whether
     * the target exists. */
    progress(&m, RG_MIGRATE_RECOVER, 0, 1);
    rg_error rerr;
    int left = rg_migrate_recover(ts, o->dry_run, o->on_notice, o->ctx, &rerr);
    if (left < 0) {
        rc = rg_error_set(err, rerr.code, "listing collections of the %s backend: %s", o->to_backend, rerr.msg);
        goto done;
    }
    r->leftovers_cleaned = o->dry_run ? 0 : left;

    /* Source: opened without an embedder first to learn its identity. */
    rc = rg_collection_open(ss, o->collection, NULL, false, &src, err);
    if (rc != RG_OK)
        goto done;
    rg_collection_info sinfo;
    rc = rg_collection_info_get(src, &sinfo, err);
    if (rc != RG_OK)
        goto done;
    rg_embedder_identity_format(&sinfo.identity, r->source_embedder, sizeof r->source_embedder);
    bool same_embedder = rg_embedder_identity_check(&sinfo.identity, &emb->identity, o->collection, NULL) == RG_OK;
    bool reuse = same_embedder && !o->reembed;
    if (same_embedder) {
        /* With the embedder: leann recomputes vectors in get, and --verify
         * queries the source. */
        rg_collection_close(src);
        src = NULL;
        rc = rg_collection_open(ss, o->collection, emb, false, &src, err);
        if (rc != RG_OK)
            goto done;
    }
    r->reembedded = !reuse;
    if (!same_embedder)
        snprintf(r->reembed_reason, sizeof r->reembed_reason,
                 "the source was embedded with %s but the configured embedder is %s", r->source_embedder,
                 r->target_embedder);
    else if (o->reembed)
        snprintf(r->reembed_reason, sizeof r->reembed_reason, "--reembed was given");
    if (!reuse)
        notice(o, "re-embedding every record with %s: %s", r->target_embedder, r->reembed_reason);

    rc = rg_collection_count(src, &r->records_source, err);
    if (rc != RG_OK)
        goto done;
    r->bytes_before = bytes_of(src);

    /* Average record size from the first records: sizes the page and the
     * dry-run estimate. */
    {
        rg_record_batch sb;
        rg_record_batch_init(&sb, rg_collection_dim(src));
        rc = rg_collection_get(src, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, 0, 64, &sb, err);
        double sum = 0;
        for (size_t i = 0; i < sb.n; i++)
            sum += record_text_bytes(&sb.items[i]);
        r->avg_record_bytes = sb.n ? sum / (double)sb.n : 0;
        rg_record_batch_free(&sb);
        if (rc != RG_OK)
            goto done;
    }
    r->batch_size = o->batch_size ? o->batch_size
                                  : rg_migrate_default_batch(o->from_backend, o->to_backend, emb->identity.dim,
                                                             r->avg_record_bytes);
    /* Reads (and verification pages) stay within the source's limits. */
    r->read_batch = RG_MIN(r->batch_size, rg_migrate_default_batch(o->from_backend, o->from_backend,
                                                                   emb->identity.dim, r->avg_record_bytes));
    if (o->batch_size)
        r->read_batch = RG_MIN(r->read_batch, o->batch_size);
    if (!strcmp(o->from_backend, "exact") || !strcmp(o->from_backend, "leann"))
        r->read_batch = RG_MAX(r->read_batch, RG_MIN(r->batch_size, (size_t)2000));
    r->bytes_estimated = estimate_bytes(o->to_backend, r->records_source, emb->identity.dim, r->avg_record_bytes);

    rc = exists_in(ts, target, &r->target_existed, err);
    if (rc != RG_OK)
        goto done;
    if (r->target_existed && !o->overwrite) {
        rc = rg_error_set(err, RG_ERR_EXISTS,
                          "collection '%s' already exists in the %s backend; add --overwrite to replace it (the "
                          "old one stays until the new one is complete) or choose another name with --to",
                          target, o->to_backend);
        goto done;
    }
    if (o->dry_run) {
        r->batches = r->batch_size ? (r->records_source + (int64_t)r->batch_size - 1) / (int64_t)r->batch_size : 0;
        goto done;
    }

    /* Write. */
    rc = rg_collection_open(ts, r->staging, emb, true, &dst, err);
    if (rc != RG_OK) {
        rg_error_prefix(err, "creating the staging collection %s/%s", o->to_backend, r->staging);
        goto done;
    }
    staging_created = true;
    rc = copy_records(&m, src, dst, reuse, emb, err);
    bool build = o->rebuild || (!o->no_build && strcmp(o->to_backend, "leann") != 0);
    if (rc == RG_OK && build) {
        progress(&m, RG_MIGRATE_BUILD, 0, 1);
        if ((rc = rg_collection_compact(dst, err)) != RG_OK)
            rg_error_prefix(err, "building %s/%s", o->to_backend, r->staging);
        else
            progress(&m, RG_MIGRATE_BUILD, 1, 1);
    }
    if (rc == RG_OK && o->after_write)
        rc = o->after_write(o->ctx, dst, err);
    if (rc == RG_OK && interrupted(&m))
        rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted after writing");
    if (rc == RG_OK && o->verify) {
        rc = verify(&m, src, dst, same_embedder, emb, err);
        if (rc == RG_OK && !r->verify.passed)
            rc = rg_error_set(err, RG_ERR_MISMATCH, "verification failed: %s", r->verify.failure);
    }
    if (rc == RG_OK && interrupted(&m))
        rc = rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted before publishing");
    rg_collection_close(dst);
    dst = NULL;
    if (rc == RG_OK)
        rc = publish(&m, ts, err);
    if (rc == RG_OK)
        r->bytes_after = bytes_of_name(ts, target);

done:
    rg_collection_close(dst);
    rg_collection_close(src);
    if (rc != RG_OK && staging_created && !r->published) {
        rg_error e;
        bool exists = true;
        if (exists_in(ts, r->staging, &exists, &e) == RG_OK && !exists) {
            r->rolled_back = true;
        } else if (rg_store_delete_collection(ts, r->staging, &e) == RG_OK) {
            r->rolled_back = true;
        } else {
            notice(o, "could not remove the staging collection %s/%s (%s); the next 'ragged migrate' into the %s "
                      "backend removes it",
                   o->to_backend, r->staging, e.msg, o->to_backend);
        }
        if (r->rolled_back) {
            char old[RG_ERROR_MSG_MAX];
            memcpy(old, err->msg, sizeof old);
            snprintf(err->msg, sizeof err->msg, "%.700s; rolled back: staging %s/%.100s removed, the source%s unchanged",
                     old, o->to_backend, r->staging,
                     r->target_existed ? " and the existing target are" : " is");
        }
    }
    phase_clock(&m, m.phase);
    r->seconds = rg_now() - t0;
    rg_store_close(ss);
    rg_store_close(ts);
    rg_embedder_free(emb);
    return rc;
}
