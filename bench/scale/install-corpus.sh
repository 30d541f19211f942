#!/usr/bin/env bash
# Installs the Debian documentation packages the scale benchmark reads (bench
# only: these never go into scripts/install-deps.sh).  Their HTML is read in
# place under /usr/share/doc by bench/scale/run.sh.
#   bench/scale/install-corpus.sh          (needs root or sudo)
set -euo pipefail
PKGS=(linux-doc-6.1 python3.11-doc rust-doc openjdk-17-doc python-scipy-doc libboost1.81-doc qtbase5-doc-html
      postgresql-doc-15 python-django-doc)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && { echo "scale corpus packages already installed: ${PKGS[*]}"; exit 0; }
SUDO=; [[ $(id -u) -ne 0 ]] && SUDO=sudo
# Lock waits are bounded: another apt run on a shared machine must not hang this forever.
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
