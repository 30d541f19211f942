#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static void oom(size_t n)
{
    fprintf(stderr, "ragged: out of memory (allocating %zu bytes)\n", n);
    abort();
}

void *rg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *rg_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    return p;
}

void *rg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *rg_xstrdup(const char *s)
{
    return rg_xstrndup(s, strlen(s));
}

char *rg_xstrndup(const char *s, size_t n)
{
    char *p = rg_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rg_xasprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = rg_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

/* ---- rg_buf ---- */

void rg_buf_init(rg_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void rg_buf_free(rg_buf *b)
{
    free(b->data);
    rg_buf_init(b);
}

void rg_buf_reserve(rg_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = rg_xrealloc(b->data, cap);
    b->cap = cap;
}

void rg_buf_append(rg_buf *b, const void *data, size_t n)
{
    rg_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void rg_buf_puts(rg_buf *b, const char *s)
{
    rg_buf_append(b, s, strlen(s));
}

void rg_buf_putc(rg_buf *b, char c)
{
    rg_buf_append(b, &c, 1);
}

void rg_buf_printf(rg_buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    rg_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

char *rg_buf_steal(rg_buf *b)
{
    if (!b->data)
        rg_buf_reserve(b, 0), b->data[0] = '\0';
    char *p = b->data;
    rg_buf_init(b);
    return p;
}

/* ---- files ---- */

rg_status rg_read_file(const char *path, size_t max_bytes, char **out, size_t *len, rg_error *err)
{
    /* Non-blocking: opening a FIFO for reading blocks until a writer comes;
     * the fstat below then refuses it (and devices) before any read. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return rg_error_set(err, errno == ENOENT ? RG_ERR_NOTFOUND : RG_ERR_IO, "cannot open %s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rg_error_set(err, RG_ERR_IO, "%s is not a regular file", path);
    }
    if (max_bytes && (size_t)st.st_size > max_bytes) {
        close(fd);
        return rg_error_set(err, RG_ERR_INVALID, "%s is %lld bytes, over the limit of %zu", path,
                            (long long)st.st_size, max_bytes);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    if (len)
        *len = got;
    return RG_OK;
}

int rg_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

rg_status rg_write_file_atomic(const char *path, const void *data, size_t len, rg_error *err)
{
    char *tmp = rg_xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rg_error_set(err, RG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return RG_ERR_IO;
    }
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rg_error_set(err, RG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return RG_ERR_IO;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rg_error_set(err, RG_ERR_IO, "cannot flush %s: %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return RG_ERR_IO;
    }
    if (rename(tmp, path) != 0) {
        rg_error_set(err, RG_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return RG_ERR_IO;
    }
    free(tmp);
    char *dir = rg_path_dirname(path);
    rg_fsync_dir(dir);
    free(dir);
    return RG_OK;
}

rg_status rg_mkdir_p(const char *path, int mode, rg_error *err)
{
    char *p = rg_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
            rg_error_set(err, RG_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
            free(p);
            return RG_ERR_IO;
        }
        *s = '/';
    }
    if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
        rg_error_set(err, RG_ERR_IO, "cannot create directory %s: %s", p, strerror(errno));
        free(p);
        return RG_ERR_IO;
    }
    free(p);
    if (!rg_is_dir(path))
        return rg_error_set(err, RG_ERR_IO, "%s exists and is not a directory", path);
    return RG_OK;
}

rg_status rg_remove_tree(const char *path, rg_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? RG_OK : rg_error_set(err, RG_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d)
            return rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        struct dirent *de;
        rg_status rc = RG_OK;
        while (rc == RG_OK && (de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *child = rg_path_join(path, de->d_name);
            rc = rg_remove_tree(child, err);
            free(child);
        }
        closedir(d);
        if (rc != RG_OK)
            return rc;
        if (rmdir(path) != 0)
            return rg_error_set(err, RG_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
        return RG_OK;
    }
    if (unlink(path) != 0)
        return rg_error_set(err, RG_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return RG_OK;
}

bool rg_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

bool rg_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int64_t rg_dir_size(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (S_ISREG(st.st_mode))
        return (int64_t)st.st_size;
    if (!S_ISDIR(st.st_mode))
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *child = rg_path_join(path, de->d_name);
        total += rg_dir_size(child);
        free(child);
    }
    closedir(d);
    return total;
}

char *rg_path_join(const char *a, const char *b)
{
    if (!a || !*a)
        return rg_xstrdup(b);
    if (b[0] == '/')
        return rg_xstrdup(b);
    size_t la = strlen(a);
    return rg_xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

char *rg_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return rg_xstrdup(".");
    if (slash == path)
        return rg_xstrdup("/");
    return rg_xstrndup(path, (size_t)(slash - path));
}

/* ---- hashing ---- */

uint64_t rg_hash64(const void *data, size_t n, uint64_t seed)
{
    /* FNV-1a followed by a murmur-style finaliser: cheap, well mixed, stable
     * across platforms (the builtin embedder's vectors depend on it). */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* SHA-256 (FIPS 180-4).  Small enough to keep here rather than pull in a
 * crypto library for content hashes. */
typedef struct {
    uint32_t h[8];
    uint64_t len;
    unsigned char buf[64];
    size_t nbuf;
} sha256_ctx;

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx *c, const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR32(w[i - 15], 7) ^ ROR32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR32(w[i - 2], 17) ^ ROR32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6],
             h = c->h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t s1 = ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + s1 + ch + K256[i] + w[i];
        uint32_t s0 = ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22);
        uint32_t mj = (a & b) ^ (a & cc) ^ (b & cc);
        uint32_t t2 = s0 + mj;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = cc;
        cc = b;
        b = a;
        a = t1 + t2;
    }
    c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
    c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

static void sha256_init(sha256_ctx *c)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->nbuf = 0;
}

static void sha256_update(sha256_ctx *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    c->len += n;
    while (n) {
        size_t take = RG_MIN(n, 64 - c->nbuf);
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take;
        p += take;
        n -= take;
        if (c->nbuf == 64) {
            sha256_block(c, c->buf);
            c->nbuf = 0;
        }
    }
}

static void sha256_final_hex(sha256_ctx *c, char out[65])
{
    uint64_t bits = c->len * 8;
    unsigned char pad = 0x80;
    sha256_update(c, &pad, 1);
    unsigned char zero = 0;
    while (c->nbuf != 56)
        sha256_update(c, &zero, 1);
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    sha256_update(c, lenb, 8);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 4; j++) {
            unsigned v = (c->h[i] >> (24 - 8 * j)) & 0xff;
            out[i * 8 + j * 2] = hex[v >> 4];
            out[i * 8 + j * 2 + 1] = hex[v & 15];
        }
    out[64] = '\0';
}

void rg_sha256_hex(const void *data, size_t n, char out[65])
{
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, n);
    sha256_final_hex(&c, out);
}

