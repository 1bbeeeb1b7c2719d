#!/usr/bin/env python3
"""HTTP/2 connections through a reload and a drain, with a stream in flight.

Usage: h2_lifecycle_test.py GATEHOUSE_BINARY

The stream in flight is an upload the client holds open: HEADERS and 150 KB of DATA, the rest
only later. The WINDOW_UPDATE Gatehouse sends for that stream says its bytes reached the
upstream (a window comes back only once its bytes went upstream), so the test knows the stream
is in flight without sleeping. The client is a frame-level one (h2_frames.py): unlike hyper-h2
it goes on sending the rest of the upload after the server's GOAWAY, as HTTP/2 allows.

1. Reload revoking a client mid-connection: alice (an upload in flight) and dave (idle) are
   revoked through the listener's CRL, then SIGHUP. Alice's connection gets GOAWAY NO_ERROR at
   once, whose last-stream-id is her upload; a stream she opens after it is not served (ignored,
   or REFUSED_STREAM) and never reaches the upstream; her upload completes intact; then the
   connection ends. Dave's idle connection gets GOAWAY NO_ERROR and ends. Carol, still admitted,
   is served on the connection she had before the reload; alice's new connection gets the
   revocation page; /metrics counts two connections closed for `revoked`.
2. Drain with a stream in flight: carol's upload is in flight when Gatehouse gets SIGTERM. She
   gets GOAWAY NO_ERROR at once, whose last-stream-id is her upload; the process is still
   running; a stream opened after the GOAWAY is not served; the upload completes intact (not cut:
   drain_timeout is 60 s), the connection ends, and the process exits with 0.
Ports are 0 or read from the ready line; nothing sleeps: each wait is for a frame, the end of a
connection or an access-log line (reads give up after 20 s, and the check fails).
"""
import hashlib
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from h2_frames import FrameClient  # noqa: E402
from h2_setup import SITE_A, NodeUpstream, Pki, h2_listener, metric, upstream_saw  # noqa: E402
from checks import FAILURES, check, run  # noqa: E402  (tests/support, on the path h2_setup set)
from running_proxy import RunningProxy  # noqa: E402

NO_ERROR, REFUSED_STREAM = 0, 7
FIRST, REST = 150 * 1024, 50 * 1024  # FIRST > half the stream window (256 KiB): its WINDOW_UPDATE comes


def write_config(work, upstream_port):
    config = work / "gatehouse.toml"
    config.write_text(h2_listener('  crl = "ca/crl.pem"') + f"""  [[listener.route]]
  name = "a"
  sni = ["{SITE_A}"]
  upstream = "node"
  allow = [ {{ ou = "testers" }} ]

[[upstream]]
name = "node"
endpoints = ["127.0.0.1:{upstream_port}"]

[server]
workers = 1
drain_timeout = "60s"
""")
    return config


class Upload:
    """A POST whose body is sent in two parts: the stream stays in flight between them."""

    def __init__(self, client, path):
        self.client, self.path = client, path
        self.body = os.urandom(FIRST + REST)
        self.sid = client.open(SITE_A, path, method="POST", headers=[("content-type", "application/octet-stream")],
                               end=False)
        client.data(self.sid, self.body[:FIRST])
        # Its WINDOW_UPDATE: the first part went upstream, the stream is in flight at the upstream.
        check(client.wait(lambda: client.streams[self.sid].granted > 0), f"{path}: no WINDOW_UPDATE for the stream")

    def finish(self):
        self.client.data(self.sid, self.body[FIRST:], end=True)

    def check_intact(self):
        s = self.client.streams[self.sid]
        seen = upstream_saw(s.body) if s.status == 200 else {}
        check(s.status == 200 and s.ended and seen.get("body_bytes") == len(self.body) and
              seen.get("body_sha256") == hashlib.sha256(self.body).hexdigest(),
              f"{self.path}: the stream in flight did not complete intact: status {s.status}, reset {s.reset}, "
              f"{seen.get('body_bytes')} bytes upstream")


def not_served(client, sid, proxy, mark, path):
    """A stream opened after the GOAWAY: no response (ignored, or REFUSED_STREAM), never upstream."""
    s = client.streams[sid]
    check(s.status == 0 and s.reset in (None, REFUSED_STREAM),
          f"{path}: a stream opened after GOAWAY got status {s.status}, reset {s.reset}")
    served = [e for e in proxy.log[mark:] if e.get("target") == path and e.get("endpoint")]
    check(not served, f"{path}: a stream opened after GOAWAY reached the upstream: {served}")


