/* Migration engine: round trips between every pair of backends available
 * here, rollback on failure and interruption, recovery of leftovers of a
 * killed run, overwrite, verification catching altered records. */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "migrate.h"
#include "test.h"
#include "util.h"

#define MDIM 64

static rg_config *mk_config(int dim)
{
    rg_config *cfg = rg_config_new_defaults();
    rg_error err;
    const char *tmp = rg_test_tmpdir();
    char *leann = rg_path_join(tmp, "leann"), *exact = rg_path_join(tmp, "exact");
    char dims[16];
    snprintf(dims, sizeof dims, "%d", dim);
    rg_config_set(cfg, "vectorstore.leann.persist_directory", leann, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "vectorstore.exact.persist_directory", exact, RG_SRC_FLAG, &err);
    rg_config_set(cfg, "embedding.dimension", dims, RG_SRC_FLAG, &err);
    const char *url = getenv("RAGGED_TEST_CHROMADB_URL");
    if (url && *url)
        rg_config_set(cfg, "vectorstore.chromadb.url", url, RG_SRC_FLAG, &err);
    free(leann);
    free(exact);
    return cfg;
}

/* True if the backend opens here (chromadb needs a test server; backends
 * still being built say so in open()). */
static bool backend_ok(const rg_config *cfg, const char *name)
{
    if (!strcmp(name, "chromadb") && !getenv("RAGGED_TEST_CHROMADB_URL")) {
        fprintf(stderr, "    (chromadb: no test server; RAGGED_TEST_CHROMADB_URL unset)\n");
        return false;
    }
    rg_store *s = NULL;
    rg_error err;
    if (rg_store_open(cfg, name, &s, &err) != RG_OK) {
        fprintf(stderr, "    (%s not available here: %s)\n", name, err.msg);
        return false;
    }
    rg_collection_info *infos = NULL;
    size_t n = 0;
    rg_status rc = rg_store_list(s, &infos, &n, &err);
    free(infos);
    rg_store_close(s);
    if (rc != RG_OK)
        fprintf(stderr, "    (%s not usable here: %s)\n", name, err.msg);
    return rc == RG_OK;
}

static void uniq_name(char *buf, size_t n, const char *stem)
{
    static unsigned counter;
    snprintf(buf, n, "m-%s-%ld-%u", stem, (long)getpid(), counter++);
}

static const char *const WORDS[] = {"apple", "river", "copper", "violin", "glacier", "pepper", "orbit", "lantern",
                                    "meadow", "saffron", "tundra", "quartz", "harbor", "falcon", "ember", "basalt"};

