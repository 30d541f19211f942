#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunker.h"
#include "chunker_code.h"
#include "reader.h"
#include "util.h"

void rg_ingest_report_init(rg_ingest_report *r)
{
    memset(r, 0, sizeof *r);
    r->warnings = json_array();
}

void rg_ingest_report_free(rg_ingest_report *r)
{
    json_decref(r->warnings);
    r->warnings = NULL;
}

void rg_document_id(const char *abs_path, char out[17])
{
    char hex[65];
    rg_sha256_hex(abs_path, strlen(abs_path), hex);
    memcpy(out, hex, 16);
    out[16] = '\0';
}

const char *rg_ingest_phase_name(rg_ingest_phase p)
{
    static const char *const names[] = {"walk", "read", "embed", "store", "prune"};
    return (size_t)p < RG_ARRAY_LEN(names) ? names[p] : "?";
}

void rg_ingest_warn(const rg_ingest_opts *o, rg_ingest_report *r, const char *path, const char *reason)
{
    /* Both may carry bytes of a non-UTF-8 file name; JSON needs UTF-8. */
    char *p = rg_path_escape(path), *why = rg_path_escape(reason);
    json_array_append_new(r->warnings, json_pack("{s:s, s:s}", "path", p, "reason", why));
    if (o && o->on_warning)
        o->on_warning(o->progress_ctx, p, why);
    free(p);
    free(why);
}

static void warn(const rg_ingest_opts *o, rg_ingest_report *r, const char *path, const char *reason)
{
    rg_ingest_warn(o, r, path, reason);
}

void rg_ingest_report_walk(rg_ingest_report *r, const rg_walk_result *w)
{
    r->files_total = (int64_t)w->nfiles;
    r->files_ignored = w->ignored;
    r->files_excluded = w->excluded;
    r->files_duplicate = w->duplicates;
    r->named_failed = (int64_t)w->failed_args;
}

static void progress(const rg_ingest_opts *o, rg_ingest_phase ph, int64_t done, int64_t total, const char *cur)
{
    if (o->on_progress)
        o->on_progress(o->progress_ctx, ph, done, total, cur);
}

/* ---- per-file work ---- */

/* Records embedded and stored together.  Large writes let the leann backend
 * build its graph in bulk; memory: a batch holds at most max(this, the
 * chunks of one file, at most ingest.max_chunks_per_file) records, each
 * with its text, metadata and a dim x 4-byte vector (4 KB at 1024-d). */
#define INGEST_BATCH_CHUNKS 4096

typedef struct pending {
    rg_record_batch batch;       /* records waiting to be embedded and stored */
    char **texts;
    /* Files whose chunks are in the batch; after the write their stale
     * chunks (other file hash) are removed. */
    char **doc_ids;
    char **hashes;
    size_t *counts;              /* chunks written for each document */
    size_t ndocs, capdocs;
} pending;

/* Chunk ids are DOCID-NNNNN; this version wrote positions 0..count-1. */
static void chunk_id(char *buf, size_t n, const char *doc_id, size_t position)
{
    snprintf(buf, n, "%s-%05zu", doc_id, position);
}

bool rg_chunk_id_from_metadata(const json_t *metadata, char out[RG_CHUNK_ID_MAX])
{
    const json_t *doc = json_object_get(metadata, "document_id");
    const json_t *pos = json_object_get(metadata, "chunk_position");
    if (!json_is_string(doc) || !json_is_integer(pos) || json_integer_value(pos) < 0 ||
        json_string_length(doc) > RG_CHUNK_ID_MAX - 24)
        return false;
    chunk_id(out, RG_CHUNK_ID_MAX, json_string_value(doc), (size_t)json_integer_value(pos));
    return true;
}

static bool chunk_id_written(const char *id, const char *doc_id, size_t count)
{
    size_t l = strlen(doc_id);
    if (strncmp(id, doc_id, l) != 0 || id[l] != '-')
        return false;
    char *end;
    unsigned long long pos = strtoull(id + l + 1, &end, 10);
    char canon[64];
    chunk_id(canon, sizeof canon, doc_id, (size_t)pos);
    return !*end && pos < count && !strcmp(canon, id);
}

