/* ragged config show|validate|init|schema */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

int rg_cmd_config(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged config show            effective configuration and where each value came from\n"
    "       ragged config validate [FILE] check a configuration file (default: the one in use)\n"
    "       ragged config init [--write PATH] [--format json]\n"
    "                                     a commented configuration with every default (YAML),\n"
    "                                     or the same values as JSON\n"
    "       ragged config schema          every key: type, default, environment variable\n"
    "       ragged config get KEY         the effective value of KEY (and, with --format json,\n"
    "                                     where it came from)\n"
    "       ragged config set KEY VALUE   validates VALUE and writes it into the configuration\n"
    "                                     file in use (--config, $RAGGED_CONFIG, ./ragged.yml, else\n"
    "                                     $XDG_CONFIG_HOME/ragged/config.yml, created); comments\n"
    "                                     and other keys are kept\n\n"
    "Values are layered: defaults < configuration file < RAGGED_* environment variables\n"
    "(RAGGED_ + the key in capitals with '.' as '_', e.g. RAGGED_VECTORSTORE_BACKEND)\n"
    "< command-line flags.\n\n" RG_CLI_COMMON_HELP;

static const char *type_name(rg_config_type t)
{
    switch (t) {
    case RG_CFG_STRING: return "string";
    case RG_CFG_PATH: return "path";
    case RG_CFG_INT: return "integer";
    case RG_CFG_FLOAT: return "number";
    case RG_CFG_BOOL: return "boolean";
    case RG_CFG_ENUM: return "choice";
    }
    return "?";
}

static int do_schema(rg_cli *cli)
{
    if (cli->format == RG_FORMAT_JSON) {
        json_t *arr = json_array();
        for (const rg_config_key *k = rg_config_schema; k->key; k++) {
            char env[256];
            rg_config_env_name(k->key, env, sizeof env);
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "key", k->key, "type", type_name(k->type), "default",
                                  k->default_value, "env", env, "help", k->help);
            if (k->choices)
                json_object_set_new(o, "choices", json_string(k->choices));
            if (k->type == RG_CFG_INT || k->type == RG_CFG_FLOAT)
                json_object_set_new(o, "range", json_pack("[f, f]", k->min, k->max));
            json_array_append_new(arr, o);
        }
        rg_cli_print_json(arr);
        return 0;
    }
    printf("| key | type | default | environment | meaning |\n|---|---|---|---|---|\n");
    for (const rg_config_key *k = rg_config_schema; k->key; k++) {
        char env[256], type[160];
        rg_config_env_name(k->key, env, sizeof env);
        if (k->type == RG_CFG_ENUM)
            snprintf(type, sizeof type, "one of `%s`", k->choices);
        else if (k->type == RG_CFG_INT || k->type == RG_CFG_FLOAT)
            snprintf(type, sizeof type, "%s, %.10g to %.10g", type_name(k->type), k->min, k->max);
        else
            snprintf(type, sizeof type, "%s", type_name(k->type));
        /* Escape the table separator in choices. */
        char esc[400];
        size_t j = 0;
        for (const char *p = type; *p && j + 3 < sizeof esc; p++) {
            if (*p == '|')
                esc[j++] = '\\';
            esc[j++] = *p;
        }
        esc[j] = '\0';
        char def[300];
        if (*k->default_value)
            snprintf(def, sizeof def, "`%s`", k->default_value);
        else
            snprintf(def, sizeof def, "(empty)");
        printf("| `%s` | %s | %s | `%s` | %s |\n", k->key, esc, def, env, k->help);
    }
    return 0;
}

/* ---- config set: a line edit of the YAML file ---- */

static size_t indent_of(const char *line)
{
    size_t n = 0;
    while (line[n] == ' ')
        n++;
    return n;
}

static bool blank_or_comment(const char *line)
{
    const char *p = line + indent_of(line);
    return !*p || *p == '#' || *p == '\n' || *p == '\r';
}

/* Whether line (at indent) is "NAME:" followed by a value, a comment or
 * nothing. */
static bool line_is_key(const char *line, size_t indent, const char *name, size_t nlen)
{
    if (indent_of(line) != indent || strncmp(line + indent, name, nlen) != 0)
        return false;
    const char *p = line + indent + nlen;
    if (*p == '"' || *p == '\'')
        return false;
    return *p == ':' && (p[1] == ' ' || p[1] == '\0' || p[1] == '\n' || p[1] == '\r' || p[1] == '\t');
}

