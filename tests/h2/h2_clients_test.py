#!/usr/bin/env python3
"""HTTP/2 through an http-mode listener with the clients people use: curl --http2, nghttp
(Debian's nghttp2-client), hyper-h2, and a real gRPC client (Debian's python3-grpcio).

Usage: h2_clients_test.py GATEHOUSE_BINARY

Checked: the identity headers the upstream (Node.js) receives and the spoofed ones it does not;
request bodies with and without a length, a 4 MB download through flow control, response
trailers passed (only the allowed one) and connection-specific fields dropped; 20 streams at
once on one connection, each with its access-log line; connection coalescing (a stream for
another site on the same connection gets 421, never the other route's upstream, and the
connection goes on); refusal pages per stream, and gRPC statuses instead of pages for gRPC
clients (UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE); HTTP/1.1 clients on the same listener;
requests by protocol in /metrics; a request that meets a kept upstream connection as it closes
(sent again if it has no body and is safe to repeat, else a 502), and an unasked second answer on
a kept connection that never answers the next request; at a drain (SIGTERM) an idle connection
gets GOAWAY NO_ERROR.
Ports are 0 or read from ready lines; nothing sleeps.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from h2_client import H2Client  # noqa: E402
from h2_setup import SITE_A, SITE_B, SITE_C, Setup, metric, upstream_saw  # noqa: E402
from checks import FAILURES, check  # noqa: E402  (tests/support, on the path h2_setup set)


def identity_and_spoofing(s):
    mark = s.proxy.mark()
    status, version, body = s.curl(SITE_A, "/hello?x=1", "alice", "-H", "x-client-cn: mallory", "-H",
                                   "x-forwarded-client-cert: Hash=evil", "-H", "client-cert: :AAAA:")
    check(status == 200 and version == "2", f"curl --http2 to a: {status} over HTTP/{version}")
    seen = upstream_saw(body)
    fields = seen["fields"]
    check([v for n, v in fields if n == "x-client-cn"] == ["alice"], f"X-Client-CN upstream: {fields}")
    check(not any("evil" in v for n, v in fields), "a spoofed XFCC reached the upstream")
    check(not any(n == "client-cert" for n, v in fields), "a spoofed Client-Cert reached the upstream")
    check(("host", f"{SITE_A}:{s.port}") in fields, f"Host upstream: {fields}")
    check(seen["url"] == "/hello?x=1", f"target upstream: {seen['url']}")
    line = s.proxy.line_since(mark, "h2")
    check(line.get("alpn") == "h2" and line.get("stream") == 1 and line.get("status") == 200,
          f"access log of an h2 request: {line}")


def bodies(s, work):
    blob = os.urandom(300_000)
    (work / "blob").write_bytes(blob)
    digest = hashlib.sha256(blob).hexdigest()
    status, _, body = s.curl(SITE_A, "/upload", "alice", "--data-binary", f"@{work / 'blob'}")
    seen = upstream_saw(body)
    check(status == 200 and seen["body_sha256"] == digest and ("content-length", "300000") in seen["fields"],
          f"a POST with a length: {status} {seen['body_bytes']} bytes")
    status, _, body = s.curl(SITE_A, "/stream", "alice", "-T", "-", data=blob)  # no length: chunked upstream
    seen = upstream_saw(body)
    check(status == 200 and seen["body_sha256"] == digest and ("transfer-encoding", "chunked") in seen["fields"],
          f"a body without a length: {status} {seen['body_bytes']} bytes {seen['fields']}")
    status, _, body = s.curl(SITE_A, "/big?n=4000000", "alice", "-D", str(work / "big-headers"))
    headers = (work / "big-headers").read_text().lower()
    check(status == 200 and len(body) == 4_000_000 and hashlib.sha256(body).hexdigest() in headers,
          f"a 4 MB download: {status}, {len(body)} bytes")


def trailers_and_fields(s):
    c = H2Client(s.port, SITE_A, s.pki.context("alice"))
    r = c.get(SITE_A, "/trailers")
    check(r.status == 200 and r.trailers.get("x-checksum", "").startswith("sum-"),
          f"the allowed trailer: {r.status} {r.trailers}")
    check("x-dropped" not in r.trailers, f"a trailer not in allowed_trailers passed: {r.trailers}")
    r = c.get(SITE_A, "/plain")
    bad = [n for n in r.headers if n in ("connection", "keep-alive", "transfer-encoding", "upgrade")]
    check(r.status == 200 and not bad, f"connection-specific fields reached an HTTP/2 client: {bad}")
    c.close()


def many_streams(s, work):
    cert, key = s.pki.cert("alice")
    mark = s.proxy.mark()
    out = subprocess.run(["nghttp", "-n", "-s", "-m", "20", "--cert", str(cert), "--key", str(key),
                          f"https://127.0.0.1:{s.port}/many", "-H", f":authority: {SITE_A}"],
                         capture_output=True, text=True, env={**os.environ, "SSL_CERT_FILE": str(s.pki.root)})
    lines = s.proxy.lines_since(mark, lambda e: e.get("target") == "/many", 20)
    many = [e for e in lines if e.get("target") == "/many"]
    check(out.returncode == 0, f"nghttp -m 20 exited {out.returncode}: {out.stderr[-400:]}")
    check(len(many) == 20 and all(e["status"] == 200 for e in many), f"20 streams, {len(many)} lines")
    check(len({e["id"] for e in many}) == 1 and len({e["stream"] for e in many}) == 20,
          "20 streams on one connection, each logged with its stream id")


def coalescing(s):
    c = H2Client(s.port, SITE_A, s.pki.context("alice"))
    mark = s.proxy.mark()
    r = c.get(SITE_B, "/other-site")
    check(r.status == 421 and b"misdirected" in r.body, f"a stream for b on a's connection: {r.status}")
    line = s.proxy.lines_since(mark, lambda e: e.get("target") == "/other-site")[-1]
    check(line.get("close") == "misdirected_request" and line.get("endpoint") == "",
          f"421 never reaches an upstream: {line}")
    r = c.get(SITE_A, "/after-421")
    check(r.status == 200, f"the connection goes on after a 421: {r.status}")
    c.close()
    # b admits admins only: alice is refused there, bob served, and bob's connection to b cannot reach a.
    status, _, body = s.curl(SITE_B, "/", "alice")
    check(status == 403 and b"policy_denied" in body, f"alice on b: {status}")
    bob = H2Client(s.port, SITE_B, s.pki.context("bob"))
    check(bob.get(SITE_B, "/").status == 200, "bob on b")
    check(bob.get(SITE_A, "/").status == 421, "bob's connection to b asking for a")
    bob.close()


def refusals(s):
    status, _, body = s.curl(SITE_A, "/", None)
    check(status == 403 and b"certificate is needed" in body, f"no certificate over h2: {status}")
    status, _, body = s.curl(SITE_A, "/admin/users", "alice")
    check(status == 403 and b"policy_denied" in body, f"a path rule over h2: {status}")
    status, _, _ = s.curl(SITE_C, "/", "alice")
    check(status == 502, f"a down upstream over h2: {status}")


def grpc_refusals(s):
    def call(who, site, method):
        root = s.pki.root.read_bytes()
        if who:
            cert, key = s.pki.cert(who)
            creds = grpc.ssl_channel_credentials(root, key.read_bytes(), cert.read_bytes())
        else:
            creds = grpc.ssl_channel_credentials(root)
        options = [("grpc.ssl_target_name_override", site), ("grpc.default_authority", site)]
        with grpc.secure_channel(f"127.0.0.1:{s.port}", creds, options=options) as channel:
            try:
                channel.unary_unary(method)(b"ping", timeout=20)
                return None, ""
            except grpc.RpcError as e:
                return e.code(), e.details()

    mark = s.proxy.mark()
    code, details = call(None, SITE_A, "/orders.v1.Orders/Get")
    check(code == grpc.StatusCode.UNAUTHENTICATED and "certificate is needed" in details,
          f"gRPC without a certificate: {code} {details!r}")
    code, details = call("alice", SITE_A, "/admin/Ops/Wipe")
    check(code == grpc.StatusCode.PERMISSION_DENIED and "the QA lead" in details,
          f"gRPC to a denied path: {code} {details!r}")
    code, details = call("alice", SITE_C, "/orders.v1.Orders/Get")
    check(code == grpc.StatusCode.UNAVAILABLE, f"gRPC to a down upstream: {code} {details!r}")
    lines = s.proxy.lines_since(mark, lambda e: e.get("grpc_status") == 14)
    check(sorted(e.get("grpc_status") for e in lines if "grpc_status" in e)[:3] == [7, 14, 16],
          f"gRPC statuses in the access log: {[e.get('grpc_status') for e in lines]}")


def http11_and_metrics(s):
    status, version, _ = s.curl(SITE_A, "/old", "alice", "--http1.1")
    check(status == 200 and version == "1.1", f"HTTP/1.1 on the same listener: {status} {version}")
    text = s.metrics()
    check(metric(text, "gatehouse_http_requests_total", listener="h2", protocol="h2") >= 20,
          "gatehouse_http_requests_total{protocol=h2}")
    check(metric(text, "gatehouse_http_requests_total", listener="h2", protocol="http/1.1") >= 1,
          "gatehouse_http_requests_total{protocol=http/1.1}")


def replays(s):
    """A kept upstream connection that the upstream closes as the next request meets it: a GET and
    a DELETE without a body go once more on a new connection, a POST gets a 502 (never repeated)."""
    before = metric(s.metrics(), "gatehouse_upstream_requests_replayed_total", upstream="node")
    c = H2Client(s.port, SITE_A, s.pki.context("alice"))
    gets = [c.get(SITE_A, "/one-per-connection").status for _ in range(3)]
    check(gets == [200, 200, 200], f"GETs on kept connections the upstream closes: {gets}")
    delete = c.get(SITE_A, "/one-per-connection", method="DELETE").status
    check(delete == 200, f"a DELETE without a body: {delete}")
    post = c.get(SITE_A, "/one-per-connection", method="POST").status
    check(post == 502, f"a POST on a kept connection the upstream closes: {post}, not 502")
    c.close()
    replayed = metric(s.metrics(), "gatehouse_upstream_requests_replayed_total", upstream="node") - before
    check(replayed == 3, f"requests replayed: {replayed}, not 3 (two GETs, the DELETE)")


def unasked_answer(s):
    """An upstream that writes a second answer, unasked, on a kept connection: the next request on
    the session never takes it for its own answer (the connection is checked before reuse)."""
    c = H2Client(s.port, SITE_A, s.pki.context("alice"))
    first = c.get(SITE_A, "/unasked")
    check(first.status == 200 and first.body == b"first", f"/unasked: {first.status} {first.body!r}")
    status, _, body = s.curl(SITE_A, "/write-stray")  # another session: another upstream connection
    check(status == 200 and body == b"written", f"/write-stray: {status} {body!r}")
    after = c.get(SITE_A, "/next")
    check(after.status == 200 and b'"url":"/next"' in after.body,
          f"the request after the unasked answer got: {after.status} {after.body[:80]!r}")
    c.close()


def drain(s):
    """SIGTERM: an idle HTTP/2 connection is told GOAWAY NO_ERROR (every stream it sent was served)."""
    c = H2Client(s.port, SITE_A, s.pki.context("alice"))
    check(c.get(SITE_A, "/before-drain").status == 200, "a request before the drain")
    s.proxy.process.terminate()
    code = c.until_goaway()
    check(code == 0, f"an idle connection at a drain: GOAWAY {code}, not NO_ERROR")
    c.close()


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        s = Setup(gatehouse, work)
        try:
            for step in (identity_and_spoofing, lambda s: bodies(s, work), trailers_and_fields,
                         lambda s: many_streams(s, work), coalescing, refusals, grpc_refusals, http11_and_metrics,
                         replays, unasked_answer, drain):  # last: the proxy exits
                step(s)
        finally:
            s.stop()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("HTTP/2 with real clients: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
