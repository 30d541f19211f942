#include "error.h"

#include <stdio.h>
#include <string.h>

rg_status rg_error_setv(rg_error *err, rg_status code, const char *fmt, va_list ap)
{
    if (err) {
        /* Formatted aside first: an argument may be err->msg itself (the
         * old message quoted in the new one), and vsnprintf into its own
         * input is undefined (garbled messages were seen). */
        char msg[RG_ERROR_MSG_MAX];
        vsnprintf(msg, sizeof msg, fmt, ap);
        err->code = code;
        memcpy(err->msg, msg, sizeof msg);
    }
    return code;
}

rg_status rg_error_set(rg_error *err, rg_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

rg_status rg_error_prefix(rg_error *err, const char *fmt, ...)
{
    if (!err)
        return RG_ERR_INTERNAL;
    char prefix[RG_ERROR_MSG_MAX];
    char old[RG_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

void rg_error_clear(rg_error *err)
{
    if (err) {
        err->code = RG_OK;
        err->msg[0] = '\0';
    }
}

const char *rg_status_name(rg_status code)
{
    switch (code) {
    case RG_OK: return "ok";
    case RG_ERR_INVALID: return "invalid";
    case RG_ERR_IO: return "io";
    case RG_ERR_CORRUPT: return "corrupt";
    case RG_ERR_NOTFOUND: return "not_found";
    case RG_ERR_EXISTS: return "exists";
    case RG_ERR_MISMATCH: return "mismatch";
    case RG_ERR_UNAVAILABLE: return "unavailable";
    case RG_ERR_NETWORK: return "network";
    case RG_ERR_SERVER: return "server";
    case RG_ERR_LOCKED: return "locked";
    case RG_ERR_NOMEM: return "out_of_memory";
    case RG_ERR_INTERRUPTED: return "interrupted";
    case RG_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

int rg_status_exit_code(rg_status code)
{
    switch (code) {
    case RG_OK: return 0;
    case RG_ERR_INVALID: return 2;
    case RG_ERR_INTERRUPTED: return 130;
    default: return 1;
    }
}