/* The "# ..." that ends a "key: value" line (v: the value part), outside
 * quotes, or NULL: kept when the value is replaced. */
static const char *trailing_comment(const char *v)
{
    char quote = 0;
    for (const char *p = v; *p && *p != '\n'; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            else if (*p == '\\' && quote == '"' && p[1])
                p++;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            return p;
        }
    }
    return NULL;
}

/* New text of the YAML file with key set to the scalar value (YAML text),
 * the mapping nesting ragged's keys use (a.b.c -> a: b: c:).  A key already
 * there has its line replaced; a missing one is added at the end of its
 * section, the sections made as needed.  Everything else is kept. */
char *rg_config_yaml_set(const char *text, const char *key, const char *value)
{
    /* Split into lines (each keeps its newline). */
    size_t nl = 0, cap = 16;
    char **lines = rg_xmalloc(cap * sizeof *lines);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        if (nl == cap)
            lines = rg_xrealloc(lines, (cap *= 2) * sizeof *lines);
        lines[nl++] = rg_xstrndup(p, len);
        p += len;
    }
    size_t start = 0, end = nl, indent = 0, insert_at = nl;
    const char *part = key;
    rg_buf out;
    rg_buf_init(&out);
    char *replaced = NULL;
    size_t replace_line = (size_t)-1;
    for (;;) {
        const char *dot = strchr(part, '.');
        size_t plen = dot ? (size_t)(dot - part) : strlen(part);
        size_t found = (size_t)-1;
        for (size_t i = start; i < end; i++)
            if (line_is_key(lines[i], indent, part, plen)) {
                found = i;
                break;
            }
        if (found == (size_t)-1) {
            /* Missing from here on: write the rest of the path at the end
             * of this block (after its last non-blank line). */
            size_t at = start;
            for (size_t i = start; i < end; i++)
                if (!blank_or_comment(lines[i]))
                    at = i + 1;
            insert_at = at;
            rg_buf_init(&out);
            size_t ind = indent;
            for (const char *q = part;;) {
                const char *d = strchr(q, '.');
                size_t ql = d ? (size_t)(d - q) : strlen(q);
                if (d)
                    rg_buf_printf(&out, "%*s%.*s:\n", (int)ind, "", (int)ql, q);
                else
                    rg_buf_printf(&out, "%*s%.*s: %s\n", (int)ind, "", (int)ql, q, value);
                if (!d)
                    break;
                q = d + 1;
                ind += 2;
            }
            break;
        }
        if (!dot) {
            replace_line = found;
            const char *nlp = strchr(lines[found], '\n');
            const char *comment = trailing_comment(lines[found] + indent + plen + 1);
            size_t clen = comment ? strcspn(comment, "\r\n") : 0;
            replaced = rg_xasprintf("%*s%.*s: %s%s%.*s%s", (int)indent, "", (int)plen, part, value, clen ? "  " : "",
                                    (int)clen, comment ? comment : "", nlp ? "\n" : "");
            break;
        }
        /* The block of this section: following lines indented deeper. */
        size_t bend = found + 1, child = 0;
        while (bend < end && (blank_or_comment(lines[bend]) || indent_of(lines[bend]) > indent)) {
            if (!child && !blank_or_comment(lines[bend]))
                child = indent_of(lines[bend]);
            bend++;
        }
        start = found + 1;
        end = bend;
        indent = child ? child : indent + 2;
        part = dot + 1;
    }
    rg_buf res;
    rg_buf_init(&res);
    for (size_t i = 0; i < nl; i++) {
        if (i == insert_at && out.len)
            rg_buf_append(&res, out.data, out.len);
        if (i == replace_line)
            rg_buf_puts(&res, replaced);
        else
            rg_buf_puts(&res, lines[i]);
        if (i == nl - 1 && lines[i][strlen(lines[i]) - 1] != '\n' && insert_at == nl && out.len)
            rg_buf_putc(&res, '\n');
    }
    if (insert_at >= nl && out.len)
        rg_buf_append(&res, out.data, out.len);
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    free(lines);
    free(replaced);
    rg_buf_free(&out);
    return rg_buf_steal(&res);
}

static const rg_config_key *schema_key(const char *key)
{
    for (const rg_config_key *k = rg_config_schema; k->key; k++)
        if (!strcmp(k->key, key))
            return k;
    return NULL;
}

