/* Memory-mapped safetensors reader.  See safetensors.h. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct rg_safetensors {
    char *path;
    void *map;
    size_t size;
    const char *header;
    size_t header_len;
    rg_st_tensor *tensors;
    size_t ntensors;
    char *names;              /* all names, NUL-separated */
};

/* Safetensors headers are small; a bound protects against garbage lengths. */
#define RG_ST_MAX_HEADER ((uint64_t)100 << 20)

static rg_st_dtype dtype_of(const char *s)
{
    if (strcmp(s, "F32") == 0)
        return RG_ST_F32;
    if (strcmp(s, "F16") == 0)
        return RG_ST_F16;
    if (strcmp(s, "BF16") == 0)
        return RG_ST_BF16;
    return RG_ST_OTHER;
}

static size_t dtype_size(const char *s)
{
    static const struct { const char *n; size_t sz; } t[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
        {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
    for (size_t i = 0; i < RG_ARRAY_LEN(t); i++)
        if (strcmp(t[i].n, s) == 0)
            return t[i].sz;
    return 0;
}

void rg_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int i = 0; i < ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static rg_status parse_header(rg_safetensors *st, rg_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(st->header, st->header_len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: the safetensors header is not a JSON object (%s); "
                            "the file is damaged or not a safetensors file", st->path, jerr.text);
    }
    size_t data_size = st->size - 8 - st->header_len;
    const unsigned char *base = (const unsigned char *)st->map + 8 + st->header_len;
    size_t n = json_object_size(root), names_len = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) names_len += strlen(key) + 1;
    st->tensors = rg_xcalloc(n ? n : 1, sizeof *st->tensors);
    st->names = rg_xmalloc(names_len + 1);
    size_t npos = 0;
    rg_status rc = RG_OK;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        json_t *dt = json_object_get(val, "dtype"), *shape = json_object_get(val, "shape");
        json_t *offs = json_object_get(val, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs) || json_array_size(offs) != 2 ||
            json_array_size(shape) > RG_ST_MAX_DIMS) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: tensor '%s' has a malformed header entry", st->path, key);
            break;
        }
        rg_st_tensor *t = &st->tensors[st->ntensors];
        size_t kl = strlen(key);
        memcpy(st->names + npos, key, kl + 1);
        t->name = st->names + npos;
        npos += kl + 1;
        t->dtype_name = json_string_value(dt);
        t->dtype = dtype_of(t->dtype_name);
        t->ndim = (int)json_array_size(shape);
        t->numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            json_t *v = json_array_get(shape, (size_t)d);
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: tensor '%s' has an invalid shape", st->path, key);
                goto out;
            }
            t->shape[d] = json_integer_value(v);
            t->numel *= t->shape[d];
        }
        json_int_t b = json_integer_value(json_array_get(offs, 0)), e = json_integer_value(json_array_get(offs, 1));
        size_t esz = dtype_size(t->dtype_name);
        if (b < 0 || e < b || (uint64_t)e > data_size) {
            rc = rg_error_set(err, RG_ERR_CORRUPT,
                              "%s: tensor '%s' lies outside the file (bytes %lld..%lld of %zu); the file is truncated",
                              st->path, key, (long long)b, (long long)e, data_size);
            break;
        }
        if (esz && (uint64_t)(e - b) != (uint64_t)t->numel * esz) {
            rc = rg_error_set(err, RG_ERR_CORRUPT, "%s: tensor '%s' has %lld bytes but its shape and dtype %s need %llu",
                              st->path, key, (long long)(e - b), t->dtype_name,
                              (unsigned long long)((uint64_t)t->numel * esz));
            break;
        }
        t->data = base + b;
        t->nbytes = (size_t)(e - b);
        st->ntensors++;
    }
out:
    /* Keep dtype strings alive: they belong to the JSON tree, so intern them. */
    for (size_t i = 0; i < st->ntensors; i++) {
        static const char *known[] = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8",
                                      "U64", "U32", "U16", "U8", "BOOL", "F8_E4M3", "F8_E5M2"};
        const char *d = st->tensors[i].dtype_name;
        const char *k = "unknown";
        for (size_t j = 0; j < RG_ARRAY_LEN(known); j++)
            if (strcmp(known[j], d) == 0)
                k = known[j];
        st->tensors[i].dtype_name = k;
    }
    json_decref(root);
    return rc;
}

