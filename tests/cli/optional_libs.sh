# poppler-glib, OpenBLAS and libcurl are opened on first use, not linked (src/dynlib.h):
# the binary must not need them to start, and when the installed copy cannot
# be used the user gets one message naming the library and the package,
# while everything else (here: Markdown files in the same ingest) still works.
source "$(dirname "$0")/_lib.sh"
command -v readelf >/dev/null || skip "readelf (binutils) is needed to read the binary's dependencies"
command -v cc >/dev/null || skip "cc is needed to build a stand-in shared library"
head -c 4 "$RAGGED" | grep -q ELF || skip "$RAGGED is not an ELF binary (a wrapper?)"

needed=$(readelf -d "$RAGGED" | grep NEEDED)
[[ -n $needed ]] || fail "readelf shows no NEEDED entries for $RAGGED"
for lib in poppler glib gobject cairo curl openblas; do
    not_contains "$needed" "lib$lib"
done

# The sonames ragged opens, as resolved at build time (mk/dynlib.mk).
pop=$(grep -ao 'libpoppler-glib\.so\.[0-9]*' "$RAGGED" | head -n 1)
curl=$(grep -ao 'libcurl\.so\.[0-9]*' "$RAGGED" | head -n 1)
[[ -n $pop && -n $curl ]] || fail "cannot find the poppler-glib and libcurl sonames in $RAGGED"

# Stand-ins with the right sonames and none of the functions: dlopen finds
# them first through LD_LIBRARY_PATH, and the symbol lookup then fails.
mkdir -p "$TMP/fake"
echo 'int rg_stand_in;' >"$TMP/fake/f.c"
cc -shared -fPIC -Wl,-soname,"$pop" -o "$TMP/fake/$pop" "$TMP/fake/f.c" || fail "cannot build the stand-in library"
cp "$TMP/fake/$pop" "$TMP/fake/$curl"

D="$TMP/docs"; mkdir -p "$D"
cp "$RAGGED_REPO"/samples/pantry/*.md "$D/"
printf '%%PDF-1.4\n1 0 obj << >> endobj\n' >"$D/report.pdf"
nmd=$(ls "$D"/*.md | wc -l)

LD_LIBRARY_PATH="$TMP/fake" expect_exit 0 "$RAGGED" ingest "$D" --backend exact --format json
[[ $(json_get "$OUT" 'j["files_ingested"]') == "$nmd" ]] || fail "the Markdown files must still be ingested: $OUT"
[[ $(json_get "$OUT" 'j["files_skipped"]') == 1 ]] || fail "the PDF must be skipped: $OUT"
contains "$OUT$ERR" "report.pdf"
contains "$OUT$ERR" "reading PDF files needs"
contains "$OUT$ERR" "$pop"
if command -v dpkg >/dev/null; then contains "$OUT$ERR" "apt-get install libpoppler-glib"; fi

# Without the stand-in the same PDF reaches poppler (and is refused as damaged).
expect_exit 0 "$RAGGED" ingest "$D" --backend exact --format json
contains "$OUT$ERR" "not a readable PDF"

# Any command that needs HTTP names libcurl the same way, before any request.
LD_LIBRARY_PATH="$TMP/fake" expect_exit 1 "$RAGGED" query "backups" --backend chromadb --collection docs
contains "$ERR" "needs curl_global_init from $curl"
if command -v dpkg >/dev/null; then contains "$ERR" "apt-get install libcurl"; fi

# A query with the builtin embedder opens none of them.
if command -v strace >/dev/null; then
    # LeakSanitizer cannot run under ptrace (ASan builds); see _faults.sh.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -e trace=openat -o "$TMP/trace" "$RAGGED" query "How do I back up the database?" --backend exact -k 1 >/dev/null 2>&1 ||
        fail "query under strace failed"
    not_contains "$(cat "$TMP/trace")" "libpoppler"
    not_contains "$(cat "$TMP/trace")" "libcurl"
    not_contains "$(cat "$TMP/trace")" "libopenblas"
fi
exit 0
