#!/usr/bin/env bash
# bench/tail-latency.sh [IDENTITIES] [SECONDS] [RUNS]: the p99 handshake latency at 80% of each
# server's capacity, against its p50 (issue 20's "p99 at most 3x the p50"). Gatehouse, nginx and
# HAProxy in turn (bench/setup-peers.sh's configs, one worker pinned to CPU 0), gatehouse-bench on
# CPU 1 presenting IDENTITIES client certificates it mints from the PKI's intermediate (default
# 30,000: every full TLS 1.3 handshake a certificate the server has not seen). For each server:
#   1. `--find-max --p99 50ms -d 3` finds its capacity (doubling from 100/s, then bisecting);
#   2. RUNS runs (default 3) at 80% of it, open loop, SECONDS each (default 10) after a 2 s
#      warm-up, latency counted from when each handshake was due.
# Prints one line per run and the median of the p99/p50 ratios of the unmarked runs per server.
# A run whose generator used 80% of its core or more is marked: its own queueing then shows in
# the tail (gatehouse-bench itself warns only above 85%, where it may cap the rate). So is a run
# that fell behind its rate (the server held all 64 connections at once).
set -euo pipefail
ids=${1:-30000}
secs=${2:-10}
runs=${3:-3}
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"

servers=(gatehouse)
command -v nginx >/dev/null && servers+=(nginx)
command -v haproxy >/dev/null && servers+=(haproxy)
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

load() {  # port options... -> gatehouse-bench's JSON report on stdout
  local p=$1
  shift
  taskset -c 1 "$bench" "127.0.0.1:$p" --identities "$ids" --identities-ca "$pki" --sni localhost --tls 1.3 \
    --mode handshake -c 64 --json "$@" 2>>"$tmp/bench.err" || true
}

for s in "${servers[@]}"; do
  p=${server_port[$s]}
  # shellcheck disable=SC2086  # the command is split on purpose
  taskset -c 0 ${server_command[$s]} >/dev/null 2>&1 &
  pids+=($!)
  wait_port "$p"
  capacity=$(load "$p" --find-max --p99 50ms -d 3 |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["find_max"]["highest_rate"]))') ||
    { sed "s/^/  $s: /" "$tmp/bench.err" >&2; exit 1; }
  : >"$tmp/bench.err"
  echo "$capacity" >"$tmp/capacity-$s"
  for run in $(seq "$runs"); do
    if [ "$capacity" -ge 2 ]; then  # else no rate held the p99 (a loaded machine): nothing to run at
      load "$p" --rate "$((capacity * 8 / 10))" -d "$secs" --warmup 2 >"$tmp/tail-$s-$run.json"
    fi
  done
  if [ -s "$tmp/bench.err" ]; then sed "s/^/  $s: /" "$tmp/bench.err" >&2; fi
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 - "$tmp" "$runs" "${servers[@]}" <<'EOF'
import json, statistics, sys
tmp, runs, servers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
summary = []
for s in servers:
    capacity = int(open(f"{tmp}/capacity-{s}").read())
    clean = []
    for run in range(1, runs + 1):
        try:
            r = json.load(open(f"{tmp}/tail-{s}-{run}.json"))
        except (OSError, ValueError):
            print(f"{s:9} capacity {capacity}/s, run {run}: no results (gatehouse-bench's messages are above)")
            continue
        lat, cpu, rate = r["latency_us"], r["client_cpu"]["share"], r["asked_rate"]
        behind = r["operations"] < 0.99 * rate * r["seconds"] or r["not_started"] > 0
        mark = ("  (generator-bound)" if cpu >= 0.8 else
                "  (fell behind: arrivals waited for one of the 64 connections)" if behind else "")
        if not mark:
            clean.append(lat["p99"] / lat["p50"])
        print(f"{s:9} capacity {capacity}/s, at {rate:.0f}/s: p50 {lat['p50']} µs  p99 {lat['p99']} µs  "
              f"p99.9 {lat['p99.9']} µs  max {lat['max']} µs  p99/p50 {lat['p99'] / lat['p50']:.1f}x  "
              f"generator CPU {cpu:.0%}  errors {r['error_count']}{mark}")
    median = f"{statistics.median(clean):.1f}x" if clean else "-"
    summary.append(f"{s:9} median p99/p50 of the {len(clean)} unmarked runs of {runs}: {median}")
print("\n".join(summary))
EOF
