#!/usr/bin/env bash
# bench/compare.sh [SECONDS] [RUNS]: Gatehouse, nginx and HAProxy side by side in one run: the same
# PKI (bench/setup-peers.sh), one worker each pinned to CPU 0, gatehouse-bench pinned to CPU 1,
# the same load at each. Columns (server CPU per operation, read from /proc):
#   full TLS 1.3 and TLS 1.2 mTLS handshakes with the ECDSA P-256 server certificate, a full TLS
#   1.3 handshake with the RSA-2048 one, a resumed TLS 1.3 handshake (tickets), CPU seconds per
#   GiB forwarded each way (bulk through the TCP/stream listeners to gatehouse-echo), and memory
#   per idle mTLS connection (RSS growth of a fresh server holding 2,000 connections); and over
#   HTTP/2 (ALPN h2) on warm connections (4 connections × 16 streams, kept for the whole run):
#   CPU per request proxied to an HTTP/1.1 upstream, and per unary gRPC call proxied to an h2c
#   gRPC server (nginx: proxy_pass and grpc_pass; HAProxy: an h2 frontend, a `proto h2` server).
# WHICH (default all): "tls" for the columns before HTTP/2, "h2" for the two HTTP/2 columns.
# Each figure is the median of RUNS runs (default 3) of SECONDS each (default 5); ratios are to
# the best peer in the column. The last row is the crypto floor: the same operations' public-key
# and record cryptography alone, with Gatehouse's BoringSSL (gatehouse-microbench). nginx and
# HAProxy (Debian packages; nginx's stream module from libnginx-mod-stream) are measured when
# installed. Caddy, which the performance issue also names, is not packaged for Debian 12 (nor
# shipped as a binary in an npm package; no other registry is reachable here).
# IDENTITIES=N: every handshake presents one of N client certificates gatehouse-bench mints from
# the PKI's intermediate (--identities, sent with it), the same way for every server, instead of
# the one tester certificate: what a fleet of clients costs. Each leaf is new to the server only
# while N covers every handshake of a cell, warm-up included (about 20,000 for Gatehouse's 6 s
# at 3,000/s; gatehouse-bench warns otherwise): fewer, and a server that remembers verified
# chains answers the repeats from memory.
set -euo pipefail
secs=${1:-5}
runs=${2:-3}
which=${3:-all}
case $which in all | tls | h2) ;; *) echo "usage: $0 [SECONDS] [RUNS] [all|tls|h2]" >&2; exit 2 ;; esac
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"
ulimit -n "$(ulimit -Hn)"  # 2,000 held connections; HAProxy wants twice its maxconn
results="$tmp/results.jsonl"
who=(--cert "$cert" --key "$key")
[ -n "${IDENTITIES:-}" ] && who=(--identities "$IDENTITIES" --identities-ca "$pki")
: >"$results"

measure() {  # server run column pid port bench-options... -> one JSON line in $results
  local server=$1 run=$2 column=$3 pid=$4 port=$5
  shift 5
  local out
  out=$(taskset -c 1 "$bench" "127.0.0.1:$port" "${who[@]}" --sni localhost --pid "$pid" --json \
    "$@" 2>"$tmp/bench.err") || true
  if [ -s "$tmp/bench.err" ]; then sed "s/^/  $server $column: /" "$tmp/bench.err" >&2; fi
  python3 -c '
import json, sys
server, run, column, text = sys.argv[1:5]
try:
    j = json.loads(text)
except ValueError:
    j = {}
print(json.dumps({"server": server, "run": int(run), "column": column, "result": j}))' \
    "$server" "$run" "$column" "$out" >>"$results"
}

start() {  # command... -> pid of a server started on CPU 0 (waits for its HTTP port)
  taskset -c 0 "$@" >/dev/null 2>&1 &
  pids+=($!)
}

stop_last() {
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
  unset 'pids[-1]'
}

