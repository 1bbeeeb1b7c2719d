#!/usr/bin/env bash
# bench/per-operation.sh [handshake|resume|h2|grpc] [SERVER...]: what one TLS 1.3 mTLS handshake
# (ECDSA P-256 both sides), or one HTTP/2 request (h2: proxied to an HTTP/1.1 upstream; grpc: a
# unary call proxied to an h2c server; 4 connections × 16 streams) costs Gatehouse, nginx and
# HAProxy in counts that do not depend on the machine's noise: instructions (valgrind's
# callgrind), heap allocations (valgrind's memcheck, "total heap usage") and system calls
# (strace -c). Each server runs under each tool twice, serving 100 then 300 operations (h2, grpc:
# 1,000 then 3,000); the difference divided by the difference leaves out start-up, shutdown and
# the connections' handshakes. Same PKI and configs as compare.sh. SERVER names which of gatehouse, nginx and
# haproxy to count (default: all three). IDENTITIES=N: every handshake presents one of N client
# certificates minted by gatehouse-bench (--identities, signed by the PKI's intermediate, sent with
# it), so that each leaf is one the server has not seen (N above the operations counted). CRL=1:
# Gatehouse loads the bench PKI's CRLs (`gatehouse ca crl`), as a deployment made by `gatehouse
# init` does (nginx and HAProxy are counted without).
set -euo pipefail
mode=${1:-handshake}
servers=" ${*:2} "
[ "$servers" = "  " ] && servers=" gatehouse nginx haproxy "
wanted() { [[ $servers == *" $1 "* ]] && { [ "$1" = gatehouse ] || command -v "$1" >/dev/null; }; }
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"

if [ -n "${CRL:-}" ]; then
  "$gh" ca crl "$pki" >/dev/null 2>&1
  sed -i "0,/client_intermediates = .*/s||&\n  crl = \"$pki/crl.pem\"|" "$tmp/gatehouse.toml"
fi
who=(--cert "$cert" --key "$key")
[ -n "${IDENTITIES:-}" ] && who=(--identities "$IDENTITIES" --identities-ca "$pki")
load() {  # port operations
  "$bench" "127.0.0.1:$1" "${who[@]}" --sni localhost --tls 1.3 \
    --mode "$mode" -c 4 --streams 16 --path "$path" -n "$2" -d 600 --warmup 0 >/dev/null 2>&1
}
path=/
few=100 many=300
if [ "$mode" = h2 ] || [ "$mode" = grpc ]; then
  few=1000 many=3000
  [ "$mode" = grpc ] && path=/bench.Bench/Call
  start_h2_upstreams
fi

wait_slow_port() {  # valgrind starts slowly: up to 20 s
  for _ in $(seq 400); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $1 (another program on one of the server's ports?)" >&2
  return 1
}

count() {  # tool port operations command... -> the tool's total for the whole run
  local tool=$1 port=$2 n=$3
  shift 3
  rm -f "$tmp"/out.*
  case $tool in
    instructions) valgrind --tool=callgrind --callgrind-out-file="$tmp/out.%p" "$@" >/dev/null 2>&1 & ;;
    allocations) valgrind --tool=memcheck --leak-check=no --soname-synonyms=somalloc=libmimalloc.so\* --log-file="$tmp/out.%p" "$@" >/dev/null 2>&1 & ;;
    syscalls) strace -f -c -o "$tmp/out.strace" "$@" >/dev/null 2>&1 & ;;
  esac
  local pid=$!
  if ! wait_slow_port "$port"; then
    kill "$pid" 2>/dev/null || true
    echo "?"
    return
  fi
  load "$port" "$n"
  # Under strace the server is strace's child: stop the server, and strace reports and exits.
  local server=$pid
  if [ "$tool" = syscalls ]; then server=$(pgrep -P "$pid"); fi
  kill -TERM "$server"
  wait "$pid" 2>/dev/null || true
  case $tool in
    instructions) sed -n 's/^summary: //p' "$tmp"/out.* | sort -n | tail -1 ;;
    allocations) sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' "$tmp"/out.* | tr -d , | sort -n | tail -1 ;;
    syscalls) awk '$NF == "total" {print $(NF-2)}' "$tmp/out.strace" ;;
  esac
}

per_operation() {  # tool port command...
  local a b
  a=$(count "$1" "$2" "$few" "${@:3}")
  b=$(count "$1" "$2" "$many" "${@:3}")
  if [ "$a" = "?" ] || [ "$b" = "?" ]; then echo "?"; return; fi
  awk -v a="$a" -v b="$b" -v n=$((many - few)) 'BEGIN { v = (b - a) / n; printf(v < 100 ? "%.1f\n" : "%d\n", v) }'
}

if [ "$mode" = h2 ] || [ "$mode" = grpc ]; then  # the HTTP/2 listeners (gRPC: the port after)
  step=$([ "$mode" = grpc ] && echo 1 || echo 0)
  server_port[gatehouse]=$((18445 + step)) server_port[nginx]=$((19445 + step)) server_port[haproxy]=$((20446 + step))
  server_command[nginx]="nginx -p $tmp/nginx -c $tmp/nginx/nginx-h2.conf"  # only its h2 ports need to be free
fi

printf 'per %s operation (TLS 1.3 mTLS, ECDSA P-256)\n%-10s %14s %12s %10s\n' "$mode" server instructions allocations syscalls
for s in gatehouse nginx haproxy; do
  wanted "$s" || continue
  # shellcheck disable=SC2086  # the commands are split on purpose
  printf '%-10s %14s %12s %10s\n' "$s" "$(per_operation instructions "${server_port[$s]}" ${server_command[$s]})" \
    "$(per_operation allocations "${server_port[$s]}" ${server_command[$s]})" "$(per_operation syscalls "${server_port[$s]}" ${server_command[$s]})"
done
