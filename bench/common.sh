# Sourced by the bench scripts (setup-peers.sh, soak.sh): paths of the built tools, a temp dir
# removed at exit with every process whose pid is in $pids, wait_port, one PKI made with
# `gatehouse ca` (root, intermediate, an ECDSA P-256 and an RSA-2048 server certificate, an ECDSA
# tester whose chain includes the intermediate) and gatehouse-echo on port 17000.
# Defines $gh, $bench, $echo, $here, $tmp, $pids, wait_port, $pki, $cert and $key (the
# tester's), $ecdsa and $rsa (server certificate paths without -chain.pem / .key).
build=${BUILD:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gh="$here/$build/gatehouse"
bench="$here/$build/gatehouse-bench"
echo="$here/$build/gatehouse-echo"
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
for tool in "$gh" "$bench" "$echo"; do
  [ -x "$tool" ] || { echo "$tool is missing: build first (make build)" >&2; exit 1; }
done

pki="$tmp/pki"
{
  "$gh" ca init "$pki" --name "Bench Root" --o Bench
  "$gh" ca intermediate "$pki" --name "Bench Intermediate"
  "$gh" ca issue "$pki" --profile server --cn localhost --san dns:localhost --name server-ecdsa
  "$gh" ca issue "$pki" --profile server --cn localhost --san dns:localhost --key rsa2048 --name server-rsa
  "$gh" ca issue "$pki" --profile client --cn tester --ou testers --name tester
} >"$tmp/pki.log" 2>&1 || { cat "$tmp/pki.log" >&2; exit 1; }
cat "$pki/root.pem" "$pki/intermediate.pem" >"$pki/ca-bundle.pem"
cert="$pki/issued/tester-chain.pem"
key="$pki/issued/tester.key"
ecdsa="$pki/issued/server-ecdsa"
rsa="$pki/issued/server-rsa"

"$echo" 17000 &
pids+=($!)
wait_port 17000