server_command[gatehouse-cold]="$gh run -c $tmp/gatehouse-cold.toml"; server_port[gatehouse-cold]=18443
servers=(gatehouse)
[ "$which" != h2 ] && servers+=(gatehouse-cold)  # verified_cache changes handshakes only
command -v nginx >/dev/null && servers+=(nginx)
command -v haproxy >/dev/null && servers+=(haproxy)
declare -A h2_port
h2_port[gatehouse]=18445; h2_port[nginx]=19445; h2_port[haproxy]=20446  # gRPC: the port after
[ "$which" != tls ] && start_h2_upstreams
[ "$which" = h2 ] && server_command[nginx]="nginx -p $tmp/nginx -c $tmp/nginx/nginx-h2.conf"  # only its h2 ports
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

for run in $(seq "$runs"); do
  for s in "${servers[@]}"; do
    p=${server_port[$s]}
    # shellcheck disable=SC2086  # the command is split on purpose
    start ${server_command[$s]}
    if [ "$which" = h2 ]; then wait_port "${h2_port[$s]}"; else wait_port "$p"; fi
    pid=${pids[-1]}
    if [ "$which" != tls ] && [ -n "${h2_port[$s]:-}" ]; then
      hp=${h2_port[$s]}
      wait_port "$hp"
      h2load=(-c 4 --streams 16 -d "$secs" --warmup 1)
      measure "$s" "$run" h2req "$pid" "$hp" --mode h2 --tls 1.3 "${h2load[@]}"
      measure "$s" "$run" grpc "$pid" $((hp + 1)) --mode grpc --tls 1.3 --path /bench.Bench/Call "${h2load[@]}"
    fi
    if [ "$which" = h2 ]; then
      stop_last
      continue
    fi
    common=(-c 16 -d "$secs" --warmup 1)
    measure "$s" "$run" full13 "$pid" "$p" --mode handshake --tls 1.3 --sigalgs ECDSA+SHA256 "${common[@]}"
    measure "$s" "$run" full12 "$pid" "$p" --mode handshake --tls 1.2 --sigalgs ECDSA+SHA256 "${common[@]}"
    rsa_port=$p
    [ "$s" = haproxy ] && rsa_port=20445
    measure "$s" "$run" rsa13 "$pid" "$rsa_port" --mode handshake --tls 1.3 --sigalgs RSA-PSS+SHA256 "${common[@]}"
    measure "$s" "$run" resumed13 "$pid" "$p" --mode resume --tls 1.3 "${common[@]}"
    if [ "$s" != gatehouse-cold ] && { [ "$s" != nginx ] || grep -q stream "$tmp/nginx/nginx.conf"; }; then
      measure "$s" "$run" bulk "$pid" $((p + 1)) --mode bulk --tls 1.3 -c 4 --bulk-mib 256 -d "$secs" --warmup 1
    fi
    stop_last
    if [ "$s" != gatehouse-cold ]; then  # a fresh process: its RSS before the connections is the baseline
      # shellcheck disable=SC2086
      start ${server_command[$s]}
      wait_port "$p"
      measure "$s" "$run" idle "${pids[-1]}" "$p" --mode hold --tls 1.3 -t 2 -c 1000 -d 1 --warmup 6
      stop_last
    fi
  done
done

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
[ "$which" = h2 ] || taskset -c 0 "$here/$build/gatehouse-microbench" --benchmark_filter=CryptoFloor --benchmark_repetitions=$((runs < 3 ? 3 : runs)) \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$tmp/floor.json" 2>/dev/null || true

python3 - "$results" "$tmp/floor.json" "$secs" "$runs" <<'EOF'
import json, statistics, sys
results, floor_file, secs, runs = sys.argv[1:5]
columns = [("full13", "full TLS 1.3", "µs"), ("full12", "full TLS 1.2", "µs"), ("rsa13", "full TLS 1.3 RSA", "µs"),
           ("resumed13", "resumed TLS 1.3", "µs"), ("bulk", "bulk CPU s/GiB", "s"), ("idle", "idle KiB/conn", "KiB"),
           ("h2req", "HTTP/2 request", "µs"), ("grpc", "gRPC unary call", "µs")]
