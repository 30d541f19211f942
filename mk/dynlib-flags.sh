#!/bin/sh
# mk/dynlib-flags.sh MACRO PKG CC PKG_CONFIG...
# Prints -DMACRO_SONAME="..." -DMACRO_PACKAGE="..." (quoted for the shell of
# a make recipe) for a library ragged
# opens with dlopen (src/dynlib.h) instead of linking: the soname of the
# library the linker would pick for pkg-config module PKG (so the headers
# and the library opened at run time match), and the Debian package that
# ships it (empty without dpkg).  Fails loudly when the library is missing.
set -eu
macro=$1 pkg=$2 cc=$3
shift 3
# The first -l of the module is its own library (-lcurl, -lpoppler-glib, or
# -l:libpoppler-glib.so.8 from the arm64 .pc of mk/portability.mk).
set -- "$@"
lib=$("$@" --libs-only-l "$pkg" | awk '{print $1}')
ldirs=$("$@" --libs-only-L "$pkg" 2>/dev/null) || ldirs=
case "$lib" in
    -l:*) file=${lib#-l:} ;;
    -l*) file=lib${lib#-l}.so ;;
    *) echo "mk/dynlib-flags.sh: pkg-config knows no library for $pkg; install its development package (scripts/install-deps.sh)" >&2; exit 1 ;;
esac
# shellcheck disable=SC2086  # ldirs is a list of -L flags
path=$($cc $ldirs -print-file-name="$file")
soname=$(readelf -d "$path" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
if [ -z "$soname" ]; then
    echo "mk/dynlib-flags.sh: cannot read the soname of $file (found: $path) for $pkg; install its development package (scripts/install-deps.sh)" >&2
    exit 1
fi
real=$(readlink -f "$path")
package=$(dpkg-query -S "$real" 2>/dev/null | sed -n '1s/[:,].*//p') || package=
printf '%s\n' "'-D${macro}_SONAME=\"$soname\"' '-D${macro}_PACKAGE=\"$package\"'"
