/* Configuration: a schema of typed keys (config_schema.c), values layered
 * defaults < file < environment (RAGGED_*) < command-line flags, and the
 * source of every value for `ragged config show`. */
#ifndef RG_CONFIG_H
#define RG_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include "error.h"

typedef enum rg_config_type {
    RG_CFG_STRING,
    RG_CFG_PATH,      /* string; relative paths resolve against the defining file's directory */
    RG_CFG_INT,
    RG_CFG_FLOAT,
    RG_CFG_BOOL,
    RG_CFG_ENUM       /* string from `choices` */
} rg_config_type;

typedef enum rg_config_source {
    RG_SRC_DEFAULT,
    RG_SRC_FILE,
    RG_SRC_ENV,
    RG_SRC_FLAG,
    RG_SRC_COLLECTION   /* embedding.* settings recorded with the collection in use (embedder.h) */
} rg_config_source;

typedef struct rg_config_key {
    const char *key;          /* dotted path, e.g. "vectorstore.leann.graph_degree" */
    rg_config_type type;
    const char *default_value;/* as text; "" for empty. Paths may start with $XDG_DATA_HOME */
    const char *choices;      /* enum: "a|b|c" */
    double min, max;          /* int/float range (inclusive) */
    const char *help;
} rg_config_key;

/* The schema, NULL-key terminated. */
extern const rg_config_key rg_config_schema[];

typedef struct rg_config rg_config;

/* Defaults + file (explicit path, else $RAGGED_CONFIG, ./ragged.yml,
 * $XDG_CONFIG_HOME/ragged/config.yml) + environment. */
rg_status rg_config_load(const char *explicit_path, rg_config **out, rg_error *err);
rg_config *rg_config_new_defaults(void);
/* Loads one YAML file on top of the current values. */
rg_status rg_config_load_file(rg_config *cfg, const char *path, rg_error *err);
rg_status rg_config_apply_env(rg_config *cfg, rg_error *err);
/* Sets a value from text (validated) with the given source. */
rg_status rg_config_set(rg_config *cfg, const char *key, const char *value, rg_config_source src,
                        rg_error *err);
rg_config *rg_config_clone(const rg_config *cfg);
void rg_config_free(rg_config *cfg);

/* Getters abort on an unknown key (a programming error, not user input). */
const char *rg_config_str(const rg_config *cfg, const char *key);
int64_t rg_config_int(const rg_config *cfg, const char *key);
double rg_config_float(const rg_config *cfg, const char *key);
bool rg_config_bool(const rg_config *cfg, const char *key);
rg_config_source rg_config_source_of(const rg_config *cfg, const char *key);
const char *rg_config_origin(const rg_config *cfg, const char *key); /* "default", "file:PATH:LINE", "env:NAME", "flag" */
const char *rg_config_file_path(const rg_config *cfg);               /* file loaded, or NULL */

/* Environment variable name of a key: RAGGED_ + upper(key with '.' -> '_'). */
void rg_config_env_name(const char *key, char *buf, size_t n);

/* {"key": value, ...} nested as YAML would be; with_origin adds an
 * "origins" map. */
json_t *rg_config_to_json(const rg_config *cfg, bool with_origin);
/* YAML text of the effective config with comments (config init / show). */
char *rg_config_to_yaml(const rg_config *cfg, bool with_origin);

#endif