static rg_status flush(rg_collection *c, pending *p, json_t *manifest, const rg_ingest_opts *o, rg_ingest_report *r,
                       rg_error *err)
{
    if (p->batch.n == 0)
        return RG_OK;
    int dim = rg_collection_dim(c);
    rg_embedder *emb = rg_collection_embedder(c);
    const char **texts = rg_xmalloc(p->batch.n * sizeof *texts);
    for (size_t i = 0; i < p->batch.n; i++)
        texts[i] = p->batch.items[i].document;
    float *vecs = malloc(p->batch.n * (size_t)dim * sizeof *vecs);
    if (!vecs) {
        free(texts);
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory embedding %zu chunks", p->batch.n);
    }
    /* In steps of a few embedder batches, so progress moves while a batch
     * of thousands of chunks is embedded (tens of seconds with a BERT model). */
    size_t bs = emb->batch_size > 0 ? (size_t)emb->batch_size : 32;
    size_t step = bs * RG_MAX((size_t)1, 128 / bs);
    rg_status rc = RG_OK;
    progress(o, RG_INGEST_EMBED, 0, (int64_t)p->batch.n, NULL);
    for (size_t i = 0; rc == RG_OK && i < p->batch.n; i += step) {
        size_t m = RG_MIN(step, p->batch.n - i);
        rc = rg_embedder_embed(emb, texts + i, m, RG_EMBED_DOCUMENT, vecs + i * (size_t)dim, err);
        if (rc == RG_OK) {
            r->chunks_embedded += (int64_t)m;
            progress(o, RG_INGEST_EMBED, (int64_t)(i + m), (int64_t)p->batch.n, NULL);
        }
    }
    free(texts);
    for (size_t i = 0; i < p->batch.n; i++) {
        p->batch.items[i].embedding = vecs + i * (size_t)dim;
        p->batch.items[i].embedded = true; /* the collection's embedder, just now */
    }
    /* Chunks of the same documents left from older versions (ids the
     * manifest knows that this version did not write) go in the same store
     * call as the new chunks: where the backend can, a crash leaves the old
     * or the new version of a changed file, never the new one plus the old
     * one's tail. */
    size_t nstale = 0, capstale = 0;
    const char **stale = NULL;
    for (size_t i = 0; rc == RG_OK && i < p->ndocs; i++) {
        json_t *old = json_object_get(json_object_get(manifest, p->doc_ids[i]), "ids");
        size_t j;
        json_t *id;
        json_array_foreach(old, j, id)
        {
            const char *s = json_string_value(id);
            if (chunk_id_written(s, p->doc_ids[i], p->counts[i]))
                continue;
            if (nstale == capstale) {
                capstale = capstale ? capstale * 2 : 64;
                stale = rg_xrealloc(stale, capstale * sizeof *stale);
            }
            stale[nstale++] = s;
        }
    }
    size_t deleted = 0;
    if (rc == RG_OK) {
        progress(o, RG_INGEST_STORE, 0, (int64_t)p->batch.n, NULL);
        rc = rg_collection_replace(c, p->batch.items, p->batch.n, stale, nstale, &deleted, err);
        if (rc == RG_OK)
            progress(o, RG_INGEST_STORE, (int64_t)p->batch.n, (int64_t)p->batch.n, NULL);
    }
    free(stale);
    for (size_t i = 0; i < p->batch.n; i++)
        p->batch.items[i].embedding = NULL; /* owned by vecs */
    free(vecs);
    if (rc == RG_OK) {
        r->chunks_written += (int64_t)p->batch.n;
        r->chunks_removed += (int64_t)deleted;
        for (size_t i = 0; i < p->ndocs; i++)
            json_object_del(manifest, p->doc_ids[i]);
    }
    for (size_t i = 0; i < p->ndocs; i++) {
        free(p->doc_ids[i]);
        free(p->hashes[i]);
    }
    p->ndocs = 0;
    rg_record_batch_clear(&p->batch);
    return rc;
}

/* What the collection already holds, per document: {"doc-id": {"hash": file
 * hash of its chunks or null when they disagree, "total": total_chunks,
 * "path": document_path, "ids": [chunk ids]}}.  Read once per run with one
 * paged scan, so deciding what changed costs no query per file. */
