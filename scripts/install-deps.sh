#!/usr/bin/env bash
# The single list of ragged's system dependencies.  Idempotent.
#   scripts/install-deps.sh              install everything (build, tests, benchmarks' peers)
#   scripts/install-deps.sh --if-missing install only when a build dependency is absent
#   scripts/install-deps.sh --arm64      the aarch64 cross toolchain, qemu-user and the arm64
#                                        builds of the libraries (multiarch), for `make check-arm64`
set -euo pipefail

# Build and runtime libraries (pkg-config names in the Makefile).
BUILD_PKGS=(build-essential pkg-config libyaml-dev libsqlite3-dev libjansson-dev libutf8proc-dev
            libxml2-dev libpoppler-glib-dev libzstd-dev libopenblas-dev libstemmer-dev
            libcurl4-openssl-dev zlib1g-dev libarchive-dev libmicrohttpd-dev libedit-dev)
# Tests: the numpy reference for the embedding engine, sanitizer runtimes, the
# ChromaDB server (npm), sqlite3 CLI for corrupting stores on purpose, strace
# for killing a process at a chosen write (tests/cli/kill_points.sh),
# chromium to test the web page of `ragged serve` in a real browser.
TEST_PKGS=(python3 python3-numpy clang libclang-rt-14-dev nodejs npm sqlite3 curl procps strace chromium)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")

# Installed for this machine's architecture (or architecture-independent);
# an arch-qualified name (foo:arm64) must be installed exactly.  Not
# `dpkg -s`: it fails on a name installed for two architectures (multiarch).
installed() {
    local arch
    arch=$(dpkg --print-architecture)
    if [[ $1 == *:* ]]; then
        dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qx 'install ok installed'
    else
        dpkg-query -W -f='${Status} ${Architecture}\n' "$1" 2>/dev/null | grep -qE "^install ok installed ($arch|all)\$"
    fi
}

if [[ "${1:-}" == "--arm64" ]]; then
    # Debian multiarch: the same -dev packages for arm64 next to the native
    # ones (same versions, so nothing native is replaced), a cross compiler
    # and qemu-user to run the aarch64 binaries.  The arm64 libc, loader and
    # libraries land in /lib/aarch64-linux-gnu, so qemu-aarch64 finds them
    # without a sysroot.
    command -v apt-get >/dev/null || { echo "install-deps: --arm64 needs Debian/Ubuntu (apt-get, dpkg multiarch)" >&2; exit 1; }
    # libpoppler-glib-dev is not Multi-Arch: same (the arm64 one would
    # remove the native one): the native headers plus the arm64 shared
    # library and the -dev packages it needs (mk/portability.mk).
    cross=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user pkg-config libpoppler-glib-dev
           libpoppler-glib8:arm64 libglib2.0-dev:arm64 libcairo2-dev:arm64)
    for p in "${BUILD_PKGS[@]}"; do
        case "$p" in build-essential|pkg-config|libpoppler-glib-dev) ;; *) cross+=("$p:arm64") ;; esac
    done
    missing=()
    for p in "${cross[@]}"; do installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
        echo "install-deps: installing ${missing[*]}" >&2
        dpkg --print-foreign-architectures | grep -qx arm64 || $SUDO dpkg --add-architecture arm64
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
    exit 0
fi

if [[ "${1:-}" == "--if-missing" ]]; then
    # Fast path for `make demo` / `make check`: nothing to do when the build
    # libraries are all there (any platform with pkg-config).
    if command -v pkg-config >/dev/null && pkg-config --exists yaml-0.1 sqlite3 jansson libutf8proc \
        libxml-2.0 poppler-glib libzstd openblas libcurl zlib libarchive libmicrohttpd libedit 2>/dev/null && [[ -f /usr/include/libstemmer.h ]] &&
        { ! command -v dpkg >/dev/null || dpkg -s "${TEST_PKGS[@]}" >/dev/null 2>&1 ||
          { command -v node >/dev/null && dpkg -s python3-numpy sqlite3 >/dev/null 2>&1; }; }; then
        exit 0
    fi
fi

if command -v apt-get >/dev/null; then
    missing=()
    for p in "${want[@]}"; do
        installed "$p" || missing+=("$p")
    done
    # nodejs/npm may come from another source than Debian's packages; accept them when present.
    if command -v node >/dev/null && command -v npm >/dev/null; then
        missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
    fi
    read -r -a missing <<<"${missing[*]:-}"
    if ((${#missing[@]})); then
        SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
        echo "install-deps: installing ${missing[*]}" >&2
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    fi
else
    echo "install-deps: no apt-get here. Install the equivalents of:" >&2
    echo "  brew install pkg-config libyaml sqlite jansson utf8proc libxml2 poppler zstd openblas snowball curl libmicrohttpd libedit numpy node" >&2
    echo "  dnf install pkgconf libyaml-devel sqlite-devel jansson-devel utf8proc-devel libxml2-devel poppler-glib-devel libzstd-devel openblas-devel libstemmer-devel libcurl-devel libmicrohttpd-devel libedit-devel python3-numpy nodejs" >&2
    exit 1
fi

# The ChromaDB server for the chromadb backend's tests (npm packages pinned
# exactly, installed into .deps/chroma by the script that runs the server).
if [[ "${1:-}" != "--if-missing" ]]; then
    "$(dirname "${BASH_SOURCE[0]}")/chroma-server.sh" install
fi
