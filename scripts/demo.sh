#!/usr/bin/env bash
# `make demo`: runs Gatehouse on its embedded default, shows a tester's request getting in and
# a request without a certificate refused, then keeps serving until Ctrl-C.
set -uo pipefail
gatehouse=${1:-build/gatehouse}
pki=dev-pki
url=https://localhost:8443/

"$gatehouse" run --dev-pki "$pki" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid; exit 0' INT TERM

# Wait until the listener answers (or the proxy exits), at most ~10 s.
for _ in $(seq 100); do
  if ! kill -0 $pid 2>/dev/null; then
    wait $pid
    echo "gatehouse did not start (see the message above)" >&2
    exit 1
  fi
  if [ -f "$pki/root.pem" ] && curl -s -o /dev/null --max-time 1 --cacert "$pki/root.pem" \
       --cert "$pki/tester.pem" --key "$pki/tester.key" "$url"; then
    break
  fi
  sleep 0.1
done

echo
echo "=== 1. A tester with a certificate from the dev CA:"
echo "\$ curl --cacert $pki/root.pem --cert $pki/tester.pem --key $pki/tester.key $url"
curl -sS --cacert "$pki/root.pem" --cert "$pki/tester.pem" --key "$pki/tester.key" "$url"
echo
echo "=== 2. Someone without a certificate:"
echo "\$ curl --cacert $pki/root.pem $url"
if curl -sS --max-time 5 --cacert "$pki/root.pem" "$url"; then
  echo "!!! the request without a certificate was let in" >&2
  kill -INT $pid
  exit 1
else
  echo "=> refused during the TLS handshake (the access log line above says reason \"no_certificate\")"
fi
echo
echo "Gatehouse keeps serving $url; press Ctrl-C to stop."
wait $pid
