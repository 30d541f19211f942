/* ragged collections list|create|delete|info */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "collections_json.h"
#include "util.h"

int rg_cmd_collections(rg_cli *cli, int argc, char **argv);

static const char HELP[] =
    "usage: ragged collections list [--backend NAME]\n"
    "       ragged collections create NAME\n"
    "       ragged collections delete NAME [--yes]\n"
    "       ragged collections info NAME\n"
    "       ragged collections compact NAME\n"
    "       ragged collections check NAME\n"
    "       ragged collections reindex NAME\n\n"
    "list    collections of a backend with record counts and embedders\n"
    "create  an empty collection for the configured embedder\n"
    "delete  a collection and all its records (cannot be undone); on a terminal it asks\n"
    "        first unless --yes (-y) is given\n"
    "info    record count, embedder, bytes on disk by component\n"
    "compact reclaim space left by deletes and rebuild indexes\n"
    "check   verify every stored byte that can be verified (files, passages, metadata, BM25 index);\n"
    "        exit 1 when anything is damaged\n"
    "reindex rebuild the BM25 index from the collection's passages (or convert the index of an\n"
    "        earlier version); queries never do it themselves\n\n" RG_CLI_COMMON_HELP;


json_t *rg_stats_to_json(const rg_store_stats *s);

json_t *rg_stats_to_json(const rg_store_stats *s)
{
    json_t *comp = json_object();
    for (size_t i = 0; i < s->ncomponents; i++)
        json_object_set_new(comp, s->components[i].name, json_integer(s->components[i].bytes));
    json_t *j = json_pack("{s:I, s:I, s:I, s:o}", "records", (json_int_t)s->records, "tombstones",
                          (json_int_t)s->tombstones, "bytes_total", (json_int_t)s->bytes_total, "bytes_by_component",
                          comp);
    if (s->details)
        json_object_set(j, "details", s->details);
    return j;
}

