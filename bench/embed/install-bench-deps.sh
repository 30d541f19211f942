#!/usr/bin/env bash
# Packages only the embedding benchmark needs (PyTorch as the peer, OpenBLAS
# headers).  Not part of CI: scripts/install-deps.sh stays the build/test list.
set -euo pipefail
pkgs=(python3-torch python3-numpy libopenblas-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
((${#missing[@]})) || exit 0
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
