#!/usr/bin/env python3
"""Driver of compare-peers.sh: PKI, the three proxies, the attacks, the table."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

GATEHOUSE, ROOT = sys.argv[1], sys.argv[2]
OLD_GATEHOUSE = sys.argv[3] if len(sys.argv) > 3 else ""  # a build from before 274a8e5, for contrast
WORK = tempfile.mkdtemp(prefix="gatehouse-peers-")
PROCS = []

SMUGGLED = (b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\nX-Client-CN: bob-SPOOF\r\n"
            b"X-Forwarded-Client-Cert: Hash=SPOOF\r\n\r\n")
WS = (b"Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      b"Sec-WebSocket-Version: 13\r\n\r\n")
TRAILERS = (b"POST /t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"5\r\nhello\r\n0\r\nX-Client-CN: bob-SPOOF\r\nX_Client_CN: bob-SPOOF\r\nHost: other.test\r\n"
            b"Content-Length: 999\r\nX-Forwarded-Client-Cert: SPOOF\r\n\r\n")


def h(n):
    return b"%x" % n


ATTACKS = [
    ("1 `Connection: Content-Length` + smuggled body",
     b"POST /a HTTP/1.1\r\nHost: localhost\r\nConnection: Content-Length\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED),
    ("1 `Connection: Transfer-Encoding` + chunked smuggle",
     b"POST /a HTTP/1.1\r\nHost: localhost\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n" +
     h(len(SMUGGLED)) + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n"),
    ("1/5 `Connection: Host`", b"GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: Host\r\n\r\n"),
    ("2 `Content-Length : N` + smuggled body",
     b"POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length : %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED),
    ("2 `X-Forwarded-Client-Cert : x`",
     b"GET /a HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Client-Cert : Hash=SPOOF\r\nConnection: close\r\n\r\n"),
    ("2 `X-Client-CN : bob`", b"GET /a HTTP/1.1\r\nHost: localhost\r\nX-Client-CN : bob-SPOOF\r\nConnection: close\r\n\r\n"),
    ("2 `Forwarded :` / `X-Forwarded-For :`",
     b"GET /a HTTP/1.1\r\nHost: localhost\r\nForwarded : for=SPOOF\r\nX-Forwarded-For : SPOOF\r\nConnection: close\r\n\r\n"),
    ("5 absolute-form `http://other.test/` + `Host: localhost`",
     b"GET http://other.test/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    ("5 `Host: other.test<SP>`", b"GET /a HTTP/1.1\r\nHost: other.test \r\nConnection: close\r\n\r\n"),
    ("5 two Host headers", b"GET /a HTTP/1.1\r\nHost: localhost\r\nHost: other.test\r\nConnection: close\r\n\r\n"),
    ("6 identity/framing trailers", TRAILERS),
    ("7 `Upgrade: h2c`",
     b"GET /h2 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
     b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
    ("7 101 naming another protocol", b"GET /wrong-upgrade HTTP/1.1\r\n" + WS),
    ("7 WebSocket (must work)", b"GET /ws HTTP/1.1\r\n" + WS + b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
    ("11 `X_Client_CN: admin`",
     b"GET /u HTTP/1.1\r\nHost: localhost\r\nX_Client_CN: admin-SPOOF\r\nX_Forwarded_Client_Cert: SPOOF\r\nConnection: close\r\n\r\n"),
    ("11 `Transfer-Encoding: gzip, chunked`",
     b"POST /te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n" +
     h(len(SMUGGLED)) + b"\r\n" + SMUGGLED + b"\r\n0\r\n\r\n"),
    ("11 `Transfer-Encoding: chunked, chunked`",
     b"POST /te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked, chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("11 `Transfer-Encoding: identity`",
     b"POST /te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: identity\r\nConnection: close\r\n\r\n" + SMUGGLED),
    ("11 HTTP/0.9 `GET /`", b"GET /\r\n\r\n"),
    ("11 HTTP/1.9", b"GET /v HTTP/1.9\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    ("11 HTTP/2.0", b"GET /v HTTP/2.0\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=WORK)


def pki():
    ext = os.path.join(WORK, "ext.cnf")
    with open(ext, "w") as f:
        f.write("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n"
                "[server]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,DNS:other.test,IP:127.0.0.1\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
                "[client]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n"
                "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key",
         "-out", "root.pem", "-days", "2", "-subj", "/CN=Peers Root/O=Acme Test", "-extensions", "ca", "-config", ext])
    for name, cn in (("server", "localhost"), ("alice", "alice")):
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
             "-out", name + ".csr", "-subj", "/CN=%s/O=Acme Test" % cn])
        run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial",
             "-out", name + ".pem", "-days", "2", "-extfile", ext, "-extensions", "server" if name == "server" else "client"])
    with open(os.path.join(WORK, "server-combined.pem"), "w") as f:
        f.write(open(os.path.join(WORK, "server.pem")).read() + open(os.path.join(WORK, "server.key")).read())


def start(cmd, **kw):
    p = subprocess.Popen(cmd, cwd=WORK, stdin=subprocess.DEVNULL, **kw)
    PROCS.append(p)
    return p


def wait_port(port, what):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(what + " did not start")


def nginx(port, up):
    conf = os.path.join(WORK, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; master_process off; worker_processes 1; pid {WORK}/nginx.pid;
error_log {WORK}/nginx-error.log; {"user root;" if os.getuid() == 0 else ""}
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {WORK}/nginx-body; proxy_temp_path {WORK}/nginx-proxy;
  fastcgi_temp_path {WORK}/nginx-fcgi; uwsgi_temp_path {WORK}/nginx-uwsgi; scgi_temp_path {WORK}/nginx-scgi;
  map $ssl_client_s_dn $client_cn {{ default ""; "~(^|,)CN=(?<cn>[^,]+)" $cn; }}
  map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
  server {{
    listen 127.0.0.1:{port} ssl; server_name localhost;
    ssl_certificate {WORK}/server.pem; ssl_certificate_key {WORK}/server.key;
    ssl_client_certificate {WORK}/root.pem; ssl_verify_client on;
    location / {{
      proxy_pass http://127.0.0.1:{up}; proxy_http_version 1.1; proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Client-CN $client_cn;
      proxy_set_header X-Forwarded-Client-Cert "Hash=$ssl_client_fingerprint";
      proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header Forwarded "for=$remote_addr";
      proxy_set_header Client-Cert ""; proxy_set_header X-Real-IP "";
    }}
  }}
}}
""")
    start(["/usr/sbin/nginx", "-p", WORK, "-c", conf], stderr=subprocess.DEVNULL)
    wait_port(port, "nginx")