def connection_lines(proxy, mark, close, count):
    """The connection lines closed for `close` after `mark`, once there are `count` (or 10 s passed):
    a connection's line is written after its socket closes, so the client sees the close first."""
    def closed_for(e):
        return e.get("close") == close and "target" not in e
    lines = proxy.lines_since(mark, closed_for, count)
    return [e for e in lines if closed_for(e)]


def reload_revoking(proxy, pki, gatehouse):
    alice = FrameClient(proxy.ports["h2"], SITE_A, pki.context("alice"))
    dave = FrameClient(proxy.ports["h2"], SITE_A, pki.context("dave"))
    carol = FrameClient(proxy.ports["h2"], SITE_A, pki.context("carol"))
    for name, c in (("alice", alice), ("dave", dave), ("carol", carol)):
        check(c.get(SITE_A, f"/{name}-before").status == 200, f"{name} before the reload")
    upload = Upload(alice, "/alice-upload")
    mark = proxy.mark()
    for who in ("alice", "dave"):
        run(gatehouse, "ca", "revoke", pki.ca, who, "--publish")
    proxy.process.send_signal(signal.SIGHUP)

    check(alice.wait(lambda: alice.goaway is not None), "alice: no GOAWAY after the reload revoked her")
    check(alice.goaway == (NO_ERROR, upload.sid),
          f"alice's GOAWAY: {alice.goaway}, not (NO_ERROR, last stream {upload.sid}: her upload in flight)")
    late = alice.open(SITE_A, "/alice-after-revocation")
    upload.finish()
    check(alice.wait(lambda: alice.closed), "alice's connection did not end after her upload")
    upload.check_intact()
    not_served(alice, late, proxy, mark, "/alice-after-revocation")

    check(dave.wait(lambda: dave.closed) and dave.goaway and dave.goaway[0] == NO_ERROR,
          f"dave's idle connection after his revocation: GOAWAY {dave.goaway}, closed {dave.closed}")
    check(carol.get(SITE_A, "/carol-after-reload").status == 200,
          "carol, still admitted, was not served on her connection after the reload")
    again = FrameClient(proxy.ports["h2"], SITE_A, pki.context("alice"))
    r = again.get(SITE_A, "/alice-new-connection")
    check(r.status == 403 and b"revoked" in r.body, f"alice's new connection after her revocation: {r.status}")
    again.close()
    closed = connection_lines(proxy, mark, "reverified_closed", 2)
    check(len(closed) == 2, f"two connections closed by the reload in the access log: {closed}")
    revoked = metric(proxy_metrics(proxy), "gatehouse_connections_reverified_closed_total", listener="h2",
                     reason="revoked")
    check(revoked == 2, f"gatehouse_connections_reverified_closed_total{{reason=revoked}} = {revoked}")
    for c in (alice, dave):
        c.close()
    return carol


def drain_in_flight(proxy, carol):
    upload = Upload(carol, "/carol-upload")
    mark = proxy.mark()
    proxy.process.send_signal(signal.SIGTERM)
    check(carol.wait(lambda: carol.goaway is not None), "carol: no GOAWAY at the drain while her upload was in flight")
    check(carol.goaway == (NO_ERROR, upload.sid),
          f"carol's GOAWAY at the drain: {carol.goaway}, not (NO_ERROR, last stream {upload.sid})")
    late = carol.open(SITE_A, "/after-drain-goaway")
    check(proxy.process.poll() is None, "Gatehouse exited with a stream in flight")
    upload.finish()
    check(carol.wait(lambda: carol.closed), "carol's connection did not end after her upload")
    upload.check_intact()
    try:
        code = proxy.process.wait(timeout=20)
    except Exception:  # noqa: BLE001  (subprocess.TimeoutExpired: reported, then stop() ends it)
        code = None
    check(code == 0, f"Gatehouse after the drain: exit {code}")
    not_served(carol, late, proxy, mark, "/after-drain-goaway")
    carol.close()


def proxy_metrics(proxy):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{proxy.admin_port}/metrics", timeout=10) as r:
        return r.read().decode()


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        for who in ("carol", "dave"):
            run(gatehouse, "ca", "issue", pki.ca, "--cn", who, "--ou", "testers")
        run(gatehouse, "ca", "crl", pki.ca)
        upstream = NodeUpstream()
        proxy = RunningProxy(gatehouse, write_config(work, upstream.port))
        try:
            carol = reload_revoking(proxy, pki, gatehouse)
            drain_in_flight(proxy, carol)  # last: the proxy exits
        finally:
            proxy.stop()
            upstream.stop()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("HTTP/2 through a reload and a drain with streams in flight: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
