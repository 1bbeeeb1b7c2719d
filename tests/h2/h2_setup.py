"""What the HTTP/2 tests share: a CA made with `gatehouse ca` (one server certificate for two
sites, testers and admins), a real Node.js upstream (upstream.js), and an http-mode listener
offering h2 with a route per site: a.gatehouse.test admits OU=testers except /admin/**,
b.gatehouse.test admits OU=admins, c.gatehouse.test's upstream is down. verify = "optional", so
a client without an accepted certificate gets a page (or a gRPC status) that says why."""
import json
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from checks import run  # noqa: E402  (tests/support)
from running_proxy import RunningProxy  # noqa: E402  (tests/support)

SITE_A, SITE_B, SITE_C = "a.gatehouse.test", "b.gatehouse.test", "c.gatehouse.test"

class Pki:
    def __init__(self, gatehouse, work):
        self.ca = work / "ca"
        run(gatehouse, "ca", "init", self.ca, "--name", "Gatehouse HTTP/2 Test Root")
        run(gatehouse, "ca", "issue", self.ca, "--profile", "server", "--cn", SITE_A, "--name", "site",
            "--san", f"dns:{SITE_A},dns:{SITE_B},dns:{SITE_C}")
        run(gatehouse, "ca", "issue", self.ca, "--cn", "alice", "--ou", "testers")
        run(gatehouse, "ca", "issue", self.ca, "--cn", "bob", "--ou", "admins")
        self.root = self.ca / "root.pem"

    def cert(self, name):
        return self.ca / f"issued/{name}-chain.pem", self.ca / f"issued/{name}.key"

    def context(self, who=None):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.root)
        if who:
            context.load_cert_chain(*self.cert(who))
        return context


def free_port_that_refuses():
    """A loopback port nobody listens on (bound, then closed): the down upstream."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodeUpstream:
    def __init__(self):
        script = Path(__file__).resolve().parent / "upstream.js"
        self.process = subprocess.Popen(["node", str(script)], stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def write_config(work, pki, upstream_port, http2_extra=""):
    config = work / "gatehouse.toml"
    config.write_text(h2_listener() + f"""  [listener.http]
  allowed_trailers = ["x-checksum"]
  contact = "the QA lead"
  [listener.http2]
  {http2_extra}
  [[listener.route]]
  name = "a"
  sni = ["{SITE_A}"]
  upstream = "node"
  allow = [ {{ ou = "testers" }} ]
  deny = [ {{ path = "/admin/**" }} ]
  [[listener.route]]
  name = "b"
  sni = ["{SITE_B}"]
  upstream = "node"
  allow = [ {{ ou = "admins" }} ]
  [[listener.route]]
  name = "c"
  sni = ["{SITE_C}"]
  upstream = "down"
  allow = [ {{ ou = "testers" }} ]

[[upstream]]
name = "node"
endpoints = ["127.0.0.1:{upstream_port}"]

[[upstream]]
name = "down"
endpoints = ["127.0.0.1:{free_port_that_refuses()}"]
""")
    return config


def h2_listener(tls_extra=""):
    """An admin port and an http listener "h2" offering h2 with the site certificate, verify =
    "optional" (a page says why a client is refused); the routes follow. `tls_extra`: more
    [listener.tls] lines (a crl)."""
    return f"""
[admin]
listen = "127.0.0.1:0"

[[listener]]
name = "h2"
listen = "127.0.0.1:0"
mode = "http"
alpn = ["h2", "http/1.1"]
  [listener.tls]
  certificates = [ {{ cert = "ca/issued/site-chain.pem", key = "ca/issued/site.key" }} ]
  client_ca = "ca/root.pem"
  verify = "optional"
""" + (tls_extra + "\n" if tls_extra else "")


class Setup:
    def __init__(self, gatehouse, work, http2_extra=""):
        self.gatehouse = gatehouse
        self.pki = Pki(gatehouse, work)
        self.upstream = NodeUpstream()
        self.proxy = RunningProxy(gatehouse, write_config(work, self.pki, self.upstream.port, http2_extra))
        self.port = self.proxy.ports["h2"]

    def curl(self, site, path, who="alice", *args, data=None):
        """curl --http2 with the client's certificate; returns (status, http_version, body bytes)."""
        command = ["curl", "-sS", "--http2", "--resolve", f"{site}:{self.port}:127.0.0.1", "--cacert",
                   str(self.pki.root), "-o", "-", "-w", "\n%{http_code} %{http_version}", *args]
        if who:
            cert, key = self.pki.cert(who)
            command += ["--cert", str(cert), "--key", str(key)]
        out = run(*command, f"https://{site}:{self.port}{path}", stdin=data, text=False)
        body, _, tail = out.rpartition(b"\n")
        status, version = tail.decode().split()
        return int(status), version, body

    def metrics(self):
        admin = self.proxy.admin_port
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10) as r:
            return r.read().decode()

    def stop(self):
        self.proxy.stop()
        self.upstream.stop()


def metric(text, name, **labels):
    """The value of one series in a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def upstream_saw(body):
    entry = json.loads(body)
    entry["fields"] = [(n.lower(), v) for n, v in entry["headers"]]
    return entry
