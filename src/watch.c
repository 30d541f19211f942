/* Re-ingest on change (see watch.h). */
#include "watch.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include "embedder.h"
#include "ingest.h"
#include "store.h"
#include "util.h"

/* Without inotify: how often the paths are rescanned. */
#define POLL_RESCAN_MS 3000

struct rg_watch {
    rg_watch_opts o;
    char **paths;
    pthread_t thread;
    pthread_mutex_t mu;
    volatile sig_atomic_t stop;   /* ours, set by rg_watch_stop; o.stop is the process's */
    unsigned rounds;
    rg_status last;
    int fd;                       /* inotify; -1 when polling */
};

static bool stopping(rg_watch *w)
{
    return w->stop || (w->o.stop && *w->o.stop);
}

/* Stop flag for rg_ingest: either ours or the process's.  rg_ingest takes
 * one pointer, so a helper thread would be needed to merge them; instead
 * rg_watch_stop also sets ours and the process's flag is copied into ours
 * before every file by on_progress. */
static void on_progress(void *ctx, rg_ingest_phase phase, int64_t done, int64_t total, const char *current)
{
    rg_watch *w = ctx;
    if (w->o.stop && *w->o.stop)
        w->stop = 1;
}

static void on_warning(void *ctx, const char *path, const char *reason)
{
    rg_watch *w = ctx;
    if (!w->o.quiet)
        fprintf(stderr, "ragged watch: skipped %s: %s\n", path, reason);
}

static rg_status round_ingest(rg_watch *w)
{
    rg_error err;
    rg_embedder *emb = NULL;
    rg_store *store = NULL;
    rg_collection *coll = NULL;
    rg_status st = rg_embedder_open(w->o.cfg, &emb, &err);
    if (st == RG_OK)
        st = rg_store_open(w->o.cfg, w->o.backend, &store, &err);
    if (st == RG_OK)
        st = rg_collection_open(store, w->o.collection, emb, true, &coll, &err);
    rg_ingest_report rep;
    rg_ingest_report_init(&rep);
    double t0 = rg_now();
    if (st == RG_OK) {
        rg_ingest_opts io = {.prune = true, .interrupted = &w->stop, .on_progress = on_progress, .progress_ctx = w,
                             .on_warning = on_warning};
        st = rg_ingest_paths(coll, w->o.cfg, (const char *const *)w->paths, w->o.npaths, &io, &rep, &err);
    }
    rg_collection_close(coll);
    rg_store_close(store);
    rg_embedder_free(emb);
    bool changed = rep.files_ingested || rep.chunks_removed || rep.documents_pruned;
    if (!w->o.quiet) {
        if (st == RG_OK)
            fprintf(stderr,
                    "ragged watch: %lld files: %lld new or changed, %lld unchanged, %lld skipped; %lld chunks "
                    "written, %lld removed, %lld documents pruned (%.2f s)\n",
                    (long long)rep.files_total, (long long)rep.files_ingested, (long long)rep.files_unchanged,
                    (long long)rep.files_skipped, (long long)rep.chunks_written, (long long)rep.chunks_removed,
                    (long long)rep.documents_pruned, rg_now() - t0);
        else if (st != RG_ERR_INTERRUPTED)
            fprintf(stderr, "ragged watch: %s (trying again at the next change)\n", err.msg);
    }
    rg_ingest_report_free(&rep);
    pthread_mutex_lock(&w->mu);
    w->rounds++;
    w->last = st;
    pthread_mutex_unlock(&w->mu);
    if (changed && w->o.on_change)
        w->o.on_change(w->o.ctx);
    return st;
}

#ifdef __linux__
#define WATCH_MASK                                                                                                     \
    (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |            \
     IN_ATTRIB | IN_ONLYDIR)

/* Watches dir and every directory below it (hidden ones and node_modules
 * are skipped, as the ingest walk skips them).  Depth-limited: a symlink
 * loop cannot recurse forever (IN_DONT_FOLLOW and lstat). */
static void add_tree(int fd, const char *dir, int depth)
{
    if (depth > 64 || inotify_add_watch(fd, dir, WATCH_MASK | IN_DONT_FOLLOW) < 0)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "node_modules"))
            continue;
        char *p = rg_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            add_tree(fd, p, depth + 1);
        free(p);
    }
    closedir(d);
}

