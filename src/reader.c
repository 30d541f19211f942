/* Picking a reader for a file, and the byte-level text decoding every
 * text-like reader shares (BOMs, UTF-16, NUL bytes, invalid UTF-8,
 * Windows-1252, line endings). */
#include "reader.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reader_priv.h"
#include "util.h"

/* Order matters for sniffing extension-less files: the most specific
 * signature first, plain text last.  The gzip reader is not in the list: it
 * is chosen by the ".gz" name and then dispatches to one of these. */
static const rg_reader_ops *const all_readers[] = {
    &rg_reader_pdf,  &rg_reader_html, &rg_reader_docx, &rg_reader_odt,      &rg_reader_epub,
    &rg_reader_man,  &rg_reader_code, &rg_reader_markdown, &rg_reader_text,
};

/* Bytes looked at to decide "binary or text", like git's heuristic. */
#define SNIFF_BYTES 8192

void rg_path_extension(const char *path, char *out, size_t outsz)
{
    out[0] = '\0';
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    /* ".bashrc" is a hidden file without an extension, not a "bashrc" file. */
    if (!dot || dot == base || !dot[1])
        return;
    size_t i = 0;
    for (const char *p = dot + 1; *p && i + 1 < outsz; p++)
        out[i++] = (char)tolower((unsigned char)*p);
    out[i] = '\0';
}

static bool extension_matches(const rg_reader_ops *r, const char *ext)
{
    for (const char *const *e = r->extensions; e && *e; e++)
        if (strcmp(*e, ext) == 0)
            return true;
    return r->extension_match && r->extension_match(ext);
}

/* README.Debian, changelog.Debian.amd64, NEWS.source: a conventional
 * documentation name with a suffix that is not a file type.  Such files are
 * judged by their content like an extension-less README. */
static bool documentation_name(const char *path)
{
    static const char *const names[] = {"readme", "changelog", "changes", "news",    "authors", "thanks",
                                        "todo",   "copying",   "copyright", "install", "history", "license",
                                        "licence", "contributors", "bugs", "faq",    "notice",  "credits",
                                        "maintainers", "hacking"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < RG_ARRAY_LEN(names); i++) {
        size_t l = strlen(names[i]);
        if (strncasecmp(base, names[i], l) == 0 && base[l] == '.')
            return true;
    }
    return false;
}

/* The lookup for an uncompressed file (or the inside of a gzip one). */
static const rg_reader_ops *find_plain(const char *path, const unsigned char *head, size_t n)
{
    /* Content beats the name for PDFs: a PDF saved as .txt is still a PDF,
     * and reading its bytes as text would index compressed streams. */
    if (head && n >= 5 && memcmp(head, "%PDF-", 5) == 0)
        return &rg_reader_pdf;
    char ext[32];
    rg_path_extension(path, ext, sizeof ext);
    if (ext[0]) {
        for (size_t i = 0; i < RG_ARRAY_LEN(all_readers); i++) {
            const rg_reader_ops *r = all_readers[i];
            if (!extension_matches(r, ext))
                continue;
            if (r->extension_needs_sniff && head && !(r->sniff && r->sniff(head, n)))
                continue;
            return r;
        }
        if (!documentation_name(path))
            return NULL;
    }
    /* README, LICENSE, NOTES: no extension, so the content decides. */
    if (!head)
        return NULL;
    for (size_t i = 0; i < RG_ARRAY_LEN(all_readers); i++)
        if (all_readers[i]->sniff && all_readers[i]->sniff(head, n))
            return all_readers[i];
    return NULL;
}

static bool gzip_name(const char *path)
{
    char ext[8];
    rg_path_extension(path, ext, sizeof ext);
    return strcmp(ext, "gz") == 0;
}

const rg_reader_ops *rg_reader_inner_find(const char *path, const unsigned char *head, size_t n)
{
    char *inner = rg_xstrndup(path, strlen(path) - (gzip_name(path) ? 3 : 0)); /* without ".gz" */
    const rg_reader_ops *r = find_plain(inner, head, n);
    free(inner);
    return r;
}

