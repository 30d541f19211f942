#!/usr/bin/env bash
# bench/cc.sh SRC OUT: builds a benchmark driver against build/libragged.a
# (run `make all` first).  The one place for the drivers' compile and link
# flags.
set -euo pipefail
PKGS="yaml-0.1 sqlite3 jansson libutf8proc libxml-2.0 poppler-glib libzstd zlib openblas"
# shellcheck disable=SC2046  # pkg-config prints lists of flags
cc -std=c17 -D_GNU_SOURCE -O2 -g -Isrc -Iinclude $(pkg-config --cflags $PKGS) -pthread "$1" \
   build/libragged.a $(pkg-config --libs $PKGS) $(pkg-config --libs libcurl 2>/dev/null) -lstemmer -lm -o "$2"
