/* Benchmark driver for cross-encoder reranking and XLM-R throughput (built
 * by bench/rerank/run.py against build/libragged.a).
 *
 *   bench_rerank rerank MODEL_DIR fp32|int8|bf16 THREADS TEXTS_FILE RUNS
 *       TEXTS_FILE: the query on line 1, one passage per following line.
 *       -> "median_s=... min_s=... cpu_s=... tokens=..." for reranking all
 *          passages (tokenization included), then one score per line
 *   bench_rerank pairs MODEL_DIR fp32|int8|bf16 THREADS IDS_FILE RUNS
 *       IDS_FILE: one pair per line as token ids ([CLS] q [SEP] p [SEP]);
 *       token type 1 after the first [SEP].  Same inputs as the PyTorch
 *       peer: -> "median_s=..." then one score per line
 *   bench_rerank embed MODEL_DIR fp32|int8 THREADS SEQ_LEN BATCH MIN_SECONDS
 *       -> "passages_per_s=... passages_per_cpu_s=..." on random ids below 30000 (bi-encoders) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "bert_model.h"
#include "util.h"

static rg_bert_model *open_model(const char *dir, const char *prec, int threads)
{
    rg_bert_model_opts o = {.threads = threads};
    if (!rg_bert_precision_parse(prec, &o.precision)) {
        fprintf(stderr, "bench_rerank: precision %s is not fp32, int8 or bf16\n", prec);
        exit(2);
    }
    rg_bert_model *m;
    rg_error err = {0};
    if (rg_bert_model_open(dir, &o, &m, &err) != RG_OK) {
        fprintf(stderr, "bench_rerank: %s\n", err.msg);
        exit(1);
    }
    return m;
}

static char **read_lines(const char *path, size_t *n)
{
    char *data;
    size_t len;
    rg_error err = {0};
    if (rg_read_file(path, (size_t)1 << 30, &data, &len, &err) != RG_OK) {
        fprintf(stderr, "bench_rerank: %s\n", err.msg);
        exit(1);
    }
    char **lines = NULL;
    size_t cap = 0;
    *n = 0;
    for (char *save = NULL, *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            lines = rg_xrealloc(lines, cap * sizeof *lines);
        }
        lines[(*n)++] = rg_xstrdup(l);
    }
    free(data);
    return lines;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: see the comment at the top of bench_rerank.c\n");
        return 2;
    }
    rg_bert_model *m = open_model(argv[2], argv[3], atoi(argv[4]));
    rg_error err = {0};
    if (!strcmp(argv[1], "embed")) {
        int L = atoi(argv[5]), B = atoi(argv[6]);
        double secs = argc > 7 ? atof(argv[7]) : 2;
        int H = rg_bert_model_info(m)->hidden;
        int32_t **ids = rg_xmalloc((size_t)B * sizeof *ids);
        int *lens = rg_xmalloc((size_t)B * sizeof *lens);
        uint64_t seed = 42;
        for (int b = 0; b < B; b++) {
            ids[b] = rg_xmalloc((size_t)L * sizeof **ids);
            for (int i = 0; i < L; i++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                ids[b][i] = 5 + (int32_t)((seed >> 33) % 29000);
            }
            lens[b] = L;
        }
        float *out = rg_xmalloc((size_t)B * H * sizeof *out);
        rg_bert_model_encode_ids(m, (const int32_t *const *)ids, lens, (size_t)B, out, &err);
        int n = 0;
        double t0 = rg_now(), el, cpu0 = cpu_seconds();
        do {
            if (rg_bert_model_encode_ids(m, (const int32_t *const *)ids, lens, (size_t)B, out, &err) != RG_OK) {
                fprintf(stderr, "bench_rerank: %s\n", err.msg);
                return 1;
            }
            n++;
            el = rg_now() - t0;
        } while (el < secs || n < 3);
        /* Per CPU second too: on a shared machine the wall rate follows the
         * other jobs, the CPU rate much less. */
        printf("passages_per_s=%.2f passages_per_cpu_s=%.2f\n", (double)n * B / el,
               (double)n * B / (cpu_seconds() - cpu0));
        return 0;
    }
    size_t nl;
    char **lines = read_lines(argv[5], &nl);
    int runs = atoi(argv[6]);
    size_t np = 0;
    float *scores = NULL;
    double *ts = rg_xmalloc((size_t)runs * sizeof *ts), c0 = 0, c1 = 0;
    long tokens = 0;
    if (!strcmp(argv[1], "rerank")) {
        np = nl - 1;
        scores = rg_xmalloc(np * sizeof *scores);
        int32_t *row = rg_xmalloc(4096 * sizeof *row);
        uint8_t *ty = rg_xmalloc(4096);
        for (size_t i = 0; i < np; i++)
            tokens += rg_bert_model_pair_ids(m, lines[0], lines[i + 1], row, ty);
        free(row);
        free(ty);
        rg_bert_model_score(m, lines[0], (const char *const *)lines + 1, np, 64, scores, &err); /* warm-up */
        c0 = cpu_seconds();
        for (int r = 0; r < runs; r++) {
            double t0 = rg_now();
            if (rg_bert_model_score(m, lines[0], (const char *const *)lines + 1, np, 64, scores, &err) != RG_OK) {
                fprintf(stderr, "bench_rerank: %s\n", err.msg);
                return 1;
            }
            ts[r] = rg_now() - t0;
        }
        c1 = cpu_seconds();
    } else {
        np = nl;
        int32_t **ids = rg_xmalloc(np * sizeof *ids);
        uint8_t **types = rg_xmalloc(np * sizeof *types);
        int *lens = rg_xmalloc(np * sizeof *lens);
        for (size_t i = 0; i < np; i++) {
            ids[i] = rg_xmalloc(4096 * sizeof **ids);
            types[i] = rg_xmalloc(4096);
            int k = 0, sep = 0;
            for (char *save = NULL, *t = strtok_r(lines[i], " ", &save); t && k < 4096; t = strtok_r(NULL, " ", &save)) {
                ids[i][k] = atoi(t);
                types[i][k] = sep ? 1 : 0;
                sep = sep || ids[i][k] == 102;
                k++;
            }
            lens[i] = k;
            tokens += k;
        }
        scores = rg_xmalloc(np * sizeof *scores);
        rg_bert_model_run_ids(m, (const int32_t *const *)ids, (const uint8_t *const *)types, lens, np, scores, &err);
        c0 = cpu_seconds();
        for (int r = 0; r < runs; r++) {
            double t0 = rg_now();
            if (rg_bert_model_run_ids(m, (const int32_t *const *)ids, (const uint8_t *const *)types, lens, np, scores,
                                      &err) != RG_OK) {
                fprintf(stderr, "bench_rerank: %s\n", err.msg);
                return 1;
            }
            ts[r] = rg_now() - t0;
        }
        c1 = cpu_seconds();
    }
    qsort(ts, (size_t)runs, sizeof *ts, cmp_double);
    printf("median_s=%.4f min_s=%.4f cpu_s=%.4f tokens=%ld\n", ts[runs / 2], ts[0], (c1 - c0) / runs, tokens);
    for (size_t i = 0; i < np; i++)
        printf("%.7g\n", scores[i]);
    return 0;
}
