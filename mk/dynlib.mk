# Libraries ragged opens with dlopen on first use instead of linking them:
# poppler-glib, OpenBLAS, libcurl, libarchive, libmicrohttpd and libedit (src/dynlib.h; included by the
# Makefile).  Each object that loads one gets -DRG_<LIB>_SONAME and
# -DRG_<LIB>_PACKAGE from mk/dynlib-flags.sh: the soname of the library the
# linker would have linked (same -dev package as the headers) and the Debian
# package that ships it, for the message shown when it is missing.
# Recursive (=) so the probe runs only when such an object is compiled, with
# that build's CC and PKG_CONFIG (check-arm64, fuzz-build).

dynlib_flags = $(shell mk/dynlib-flags.sh $(1) $(2) '$(3)' $(PKG_CONFIG))

DYNLIB_CFLAGS_reader_pdf = $(call dynlib_flags,RG_POPPLER,poppler-glib,$(CC))
DYNLIB_CFLAGS_bert_model = $(call dynlib_flags,RG_OPENBLAS,openblas,$(CC))
DYNLIB_CFLAGS_http = $(call dynlib_flags,RG_CURL,libcurl,$(CC))
DYNLIB_CFLAGS_zip_archive = $(call dynlib_flags,RG_ARCHIVE,libarchive,$(CC))
DYNLIB_CFLAGS_serve = $(call dynlib_flags,RG_MHD,libmicrohttpd,$(CC))
DYNLIB_CFLAGS_lineedit = $(call dynlib_flags,RG_EDIT,libedit,$(CC))
