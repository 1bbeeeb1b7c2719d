#!/usr/bin/env python3
"""HTTP/2 attacks on an http-mode listener, each mounted for real, each answered by closing the
attacker's connection with GOAWAY ENHANCE_YOUR_CALM while other clients go on being served.

Usage: h2_attacks_test.py GATEHOUSE_BINARY

The attacker holds a valid tester certificate. Mounted with raw frames (Debian's
python3-hyperframe and python3-hpack): rapid reset (CVE-2023-44487: HEADERS then RST_STREAM,
thousands of times), a CONTINUATION flood (CVE-2024-27316), a SETTINGS flood, a PING flood, and
an HPACK bomb (a 4 KB header in the dynamic table, then referenced by one byte 39 times: 160 KB
from 3 KB). After
each one: the connection line in the access log says `abuse` and why, a client connected before
the attacks still gets answers on its connection, a new client is served, and
gatehouse_http2_goaways_total{cause="abuse"} counted it. A client that does not speak HTTP/2 at
all after choosing h2 is closed as a protocol error. Header values with CR LF, a :path with a
space and upper-case names never reach the HTTP/1.1 upstream. Nothing sleeps; ports are 0 or read.
"""
import sys
import tempfile
from pathlib import Path

from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame

sys.path.insert(0, str(Path(__file__).resolve().parent))
from h2_client import H2Client, RawH2, connect  # noqa: E402
from h2_setup import SITE_A, Setup, metric  # noqa: E402
from checks import FAILURES, check  # noqa: E402  (tests/support, on the path h2_setup set)

ENHANCE_YOUR_CALM = 0xB


def rapid_reset(raw):
    frames = []
    for sid in range(1, 4001, 2):
        frames.append(HeadersFrame(sid, data=raw.block(SITE_A, "/reset"), flags=["END_HEADERS", "END_STREAM"]))
        frames.append(RstStreamFrame(sid, error_code=8))  # CANCEL
    for i in range(0, len(frames), 100):
        if not raw.send(*frames[i:i + 100]):
            break


def continuation_flood(raw):
    block = raw.block(SITE_A, "/continuation", [("x-filler", "y" * 200)])
    raw.send(HeadersFrame(1, data=block[:10], flags=[]))
    for _ in range(200):
        if not raw.send(ContinuationFrame(1, data=b"")):
            break


def settings_flood(raw):
    for _ in range(40):
        if not raw.send(*[SettingsFrame(0) for _ in range(100)]):
            break


def ping_flood(raw):
    for _ in range(40):
        if not raw.send(*[PingFrame(0, opaque_data=b"attacker") for _ in range(100)]):
            break


def hpack_bomb(raw):
    big = ("x-bomb", "A" * 4000)
    raw.send(HeadersFrame(1, data=raw.block(SITE_A, "/seed", [big]), flags=["END_HEADERS", "END_STREAM"]))
    bomb = raw.block(SITE_A, "/bomb", [big] * 40)
    check(len(bomb) < 4000, f"the bomb's header block is {len(bomb)} bytes on the wire: not a bomb")
    raw.send(HeadersFrame(3, data=bomb, flags=["END_HEADERS", "END_STREAM"]))


ATTACKS = {
    "rapid reset": (rapid_reset, "reset"),
    "CONTINUATION flood": (continuation_flood, "CONTINUATION"),
    # Ours, or nghttp2's own when the client does not read the ACKs fast enough ("Flooding was detected").
    "SETTINGS flood": (settings_flood, ("control frames", "Flooding")),
    "PING flood": (ping_flood, ("control frames", "Flooding")),
    "HPACK bomb": (hpack_bomb, "header list"),
}


def mount(s, bystander, name):
    attack, words = ATTACKS[name]
    mark = s.proxy.mark()
    raw = RawH2(s.port, SITE_A, s.pki.context("alice"))
    attack(raw)
    code = raw.goaway()
    raw.close()
    check(code == ENHANCE_YOUR_CALM, f"{name}: GOAWAY {code}, not ENHANCE_YOUR_CALM")
    lines = s.proxy.lines_since(mark, lambda e: e.get("close") == "abuse")
    abuse = [e for e in lines if e.get("close") == "abuse"]
    words = (words,) if isinstance(words, str) else words
    check(abuse and any(w in abuse[-1].get("detail", "") for w in words),
          f"{name}: the connection's line: {abuse or lines[-3:]}")
    check(bystander.get(SITE_A, "/bystander").status == 200, f"{name}: a client connected before lost its answers")
    status, version, _ = s.curl(SITE_A, "/after", "alice")
    check(status == 200 and version == "2", f"{name}: a new client after it: {status}")


def smuggling(s):
    """Bytes that would end a line on the HTTP/1.1 hop: the stream is refused, nothing forwarded."""
    c = H2Client(s.port, SITE_A, s.pki.context("alice"), validate=False)
    mark = s.proxy.mark()
    cases = [("/inject", [("x-note", "a\r\nx-client-cn: root")]), ("/a b HTTP/1.1\r\nx: y", []),
             ("/upper", [("X-Client-CN", "root")])]
    for path, headers in cases:
        r = c.get(SITE_A, path, headers=headers)
        check(r.reset is not None or r.status == 400, f"{path!r}: {r.status} reset={r.reset}")
    check(c.get(SITE_A, "/clean").status == 200, "the connection after refused streams")
    lines = s.proxy.lines_since(mark, lambda e: e.get("target") == "/clean")
    smuggled = [path for path, _ in cases]
    check(not any(e.get("endpoint") for e in lines if e.get("target") in smuggled),
          f"a smuggling stream reached the upstream: {lines}")
    c.close()


def not_http2(s):
    mark = s.proxy.mark()
    tls = connect(s.port, SITE_A, s.pki.context("alice"))
    tls.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")  # h2 chosen, HTTP/1.1 spoken
    while tls.recv(65536):
        pass
    tls.close()
    lines = s.proxy.lines_since(mark, lambda e: e.get("close") == "protocol_error")
    check(any(e.get("close") == "protocol_error" for e in lines), f"HTTP/1.1 on h2: {lines}")


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        s = Setup(gatehouse, Path(tmp))
        try:
            bystander = H2Client(s.port, SITE_A, s.pki.context("alice"))
            check(bystander.get(SITE_A, "/before").status == 200, "the bystander before the attacks")
            for name in ATTACKS:
                mount(s, bystander, name)
            smuggling(s)
            not_http2(s)
            abuse = metric(s.metrics(), "gatehouse_http2_goaways_total", listener="h2", cause="abuse")
            check(abuse == len(ATTACKS), f"gatehouse_http2_goaways_total{{cause=abuse}} = {abuse}")
            bystander.close()
        finally:
            s.stop()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("HTTP/2 attacks: every one ended with GOAWAY ENHANCE_YOUR_CALM, others served")
    return 0


if __name__ == "__main__":
    sys.exit(main())
