/* The native BM25 segments (bm25_segment.c, bm25_search.c) against a
 * brute-force oracle: random corpora in several segments with tombstones
 * and filters, merges, every block size edge, and damage: every bit of a
 * small segment flipped gives an error or the undamaged answer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bm25.h"
#include "test.h"
#include "util.h"

typedef struct doc {
    char id[32];
    char *terms;                   /* space separated */
    uint32_t dl;
} doc;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Zipf-ish vocabulary so some terms span many blocks. */
static doc *corpus(size_t n, uint64_t seed, size_t vocab)
{
    doc *d = rg_xcalloc(n, sizeof *d);
    for (size_t i = 0; i < n; i++) {
        snprintf(d[i].id, sizeof d[i].id, "doc-%05zu", (i * 7919) % 100000);
        rg_buf b;
        rg_buf_init(&b);
        size_t len = rnd(&seed) % 40;
        for (size_t j = 0; j < len; j++) {
            uint64_t r = rnd(&seed) % vocab;
            r = r * r / vocab;     /* skew toward small numbers */
            rg_buf_printf(&b, "%st%llu", b.len ? " " : "", (unsigned long long)r);
        }
        d[i].terms = b.data ? rg_buf_steal(&b) : rg_xstrdup("");
        d[i].dl = (uint32_t)len;
    }
    return d;
}

static void corpus_free(doc *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i].terms);
    free(d);
}

static uint32_t count_tf(const char *terms, const char *t)
{
    uint32_t n = 0;
    size_t tl = strlen(t);
    for (const char *p = terms; *p;) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        n += l == tl && !memcmp(p, t, tl);
        p += l + (e ? 1 : 0);
    }
    return n;
}

typedef struct scored {
    double s;
    const char *id;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Exhaustive BM25 over the live (and allowed) documents. */
static size_t oracle(const doc *d, size_t n, const bool *live, const bool *allow, const rg_bm25_qterm *q, size_t nq,
                     double k1, double b, int k, scored *out)
{
    uint64_t N = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        if (live[i]) {
            N++;
            total += d[i].dl;
        }
    double avgdl = N ? (double)total / (double)N : 1;
    uint64_t df[8] = {0};
    for (size_t j = 0; j < nq && j < 8; j++)
        for (size_t x = 0; x < n; x++)
            df[j] += live[x] && count_tf(d[x].terms, q[j].term) > 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!live[i] || (allow && !allow[i]))
            continue;
        double s = 0;
        bool any = false;
        for (size_t j = 0; j < nq; j++) {
            uint32_t tf = count_tf(d[i].terms, q[j].term);
            if (!tf)
                continue;
            any = true;
            double idf = log(1.0 + ((double)N - (double)df[j] + 0.5) / ((double)df[j] + 0.5));
            s += q[j].weight * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * d[i].dl / avgdl));
        }
        if (any)
            out[m++] = (scored){s, d[i].id};
    }
    qsort(out, m, sizeof *out, cmp_scored);
    return m < (size_t)k ? m : (size_t)k;
}

static rg_bm25_seg *build(const doc *d, size_t from, size_t to, rg_buf *bytes)
{
    rg_bm25_builder *b = rg_bm25_builder_new();
    for (size_t i = from; i < to; i++)
        rg_bm25_builder_add(b, d[i].id, d[i].terms, strlen(d[i].terms));
    bytes->len = 0;
    rg_bm25_builder_encode(b, bytes);
    rg_bm25_builder_free(b);
    rg_bm25_seg *s = NULL;
    rg_error err;
    if (rg_bm25_seg_parse(bytes->data, bytes->len, "test", &s, &err) != RG_OK) {
        fprintf(stderr, "    parse: %s\n", err.msg);
        return NULL;
    }
    return s;
}

static bool same(const rg_bm25_result *r, size_t nr, const scored *o, size_t no)
{
    if (nr != no) {
        fprintf(stderr, "    %zu results, oracle %zu\n", nr, no);
        return false;
    }
    for (size_t i = 0; i < nr; i++)
        if (strcmp(r[i].id, o[i].id) || fabs(r[i].score - o[i].s) > 1e-9 * (1 + fabs(o[i].s))) {
            fprintf(stderr, "    #%zu: %s %.12f, oracle %s %.12f\n", i, r[i].id, r[i].score, o[i].id, o[i].s);
            return false;
        }
    return true;
}

