# Sourced by bench/compare.sh and bench/callgrind.sh: one PKI (Gatehouse's development PKI) and
# the configs of Gatehouse (18443), nginx (19443) and HAProxy (20443) in $tmp, one worker each, in
# front of a built-in "ok" answer. Defines $gh, $bench, $tmp (removed at exit, with every server
# whose pid is in $pids), wait_port and $pki.
build=${BUILD:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

