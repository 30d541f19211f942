#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "reader.h"
#include "util.h"

/* Directories deeper than this are reported, not walked: recursion depth
 * stays bounded whatever the tree. */
#define WALK_MAX_DEPTH 128
/* Ignore files larger than this are not read (a real one is a few KB). */
#define IGNORE_FILE_MAX (1u << 20)

/* ---- a set of (device, inode) pairs: what was already reached ---- */

typedef struct fid {
    dev_t dev;
    ino_t ino;
} fid;

typedef struct fid_set {
    fid *slots;
    unsigned char *used;
    size_t cap, n;
} fid_set;

static size_t fid_hash(fid f)
{
    uint64_t k[2] = {(uint64_t)f.dev, (uint64_t)f.ino};
    return (size_t)rg_hash64(k, sizeof k, 0x5eed);
}

/* Adds f; false if it was already there. */
static bool fid_add(fid_set *s, fid f)
{
    if ((s->n + 1) * 2 > s->cap) {
        fid_set g = {0};
        g.cap = s->cap ? s->cap * 2 : 256;
        g.slots = rg_xcalloc(g.cap, sizeof *g.slots);
        g.used = rg_xcalloc(g.cap, 1);
        for (size_t i = 0; i < s->cap; i++)
            if (s->used[i])
                fid_add(&g, s->slots[i]);
        free(s->slots);
        free(s->used);
        *s = g;
    }
    for (size_t i = fid_hash(f) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->used[i]) {
            s->used[i] = 1;
            s->slots[i] = f;
            s->n++;
            return true;
        }
        if (s->slots[i].dev == f.dev && s->slots[i].ino == f.ino)
            return false;
    }
}

static void fid_set_free(fid_set *s)
{
    free(s->slots);
    free(s->used);
}

/* ---- walk state ---- */

typedef struct ignore_frame {
    rg_ignore *rules;
    size_t base_len; /* length of the relative path of the directory holding the file ("" = root: 0) */
} ignore_frame;

typedef struct walker {
    const rg_walk_opts *o;
    rg_walk_result *r;
    rg_ignore *exclude, *include;
    fid_set files, dirs;
    fid ancestors[WALK_MAX_DEPTH + 2];
    size_t nancestors;
    ignore_frame frames[WALK_MAX_DEPTH + 2];
    size_t nframes;
    bool stop;
} walker;

static void warn(walker *w, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(walker *w, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->r->warnings++;
    if (w->o->on_warning)
        w->o->on_warning(w->o->ctx, path, msg);
}

bool rg_path_inside(const char *path, const char *root)
{
    size_t lr = strlen(root);
    if (lr == 1 && root[0] == '/')
        return path[0] == '/';
    return strncmp(path, root, lr) == 0 && (path[lr] == '/' || path[lr] == '\0');
}

static bool inside_roots(const walker *w, const char *path)
{
    for (size_t i = 0; i < w->r->nroots; i++)
        if (rg_path_inside(path, w->r->roots[i]))
            return true;
    return false;
}

static const char *kind_name(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO (named pipe)";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* The reader that claims a regular file, from its name and first bytes.
 * Opened non-blocking: the file was a regular file when stat()ed, but a
 * FIFO swapped in since must not block the walk. */
static const char *reader_of(const char *path)
{
    unsigned char head[512];
    ssize_t n = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            do
                n = read(fd, head, sizeof head);
            while (n < 0 && errno == EINTR);
        }
        close(fd);
    }
    const rg_reader_ops *r = rg_reader_find(path, head, n > 0 ? (size_t)n : 0);
    return r ? r->name : NULL;
}

static void push_file(walker *w, const char *path, const char *reader, bool named)
{
    rg_walk_result *r = w->r;
    if (r->nfiles == r->capfiles) {
        r->capfiles = r->capfiles ? r->capfiles * 2 : 64;
        r->files = rg_xrealloc(r->files, r->capfiles * sizeof *r->files);
    }
    r->files[r->nfiles++] = (rg_walk_file){rg_xstrdup(path), reader, named};
    if (w->o->on_progress && r->nfiles % 256 == 0)
        w->o->on_progress(w->o->ctx, (int64_t)r->nfiles);
}