rg_status rg_sha256_file_hex(const char *path, char out[65], rg_error *err)
{
    /* As rg_read_file: never block on a FIFO, never hash a device. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return rg_error_set(err, RG_ERR_IO, "%s is not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return rg_error_set(err, RG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    sha256_ctx c;
    sha256_init(&c);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&c, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return rg_error_set(err, RG_ERR_IO, "cannot read %s", path);
    sha256_final_hex(&c, out);
    return RG_OK;
}

/* Slicing-by-8 (eight table lookups per 8 bytes instead of one per byte):
 * opening a leann collection checks the CRC of its whole graph and codes
 * files, and the bytewise loop was a fifth of a one-shot CLI query's
 * instructions.  Bytes are assembled explicitly, so the result does not
 * depend on the host's byte order. */
uint32_t rg_crc32c(uint32_t crc, const void *data, size_t n)
{
    static uint32_t table[8][256];
    static int ready;
    /* The tables are a pure function of the polynomial; computing them twice
     * in a race writes identical values, so no lock is needed. */
    if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0x82f63b78u ^ (c >> 1) : c >> 1;
            table[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; i++)
            for (int t = 1; t < 8; t++)
                table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    const unsigned char *p = data;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
              table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

double rg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int rg_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

const void *rg_memrchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    while (n--)
        if (p[n] == (unsigned char)c)
            return p + n;
    return NULL;
}

float rg_dot(const float *a, const float *b, size_t n)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++)
        s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

void rg_normalize(float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    if (s <= 0)
        return;
    float inv = (float)(1.0 / sqrt(s));
    for (size_t i = 0; i < n; i++)
        v[i] *= inv;
}

size_t rg_utf8_seq_len(const unsigned char *p, size_t avail)
{
    if (!avail)
        return 0;
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0)
        len = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > avail)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3f);
    }
    /* No overlong forms, no surrogates, nothing past U+10FFFF. */
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool rg_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t len = rg_utf8_seq_len(p + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

/* ---- escaping outside text for terminals ---- */

void rg_buf_put_escaped(rg_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f) {
            size_t j = i;
            while (j < n && p[j] >= 0x20 && p[j] < 0x7f)
                j++;
            rg_buf_append(b, p + i, j - i);
            i = j;
            continue;
        }
        if (c < 0x80) {
            switch (c) {
            case '\n': rg_buf_puts(b, "\\n"); break;
            case '\r': rg_buf_puts(b, "\\r"); break;
            case '\t': rg_buf_puts(b, "\\t"); break;
            case 0x1b: rg_buf_puts(b, "\\e"); break;
            default: rg_buf_printf(b, "\\x%02x", c); break;
            }
            i++;
            continue;
        }
        size_t len = rg_utf8_seq_len(p + i, n - i);
        /* C1 controls (U+0080..U+009F) act as escapes on some terminals. */
        if (len == 0 || (len == 2 && c == 0xc2 && p[i + 1] < 0xa0)) {
            size_t m = len ? len : 1;
            for (size_t k = 0; k < m; k++)
                rg_buf_printf(b, "\\x%02x", p[i + k]);
            i += m;
            continue;
        }
        rg_buf_append(b, p + i, len);
        i += len;
    }
}

char *rg_escape_text(const char *s)
{
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_put_escaped(&b, s ? s : "", s ? strlen(s) : 0);
    return rg_buf_steal(&b);
}

char *rg_utf8_lossy(const char *s)
{
    size_t n = s ? strlen(s) : 0, k;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    rg_buf b;
    rg_buf_init(&b);
    rg_buf_reserve(&b, n + 1);
    for (size_t i = 0; i < n; i += k ? k : 1) {
        k = p[i] < 0x80 ? 1 : rg_utf8_seq_len(p + i, n - i);
        if (k)
            rg_buf_append(&b, p + i, k);
        else
            rg_buf_printf(&b, "\\x%02x", p[i]);
    }
    return rg_buf_steal(&b);
}

json_t *rg_json_error(const char *code, const char *message)
{
    char *m = rg_utf8_lossy(message);
    json_t *j = json_pack("{s:s, s:s}", "code", code, "message", m);
    free(m);
    return j;
}

void rg_fputs_escaped(const char *s, FILE *f)
{
    char *e = rg_escape_text(s);
    fputs(e, f);
    free(e);
}
