#!/usr/bin/env bash
# How nginx, HAProxy and Gatehouse answer the HTTP attacks of issue 16, each as an mTLS-terminating
# HTTP proxy with the same PKI in front of the same recording upstream (tests/upstreams/
# python_recorder.py, a real Python http.server app). Prints a Markdown table.
#   tests/attacks/compare-peers.sh [path/to/gatehouse [path/to/an-older-gatehouse]]   (default: build/gatehouse)
# With a second binary (e.g. built at 61f8a5a, before llhttp) the table gets a column for it.
# Needs nginx, haproxy, openssl and python3 (scripts/install-deps.sh installs them). Uses free
# ports on 127.0.0.1 and a temporary folder; stops what it started, by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
gatehouse="$(realpath "${1:-$root/build/gatehouse}")"
exec python3 "$here/compare_peers.py" "$gatehouse" "$root" ${2:+"$(realpath "$2")"}