static void push_unreadable(walker *w, const char *dir)
{
    rg_walk_result *r = w->r;
    if (r->nunreadable == r->capunreadable) {
        r->capunreadable = r->capunreadable ? r->capunreadable * 2 : 8;
        r->unreadable = rg_xrealloc(r->unreadable, r->capunreadable * sizeof *r->unreadable);
    }
    r->unreadable[r->nunreadable++] = rg_xstrdup(dir);
}

/* Whether an entry at rel (relative to the walked root) is selected:
 * --exclude first, then the ignore files from the deepest up (the first
 * that has an opinion decides, as in git), then --include for files. */
static bool selected(const walker *w, const char *rel, bool is_dir)
{
    if (rg_ignore_match(w->exclude, rel, is_dir) == RG_IGNORE_EXCLUDE)
        return false;
    for (size_t i = w->nframes; i-- > 0;) {
        const ignore_frame *f = &w->frames[i];
        const char *sub = rel + f->base_len + (f->base_len ? 1 : 0);
        rg_ignore_verdict v = rg_ignore_match(f->rules, sub, is_dir);
        if (v == RG_IGNORE_EXCLUDE)
            return false;
        if (v == RG_IGNORE_INCLUDE)
            break;
    }
    if (!is_dir && rg_ignore_count(w->include))
        return rg_ignore_match(w->include, rel, false) == RG_IGNORE_EXCLUDE;
    return true;
}

/* Reads an ignore file of dir into a rule set (NULL if absent or empty). */
static rg_ignore *load_ignore(walker *w, const char *dir, const char *name, rg_ignore *into)
{
    char *path = rg_path_join(dir, name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        free(path);
        return into;
    }
    char *data = NULL;
    size_t len = 0;
    rg_error err;
    if (rg_read_file(path, IGNORE_FILE_MAX, &data, &len, &err) != RG_OK) {
        warn(w, path, "ignore file not read: %s", err.msg);
        free(path);
        return into;
    }
    if (!into)
        into = rg_ignore_new();
    rg_ignore_add_text(into, data, len);
    free(data);
    free(path);
    return into;
}

static bool has_git(const char *dir)
{
    char *p = rg_path_join(dir, ".git");
    struct stat st;
    bool yes = lstat(p, &st) == 0;
    free(p);
    return yes;
}

/* Whether dir is inside a git work tree: a .git at it or above. */
static bool in_git_tree(const char *dir)
{
    char *d = rg_xstrdup(dir);
    bool yes = false;
    for (;;) {
        if (has_git(d)) {
            yes = true;
            break;
        }
        char *slash = strrchr(d, '/');
        if (!slash || slash == d)
            break;
        *slash = '\0';
    }
    if (!yes && strcmp(dir, "/") != 0)
        yes = has_git("/");
    free(d);
    return yes;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join_rel(const char *rel, const char *name)
{
    return *rel ? rg_xasprintf("%s/%s", rel, name) : rg_xstrdup(name);
}

static void walk_dir(walker *w, const char *dir, const char *rel, bool git, int depth);

/* One directory entry (not . or ..): path is dir/name, rel its path
 * relative to the root. */
static void visit(walker *w, const char *path, const char *rel, bool git, int depth)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        warn(w, path, "%s", strerror(errno));
        return;
    }
    char *real = NULL;
    const char *target = path;
    if (S_ISLNK(st.st_mode)) {
        real = realpath(path, NULL);
        if (!real) {
            if (errno == ELOOP)
                warn(w, path, "symbolic link loop (its chain of links never ends); skipped");
            else if (errno == ENOENT)
                warn(w, path, "broken symbolic link (its target does not exist); skipped");
            else
                warn(w, path, "symbolic link not followed: %s", strerror(errno));
            return;
        }
        if (stat(real, &st) != 0) {
            warn(w, path, "symbolic link to %s: %s; skipped", real, strerror(errno));
            free(real);
            return;
        }
        if (!w->o->follow && !inside_roots(w, real)) {
            warn(w, path, "symbolic link to %s, outside the ingested directories; skipped (--follow reads it)", real);
            free(real);
            return;
        }
        target = real;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!selected(w, rel, true)) {
            w->r->excluded++;
        } else {
            fid id = {st.st_dev, st.st_ino};
            bool loop = false;
            for (size_t i = 0; i < w->nancestors; i++)
                loop |= w->ancestors[i].dev == id.dev && w->ancestors[i].ino == id.ino;
            if (loop)
                warn(w, path, "symbolic link loop: it leads back to %s, a directory being walked; not followed",
                     target);
            else if (depth + 1 > WALK_MAX_DEPTH)
                warn(w, path, "directory nesting deeper than %d levels; not descending further", WALK_MAX_DEPTH);
            else if (fid_add(&w->dirs, id))
                walk_dir(w, target, rel, git, depth + 1);
            /* else: reached before (an overlapping argument or a second
             * link to it); its files are already listed. */
        }
    } else if (S_ISREG(st.st_mode)) {
        if (!selected(w, rel, false)) {
            w->r->excluded++;
        } else if (!fid_add(&w->files, (fid){st.st_dev, st.st_ino})) {
            w->r->duplicates++;
        } else {
            const char *reader = reader_of(target);
            if (reader)
                push_file(w, target, reader, false);
            else
                w->r->ignored++;
        }
    } else {
        warn(w, path, "%s, not a regular file; skipped", kind_name(st.st_mode));
    }
    free(real);
}