const rg_reader_ops *rg_reader_find(const char *path, const unsigned char *head, size_t n)
{
    if (!gzip_name(path))
        return find_plain(path, head, n);
    /* "x.md.gz" is Markdown inside gzip: the inner name and the first
     * decompressed bytes decide.  When the head cannot be inflated (a
     * damaged file, or no head given) the name alone decides, and reading
     * reports the damage. */
    unsigned char inner_head[SNIFF_BYTES];
    size_t in = head ? rg_gunzip_head(head, n, inner_head, sizeof inner_head) : 0;
    return rg_reader_inner_find(path, in ? inner_head : NULL, in) ? &rg_reader_gzip : NULL;
}

rg_status rg_document_read(const char *path, size_t max_bytes, rg_document *doc, rg_error *err)
{
    memset(doc, 0, sizeof *doc);
    char *data = NULL;
    size_t len = 0;
    rg_status st = rg_read_file(path, max_bytes, &data, &len, err);
    if (st != RG_OK)
        return st;
    const rg_reader_ops *r = rg_reader_find(path, (const unsigned char *)data, RG_MIN(len, (size_t)SNIFF_BYTES));
    if (!r) {
        char ext[32];
        rg_path_extension(path, ext, sizeof ext);
        if (ext[0])
            st = rg_error_set(err, RG_ERR_INVALID, "%s: unsupported file type '.%s'; ragged reads %s", path, ext,
                              RG_READER_KINDS);
        else
            st = rg_error_set(err, RG_ERR_INVALID,
                              "%s looks like a binary file (no extension and not text); ragged reads %s", path,
                              RG_READER_KINDS);
        free(data);
        return st;
    }
    doc->max_expanded = max_bytes ? max_bytes : RG_READ_EXPANDED_DEFAULT;
    st = r->read(path, data, len, doc, err);
    free(data);
    if (st != RG_OK) {
        rg_document_free(doc);
        return st;
    }
    if (!doc->format)
        doc->format = r->name;
    if (!doc->text) {
        doc->text = rg_xstrdup("");
        doc->len = 0;
    }
    return RG_OK;
}

void rg_document_free(rg_document *doc)
{
    if (!doc)
        return;
    free(doc->text);
    free(doc->title);
    free(doc->page_offsets);
    memset(doc, 0, sizeof *doc);
}

size_t rg_document_page_at(const rg_document *doc, size_t offset)
{
    if (!doc || !doc->npages || !doc->page_offsets)
        return 0;
    /* Last page whose start is <= offset; empty pages share an offset with
     * the next one, and the later page is the one the text belongs to. */
    size_t lo = 0, hi = doc->npages;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc->page_offsets[mid] <= offset)
            lo = mid;
        else
            hi = mid;
    }
    return lo + 1;
}

/* ---- text decoding ---- */

void rg_utf8_put(rg_buf *out, unsigned long cp)
{
    char b[4];
    size_t n;
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        cp = 0xfffd;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    rg_buf_append(out, b, n);
}

/* Windows-1252 0x80..0x9f; 0 marks the five undefined bytes.  Latin-1 is
 * the same above 0x9f, and its 0x80..0x9f controls never occur in real
 * text, so one table covers both. */
static const uint16_t cp1252_high[32] = {
    0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017d, 0,      0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
    0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178,
};

static bool is_text_control(unsigned c)
{
    /* Controls that never appear in text; tab, LF, CR, FF, VT and ESC
     * (colour codes in logs) are tolerated. */
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b) || c == 0x7f;
}

