#!/usr/bin/env python3
"""gRPC through an http-mode listener to an h2c upstream, with client certificates: a real gRPC
client and server (Debian's python3-grpcio) on both sides of Gatehouse.

Usage: h2_grpc_test.py GATEHOUSE_BINARY

The server (an insecure port on loopback, `protocol = "h2c"` in its [[upstream]]) answers with
the identity metadata Gatehouse added. Checked: unary, server-streaming and bidirectional calls;
X-Client-CN is the verified one (a spoofed x-client-cn from the client never arrives); the
server's trailing metadata and its error statuses reach the client unchanged; per-method rules
(`/orders.v1.Orders/Get*` for testers) refuse another method with PERMISSION_DENIED before the
server sees it; the access log has a line per call with its stream and grpc_status, and
gatehouse_grpc_calls_total counts them by status; an HTTP/1.1 client's call
(curl, gRPC's framing) reaches the server with its identity too. Ports are 0 or read.
"""
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from h2_setup import Pki, SITE_A, metric  # noqa: E402
from checks import FAILURES, check, run  # noqa: E402
from running_proxy import RunningProxy  # noqa: E402

SERVICE = "orders.v1.Orders"
CALLED = []


def server():
    def who(context):
        seen = dict(context.invocation_metadata())
        CALLED.append(context.peer())
        return f"cn={seen.get('x-client-cn', '')};xfcc={'x-forwarded-client-cert' in seen}".encode()

    def get(request, context):
        context.set_trailing_metadata((("x-served-by", "orders"),))
        if request == b"missing":
            context.abort(grpc.StatusCode.NOT_FOUND, "no such order")
        return b"order " + request + b" for " + who(context)

    def list_orders(request, context):
        who(context)
        for i in range(int(request)):
            yield f"order-{i}".encode()

    def get_many(requests, context):
        who(context)
        for r in requests:
            yield b"got " + r

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Get": grpc.unary_unary_rpc_method_handler(get),
        "GetList": grpc.unary_stream_rpc_method_handler(list_orders),
        "GetMany": grpc.stream_stream_rpc_method_handler(get_many),
        "Delete": grpc.unary_unary_rpc_method_handler(get),
    })
    s = grpc.server(ThreadPoolExecutor(max_workers=4))
    s.add_generic_rpc_handlers((handler,))
    port = s.add_insecure_port("127.0.0.1:0")
    s.start()
    return s, port


def config(work, port):
    path = work / "gatehouse.toml"
    path.write_text(f"""
[admin]
listen = "127.0.0.1:0"

[[listener]]
name = "grpc"
listen = "127.0.0.1:0"
mode = "http"
  [listener.tls]
  certificates = [ {{ cert = "ca/issued/site-chain.pem", key = "ca/issued/site.key" }} ]
  client_ca = "ca/root.pem"
  [[listener.route]]
  upstream = "orders"
  allow = [ {{ ou = "testers", path = "/orders.v1.Orders/Get*" }} ]

[[upstream]]
name = "orders"
protocol = "h2c"
endpoints = ["127.0.0.1:{port}"]
""")
    return path


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        upstream, port = server()
        proxy = RunningProxy(gatehouse, config(work, port))
        try:
            cert, key = pki.cert("alice")
            creds = grpc.ssl_channel_credentials(pki.root.read_bytes(), key.read_bytes(), cert.read_bytes())
            options = [("grpc.ssl_target_name_override", SITE_A), ("grpc.default_authority", SITE_A)]
            with grpc.secure_channel(f"127.0.0.1:{proxy.ports['grpc']}", creds, options=options) as channel:
                mark = proxy.mark()
                unary = channel.unary_unary(f"/{SERVICE}/Get")
                reply, call = unary.with_call(b"42", metadata=(("x-client-cn", "mallory"),), timeout=20)
                check(reply == b"order 42 for cn=alice;xfcc=True", f"unary: {reply!r}")
                check(("x-served-by", "orders") in call.trailing_metadata(), f"trailers: {call.trailing_metadata()}")
                try:
                    unary(b"missing", timeout=20)
                    check(False, "NOT_FOUND did not come back")
                except grpc.RpcError as e:
                    check(e.code() == grpc.StatusCode.NOT_FOUND and e.details() == "no such order",
                          f"the server's own status: {e.code()} {e.details()!r}")
                items = list(channel.unary_stream(f"/{SERVICE}/GetList")(b"5", timeout=20))
                check(items == [f"order-{i}".encode() for i in range(5)], f"server streaming: {items}")
                replies = list(channel.stream_stream(f"/{SERVICE}/GetMany")(iter([b"a", b"b", b"c"]), timeout=20))
                check(replies == [b"got a", b"got b", b"got c"], f"bidirectional: {replies}")
                served = len(CALLED)
                try:
                    channel.unary_unary(f"/{SERVICE}/Delete")(b"42", timeout=20)
                    check(False, "Delete was allowed")
                except grpc.RpcError as e:
                    check(e.code() == grpc.StatusCode.PERMISSION_DENIED, f"Delete: {e.code()} {e.details()!r}")
                check(len(CALLED) == served, "a refused call reached the server")
                lines = proxy.lines_since(mark, lambda e: e.get("grpc_status") == 7)
                calls = [e for e in lines if e.get("target", "").startswith(f"/{SERVICE}/")]
                check(len(calls) == 5 and all(e.get("alpn") == "h2" and e.get("stream") for e in calls),
                      f"one access-log line per call: {[(e.get('target'), e.get('status')) for e in calls]}")
                # The server's own statuses are in the log and the metrics, as ours are.
                check(sorted(e.get("grpc_status") for e in calls) == [0, 0, 0, 5, 7],
                      f"grpc_status per call: {[(e.get('target'), e.get('grpc_status')) for e in calls]}")
                with urllib.request.urlopen(f"http://127.0.0.1:{proxy.admin_port}/metrics", timeout=10) as r:
                    text = r.read().decode()
                for code, least in (("OK", 3), ("NOT_FOUND", 1), ("PERMISSION_DENIED", 1)):
                    check(metric(text, "gatehouse_grpc_calls_total", code=code) >= least,
                          f"gatehouse_grpc_calls_total{{code={code}}} >= {least}")
            # An HTTP/1.1 client reaches the h2c server too: a unary call in gRPC's framing by curl.
            framed = b"\x00\x00\x00\x00\x02" + b"42"
            body = run("curl", "-sS", "--http1.1", "-o", "-", "--cacert", pki.root, "--cert", cert, "--key", key,
                       "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@-",
                       "--resolve", f"{SITE_A}:{proxy.ports['grpc']}:127.0.0.1",
                       f"https://{SITE_A}:{proxy.ports['grpc']}/orders.v1.Orders/Get", stdin=framed, text=False)
            check(b"order 42 for cn=alice;xfcc=True" in body, f"HTTP/1.1 to an h2c upstream: {body!r}")
        finally:
            proxy.stop()
            upstream.stop(None)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("gRPC through an http listener to an h2c server: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
