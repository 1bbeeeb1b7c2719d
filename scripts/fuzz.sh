#!/usr/bin/env bash
# Runs every libFuzzer target of the asan build for SECONDS each, starting from its seed corpus in
# tests/fuzz/corpus/<target> (replayed first, so every past finding is re-checked). New inputs the
# fuzzer finds go to build-asan/fuzz-corpus/<target>, never into the repository; a crash, a leak,
# a sanitizer report or an input slower than 10 s fails the run and is saved in fuzz-findings/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]        (make fuzz FUZZ_SECONDS=...)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
bin=build-asan/fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(config proxy_protocol http_head no_desync identity csr_sign crl glob request_path)
fi
mkdir -p fuzz-findings
failed=()
for t in "${targets[@]}"; do
  if [ ! -x "$bin/fuzz_$t" ]; then
    echo "fuzz: $bin/fuzz_$t is missing; build it with: cmake --preset asan && cmake --build build-asan -j2" >&2
    exit 2
  fi
  work="build-asan/fuzz-corpus/$t"
  mkdir -p "$work"
  log="build-asan/fuzz-$t.log"
  echo "fuzz: $t for ${seconds}s"
  if "$bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="fuzz-findings/$t-" "$work" "tests/fuzz/corpus/$t" > "$log" 2>&1; then
    grep -E "^stat::number_of_executed_units|^Done" "$log" | tr '\n' ' ' | sed "s/^/  $t: /"; echo
  else
    echo "fuzz: $t FAILED; the report:" >&2
    grep -E "ERROR|SUMMARY|runtime error|Test unit written|timeout" "$log" | head -20 >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}: turn each input in fuzz-findings/ into a regression test and a seed" >&2
  exit 1
fi