/* n records with varied text and every metadata type; record 3 has none. */
static bool fill(const rg_config *cfg, const char *backend, const char *name, size_t n)
{
    rg_error err;
    rg_embedder *emb = NULL;
    rg_store *s = NULL;
    rg_collection *c = NULL;
    bool ok = rg_embedder_open(cfg, &emb, &err) == RG_OK && rg_store_open(cfg, backend, &s, &err) == RG_OK &&
              rg_collection_open(s, name, emb, true, &c, &err) == RG_OK;
    for (size_t start = 0; ok && start < n; start += 100) {
        size_t m = RG_MIN(100, n - start);
        char **docs = rg_xcalloc(m, sizeof *docs), **ids = rg_xcalloc(m, sizeof *ids);
        json_t **meta = rg_xcalloc(m, sizeof *meta);
        rg_record *recs = rg_xcalloc(m, sizeof *recs);
        float *v = rg_xmalloc(m * MDIM * sizeof *v);
        for (size_t j = 0; j < m; j++) {
            size_t i = start + j;
            ids[j] = rg_xasprintf("rec-%05zu", i);
            docs[j] = rg_xasprintf("%s %s %s, passage %zu — naïve café “quotes” %s", WORDS[i % 16],
                                   WORDS[(i / 16) % 16], WORDS[(i * 7 + 3) % 16], i, i % 5 ? "" : "\ttab\nline");
            meta[j] = i == 3 ? NULL
                             : json_pack("{s:I, s:f, s:s, s:b, s:s}", "num", (json_int_t)i - 50, "real",
                                         (double)i / 3.0, "word", WORDS[i % 16], "flag", (int)(i % 2), "path",
                                         "docs/ünïcode/file.md");
        }
        ok = rg_embedder_embed(emb, (const char *const *)docs, m, RG_EMBED_DOCUMENT, v, &err) == RG_OK;
        for (size_t j = 0; j < m; j++)
            recs[j] = (rg_record){ids[j], docs[j], meta[j], v + j * MDIM, false};
        if (ok)
            ok = rg_collection_add(c, recs, m, &err) == RG_OK;
        for (size_t j = 0; j < m; j++) {
            free(ids[j]);
            free(docs[j]);
            json_decref(meta[j]);
        }
        free(ids);
        free(docs);
        free(meta);
        free(recs);
        free(v);
    }
    if (!ok)
        fprintf(stderr, "    fill %s/%s: %s\n", backend, name, err.msg);
    rg_collection_close(c);
    rg_store_close(s);
    rg_embedder_free(emb);
    return ok;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every record as "id \x1f document \x1f canonical metadata", sorted, joined:
 * two collections hold the same data iff the dumps are equal.  NULL if the
 * collection does not exist. */
static char *dump(const rg_config *cfg, const char *backend, const char *name)
{
    rg_store *s = NULL;
    rg_collection *c = NULL;
    rg_error err;
    if (rg_store_open(cfg, backend, &s, &err) != RG_OK)
        return NULL;
    if (rg_collection_open(s, name, NULL, false, &c, &err) != RG_OK) {
        rg_store_close(s);
        return NULL;
    }
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    char *out = NULL;
    if (rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_DOCUMENTS | RG_INCLUDE_METADATAS, 0, 0, &b, &err) == RG_OK) {
        char **lines = rg_xcalloc(b.n + 1, sizeof *lines);
        for (size_t i = 0; i < b.n; i++) {
            char *m = b.items[i].metadata && json_object_size(b.items[i].metadata)
                          ? json_dumps(b.items[i].metadata, JSON_COMPACT | JSON_SORT_KEYS)
                          : rg_xstrdup("{}");
            lines[i] = rg_xasprintf("%s\x1f%s\x1f%s", b.items[i].id,
                                    b.items[i].document ? b.items[i].document : "(null)", m);
            free(m);
        }
        qsort(lines, b.n, sizeof *lines, cmp_str);
        rg_buf buf;
        rg_buf_init(&buf);
        rg_buf_printf(&buf, "%zu records\n", b.n);
        for (size_t i = 0; i < b.n; i++) {
            rg_buf_puts(&buf, lines[i]);
            rg_buf_putc(&buf, '\n');
            free(lines[i]);
        }
        free(lines);
        out = rg_buf_steal(&buf);
    }
    rg_record_batch_free(&b);
    rg_collection_close(c);
    rg_store_close(s);
    return out;
}

/* Names in a backend containing `part` (leftover checks). */
static int count_names(const rg_config *cfg, const char *backend, const char *part)
{
    rg_store *s = NULL;
    rg_error err;
    if (rg_store_open(cfg, backend, &s, &err) != RG_OK)
        return -1;
    rg_collection_info *infos = NULL;
    size_t n = 0;
    int k = 0;
    if (rg_store_list(s, &infos, &n, &err) == RG_OK)
        for (size_t i = 0; i < n; i++)
            k += strstr(infos[i].name, part) != NULL;
    free(infos);
    rg_store_close(s);
    return k;
}

static rg_migrate_opts base_opts(const char *from, const char *to, const char *src, const char *dst)
{
    return (rg_migrate_opts){.from_backend = from, .to_backend = to, .collection = src, .to = dst, .min_overlap = -1};
}

