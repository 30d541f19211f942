/* Masking of secrets in shown text (secret.h).  The one matcher here serves
 * error messages, JSON output, the streamed answer (answer.c's redactor)
 * and raw response bodies (http.c), so every path masks the same
 * spellings. */
#include "secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char REDACTED[] = "[redacted]";

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* k hex digits at s (k <= n) as a number, or -1. */
static long hexnum(const char *s, size_t k)
{
    long v = 0;
    for (size_t i = 0; i < k; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* One character of encoded text at s: its code point into *cp and the bytes
 * it takes, or 0 when s does not start an escape. */
static size_t decode_escape(const char *s, size_t n, long *cp)
{
    if (n >= 2 && s[0] == '\\') {
        switch (s[1]) {
        case '/': case '\\': case '"': case '\'':
            *cp = s[1];
            return 2;
        case 'u':
            if (n >= 6 && (*cp = hexnum(s + 2, 4)) >= 0)
                return 6;
            return 0;
        case 'x':
            if (n >= 4 && (*cp = hexnum(s + 2, 2)) >= 0)
                return 4;
            return 0;
        default:
            return 0;
        }
    }
    if (n >= 3 && s[0] == '%' && (*cp = hexnum(s + 1, 2)) >= 0)
        return 3;
    if (n >= 4 && s[0] == '&' && s[1] == '#') {
        bool hex = n >= 5 && (s[2] == 'x' || s[2] == 'X');
        size_t i = hex ? 3 : 2, start = i;
        long v = 0;
        while (i < n && i - start < 8 && (hex ? hexval((unsigned char)s[i]) >= 0 : isdigit((unsigned char)s[i]))) {
            v = v * (hex ? 16 : 10) + (hex ? hexval((unsigned char)s[i]) : s[i] - '0');
            i++;
        }
        if (i > start && i < n && s[i] == ';') {
            *cp = v;
            return i + 1;
        }
    }
    return 0;
}

size_t rg_secret_span(const char *s, size_t n, const char *secret, bool encoded)
{
    size_t i = 0;
    for (const char *k = secret; *k; k++) {
        int want = tolower((unsigned char)*k);
        if (i < n && tolower((unsigned char)s[i]) == want) {
            i++;
            continue;
        }
        long cp;
        size_t used = encoded && i < n ? decode_escape(s + i, n - i, &cp) : 0;
        if (!used || cp > 0x7f || tolower((int)cp) != want)
            return 0;
        i += used;
    }
    return i;
}

char *rg_mask_secret(const char *text, const char *secret)
{
    size_t slen = secret ? strlen(secret) : 0, n = strlen(text);
    if (slen < RG_SECRET_MIN)
        return rg_xstrdup(text);
    rg_buf b;
    rg_buf_init(&b);
    for (size_t i = 0; i < n;) {
        size_t span = rg_secret_span(text + i, n - i, secret, true);
        if (span) {
            rg_buf_puts(&b, REDACTED);
            i += span;
        } else {
            rg_buf_putc(&b, text[i++]);
        }
    }
    if (!b.data)
        rg_buf_puts(&b, "");
    return rg_buf_steal(&b);
}

void rg_secret_blank(char *data, size_t len, const char *secret)
{
    if (!data || !secret || strlen(secret) < RG_SECRET_MIN)
        return;
    for (size_t i = 0; i < len;) {
        size_t span = rg_secret_span(data + i, len - i, secret, true);
        if (span) {
            memset(data + i, '*', span);
            i += span;
        } else {
            i++;
        }
    }
}

void rg_error_mask_secret(rg_error *err, const char *secret)
{
    if (!err)
        return;
    char *m = rg_mask_secret(err->msg, secret);
    snprintf(err->msg, sizeof err->msg, "%s", m);
    free(m);
    /* A secret cut by the message's length limit leaves a prefix behind:
     * drop any tail that could be the start of it. */
    size_t slen = secret ? strlen(secret) : 0, mlen = strlen(err->msg);
    if (slen >= RG_SECRET_MIN)
        for (size_t k = RG_MIN(slen - 1, mlen); k >= RG_SECRET_MIN; k--)
            if (strncasecmp(err->msg + mlen - k, secret, k) == 0) {
                err->msg[mlen - k] = 0;
                break;
            }
}