static void decode_utf16(const unsigned char *p, size_t len, bool big_endian, rg_buf *out)
{
    rg_buf_reserve(out, len + len / 2);
    for (size_t i = 0; i + 1 < len; i += 2) {
        unsigned long u = big_endian ? ((unsigned)p[i] << 8 | p[i + 1]) : ((unsigned)p[i + 1] << 8 | p[i]);
        if (u >= 0xd800 && u <= 0xdbff && i + 3 < len) {
            unsigned long v = big_endian ? ((unsigned)p[i + 2] << 8 | p[i + 3]) : ((unsigned)p[i + 3] << 8 | p[i + 2]);
            if (v >= 0xdc00 && v <= 0xdfff) {
                rg_utf8_put(out, 0x10000 + ((u - 0xd800) << 10) + (v - 0xdc00));
                i += 2;
                continue;
            }
        }
        rg_utf8_put(out, u); /* unpaired surrogates become U+FFFD there */
    }
}

enum decode_mode { DECODE_UTF8, DECODE_UTF8_REPAIR, DECODE_CP1252 };

rg_status rg_text_decode(const char *path, const char *data, size_t len, rg_buf *out, rg_error *err)
{
    const unsigned char *p = (const unsigned char *)data;
    if (len >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff))) {
        rg_buf tmp;
        rg_buf_init(&tmp);
        decode_utf16(p + 2, len - 2, p[0] == 0xfe, &tmp);
        rg_status st = rg_text_decode(path, tmp.data ? tmp.data : "", tmp.len, out, err);
        rg_buf_free(&tmp);
        return st;
    }
    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3, len -= 3;

    size_t nul = 0, first_nul = SIZE_MAX, ctrl = 0, valid_mb = 0, invalid = 0;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c == 0) {
                nul++;
                if (first_nul == SIZE_MAX)
                    first_nul = i;
            } else if (is_text_control(c)) {
                ctrl++;
            }
            i++;
            continue;
        }
        size_t n = rg_utf8_seq_len(p + i, len - i);
        if (n) {
            valid_mb++;
            i += n;
        } else {
            invalid++;
            i++;
        }
    }
    /* A NUL near the start is how git and grep spot binaries; a few NULs far
     * into a long log (a crash wrote zeros) do not make it binary. */
    if (first_nul < SNIFF_BYTES || nul * 100 > len)
        return rg_error_set(err, RG_ERR_INVALID,
                            "%s looks like a binary file (NUL byte at offset %zu), not text; skipping it", path,
                            first_nul);
    if (ctrl * 10 > len)
        return rg_error_set(err, RG_ERR_INVALID,
                            "%s looks like a binary file (%zu of %zu bytes are control characters), not text", path,
                            ctrl, len);

    enum decode_mode mode = DECODE_UTF8;
    if (invalid) {
        if (valid_mb >= 4 * invalid) {
            /* Mostly UTF-8 with a few damaged bytes: keep it, mark the damage. */
            mode = DECODE_UTF8_REPAIR;
        } else {
            /* Latin-1/Windows-1252 text has high bytes scattered between ASCII
             * letters; other 8-bit encodings (Cyrillic, Greek) and binaries
             * have runs of them, and decoding those as Latin-1 is garbage. */
            size_t high = 0, undefined = 0, in_runs = 0;
            for (size_t i = 0; i < len; i++) {
                if (p[i] < 0x80)
                    continue;
                high++;
                if (p[i] <= 0x9f && cp1252_high[p[i] - 0x80] == 0)
                    undefined++;
                if (i > 0 && i + 1 < len && p[i - 1] >= 0x80 && p[i + 1] >= 0x80)
                    in_runs++;
            }
            if (undefined * 100 > high || high * 10 > len * 3 || in_runs * 2 > high)
                return rg_error_set(err, RG_ERR_INVALID,
                                    "%s is not UTF-8 text and does not look like Latin-1/Windows-1252 either (%zu "
                                    "undecodable bytes); convert it first, e.g. iconv -f ENCODING -t UTF-8",
                                    path, invalid);
            mode = DECODE_CP1252;
        }
    }

    /* Exact for UTF-8; transcoding grows the buffer as it needs to. */
    rg_buf_reserve(out, len);
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c < 0x80) {
            if (c == '\r') {
                rg_buf_putc(out, '\n');
                i += (i + 1 < len && p[i + 1] == '\n') ? 2 : 1;
                continue;
            }
            /* Copy the ASCII run in one go: huge files should not pay a call per byte. */
            size_t j = i;
            while (j < len && p[j] < 0x80 && p[j] != '\r' && p[j] != 0)
                j++;
            rg_buf_append(out, p + i, j - i);
            if (j == i) /* NUL: dropped */
                j++;
            i = j;
            continue;
        }
        if (mode == DECODE_CP1252) {
            unsigned long cp = c <= 0x9f ? cp1252_high[c - 0x80] : c;
            rg_utf8_put(out, cp ? cp : 0xfffd);
            i++;
            continue;
        }
        size_t n = rg_utf8_seq_len(p + i, len - i);
        if (n) {
            rg_buf_append(out, p + i, n);
            i += n;
        } else {
            rg_utf8_put(out, 0xfffd);
            i++;
        }
    }
    if (!out->data)
        rg_buf_reserve(out, 0), out->data[0] = '\0';
    return RG_OK;
}