TEST(migrate_round_trip_every_pair)
{
    rg_config *cfg = mk_config(MDIM);
    const char *const *names = rg_store_backend_names();
    bool ok[8] = {0};
    for (size_t i = 0; names[i]; i++)
        ok[i] = backend_ok(cfg, names[i]);
    char src[64];
    uniq_name(src, sizeof src, "src");
    CHECK(fill(cfg, "exact", src, 257));
    char *orig = dump(cfg, "exact", src);
    CHECK(orig);
    CHECK(strstr(orig, "257 records"));
    for (size_t i = 0; names[i]; i++) {
        if (!ok[i])
            continue;
        /* exact -> B -> exact: ids, documents and metadata survive. */
        fprintf(stderr, "    [exact -> %s -> exact]\n", names[i]);
        char mid[64], back[64];
        uniq_name(mid, sizeof mid, "mid");
        uniq_name(back, sizeof back, "back");
        rg_migrate_opts o = base_opts("exact", names[i], src, mid);
        o.verify = true;
        o.batch_size = 50; /* several pages, the last one partial */
        rg_migrate_report r;
        rg_error err;
        CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
        CHECK(r.published);
        CHECK(!r.reembedded);
        CHECK_EQ_INT(r.records_written, 257);
        CHECK_EQ_INT(r.batches, 6);
        CHECK(r.verify.done && r.verify.passed);
        CHECK_EQ_STR(r.verify.source_digest, r.verify.target_digest);
        CHECK(r.verify.queries == 50);
        CHECK(r.verify.overlap_mean >= 0.8);
        char *m = dump(cfg, names[i], mid);
        CHECK(m);
        CHECK_EQ_STR(m, orig);
        free(m);
        o = base_opts(names[i], "exact", mid, back);
        o.verify = true;
        CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
        char *b = dump(cfg, "exact", back);
        CHECK(b);
        CHECK_EQ_STR(b, orig);
        free(b);
        CHECK_EQ_INT(count_names(cfg, names[i], ".rgmig-"), 0);
        CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 0);
    }
    /* The source was only read. */
    char *after = dump(cfg, "exact", src);
    CHECK_EQ_STR(after, orig);
    free(after);
    free(orig);
    rg_config_free(cfg);
}

typedef struct hook_ctx {
    const char *what;     /* "document", "metadata", "delete", "fail" */
    volatile sig_atomic_t *flag;
    int64_t interrupt_after;
} hook_ctx;

static rg_status alter_one(void *ctx, rg_collection *staging, rg_error *err)
{
    hook_ctx *h = ctx;
    const char *ids[1] = {"rec-00007"};
    if (!strcmp(h->what, "fail"))
        return rg_error_set(err, RG_ERR_IO, "injected failure after writing");
    if (!strcmp(h->what, "delete")) {
        size_t deleted = 0;
        return rg_collection_delete(staging, ids, 1, NULL, &deleted, err);
    }
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    rg_status rc = rg_collection_get(staging, ids, 1, NULL, RG_INCLUDE_ALL, 0, 0, &b, err);
    if (rc == RG_OK && b.n == 1) {
        rg_record *r = &b.items[0];
        if (!strcmp(h->what, "document")) {
            free(r->document);
            r->document = rg_xstrdup("tampered");
        } else {
            json_object_set_new(r->metadata, "num", json_integer(12345));
        }
        rc = rg_collection_upsert(staging, r, 1, err);
    }
    rg_record_batch_free(&b);
    return rc;
}