def haproxy(port, up):
    conf = os.path.join(WORK, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
  log stderr format raw local0 emerg
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
  timeout tunnel 10s
frontend mtls
  bind 127.0.0.1:{port} ssl crt {WORK}/server-combined.pem ca-file {WORK}/root.pem verify required
  http-request del-header X-Client-CN
  http-request del-header X-Forwarded-Client-Cert
  http-request del-header X-Forwarded-For
  http-request del-header Forwarded
  http-request del-header Client-Cert
  http-request set-header X-Client-CN %{{+Q}}[ssl_c_s_dn(cn)]
  http-request set-header X-Forwarded-Client-Cert Hash=%[ssl_c_sha1,hex]
  option forwardfor
  default_backend app
backend app
  server app 127.0.0.1:{up}
""")
    start(["/usr/sbin/haproxy", "-f", conf, "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, "haproxy")


def gatehouse(port, up, binary=GATEHOUSE, tag=""):
    conf = os.path.join(WORK, "gatehouse%s.toml" % tag)
    with open(conf, "w") as f:
        f.write(f"""[admin]
listen = "127.0.0.1:{free_port()}"
[server]
workers = 1
[log]
level = "warn"
access = "{WORK}/gatehouse{tag}-access.log"
[[listener]]
name = "peers"
listen = "127.0.0.1:{port}"
mode = "http"
  [listener.tls]
  certificates = [{{ cert = "server.pem", key = "server.key" }}]
  client_ca = "root.pem"
  verify = "require"
  [[listener.route]]
  name = "other"
  sni = ["other.test"]
  upstream = "app"
  [[listener.route]]
  name = "main"
  upstream = "app"
[[upstream]]
name = "app"
endpoints = ["127.0.0.1:{up}"]
""")
    start([binary, "run", "-c", conf], stdout=subprocess.DEVNULL, stderr=open(os.path.join(WORK, "gatehouse%s.err" % tag), "w"))
    wait_port(port, "gatehouse")


def send(port, data):
    ctx = ssl.create_default_context(cafile=os.path.join(WORK, "root.pem"))
    ctx.load_cert_chain(os.path.join(WORK, "alice.pem"), os.path.join(WORK, "alice.key"))
    raw = socket.create_connection(("127.0.0.1", port), 5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    s.sendall(data)
    s.settimeout(1.5)
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ssl.SSLError, ConnectionError):
        pass
    s.close()
    return got


def statuses(got):
    out, pos = [], 0
    while got.startswith(b"HTTP/1.", pos):
        end = got.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = got[pos:end].decode("latin-1")
        status = head[9:12]
        out.append(status)
        if status == "101":
            out[-1] += "+echo" if b"\x7f\x9f\x4d\x51\x58" in got[end + 4:] else ""
            break
        length = [l.split(":", 1)[1] for l in head.lower().split("\r\n") if l.startswith("content-length:")]
        if not length:
            break
        pos = end + 4 + int(length[0])
    return ",".join(out) if out else ("closed" if not got else "garbage")


PROTECTED = {"x-client-cn", "x-forwarded-client-cert", "x-forwarded-for", "forwarded", "client-cert", "host",
             "content-length", "transfer-encoding"}


def upstream_view(record):
    lines = [json.loads(l) for l in open(record)] if os.path.exists(record) else []
    if not lines:
        return "nothing"
    parts = []
    for r in lines:
        desc = "%s %s" % (r["method"], r["url"])
        flags = []
        cns = [v for k, v in r["headers"] if k.lower().replace("_", "-") == "x-client-cn"]
        if cns != ["alice"]:
            flags.append("X-Client-CN=" + "+".join(cns or ["none"]))
        spoof = sorted({k for k, v in r["headers"] if "SPOOF" in v})
        if spoof:
            flags.append("spoofed " + "+".join(spoof))
        hosts = [v for k, v in r["headers"] if k.lower() == "host"]
        if hosts and hosts[0].split(":")[0] != "localhost":
            flags.append("Host=" + "+".join(hosts))
        bad_trailers = sorted({k for k, v in r["trailers"] if k.lower().replace("_", "-") in PROTECTED or "SPOOF" in v})
        if bad_trailers:
            flags.append("trailers " + "+".join(bad_trailers))
        parts.append(desc + (" (" + "; ".join(flags) + ")" if flags else ""))
    return "; ".join(parts)


def main():
    pki()
    record = os.path.join(WORK, "requests.jsonl")
    up = start([sys.executable, os.path.join(ROOT, "tests/upstreams/python_recorder.py"), record], stdout=subprocess.PIPE)
    up_port = int(up.stdout.readline())
    ports = {"nginx": free_port(), "HAProxy": free_port(), "Gatehouse": free_port()}
    nginx(ports["nginx"], up_port)
    haproxy(ports["HAProxy"], up_port)
    gatehouse(ports["Gatehouse"], up_port)
    columns = ["nginx", "HAProxy", "Gatehouse"]
    if OLD_GATEHOUSE:
        ports["old"] = free_port()
        gatehouse(ports["old"], up_port, OLD_GATEHOUSE, "-old")
        columns.append("old")
    print("| attack | nginx %s: answer / upstream got | HAProxy %s | Gatehouse |" % (
        subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1],
        subprocess.run(["/usr/sbin/haproxy", "-v"], capture_output=True, text=True).stdout.split()[2])
        + (" Gatehouse before the llhttp change (61f8a5a) |" if OLD_GATEHOUSE else ""))
    print("|---|---|---|---|" + ("---|" if OLD_GATEHOUSE else ""))
    for name, data in ATTACKS:
        cells = []
        for proxy in columns:
            open(record, "w").close()
            answer = statuses(send(ports[proxy], data))
            time.sleep(0.2)  # the upstream writes its record before answering; this covers requests it got but we cut
            cells.append("%s / %s" % (answer, upstream_view(record)))
        print("| %s | %s |" % (name, " | ".join(c.replace("|", "\\|") for c in cells)), flush=True)


try:
    main()
finally:
    for p in PROCS:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(5)
        except Exception:
            p.kill()
    shutil.rmtree(WORK, ignore_errors=True)
