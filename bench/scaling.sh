#!/usr/bin/env bash
# bench/scaling.sh [SECONDS]: do two workers take twice the full mTLS handshakes (TLS 1.3, ECDSA
# P-256) of one?
#
# Measured directly when the machine has 4 CPUs or more: Gatehouse pinned to CPUs 0-1 (workers =
# 1, then 2), gatehouse-bench pinned to the other CPUs, handshakes per second compared.
#
# On 2 CPUs the load generator cannot have cores of its own (it costs about as much per
# handshake as the server), so the script measures what decides scaling instead: Gatehouse's CPU
# time per handshake with 1 worker (pinned to CPU 0, load on CPU 1) and with 2 workers (pinned
# to CPUs 0 and 1, the load sharing them), and how evenly SO_REUSEPORT spread the connections
# over the two workers (CPU time of each worker thread). Workers share nothing on the hot path,
# so if the cost per handshake does not grow, two free cores take 2 x (cost with 1 / cost with
# 2) the handshakes of one: that is the "implied" ratio printed. Target: >= 1.8.
set -euo pipefail
secs=${1:-5}
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"

# Gatehouse with N workers, only the HTTP listener.
config() {
  sed -e "s/^workers = 1$/workers = $1/" "$tmp/gatehouse.toml"
}

thread_cpu() {  # pid -> "tid:ticks" for each thread, utime+stime
  for stat in /proc/"$1"/task/*/stat; do
    awk -v f="$stat" '{ sub(/.*\) /, ""); split($0, a, " "); split(f, p, "/"); print p[5] ":" a[12] + a[13] }' "$stat"
  done
}

run() {  # workers server-cpus bench-cpus -> "per_second cpu_us_per_handshake worker-shares"
  local workers=$1 server_cpus=$2 bench_cpus=$3
  config "$workers" >"$tmp/scaling.toml"
  taskset -c "$server_cpus" "$gh" run -c "$tmp/scaling.toml" >/dev/null 2>&1 &
  pids+=($!)
  local pid=$!
  wait_port 18443
  thread_cpu "$pid" >"$tmp/before"
  taskset -c "$bench_cpus" "$bench" 127.0.0.1:18443 --cert "$cert" --key "$key" --sni localhost --tls 1.3 \
    --mode handshake -t "$workers" -c 16 -d "$secs" --warmup 1 --pid "$pid" --json >"$tmp/scaling.json" 2>/dev/null
  thread_cpu "$pid" >"$tmp/after"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  unset 'pids[-1]'
  python3 - "$tmp/scaling.json" "$tmp/before" "$tmp/after" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
def ticks(path):
    return {l.split(":")[0]: int(l.split(":")[1]) for l in open(path) if ":" in l}
before, after = ticks(sys.argv[2]), ticks(sys.argv[3])
busy = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)
total = sum(busy) or 1
shares = "/".join(f"{100 * b / total:.0f}%" for b in busy[:2])
print(f'{j["per_second"]:.0f} {j.get("target_cpu_us_per_operation", 0):.0f} {shares}')
EOF
}

if [ "$(nproc)" -ge 4 ]; then
  read -r one_rate one_cpu _ <<<"$(run 1 0 2-"$(($(nproc) - 1))")"
  read -r two_rate two_cpu shares <<<"$(run 2 0,1 2-"$(($(nproc) - 1))")"
  echo "1 worker:  $one_rate handshakes/s ($one_cpu µs CPU each)"
  echo "2 workers: $two_rate handshakes/s ($two_cpu µs CPU each; busiest threads $shares)"
  echo "measured ratio: $(echo "scale=2; $two_rate / $one_rate" | bc)"
else
  read -r one_rate one_cpu _ <<<"$(run 1 0 1)"
  read -r two_rate two_cpu shares <<<"$(run 2 0,1 0,1)"
  echo "1 worker  (CPU 0, load on CPU 1):        $one_rate handshakes/s, $one_cpu µs server CPU each"
  echo "2 workers (CPUs 0-1, load sharing them): $two_rate handshakes/s, $two_cpu µs server CPU each; busiest threads $shares"
  echo "implied ratio with two free cores: $(echo "scale=2; 2 * $one_cpu / $two_cpu" | bc) (2 x CPU per handshake with 1 / with 2)"
fi
