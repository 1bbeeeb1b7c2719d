#!/usr/bin/python3
"""The gRPC server behind the proxies in bench/compare.sh's gRPC column: an insecure (h2c) port on
loopback answering /bench.Bench/Call (a unary method: any request, an empty reply, status OK).
Debian's python3-grpcio (its C core does the HTTP/2); only the proxies' CPU is measured.

Usage: grpc_server.py PORT    (prints "ready" once it listens; runs until killed)
"""
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc


def main():
    port = int(sys.argv[1])
    handler = grpc.method_handlers_generic_handler(
        "bench.Bench", {"Call": grpc.unary_unary_rpc_method_handler(lambda request, context: b"")})
    server = grpc.server(ThreadPoolExecutor(max_workers=4), options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    if server.add_insecure_port(f"127.0.0.1:{port}") != port:
        print(f"cannot listen on 127.0.0.1:{port}", file=sys.stderr)
        return 1
    server.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    server.stop(None)
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main())
