/* Answers benchmark (bench/answers/run.sh):
 *   tokens CORPUS.jsonl VOCAB.txt   prompt token estimate vs WordPiece count per SciFact document
 *   streams DIR N                   writes an N-delta NDJSON and SSE stream to DIR and times the
 *                                   C parsers over them (the Python peer reads the same files) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "bert_tokenizer.h"
#include "llm.h"
#include "util.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int tokens(const char *corpus, const char *vocab)
{
    rg_error err;
    rg_bert_tokenizer *tok;
    rg_bert_tokenizer_opts o = rg_bert_tokenizer_default_opts();
    if (rg_bert_tokenizer_load(vocab, &o, &tok, &err) != RG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    FILE *f = fopen(corpus, "r");
    if (!f) {
        perror(corpus);
        return 1;
    }
    size_t n = 0, cap = 8192, under = 0;
    double *ratio = rg_xmalloc(cap * sizeof *ratio), sum_est = 0, sum_wp = 0, sum_words = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        char *doc = rg_xasprintf("%s %s", json_string_value(json_object_get(j, "title")),
                                 json_string_value(json_object_get(j, "text")));
        json_decref(j);
        size_t len = strlen(doc);
        double est = (double)rg_answer_count_tokens(doc, len);
        double wp = (double)rg_bert_tokenize(tok, doc, len, NULL, 0);
        size_t words = 0;
        for (size_t i = 0; i < len; i++)
            if ((i == 0 || doc[i - 1] == ' ') && doc[i] != ' ')
                words++;
        free(doc);
        if (wp == 0)
            continue;
        if (n == cap)
            ratio = rg_xrealloc(ratio, (cap *= 2) * sizeof *ratio);
        ratio[n++] = est / wp;
        under += est < wp;
        sum_est += est;
        sum_wp += wp;
        sum_words += (double)words;
    }
    free(line);
    fclose(f);
    qsort(ratio, n, sizeof *ratio, cmp_double);
    printf("| documents | estimate / WordPiece: total | p1 | p5 | median | p95 | documents estimated below WordPiece | estimate tokens per word | WordPiece tokens per word |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    printf("| %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %zu (%.2f %%) | %.2f | %.2f |\n", n, sum_est / sum_wp,
           ratio[n / 100], ratio[n / 20], ratio[n / 2], ratio[n * 95 / 100], under, 100.0 * (double)under / (double)n,
           sum_est / sum_words, sum_wp / sum_words);
    free(ratio);
    rg_bert_tokenizer_free(tok);
    return 0;
}

typedef struct {
    size_t bytes;
} counter;

static bool count_text(void *ctx, const char *t, size_t n)
{
    ((counter *)ctx)->bytes += n;
    return true;
}

static int streams(const char *dir, long n)
{
    static const char *const words[] = {" the", " database", " is", " backed", " up", " every", " night", " [1]",
                                        ".", " Copies", " are", " kept", " offsite", " \xc3\xa9t\xc3\xa9", ","};
    rg_buf nd, sse;
    rg_buf_init(&nd);
    rg_buf_init(&sse);
    size_t content = 0;
    for (long i = 0; i < n; i++) {
        const char *w = words[(size_t)i % RG_ARRAY_LEN(words)];
        content += strlen(w);
        rg_buf_printf(&nd,
                      "{\"model\":\"llama3.2\",\"created_at\":\"2026-01-01T00:00:00.%06ldZ\",\"message\":{\"role\":"
                      "\"assistant\",\"content\":\"%s\"},\"done\":false}\n",
                      i % 1000000, w);
        rg_buf_printf(&sse,
                      "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,"
                      "\"model\":\"llama3.2\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
                      "\"finish_reason\":null}]}\n\n",
                      w);
    }
    rg_buf_puts(&nd, "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true}\n");
    rg_buf_puts(&sse, "data: [DONE]\n\n");
    rg_error err;
    char *p1 = rg_path_join(dir, "stream.ndjson"), *p2 = rg_path_join(dir, "stream.sse");
    if (rg_write_file_atomic(p1, nd.data, nd.len, &err) != RG_OK ||
        rg_write_file_atomic(p2, sse.data, sse.len, &err) != RG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    free(p1);
    free(p2);
    struct {
        const char *name;
        rg_llm_format f;
        rg_buf *b;
    } runs[] = {{"ndjson", RG_LLM_OLLAMA, &nd}, {"sse", RG_LLM_OPENAI, &sse}};
    for (size_t r = 0; r < 2; r++) {
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            counter c = {0};
            double t0 = rg_now();
            rg_llm_stream *s = rg_llm_stream_new(runs[r].f, count_text, &c);
            /* network-sized pieces */
            for (size_t off = 0; off < runs[r].b->len; off += 1400)
                rg_llm_stream_feed(s, runs[r].b->data + off, RG_MIN((size_t)1400, runs[r].b->len - off));
            rg_status st = rg_llm_stream_finish(s, &err);
            double dt = rg_now() - t0;
            rg_llm_stream_free(s);
            if (st != RG_OK || c.bytes != content) {
                fprintf(stderr, "%s: parse failed (%s), %zu of %zu content bytes\n", runs[r].name, err.msg, c.bytes,
                        content);
                return 1;
            }
            best = RG_MIN(best, dt);
        }
        printf("%s %zu %ld %.6f\n", runs[r].name, runs[r].b->len, n, best);
    }
    rg_buf_free(&nd);
    rg_buf_free(&sse);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "tokens") == 0)
        return tokens(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "streams") == 0)
        return streams(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: bench_answers tokens CORPUS.jsonl VOCAB.txt | streams DIR N\n");
    return 2;
}