TEST(bm25_segments_match_oracle)
{
    const size_t n = 1500, cuts[] = {0, 700, 701, 1200, 1500};
    doc *d = corpus(n, 42, 300);
    rg_buf bytes[4];
    rg_bm25_part parts[4];
    uint8_t *dead[4], *allow[4];
    bool *live = rg_xmalloc(n), *ok = rg_xmalloc(n);
    uint64_t s = 7;
    for (size_t p = 0; p < 4; p++) {
        rg_buf_init(&bytes[p]);
        parts[p].seg = build(d, cuts[p], cuts[p + 1], &bytes[p]);
        CHECK(parts[p].seg);
        dead[p] = rg_xcalloc((cuts[p + 1] - cuts[p]) / 8 + 1, 1);
        allow[p] = rg_xcalloc((cuts[p + 1] - cuts[p]) / 8 + 1, 1);
        for (size_t i = cuts[p]; i < cuts[p + 1]; i++) {
            live[i] = rnd(&s) % 5 != 0;
            ok[i] = rnd(&s) % 3 != 0;
            if (!live[i])
                rg_bit_set(dead[p], (uint32_t)(i - cuts[p]));
            if (ok[i])
                rg_bit_set(allow[p], (uint32_t)(i - cuts[p]));
        }
    }
    rg_error err;
    for (size_t p = 0; p < 4; p++)
        CHECK_OK(rg_bm25_seg_verify(parts[p].seg, &err), &err);
    uint64_t N = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        if (live[i]) {
            N++;
            total += d[i].dl;
        }
    scored *o = rg_xmalloc(n * sizeof *o);
    for (int round = 0; round < 60; round++) {
        rg_bm25_qterm q[6];
        char names[6][16];
        size_t nq = 1 + rnd(&s) % 6;
        for (size_t j = 0; j < nq; j++) {
            snprintf(names[j], sizeof names[j], "t%llu", (unsigned long long)(rnd(&s) % 320));
            q[j] = (rg_bm25_qterm){names[j], strlen(names[j]), 1.0 + (double)(rnd(&s) % 2)};
        }
        bool filtered = round % 3 == 1;
        int k = round % 4 == 0 ? 1 : round % 4 == 1 ? 10 : round % 4 == 2 ? 100 : 2000;
        for (size_t p = 0; p < 4; p++) {
            parts[p].dead = round % 5 ? dead[p] : NULL;
            parts[p].allow = filtered ? allow[p] : NULL;
        }
        bool *lv = live;
        bool *all = NULL;
        if (round % 5 == 0) {
            all = rg_xmalloc(n);
            memset(all, 1, n);
            lv = all;
        }
        uint64_t NN = N, TT = total;
        if (round % 5 == 0) {
            NN = n;
            TT = 0;
            for (size_t i = 0; i < n; i++)
                TT += d[i].dl;
        }
        rg_bm25_stats st = {1.2, 0.75, NN, TT};
        rg_bm25_result *r = NULL;
        size_t nr = 0;
        CHECK_OK(rg_bm25_search(parts, 4, q, nq, &st, k, &r, &nr, &err), &err);
        size_t no = oracle(d, n, lv, filtered ? ok : NULL, q, nq, 1.2, 0.75, k, o);
        CHECK_MSG(same(r, nr, o, no), "round %d (k %d, %zu terms, filtered %d)", round, k, nq, filtered);
        rg_bm25_results_free(r, nr);
        free(all);
    }
    /* A merge keeps the live documents and drops the dead. */
    rg_bm25_builder *b = rg_bm25_builder_new();
    for (size_t p = 0; p < 4; p++)
        CHECK_OK(rg_bm25_builder_add_segment(b, parts[p].seg, dead[p], &err), &err);
    CHECK_EQ_INT(rg_bm25_builder_ndocs(b), N);
    rg_buf mb;
    rg_buf_init(&mb);
    rg_bm25_builder_encode(b, &mb);
    rg_bm25_builder_free(b);
    rg_bm25_seg *merged = NULL;
    CHECK_OK(rg_bm25_seg_parse(mb.data, mb.len, "merged", &merged, &err), &err);
    CHECK_OK(rg_bm25_seg_verify(merged, &err), &err);
    CHECK_EQ_INT(rg_bm25_seg_total_dl(merged), total);
    rg_bm25_part one = {merged, NULL, NULL};
    rg_bm25_qterm q[3] = {{"t1", 2, 1}, {"t5", 2, 1}, {"t77", 3, 2}};
    rg_bm25_stats st = {1.2, 0.75, N, total};
    rg_bm25_result *r = NULL;
    size_t nr = 0;
    CHECK_OK(rg_bm25_search(&one, 1, q, 3, &st, 50, &r, &nr, &err), &err);
    size_t no = oracle(d, n, live, NULL, q, 3, 1.2, 0.75, 50, o);
    CHECK(same(r, nr, o, no));
    rg_bm25_results_free(r, nr);
    rg_bm25_seg_free(merged);
    rg_buf_free(&mb);
    for (size_t p = 0; p < 4; p++) {
        rg_bm25_seg_free(parts[p].seg);
        rg_buf_free(&bytes[p]);
        free(dead[p]);
        free(allow[p]);
    }
    free(o);
    free(live);
    free(ok);
    corpus_free(d, n);
}

