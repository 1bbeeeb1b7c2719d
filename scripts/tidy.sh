#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy 14) with the checked-in .clang-tidy over every source file of
# ours, from the compile commands of the clang (asan) build, configured here if it is not yet.
# Exits non-zero on any finding.   scripts/tidy.sh [FILE-REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-asan/compile_commands.json ]; then
  cmake --preset asan > /dev/null
fi
filter=${1:-"$(pwd)/(common|conf|tls|policy|metrics|proxy|app|bench|tests)/"}
run-clang-tidy -quiet -p build-asan -j "${JOBS:-2}" "$filter" 2>&1 | grep -v "^[0-9]* warnings\? generated" | tee build-asan/tidy.log
if grep -qE "(warning|error):" build-asan/tidy.log; then
  echo "tidy: findings above (build-asan/tidy.log)" >&2
  exit 1
fi
echo "tidy: clean"