TEST(migrate_verify_catches_altered_records)
{
    rg_config *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "vsrc");
    CHECK(fill(cfg, "exact", src, 120));
    static const char *const kinds[] = {"document", "metadata", "delete"};
    /* Every target backend available here; the staging copy is altered
     * through the store interface, as any writer could. */
    for (const char *const *be = rg_store_backend_names(); *be; be++)
    for (size_t k = 0; k < RG_ARRAY_LEN(kinds); k++) {
        if (!backend_ok(cfg, *be))
            break;
        fprintf(stderr, "    [exact -> %s, %s altered]\n", *be, kinds[k]);
        uniq_name(dst, sizeof dst, "vdst");
        hook_ctx h = {.what = kinds[k]};
        rg_migrate_opts o = base_opts("exact", *be, src, dst);
        o.verify = true;
        o.after_write = alter_one;
        o.ctx = &h;
        rg_migrate_report r;
        rg_error err;
        CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_MISMATCH);
        CHECK_MSG(strstr(err.msg, "verification failed") && strstr(err.msg, "rolled back"), "%s", err.msg);
        CHECK(!r.verify.passed);
        CHECK(r.rolled_back && !r.published);
        CHECK_EQ_INT(r.verify.nmismatches >= 1, 1);
        CHECK_EQ_STR(r.verify.mismatches[0].id, "rec-00007");
        if (k == 0)
            CHECK_EQ_INT(r.verify.documents_differ, 1);
        if (k == 1)
            CHECK_EQ_INT(r.verify.metadata_differ, 1);
        if (k == 2)
            CHECK_EQ_INT(r.verify.missing, 1);
        CHECK(strcmp(r.verify.source_digest, r.verify.target_digest) != 0);
        /* Nothing published, nothing left. */
        char *d = dump(cfg, *be, dst);
        CHECK(d == NULL);
        CHECK_EQ_INT(count_names(cfg, *be, ".rgmig-"), 0);
    }
    /* Without --verify the same tampering goes unnoticed: the check is what
     * catches it (and a failing hook rolls back like any failure). */
    uniq_name(dst, sizeof dst, "vfail");
    hook_ctx h = {.what = "fail"};
    rg_migrate_opts o = base_opts("exact", "exact", src, dst);
    o.after_write = alter_one;
    o.ctx = &h;
    rg_migrate_report r;
    rg_error err;
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_IO);
    CHECK_MSG(strstr(err.msg, "injected failure") && strstr(err.msg, "rolled back"), "%s", err.msg);
    CHECK(dump(cfg, "exact", dst) == NULL);
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 0);
    rg_config_free(cfg);
}

static void interrupt_on_progress(void *ctx, rg_migrate_phase phase, int64_t done, int64_t total)
{
    hook_ctx *h = ctx;
    if (phase == RG_MIGRATE_WRITE && done >= h->interrupt_after)
        *h->flag = 1;
}

TEST(migrate_interrupt_rolls_back_and_keeps_old_target)
{
    rg_config *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "isrc");
    uniq_name(dst, sizeof dst, "idst");
    CHECK(fill(cfg, "exact", src, 300));
    CHECK(fill(cfg, "exact", dst, 40)); /* an existing target with other content */
    char *src_before = dump(cfg, "exact", src), *dst_before = dump(cfg, "exact", dst);
    volatile sig_atomic_t flag = 0;
    hook_ctx h = {.flag = &flag, .interrupt_after = 100};
    rg_migrate_opts o = base_opts("exact", "exact", src, dst);
    o.overwrite = true;
    o.batch_size = 50;
    o.interrupted = &flag;
    o.on_progress = interrupt_on_progress;
    o.ctx = &h;
    rg_migrate_report r;
    rg_error err;
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_INTERRUPTED);
    CHECK_MSG(strstr(err.msg, "interrupted after 100 of 300") && strstr(err.msg, "rolled back"), "%s", err.msg);
    CHECK(r.rolled_back && !r.published);
    char *s = dump(cfg, "exact", src), *d = dump(cfg, "exact", dst);
    CHECK_EQ_STR(s, src_before);
    CHECK_EQ_STR(d, dst_before);
    free(s);
    free(d);
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 0);

    /* Then the same migration without interruption replaces the target. */
    flag = 0;
    o.on_progress = NULL;
    o.verify = true;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK(r.overwrote && r.target_existed);
    d = dump(cfg, "exact", dst);
    CHECK_EQ_STR(d, src_before);
    free(d);
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 0);
    free(src_before);
    free(dst_before);
    rg_config_free(cfg);
}

static void collect_notice(void *ctx, const char *msg)
{
    rg_buf *b = ctx;
    rg_buf_puts(b, msg);
    rg_buf_putc(b, '\n');
}

