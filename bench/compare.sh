#!/usr/bin/env bash
# bench/compare.sh [SECONDS]: Gatehouse, nginx and HAProxy side by side in one run: the same PKI, one
# worker each, the server pinned to CPU 0 and gatehouse-bench to CPU 1, the same load. Prints
# the servers' CPU time per full and per resumed TLS 1.3 mTLS handshake (ECDSA P-256 on both
# sides) and the ratio to the cheapest. Needs build/gatehouse and build/gatehouse-bench; nginx and
# haproxy (Debian packages) are measured when installed. (Caddy, TLS 1.2/RSA, bulk and
# idle-memory columns are still to come: see the performance issue.)
set -euo pipefail
secs=${1:-10}
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"

run() {  # name port mode -> CPU µs per operation on the server
  local pid=$1 port=$2 mode=$3
  taskset -c 1 "$bench" "127.0.0.1:$port" --cert "$pki/tester.pem" --key "$pki/tester.key" --sni localhost \
    --tls 1.3 --mode "$mode" -c 16 -d "$secs" --warmup 1 --pid "$pid" --json 2>"$tmp/bench-$port-$mode.err" |
    python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    print("%.0f %.0f %d" % (j.get("target_cpu_us_per_operation", 0), j["per_second"], sum(j["errors"].values())))
except ValueError:
    print("0 0 -1")  # the run failed: its message is below
'
  if [ -s "$tmp/bench-$port-$mode.err" ]; then sed "s/^/  port $port $mode: /" "$tmp/bench-$port-$mode.err" >&2; fi
}

declare -A full resumed
taskset -c 0 "$gh" run -c "$tmp/gatehouse.toml" 2>/dev/null &
pids+=($!)
wait_port 18443
full[gatehouse]=$(run "${pids[-1]}" 18443 handshake)
resumed[gatehouse]=$(run "${pids[-1]}" 18443 resume)

if command -v nginx >/dev/null; then
  taskset -c 0 nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" 2>/dev/null &
  pids+=($!)
  wait_port 19443
  full[nginx]=$(run "${pids[-1]}" 19443 handshake)
  resumed[nginx]=$(run "${pids[-1]}" 19443 resume)
fi

if command -v haproxy >/dev/null; then
  taskset -c 0 haproxy -db -f "$tmp/haproxy.cfg" 2>/dev/null &
  pids+=($!)
  wait_port 20443
  full[haproxy]=$(run "${pids[-1]}" 20443 handshake)
  resumed[haproxy]=$(run "${pids[-1]}" 20443 resume)
fi

best_full=999999 best_resumed=999999
for s in "${!full[@]}"; do
  f=${full[$s]%% *}; r=${resumed[$s]%% *}
  (( f > 0 && f < best_full )) && best_full=$f
  (( r > 0 && r < best_resumed )) && best_resumed=$r
done
printf '%-10s | %22s | %24s\n' "server" "full handshake µs CPU" "resumed handshake µs CPU"
for s in gatehouse nginx haproxy; do
  [ -n "${full[$s]:-}" ] || continue
  read -r f frate ferr <<<"${full[$s]}"
  read -r r rrate rerr <<<"${resumed[$s]}"
  printf '%-10s | %8s (%4.2fx) %6s/s | %8s (%4.2fx) %6s/s   errors %s/%s\n' "$s" "$f" \
    "$(echo "$f / $best_full" | bc -l)" "$frate" "$r" "$(echo "$r / $best_resumed" | bc -l)" "$rrate" "$ferr" "$rerr"
done
