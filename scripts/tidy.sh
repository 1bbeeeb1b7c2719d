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
# The test files' compile commands use the tests' precompiled header: it must exist and be current
# (boringssl_test builds it, with the libraries it links).
if [[ $filter == *tests* ]]; then
  cmake --build build-asan -j "${JOBS:-2}" --target boringssl_test > /dev/null
fi
# run-clang-tidy fails on any report (WarningsAsErrors); the log below decides instead.
{ run-clang-tidy -quiet -p build-asan -j "${JOBS:-2}" "$filter" 2>&1 || true; } | grep -v "^[0-9]* warnings\? generated" |
  tee build-asan/tidy.log
# One known false positive is not counted: clang 14's analyzer never constructs a coroutine's
# promise (its CFG holds only the written body, llvm/llvm-project#208531; the fix proposed in #208569 is not in 14), so
# Asio's promise (awaitable_frame) reading its own attached_thread_, initialized to nullptr, is
# "uninitialized" in every coroutine of ours. Only that report, located in Asio's awaitable.hpp,
# is set aside; every finding located in our own files still fails the run.
known='^/usr/include/asio/impl/awaitable\.hpp:[0-9]+:[0-9]+: (warning|error): Called C\+\+ object pointer is uninitialized \[clang-analyzer-core\.CallAndMessage'
if sed 's/\x1b\[[0-9;]*m//g' build-asan/tidy.log | grep -E "(warning|error):|Error while processing|Stack dump" |
  grep -qvE "$known"; then
  echo "tidy: findings above (build-asan/tidy.log)" >&2
  exit 1
fi
echo "tidy: clean"
