#!/usr/bin/env bash
# Soak: Gatehouse (two workers) under a mixed load for SECONDS: full and resumed handshakes,
# keep-alive requests, bulk transfers through a tcp listener, clients refused for having no certificate,
# 300 idle connections held open, and a reload every 30 s. Every INTERVAL seconds it records the
# process's RSS, open descriptors and handshake rate in OUT/soak.csv, then plots OUT/soak.png
# (gnuplot). It fails when RSS or descriptors keep growing: the last third of the run may not
# exceed the first half's peak by more than 10 % + 8 MiB (RSS) or 32 descriptors.
#   bench/soak.sh [SECONDS=600] [INTERVAL=5] [OUT=bench/results]
set -euo pipefail
seconds=${1:-600}
interval=${2:-5}
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out=${3:-$here/bench/results}
mkdir -p "$out"
command -v gnuplot >/dev/null || { echo "soak: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }

cat >"$tmp/soak.toml" <<EOF
[server]
workers = 2
[admin]
listen = "127.0.0.1:18901"
[log]
access = "$tmp/access.log"
level = "warn"
[[listener]]
name = "http"
listen = "127.0.0.1:18443"
mode = "http"
  [listener.tls]
  certificates = [ { cert = "$ecdsa-chain.pem", key = "$ecdsa.key" } ]
  client_ca = "$pki/root.pem"
  client_intermediates = "$pki/intermediate.pem"
  [[listener.route]]
  upstream = "whoami"
[[listener]]
name = "tcp"
listen = "127.0.0.1:18444"
  [listener.tls]
  certificates = [ { cert = "$ecdsa-chain.pem", key = "$ecdsa.key" } ]
  client_ca = "$pki/root.pem"
  client_intermediates = "$pki/intermediate.pem"
  [[listener.route]]
  upstream = "echo"
[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
[[upstream]]
name = "echo"
endpoints = ["127.0.0.1:17000"]
EOF
"$gh" run -c "$tmp/soak.toml" 2>"$tmp/gatehouse.log" &
gh_pid=$!
pids+=("$gh_pid")
wait_port 18443

client=(--cert "$cert" --key "$key" --sni localhost --warmup 0 -d "$seconds")
"$bench" 127.0.0.1:18443 "${client[@]}" --mode handshake -c 4 >"$tmp/full.out" 2>&1 & pids+=($!)
"$bench" 127.0.0.1:18443 "${client[@]}" --mode requests -c 2 --path / >"$tmp/requests.out" 2>&1 & pids+=($!)
"$bench" 127.0.0.1:18443 "${client[@]}" --mode resume -c 4 >"$tmp/resume.out" 2>&1 & pids+=($!)
"$bench" 127.0.0.1:18444 "${client[@]}" --mode bulk -c 1 --bulk-mib 32 >"$tmp/bulk.out" 2>&1 & pids+=($!)
"$bench" 127.0.0.1:18443 "${client[@]}" --mode hold -c 300 >"$tmp/hold.out" 2>&1 & pids+=($!)
"$bench" 127.0.0.1:18443 --sni localhost --warmup 0 -d "$seconds" --mode handshake -c 1 >"$tmp/refused.out" 2>&1 & pids+=($!)

handshakes() {  # every handshake so far, whatever its outcome
  curl -s http://127.0.0.1:18901/metrics | awk '/^gatehouse_tls_handshakes_total/ {n += $NF} END {printf "%d", n}'
}
csv="$out/soak.csv"
echo "seconds,rss_mib,descriptors,handshakes_per_second,reloads" >"$csv"
start=$(date +%s)
last_count=$(handshakes)
last_time=$start
reloads=0
next_reload=$((start + 30))
while :; do
  sleep "$interval"
  now=$(date +%s)
  kill -0 "$gh_pid" 2>/dev/null || { echo "soak: Gatehouse exited; its log:" >&2; cat "$tmp/gatehouse.log" >&2; exit 1; }
  if [ "$now" -ge "$next_reload" ]; then
    kill -HUP "$gh_pid"
    reloads=$((reloads + 1))
    next_reload=$((now + 30))
  fi
  rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$gh_pid/status")
  fds=$(ls "/proc/$gh_pid/fd" | wc -l)
  count=$(handshakes)
  rate=$(( (count - last_count) / (now - last_time) ))
  last_count=$count
  last_time=$now
  echo "$((now - start)),$rss,$fds,$rate,$reloads" | tee -a "$csv"
  [ $((now - start)) -ge "$seconds" ] && break
done

gnuplot <<EOF
set terminal pngcairo size 1000,600
set output "$out/soak.png"
set datafile separator ","
set key outside bottom center horizontal
set xlabel "seconds"
set ylabel "RSS (MiB) / open descriptors"
set y2label "handshakes per second"
set y2tics
set ytics nomirror
set yrange [0:*]
set y2range [0:*]
set title "Gatehouse soak: mixed load, reload every 30 s ($(date -u +%Y-%m-%d))"
plot "$csv" using 1:2 with lines lw 2 title "RSS (MiB)", \
     "$csv" using 1:3 with lines lw 2 title "open descriptors", \
     "$csv" using 1:4 axes x1y2 with lines title "handshakes/s"
EOF

# Bounded growth: the last third against the first half's peak.
verdict=$(awk -F, 'NR > 1 { t[NR] = $1; r[NR] = $2; f[NR] = $3; n = NR }
  END {
    for (i = 2; i <= n; i++) {
      if (i <= 1 + (n - 1) / 2) { if (r[i] > r1) r1 = r[i]; if (f[i] > f1) f1 = f[i] }
      if (i > 1 + 2 * (n - 1) / 3) { if (r[i] > r3) r3 = r[i]; if (f[i] > f3) f3 = f[i] }
    }
    ok = (r3 <= r1 * 1.10 + 8) && (f3 <= f1 + 32)
    printf "%s first-half peak RSS %.1f MiB, last-third peak %.1f MiB; descriptors %d -> %d", ok ? "PASS" : "FAIL", r1, r3, f1, f3
  }' "$csv")
refused=$(grep -c '"decision":"deny"' "$tmp/access.log" || true)
lines=$(wc -l <"$tmp/access.log")
echo "soak: $verdict; $reloads reloads; $lines access-log lines ($refused refused)"
for f in "$tmp"/*.out; do echo "  $(basename "$f" .out): $(grep -o '[0-9]* operations in [0-9.]* s = [0-9]*/s ([0-9]* resumed)' "$f" | tail -1)"; done
echo "soak: $out/soak.csv, $out/soak.png"
[[ $verdict == PASS* ]]
