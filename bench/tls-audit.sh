#!/usr/bin/env bash
# TLS configuration audit: Debian's testssl.sh against Gatehouse on its default TLS settings
# (the embedded default: dev PKI, http mode, client certificates required). Writes the findings
# to OUT/testssl.json and fails if any is above LOW (MEDIUM, HIGH or CRITICAL).
#   bench/tls-audit.sh [OUT=bench/results]       (apt-get install testssl.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gh="$here/${BUILD:-build}/gatehouse"
out=${1:-$here/bench/results}
mkdir -p "$out"
command -v testssl >/dev/null || { echo "tls-audit: testssl is missing (apt-get install testssl.sh)" >&2; exit 1; }
[ -x "$gh" ] || { echo "tls-audit: $gh is missing: build first (make build)" >&2; exit 1; }
tmp=$(mktemp -d)
gh_pid=""
cleanup() {
  [ -n "$gh_pid" ] && kill "$gh_pid" 2>/dev/null && wait "$gh_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

# The embedded default as it is (127.0.0.1:8443, admin on 9901), with a fresh dev PKI.
"$gh" run --dev-pki "$tmp/pki" >"$tmp/gatehouse.out" 2>&1 &
gh_pid=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/8443) 2>/dev/null && break
  sleep 0.05
done

rm -f "$out/testssl.json"
# --ip one: no DNS; --warnings batch: no questions; --add-ca: testssl trusts the dev root, as a
# tester's browser does once it is imported. The dev certificates name their CRL on the admin
# listener (127.0.0.1:9901/crl/), so the revocation checks see a real distribution point.
testssl --quiet --color 0 --warnings batch --ip one --add-ca "$tmp/pki/root.pem" --jsonfile "$out/testssl.json" 127.0.0.1:8443 >"$out/testssl.txt" 2>&1 || true
[ -s "$out/testssl.json" ] || { echo "tls-audit: testssl wrote no findings; its output:" >&2; cat "$out/testssl.txt" >&2; exit 1; }

python3 - "$out/testssl.json" <<'EOF'
import json, sys
findings = json.load(open(sys.argv[1]))
severities = ["OK", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
counts = {s: 0 for s in severities}
above_low = []
for f in findings:
    sev = f.get("severity", "INFO")
    if sev not in counts:
        continue
    counts[sev] += 1
    if severities.index(sev) > severities.index("LOW"):
        above_low.append(f)
print("testssl findings by severity:", ", ".join(f"{s} {counts[s]}" for s in severities))
for f in above_low:
    print(f"ABOVE LOW: {f['id']} {f['severity']}: {f['finding']}")
sys.exit(1 if above_low else 0)
EOF
