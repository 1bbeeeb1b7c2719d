#!/usr/bin/env python3
"""HTTP/2 upstream connections with PROXY v2: each client's own, never shared.

Usage: h2_upstream_proxy_v2_test.py GATEHOUSE_BINARY

A listener with `proxy_protocol = "v2"` starts every upstream connection with a PROXY header that
names one client. Its streams to an h2c upstream must then go on that client's connections only:
on a connection another client opened, the upstream would take them for that client. The upstream
here (hyper-h2 over a plain socket) reads the PROXY header of each connection and answers every
stream with the client port it names and the x-client-cn the stream carries. Checked, for two
clients with concurrent streams on one worker: each stream's PROXY port is its own client's, and
the connections close when their client goes. Ports are 0 or read; the waits are on conditions.
"""
import json
import socket
import struct
import sys
import tempfile
import threading
from pathlib import Path

import h2.config
import h2.connection
import h2.events

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import FAILURES, check  # noqa: E402
from h2_client import H2Client  # noqa: E402
from h2_setup import SITE_A, Pki  # noqa: E402
from running_proxy import RunningProxy  # noqa: E402

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed in the PROXY header")
        data += chunk
    return data


class ProxyV2H2Upstream:
    """h2c after a PROXY v2 header; answers each stream with what the header and the stream say."""
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.open, self.opened, self.lock = 0, 0, threading.Condition()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        head = read_exact(conn, 16)
        if head[:12] != SIGNATURE:
            conn.close()
            return
        rest = read_exact(conn, struct.unpack("!H", head[14:16])[0])
        client_port = struct.unpack("!H", rest[8:10])[0]  # IPv4: src, dst, src port, dst port
        with self.lock:
            self.opened += 1
            self.open += 1
            number = self.opened
        h2conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False,
                                                                             header_encoding="utf-8"))
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        try:
            while data := conn.recv(65536):
                for event in h2conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        fields = dict(event.headers)
                        body = json.dumps({"proxy_client_port": client_port, "connection": number,
                                           "cn": fields.get("x-client-cn")}).encode()
                        h2conn.send_headers(event.stream_id, [(":status", "200"),
                                                              ("content-length", str(len(body)))])
                        h2conn.send_data(event.stream_id, body, end_stream=True)
                conn.sendall(h2conn.data_to_send())
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.open -= 1
                self.lock.notify_all()


def config(work, port):
    path = work / "gatehouse.toml"
    path.write_text(f"""
[server]
workers = 1  # one worker, one pool: sharing would happen here if it could

[[listener]]
name = "v2"
listen = "127.0.0.1:0"
mode = "http"
proxy_protocol = "v2"
  [listener.tls]
  certificates = [ {{ cert = "ca/issued/site-chain.pem", key = "ca/issued/site.key" }} ]
  client_ca = "ca/root.pem"
  [[listener.route]]
  sni = ["{SITE_A}"]
  upstream = "grpc-like"
  allow = [ {{ ou = "testers" }}, {{ ou = "admins" }} ]

[[upstream]]
name = "grpc-like"
protocol = "h2c"
endpoints = ["127.0.0.1:{port}"]
""")
    return path


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        upstream = ProxyV2H2Upstream()
        proxy = RunningProxy(gatehouse, config(work, upstream.port))
        try:
            clients = {who: H2Client(proxy.ports["v2"], SITE_A, pki.context(who)) for who in ("alice", "bob")}
            ports = {who: c.tls.getsockname()[1] for who, c in clients.items()}
            streams = {who: [c.request(SITE_A, f"/orders.v1.Orders/Get?n={i}") for i in range(6)]
                       for who, c in clients.items()}
            for who, c in clients.items():
                for r in c.wait(*streams[who]):
                    seen = json.loads(r.body) if r.status == 200 else {}
                    check(seen.get("proxy_client_port") == ports[who] and seen.get("cn") == who,
                          f"{who}'s stream on {who}'s own connection: {r.status} {seen} (port {ports[who]})")
            for c in clients.values():
                c.close()
            with upstream.lock:  # each client's upstream connections close once it is gone
                upstream.lock.wait_for(lambda: upstream.open == 0, timeout=20)
            check(upstream.open == 0 and upstream.opened >= 2,
                  f"the clients' upstream connections closed with them: {upstream.opened} opened, {upstream.open} open")
        finally:
            proxy.stop()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("HTTP/2 upstream connections with PROXY v2: each client's own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