static rg_status manifest_load(rg_collection *c, json_t **out, rg_error *err)
{
    json_t *m = json_object();
    const size_t page = 2000;
    rg_status rc = RG_OK;
    for (size_t offset = 0;; offset += page) {
        rg_record_batch b;
        rg_record_batch_init(&b, rg_collection_dim(c));
        rc = rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_METADATAS, offset, page, &b, err);
        for (size_t i = 0; rc == RG_OK && i < b.n; i++) {
            json_t *md = b.items[i].metadata;
            const char *doc = json_string_value(json_object_get(md, "document_id"));
            if (!doc)
                continue; /* a record not written by ingest */
            json_t *e = json_object_get(m, doc);
            const char *hash = json_string_value(json_object_get(md, "file_hash"));
            if (!e) {
                e = json_pack("{s:s?, s:I, s:s?, s:[]}", "hash", hash, "total",
                              json_integer_value(json_object_get(md, "total_chunks")), "path",
                              json_string_value(json_object_get(md, "document_path")), "ids");
                json_object_set_new(m, doc, e);
            } else {
                const char *seen = json_string_value(json_object_get(e, "hash"));
                if (!seen || !hash || strcmp(seen, hash) != 0)
                    json_object_set_new(e, "hash", json_null());
            }
            json_array_append_new(json_object_get(e, "ids"), json_string(b.items[i].id));
        }
        size_t got = b.n;
        rg_record_batch_free(&b);
        if (rc != RG_OK || got < page)
            break;
    }
    if (rc != RG_OK) {
        json_decref(m);
        return rc;
    }
    *out = m;
    return RG_OK;
}

/* The collection holds exactly this version of the file: every chunk
 * carries its hash and none is missing. */
static bool is_unchanged(const json_t *manifest, const char *doc_id, const char *hash)
{
    json_t *e = json_object_get(manifest, doc_id);
    const char *h = json_string_value(json_object_get(e, "hash"));
    return e && h && !strcmp(h, hash) &&
           json_integer_value(json_object_get(e, "total")) == (json_int_t)json_array_size(json_object_get(e, "ids"));
}

/* Counts a file that was not stored; a file named on the command line that
 * cannot be read makes the run fail (after the rest is done). */
static void skipped(const rg_walk_file *f, rg_ingest_report *r)
{
    r->files_skipped++;
    if (f->named)
        r->named_failed++;
}

