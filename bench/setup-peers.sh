# Sourced by bench/compare.sh, bench/per-operation.sh and bench/profile.sh: the PKI and echo
# upstream of common.sh (and what it defines), and the configs of Gatehouse, nginx and HAProxy in
# $tmp, one worker each. Each has an HTTP listener answering "ok" (Gatehouse: its built-in whoami)
# and a TCP/stream listener in front of gatehouse-echo (for bulk transfers):
#   Gatehouse 18443 / 18444, nginx 19443 / 19444, HAProxy 20443 / 20444 (and 20445 with the
#   RSA certificate alone), echo upstream 17000.
# Also $tmp/gatehouse-cold.toml (Gatehouse with verified_cache = 0: every client certificate
# verified in full).
# HTTP/2 (ALPN h2, the same client certificate): a listener proxying to an HTTP/1.1 upstream
# (nginx answering "ok" on 17080) and one proxying gRPC to an h2c server (bench/grpc_server.py,
# python3-grpcio, on 17051): Gatehouse 18445 / 18446, nginx 19445 / 19446 (`http2` with
# proxy_pass, and grpc_pass), HAProxy 20446 / 20447 (`alpn h2`, a `proto h2` server for gRPC).
# start_h2_upstreams starts those two upstreams on CPU 1 (with the load).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

gatehouse_listener() {  # port mode upstream [alpn]: a listener with the ECDSA certificate
  cat <<EOF
[[listener]]
listen = "127.0.0.1:$1"
mode = "$2"
${4:+alpn = $4}
  [listener.tls]
  certificates = [ { cert = "$ecdsa-chain.pem", key = "$ecdsa.key" } ]
  client_ca = "$pki/root.pem"
  client_intermediates = "$pki/intermediate.pem"
  [[listener.route]]
  upstream = "$3"
EOF
}
gatehouse_config() {  # verified_cache
  cat <<EOF
[server]
workers = 1
verified_cache = $1
[admin]
listen = "off"
[log]
access = "off"
level = "warn"
[[listener]]
listen = "127.0.0.1:18443"
mode = "http"
  [listener.tls]
  certificates = [ { cert = "$ecdsa-chain.pem", key = "$ecdsa.key" }, { cert = "$rsa-chain.pem", key = "$rsa.key" } ]
  client_ca = "$pki/root.pem"
  client_intermediates = "$pki/intermediate.pem"
  [[listener.route]]
  upstream = "whoami"
EOF
  gatehouse_listener 18444 tcp echo
  gatehouse_listener 18445 http http1 '["h2"]'
  gatehouse_listener 18446 http grpc '["h2"]'
  cat <<EOF
[[upstream]]
name = "http1"
endpoints = ["127.0.0.1:17080"]
[[upstream]]
name = "grpc"
protocol = "h2c"
endpoints = ["127.0.0.1:17051"]
[[upstream]]
name = "whoami"
endpoints = ["builtin:whoami"]
[[upstream]]
name = "echo"
endpoints = ["127.0.0.1:17000"]
EOF
}
gatehouse_config 16384 >"$tmp/gatehouse.toml"
gatehouse_config 0 >"$tmp/gatehouse-cold.toml"

mkdir -p "$tmp/nginx"
# The ECDSA certificate and client certificates required, as every nginx server block here has them.
nginx_tls="    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $ecdsa-chain.pem;
    ssl_certificate_key $ecdsa.key;
    ssl_client_certificate $pki/ca-bundle.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;"
# HTTP/2 (nginx 1.22: "listen ... http2"; "http2 on" is 1.25.1's spelling), connections kept warm:
# keepalive_requests bounds the requests of an HTTP/2 connection too (1000 by default); 128 idle
# upstream connections: the 64 streams in flight never close one for want of room. Included by
# nginx.conf, and alone by nginx-h2.conf (compare.sh h2: no other port needs to be free).
# What both nginx configs begin with: one worker, and the http block's first lines.
nginx_head="daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 16384;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx; proxy_temp_path $tmp/nginx; fastcgi_temp_path $tmp/nginx;
  uwsgi_temp_path $tmp/nginx; scgi_temp_path $tmp/nginx;"