rg_status rg_safetensors_open(const char *path, rg_safetensors **out, rg_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rg_error_set(err, errno == ENOENT ? RG_ERR_NOTFOUND : RG_ERR_IO, "cannot open %s: %s", path,
                            strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 8) {
        close(fd);
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: too small to be a safetensors file", path);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return rg_error_set(err, RG_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    rg_safetensors *st = rg_xcalloc(1, sizeof *st);
    st->path = rg_xstrdup(path);
    st->map = map;
    st->size = (size_t)sb.st_size;
    const unsigned char *p = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen == 0 || hlen > RG_ST_MAX_HEADER || hlen > st->size - 8) {
        rg_safetensors_free(st);
        return rg_error_set(err, RG_ERR_CORRUPT, "%s: invalid safetensors header length %llu (file has %zu bytes)",
                            path, (unsigned long long)hlen, (size_t)sb.st_size);
    }
    st->header = (const char *)p + 8;
    st->header_len = (size_t)hlen;
    rg_status rc = parse_header(st, err);
    if (rc != RG_OK) {
        rg_safetensors_free(st);
        return rc;
    }
    *out = st;
    return RG_OK;
}

void rg_safetensors_free(rg_safetensors *st)
{
    if (!st)
        return;
    if (st->map)
        munmap(st->map, st->size);
    free(st->tensors);
    free(st->names);
    free(st->path);
    free(st);
}

const char *rg_safetensors_path(const rg_safetensors *st) { return st->path; }
size_t rg_safetensors_count(const rg_safetensors *st) { return st->ntensors; }
const rg_st_tensor *rg_safetensors_at(const rg_safetensors *st, size_t i) { return &st->tensors[i]; }
uint64_t rg_safetensors_file_size(const rg_safetensors *st) { return st->size; }

const char *rg_safetensors_header(const rg_safetensors *st, size_t *len)
{
    *len = st->header_len;
    return st->header;
}

const rg_st_tensor *rg_safetensors_find(const rg_safetensors *st, const char *name)
{
    for (size_t i = 0; i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

float rg_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {                       /* subnormal: renormalise */
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t rg_f32_to_f16(float f)
{
    /* Round to nearest even; used by tests and tools only. */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffff;
    if (((x >> 23) & 0xff) == 0xff)
        return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
    if (exp >= 31)
        return (uint16_t)(sign | 0x7c00);
    if (exp <= 0) {
        if (exp < -10)
            return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t r = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1)))
            r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = (uint32_t)exp << 10 | (mant >> 13), rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1)))
        r++;
    return (uint16_t)(sign | r);
}

float rg_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

rg_status rg_safetensors_get_f32(const rg_safetensors *st, const rg_st_tensor *t, int ndim, const int64_t *shape,
                                 const float **data, float **owned, rg_error *err)
{
    *data = NULL;
    *owned = NULL;
    bool ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = shape[i] < 0 || shape[i] == t->shape[i];
    if (!ok) {
        char want[128], have[128];
        rg_st_shape_str(ndim, shape, want, sizeof want);
        rg_st_shape_str(t->ndim, t->shape, have, sizeof have);
        return rg_error_set(err, RG_ERR_MISMATCH, "%s: tensor '%s' has shape %s but the model config needs %s",
                            st->path, t->name, have, want);
    }
    if (t->dtype == RG_ST_OTHER)
        return rg_error_set(err, RG_ERR_INVALID, "%s: tensor '%s' has dtype %s; supported dtypes are F32, F16 and BF16",
                            st->path, t->name, t->dtype_name);
    size_t n = (size_t)t->numel;
    if (t->dtype == RG_ST_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
        *data = t->data;
        return RG_OK;
    }
    float *f = malloc((n ? n : 1) * sizeof *f);
    if (!f)
        return rg_error_set(err, RG_ERR_NOMEM, "out of memory converting tensor '%s' (%zu values)", t->name, n);
    const unsigned char *p = t->data;
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == RG_ST_F32) {
            memcpy(&f[i], p + 4 * i, 4);
        } else {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            f[i] = t->dtype == RG_ST_F16 ? rg_f16_to_f32(h) : rg_bf16_to_f32(h);
        }
    }
    *data = f;
    *owned = f;
    return RG_OK;
}
