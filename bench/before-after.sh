#!/usr/bin/env bash
# bench/before-after.sh BEFORE_BUILD_DIR [SECONDS] [RUNS]: two builds of Gatehouse, the given one
# ("before", e.g. a worktree's build of an older commit) and this tree's ($BUILD, default build),
# on the same load, alternating run by run so that both see the same machine: server CPU per GiB
# forwarded each way (bulk through the tcp listener to gatehouse-echo, 4 connections x 256 MiB)
# and per full TLS 1.3 mTLS handshake. One worker pinned to CPU 0, gatehouse-bench (this tree's)
# pinned to CPU 1; the PKI and config of bench/setup-peers.sh. Prints the median of RUNS runs
# (default 5) of SECONDS each (default 5) and after / before.
set -euo pipefail
before_dir=$(cd "${1:?usage: $0 BEFORE_BUILD_DIR [SECONDS] [RUNS]}" && pwd)
secs=${2:-5}
runs=${3:-5}
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"
[ -x "$before_dir/gatehouse" ] || { echo "no gatehouse binary in $before_dir" >&2; exit 2; }
# Only what both builds understand (an older one may predate HTTP/2 listeners and upstreams).
{
  printf '[server]\nworkers = 1\n[admin]\nlisten = "off"\n[log]\naccess = "off"\nlevel = "warn"\n'
  gatehouse_listener 18443 http whoami
  gatehouse_listener 18444 tcp echo
  printf '[[upstream]]\nname = "whoami"\nendpoints = ["builtin:whoami"]\n'
  printf '[[upstream]]\nname = "echo"\nendpoints = ["127.0.0.1:17000"]\n'
} >"$tmp/before-after.toml"
results="$tmp/before-after.jsonl"
: >"$results"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

measure() {  # which column port bench-options...
  local which=$1 column=$2 port=$3
  shift 3
  local out
  out=$(taskset -c 1 "$bench" "127.0.0.1:$port" --cert "$cert" --key "$key" --sni localhost --pid "$server" \
    --json "$@" 2>/dev/null) || true
  python3 -c 'import json, sys; print(json.dumps({"which": sys.argv[1], "column": sys.argv[2], "result": json.loads(sys.argv[3] or "{}")}))' \
    "$which" "$column" "$out" >>"$results"
}

for _ in $(seq "$runs"); do
  for which in before after; do
    binary=$gh
    [ "$which" = before ] && binary="$before_dir/gatehouse"
    taskset -c 0 "$binary" run -c "$tmp/before-after.toml" >/dev/null 2>&1 &
    server=$!
    wait_port 18443
    wait_port 18444
    measure "$which" bulk 18444 --mode bulk --tls 1.3 -c 4 --bulk-mib 256 -d "$secs" --warmup 1
    measure "$which" full13 18443 --mode handshake --tls 1.3 --sigalgs ECDSA+SHA256 -c 16 -d "$secs" --warmup 1
    kill "$server"
    wait "$server" 2>/dev/null || true
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 - "$results" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
def median(which, column, key):
    values = [r["result"].get(key) for r in rows if r["which"] == which and r["column"] == column]
    values = [v for v in values if v]
    return statistics.median(values) if values else None
print(f"{'':28} {'before':>10} {'after':>10} {'after/before':>13}")
for column, key, label, scale in (("bulk", "target_cpu_seconds_per_gib", "bulk CPU s/GiB each way", 1),
                                  ("full13", "target_cpu_us_per_operation", "full TLS 1.3 handshake µs", 1)):
    b, a = median("before", column, key), median("after", column, key)
    ratio = f"{a / b:.3f}" if a and b else "?"
    fmt = (lambda v: f"{v:.3f}") if column == "bulk" else (lambda v: f"{v:,.0f}")
    print(f"{label:28} {fmt(b) if b else '?':>10} {fmt(a) if a else '?':>10} {ratio:>13}")
for which in ("before", "after"):  # every run, to judge the spread
    for column, key in (("bulk", "target_cpu_seconds_per_gib"), ("full13", "target_cpu_us_per_operation")):
        values = [r["result"].get(key) for r in rows if r["which"] == which and r["column"] == column]
        print(f"  {which} {column}: " + " ".join(f"{v:.3f}" if v else "?" for v in values))
EOF