static int do_get(rg_cli *cli, const char *key)
{
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_error err;
    if (!schema_key(key)) {
        /* rg_config_set's message names the closest key. */
        rg_config *scratch = rg_config_new_defaults();
        rg_config_set(scratch, key, "", RG_SRC_FLAG, &err);
        rg_config_free(scratch);
        return rg_cli_usage_error(cli, "%s", err.msg);
    }
    if (cli->format == RG_FORMAT_JSON) {
        json_t *all = rg_config_to_json(cfg, false);
        /* The typed value from the nested JSON form. */
        json_t *v = all;
        char *path = rg_xstrdup(key), *save = NULL;
        for (char *t = strtok_r(path, ".", &save); t && v; t = strtok_r(NULL, ".", &save))
            v = json_object_get(v, t);
        rg_cli_print_json(json_pack("{s:s, s:O?, s:s}", "key", key, "value", v, "origin", rg_config_origin(cfg, key)));
        free(path);
        json_decref(all);
    } else {
        printf("%s\n", rg_config_str(cfg, key));
    }
    return 0;
}

static int do_set(rg_cli *cli, const char *key, const char *value)
{
    rg_error err;
    const rg_config_key *k = schema_key(key);
    rg_config *check = rg_config_new_defaults();
    /* Type and range first, with the schema's message. */
    rg_status st = rg_config_set(check, key, value, RG_SRC_FLAG, &err);
    rg_config_free(check);
    if (st != RG_OK || !k)
        return rg_cli_usage_error(cli, "%s", err.msg);
    /* The file in use, or the per-user one (created). */
    rg_config *cur = NULL;
    if (rg_config_load(cli->config_path, &cur, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    char *path = rg_config_file_path(cur) ? rg_xstrdup(rg_config_file_path(cur)) : NULL;
    rg_config_free(cur);
    if (!path) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            path = rg_xasprintf("%s/ragged/config.yml", xdg);
        else if (home && *home)
            path = rg_xasprintf("%s/.config/ragged/config.yml", home);
        else
            return rg_cli_usage_error(cli, "no configuration file in use and neither XDG_CONFIG_HOME nor HOME is "
                                           "set; name one with --config FILE");
    }
    char *old = NULL;
    size_t len = 0;
    int rc = 0;
    if (rg_path_exists(path)) {
        if (rg_read_file(path, 16u << 20, &old, &len, &err) != RG_OK) {
            free(path);
            return rg_cli_fail(cli, &err);
        }
    } else {
        char *dir = rg_path_dirname(path);
        st = rg_mkdir_p(dir, 0755, &err);
        free(dir);
        if (st != RG_OK) {
            free(path);
            return rg_cli_fail(cli, &err);
        }
    }
    /* Numbers and booleans plain; text as a JSON string, which YAML reads
     * as a double-quoted scalar. */
    char *yvalue;
    if (k->type == RG_CFG_INT || k->type == RG_CFG_FLOAT || k->type == RG_CFG_BOOL) {
        yvalue = rg_xstrdup(value);
    } else {
        json_t *js = json_string(value);
        yvalue = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
        json_decref(js);
        if (!yvalue) {
            free(old);
            free(path);
            return rg_cli_usage_error(cli, "the value of %s is not valid UTF-8", key);
        }
    }
    char *text = rg_config_yaml_set(old ? old : "", key, yvalue);
    /* The edited file must load and give the value back (a flow-style or
     * otherwise unusual file may not take a line edit): checked on a
     * sibling temporary file, which then replaces the original. */
    char *tmp = rg_xasprintf("%s.ragged-set.tmp", path);
    rg_config *verify = rg_config_new_defaults();
    rg_config *want = rg_config_new_defaults();
    rg_config_set(want, key, value, RG_SRC_FLAG, &err);
    st = rg_write_file_atomic(tmp, text, strlen(text), &err);
    if (st == RG_OK) {
        rg_error lerr;
        if (rg_config_load_file(verify, tmp, &lerr) != RG_OK ||
            strcmp(rg_config_str(verify, key), rg_config_str(want, key)) != 0)
            st = rg_error_set(&err, RG_ERR_INVALID,
                              "could not edit %s for %s (flow-style or unusual YAML?); the file is unchanged: set "
                              "%s to %s there by hand",
                              path, key, key, yvalue);
    }
    if (st == RG_OK && rename(tmp, path) != 0)
        st = rg_error_set(&err, RG_ERR_IO, "cannot replace %s: %s", path, strerror(errno));
    if (st == RG_OK) {
        char *dir = rg_path_dirname(path);
        rg_fsync_dir(dir);
        free(dir);
        if (cli->format == RG_FORMAT_JSON)
            rg_cli_print_json(json_pack("{s:s, s:s, s:s}", "key", key, "value", rg_config_str(want, key), "file", path));
        else
            fprintf(stderr, "%s = %s (written to %s)\n", key, rg_config_str(want, key), path);
    } else {
        unlink(tmp);
        rc = rg_cli_fail(cli, &err);
    }
    rg_config_free(verify);
    rg_config_free(want);
    free(tmp);
    free(text);
    free(yvalue);
    free(old);
    free(path);
    return rc;
}

int rg_cmd_config(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {"write", required_argument, NULL, 'w'}, {0}};
    const char *write_path = NULL;
    int c, rc = 0;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(HELP, stdout);
            return 0;
        }
        if (c == 'w') {
            write_path = optarg;
            continue;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind >= argc)
        return rg_cli_usage_error(cli, "config needs an action: show, validate, init, schema, get or set");
    const char *action = argv[optind];
    rg_error err;
    if (!strcmp(action, "schema"))
        return do_schema(cli);
    if (!strcmp(action, "get")) {
        if (optind + 2 != argc)
            return rg_cli_usage_error(cli, "config get takes one KEY, e.g. ragged config get retrieval.k");
        return do_get(cli, argv[optind + 1]);
    }
    if (!strcmp(action, "set")) {
        if (optind + 3 != argc)
            return rg_cli_usage_error(cli, "config set takes KEY VALUE, e.g. ragged config set retrieval.k 10");
        return do_set(cli, argv[optind + 1], argv[optind + 2]);
    }
    if (!strcmp(action, "init")) {
        rg_config *cfg = rg_config_new_defaults();
        char *text;
        if (cli->format == RG_FORMAT_JSON) {
            /* JSON is YAML too: the file loads as a configuration as is. */
            json_t *j = rg_config_to_json(cfg, false);
            char *body = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            text = rg_xasprintf("%s\n", body);
            free(body);
            json_decref(j);
        } else {
            char *yaml = rg_config_to_yaml(cfg, false);
            text = rg_xasprintf("# ragged configuration (generated by 'ragged config init').\n"
                                "# Every key with its default; delete what you do not change.\n\n%s",
                                yaml);
            free(yaml);
        }
        rg_config_free(cfg);
        if (!write_path) {
            fputs(text, stdout);
        } else if (rg_path_exists(write_path)) {
            rg_error_set(&err, RG_ERR_EXISTS, "%s already exists; not overwriting it", write_path);
            rc = rg_cli_fail(cli, &err);
        } else if (rg_write_file_atomic(write_path, text, strlen(text), &err) != RG_OK) {
            rc = rg_cli_fail(cli, &err);
        } else {
            fprintf(stderr, "wrote %s\n", write_path);
        }
        free(text);
        return rc;
    }
    if (!strcmp(action, "validate")) {
        if (optind + 1 < argc)
            cli->config_path = argv[optind + 1];
        rg_config *cfg = NULL;
        if (rg_config_load(cli->config_path, &cfg, &err) != RG_OK)
            return rg_cli_fail(cli, &err);
        const char *path = rg_config_file_path(cfg);
        if (cli->format == RG_FORMAT_JSON)
            rg_cli_print_json(json_pack("{s:b, s:s?}", "valid", 1, "file", path));
        else
            printf("%s is valid\n", path ? path : "the default configuration (no file found)");
        rg_config_free(cfg);
        return 0;
    }
    if (!strcmp(action, "show")) {
        rg_config *cfg = rg_cli_config(cli);
        if (!cfg)
            return 2;
        if (cli->format == RG_FORMAT_JSON) {
            rg_cli_print_json(rg_config_to_json(cfg, true));
        } else {
            const char *path = rg_config_file_path(cfg);
            printf("# configuration file: %s\n\n", path ? path : "(none found; defaults and environment)");
            char *yaml = rg_config_to_yaml(cfg, true);
            fputs(yaml, stdout);
            free(yaml);
        }
        return 0;
    }
    char dym[96];
    return rg_cli_usage_error(cli, "unknown action '%s'%s; use show, validate, init, schema, get or set", action,
                              rg_cli_suggest_action(cli, action, dym, sizeof dym));
}
