/* BEIR loaders and metrics.  See beir.h. */
#include "beir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void rg_beir_docs_free(rg_beir_docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->items[i].id);
        free(d->items[i].title);
        free(d->items[i].text);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

static char *id_text(json_t *v)
{
    if (json_is_string(v))
        return rg_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return rg_xasprintf("%lld", (long long)json_integer_value(v));
    return NULL;
}

rg_status rg_beir_load_jsonl(const char *path, rg_beir_docs *out, rg_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f)
        return rg_error_set(err, RG_ERR_NOTFOUND, "cannot open %s: %m", path);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    rg_status rc = RG_OK;
    while (rc == RG_OK && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len)
            continue;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, 0, &je);
        char *id = j ? id_text(json_object_get(j, "_id")) : NULL;
        json_t *text = json_object_get(j, "text");
        if (!id || !json_is_string(text)) {
            rc = rg_error_set(err, RG_ERR_INVALID, "%s:%zu: not a BEIR record (%s); expected {\"_id\": ..., \"text\": ...}",
                              path, lineno, j ? "no _id or text" : je.text);
            free(id);
        } else {
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 1024;
                out->items = rg_xrealloc(out->items, out->cap * sizeof *out->items);
            }
            json_t *title = json_object_get(j, "title");
            out->items[out->n++] = (rg_beir_doc){id, rg_xstrdup(json_is_string(title) ? json_string_value(title) : ""),
                                                 rg_xstrdup(json_string_value(text))};
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    if (rc != RG_OK)
        rg_beir_docs_free(out);
    return rc;
}
