#!/usr/bin/env python3
"""HTTP/2 upstreams through an http-mode listener: `protocol = "h2"` (HTTP/2 over the upstream's
TLS, ALPN h2) and `protocol = "h2c"`, each a real Node.js http2 server (upstream_h2.js).

Usage: h2_upstream_test.py GATEHOUSE_BINARY

Checked, with curl --http2 and hyper-h2 as clients:
- streams of two clients (alice, bob), sequential and concurrent, share one upstream connection
  per upstream, and each stream carries its own client's identity (never the other's);
- `:scheme` is https to an h2 upstream, http to h2c; the response's trailers come back;
- resets both ways: an upstream's REFUSED_STREAM reaches the client as REFUSED_STREAM, another
  reset before the response is a 502, one after it resets the client's stream (INTERNAL_ERROR,
  even for the upstream's NO_ERROR: a cut response never looks complete); a client's reset cancels the upstream stream (CANCEL), and
  the shared connection lives on; gatehouse_http2_streams_reset_total counts both by who;
- a reload moves new streams to a new upstream connection and closes the old one;
- HTTP/1.1 clients (curl --http1.1, a raw request) reach both: bodies whole (a chunked upload
  dechunked, its trailer an HTTP/2 trailer), trailers chunked, 100-continue answered, an
  upstream's reset a 502;
- the upstream's trailers pass as allowed_trailers says; a response head over the limits is a 502
  for its stream alone;
- one client that stops reading many streams, then goes away, never starves another client on
  the shared connection;
- a silent upstream fails every waiting request within one connect_timeout, not one after another;
- an upstream that does not agree to h2 in ALPN gets a 502 whose log line says so.
Ports are 0 or read; the waits are on conditions.
"""
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import FAILURES, check, run  # noqa: E402
from h2_client import H2Client, connect  # noqa: E402
from h2_setup import SITE_A, SITE_B, Pki, metric  # noqa: E402
from running_proxy import RunningProxy  # noqa: E402

CANCEL, INTERNAL_ERROR, REFUSED_STREAM = 0x8, 0x2, 0x7  # RFC 9113 error codes