value_of = {"full13": "target_cpu_us_per_operation", "full12": "target_cpu_us_per_operation",
            "rsa13": "target_cpu_us_per_operation", "resumed13": "target_cpu_us_per_operation",
            "bulk": "target_cpu_seconds_per_gib", "idle": "target_kib_per_connection",
            "h2req": "target_cpu_us_per_operation", "grpc": "target_cpu_us_per_operation"}
samples, errors, rates, split = {}, {}, {}, {}
for line in open(results):
    r = json.loads(line)
    key = (r["server"], r["column"])
    v = r["result"].get(value_of[r["column"]])
    if v is not None:
        samples.setdefault(key, []).append(v)
        rates.setdefault(key, []).append(r["result"].get("per_second", 0))
        if "target_kernel_us_per_operation" in r["result"]:
            split.setdefault(key, []).append((r["result"]["target_user_us_per_operation"],
                                              r["result"]["target_kernel_us_per_operation"]))
    errors[key] = errors.get(key, 0) + sum(r["result"].get("errors", {}).values()) + (0 if r["result"] else 1)
median = {k: statistics.median(v) for k, v in samples.items()}
columns = [c for c in columns if any(k[1] == c[0] for k in samples)]  # the columns this run measured
servers = []
for (s, _) in samples:
    if s not in servers: servers.append(s)
floor = {}
try:
    for b in json.load(open(floor_file))["benchmarks"]:
        if b.get("aggregate_name") != "median": continue
        name = b["run_name"].replace("CryptoFloor_", "")
        us = b["cpu_time"] / 1000 if b["time_unit"] == "ns" else b["cpu_time"]
        if name == "FullHandshakeEcdsa": floor["full13"] = floor["full12"] = us
        if name == "FullHandshakeRsa": floor["rsa13"] = us
        if name == "ResumedHandshake": floor["resumed13"] = us
        if name == "AesGcmRecord": floor["bulk"] = (1 << 30) / b["bytes_per_second"]
except (OSError, ValueError, KeyError):
    pass
peers = [s for s in servers if not s.startswith("gatehouse")]
best = {c: min((median[(s, c)] for s in peers if (s, c) in median), default=None) for c, _, _ in columns}
print(f"median of {runs} runs, {secs} s each; (ratio to the best peer); server CPU per operation\n")
print("| server | " + " | ".join(t for _, t, _ in columns) + " |")
print("|---|" + "---|" * len(columns))
def cell(v, c):
    text = f"{v:.2f}" if c == "bulk" else f"{v:,.1f}" if c == "idle" else f"{v:,.0f}"
    return text + (f" ({v / best[c]:.2f}x)" if best[c] else "")
for s in servers:
    cells = [cell(median[(s, c)], c) if (s, c) in median else "–" for c, _, _ in columns]
    bad = sum(errors.get((s, c), 0) for c, _, _ in columns)
    print(f"| {s} | " + " | ".join(cells) + " |" + (f" errors: {bad}" if bad else ""))
if floor:
    print("| crypto floor | " + " | ".join(cell(floor[c], c) if c in floor else "–" for c, _, _ in columns) + " |")
h2 = [c for c, _, _ in columns if c in ("h2req", "grpc")]
if h2:  # context, not the measure: the upstreams share CPU 1 with the load generator
    print("\noperations per second in the HTTP/2 columns: " + "; ".join(
        f"{s} " + " / ".join(f"{statistics.median(rates[(s, c)]):,.0f}" if (s, c) in rates else "–" for c in h2)
        for s in servers))
    # Where the CPU goes: the kernel's share (system calls, loopback TCP) is a floor no proxy's
    # own code removes; the run whose total is the median is shown.
    def user_kernel(s, c):
        runs = sorted(split.get((s, c), []), key=sum)
        return f"{runs[len(runs) // 2][0]:,.0f} + {runs[len(runs) // 2][1]:,.0f}" if runs else "–"
    print("user + kernel µs per operation in the HTTP/2 columns (the median run): " + "; ".join(
        f"{s} " + " / ".join(user_kernel(s, c) for c in h2) for s in servers))
EOF
