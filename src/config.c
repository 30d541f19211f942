/* Layered configuration: defaults < YAML file < RAGGED_* environment <
 * command-line flags.  Values are validated against rg_config_schema when
 * they are set, so every later getter can trust them. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "util.h"

typedef struct config_value {
    const rg_config_key *key;
    char *text;             /* canonical text form */
    int64_t i;
    double f;
    bool b;
    rg_config_source source;
    char *origin;
} config_value;

struct rg_config {
    size_t n;
    config_value *values;
    char *file_path;
};

static size_t schema_len(void)
{
    size_t n = 0;
    while (rg_config_schema[n].key)
        n++;
    return n;
}

static config_value *find_value(const rg_config *cfg, const char *key)
{
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->values[i].key->key, key) == 0)
            return &cfg->values[i];
    return NULL;
}

static config_value *must_find(const rg_config *cfg, const char *key)
{
    config_value *v = find_value(cfg, key);
    if (!v) {
        fprintf(stderr, "ragged: internal error: unknown configuration key '%s'\n", key);
        abort();
    }
    return v;
}

/* ---- "did you mean" ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 128 || lb > 128)
        return SIZE_MAX;
    size_t prev[129], cur[129];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = RG_MIN(sub, RG_MIN(del, ins));
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

/* Nearest known key or section name ("vectorstore.leann"), for "did you
 * mean"; buf receives it. */
static const char *closest_key(const char *key, char *buf, size_t n)
{
    size_t best_d = SIZE_MAX;
    for (const rg_config_key *k = rg_config_schema; k->key; k++) {
        for (const char *p = k->key;; p++) {
            if (*p != '.' && *p != '\0')
                continue;
            char cand[256];
            snprintf(cand, sizeof cand, "%.*s", (int)(p - k->key), k->key);
            size_t d = edit_distance(key, cand);
            if (d < best_d) {
                best_d = d;
                snprintf(buf, n, "%s", cand);
            }
            if (!*p)
                break;
        }
    }
    /* Only suggest near misses: a few edits, relative to the length. */
    return best_d <= RG_MAX(2, strlen(key) / 4) ? buf : NULL;
}

static const char *closest_choice(const char *value, const char *choices, char *buf, size_t n)
{
    size_t best_d = SIZE_MAX;
    buf[0] = '\0';
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        char c[128];
        snprintf(c, sizeof c, "%.*s", (int)len, p);
        size_t d = edit_distance(value, c);
        if (d < best_d) {
            best_d = d;
            snprintf(buf, n, "%s", c);
        }
        p += len + (bar ? 1 : 0);
    }
    return best_d <= 2 ? buf : NULL;
}

/* Names of the keys and sections directly below a prefix ("" = top level),
 * each once, for messages about unknown keys. */
static void keys_under(const char *prefix, rg_buf *out)
{
    size_t lp = strlen(prefix);
    const char *seen[64];
    size_t lens[64], nseen = 0;
    for (const rg_config_key *k = rg_config_schema; k->key; k++) {
        if (lp && (strncmp(k->key, prefix, lp) != 0 || k->key[lp] != '.'))
            continue;
        const char *rest = k->key + (lp ? lp + 1 : 0);
        const char *dot = strchr(rest, '.');
        size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
        bool dup = false;
        for (size_t i = 0; i < nseen; i++)
            if (lens[i] == len && strncmp(seen[i], rest, len) == 0)
                dup = true;
        if (dup || nseen == RG_ARRAY_LEN(seen))
            continue;
        seen[nseen] = rest;
        lens[nseen++] = len;
        rg_buf_printf(out, "%s%.*s", nseen > 1 ? ", " : "", (int)len, rest);
    }
}

/* ---- parsing and validation of one value ---- */

static char *expand_default_path(const char *text)
{
    const char *tag = "$XDG_DATA_HOME";
    if (strncmp(text, tag, strlen(tag)) != 0)
        return rg_xstrdup(text);
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        return rg_xasprintf("%s%s", xdg, text + strlen(tag));
    return rg_xasprintf("%s/.local/share%s", home && *home ? home : ".", text + strlen(tag));
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"};
    static const char *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < RG_ARRAY_LEN(yes); i++)
        if (!strcasecmp(s, yes[i]))
            return *out = true, true;
    for (size_t i = 0; i < RG_ARRAY_LEN(no); i++)
        if (!strcasecmp(s, no[i]))
            return *out = false, true;
    return false;
}