static rg_status ingest_file(rg_collection *c, const rg_config *cfg, const rg_walk_file *f, json_t *manifest,
                             pending *p, const rg_ingest_opts *o, rg_ingest_report *r, rg_error *err)
{
    const char *path = f->path;
    char doc_id[17], hash[65];
    rg_document_id(path, doc_id);
    rg_error ferr;
    /* The walk saw a regular file; check again before reading a byte: it may
     * have been replaced by a FIFO or a device since (rg_sha256_file_hex and
     * rg_read_file open non-blocking and refuse anything else). */
    struct stat sb;
    if (stat(path, &sb) != 0) {
        warn(o, r, path, strerror(errno));
        skipped(f, r);
        return RG_OK;
    }
    if (!S_ISREG(sb.st_mode)) {
        warn(o, r, path, "not a regular file (any more); skipped");
        skipped(f, r);
        return RG_OK;
    }
    if (rg_sha256_file_hex(path, hash, &ferr) != RG_OK) {
        warn(o, r, path, ferr.msg);
        skipped(f, r);
        return RG_OK;
    }
    char *shown = rg_path_escape(path);
    if (is_unchanged(manifest, doc_id, hash)) {
        r->files_unchanged++;
        if (o->on_file)
            o->on_file(o->progress_ctx, shown, "unchanged", 0);
        free(shown);
        return RG_OK;
    }
    rg_status st = RG_OK;
    size_t max_bytes = (size_t)rg_config_int(cfg, "ingest.max_file_mb") * 1024 * 1024;
    if ((uint64_t)sb.st_size > max_bytes) {
        /* Name the setting: the user can only act on the limit if told which one it is. */
        char *msg = rg_xasprintf("%.1f MB is over ingest.max_file_mb = %lld; skipped (raise the limit to read it)",
                                 (double)sb.st_size / (1024.0 * 1024.0),
                                 (long long)rg_config_int(cfg, "ingest.max_file_mb"));
        warn(o, r, path, msg);
        free(msg);
        skipped(f, r);
        free(shown);
        return RG_OK;
    }
    rg_document doc;
    memset(&doc, 0, sizeof doc);
    if (rg_document_read(path, max_bytes, &doc, &ferr) != RG_OK) {
        warn(o, r, path, ferr.msg);
        skipped(f, r);
        free(shown);
        return RG_OK;
    }
    rg_embedder *emb = rg_collection_embedder(c);
    rg_chunks chunks;
    /* Source code is cut between definitions, prose between sentences. */
    if (doc.language)
        rg_chunk_code(doc.text, doc.len, doc.language, emb, (size_t)rg_config_int(cfg, "chunking.size"),
                      (size_t)rg_config_int(cfg, "chunking.overlap"), &chunks);
    else
        rg_chunk_text(doc.text, doc.len, emb, (size_t)rg_config_int(cfg, "chunking.size"),
                      (size_t)rg_config_int(cfg, "chunking.overlap"), &chunks);
    size_t max_chunks = (size_t)rg_config_int(cfg, "ingest.max_chunks_per_file");
    if (chunks.n > max_chunks) {
        char *msg = rg_xasprintf("produced %zu chunks; only the first %zu are kept (raise ingest.max_chunks_per_file)",
                                 chunks.n, max_chunks);
        warn(o, r, path, msg);
        free(msg);
        chunks.n = max_chunks;
    }
    if (chunks.n == 0) {
        warn(o, r, path, "no text found");
        skipped(f, r);
        rg_chunks_free(&chunks);
        rg_document_free(&doc);
        free(shown);
        return RG_OK;
    }
    /* What waits goes first when this file would take the batch past its
     * size, so a batch holds at most max(INGEST_BATCH_CHUNKS, one file's
     * chunks) records; a file's chunks are never split over two batches
     * (one store call replaces a file atomically). */
    if (p->batch.n > 0 && p->batch.n + chunks.n > INGEST_BATCH_CHUNKS)
        st = flush(c, p, manifest, o, r, err);
    if (st != RG_OK) {
        rg_chunks_free(&chunks);
        rg_document_free(&doc);
        free(shown);
        return st;
    }
    for (size_t i = 0; i < chunks.n; i++) {
        const rg_chunk *ch = &chunks.items[i];
        char *text = rg_xstrndup(doc.text + ch->start, ch->end - ch->start);
        char chash[65];
        rg_sha256_hex(text, strlen(text), chash);
        char id[48];
        chunk_id(id, sizeof id, doc_id, i);
        json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "document_id", doc_id, "document_path", shown,
                              "file_hash", hash, "content_hash", chash, "chunk_position", (json_int_t)i,
                              "total_chunks", (json_int_t)chunks.n, "format", doc.format ? doc.format : "text");
        if (doc.title && *doc.title)
            json_object_set_new(m, "title", json_string(doc.title));
        if (doc.language)
            json_object_set_new(m, "language", json_string(doc.language));
        if (doc.npages)
            json_object_set_new(m, "page_number", json_integer((json_int_t)rg_document_page_at(&doc, ch->start)));
        rg_record_batch_push(&p->batch, id, text, m, NULL);
        json_decref(m);
        free(text);
    }
    if (p->ndocs == p->capdocs) {
        p->capdocs = p->capdocs ? p->capdocs * 2 : 16;
        p->doc_ids = rg_xrealloc(p->doc_ids, p->capdocs * sizeof *p->doc_ids);
        p->hashes = rg_xrealloc(p->hashes, p->capdocs * sizeof *p->hashes);
        p->counts = rg_xrealloc(p->counts, p->capdocs * sizeof *p->counts);
    }
    p->counts[p->ndocs] = chunks.n;
    p->doc_ids[p->ndocs] = rg_xstrdup(doc_id);
    p->hashes[p->ndocs++] = rg_xstrdup(hash);
    r->files_ingested++;
    if (o->on_file)
        o->on_file(o->progress_ctx, shown, doc.format ? doc.format : "text", chunks.n);
    rg_chunks_free(&chunks);
    rg_document_free(&doc);
    free(shown);
    return st;
}

/* Whether the file of a stored document is known to be gone: lstat says
 * it does not exist.  Any other failure (a directory without search
 * permission, an I/O error) leaves it unknown, and unknown is kept. */