class NodeH2:
    def __init__(self, *args):
        script = Path(__file__).resolve().parent / "upstream_h2.js"
        self.process = subprocess.Popen(["node", str(script), *map(str, args)], stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def config(work, tls_port, plain_port, http1_port, silent_port):
    path = work / "gatehouse.toml"
    path.write_text(f"""
[server]
workers = 1  # one worker, one pool: every stream below may share a connection

[admin]
listen = "127.0.0.1:0"

[[listener]]
name = "web"
listen = "127.0.0.1:0"
mode = "http"
  [listener.http]
  allowed_trailers = ["x-checksum"]
  [listener.tls]
  certificates = [ {{ cert = "ca/issued/site-chain.pem", key = "ca/issued/site.key" }},
                   {{ cert = "ca/issued/silent-chain.pem", key = "ca/issued/silent.key" }} ]
  client_ca = "ca/root.pem"
  [[listener.route]]
  name = "silent"
  sni = ["d.gatehouse.test"]
  upstream = "silent"
  allow = [ {{ ou = "testers" }} ]
  [[listener.route]]
  name = "secure"
  sni = ["{SITE_A}"]
  upstream = "secure"
  allow = [ {{ ou = "testers" }}, {{ ou = "admins" }} ]
  [[listener.route]]
  name = "plain"
  sni = ["{SITE_B}"]
  upstream = "plain"
  allow = [ {{ ou = "testers" }}, {{ ou = "admins" }} ]
  [[listener.route]]
  name = "not-h2"
  sni = ["c.gatehouse.test"]
  upstream = "not-h2"
  allow = [ {{ ou = "testers" }} ]

[[upstream]]
name = "secure"
protocol = "h2"
endpoints = ["127.0.0.1:{tls_port}"]
  [upstream.tls]
  ca = "ca/root.pem"
  server_name = "upstream.gatehouse.test"

[[upstream]]
name = "plain"
protocol = "h2c"
endpoints = ["127.0.0.1:{plain_port}"]

[[upstream]]
name = "silent"
protocol = "h2"
connect_timeout = "1s"
endpoints = ["127.0.0.1:{silent_port}"]
  [upstream.tls]
  ca = "ca/root.pem"
  server_name = "upstream.gatehouse.test"

[[upstream]]
name = "not-h2"
protocol = "h2"
endpoints = ["127.0.0.1:{http1_port}"]
  [upstream.tls]
  ca = "ca/root.pem"
  server_name = "upstream.gatehouse.test"
""")
    return path


def curl11(pki, port, site, path, *args, data=None):
    """curl --http1.1 as alice; (status, body bytes)."""
    cert, key = pki.cert("alice")
    out = run("curl", "-sS", "--http1.1", "--resolve", f"{site}:{port}:127.0.0.1", "--cacert", str(pki.root),
              "--cert", str(cert), "--key", str(key), "-o", "-", "-w", "\n%{http_code}", *args,
              f"https://{site}:{port}{path}", stdin=data, text=False)
    body, _, status = out.rpartition(b"\n")
    return int(status), body


def http11_raw(pki, port, site, path, method="GET", extra="", body="", wait_for_continue=False):
    """One HTTP/1.1 request as alice over ALPN http/1.1; the raw response, to its end."""
    tls = connect(port, site, pki.context("alice"), alpn=("http/1.1",))
    tls.sendall(f"{method} {path} HTTP/1.1\r\nHost: {site}\r\nConnection: close\r\n{extra}\r\n".encode())
    raw = b""
    if wait_for_continue:  # the body only after the interim response, as a careful client does
        while b"\r\n\r\n" not in raw and (chunk := tls.recv(65536)):
            raw += chunk
    tls.sendall(body.encode())
    while chunk := tls.recv(65536):
        raw += chunk
    tls.close()
    return raw


def dechunk(body):
    """A chunked body's bytes (trailers dropped)."""
    out = b""
    while True:
        size, _, body = body.partition(b"\r\n")
        n = int(size.split(b";")[0], 16)
        if n == 0:
            return out
        out, body = out + body[:n], body[n + 2:]


class SilentUpstream:
    """Accepts TCP connections and never says a word: a TLS handshake that never completes."""
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port, self.held = self.sock.getsockname()[1], []
        threading.Thread(target=self.hold, daemon=True).start()

    def hold(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return


def starve_then_serve(pki, port, site):
    """A client that opens many streams, reads none of them and goes away never starves another."""
    alice = H2Client(port, site, pki.context("alice"))
    ids = [alice.request(site, "/big?n=300000") for _ in range(80)]  # each over its 256 KiB window
    # Every head arrived: the upstream is sending them all. Nothing is read past the heads (hyper-h2
    # gives no window back unless on() acknowledges data, which read_until does: so stop reading).
    alice.read_until(lambda: all(alice.responses[i].headers for i in ids))
    alice.tls.close()
    bob = H2Client(port, site, pki.context("bob"))
    r = bob.get(site, "/big?n=300000")
    check(r.status == 200 and len(r.body) == 300000,
          f"{site}: served beside a starving client: {r.status} {len(r.body)} {r.body[:600]!r}")
    bob.close()


def check_hop_details(pki, port, site):
    """What the attack review found (each fixed): framing, trailers, limits, 100-continue."""
    # A chunked HTTP/1.1 upload reaches an HTTP/2 upstream as its bytes and its trailer, no framing.
    raw = http11_raw(pki, port, site, "/echo", method="POST",
                     extra="Transfer-Encoding: chunked\r\n", body="5\r\nhello\r\n3\r\nabc\r\n0\r\n"
                                                                  "x-checksum: 1\r\n\r\n")
    echoed = json.loads(dechunk(raw.split(b"\r\n\r\n", 1)[1])) if b" 200 " in raw.split(b"\r\n", 1)[0] else {}
    check(echoed.get("body") == "helloabc" and echoed.get("trailers", {}).get("x-checksum") == "1",
          f"{site}: a chunked upload, dechunked with its trailer: {raw[:300]!r}")
    # Expect: 100-continue gets our 100 before the body is read.
    raw = http11_raw(pki, port, site, "/echo", method="POST", extra="Content-Length: 5\r\nExpect: 100-continue\r\n",
                     body="hello", wait_for_continue=True)
    check(raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), f"{site}: 100-continue: {raw[:120]!r}")
    # The upstream's trailers pass only when allowed, as from an HTTP/1.1 upstream.
    c = H2Client(port, site, pki.context("alice"))
    t = c.get(site, "/trailers")
    check(t.trailers.get("x-checksum", "").startswith("sum-") and "x-client-cn" not in t.trailers and
          "x-not-allowed" not in t.trailers, f"{site}: HTTP/2 client, the upstream's trailers filtered: {t.trailers}")
    # A response head over the limits is a 502 for that stream; the connection serves on.
    big = c.get(site, "/many-fields")
    check(big.status == 502, f"{site}: a response head of 1100 fields: {big.status}")
    check(c.get(site, "/who").status == 200, f"{site}: the next stream after an oversized head")
    c.close()


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        run(gatehouse, "ca", "issue", pki.ca, "--profile", "server", "--cn", "upstream.gatehouse.test",
            "--name", "upstream", "--san", "dns:upstream.gatehouse.test")
        secure = NodeH2(pki.ca / "issued/upstream-chain.pem", pki.ca / "issued/upstream.key")
        plain = NodeH2()
        http1 = NodeH2(pki.ca / "issued/upstream-chain.pem", pki.ca / "issued/upstream.key", "http1")
        run(gatehouse, "ca", "issue", pki.ca, "--profile", "server", "--cn", "d.gatehouse.test", "--name", "silent",
            "--san", "dns:d.gatehouse.test")
        silent = SilentUpstream()
        proxy = RunningProxy(gatehouse, config(work, secure.port, plain.port, http1.port, silent.port))
        port = proxy.ports["web"]

        def client(site, who):
            return H2Client(port, site, pki.context(who))

        try:
            for site, node, scheme in ((SITE_A, secure, "https"), (SITE_B, plain, "http")):
                alice, bob = client(site, "alice"), client(site, "bob")
                seen = [json.loads(c.get(site, "/who").body) for c in (alice, bob, alice)]
                check(len({s["session"] for s in seen}) == 1, f"{site}: one upstream connection for both: {seen}")
                check([s["headers"].get("x-client-cn") for s in seen] == ["alice", "bob", "alice"],
                      f"{site}: each stream its own identity: {[s['headers'].get('x-client-cn') for s in seen]}")
                check(all(s["scheme"] == scheme and s["authority"] == site for s in seen),
                      f"{site}: scheme and authority: {[(s['scheme'], s['authority']) for s in seen]}")
                # Concurrent streams of both clients, interleaved on the one upstream connection.
                a_ids = [alice.request(site, f"/who?n={i}", method="POST", body=b"x" * 1000) for i in range(8)]
                b_ids = [bob.request(site, f"/who?n={i}", headers=[("x-client-cn", "alice")]) for i in range(8)]
                answers = [(json.loads(r.body), "alice") for r in alice.wait(*a_ids)] + \
                          [(json.loads(r.body), "bob") for r in bob.wait(*b_ids)]
                check(all(a["headers"].get("x-client-cn") == who for a, who in answers),
                      f"{site}: concurrent streams kept their identities: "
                      f"{[(a['headers'].get('x-client-cn'), who) for a, who in answers]}")
                check({a["session"] for a, _ in answers} == {seen[0]["session"]},
                      f"{site}: concurrent streams shared the connection: {[a['session'] for a, _ in answers]}")
                check(all(a.get("body_bytes") == 1000 for a, who in answers if who == "alice"),
                      f"{site}: request bodies arrived whole")
                t = alice.get(site, "/trailers")
                check(t.status == 200 and t.trailers.get("x-checksum", "").startswith("sum-"),
                      f"{site}: trailers: {t.status} {t.trailers}")

                # Resets, upstream to client.
                refused = alice.get(site, "/reset?code=7")
                check(refused.reset == REFUSED_STREAM, f"{site}: REFUSED_STREAM passed on: {refused.reset}")
                early = alice.get(site, "/reset?code=2")
                check(early.status == 502, f"{site}: a reset before the response is a 502: {early.status} {early.reset}")
                for code in (0, 2):  # even NO_ERROR: a cut response is never passed on as complete
                    late = alice.get(site, f"/reset-late?code={code}")
                    # (the head may not have left when the reset comes: then the reset alone)
                    check(late.reset == INTERNAL_ERROR and late.body in (b"", b"partial"),
                          f"{site}: reset {code} after the head reaches the client as INTERNAL_ERROR: "
                          f"{late.status} {late.reset}")
                # A client's reset, to the upstream; the shared connection lives on.
                sid = alice.request(site, "/hang")
                alice.wait_for_head(sid)  # the upstream has the stream: it answered the head
                alice.conn.reset_stream(sid, error_code=CANCEL)
                alice.flush()
                closed = []
                for _ in range(200):
                    closed = json.loads(bob.get(site, "/closed").body)
                    if any(c["path"] == "/hang" for c in closed):
                        break
                check(any(c["path"] == "/hang" and c["code"] == CANCEL for c in closed),
                      f"{site}: the client's reset cancelled the upstream stream: {closed}")
                after = json.loads(bob.get(site, "/who").body)
                check(after["session"] == seen[0]["session"], f"{site}: the connection outlived the resets: {after}")
                alice.close()
                bob.close()

                # HTTP/1.1 clients reach the HTTP/2 upstream too.
                status, body = curl11(pki, port, site, "/who")
                who = json.loads(body) if status == 200 else {}
                check(who.get("headers", {}).get("x-client-cn") == "alice" and who.get("scheme") == scheme,
                      f"{site}: HTTP/1.1 to an HTTP/2 upstream: {status} {body[:200]!r}")
                status, body = curl11(pki, port, site, "/who", "--data-binary", "@-", data=b"y" * 300_000)
                check(status == 200 and json.loads(body).get("body_bytes") == 300_000,
                      f"{site}: an HTTP/1.1 request body went whole: {status} {body[:200]!r}")
                raw = http11_raw(pki, port, site, "/trailers")
                check(b"transfer-encoding: chunked" in raw.lower() and b"\r\nx-checksum: sum-" in raw,
                      f"{site}: trailers to an HTTP/1.1 client, chunked: {raw[-200:]!r}")
                status, _ = curl11(pki, port, site, "/reset?code=2")
                check(status == 502, f"{site}: HTTP/1.1, the upstream reset the stream: {status}")
                check_hop_details(pki, port, site)

            with urllib.request.urlopen(f"http://127.0.0.1:{proxy.admin_port}/metrics", timeout=10) as r:
                text = r.read().decode()
            resets = {by: metric(text, "gatehouse_http2_streams_reset_total", by=by) for by in ("client", "upstream")}
            check(resets["client"] >= 2 and resets["upstream"] >= 8, f"resets counted by who: {resets}")

            starve_then_serve(pki, port, SITE_B)

            # A silent upstream: every waiting stream fails within one connect_timeout.
            c = client("d.gatehouse.test", "alice")
            started = time.monotonic()
            ids = [c.request("d.gatehouse.test", f"/who?n={i}") for i in range(6)]
            answers = c.wait(*ids)
            took = time.monotonic() - started
            c.close()
            check(all(a.status == 502 for a in answers) and took < 3.5,
                  f"a silent upstream: {[a.status for a in answers]} after {took:.1f} s (connect_timeout 1 s)")

            # A reload: new streams on a new upstream connection, the old one closed once idle.
            before = json.loads(client(SITE_A, "alice").get(SITE_A, "/who").body)["session"]
            proxy.process.send_signal(signal.SIGHUP)
            now = before
            for _ in range(100):
                c = client(SITE_A, "alice")
                now = json.loads(c.get(SITE_A, "/who").body)["session"]
                c.close()
                if now != before:
                    break
            check(now != before, f"after a reload a new upstream connection: {before} -> {now}")
            sessions = {}
            for _ in range(200):
                c = client(SITE_A, "alice")
                sessions = json.loads(c.get(SITE_A, "/sessions").body)
                c.close()
                if sessions.get("open") == 1:
                    break
            check(sessions.get("open") == 1, f"the old generation's connection closed: {sessions}")

            # An upstream that does not speak h2: a 502, and the log says why.
            mark = proxy.mark()
            c = client("c.gatehouse.test", "alice")
            r = c.get("c.gatehouse.test", "/who")
            c.close()
            check(r.status == 502, f"an upstream without h2: {r.status}")
            lines = proxy.lines_since(mark, lambda e: e.get("status") == 502)
            check(any("did not agree to HTTP/2 in ALPN" in e.get("detail", "") for e in lines),
                  f"the log says why: {[e.get('detail') for e in lines]}")
        finally:
            proxy.stop()
            for node in (secure, plain, http1):
                node.stop()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("HTTP/2 upstreams (h2, h2c): all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