static bool choice_valid(const char *value, const char *choices)
{
    size_t lv = strlen(value);
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == lv && strncmp(p, value, len) == 0)
            return true;
        p += len + (bar ? 1 : 0);
    }
    return false;
}

/* Keys such as embedding.api_key_env hold the NAME of the variable that
 * holds a secret. */
static bool names_env_var(const char *key)
{
    size_t n = strlen(key);
    return n > 4 && strcmp(key + n - 4, "_env") == 0;
}

static bool env_name_valid(const char *s)
{
    if (!*s)
        return true; /* unset */
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* base_dir: directory that relative paths resolve against (NULL: as given). */
static rg_status set_value(config_value *v, const char *text, const char *base_dir, rg_config_source src,
                           const char *origin, rg_error *err)
{
    const rg_config_key *k = v->key;
    int64_t iv = 0;
    double fv = 0;
    bool bv = false;
    char *canon = NULL;
    switch (k->type) {
    case RG_CFG_INT: {
        char *end;
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (!*text || *end || errno)
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s must be a whole number, got '%s' (range %g to %g)",
                                origin, k->key, text, k->min, k->max);
        if ((double)x < k->min || (double)x > k->max)
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s = %lld is out of range (%g to %g)", origin, k->key, x,
                                k->min, k->max);
        iv = x;
        fv = (double)x;
        canon = rg_xasprintf("%lld", x);
        break;
    }
    case RG_CFG_FLOAT: {
        char *end;
        errno = 0;
        double x = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(x))
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s must be a number, got '%s' (range %g to %g)", origin,
                                k->key, text, k->min, k->max);
        if (x < k->min || x > k->max)
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s = %g is out of range (%g to %g)", origin, k->key, x,
                                k->min, k->max);
        fv = x;
        canon = rg_xasprintf("%g", x);
        break;
    }
    case RG_CFG_BOOL:
        if (!parse_bool(text, &bv))
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s must be true or false, got '%s'", origin, k->key, text);
        canon = rg_xstrdup(bv ? "true" : "false");
        break;
    case RG_CFG_ENUM:
        if (!choice_valid(text, k->choices)) {
            char near[128];
            const char *dym = closest_choice(text, k->choices, near, sizeof near);
            return rg_error_set(err, RG_ERR_INVALID, "%s: %s cannot be '%s'; valid choices: %s%s%s%s", origin,
                                k->key, text, k->choices, dym ? " (did you mean '" : "", dym ? dym : "",
                                dym ? "'?)" : "");
        }
        canon = rg_xstrdup(text);
        break;
    case RG_CFG_PATH:
        if (src == RG_SRC_DEFAULT)
            canon = expand_default_path(text);
        else if (text[0] == '~' && (text[1] == '/' || !text[1]) && getenv("HOME"))
            canon = rg_xasprintf("%s%s", getenv("HOME"), text + 1);
        else if (text[0] && text[0] != '/' && base_dir)
            canon = rg_path_join(base_dir, text);
        else
            canon = rg_xstrdup(text);
        break;
    case RG_CFG_STRING:
        if (names_env_var(k->key) && !env_name_valid(text))
            /* Most likely the secret itself was pasted here: never echo it. */
            return rg_error_set(err, RG_ERR_INVALID,
                                "%s: %s must be the name of an environment variable (letters, digits, '_'), not "
                                "its value; the value was not shown in case it is a secret",
                                origin, k->key);
        canon = rg_xstrdup(text);
        break;
    }
    free(v->text);
    free(v->origin);
    v->text = canon;
    v->i = iv;
    v->f = k->type == RG_CFG_INT ? (double)iv : fv;
    v->b = bv;
    v->source = src;
    v->origin = rg_xstrdup(origin);
    return RG_OK;
}

rg_config *rg_config_new_defaults(void)
{
    rg_config *cfg = rg_xcalloc(1, sizeof *cfg);
    cfg->n = schema_len();
    cfg->values = rg_xcalloc(cfg->n, sizeof *cfg->values);
    for (size_t i = 0; i < cfg->n; i++) {
        cfg->values[i].key = &rg_config_schema[i];
        rg_error err;
        if (set_value(&cfg->values[i], rg_config_schema[i].default_value, NULL, RG_SRC_DEFAULT, "default", &err)) {
            fprintf(stderr, "ragged: internal error: bad default: %s\n", err.msg);
            abort();
        }
    }
    return cfg;
}

