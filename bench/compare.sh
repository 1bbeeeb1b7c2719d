#!/usr/bin/env bash
# bench/compare.sh [SECONDS]: Gatehouse, nginx and HAProxy side by side in one run: the same PKI, one
# worker each, the server pinned to CPU 0 and gatehouse-bench to CPU 1, the same load. Prints
# the servers' CPU time per full and per resumed TLS 1.3 mTLS handshake (ECDSA P-256 on both
# sides) and the ratio to the cheapest. Needs build/gatehouse and build/gatehouse-bench; nginx and
# haproxy (Debian packages) are measured when installed. (Caddy, TLS 1.2/RSA, bulk and
# idle-memory columns are still to come: see the performance issue.)
set -euo pipefail
build=${BUILD:-build}
secs=${1:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
gh="$here/$build/gatehouse"
bench="$here/$build/gatehouse-bench"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {  # bounded: 5 s
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# One PKI for everyone: Gatehouse's development PKI (root, intermediate, server, tester).
"$gh" run --dev-pki "$tmp/pki" >/dev/null 2>&1 &
pids+=($!)
wait_port 8443
kill "${pids[-1]}"
wait "${pids[-1]}" 2>/dev/null || true
pki="$tmp/pki"
cat "$pki/root.pem" "$pki/intermediate.pem" > "$pki/ca-bundle.pem"

cat > "$tmp/gatehouse.toml" <<EOF
[server]
workers = 1
[admin]
listen = "off"
[log]
access = "off"
level = "warn"
[[listener]]
listen = "127.0.0.1:18443"
mode = "http"
  [listener.tls]
  certificates = [ { cert = "$pki/server.pem", key = "$pki/server.key" } ]
  client_ca = "$pki/root.pem"
  client_intermediates = "$pki/intermediate.pem"
  [[listener.route]]
  upstream = "whoami"
[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
EOF

mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;
  ssl_session_tickets on;
  server {
    listen 127.0.0.1:19443 ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $pki/server.pem;
    ssl_certificate_key $pki/server.key;
    ssl_client_certificate $pki/ca-bundle.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / { return 200 "ok\n"; }
  }
}
EOF

cat "$pki/server.pem" "$pki/server.key" > "$pki/server-with-key.pem"
cat > "$tmp/haproxy.cfg" <<EOF
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend mtls
  bind 127.0.0.1:20443 ssl crt $pki/server-with-key.pem ca-file $pki/ca-bundle.pem verify required
  http-request return status 200 content-type text/plain string "ok"
EOF

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
  (( f < best_full )) && best_full=$f
  (( r < best_resumed )) && best_resumed=$r
done
printf '%-10s | %22s | %24s\n' "server" "full handshake µs CPU" "resumed handshake µs CPU"
for s in gatehouse nginx haproxy; do
  [ -n "${full[$s]:-}" ] || continue
  read -r f frate ferr <<<"${full[$s]}"
  read -r r rrate rerr <<<"${resumed[$s]}"
  printf '%-10s | %8s (%4.2fx) %6s/s | %8s (%4.2fx) %6s/s   errors %s/%s\n' "$s" "$f" \
    "$(echo "$f / $best_full" | bc -l)" "$frate" "$r" "$(echo "$r / $best_resumed" | bc -l)" "$rrate" "$ferr" "$rerr"
done