static bool known_gone(const char *path)
{
    struct stat st;
    return lstat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

/* Removes the chunks of documents under one of the walk's roots whose file
 * is gone.  Documents under a directory the walk could not list are kept. */
static rg_status prune(rg_collection *c, const json_t *manifest, const rg_walk_result *w, const rg_ingest_opts *o,
                       rg_ingest_report *r, rg_error *err)
{
    rg_status rc = RG_OK;
    const char *doc;
    json_t *e;
    int64_t done = 0, total = (int64_t)json_object_size(manifest);
    json_object_foreach((json_t *)manifest, doc, e)
    {
        if (++done % 1000 == 0)
            progress(o, RG_INGEST_PRUNE, done, total, NULL);
        const char *shown = json_string_value(json_object_get(e, "path"));
        if (!shown)
            continue;
        char *path = rg_path_unescape(shown);
        bool under = false;
        for (size_t k = 0; k < w->nroots; k++)
            under |= rg_path_inside(path, w->roots[k]);
        bool gone = under && !rg_walk_under_unreadable(w, path) && known_gone(path);
        free(path);
        if (!gone)
            continue;
        json_t *ids = json_object_get(e, "ids");
        const char **list = rg_xcalloc(json_array_size(ids) + 1, sizeof *list);
        size_t n = 0, i;
        json_t *id;
        json_array_foreach(ids, i, id) list[n++] = json_string_value(id);
        size_t deleted = 0;
        rc = rg_collection_delete(c, list, n, NULL, &deleted, err);
        free(list);
        if (rc != RG_OK)
            break;
        r->chunks_removed += (int64_t)deleted;
        r->documents_pruned++;
    }
    progress(o, RG_INGEST_PRUNE, total, total, NULL);
    return rc;
}

/* Steps inside the backend's write (the leann graph build) as store-phase
 * progress, with the backend's name for the step. */
static void store_progress(void *ctx, const char *stage, int64_t done, int64_t total)
{
    const rg_ingest_opts *o = ctx;
    progress(o, RG_INGEST_STORE, done, total, stage);
}

rg_status rg_ingest(rg_collection *c, const rg_config *cfg, const rg_walk_result *files, const rg_ingest_opts *o,
                    rg_ingest_report *r, rg_error *err)
{
    rg_ingest_report_walk(r, files);
    if (o->on_progress)
        rg_collection_set_progress(c, store_progress, (void *)o);
    json_t *manifest = NULL;
    rg_status rc = manifest_load(c, &manifest, err);
    pending p;
    memset(&p, 0, sizeof p);
    rg_record_batch_init(&p.batch, 0);
    for (size_t i = 0; rc == RG_OK && i < files->nfiles; i++) {
        if (o->interrupted && *o->interrupted) {
            /* Store what is already read so the work done is kept. */
            rc = flush(c, &p, manifest, o, r, err);
            if (rc == RG_OK)
                rc = rg_error_set(err, RG_ERR_INTERRUPTED,
                                  "interrupted after %lld of %lld files; everything before that is stored, run the "
                                  "same command again to continue",
                                  (long long)r->files_done, (long long)r->files_total);
            break;
        }
        progress(o, RG_INGEST_READ, r->files_done, r->files_total, NULL);
        rc = ingest_file(c, cfg, &files->files[i], manifest, &p, o, r, err);
        if (rc == RG_OK && p.batch.n >= INGEST_BATCH_CHUNKS)
            rc = flush(c, &p, manifest, o, r, err);
        r->files_done++;
    }
    if (rc == RG_OK)
        progress(o, RG_INGEST_READ, r->files_done, r->files_total, NULL);
    if (rc == RG_OK)
        rc = flush(c, &p, manifest, o, r, err);
    if (rc == RG_OK && o->prune)
        rc = prune(c, manifest, files, o, r, err);
    /* A BM25 update an earlier run could not make (disk full, say) is
     * made now, or this run fails too (issue 21 item 7). */
    if (rc == RG_OK)
        rc = rg_collection_lexical_sync(c, err);
    rg_collection_set_progress(c, NULL, NULL);
    json_decref(manifest);
    rg_record_batch_free(&p.batch);
    for (size_t i = 0; i < p.ndocs; i++) {
        free(p.doc_ids[i]);
        free(p.hashes[i]);
    }
    free(p.doc_ids);
    free(p.hashes);
    free(p.counts);
    return rc;
}

typedef struct paths_walk_ctx {
    const rg_ingest_opts *opts;
    rg_ingest_report *report;
} paths_walk_ctx;

static void paths_walk_warning(void *ctx, const char *path, const char *reason)
{
    paths_walk_ctx *w = ctx;
    rg_ingest_warn(w->opts, w->report, path, reason);
}

rg_status rg_ingest_paths(rg_collection *c, const rg_config *cfg, const char *const *paths, size_t npaths,
                          const rg_ingest_opts *opts, rg_ingest_report *report, rg_error *err)
{
    paths_walk_ctx wc = {opts, report};
    rg_walk_opts wo = {.interrupted = opts ? opts->interrupted : NULL, .on_warning = paths_walk_warning, .ctx = &wc};
    rg_walk_result files;
    bool walked = rg_walk(paths, npaths, &wo, &files);
    rg_ingest_report_walk(report, &files);
    rg_status st = walked ? rg_ingest(c, cfg, &files, opts, report, err)
                          : rg_error_set(err, RG_ERR_INTERRUPTED, "interrupted while looking for files; nothing was stored");
    rg_walk_result_free(&files);
    return st;
}