TEST(migrate_recovers_leftovers_of_a_killed_run)
{
    rg_config *cfg = mk_config(MDIM);
    char src[64], a[64], b[64];
    uniq_name(src, sizeof src, "lsrc");
    uniq_name(a, sizeof a, "la");
    uniq_name(b, sizeof b, "lb");
    CHECK(fill(cfg, "exact", src, 30));
    /* The states a kill -9 can leave, with a pid that cannot be running:
     * staging of a copy in progress; a swap killed between its renames
     * (backup, no target); a swap killed before deleting the backup. */
    char stg[128], bak_alone[128], bak_next[128];
    snprintf(stg, sizeof stg, "%s%s%d", a, RG_MIGRATE_STAGING_TAG, 999999999);
    snprintf(bak_alone, sizeof bak_alone, "%s%s%d", b, RG_MIGRATE_BACKUP_TAG, 999999999);
    snprintf(bak_next, sizeof bak_next, "%s%s%d", src, RG_MIGRATE_BACKUP_TAG, 999999998);
    CHECK(fill(cfg, "exact", stg, 10));
    CHECK(fill(cfg, "exact", bak_alone, 12));
    CHECK(fill(cfg, "exact", bak_next, 14));
    char *b_before = dump(cfg, "exact", bak_alone);
    /* A leftover of a live process (ours is not one: pick the parent) stays. */
    char live[128];
    snprintf(live, sizeof live, "%s%s%ld", a, RG_MIGRATE_STAGING_TAG, (long)getppid());
    CHECK(fill(cfg, "exact", live, 5));

    rg_buf notes;
    rg_buf_init(&notes);
    rg_migrate_opts o = base_opts("exact", "exact", src, a);
    o.on_notice = collect_notice;
    o.ctx = &notes;
    /* Dry run: reports, changes nothing. */
    o.dry_run = true;
    rg_migrate_report r;
    rg_error err;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 4);
    CHECK_MSG(strstr(notes.data, "would delete") && strstr(notes.data, "would restore"), "%s", notes.data);
    CHECK(dump(cfg, "exact", a) == NULL);

    o.dry_run = false;
    notes.len = 0;
    notes.data[0] = '\0';
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK_EQ_INT(r.leftovers_cleaned, 3);
    CHECK_MSG(strstr(notes.data, "staging data of an interrupted migration"), "%s", notes.data);
    CHECK_MSG(strstr(notes.data, "restored"), "%s", notes.data);
    CHECK_MSG(strstr(notes.data, "still running"), "%s", notes.data);
    /* Only the live one is left; the backup without a target came back. */
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 1);
    char *b_after = dump(cfg, "exact", b);
    CHECK(b_after);
    CHECK_EQ_STR(b_after, b_before);
    free(b_after);
    free(b_before);
    char *pub = dump(cfg, "exact", a), *s = dump(cfg, "exact", src);
    CHECK_EQ_STR(pub, s);
    free(pub);
    free(s);
    rg_buf_free(&notes);
    rg_config_free(cfg);
}

TEST(migrate_refusals_and_dry_run)
{
    rg_config *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "rsrc");
    uniq_name(dst, sizeof dst, "rdst");
    CHECK(fill(cfg, "exact", src, 20));
    CHECK(fill(cfg, "exact", dst, 3));
    rg_migrate_report r;
    rg_error err;
    rg_migrate_opts o = base_opts("exact", "exact", src, dst);
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_EXISTS);
    CHECK_MSG(strstr(err.msg, "--overwrite"), "%s", err.msg);
    o = base_opts("exact", "exact", src, NULL);
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "same collection"), "%s", err.msg);
    o = base_opts("exact", "exact", "no-such-collection", "x-target");
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_NOTFOUND);
    o = base_opts("exact", "nosuch", src, "x-target");
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_INVALID);
    o = base_opts("exact", "exact", src, "bad name");
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_INVALID);
    char longname[RG_COLLECTION_NAME_MAX + 1];
    memset(longname, 'a', RG_COLLECTION_NAME_MAX - 5);
    longname[RG_COLLECTION_NAME_MAX - 5] = '\0';
    o = base_opts("exact", "exact", src, longname);
    CHECK_EQ_INT(rg_migrate(cfg, &o, &r, &err), RG_ERR_INVALID);
    CHECK_MSG(strstr(err.msg, "too long"), "%s", err.msg);
    /* Dry run over an existing target with --overwrite: a plan, no writes. */
    char *before = dump(cfg, "exact", dst);
    o = base_opts("exact", "exact", src, dst);
    o.dry_run = o.overwrite = true;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK(r.dry_run && r.target_existed && !r.published);
    CHECK_EQ_INT(r.records_source, 20);
    CHECK_EQ_INT(r.records_written, 0);
    CHECK(r.bytes_estimated > 0 && r.bytes_before > 0);
    CHECK_EQ_INT(r.batches, 1);
    char *after = dump(cfg, "exact", dst);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
    CHECK_EQ_INT(count_names(cfg, "exact", ".rgmig-"), 0);
    rg_config_free(cfg);
}

