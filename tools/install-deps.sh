#!/usr/bin/env bash
# Installs the system libraries DataGenerator builds against, when they are missing:
#   liblz4-dev  (LZ4 block compression of the cache file; pkg-config name "liblz4")
#   zlib1g-dev  (CRC-32 checksums of the cache file)
#   libssl-dev  (SHA-256 of fingerprints and batch digests, through libcrypto)
#   libcurl4-openssl-dev  (the URL data encoder's HTTP client)
#   libjpeg62-turbo-dev  (JPEG decoding of --data image; pkg-config name "libjpeg")
#   libpng-dev  (PNG decoding of --data image; pkg-config name "libpng")
# Idempotent: does nothing when pkg-config already finds them.
# Not root? Ask an administrator to run:  sudo apt-get update && sudo apt-get install -y liblz4-dev zlib1g-dev libssl-dev libcurl4-openssl-dev libjpeg62-turbo-dev libpng-dev pkg-config
set -euo pipefail

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists liblz4 2>/dev/null || missing+=(liblz4-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
pkg-config --exists libcrypto 2>/dev/null || missing+=(libssl-dev)
pkg-config --exists libcurl 2>/dev/null || missing+=(libcurl4-openssl-dev)
pkg-config --exists libjpeg 2>/dev/null || missing+=(libjpeg62-turbo-dev)
pkg-config --exists libpng 2>/dev/null || missing+=(libpng-dev)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "install-deps: ${missing[*]} missing and this user cannot install packages." >&2
  echo "install-deps: ask an administrator to run:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq "${missing[@]}" >&2