/* Every single-bit flip of a small segment: parse, verify and a query
 * either fail with RG_ERR_CORRUPT or give exactly the undamaged answer. */
TEST(bm25_segment_bit_flips_detected)
{
    const size_t n = 300;
    doc *d = corpus(n, 9, 40);
    rg_buf good;
    rg_buf_init(&good);
    rg_bm25_seg *s = build(d, 0, n, &good);
    CHECK(s);
    rg_bm25_qterm q[3] = {{"t0", 2, 1}, {"t3", 2, 1}, {"t17", 3, 1}};
    rg_bm25_stats st = {1.2, 0.75, n, 0};
    for (size_t i = 0; i < n; i++)
        st.total_dl += d[i].dl;
    rg_bm25_part part = {s, NULL, NULL};
    rg_bm25_result *want = NULL;
    size_t nwant = 0;
    rg_error err;
    CHECK_OK(rg_bm25_search(&part, 1, q, 3, &st, 20, &want, &nwant, &err), &err);
    CHECK(nwant == 20);
    rg_bm25_seg_free(s);
    uint8_t *bad = rg_xmalloc(good.len);
    size_t caught = 0, same_answer = 0;
    for (size_t bit = 0; bit < good.len * 8; bit++) {
        memcpy(bad, good.data, good.len);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        rg_bm25_seg *x = NULL;
        rg_status rc = rg_bm25_seg_parse(bad, good.len, "flip", &x, &err);
        rg_bm25_result *r = NULL;
        size_t nr = 0;
        if (rc == RG_OK) {
            part.seg = x;
            rc = rg_bm25_search(&part, 1, q, 3, &st, 20, &r, &nr, &err);
            if (rc == RG_OK) {
                bool eq = nr == nwant;
                for (size_t i = 0; eq && i < nr; i++)
                    eq = !strcmp(r[i].id, want[i].id) && r[i].score == want[i].score;
                CHECK_MSG(eq, "bit %zu flipped: a different answer without an error", bit);
                same_answer++;
                /* Verification reads everything: a flip must show there. */
                rc = rg_bm25_seg_verify(x, &err);
            }
            rg_bm25_results_free(r, nr);
            rg_bm25_seg_free(x);
        }
        CHECK_MSG(rc == RG_ERR_CORRUPT, "bit %zu flipped: not detected (rc %d)", bit, rc);
        caught++;
    }
    fprintf(stderr, "    %zu flips of %zu bytes: all detected (%zu of them after a query that read none of it)\n",
            caught, good.len, same_answer);
    rg_bm25_results_free(want, nwant);
    free(bad);
    rg_buf_free(&good);
    corpus_free(d, n);
}