TEST(migrate_reembeds_for_another_embedder)
{
    /* Source built with a 32-dimensional embedder, target configured for 64:
     * vectors cannot be reused, every document is embedded again. */
    rg_config *small = mk_config(32), *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "esrc");
    uniq_name(dst, sizeof dst, "edst");
    /* fill() embeds with MDIM floats per row; build the 32-d source by
     * migrating a 64-d one with the small config (which re-embeds). */
    char seed[64];
    uniq_name(seed, sizeof seed, "eseed");
    CHECK(fill(cfg, "exact", seed, 80));
    rg_migrate_report r;
    rg_error err;
    rg_migrate_opts o = base_opts("exact", "exact", seed, src);
    CHECK_OK(rg_migrate(small, &o, &r, &err), &err);
    CHECK(r.reembedded);
    CHECK_MSG(strstr(r.reembed_reason, ":32:") && strstr(r.reembed_reason, ":64:"), "%s", r.reembed_reason);
    o = base_opts("exact", "exact", src, dst);
    o.verify = true;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK(r.reembedded && r.verify.passed);
    CHECK(r.verify.overlap_skipped[0]);
    char *a = dump(cfg, "exact", seed), *b = dump(cfg, "exact", dst);
    CHECK_EQ_STR(a, b);
    free(a);
    free(b);
    /* The target is queryable with the configured embedder. */
    rg_embedder *emb = NULL;
    rg_store *s = NULL;
    rg_collection *c = NULL;
    CHECK_OK(rg_embedder_open(cfg, &emb, &err), &err);
    CHECK_OK(rg_store_open(cfg, "exact", &s, &err), &err);
    CHECK_OK(rg_collection_open(s, dst, emb, false, &c, &err), &err);
    rg_hits hits;
    rg_hits_init(&hits);
    rg_query_opts qo = {.k = 3, .include = RG_INCLUDE_DOCUMENTS};
    CHECK_OK(rg_collection_query_text(c, "violin glacier", &qo, &hits, &err), &err);
    CHECK_EQ_INT(hits.n, 3);
    rg_hits_free(&hits);
    rg_collection_close(c);
    rg_store_close(s);
    rg_embedder_free(emb);
    rg_config_free(small);
    rg_config_free(cfg);
}

TEST(migrate_default_batch_sizes)
{
    /* ChromaDB pages stay far below its 40 MiB request limit even for big
     * records; local pages are larger but bounded. */
    size_t n = rg_migrate_default_batch("exact", "chromadb", 1024, 20000);
    CHECK(n >= 16);
    CHECK((double)n * (20000 * 1.2 + 1024 * 12) < 10.0 * 1024 * 1024);
    CHECK(rg_migrate_default_batch("leann", "chromadb", 384, 1000) <= 1000);
    CHECK(rg_migrate_default_batch("exact", "exact", 384, 1000) >= 64);
    CHECK(rg_migrate_default_batch("exact", "exact", 384, 1000) <= 2000);
    /* Into leann: big pages (one build from the copied vectors), bounded. */
    CHECK(rg_migrate_default_batch("exact", "leann", 384, 1400) >= 10000);
    CHECK(rg_migrate_default_batch("exact", "leann", 384, 1400) <= 50000);
    CHECK(rg_migrate_default_batch("chromadb", "leann", 384, 1400) >= 10000);
    CHECK(rg_migrate_default_batch("chromadb", "chromadb", 384, 1400) <= 1000);
}

TEST(migrate_no_build_skips_the_rebuild)
{
    rg_config *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "nbsrc");
    uniq_name(dst, sizeof dst, "nbdst");
    CHECK(fill(cfg, "exact", src, 40));
    rg_migrate_opts o = base_opts("exact", "exact", src, dst);
    o.no_build = o.verify = true;
    rg_migrate_report r;
    rg_error err;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK(r.verify.passed && r.published);
    CHECK(r.phase_seconds[RG_MIGRATE_BUILD] == 0.0);
    rg_config_free(cfg);
}

/* id -> embedding of every record of a collection (opened with emb, so a
 * backend that recomputes can). */
