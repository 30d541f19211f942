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

static void warn(const rg_ingest_opts *o, rg_ingest_report *r, const char *path, const char *reason)
{
    json_array_append_new(r->warnings, json_pack("{s:s, s:s}", "path", path, "reason", reason));
    if (o->on_warning)
        o->on_warning(o->progress_ctx, path, reason);
}

/* ---- walking ---- */

typedef struct file_list {
    char **paths;
    size_t n, cap;
} file_list;

static void files_push(file_list *f, char *path)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->paths = rg_xrealloc(f->paths, f->cap * sizeof *f->paths);
    }
    f->paths[f->n++] = path;
}

static bool path_inside(const char *path, const char *root)
{
    size_t lr = strlen(root);
    return strncmp(path, root, lr) == 0 && (path[lr] == '/' || path[lr] == '\0' || (lr == 1 && root[0] == '/'));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether a reader exists for this file (extension, else its first bytes):
 * images, archives and the like found by walking a directory are passed
 * over quietly; a file named on the command line always gets a message. */
static bool readable_kind(const char *path)
{
    unsigned char head[512];
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    return rg_reader_find(path, head, n) != NULL;
}

/* Collects regular files below dir (absolute, resolved).  Hidden entries and
 * node_modules are skipped; symbolic links are followed only when their
 * target stays inside root. */
static void walk(const char *dir, const char *root, file_list *out, const rg_ingest_opts *o, rg_ingest_report *r,
                 int depth)
{
    if (depth > 64) {
        warn(o, r, dir, "directory nesting deeper than 64 levels; not descending further");
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        warn(o, r, dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "node_modules"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = rg_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = rg_xstrdup(de->d_name);
    }
    closedir(d);
    if (n) /* qsort(NULL, 0, ...) is undefined (UBSan: an empty directory) */
        qsort(names, n, sizeof *names, cmp_str); /* deterministic order */
    for (size_t i = 0; i < n; i++) {
        char *path = rg_path_join(dir, names[i]);
        free(names[i]);
        struct stat st;
        if (lstat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            char *real = realpath(path, NULL);
            if (!real || !path_inside(real, root) || stat(real, &st) != 0) {
                warn(o, r, path, "symbolic link pointing outside the ingested directory; skipped");
                free(real);
                free(path);
                continue;
            }
            free(path);
            path = real;
            if (S_ISDIR(st.st_mode)) { /* a link back inside root could loop: do not descend */
                free(path);
                continue;
            }
        }
        if (S_ISDIR(st.st_mode)) {
            walk(path, root, out, o, r, depth + 1);
            free(path);
        } else if (S_ISREG(st.st_mode) && readable_kind(path)) {
            files_push(out, path);
        } else if (S_ISREG(st.st_mode)) {
            r->files_ignored++;
            free(path);
        } else {
            free(path);
        }
    }
    free(names);
}

/* ---- per-file work ---- */

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

static rg_status flush(rg_collection *c, pending *p, json_t *manifest, rg_ingest_report *r, rg_error *err)
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
    rg_status rc = rg_embedder_embed(emb, texts, p->batch.n, RG_EMBED_DOCUMENT, vecs, err);
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
    if (rc == RG_OK)
        rc = rg_collection_replace(c, p->batch.items, p->batch.n, stale, nstale, &deleted, err);
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

static rg_status ingest_file(rg_collection *c, const rg_config *cfg, const char *path, const json_t *manifest,
                             pending *p, const rg_ingest_opts *o, rg_ingest_report *r, rg_error *err)
{
    char doc_id[17], hash[65];
    rg_document_id(path, doc_id);
    rg_error ferr;
    if (rg_sha256_file_hex(path, hash, &ferr) != RG_OK) {
        warn(o, r, path, ferr.msg);
        r->files_skipped++;
        return RG_OK;
    }
    if (is_unchanged(manifest, doc_id, hash)) {
        r->files_unchanged++;
        return RG_OK;
    }
    size_t max_bytes = (size_t)rg_config_int(cfg, "ingest.max_file_mb") * 1024 * 1024;
    struct stat sb;
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size > max_bytes) {
        /* Name the setting: the user can only act on the limit if told which one it is. */
        char *msg = rg_xasprintf("%.1f MB is over ingest.max_file_mb = %lld; skipped (raise the limit to read it)",
                                 (double)sb.st_size / (1024.0 * 1024.0),
                                 (long long)rg_config_int(cfg, "ingest.max_file_mb"));
        warn(o, r, path, msg);
        free(msg);
        r->files_skipped++;
        return RG_OK;
    }
    rg_document doc;
    memset(&doc, 0, sizeof doc);
    if (rg_document_read(path, max_bytes, &doc, &ferr) != RG_OK) {
        warn(o, r, path, ferr.msg);
        r->files_skipped++;
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
        r->files_skipped++;
        rg_chunks_free(&chunks);
        rg_document_free(&doc);
        return RG_OK;
    }
    for (size_t i = 0; i < chunks.n; i++) {
        const rg_chunk *ch = &chunks.items[i];
        char *text = rg_xstrndup(doc.text + ch->start, ch->end - ch->start);
        char chash[65];
        rg_sha256_hex(text, strlen(text), chash);
        char id[48];
        chunk_id(id, sizeof id, doc_id, i);
        json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "document_id", doc_id, "document_path", path,
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
    rg_chunks_free(&chunks);
    rg_document_free(&doc);
    return RG_OK;
}

/* Removes the chunks of documents under one of roots whose file is gone. */
static rg_status prune(rg_collection *c, const json_t *manifest, char **roots, size_t nroots, rg_ingest_report *r,
                       rg_error *err)
{
    rg_status rc = RG_OK;
    const char *doc;
    json_t *e;
    json_object_foreach((json_t *)manifest, doc, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        if (!path || rg_path_exists(path))
            continue;
        bool under = false;
        for (size_t k = 0; k < nroots; k++)
            under |= path_inside(path, roots[k]);
        if (!under)
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
    return rc;
}

rg_status rg_ingest(rg_collection *c, const rg_config *cfg, const char *const *paths, size_t npaths,
                    const rg_ingest_opts *o, rg_ingest_report *r, rg_error *err)
{
    file_list files = {0};
    char **roots = rg_xcalloc(npaths ? npaths : 1, sizeof *roots);
    size_t nroots = 0;
    rg_status rc = RG_OK;
    for (size_t i = 0; i < npaths && rc == RG_OK; i++) {
        char *real = realpath(paths[i], NULL);
        if (!real) {
            rc = rg_error_set(err, RG_ERR_NOTFOUND, "cannot ingest %s: %s", paths[i], strerror(errno));
            break;
        }
        roots[nroots++] = real;
        if (rg_is_dir(real))
            walk(real, real, &files, o, r, 0);
        else
            files_push(&files, rg_xstrdup(real));
    }
    r->files_total = (int64_t)files.n;
    json_t *manifest = NULL;
    if (rc == RG_OK)
        rc = manifest_load(c, &manifest, err);
    pending p;
    memset(&p, 0, sizeof p);
    rg_record_batch_init(&p.batch, 0);
    /* Large writes let the leann backend build its graph in bulk. */
    const size_t batch_chunks = 4096;
    for (size_t i = 0; rc == RG_OK && i < files.n; i++) {
        if (o->interrupted && *o->interrupted) {
            /* Store what is already read so the work done is kept. */
            rc = flush(c, &p, manifest, r, err);
            if (rc == RG_OK)
                rc = rg_error_set(err, RG_ERR_INTERRUPTED,
                                  "interrupted after %lld of %lld files; everything before that is stored, run the "
                                  "same command again to continue",
                                  (long long)r->files_done, (long long)r->files_total);
            break;
        }
        rc = ingest_file(c, cfg, files.paths[i], manifest, &p, o, r, err);
        if (rc == RG_OK && p.batch.n >= batch_chunks)
            rc = flush(c, &p, manifest, r, err);
        r->files_done++;
        if (o->on_progress)
            o->on_progress(o->progress_ctx, r, files.paths[i]);
    }
    if (rc == RG_OK)
        rc = flush(c, &p, manifest, r, err);
    if (rc == RG_OK && o->prune)
        rc = prune(c, manifest, roots, nroots, r, err);
    /* A BM25 update an earlier run could not make (disk full, say) is
     * made now, or this run fails too (issue 21 item 7). */
    if (rc == RG_OK)
        rc = rg_collection_lexical_sync(c, err);
    json_decref(manifest);
    rg_record_batch_free(&p.batch);
    for (size_t i = 0; i < p.ndocs; i++) {
        free(p.doc_ids[i]);
        free(p.hashes[i]);
    }
    free(p.doc_ids);
    free(p.hashes);
    free(p.counts);
    for (size_t i = 0; i < files.n; i++)
        free(files.paths[i]);
    free(files.paths);
    for (size_t i = 0; i < nroots; i++)
        free(roots[i]);
    free(roots);
    return rc;
}
