/* Small shared helpers: checked allocation, growable buffers, files, hashing,
 * time.  One place for each so no subsystem grows its own copy. */
#ifndef RG_UTIL_H
#define RG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include "error.h"

#define RG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Allocation that aborts with a message on exhaustion: ragged cannot do
 * anything useful without memory and checking every small malloc obscures
 * the logic.  Large, input-sized allocations should use plain malloc and
 * report RG_ERR_NOMEM instead. */
void *rg_xmalloc(size_t n);
void *rg_xcalloc(size_t count, size_t size);
void *rg_xrealloc(void *p, size_t n);
char *rg_xstrdup(const char *s);
char *rg_xstrndup(const char *s, size_t n);
char *rg_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer, always NUL-terminated. */
typedef struct rg_buf {
    char *data;
    size_t len;
    size_t cap;
} rg_buf;

void rg_buf_init(rg_buf *b);
void rg_buf_free(rg_buf *b);
void rg_buf_reserve(rg_buf *b, size_t extra);
void rg_buf_append(rg_buf *b, const void *data, size_t n);

/* Little-endian integers of the stored formats (leann files, BM25 segments
 * and manifest); inline because decoders call them per value. */
static inline uint32_t rg_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rg_le64(const uint8_t *p)
{
    return (uint64_t)rg_le32(p) | (uint64_t)rg_le32(p + 4) << 32;
}
static inline void rg_le32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static inline void rg_le64_put(uint8_t *p, uint64_t v)
{
    rg_le32_put(p, (uint32_t)v);
    rg_le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline void rg_buf_put_le32(rg_buf *b, uint32_t v)
{
    uint8_t t[4];
    rg_le32_put(t, v);
    rg_buf_append(b, t, 4);
}
static inline void rg_buf_put_le64(rg_buf *b, uint64_t v)
{
    uint8_t t[8];
    rg_le64_put(t, v);
    rg_buf_append(b, t, 8);
}

/* LEB128 unsigned varints (metadata packs, BM25 segments). */
static inline void rg_buf_put_varint(rg_buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    rg_buf_append(b, t, n);
}
/* Reads one from *p (advanced past it); false when truncated at end or
 * longer than 64 bits. */
static inline bool rg_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t c = *(*p)++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}
void rg_buf_puts(rg_buf *b, const char *s);
void rg_buf_putc(rg_buf *b, char c);
void rg_buf_printf(rg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the storage to the caller and resets the buffer. */
char *rg_buf_steal(rg_buf *b);

/* Files */
rg_status rg_read_file(const char *path, size_t max_bytes, char **out, size_t *len, rg_error *err);
/* Writes via a temp file + fsync + rename + directory fsync: the file is
 * either the old or the new content after a crash, never half. */
rg_status rg_write_file_atomic(const char *path, const void *data, size_t len, rg_error *err);
rg_status rg_mkdir_p(const char *path, int mode, rg_error *err);
rg_status rg_remove_tree(const char *path, rg_error *err);
bool rg_path_exists(const char *path);
bool rg_is_dir(const char *path);
/* Sum of regular-file sizes below path (allocated bytes are not used: we
 * report logical sizes, comparable across file systems). */
int64_t rg_dir_size(const char *path);
int rg_fsync_dir(const char *dir);
char *rg_path_join(const char *a, const char *b);
/* Directory part of path ("." if none). */
char *rg_path_dirname(const char *path);

/* Hashing */
uint64_t rg_hash64(const void *data, size_t n, uint64_t seed);   /* fast, non-crypto */
/* Hex SHA-256 of a buffer or file (65 bytes incl. NUL). */
void rg_sha256_hex(const void *data, size_t n, char out[65]);
rg_status rg_sha256_file_hex(const char *path, char out[65], rg_error *err);
uint32_t rg_crc32c(uint32_t crc, const void *data, size_t n);

/* Time in seconds from a monotonic clock. */
double rg_now(void);

/* Number of online cores (>= 1). */
int rg_cpu_count(void);

/* Last occurrence of byte c in s[0..n), or NULL: memrchr is a GNU extension
 * (absent on macOS). */
const void *rg_memrchr(const void *s, int c, size_t n);

/* Vector math on float arrays. */
float rg_dot(const float *a, const float *b, size_t n);
void rg_normalize(float *v, size_t n);

/* UTF-8: true if the buffer is valid UTF-8 (no overlongs, no surrogates). */
bool rg_utf8_valid(const char *s, size_t n);
/* Length (1..4) of the valid UTF-8 sequence at p, 0 if invalid or cut off. */
size_t rg_utf8_seq_len(const unsigned char *p, size_t avail);

/* Text from outside (file names, titles, passages, server messages) made
 * safe for a terminal or a line-oriented log: control characters (C0, DEL,
 * C1) become \n \r \t \e or \xNN, bytes that are not UTF-8 become \xNN,
 * and a backslash stays itself (the output is for reading, not for parsing
 * back).  Everything else is copied.  Used for every text output that
 * prints outside data; JSON output needs no such step (jansson escapes). */
void rg_buf_put_escaped(rg_buf *b, const char *s, size_t n);
/* Same into a new string. */
char *rg_escape_text(const char *s);
/* s for a JSON string: valid UTF-8 sequences kept, every other byte as the
 * four characters \xNN, as rg_escape_text writes it.  jansson refuses a
 * string that is not UTF-8 (json_pack returns NULL), and messages quote file
 * names, collection names and server replies.  Never NULL; caller frees. */
char *rg_utf8_lossy(const char *s);
/* {"code": code, "message": message}, the message through rg_utf8_lossy:
 * the error object of every JSON output and API reply.  New reference. */
struct json_t *rg_json_error(const char *code, const char *message);
/* Writes s escaped to f. */
void rg_fputs_escaped(const char *s, FILE *f);

#endif
