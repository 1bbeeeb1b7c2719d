#!/usr/bin/env python3
"""gatehouse-bench --mode h2 and --mode grpc against a real Gatehouse: what it reports is what the
proxy served.

Usage: h2_bench_test.py GATEHOUSE_BINARY GATEHOUSE_BENCH_BINARY

One http listener offering h2, two sites: a.gatehouse.test in front of a Node.js HTTP/1.1
upstream (tests/h2/upstream.js; /admin/** denied), b.gatehouse.test in front of a real gRPC server
(Debian's python3-grpcio, `protocol = "h2c"`) whose rule allows testers /bench.Bench/Call only.
The bench holds alice's certificate. Checked, each with -n and --warmup 0 (exactly n requests):
- h2: n GETs on 2 connections × 8 streams, 50 requests per connection: n operations, no error,
  the server CPU per request; the access log has n lines for the path, all HTTP/2 and 200, 50 on
  each connection but the last two (which share the rest of n);
- errors by kind: a denied path gives n × "status: 403" and exit code 1;
- grpc: n unary calls, each reaching the server once and logged with grpc_status 0; a method the
  rule refuses gives n × "grpc-status: 7" and never reaches the server.
Ports are 0 or read; nothing sleeps.
"""
import json
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from h2_setup import SITE_A, SITE_B, NodeUpstream, Pki, h2_listener  # noqa: E402
from checks import FAILURES, check  # noqa: E402  (tests/support, on the path h2_setup set)
from running_proxy import RunningProxy  # noqa: E402

CALLS = []


def grpc_server():
    def call(request, context):
        CALLS.append(request)
        return b""

    handler = grpc.method_handlers_generic_handler("bench.Bench", {
        "Call": grpc.unary_unary_rpc_method_handler(call),
        "Other": grpc.unary_unary_rpc_method_handler(call),
    })
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


def write_config(work, node_port, grpc_port):
    config = work / "gatehouse.toml"
    config.write_text(h2_listener() + f"""  [[listener.route]]
  name = "a"
  sni = ["{SITE_A}"]
  upstream = "node"
  allow = [ {{ ou = "testers" }} ]
  deny = [ {{ path = "/admin/**" }} ]
  [[listener.route]]
  name = "b"
  sni = ["{SITE_B}"]
  upstream = "grpc"
  allow = [ {{ ou = "testers", path = "/bench.Bench/Call" }} ]

[[upstream]]
name = "node"
endpoints = ["127.0.0.1:{node_port}"]

[[upstream]]
name = "grpc"
protocol = "h2c"
endpoints = ["127.0.0.1:{grpc_port}"]
""")
    return config


class Bench:
    def __init__(self, binary, pki, proxy):
        cert, key = pki.cert("alice")
        self.base = [str(binary), f"127.0.0.1:{proxy.ports['h2']}", "--cert", str(cert), "--key", str(key),
                     "--ca", str(pki.root), "--warmup", "0", "-d", "60", "--json", "--pid", str(proxy.process.pid)]

    def run(self, *args):
        """(exit code, the JSON report) of one run."""
        done = subprocess.run(self.base + [str(a) for a in args], capture_output=True, text=True, timeout=120)
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            return done.returncode, {"unreadable": done.stdout + done.stderr}


def lines_for(proxy, mark, target, n):
    lines = proxy.lines_since(mark, lambda e: e.get("target") == target, n)
    return [e for e in lines if e.get("target") == target]


def h2_requests(bench, proxy):
    mark = proxy.mark()
    code, r = bench.run("--mode", "h2", "--sni", SITE_A, "--path", "/bench-h2", "-c", 2, "--streams", 8,
                        "--requests-per-connection", 50, "-n", 500)
    check(code == 0 and r.get("operations") == 500 and r.get("errors") == {},
          f"h2: exit {code}, {r.get('operations')} operations, errors {r.get('errors')}")
    check(r.get("target_cpu_us_per_operation", 0) > 0 and r.get("streams") == 8, f"h2 report: {r}")
    lines = lines_for(proxy, mark, "/bench-h2", 500)
    check(len(lines) == 500 and all(e.get("status") == 200 and e.get("alpn") == "h2" for e in lines),
          f"h2: the proxy logged {len(lines)} requests, not the 500 the bench reported")
    # 50 per connection; at the end the two connections then open share what is left of the 500.
    per_connection = Counter(e.get("id") for e in lines)
    check(max(per_connection.values()) == 50 and sum(n < 50 for n in per_connection.values()) <= 2,
          f"h2: requests per connection, 50 asked: {sorted(per_connection.values())}")


def h2_errors(bench, proxy):
    mark = proxy.mark()
    code, r = bench.run("--mode", "h2", "--sni", SITE_A, "--path", "/admin/wipe", "-c", 1, "--streams", 4, "-n", 20)
    check(code == 1 and r.get("operations") == 0 and r.get("errors") == {"status: 403": 20},
          f"h2 to a denied path: exit {code}, errors {r.get('errors')}")
    check(len(lines_for(proxy, mark, "/admin/wipe", 20)) == 20, "h2 errors: not 20 requests at the proxy")


def grpc_calls(bench, proxy):
    mark = proxy.mark()
    before = len(CALLS)
    code, r = bench.run("--mode", "grpc", "--sni", SITE_B, "--path", "/bench.Bench/Call", "-c", 2, "--streams", 4,
                        "-n", 200)
    check(code == 0 and r.get("operations") == 200 and r.get("errors") == {},
          f"grpc: exit {code}, {r.get('operations')} operations, errors {r.get('errors')}")
    check(len(CALLS) - before == 200, f"grpc: the server got {len(CALLS) - before} calls, not 200")
    lines = lines_for(proxy, mark, "/bench.Bench/Call", 200)
    check(len(lines) == 200 and all(e.get("status") == 200 and e.get("grpc_status") == 0 for e in lines),
          f"grpc: the proxy logged {len(lines)} calls with grpc_status 0, not 200")
    before = len(CALLS)
    code, r = bench.run("--mode", "grpc", "--sni", SITE_B, "--path", "/bench.Bench/Other", "-n", 10)
    check(code == 1 and r.get("errors") == {"grpc-status: 7": 10},
          f"grpc to a refused method: exit {code}, errors {r.get('errors')}")
    check(len(CALLS) == before, "a refused call reached the gRPC server")


def main():
    gatehouse, bench_binary = (Path(a).resolve() for a in sys.argv[1:3])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        node = NodeUpstream()
        server, grpc_port = grpc_server()
        proxy = RunningProxy(gatehouse, write_config(work, node.port, grpc_port))
        try:
            bench = Bench(bench_binary, pki, proxy)
            for step in (h2_requests, h2_errors, grpc_calls):
                step(bench, proxy)
        finally:
            proxy.stop()
            node.stop()
            server.stop(None)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("gatehouse-bench --mode h2 and grpc: what it reported is what the proxy served")
    return 0


if __name__ == "__main__":
    sys.exit(main())