static void walk_dir(walker *w, const char *dir, const char *rel, bool git, int depth)
{
    if (w->o->interrupted && *w->o->interrupted) {
        w->stop = true;
        return;
    }
    DIR *d = opendir(dir);
    if (!d) {
        warn(w, dir, "directory not read: %s", strerror(errno));
        push_unreadable(w, dir);
        return;
    }
    struct stat st;
    if (fstat(dirfd(d), &st) == 0)
        w->ancestors[w->nancestors++] = (fid){st.st_dev, st.st_ino};
    else
        w->ancestors[w->nancestors++] = (fid){0, 0};
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = rg_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = rg_xstrdup(de->d_name);
    }
    if (errno) {
        warn(w, dir, "directory listing incomplete: %s", strerror(errno));
        push_unreadable(w, dir);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str); /* deterministic order */
    bool pushed = false;
    if (!w->o->no_ignore) {
        git = git || has_git(dir);
        rg_ignore *rules = NULL;
        if (git)
            rules = load_ignore(w, dir, ".gitignore", rules);
        rules = load_ignore(w, dir, ".ignore", rules); /* .ignore after: it overrides, as in rg */
        if (rules) {
            w->frames[w->nframes++] = (ignore_frame){rules, strlen(rel)};
            pushed = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!w->stop && names[i][0] != '.' && strcmp(names[i], "node_modules") != 0) {
            char *path = rg_path_join(dir, names[i]);
            char *crel = join_rel(rel, names[i]);
            visit(w, path, crel, git, depth);
            free(crel);
            free(path);
        } else if (!w->stop) {
            w->r->excluded++; /* hidden entries and node_modules */
        }
        free(names[i]);
    }
    free(names);
    if (pushed)
        rg_ignore_free(w->frames[--w->nframes].rules);
    w->nancestors--;
    if (w->o->interrupted && *w->o->interrupted)
        w->stop = true;
}

