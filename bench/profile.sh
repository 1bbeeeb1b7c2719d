#!/usr/bin/env bash
# bench/profile.sh [MODE] [SECONDS]: where Gatehouse's CPU goes under gatehouse-bench load (MODE:
# handshake, resume, requests, bulk, h2 or grpc; default handshake). Gatehouse runs with compare.sh's config
# pinned to CPU 0, the load on CPU 1; `perf record` samples Gatehouse (software clock, call
# graphs) and the flat profile's top lines are printed. The raw data stays in perf.data
# (`perf report -i perf.data`). Needs Debian's linux-perf.
set -euo pipefail
mode=${1:-handshake}
secs=${2:-4}
out=$PWD/perf.data
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 1; }

if [ "$mode" = h2 ] || [ "$mode" = grpc ]; then start_h2_upstreams; fi
taskset -c 0 "$gh" run -c "$tmp/gatehouse.toml" 2>/dev/null &
pids+=($!)
wait_port 18443
port=18443
[ "$mode" = bulk ] && port=18444  # the TCP listener in front of gatehouse-echo
if [ "$mode" = h2 ] || [ "$mode" = grpc ]; then  # HTTP/2 to the HTTP/1.1 upstream, or gRPC to the h2c one
  port=$([ "$mode" = h2 ] && echo 18445 || echo 18446)
fi
taskset -c 1 "$bench" 127.0.0.1:$port --cert "$cert" --key "$key" --sni localhost --tls 1.3 \
  --mode "$mode" --path "$([ "$mode" = grpc ] && echo /bench.Bench/Call || echo /)" --streams 16 \
  -c "$([ "$mode" = bulk ] || [ "$mode" = h2 ] || [ "$mode" = grpc ] && echo 4 || echo 16)" -d $((secs + 2)) --warmup 1 --pid "${pids[-1]}" >"$tmp/bench.out" 2>&1 &
load=$!
perf record -F 4000 -g -o "$out" -p "${pids[-1]}" -- sleep "$secs" >/dev/null 2>&1
wait "$load" || { cat "$tmp/bench.out" >&2; exit 1; }
tail -n 12 "$tmp/bench.out"
perf report -i "$out" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -n 40
