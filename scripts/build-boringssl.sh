#!/usr/bin/env bash
# Builds the fast BoringSSL once per Debian package version: static, position-independent,
# hidden symbols, assembly on (no OPENSSL_SMALL), from Debian's own source package
# (android-platform-external-boringssl) with cmake/boringssl-static/CMakeLists.txt. No Go, no
# Perl: the AOSP layout ships generated assembly and err_data.c. The result is cached outside
# the build tree, so fresh clones and CI reuse it. Prints the install prefix on stdout.
#
#   GATEHOUSE_CACHE   where to cache (default /var/cache/gatehouse as root, else ~/.cache/gatehouse)
#
# `make deps` (scripts/install-deps.sh) runs it to build; CMake runs it with --locate, which only
# prints the prefix of a finished build and fails otherwise: configuring never fetches, builds or
# edits apt sources.
set -euo pipefail
locate_only=false
if [ "${1:-}" = "--locate" ]; then locate_only=true; fi
here=$(cd "$(dirname "$0")/.." && pwd)
pkg=android-platform-external-boringssl
say() { echo "build-boringssl: $*" >&2; }

cache=${GATEHOUSE_CACHE:-}
if [ -z "$cache" ]; then
  if [ "$(id -u)" -eq 0 ]; then cache=/var/cache/gatehouse; else cache=${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse; fi
fi
# The source package version is the binary packages' version.
version=$(apt-cache show android-libboringssl-dev 2>/dev/null | sed -n 's/^Version: //p' | head -1)
if [ -z "$version" ]; then
  say "cannot tell the version of $pkg (is android-libboringssl-dev known to apt?)"
  exit 1
fi
prefix="$cache/boringssl-$version"
if [ -f "$prefix/lib/libssl.a" ] && [ -f "$prefix/lib/libcrypto.a" ]; then
  echo "$prefix"
  exit 0
fi
if $locate_only; then
  say "BoringSSL $version is not built yet (no $prefix): run \`make deps\` (or scripts/build-boringssl.sh)"
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
# `apt-get source` needs a deb-src entry; add Debian's when there is none.
if ! grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  say "adding a deb-src entry for Debian's sources"
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$codename" | $sudo tee /etc/apt/sources.list.d/gatehouse-deb-src.sources >/dev/null
  $sudo apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
say "fetching $pkg $version"
(cd "$work" && apt-get source -qq --download-only "$pkg=$version" >/dev/null 2>&1) || {
  say "apt-get source $pkg=$version failed"
  exit 1
}
(cd "$work" && dpkg-source -x ./*.dsc src >/dev/null 2>&1)  # apt already checked its hashes
say "building it (static, assembly on); about a minute"
cmake -S "$here/cmake/boringssl-static" -B "$work/build" -DBORINGSSL_SOURCE="$work/src" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix.partial" >/dev/null
cmake --build "$work/build" -j "$(nproc)" >/dev/null
rm -rf "$prefix.partial"
cmake --install "$work/build" >/dev/null
echo "$version" > "$prefix.partial/share/DEBIAN_VERSION"
mkdir -p "$cache"
rm -rf "$prefix"
mv "$prefix.partial" "$prefix"  # all or nothing: a half-built cache is never used
echo "$prefix"