cat >"$tmp/nginx/h2.conf" <<EOF
  keepalive_requests 1000000;
  upstream http1 { server 127.0.0.1:17080; keepalive 128; keepalive_requests 1000000; }
  upstream grpc { server 127.0.0.1:17051; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:19445 ssl http2;
$nginx_tls
    location / { proxy_pass http://http1; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:19446 ssl http2;
$nginx_tls
    location / { grpc_pass grpc://grpc; }
  }
EOF
cat >"$tmp/nginx/nginx-h2.conf" <<EOF
$nginx_head
  include $tmp/nginx/h2.conf;
}
EOF
nginx_stream_module=/usr/lib/nginx/modules/ngx_stream_module.so
{
  [ -f "$nginx_stream_module" ] && echo "load_module $nginx_stream_module;"
  cat <<EOF
$nginx_head
  ssl_session_tickets on;
  server {
    listen 127.0.0.1:19443 ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $ecdsa-chain.pem;
    ssl_certificate_key $ecdsa.key;
    ssl_certificate $rsa-chain.pem;
    ssl_certificate_key $rsa.key;
    ssl_client_certificate $pki/ca-bundle.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / { return 200 "ok\n"; }
  }
  include $tmp/nginx/h2.conf;
}
EOF
  [ -f "$nginx_stream_module" ] && cat <<EOF
stream {
  server {
    listen 127.0.0.1:19444 ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate $ecdsa-chain.pem;
    ssl_certificate_key $ecdsa.key;
    ssl_client_certificate $pki/ca-bundle.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    proxy_pass 127.0.0.1:17000;
  }
}
EOF
} >"$tmp/nginx/nginx.conf"

# HAProxy picks the ECDSA or the RSA certificate by the client's signature algorithms.
cat "$ecdsa-chain.pem" "$ecdsa.key" >"$tmp/server-ecdsa.pem"
cat "$rsa-chain.pem" "$rsa.key" >"$tmp/server-rsa.pem"
cat >"$tmp/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend mtls
  mode http
  bind 127.0.0.1:20443 ssl crt $tmp/server-ecdsa.pem crt $tmp/server-rsa.pem ca-file $pki/ca-bundle.pem verify required
  http-request return status 200 content-type text/plain string "ok"
# HAProxy 2.6 fails TLS 1.3 handshakes that allow only RSA-PSS when it also holds an ECDSA
# certificate ("handshake failure"), so the RSA column has a listener of its own.
frontend mtls-rsa
  mode http
  bind 127.0.0.1:20445 ssl crt $tmp/server-rsa.pem ca-file $pki/ca-bundle.pem verify required
  http-request return status 200 content-type text/plain string "ok"
frontend mtls-tcp
  mode tcp
  bind 127.0.0.1:20444 ssl crt $tmp/server-ecdsa.pem ca-file $pki/ca-bundle.pem verify required
  default_backend echo
backend echo
  mode tcp
  server echo 127.0.0.1:17000
frontend mtls-h2
  mode http
  bind 127.0.0.1:20446 ssl crt $tmp/server-ecdsa.pem ca-file $pki/ca-bundle.pem verify required alpn h2
  default_backend http1
frontend mtls-grpc
  mode http
  bind 127.0.0.1:20447 ssl crt $tmp/server-ecdsa.pem ca-file $pki/ca-bundle.pem verify required alpn h2
  default_backend grpc
backend http1
  mode http
  server http1 127.0.0.1:17080
backend grpc
  mode http
  server grpc 127.0.0.1:17051 proto h2
EOF

# The upstreams of the HTTP/2 columns, on CPU 1 with the load (only the proxies are measured).
mkdir -p "$tmp/upstream-nginx"
cat >"$tmp/upstream-nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/upstream-nginx/nginx.pid;
error_log $tmp/upstream-nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/upstream-nginx; proxy_temp_path $tmp/upstream-nginx;
  fastcgi_temp_path $tmp/upstream-nginx; uwsgi_temp_path $tmp/upstream-nginx; scgi_temp_path $tmp/upstream-nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:17080;
    location / { return 200 "ok\n"; }
  }
}
EOF
start_h2_upstreams() {
  taskset -c 1 nginx -p "$tmp/upstream-nginx" -c "$tmp/upstream-nginx/nginx.conf" >/dev/null 2>&1 &
  pids+=($!)
  taskset -c 1 /usr/bin/python3 "$here/bench/grpc_server.py" 17051 >"$tmp/grpc-server.log" 2>&1 &
  pids+=($!)
  wait_port 17080
  wait_port 17051
}

# The three servers as the bench scripts start them (one worker each, the configs above): their
# command and their HTTP listener's port (TLS handshakes). nginx and HAProxy are measured when
# installed.
declare -A server_command server_port
server_command[gatehouse]="$gh run -c $tmp/gatehouse.toml"; server_port[gatehouse]=18443
server_command[nginx]="nginx -p $tmp/nginx -c $tmp/nginx/nginx.conf"; server_port[nginx]=19443
server_command[haproxy]="haproxy -db -f $tmp/haproxy.cfg"; server_port[haproxy]=20443