static void add_watches(rg_watch *w)
{
    for (size_t i = 0; i < w->o.npaths; i++) {
        struct stat st;
        if (stat(w->paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            add_tree(w->fd, w->paths[i], 0);
        } else {
            /* A file: watch its directory (editors replace files by rename). */
            char *dir = rg_xstrdup(w->paths[i]);
            char *slash = strrchr(dir, '/');
            if (slash == dir)
                slash[1] = '\0';
            else if (slash)
                *slash = '\0';
            else
                strcpy(dir, ".");
            inotify_add_watch(w->fd, dir, WATCH_MASK);
            free(dir);
        }
    }
}

/* Drains pending events; true if any.  New directories get watches. */
static bool drain(rg_watch *w, int timeout_ms)
{
    struct pollfd p = {.fd = w->fd, .events = POLLIN};
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool any = false, rescan = false;
    ssize_t n;
    while ((n = read(w->fd, buf, sizeof buf)) > 0) {
        for (char *q = buf; q < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            any = true;
            if (ev->mask & (IN_Q_OVERFLOW | IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF))
                rescan = true;
            q += sizeof *ev + ev->len;
        }
    }
    if (rescan)
        add_watches(w);   /* adding an existing watch is harmless */
    return any;
}
#endif

static void *watch_main(void *arg)
{
    rg_watch *w = arg;
    unsigned debounce = w->o.debounce_ms ? w->o.debounce_ms : 500;
    round_ingest(w);
    while (!stopping(w)) {
#ifdef __linux__
        if (w->fd >= 0) {
            if (!drain(w, 200))
                continue;
            /* Settle: wait until debounce ms pass without events. */
            double quiet_since = rg_now();
            while (!stopping(w) && (rg_now() - quiet_since) * 1000.0 < debounce)
                if (drain(w, 50))
                    quiet_since = rg_now();
            if (!stopping(w))
                round_ingest(w);
            continue;
        }
#endif
        for (unsigned slept = 0; slept < POLL_RESCAN_MS && !stopping(w); slept += 100)
            usleep(100 * 1000);
        if (!stopping(w))
            round_ingest(w);
    }
    return NULL;
}

rg_status rg_watch_start(const rg_watch_opts *o, rg_watch **out, rg_error *err)
{
    *out = NULL;
    if (!o->npaths)
        return rg_error_set(err, RG_ERR_INVALID, "watch needs at least one path");
    rg_watch *w = rg_xcalloc(1, sizeof *w);
    w->o = *o;
    w->paths = rg_xcalloc(o->npaths, sizeof *w->paths);
    for (size_t i = 0; i < o->npaths; i++) {
        char *abs = realpath(o->paths[i], NULL);
        if (!abs) {
            rg_status st = rg_error_set(err, RG_ERR_NOTFOUND, "cannot watch %s: %s", o->paths[i], strerror(errno));
            for (size_t j = 0; j < i; j++)
                free(w->paths[j]);
            free(w->paths);
            free(w);
            return st;
        }
        w->paths[i] = abs;
    }
    w->o.paths = (const char *const *)w->paths;
    w->fd = -1;
#ifdef __linux__
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd >= 0)
        add_watches(w);
    else if (!o->quiet)
        fprintf(stderr, "ragged watch: inotify unavailable (%s); rescanning every %d s instead\n", strerror(errno),
                POLL_RESCAN_MS / 1000);
#endif
    pthread_mutex_init(&w->mu, NULL);
    if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
        if (w->fd >= 0)
            close(w->fd);
        for (size_t i = 0; i < o->npaths; i++)
            free(w->paths[i]);
        free(w->paths);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rg_error_set(err, RG_ERR_NOMEM, "cannot start the watch thread");
    }
    *out = w;
    return RG_OK;
}

unsigned rg_watch_rounds(rg_watch *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned n = w->rounds;
    pthread_mutex_unlock(&w->mu);
    return n;
}

rg_status rg_watch_stop(rg_watch *w)
{
    if (!w)
        return RG_OK;
    w->stop = 1;
    pthread_join(w->thread, NULL);
    rg_status st = w->last;
    if (w->fd >= 0)
        close(w->fd);
    for (size_t i = 0; i < w->o.npaths; i++)
        free(w->paths[i]);
    free(w->paths);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return st;
}