static rg_record_batch vectors_of(const rg_config *cfg, rg_embedder *emb, const char *backend, const char *name)
{
    rg_store *s = NULL;
    rg_collection *c = NULL;
    rg_error err;
    rg_record_batch b;
    rg_record_batch_init(&b, 0);
    if (rg_store_open(cfg, backend, &s, &err) == RG_OK && rg_collection_open(s, name, emb, false, &c, &err) == RG_OK)
        if (rg_collection_get(c, NULL, 0, NULL, RG_INCLUDE_EMBEDDINGS, 0, 0, &b, &err) != RG_OK)
            fprintf(stderr, "    get %s/%s: %s\n", backend, name, err.msg);
    rg_collection_close(c);
    rg_store_close(s);
    return b;
}

TEST(migrate_into_leann_keeps_every_supplied_vector)
{
    /* Issue 16 item 7: leann keeps a record's vector only when its embedder
     * cannot give it back from the text.  It used to check the first record
     * of a batch and trust the rest, so caller-supplied vectors behind a
     * recomputable one were dropped and recomputed: the migrated collection
     * answered with other vectors than its source. */
    rg_config *cfg = mk_config(MDIM);
    char src[64], dst[64];
    uniq_name(src, sizeof src, "vsrc");
    uniq_name(dst, sizeof dst, "vdst");
    CHECK(fill(cfg, "exact", src, 120));
    rg_error err;
    rg_embedder *emb = NULL;
    rg_store *s = NULL;
    rg_collection *c = NULL;
    CHECK_OK(rg_embedder_open(cfg, &emb, &err), &err);
    CHECK_OK(rg_store_open(cfg, "exact", &s, &err), &err);
    CHECK_OK(rg_collection_open(s, src, emb, false, &c, &err), &err);
    /* Records 7, 63 and 117 get vectors of their own: none is the first of
     * a page of 50, the migrate below writes. */
    const char *ids[3] = {"rec-00007", "rec-00063", "rec-00117"};
    rg_record_batch b;
    rg_record_batch_init(&b, MDIM);
    CHECK_OK(rg_collection_get(c, ids, 3, NULL, RG_INCLUDE_ALL, 0, 0, &b, &err), &err);
    CHECK_EQ_INT(b.n, 3);
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < b.n; i++) {
        double norm = 0;
        for (int d = 0; d < MDIM; d++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            b.items[i].embedding[d] = (float)((double)(st >> 11) / 9007199254740992.0 - 0.5);
            norm += (double)b.items[i].embedding[d] * b.items[i].embedding[d];
        }
        for (int d = 0; d < MDIM; d++)
            b.items[i].embedding[d] /= (float)sqrt(norm);
    }
    CHECK_OK(rg_collection_upsert(c, b.items, b.n, &err), &err);
    rg_record_batch_free(&b);
    rg_collection_close(c);
    rg_store_close(s);

    rg_migrate_opts o = base_opts("exact", "leann", src, dst);
    o.batch_size = 50;
    rg_migrate_report r;
    CHECK_OK(rg_migrate(cfg, &o, &r, &err), &err);
    CHECK(!r.reembedded);
    rg_record_batch a = vectors_of(cfg, emb, "exact", src), l = vectors_of(cfg, emb, "leann", dst);
    CHECK_EQ_INT(a.n, 120);
    CHECK_EQ_INT(l.n, 120);
    int differing = 0, own = 0;
    for (size_t i = 0; i < a.n; i++)
        for (size_t j = 0; j < l.n; j++)
            if (!strcmp(a.items[i].id, l.items[j].id)) {
                float dot = rg_dot(a.items[i].embedding, l.items[j].embedding, MDIM);
                if (dot < 0.9999f) {
                    differing++;
                    fprintf(stderr, "    %s: cosine %.4f to its source vector\n", a.items[i].id, dot);
                }
                for (int k = 0; k < 3; k++)
                    own += !strcmp(a.items[i].id, ids[k]);
            }
    CHECK_EQ_INT(own, 3);
    CHECK_EQ_INT(differing, 0);
    rg_record_batch_free(&a);
    rg_record_batch_free(&l);
    rg_embedder_free(emb);
    rg_config_free(cfg);
}
