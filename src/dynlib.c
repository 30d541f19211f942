/* Loading optional shared libraries on first use (see dynlib.h). */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void install_hint(const rg_dynlib *lib, char *buf, size_t n)
{
    if (lib->package && *lib->package)
        snprintf(buf, n, "install it with: apt-get install %s", lib->package);
    else
        snprintf(buf, n, "install the package that provides %s", lib->soname);
}

rg_status rg_dynlib_load(const rg_dynlib *lib, const char *const *names, size_t n, void **syms, rg_error *err)
{
    char hint[256];
    /* RTLD_NODELETE: the handle is dropped on every path below, but the
     * libraries cannot be unloaded safely (GLib's type system, OpenSSL's
     * atexit handlers) and a second load would relocate them again.
     * RTLD_LOCAL keeps their symbols out of the global scope, so a later
     * dlopen elsewhere cannot bind to them by accident. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        const char *why = dlerror();
        install_hint(lib, hint, sizeof hint);
        return rg_error_set(err, RG_ERR_UNAVAILABLE, "%s needs the shared library %s, which cannot be loaded (%s); %s",
                            lib->needed_for, lib->soname, why ? why : "unknown reason", hint);
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        syms[i] = dlsym(h, names[i]);
        if (!syms[i]) {
            const char *why = dlerror();
            install_hint(lib, hint, sizeof hint);
            rg_status st = rg_error_set(err, RG_ERR_UNAVAILABLE,
                                        "%s needs %s from %s, which the installed copy does not have (%s); "
                                        "it is not the version ragged was built against: %s",
                                        lib->needed_for, names[i], lib->soname, why ? why : "symbol not found", hint);
            dlclose(h);
            return st;
        }
    }
    /* Closing only drops our reference: RTLD_NODELETE keeps the library
     * mapped, so syms stay valid for the life of the process. */
    dlclose(h);
    return RG_OK;
}
