#!/usr/bin/env bash
# bench/perf-stat.sh [N] [VERIFIED_CACHE]: `perf stat` of one Gatehouse worker (CPU 0) over N full
# TLS 1.3 mTLS handshakes (default 8,000) from gatehouse-bench (CPU 1, 16 connections), each
# presenting a client certificate the server has not seen (N identities, minted from the bench
# PKI's intermediate, after a warm-up of N handshakes with other identities). Prints, per
# handshake: CPU time (task-clock, user and kernel), system calls, page faults, and the system
# calls that matter here. VERIFIED_CACHE sets [server] verified_cache (default 16384; 0 turns the
# verified-chain cache and the remembered intermediates off). TESTER=1: the one tester
# certificate instead, which the cache answers after its first handshake.
# Needs `perf` (Debian linux-perf); the software events it reads need no hardware counters, so
# it runs in a VM. CPU time is as noisy as the machine: alternate the two things compared, as
# RESULTS.md does, and prefer the counts.
set -euo pipefail
n=${1:-8000}
cache=${2:-16384}
source "$(cd "$(dirname "$0")" && pwd)/setup-peers.sh"
command -v perf >/dev/null || { echo "perf is missing: apt-get install linux-perf" >&2; exit 1; }
sed -i "s/^verified_cache = .*/verified_cache = $cache/" "$tmp/gatehouse.toml"
taskset -c 0 "$gh" run -c "$tmp/gatehouse.toml" >/dev/null 2>&1 &
pids+=($!)
server=$!
wait_port 18443
who=(--identities "$n" --identities-ca "$pki")
[ -n "${TESTER:-}" ] && who=(--cert "$cert" --key "$key")
load() {
  taskset -c 1 "$bench" 127.0.0.1:18443 "${who[@]}" --sni localhost --tls 1.3 --sigalgs ECDSA+SHA256 \
    --mode handshake -c 16 -n "$n" -d 600 --warmup 0 >/dev/null 2>&1
}
load  # the warm-up: the worker's memories as a long-running server has them
events=raw_syscalls:sys_enter,page-faults,task-clock
for call in accept epoll_ctl getpeername setsockopt ioctl timerfd_settime mprotect; do
  events+=",syscalls:sys_enter_$call"
done
perf stat -e "$events" -p "$server" -o "$tmp/perf.txt" -- sleep 100000 2>/dev/null &
stat_pid=$!
sleep 0.3
load
kill "$(pgrep -P "$stat_pid" sleep)"
wait "$stat_pid" || true
echo "per full TLS 1.3 handshake, $n handshakes, verified_cache = $cache${TESTER:+, the tester certificate}:"
awk -v n="$n" '/sys_enter|page-faults|task-clock/ {
  gsub(",", "", $1); name = $2; sub("syscalls:sys_enter_", "", name); sub("raw_syscalls:sys_enter", "system calls", name)
  if (name == "msec") printf "  CPU time: %.1f us\n", $1 * 1000 / n; else printf "  %s: %.2f\n", name, $1 / n }' "$tmp/perf.txt"