static int do_list(rg_cli *cli, rg_store *store)
{
    rg_collection_info *infos = NULL;
    size_t n = 0;
    rg_error err;
    if (rg_store_list(store, &infos, &n, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    if (cli->format == RG_FORMAT_JSON) {
        rg_cli_print_json(rg_collections_json(rg_store_backend(store), infos, n));
    } else if (n == 0) {
        printf("no collections in the %s backend\n", rg_store_backend(store));
    } else {
        printf("%-32s %10s  %s\n", "NAME", "RECORDS", "EMBEDDER");
        for (size_t i = 0; i < n; i++) {
            char id[400];
            rg_embedder_identity_format(&infos[i].identity, id, sizeof id);
            /* The model name comes from a directory name or a server. */
            printf("%-32s %10lld  ", infos[i].name, (long long)infos[i].count);
            rg_fputs_escaped(id, stdout);
            puts(infos[i].damaged ? "  DAMAGED" : "");
        }
        for (size_t i = 0; i < n; i++)
            if (infos[i].damaged)
                fprintf(stderr,
                        "ragged: collection '%s' is damaged (files it needs are missing); 'ragged collections check "
                        "%s --backend %s' lists what, 'ragged collections info %s' says how to recover\n",
                        infos[i].name, infos[i].name, rg_store_backend(store), infos[i].name);
    }
    free(infos);
    return 0;
}

static int do_check(rg_cli *cli, rg_store *store, const char *name)
{
    rg_error err;
    json_t *report = NULL;
    bool ok = false;
    if (rg_store_check(store, name, &report, &ok, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    if (cli->format == RG_FORMAT_JSON) {
        rg_cli_print_json(json_pack("{s:s, s:s, s:b, s:o}", "collection", name, "backend", rg_store_backend(store),
                                    "ok", ok, "components", report));
    } else {
        size_t i;
        json_t *c;
        json_array_foreach(report, i, c)
        {
            json_t *v = json_object_get(c, "ok");
            printf("%-10s %-8s %s\n", json_string_value(json_object_get(c, "component")),
                   json_is_true(v) ? "ok" : json_is_false(v) ? "DAMAGED" : "-",
                   json_string_value(json_object_get(c, "detail")));
        }
        printf("collection %s (%s): %s\n", name, rg_store_backend(store), ok ? "ok" : "DAMAGED");
        json_decref(report);
    }
    if (!ok)
        fprintf(stderr,
                "ragged: collection '%s' is damaged (see above); restore its directory from a backup, or delete "
                "it and ingest again (a damaged BM25 index alone: 'ragged collections reindex %s' rebuilds it)\n",
                name, name);
    return ok ? 0 : 1;
}

static int do_info(rg_cli *cli, rg_store *store, const char *name)
{
    rg_error err;
    rg_collection *coll = NULL;
    /* No embedder: info works whatever embedder is configured. */
    rg_status st = rg_collection_open(store, name, NULL, false, &coll, &err);
    if (st != RG_OK)
        return rg_cli_fail(cli, &err);
    rg_collection_info info;
    rg_store_stats stats;
    st = rg_collection_info_get(coll, &info, &err);
    if (st == RG_OK)
        st = rg_collection_stats(coll, &stats, &err);
    int rc = 0;
    if (st != RG_OK) {
        rc = rg_cli_fail(cli, &err);
    } else if (cli->format == RG_FORMAT_JSON) {
        json_t *j = json_pack("{s:s, s:s, s:I, s:o, s:o}", "name", name, "backend", rg_store_backend(store), "records",
                              (json_int_t)info.count, "embedder", rg_embedder_identity_to_json(&info.identity), "stats",
                              rg_stats_to_json(&stats));
        rg_cli_print_json(j);
    } else {
        char id[400];
        rg_embedder_identity_format(&info.identity, id, sizeof id);
        printf("collection  %s\nbackend     %s\nrecords     %lld\nembedder    ", name, rg_store_backend(store),
               (long long)info.count);
        rg_fputs_escaped(id, stdout);
        putchar('\n');
        if (info.identity.settings[0]) {
            fputs("settings    ", stdout);
            rg_fputs_escaped(info.identity.settings, stdout);
            putchar('\n');
        }
        if (stats.tombstones)
            printf("tombstones  %lld\n", (long long)stats.tombstones);
        if (stats.bytes_total >= 0)
            printf("disk        %lld bytes", (long long)stats.bytes_total);
        if (stats.records > 0 && stats.bytes_total >= 0)
            printf(" (%.0f bytes per record)", (double)stats.bytes_total / (double)stats.records);
        putchar('\n');
        for (size_t i = 0; i < stats.ncomponents; i++)
            printf("  %-26s %12lld\n", stats.components[i].name, (long long)stats.components[i].bytes);
        if (stats.details) {
            char *d = json_dumps(stats.details, JSON_COMPACT | JSON_SORT_KEYS);
            printf("details     %s\n", d);
            free(d);
        }
    }
    if (st == RG_OK)
        rg_store_stats_free(&stats);
    rg_collection_close(coll);
    return rc;
}

static int do_reindex(rg_cli *cli, const char *name)
{
    rg_embedder *emb = NULL;
    rg_collection *coll = NULL;
    rg_store *cstore = NULL;
    rg_error err;
    cli->collection = name;
    int rc = rg_cli_open_collection(cli, false, &emb, &cstore, &coll);
    bool converted = false;
    int64_t records = 0;
    if (rc == 0 && rg_collection_lexical_reindex(coll, &converted, &records, &err) != RG_OK)
        rc = rg_cli_fail(cli, &err);
    else if (rc)
        ; /* the message is out */
    else if (cli->format == RG_FORMAT_JSON)
        rg_cli_print_json(json_pack("{s:s, s:s, s:I, s:s}", "reindexed", name, "backend", rg_store_backend(cstore),
                                    "records", (json_int_t)records, "how",
                                    converted ? "converted" : "rebuilt"));
    else
        printf("collection %s (%s): BM25 index %s, %lld records\n", name, rg_store_backend(cstore),
               converted ? "converted from the FTS5 sidecar of an earlier version" : "rebuilt from the passages",
               (long long)records);
    rg_collection_close(coll);
    rg_store_close(cstore);
    rg_embedder_free(emb);
    return rc;
}

int rg_cmd_collections(rg_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {RG_CLI_COMMON_OPTIONS, {"yes", no_argument, NULL, 'y'}, {0}};
    int c, rc = 0;
    bool yes = false;
    rg_cli_getopt_reset();
    while ((c = getopt_long(argc, argv, "hy", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(HELP, stdout);
            return 0;
        }
        if (c == 'y') {
            yes = true;
            continue;
        }
        if (!rg_cli_common_option(cli, c, optarg, &rc))
            return rc;
    }
    if (optind >= argc)
        return rg_cli_usage_error(cli, "collections needs an action: list, create, delete, info, compact, check or reindex");
    const char *action = argv[optind];
    const char *name = optind + 1 < argc ? argv[optind + 1] : NULL;
    bool needs_name = strcmp(action, "list") != 0;
    if (strcmp(action, "list") && strcmp(action, "create") && strcmp(action, "delete") && strcmp(action, "info") &&
        strcmp(action, "compact") && strcmp(action, "check") && strcmp(action, "reindex")) {
        char dym[96];
        return rg_cli_usage_error(cli, "unknown action '%s'%s; use list, create, delete, info, compact, check or reindex",
                                  action, rg_cli_suggest_action(cli, action, dym, sizeof dym));
    }
    if (needs_name && !name)
        return rg_cli_usage_error(cli, "collections %s needs a collection name", action);
    if (optind + (needs_name ? 2 : 1) < argc)
        return rg_cli_usage_error(cli, "unexpected argument '%s'", argv[optind + (needs_name ? 2 : 1)]);
    rg_config *cfg = rg_cli_config(cli);
    if (!cfg)
        return 2;
    rg_error err;
    rg_store *store = NULL;
    if (rg_store_open(cfg, NULL, &store, &err) != RG_OK)
        return rg_cli_fail(cli, &err);
    if (!strcmp(action, "list")) {
        rc = do_list(cli, store);
    } else if (!strcmp(action, "info")) {
        rc = do_info(cli, store, name);
    } else if (!strcmp(action, "check")) {
        rc = do_check(cli, store, name);
    } else if (!strcmp(action, "delete")) {
        /* A person at a terminal confirms; scripts (no terminal) and --yes
         * do not.  The collection must exist before anyone is asked. */
        rg_collection *coll = NULL;
        int64_t count = -1;
        if (!yes && isatty(STDIN_FILENO) && isatty(STDERR_FILENO) &&
            rg_collection_open(store, name, NULL, false, &coll, &err) == RG_OK) {
            rg_collection_count(coll, &count, &err);
            rg_collection_close(coll);
            char prompt[RG_COLLECTION_NAME_MAX + 128];
            snprintf(prompt, sizeof prompt, "Delete collection %s (%lld records) from the %s backend? This cannot be undone.",
                     name, (long long)count, rg_store_backend(store));
            if (!rg_cli_confirm(prompt)) {
                rg_error_set(&err, RG_ERR_INVALID, "collection %s not deleted (answer 'y' to delete, or pass --yes)",
                             name);
                fprintf(stderr, "ragged: %s\n", err.msg);
                rg_store_close(store);
                return 1;
            }
        }
        if (rg_store_delete_collection(store, name, &err) != RG_OK)
            rc = rg_cli_fail(cli, &err);
        else if (cli->format == RG_FORMAT_JSON)
            rg_cli_print_json(json_pack("{s:s, s:s}", "deleted", name, "backend", rg_store_backend(store)));
        else
            printf("deleted collection %s from the %s backend\n", name, rg_store_backend(store));
    } else if (!strcmp(action, "create")) {
        rg_embedder *emb = NULL;
        rg_status st = rg_collection_name_check_new(name, &err);
        if (st == RG_OK)
            st = rg_embedder_open(cfg, &emb, &err);
        if (st == RG_OK)
            st = rg_store_create_collection(store, name, &emb->identity, &err);
        if (st != RG_OK)
            rc = rg_cli_fail(cli, &err);
        else if (cli->format == RG_FORMAT_JSON)
            rg_cli_print_json(json_pack("{s:s, s:s, s:o}", "created", name, "backend", rg_store_backend(store),
                                        "embedder", rg_embedder_identity_to_json(&emb->identity)));
        else
            printf("created collection %s in the %s backend\n", name, rg_store_backend(store));
        rg_embedder_free(emb);
    } else if (!strcmp(action, "reindex")) {
        rc = do_reindex(cli, name);
    } else { /* compact */
        rg_embedder *emb = NULL;
        rg_collection *coll = NULL;
        rg_store *cstore = NULL;
        /* Opened like query does, with the embedder it was built with. */
        cli->collection = name;
        rc = rg_cli_open_collection(cli, false, &emb, &cstore, &coll);
        if (rc == 0 && rg_collection_compact(coll, &err) != RG_OK)
            rc = rg_cli_fail(cli, &err);
        else if (rc)
            ; /* the message is out */
        else if (cli->format == RG_FORMAT_JSON)
            rg_cli_print_json(json_pack("{s:s}", "compacted", name));
        else
            printf("compacted collection %s\n", name);
        rg_collection_close(coll);
        rg_store_close(cstore);
        rg_embedder_free(emb);
    }
    rg_store_close(store);
    return rc;
}
