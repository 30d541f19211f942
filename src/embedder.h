/* Embedders turn text into dense, L2-normalised vectors.
 *
 * Providers: `builtin` (model-free hashed features, no download), `bert`
 * (native sentence-transformers engine), `ollama`, `openai`.  Each provider
 * is one file implementing rg_embedder_ops; rg_embedder_open picks one from
 * the config.  The identity is recorded in every collection so a store is
 * never queried with vectors from a different model. */
#ifndef RG_EMBEDDER_H
#define RG_EMBEDDER_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct rg_config;

/* 2: rg_embedder_identity gained `settings` (the layout of rg_embedder changed). */
#define RG_EMBEDDER_ABI 2

typedef enum rg_embed_role {
    RG_EMBED_DOCUMENT = 0,   /* passages being stored */
    RG_EMBED_QUERY = 1       /* search queries (some models prefix these) */
} rg_embed_role;

/* What produced a vector.  Two embedders with equal identities produce the
 * same vectors for the same text. */
typedef struct rg_embedder_identity {
    char kind[32];           /* provider: builtin, bert, ollama, openai */
    char model[256];         /* model name or path basename */
    int dim;
    char fingerprint[65];    /* hex digest of everything that changes vectors */
    /* How to open this embedder again: compact JSON of the embedding.*
     * settings that pick it (provider, model path or name, dimension,
     * precision, prefixes, URL, the *name* of the API key variable: never
     * a key).  Stored with the collection so `query` works without
     * repeating the flags; "" for collections made before it existed or
     * when it would not fit.  Not part of equality: the URL can change. */
    char settings[1024];
} rg_embedder_identity;

typedef struct rg_embedder_ops {
    int abi_version;         /* RG_EMBEDDER_ABI */
    const char *name;
    /* Embeds n texts; out receives n * dim floats, each row L2-normalised. */
    rg_status (*embed)(void *impl, const char *const *texts, size_t n,
                       rg_embed_role role, float *out, rg_error *err);
    /* Number of model tokens the text would use (without special tokens).
     * NULL: the generic word-piece estimate in chunker.c is used. */
    size_t (*count_tokens)(void *impl, const char *text, size_t len);
    void (*free)(void *impl);
} rg_embedder_ops;

typedef struct rg_embedder {
    const rg_embedder_ops *ops;
    void *impl;
    rg_embedder_identity identity;
    int max_tokens;          /* longest input the model reads (incl. specials) */
    int batch_size;          /* preferred batch size */
} rg_embedder;

/* Opens the provider named by `embedding.provider`. */
rg_status rg_embedder_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err);
void rg_embedder_free(rg_embedder *e);

/* Convenience wrappers that batch by e->batch_size. */
rg_status rg_embedder_embed(rg_embedder *e, const char *const *texts, size_t n,
                            rg_embed_role role, float *out, rg_error *err);
size_t rg_embedder_count_tokens(rg_embedder *e, const char *text, size_t len);

/* Equality of identities; on mismatch fills err with both identities and
 * the fix. */
rg_status rg_embedder_identity_check(const rg_embedder_identity *stored,
                                     const rg_embedder_identity *active,
                                     const char *collection, rg_error *err);
/* "kind:model:dim:fingerprint8" for messages and stats. */
void rg_embedder_identity_format(const rg_embedder_identity *id, char *buf, size_t n);

/* Identity as compact JSON text (stored by backends) and back. */
char *rg_embedder_identity_to_text(const rg_embedder_identity *id);
/* As a JSON object (for --format json output); new reference. */
struct json_t;
struct json_t *rg_embedder_identity_to_json(const rg_embedder_identity *id);
rg_status rg_embedder_identity_from_text(const char *text, rg_embedder_identity *id);

/* The embedding.* settings of a collection's identity applied to cfg for
 * every key cfg leaves at its default (source RG_SRC_COLLECTION): what
 * the user set explicitly wins.  Returns how many were applied. */
int rg_embedder_settings_apply(const rg_embedder_identity *stored, struct rg_config *cfg);
/* After a failed identity check: the settings of cfg that differ from the
 * collection's and were set explicitly, as "embedding.KEY=VALUE (ORIGIN)"
 * lines joined by "; ", into buf ("" if none). */
void rg_embedder_settings_conflicts(const rg_embedder_identity *stored, const struct rg_config *cfg, char *buf,
                                    size_t n);

/* Provider constructors (each in its own file). */
rg_status rg_embedder_builtin_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err);
rg_status rg_embedder_bert_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err);
rg_status rg_embedder_remote_open(const struct rg_config *cfg, rg_embedder **out, rg_error *err);

/* Used by providers: allocates the rg_embedder shell. */
rg_embedder *rg_embedder_new(const rg_embedder_ops *ops, void *impl);

#endif