TEST(bm25_segment_edges)
{
    /* Empty segment, a document without terms, 128/129-document terms. */
    rg_bm25_builder *b = rg_bm25_builder_new();
    rg_buf out;
    rg_buf_init(&out);
    rg_bm25_builder_encode(b, &out);
    rg_bm25_seg *s = NULL;
    rg_error err;
    CHECK_OK(rg_bm25_seg_parse(out.data, out.len, "empty", &s, &err), &err);
    CHECK_OK(rg_bm25_seg_verify(s, &err), &err);
    rg_bm25_cursor c;
    bool found = true;
    CHECK_OK(rg_bm25_seg_term(s, "x", 1, &c, &found, &err), &err);
    CHECK(!found);
    rg_bm25_seg_free(s);
    rg_bm25_builder_free(b);
    b = rg_bm25_builder_new();
    for (int i = 0; i < 129; i++) {
        char id[16];
        snprintf(id, sizeof id, "i%d", i);
        rg_bm25_builder_add(b, id, i == 5 ? "" : i < 128 ? "a b b" : "a", i == 5 ? 0 : i < 128 ? 5 : 1);
    }
    out.len = 0;
    rg_bm25_builder_encode(b, &out);
    rg_bm25_builder_free(b);
    CHECK_OK(rg_bm25_seg_parse(out.data, out.len, "edges", &s, &err), &err);
    CHECK_OK(rg_bm25_seg_verify(s, &err), &err);
    CHECK_OK(rg_bm25_seg_term(s, "a", 1, &c, &found, &err), &err);
    CHECK(found);
    CHECK_EQ_INT(c.df, 128);
    CHECK_OK(rg_bm25_seg_term(s, "b", 1, &c, &found, &err), &err);
    CHECK(found && c.df == 127);
    CHECK_OK(rg_bm25_cursor_decode(&c, &err), &err);
    CHECK_EQ_INT(c.tfs[0], 2);
    const char *id;
    CHECK_OK(rg_bm25_seg_id(s, 128, &id, &err), &err);
    CHECK_EQ_STR(id, "i128");
    uint32_t dl;
    CHECK_OK(rg_bm25_seg_dl(s, 5, &dl, &err), &err);
    CHECK_EQ_INT(dl, 0);
    rg_bm25_seg_free(s);
    /* Truncated and foreign bytes. */
    CHECK(rg_bm25_seg_parse(out.data, out.len - 1, "cut", &s, &err) == RG_ERR_CORRUPT);
    CHECK(rg_bm25_seg_parse("SQLite format 3", 16, "foreign", &s, &err) == RG_ERR_CORRUPT);
    rg_buf_free(&out);
}

/* Round trip of the Rice-coded blocks at every alignment: postings lists of
 * mostly small gaps with rare large ones (long unary runs, up to and past a
 * 64-bit word: the case the 256K-chunk benchmark found) decode to exactly
 * what was added. */
TEST(bm25_postings_round_trip)
{
    uint64_t s = 12345;
    rg_error err;
    for (int round = 0; round < 300; round++) {
        rg_bm25_builder *b = rg_bm25_builder_new();
        uint32_t ndocs = 200 + (uint32_t)(rnd(&s) % 3000);
        bool *has = rg_xcalloc(ndocs, 1);
        uint32_t *tf = rg_xcalloc(ndocs, sizeof *tf);
        for (uint32_t d = 0; d < ndocs; d++) {
            char id[16];
            snprintf(id, sizeof id, "%u", d);
            uint64_t r = rnd(&s) % 100;
            has[d] = r < (uint64_t)(round % 7 == 0 ? 2 : 60);
            tf[d] = has[d] ? (rnd(&s) % 50 == 0 ? 1 + (uint32_t)(rnd(&s) % 300) : 1) : 0;
            rg_buf t;
            rg_buf_init(&t);
            rg_buf_puts(&t, "filler");
            for (uint32_t i = 0; i < tf[d]; i++)
                rg_buf_puts(&t, " x");
            rg_bm25_builder_add(b, id, t.data, t.len);
            rg_buf_free(&t);
        }
        rg_buf out;
        rg_buf_init(&out);
        rg_bm25_builder_encode(b, &out);
        rg_bm25_builder_free(b);
        rg_bm25_seg *seg = NULL;
        CHECK_OK(rg_bm25_seg_parse(out.data, out.len, "rt", &seg, &err), &err);
        CHECK_OK(rg_bm25_seg_verify(seg, &err), &err);
        rg_bm25_cursor c;
        bool found = false;
        CHECK_OK(rg_bm25_seg_term(seg, "x", 1, &c, &found, &err), &err);
        uint32_t want = 0;
        for (uint32_t d = 0; d < ndocs; d++)
            while (want < ndocs && !has[want])
                want++;
        want = 0;
        for (bool more = found; more;) {
            CHECK_OK(rg_bm25_cursor_decode(&c, &err), &err);
            for (uint32_t i = 0; i < c.n; i++) {
                while (want < ndocs && !has[want])
                    want++;
                CHECK_MSG(c.docs[i] == want && c.tfs[i] == tf[want], "round %d: got doc %u tf %u, want %u tf %u",
                          round, c.docs[i], c.tfs[i], want, tf[want]);
                want++;
            }
            CHECK_OK(rg_bm25_cursor_next_block(&c, &more, &err), &err);
        }
        while (want < ndocs && !has[want])
            want++;
        CHECK_EQ_INT(want, ndocs);
        rg_bm25_seg_free(seg);
        rg_buf_free(&out);
        free(has);
        free(tf);
    }
}