rg_status rg_config_set(rg_config *cfg, const char *key, const char *value, rg_config_source src, rg_error *err)
{
    config_value *v = find_value(cfg, key);
    if (!v) {
        char near[256];
        const char *dym = closest_key(key, near, sizeof near);
        return rg_error_set(err, RG_ERR_INVALID, "unknown configuration key '%s'%s%s%s", key,
                            dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "");
    }
    char *cwd = getcwd(NULL, 0);
    rg_status rc = set_value(v, value, cwd, src, src == RG_SRC_FLAG         ? "flag"
                                               : src == RG_SRC_ENV        ? "env"
                                               : src == RG_SRC_COLLECTION ? "collection"
                                                                          : "set",
                             err);
    free(cwd);
    return rc;
}

/* ---- YAML ---- */

static rg_status walk_yaml(rg_config *cfg, yaml_document_t *doc, yaml_node_t *node, const char *prefix,
                           const char *path, const char *base_dir, rg_error *err)
{
    if (node->type != YAML_MAPPING_NODE) {
        if (!*prefix && node->type == YAML_SCALAR_NODE && node->data.scalar.length == 0)
            return RG_OK; /* empty file */
        return rg_error_set(err, RG_ERR_INVALID, "%s:%zu: expected a mapping of keys%s%s", path,
                            node->start_mark.line + 1, *prefix ? " under " : " at the top level", prefix);
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(doc, p->value);
        if (!kn || !vn || kn->type != YAML_SCALAR_NODE)
            return rg_error_set(err, RG_ERR_INVALID, "%s:%zu: keys must be plain names", path,
                                kn ? kn->start_mark.line + 1 : 0);
        char *key = *prefix ? rg_xasprintf("%s.%s", prefix, (char *)kn->data.scalar.value)
                            : rg_xstrdup((char *)kn->data.scalar.value);
        size_t line = kn->start_mark.line + 1;
        config_value *v = find_value(cfg, key);
        rg_status rc = RG_OK;
        if (v) {
            if (vn->type != YAML_SCALAR_NODE) {
                rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: %s takes a single value, not a %s", path, line, key,
                                  vn->type == YAML_MAPPING_NODE ? "mapping" : "list");
            } else {
                const char *text = (const char *)vn->data.scalar.value;
                bool is_null = vn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                               (!strcmp(text, "~") || !strcmp(text, "null") || !*text);
                char origin[4200];
                snprintf(origin, sizeof origin, "%s:%zu", path, line);
                if (is_null && (v->key->type == RG_CFG_STRING || v->key->type == RG_CFG_PATH))
                    text = "";
                else if (is_null)
                    rc = rg_error_set(err, RG_ERR_INVALID, "%s: %s needs a value", origin, key);
                if (rc == RG_OK) {
                    char *forigin = rg_xasprintf("file:%s", origin);
                    rc = set_value(v, text, base_dir, RG_SRC_FILE, forigin, err);
                    free(forigin);
                }
            }
        } else {
            /* A section name (prefix of known keys) recurses; anything else is unknown. */
            size_t lk = strlen(key);
            bool is_section = false;
            for (const rg_config_key *k = rg_config_schema; k->key; k++)
                if (strncmp(k->key, key, lk) == 0 && k->key[lk] == '.')
                    is_section = true;
            if (is_section) {
                if (vn->type == YAML_MAPPING_NODE)
                    rc = walk_yaml(cfg, doc, vn, key, path, base_dir, err);
                else if (!(vn->type == YAML_SCALAR_NODE && vn->data.scalar.length == 0))
                    rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: '%s' is a section; put its keys under it", path,
                                      line, key);
            } else {
                char near[256];
                const char *dym = closest_key(key, near, sizeof near);
                rg_buf valid;
                rg_buf_init(&valid);
                keys_under(prefix, &valid);
                rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: unknown key '%s'%s%s%s; valid keys%s%s: %s", path, line,
                                  key, dym ? " (did you mean '" : "", dym ? dym : "", dym ? "'?)" : "",
                                  *prefix ? " under " : "", prefix, valid.data ? valid.data : "");
                rg_buf_free(&valid);
            }
        }
        free(key);
        if (rc != RG_OK)
            return rc;
    }
    return RG_OK;
}

rg_status rg_config_load_file(rg_config *cfg, const char *path, rg_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rg_error_set(err, RG_ERR_NOTFOUND, "cannot open configuration file %s: %s", path, strerror(errno));
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    rg_status rc = RG_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu:%zu: invalid YAML: %s%s%s", path, parser.problem_mark.line + 1,
                          parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error",
                          parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(f);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    char *base = rg_path_dirname(path);
    char *abs_base = NULL;
    if (base[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        abs_base = rg_path_join(cwd ? cwd : ".", base);
        free(cwd);
    } else {
        abs_base = rg_xstrdup(base);
    }
    if (root)
        rc = walk_yaml(cfg, &doc, root, "", path, abs_base, err);
    free(base);
    free(abs_base);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc == RG_OK) {
        free(cfg->file_path);
        cfg->file_path = rg_xstrdup(path);
    }
    return rc;
}

