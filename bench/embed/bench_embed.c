/* Benchmark driver for the native BERT engine (built by bench/embed/run.py
 * against build/libragged.a).
 *
 *   bench_embed speed MODEL_DIR fp32|int8 THREADS SEQ_LEN BATCH MIN_SECONDS
 *       -> "passages_per_s=... seconds_per_batch=... batches=..."
 *   bench_embed latency MODEL_DIR fp32|int8 THREADS SEQ_LEN RUNS
 *       -> "median_ms=... p90_ms=..."
 *   bench_embed dump MODEL_DIR fp32|int8 THREADS IDS_FILE
 *       -> one embedding per line for the id sequences in IDS_FILE
 *
 * Inputs are token ids (the same for ragged and the PyTorch peer), so the
 * numbers measure the model, not the tokenizer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_int8.h"
#include "bert_model.h"
#include "util.h"

static rg_bert_model *open_model(const char *dir, const char *prec, int threads)
{
    rg_bert_model_opts o = {.threads = threads,
                            .precision = strcmp(prec, "int8") == 0 ? RG_BERT_INT8 : RG_BERT_FP32};
    rg_bert_model *m;
    rg_error err = {0};
    if (rg_bert_model_open(dir, &o, &m, &err) != RG_OK) {
        fprintf(stderr, "bench_embed: %s\n", err.msg);
        exit(1);
    }
    return m;
}

static int32_t **make_batch(int batch, int len, uint64_t seed)
{
    int32_t **ids = rg_xmalloc((size_t)batch * sizeof *ids);
    for (int b = 0; b < batch; b++) {
        ids[b] = rg_xmalloc((size_t)len * sizeof **ids);
        ids[b][0] = 101;
        for (int i = 1; i < len - 1; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            ids[b][i] = 1000 + (int32_t)((seed >> 33) % 29000);
        }
        ids[b][len - 1] = 102;
    }
    return ids;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: see the comment at the top of bench_embed.c\n");
        return 2;
    }
    const char *mode = argv[1];
    rg_bert_model *m = open_model(argv[2], argv[3], atoi(argv[4]));
    int H = rg_bert_model_info(m)->hidden;
    rg_error err = {0};
    if (strcmp(mode, "speed") == 0 && argc == 8) {
        int len = atoi(argv[5]), batch = atoi(argv[6]);
        double min_s = atof(argv[7]);
        int32_t **ids = make_batch(batch, len, 42);
        int *lens = rg_xmalloc((size_t)batch * sizeof *lens);
        for (int b = 0; b < batch; b++)
            lens[b] = len;
        float *out = rg_xmalloc((size_t)batch * H * sizeof *out);
        rg_bert_model_encode_ids(m, (const int32_t *const *)ids, lens, (size_t)batch, out, &err); /* warm-up */
        int n = 0;
        double t0 = rg_now(), t;
        do {
            if (rg_bert_model_encode_ids(m, (const int32_t *const *)ids, lens, (size_t)batch, out, &err) != RG_OK) {
                fprintf(stderr, "bench_embed: %s\n", err.msg);
                return 1;
            }
            n++;
            t = rg_now() - t0;
        } while (t < min_s || n < 3);
        printf("passages_per_s=%.2f seconds_per_batch=%.5f batches=%d kernel=%s\n", n * batch / t, t / n, n,
               rg_int8_kernel_name());
    } else if (strcmp(mode, "latency") == 0 && argc == 7) {
        int len = atoi(argv[5]), runs = atoi(argv[6]);
        int32_t **ids = make_batch(1, len, 7);
        float out[4096];
        double *ts = rg_xmalloc((size_t)runs * sizeof *ts);
        rg_bert_model_encode_ids(m, (const int32_t *const *)ids, &len, 1, out, &err);
        for (int r = 0; r < runs; r++) {
            double t0 = rg_now();
            rg_bert_model_encode_ids(m, (const int32_t *const *)ids, &len, 1, out, &err);
            ts[r] = (rg_now() - t0) * 1000;
        }
        qsort(ts, (size_t)runs, sizeof *ts, cmp_double);
        printf("median_ms=%.3f p90_ms=%.3f\n", ts[runs / 2], ts[runs * 9 / 10]);
    } else if (strcmp(mode, "dump") == 0 && argc == 6) {
        FILE *f = fopen(argv[5], "r");
        char line[65536];
        while (f && fgets(line, sizeof line, f)) {
            int32_t ids[1024];
            int n = 0;
            for (char *p = strtok(line, " \n"); p && n < 1024; p = strtok(NULL, " \n"))
                ids[n++] = atoi(p);
            const int32_t *ptr = ids;
            float out[4096];
            if (rg_bert_model_encode_ids(m, &ptr, &n, 1, out, &err) != RG_OK) {
                fprintf(stderr, "bench_embed: %s\n", err.msg);
                return 1;
            }
            for (int i = 0; i < H; i++)
                printf("%s%.7g", i ? " " : "", out[i]);
            printf("\n");
        }
        if (f)
            fclose(f);
    } else {
        fprintf(stderr, "bench_embed: bad arguments\n");
        return 2;
    }
    rg_bert_model_free(m);
    return 0;
}
