#!/bin/sh
# Configuring with CMake never installs, fetches or edits apt sources: only `make deps` does.
# Every command that could (apt-get, apt, sudo, dpkg, dpkg-source) is replaced by a shim that
# records its call. A configure without the cached static BoringSSL must stop and say
# `make deps`; one with it must succeed; neither may call a shim.
# Usage: configure_is_offline.sh <source dir>
set -u
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/shims" "$work/empty-cache"
for tool in apt-get apt sudo dpkg dpkg-source; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/called"\nexit 1\n' "$tool" "$work" >"$work/shims/$tool"
  chmod +x "$work/shims/$tool"
done
status=0
configure() {  # build dir, then extra environment
  dir=$1; shift
  env PATH="$work/shims:$PATH" "$@" cmake -S "$src" -B "$work/$dir" \
    -DGATEHOUSE_BUILD_TESTS=OFF -DGATEHOUSE_BUILD_BENCH=OFF >"$work/$dir.log" 2>&1
}

if configure without-cache GATEHOUSE_CACHE="$work/empty-cache"; then
  echo "FAIL: configure succeeded without a built BoringSSL"; status=1
elif ! grep -q 'make deps' "$work/without-cache.log"; then
  echo "FAIL: configure without a built BoringSSL does not say to run make deps:"; cat "$work/without-cache.log"; status=1
fi
if [ -n "$(ls "$work/empty-cache")" ]; then
  echo "FAIL: configure wrote into the BoringSSL cache"; status=1
fi
if ! configure with-cache; then
  echo "FAIL: configure with the cached BoringSSL failed:"; cat "$work/with-cache.log"; status=1
fi
if [ -f "$work/called" ]; then
  echo "FAIL: configuring ran commands that install or fetch:"; cat "$work/called"; status=1
fi
[ $status -eq 0 ] && echo "configure is offline: no installs, no fetches, a clear stop without BoringSSL"
exit $status