void rg_config_env_name(const char *key, char *buf, size_t n)
{
    size_t j = 0;
    const char *prefix = "RAGGED_";
    for (const char *p = prefix; *p && j + 1 < n; p++)
        buf[j++] = *p;
    for (const char *p = key; *p && j + 1 < n; p++)
        buf[j++] = *p == '.' ? '_' : (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
    buf[j] = '\0';
}

rg_status rg_config_apply_env(rg_config *cfg, rg_error *err)
{
    char *cwd = getcwd(NULL, 0);
    rg_status rc = RG_OK;
    for (size_t i = 0; i < cfg->n && rc == RG_OK; i++) {
        char name[256];
        rg_config_env_name(cfg->values[i].key->key, name, sizeof name);
        const char *val = getenv(name);
        if (!val)
            continue;
        char origin[300];
        snprintf(origin, sizeof origin, "env:%s", name);
        rc = set_value(&cfg->values[i], val, cwd, RG_SRC_ENV, origin, err);
    }
    free(cwd);
    return rc;
}

rg_status rg_config_load(const char *explicit_path, rg_config **out, rg_error *err)
{
    rg_config *cfg = rg_config_new_defaults();
    const char *path = explicit_path;
    char *candidate = NULL;
    if (!path || !*path)
        path = getenv("RAGGED_CONFIG");
    if (path && *path) {
        if (!rg_path_exists(path)) {
            rg_config_free(cfg);
            return rg_error_set(err, RG_ERR_NOTFOUND,
                                "configuration file %s does not exist (create one with 'ragged config init > %s')",
                                path, path);
        }
    } else {
        path = NULL;
        if (rg_path_exists("ragged.yml")) {
            path = "ragged.yml";
        } else {
            const char *xdg = getenv("XDG_CONFIG_HOME");
            const char *home = getenv("HOME");
            if (xdg && *xdg)
                candidate = rg_xasprintf("%s/ragged/config.yml", xdg);
            else if (home && *home)
                candidate = rg_xasprintf("%s/.config/ragged/config.yml", home);
            if (candidate && rg_path_exists(candidate))
                path = candidate;
        }
    }
    rg_status rc = RG_OK;
    if (path)
        rc = rg_config_load_file(cfg, path, err);
    free(candidate);
    if (rc == RG_OK)
        rc = rg_config_apply_env(cfg, err);
    if (rc != RG_OK) {
        rg_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return RG_OK;
}

rg_config *rg_config_clone(const rg_config *cfg)
{
    rg_config *c = rg_xcalloc(1, sizeof *c);
    c->n = cfg->n;
    c->values = rg_xcalloc(c->n, sizeof *c->values);
    for (size_t i = 0; i < c->n; i++) {
        c->values[i] = cfg->values[i];
        c->values[i].text = rg_xstrdup(cfg->values[i].text);
        c->values[i].origin = rg_xstrdup(cfg->values[i].origin);
    }
    c->file_path = cfg->file_path ? rg_xstrdup(cfg->file_path) : NULL;
    return c;
}

void rg_config_free(rg_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->values[i].text);
        free(cfg->values[i].origin);
    }
    free(cfg->values);
    free(cfg->file_path);
    free(cfg);
}

const char *rg_config_str(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->text;
}

int64_t rg_config_int(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->i;
}

double rg_config_float(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->f;
}

bool rg_config_bool(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->b;
}

rg_config_source rg_config_source_of(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->source;
}

const char *rg_config_origin(const rg_config *cfg, const char *key)
{
    return must_find(cfg, key)->origin;
}

const char *rg_config_file_path(const rg_config *cfg)
{
    return cfg->file_path;
}

/* ---- output ---- */

static json_t *typed_json(const config_value *v)
{
    switch (v->key->type) {
    case RG_CFG_INT: return json_integer(v->i);
    case RG_CFG_FLOAT: return json_real(v->f);
    case RG_CFG_BOOL: return json_boolean(v->b);
    default: return json_string(v->text);
    }
}