static void walk_arg(walker *w, const char *arg)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        int e = errno;
        if (e == ELOOP)
            warn(w, arg, "symbolic link loop; not read");
        else
            warn(w, arg, "%s", strerror(e));
        w->r->failed_args++;
        return;
    }
    char *real = realpath(arg, NULL);
    if (!real) {
        warn(w, arg, "%s", strerror(errno));
        w->r->failed_args++;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        rg_walk_result *r = w->r;
        r->roots = rg_xrealloc(r->roots, (r->nroots + 1) * sizeof *r->roots);
        r->roots[r->nroots++] = rg_xstrdup(real);
        if (fid_add(&w->dirs, (fid){st.st_dev, st.st_ino})) {
            size_t before = r->nunreadable;
            walk_dir(w, real, "", !w->o->no_ignore && in_git_tree(real), 0);
            /* The root itself could not be listed: the argument failed. */
            if (r->nunreadable > before && !strcmp(r->unreadable[before], real))
                r->failed_args++;
        }
    } else if (S_ISREG(st.st_mode)) {
        const char *base = strrchr(real, '/');
        base = base ? base + 1 : real;
        if (access(real, R_OK) != 0) {
            warn(w, arg, "%s", strerror(errno));
            w->r->failed_args++;
        } else if (!selected(w, base, false)) {
            w->r->excluded++;
        } else if (!fid_add(&w->files, (fid){st.st_dev, st.st_ino})) {
            w->r->duplicates++;
        } else {
            /* Named explicitly: kept even without a reader, so the reader's
             * message says why it cannot be read. */
            push_file(w, real, reader_of(real), true);
        }
    } else {
        warn(w, arg, "%s, not a regular file or directory; not read", kind_name(st.st_mode));
        w->r->failed_args++;
    }
    free(real);
}

bool rg_walk(const char *const *paths, size_t n, const rg_walk_opts *o, rg_walk_result *out)
{
    memset(out, 0, sizeof *out);
    walker w = {.o = o, .r = out};
    w.exclude = rg_ignore_new();
    for (size_t i = 0; i < o->nexclude; i++)
        rg_ignore_add(w.exclude, o->exclude[i]);
    w.include = rg_ignore_new();
    for (size_t i = 0; i < o->ninclude; i++)
        rg_ignore_add(w.include, o->include[i]);
    for (size_t i = 0; i < n && !w.stop; i++)
        walk_arg(&w, paths[i]);
    rg_ignore_free(w.exclude);
    rg_ignore_free(w.include);
    fid_set_free(&w.files);
    fid_set_free(&w.dirs);
    if (o->on_progress)
        o->on_progress(o->ctx, (int64_t)out->nfiles);
    return !w.stop;
}

void rg_walk_result_free(rg_walk_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    for (size_t i = 0; i < r->nroots; i++)
        free(r->roots[i]);
    free(r->roots);
    for (size_t i = 0; i < r->nunreadable; i++)
        free(r->unreadable[i]);
    free(r->unreadable);
    memset(r, 0, sizeof *r);
}

bool rg_walk_under_unreadable(const rg_walk_result *r, const char *path)
{
    for (size_t i = 0; i < r->nunreadable; i++)
        if (rg_path_inside(path, r->unreadable[i]))
            return true;
    return false;
}

/* ---- lossless file names ---- */

static bool needs_escape(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (p[i] == '\\' || p[i] < 0x20 || p[i] == 0x7f)
            return true;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = rg_utf8_seq_len(p + i, n - i);
        if (!l)
            return true;
        i += l;
    }
    return false;
}

char *rg_path_escape(const char *raw)
{
    const unsigned char *p = (const unsigned char *)raw;
    size_t n = strlen(raw);
    if (!needs_escape(p, n))
        return rg_xstrdup(raw);
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; i < n;) {
        if (p[i] == '\\') {
            rg_buf_puts(&b, "\\\\");
            i++;
            continue;
        }
        size_t l = p[i] < 0x80 ? 1 : rg_utf8_seq_len(p + i, n - i);
        if (!l || p[i] < 0x20 || p[i] == 0x7f) {
            rg_buf_printf(&b, "\\x%02x", p[i]);
            i++;
            continue;
        }
        rg_buf_append(&b, p + i, l);
        i += l;
    }
    return rg_buf_steal(&b);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *rg_path_unescape(const char *s)
{
    if (!strchr(s, '\\'))
        return rg_xstrdup(s);
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; s[i];) {
        if (s[i] == '\\' && s[i + 1] == '\\') {
            rg_buf_putc(&b, '\\');
            i += 2;
        } else if (s[i] == '\\' && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0 &&
                   (hexval(s[i + 2]) << 4 | hexval(s[i + 3])) != 0) {
            rg_buf_putc(&b, (char)(hexval(s[i + 2]) << 4 | hexval(s[i + 3])));
            i += 4;
        } else {
            rg_buf_putc(&b, s[i++]);
        }
    }
    return rg_buf_steal(&b);
}
