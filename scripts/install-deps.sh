#!/usr/bin/env bash
# Installs the Debian packages Gatehouse builds and tests with, only those that are missing.
# Idempotent and non-interactive; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libasio-dev android-libboringssl-dev libtomlplusplus-dev prometheus-cpp-dev libgtest-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev node-llhttp libbenchmark-dev libnghttp2-dev libmimalloc-dev
  curl openssl ca-certificates libnss3-tools nginx haproxy nodejs python3 prometheus python3-yaml systemd
  chromium python3-cryptography python3-grpcio nghttp2-client python3-h2
  clang libclang-rt-14-dev clang-tidy llvm
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The static BoringSSL the default build links, built once per Debian version and cached
# (a no-op when the cache holds it); CMake only locates it.
"$(dirname "$0")/build-boringssl.sh" >/dev/null