/* Sets obj[a][b][c] = val for key "a.b.c". */
static void json_set_path(json_t *obj, const char *key, json_t *val)
{
    const char *dot;
    json_t *cur = obj;
    while ((dot = strchr(key, '.'))) {
        char part[128];
        snprintf(part, sizeof part, "%.*s", (int)(dot - key), key);
        json_t *next = json_object_get(cur, part);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, part, next);
        }
        cur = next;
        key = dot + 1;
    }
    json_object_set_new(cur, key, val);
}

json_t *rg_config_to_json(const rg_config *cfg, bool with_origin)
{
    json_t *root = json_object();
    json_t *origins = with_origin ? json_object() : NULL;
    for (size_t i = 0; i < cfg->n; i++) {
        json_set_path(root, cfg->values[i].key->key, typed_json(&cfg->values[i]));
        if (origins)
            json_object_set_new(origins, cfg->values[i].key->key, json_string(cfg->values[i].origin));
    }
    if (origins) {
        json_t *wrap = json_object();
        json_object_set_new(wrap, "config", root);
        json_object_set_new(wrap, "origins", origins);
        json_object_set_new(wrap, "file", cfg->file_path ? json_string(cfg->file_path) : json_null());
        return wrap;
    }
    return root;
}

/* Length of a UTF-8 NEL (U+0085), LS (U+2028) or PS (U+2029) at s: YAML
 * folds them like newlines, so they must be written as \N, \L, \P. */
static size_t yaml_break_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] == 0xC2 && u[1] == 0x85)
        return 2;
    if (u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xA8 || u[2] == 0xA9))
        return 3;
    return 0;
}

static bool needs_quotes(const char *s)
{
    if (!*s)
        return true;
    if (strpbrk(s, ":#{}[],&*!|>'\"%@`") || s[0] == ' ' || s[strlen(s) - 1] == ' ' || s[0] == '-' || s[0] == '?')
        return true;
    /* Control characters (newline, tab, ...) and YAML's Unicode line breaks
     * only survive in double quotes. */
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || yaml_break_len(c))
            return true;
    bool b;
    return parse_bool(s, &b) || !strcmp(s, "null") || !strcmp(s, "~");
}

char *rg_config_to_yaml(const rg_config *cfg, bool with_origin)
{
    rg_buf out;
    rg_buf_init(&out);
    const char *prev = "";
    for (size_t i = 0; i < cfg->n; i++) {
        const config_value *v = &cfg->values[i];
        const char *key = v->key->key;
        /* Print section headers that differ from the previous key's. */
        int depth = 0;
        const char *p = key, *q = prev;
        const char *dot;
        while ((dot = strchr(p, '.'))) {
            size_t len = (size_t)(dot - p);
            bool same = strncmp(p, q, len) == 0 && q[len] == '.';
            if (!same) {
                if (depth == 0 && out.len)
                    rg_buf_putc(&out, '\n');
                rg_buf_printf(&out, "%*s%.*s:\n", depth * 2, "", (int)len, p);
                q = "";
            } else {
                q += len + 1;
            }
            p = dot + 1;
            depth++;
        }
        rg_buf_printf(&out, "%*s# %s\n", depth * 2, "", v->key->help);
        if (v->key->type == RG_CFG_STRING || v->key->type == RG_CFG_PATH || v->key->type == RG_CFG_ENUM) {
            if (needs_quotes(v->text)) {
                rg_buf_printf(&out, "%*s%s: \"", depth * 2, "", p);
                for (const char *c = v->text; *c; c++) {
                    unsigned char u = (unsigned char)*c;
                    if (*c == '"' || *c == '\\')
                        rg_buf_printf(&out, "\\%c", *c);
                    else if (u == '\n')
                        rg_buf_puts(&out, "\\n");
                    else if (u == '\t')
                        rg_buf_puts(&out, "\\t");
                    else if (u < 0x20 || u == 0x7f)
                        rg_buf_printf(&out, "\\x%02x", u);
                    else if (yaml_break_len(c)) {
                        size_t bl = yaml_break_len(c);
                        rg_buf_puts(&out, bl == 2 ? "\\N" : (unsigned char)c[2] == 0xA8 ? "\\L" : "\\P");
                        c += bl - 1;
                    }
                    else
                        rg_buf_putc(&out, *c);
                }
                rg_buf_putc(&out, '"');
            } else {
                rg_buf_printf(&out, "%*s%s: %s", depth * 2, "", p, v->text);
            }
        } else {
            rg_buf_printf(&out, "%*s%s: %s", depth * 2, "", p, v->text);
        }
        if (with_origin)
            rg_buf_printf(&out, "    # from %s", v->origin);
        rg_buf_putc(&out, '\n');
        prev = key;
    }
    return rg_buf_steal(&out);
}
