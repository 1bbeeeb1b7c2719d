#!/usr/bin/env bash
# Runs the x509-limbo conformance suite (../shared/conformance) against `gatehouse verify`, the
# same verifier the handshake uses. Fails on any false accept outside the allow-list, which holds
# only webpki:: cases (CA/Browser-Forum rules that need not bind a private CA).
set -euo pipefail
gatehouse=$1
here=$(cd "$(dirname "$0")" && pwd)
suite=${GATEHOUSE_CONFORMANCE:-$here/../../../shared/conformance}
if [ ! -f "$suite/run_limbo.py" ]; then
  echo "x509-limbo suite not found at $suite (set GATEHOUSE_CONFORMANCE); skipping"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
python3 "$suite/run_limbo.py" --limbo "$suite/limbo.json.xz" --adapter cmd --name gatehouse --out "$out/gatehouse" \
  --jobs 2 -q --fail-on-false-accept --allow "$here/allowed-false-accepts.txt" \
  --cmd "$gatehouse verify --ca {trusted} [[--untrusted {untrusted}]] --at {time} --purpose {purpose} [[--crl {crls}]] [[--max-depth {max_depth}]] {leaf}"
python3 - "$out/gatehouse.summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"x509-limbo: {s['correct']} correct, {s['false_accept']} false accepts (all allow-listed webpki), "
      f"{s['false_reject']} false rejects of {s['selected']} selected")
PY
