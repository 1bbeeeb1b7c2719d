#!/usr/bin/env bash
# bench/callgrind.sh [handshake|resume] [SERVER...]: instructions per TLS 1.3 mTLS handshake (ECDSA P-256 both
# sides) for Gatehouse, nginx and HAProxy, counted by valgrind's callgrind, which is immune to the
# machine's noise. Each server runs under callgrind twice, serving 100 then 300 operations; the
# difference divided by 200 leaves out start-up and shutdown. Same PKI and configs as compare.sh.
# SERVER names which of gatehouse, nginx and haproxy to count (default: all three).
set -euo pipefail
mode=${1:-handshake}
servers=" ${*:2} "
[ "$servers" = "  " ] && servers=" gatehouse nginx haproxy "
wanted() { [[ $servers == *" $1 "* ]] && { [ "$1" = gatehouse ] || command -v "$1" >/dev/null; }; }
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"

count() {  # port operations command... -> instructions for the whole run
  local port=$1 n=$2
  shift 2
  rm -f "$tmp"/cg.out.*
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out.%p" "$@" >/dev/null 2>&1 &
  local vpid=$!
  for _ in $(seq 400); do  # valgrind starts slowly: up to 20 s
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.05
  done
  "$bench" "127.0.0.1:$port" --cert "$pki/tester.pem" --key "$pki/tester.key" --sni localhost --tls 1.3 \
    --mode "$mode" -c 4 -n "$n" -d 600 --warmup 0 >/dev/null 2>&1
  kill -TERM "$vpid"
  wait "$vpid" 2>/dev/null || true
  sed -n 's/^summary: //p' "$tmp"/cg.out.* | sort -n | tail -1
}

per_operation() {  # port command...
  local a b
  a=$(count "$1" 100 "${@:2}")
  b=$(count "$1" 300 "${@:2}")
  echo $(((b - a) / 200))
}

declare -A ins
if wanted gatehouse; then ins[gatehouse]=$(per_operation 18443 "$gh" run -c "$tmp/gatehouse.toml"); fi
if wanted nginx; then ins[nginx]=$(per_operation 19443 nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"); fi
if wanted haproxy; then ins[haproxy]=$(per_operation 20443 haproxy -db -f "$tmp/haproxy.cfg"); fi
best=0
for s in "${!ins[@]}"; do
  [ "$s" = gatehouse ] && continue
  if [ "$best" -eq 0 ] || [ "${ins[$s]}" -lt "$best" ]; then best=${ins[$s]}; fi
done
printf 'instructions per %s (TLS 1.3 mTLS, callgrind)\n' "$mode"
for s in gatehouse nginx haproxy; do
  [ -n "${ins[$s]:-}" ] || continue
  printf '%-10s %12s' "$s" "${ins[$s]}"
  if [ "$best" -gt 0 ]; then printf '  (%.2fx the cheapest peer)' "$(echo "${ins[$s]} / $best" | bc -l)"; fi
  printf '\n'
done