rg_status rg_text_read_document(const char *path, const char *data, size_t len, rg_document *doc, rg_error *err)
{
    rg_buf decoded, out;
    rg_buf_init(&decoded);
    rg_status st = rg_text_decode(path, data, len, &decoded, err);
    if (st != RG_OK) {
        rg_buf_free(&decoded);
        return st;
    }
    rg_buf_init(&out);
    rg_text_append_paragraphs(&out, decoded.data, decoded.len);
    rg_buf_free(&decoded);
    doc->len = out.len;
    doc->text = rg_buf_steal(&out);
    return RG_OK;
}

void rg_text_append_paragraphs(rg_buf *out, const char *s, size_t n)
{
    /* A line of one byte ended by a form feed or vertical tab (2 input
     * bytes) is written with a "\n\n" before it (3 output bytes), so the
     * output can reach 1.5 times the input: reserve twice it plus the
     * leading separator. */
    rg_buf_reserve(out, 2 * n + 4);
    char *d = out->data;
    size_t o = out->len;
    int sep = o ? 2 : 0;  /* what precedes the next non-blank line: 0 nothing, 1 "\n", 2 "\n\n" */
    bool in_line = false;
    size_t mark = 0, content = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)s[i] : '\n';
        if (c == '\n' || c == '\f' || c == '\v') {
            bool blank = true;
            if (in_line) {
                while (o > content && (d[o - 1] == ' ' || d[o - 1] == '\t'))
                    o--;
                if (o == content) {
                    o = mark; /* whitespace-only line: a blank line */
                } else {
                    blank = false;
                    sep = 1;
                }
                in_line = false;
            }
            /* A form feed (page break) always ends the paragraph. */
            if ((blank || c != '\n') && sep == 1)
                sep = 2;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            continue;
        if (!in_line) {
            mark = o;
            if (sep >= 1)
                d[o++] = '\n';
            if (sep == 2)
                d[o++] = '\n';
            content = o;
            in_line = true;
        }
        d[o++] = (char)c;
    }
    out->len = o;
    d[o] = '\0';
}

void rg_utf8_sanitize(char **s, size_t *len)
{
    if (!*s || rg_utf8_valid(*s, *len))
        return;
    rg_buf b;
    rg_buf_init(&b);
    const unsigned char *p = (const unsigned char *)*s;
    for (size_t i = 0; i < *len;) {
        size_t n = p[i] < 0x80 ? 1 : rg_utf8_seq_len(p + i, *len - i);
        if (n) {
            rg_buf_append(&b, p + i, n);
            i += n;
        } else {
            rg_utf8_put(&b, 0xfffd);
            i++;
        }
    }
    free(*s);
    *len = b.len;
    *s = rg_buf_steal(&b);
}

size_t rg_text_squeeze_spaces(char *s, size_t n)
{
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            space = o > 0;
            continue;
        }
        if (space)
            s[o++] = ' ';
        space = false;
        s[o++] = (char)c;
    }
    s[o] = '\0';
    return o;
}
