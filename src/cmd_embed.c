/* `ragged embed TEXT` and `ragged model info PATH`: look at what an embedder
 * produces and at a model directory without building a collection. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_int8.h"
#include "bert_model.h"
#include "cli.h"
#include "util.h"

int rg_cmd_embed(rg_cli *cli, int argc, char **argv);
int rg_cmd_model(rg_cli *cli, int argc, char **argv);

static const char EMBED_HELP[] =
    "usage: ragged embed TEXT [--model PATH] [--query] [--precision fp32|int8] [--format json]\n\n"
    "Embeds one text with the configured embedder (embedding.provider) or, with --model,\n"
    "with the native BERT engine on a sentence-transformers model directory.  Prints the\n"
    "dimension, the norm and the first values; --format json prints the whole vector.\n\n"
    "  --model PATH         sentence-transformers directory (implies embedding.provider: bert)\n"
    "  --query              embed as a query (applies embedding.query_prefix)\n"
    "  --precision P        fp32 or int8 (default: embedding.precision)\n\n" RG_CLI_COMMON_HELP;

int rg_cmd_embed(rg_cli *cli, int argc, char **argv)
{
    enum { OPT_MODEL = 2001, OPT_QUERY, OPT_PRECISION };
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS,
                                         {"model", required_argument, NULL, OPT_MODEL},
                                         {"query", no_argument, NULL, OPT_QUERY},
                                         {"precision", required_argument, NULL, OPT_PRECISION},
                                         {0}};
    const char *model = NULL, *precision = NULL;
    bool query = false;
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(EMBED_HELP, stdout);
            return 0;
        }
        if (c == OPT_MODEL)
            model = optarg;
        else if (c == OPT_QUERY)
            query = true;
        else if (c == OPT_PRECISION)
            precision = optarg;
        else if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind + 1 != argc)
        return rg_cli_usage_error(cli, "embed needs exactly one TEXT argument (quote it)");
    const char *text = argv[optind];
    if (precision && strcmp(precision, "fp32") != 0 && strcmp(precision, "int8") != 0)
        return rg_cli_usage_error(cli, "--precision must be fp32 or int8, not '%s'", precision);
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 1;
    rg_error err = {0};
    rg_embedder *e = NULL;
    rg_status st;
    if (model) {
        const char *p = precision ? precision : rg_config_str(cfg, "embedding.precision");
        rg_bert_model_opts o = {.threads = (int)rg_config_int(cfg, "embedding.threads"),
                                .precision = strcmp(p, "int8") == 0 ? RG_BERT_INT8 : RG_BERT_FP32};
        st = rg_embedder_bert_open_path(model, &o, rg_config_str(cfg, "embedding.query_prefix"),
                                        rg_config_str(cfg, "embedding.document_prefix"),
                                        (int)rg_config_int(cfg, "embedding.batch_size"), &e, &err);
    } else {
        if (precision && (st = rg_config_set(cfg, "embedding.precision", precision, RG_SRC_FLAG, &err)) != RG_OK)
            return rg_cli_fail(cli, &err);
        st = rg_embedder_open(cfg, &e, &err);
    }
    if (st != RG_OK)
        return rg_cli_fail(cli, &err);
    int dim = e->identity.dim;
    float *v = rg_xmalloc((size_t)dim * sizeof *v);
    const char *texts[1] = {text};
    double t0 = rg_now();
    st = rg_embedder_embed(e, texts, 1, query ? RG_EMBED_QUERY : RG_EMBED_DOCUMENT, v, &err);
    double ms = (rg_now() - t0) * 1000;
    if (st != RG_OK) {
        free(v);
        rg_embedder_free(e);
        return rg_cli_fail(cli, &err);
    }
    double norm = 0;
    for (int i = 0; i < dim; i++)
        norm += (double)v[i] * v[i];
    norm = sqrt(norm);
    size_t tokens = rg_embedder_count_tokens(e, text, strlen(text));
    char id[512];
    rg_embedder_identity_format(&e->identity, id, sizeof id);
    if (cli->format == RG_FORMAT_JSON) {
        json_t *o = json_object(), *arr = json_array();
        for (int i = 0; i < dim; i++)
            json_array_append_new(arr, json_real(v[i]));
        json_object_set_new(o, "embedder", json_string(id));
        json_object_set_new(o, "role", json_string(query ? "query" : "document"));
        json_object_set_new(o, "dim", json_integer(dim));
        json_object_set_new(o, "norm", json_real(norm));
        json_object_set_new(o, "tokens", json_integer((json_int_t)tokens));
        json_object_set_new(o, "max_tokens", json_integer(e->max_tokens));
        json_object_set_new(o, "milliseconds", json_real(ms));
        json_object_set_new(o, "vector", arr);
        rg_cli_print_json(o);
    } else {
        printf("embedder   %s\n", id);
        printf("role       %s\n", query ? "query" : "document");
        printf("dimension  %d\n", dim);
        printf("norm       %.6f\n", norm);
        printf("tokens     %zu (model reads at most %d, including [CLS] and [SEP])\n", tokens, e->max_tokens);
        printf("time       %.2f ms\n", ms);
        printf("first      ");
        for (int i = 0; i < dim && i < 8; i++)
            printf("%s%.6f", i ? " " : "", v[i]);
        printf("%s\n", dim > 8 ? " ..." : "");
    }
    free(v);
    rg_embedder_free(e);
    return 0;
}

static const char MODEL_HELP[] =
    "usage: ragged model info PATH [--format json]\n\n"
    "Describes a sentence-transformers model directory as ragged's bert engine reads it:\n"
    "architecture, kind (bi-encoder for embedding.model, cross-encoder for\n"
    "retrieval.rerank.model), tokenizer (WordPiece or Unigram), dimensions, layers,\n"
    "vocabulary, pooling, max tokens, parameters, files.\n\n" RG_CLI_COMMON_HELP;

static int64_t file_size(const char *dir, const char *name)
{
    char *p = rg_path_join(dir, name);
    int64_t n = rg_path_exists(p) ? rg_dir_size(p) : -1;
    free(p);
    return n;
}

int rg_cmd_model(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {0}};
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(MODEL_HELP, stdout);
            return 0;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind + 2 != argc || strcmp(argv[optind], "info") != 0)
        return rg_cli_usage_error(cli, "usage: ragged model info PATH");
    const char *dir = argv[optind + 1];
    rg_bert_info in;
    rg_error err = {0};
    if (rg_bert_model_inspect(dir, &in, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    static const char *files[] = {"model.safetensors", "vocab.txt", "tokenizer.json", "config.json"};
    if (cli->format == RG_FORMAT_JSON) {
        json_t *o = json_object(), *fs = json_object();
        json_object_set_new(o, "path", json_string(dir));
        json_object_set_new(o, "architecture", json_string(in.architecture));
        json_object_set_new(o, "family", json_string(rg_bert_family_name(in.family)));
        json_object_set_new(o, "kind", json_string(rg_bert_kind_name(in.kind)));
        json_object_set_new(o, "tokenizer", json_string(rg_bert_tok_kind_name(in.tokenizer)));
        json_object_set_new(o, "position_offset", json_integer(in.position_offset));
        json_object_set_new(o, "token_types", json_integer(in.type_vocab));
        if (in.kind == RG_BERT_CROSS_ENCODER) {
            json_object_set_new(o, "num_labels", json_integer(in.num_labels));
            json_object_set_new(o, "score", json_string(in.num_labels == 1 ? "logit" : in.score_label_name));
            json_object_set_new(o, "use", json_string("retrieval.rerank.model (reranker)"));
        } else {
            json_object_set_new(o, "use", json_string("embedding.model (embedding.provider: bert)"));
        }
        json_object_set_new(o, "dim", json_integer(in.hidden));
        json_object_set_new(o, "layers", json_integer(in.layers));
        json_object_set_new(o, "heads", json_integer(in.heads));
        json_object_set_new(o, "intermediate", json_integer(in.intermediate));
        json_object_set_new(o, "vocab_size", json_integer(in.vocab_size));
        json_object_set_new(o, "vocab_tokens", json_integer((json_int_t)in.vocab_tokens));
        if (in.kind == RG_BERT_BI_ENCODER)
            json_object_set_new(o, "pooling", json_string(rg_bert_pooling_name(in.pooling)));
        json_object_set_new(o, "normalize", json_boolean(in.normalize));
        json_object_set_new(o, "max_tokens", json_integer(in.max_seq_length));
        json_object_set_new(o, "lower_case", json_boolean(in.lower_case));
        json_object_set_new(o, "parameters", json_integer(in.parameters));
        json_object_set_new(o, "weights_dtype", json_string(in.weights_dtype));
        json_object_set_new(o, "fingerprint", json_string(in.fingerprint));
        json_object_set_new(o, "int8_kernel", json_string(rg_int8_kernel_name()));
        for (size_t i = 0; i < RG_ARRAY_LEN(files); i++) {
            int64_t n = file_size(dir, files[i]);
            if (n >= 0)
                json_object_set_new(fs, files[i], json_integer(n));
        }
        json_object_set_new(o, "files", fs);
        rg_cli_print_json(o);
        return 0;
    }
    printf("path          %s\n", dir);
    printf("architecture  %s\n", in.architecture);
    printf("kind          %s (%s family; use as %s)\n", rg_bert_kind_name(in.kind), rg_bert_family_name(in.family),
           in.kind == RG_BERT_CROSS_ENCODER ? "retrieval.rerank.model" : "embedding.model");
    printf("tokenizer     %s (%s; positions from %d, %d token type%s)\n", rg_bert_tok_kind_name(in.tokenizer),
           in.tokenizer == RG_BERT_TOK_UNIGRAM ? "SentencePiece Unigram from tokenizer.json" : "BERT WordPiece",
           in.position_offset, in.type_vocab, in.type_vocab == 1 ? "" : "s");
    if (in.kind == RG_BERT_CROSS_ENCODER)
        printf("score         %s\n", in.num_labels == 1 ? "logit of the single output"
                                                        : "probability of the last label");
    if (in.kind == RG_BERT_CROSS_ENCODER && in.num_labels > 1)
        printf("labels        %d (ranking by '%s')\n", in.num_labels, in.score_label_name);
    printf("dimension     %d\n", in.hidden);
    printf("layers        %d (heads %d, feed-forward %d)\n", in.layers, in.heads, in.intermediate);
    printf("vocabulary    %zu tokens (config vocab_size %d, %s)\n", in.vocab_tokens, in.vocab_size,
           in.lower_case ? "uncased" : "cased");
    if (in.kind == RG_BERT_BI_ENCODER)
        printf("pooling       %s%s\n", rg_bert_pooling_name(in.pooling), in.normalize ? " + normalize" : "");
    printf("max tokens    %d\n", in.max_seq_length);
    printf("parameters    %lld (%s weights)\n", (long long)in.parameters, in.weights_dtype);
    printf("int8 kernel   %s\n", rg_int8_kernel_name());
    printf("fingerprint   %.16s\n", in.fingerprint);
    for (size_t i = 0; i < RG_ARRAY_LEN(files); i++) {
        int64_t n = file_size(dir, files[i]);
        if (n >= 0)
            printf("file          %-18s %lld bytes\n", files[i], (long long)n);
    }
    return 0;
}
