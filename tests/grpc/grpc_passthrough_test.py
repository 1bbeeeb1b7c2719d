#!/usr/bin/env python3
"""gRPC through a tcp listener with client certificates, and what its `alpn` key negotiates.

Usage: grpc_passthrough_test.py GATEHOUSE_BINARY

A real gRPC server (Debian's python3-grpcio, plaintext on loopback: Gatehouse terminates TLS
and forwards bytes) behind a tcp listener with `alpn = ["h2", "http/1.1"]`; a real gRPC client
with `ssl_channel_credentials` and a certificate minted with `gatehouse ca`. Unary and
streaming calls pass, metadata and trailers untouched; without a certificate the client is
refused; against a listener without `alpn` the same client fails (grpc-core insists on h2);
`curl --http2` sees h2 accepted; our order wins over the client's; a client offering none of
ours gets a no_application_protocol alert (reason protocol_error); a client offering no ALPN
still connects; PROXY v2's ALPN TLV carries what was negotiated; the access log's `alpn` too.
An http-mode listener offers h2 then http/1.1, and lets a client offering neither finish its handshake.
Every port is 0 or read from a ready line; nothing sleeps.
"""
import os
import queue
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "support"))
from checks import FAILURES, check, fail, run  # noqa: E402,F401  (tests/support)
from running_proxy import RunningProxy  # noqa: E402  (tests/support)

SITE = "grpc.gatehouse.test"
SERVICE = "gatehouse.test.Echo"
class Pki:
    """A CA made with `gatehouse ca`: the proxy's certificate and a service's client certificate."""

    def __init__(self, gatehouse, work):
        self.ca = work / "ca"
        run(gatehouse, "ca", "init", self.ca, "--name", "Gatehouse gRPC Test Root")
        run(gatehouse, "ca", "issue", self.ca, "--profile", "server", "--cn", SITE, "--san", f"dns:{SITE}")
        run(gatehouse, "ca", "issue", self.ca, "--cn", "billing", "--ou", "services")
        self.root = self.ca / "root.pem"
        self.chain = self.ca / "issued/billing-chain.pem"
        self.key = self.ca / "issued/billing.key"

    def client_context(self, alpn=None, certificate=True):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.root)
        if certificate:
            context.load_cert_chain(self.chain, self.key)
        if alpn is not None:
            context.set_alpn_protocols(alpn)
        return context


def grpc_upstream():
    """An echo service on raw bytes (no protoc): unary, server streaming and bidirectional."""

    def unary(request, context):
        context.set_trailing_metadata((("x-upstream-trailer", "kept"),))
        seen = dict(context.invocation_metadata()).get("x-caller", "")
        return b"echo:" + request + b" caller:" + seen.encode()

    def count(request, context):
        for i in range(int(request)):
            yield str(i).encode()

    def chat(requests, context):
        for request in requests:
            yield b"echo:" + request

    handler = grpc.method_handlers_generic_handler(SERVICE, {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Count": grpc.unary_stream_rpc_method_handler(count),
        "Chat": grpc.stream_stream_rpc_method_handler(chat),
    })
    server = grpc.server(ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


class Recorder(socketserver.ThreadingTCPServer):
    """An upstream that reads the PROXY v2 header, keeps its ALPN TLV (None: absent), and echoes."""

    daemon_threads = True

    def __init__(self):
        self.alpns = queue.Queue()
        super().__init__(("127.0.0.1", 0), RecorderHandler)


class RecorderHandler(socketserver.BaseRequestHandler):
    def read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.request.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def handle(self):
        try:
            head = self.read(16)
            body = self.read(int.from_bytes(head[14:16], "big"))
        except ConnectionError:
            return
        tlvs = body[{0x11: 12, 0x21: 36}.get(head[13], 0):]
        alpn = None
        while len(tlvs) >= 3:
            kind, length = tlvs[0], int.from_bytes(tlvs[1:3], "big")
            if kind == 0x01:
                alpn = tlvs[3:3 + length].decode()
            tlvs = tlvs[3 + length:]
        self.server.alpns.put(alpn)
        while data := self.request.recv(4096):
            self.request.sendall(data)


def write_config(path, grpc_port, recorder_port):
    def listener(name, upstream, extra):
        return "\n".join([
            "[[listener]]", f'name = "{name}"', 'listen = "127.0.0.1:0"', *extra,
            "  [listener.tls]",
            f'  certificates = [ {{ cert = "ca/issued/{SITE}-chain.pem", key = "ca/issued/{SITE}.key" }} ]',
            '  client_ca = "ca/root.pem"',
            "  [[listener.route]]", f'  upstream = "{upstream}"', '  allow = [ { ou = "services" } ]', ""])

    path.write_text("\n".join([
        listener("grpc", "grpc", ['alpn = ["h2", "http/1.1"]']),
        listener("no-alpn", "grpc", []),
        listener("pp2", "recorder", ['alpn = ["h2", "http/1.1"]', 'proxy_protocol = "v2"']),
        listener("http", "recorder", ['mode = "http"']),
        "[[upstream]]", 'name = "grpc"', f'endpoints = ["127.0.0.1:{grpc_port}"]', "",
        "[[upstream]]", 'name = "recorder"', f'endpoints = ["127.0.0.1:{recorder_port}"]', "",
        "[admin]", 'listen = "off"', "", "[server]", "workers = 1", ""]))


def channel(pki, port, certificate=True):
    credentials = grpc.ssl_channel_credentials(
        root_certificates=pki.root.read_bytes(),
        private_key=pki.key.read_bytes() if certificate else None,
        certificate_chain=pki.chain.read_bytes() if certificate else None)
    return grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=[("grpc.ssl_target_name_override", SITE)])


def grpc_calls_pass(pki, proxy):
    mark = proxy.mark()
    with channel(pki, proxy.ports["grpc"]) as ch:
        unary = ch.unary_unary(f"/{SERVICE}/Unary")
        reply, call = unary.with_call(b"hello", metadata=(("x-caller", "billing"),), timeout=10)
        check(reply == b"echo:hello caller:billing", f"unary call answered {reply!r}")
        check(("x-upstream-trailer", "kept") in call.trailing_metadata(),
              f"the upstream's trailers did not arrive: {call.trailing_metadata()}")
        counted = list(ch.unary_stream(f"/{SERVICE}/Count")(b"5", timeout=10))
        check(counted == [b"0", b"1", b"2", b"3", b"4"], f"server streaming gave {counted}")
        chatted = list(ch.stream_stream(f"/{SERVICE}/Chat")(iter([b"a", b"b", b"c"]), timeout=10))
        check(chatted == [b"echo:a", b"echo:b", b"echo:c"], f"bidirectional streaming gave {chatted}")
    line = proxy.line_since(mark, "grpc")
    check(line.get("decision") == "allow" and line.get("alpn") == "h2",
          f"the access log does not say h2 was negotiated for an allowed client: {line}")
    print("gRPC unary, server streaming and bidirectional calls pass through with h2", flush=True)


def grpc_refused(pki, proxy, listener, certificate, want_reason, want_details=""):
    mark = proxy.mark()
    with channel(pki, proxy.ports[listener], certificate) as ch:
        try:
            ch.unary_unary(f"/{SERVICE}/Unary")(b"hello", timeout=10)
            fail(f"{listener}: a gRPC call passed (certificate: {certificate})")
            return
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.UNAVAILABLE and want_details in e.details(),
                  f"{listener}: the call failed with {e.code()}: {e.details()}")
            print(f"{listener}: the gRPC client fails as it should: {e.details()}", flush=True)
    if want_reason:
        line = proxy.line_since(mark, listener)
        check(line.get("reason") == want_reason, f"{listener}: the access log's reason is not {want_reason}: {line}")


def curl_sees_h2(pki, proxy):
    port = proxy.ports["grpc"]
    done = subprocess.run(["curl", "-sv", "--http2", "--max-time", "10", "--cacert", pki.root, "--cert", pki.chain,
                           "--key", pki.key, "--resolve", f"{SITE}:{port}:127.0.0.1",
                           f"https://{SITE}:{port}/{SERVICE}/Unary"], capture_output=True, text=True)
    check("ALPN: server accepted h2" in done.stderr, f"curl --http2 did not see h2 accepted:\n{done.stderr}")


def handshake(pki, port, alpn, payload=b"ping"):
    """(the protocol chosen, what came back) for a TLS client offering `alpn` (None: no ALPN)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with pki.client_context(alpn).wrap_socket(raw, server_hostname=SITE) as tls:
            tls.sendall(payload)
            echoed = b""
            while len(echoed) < len(payload) and (chunk := tls.recv(4096)):
                echoed += chunk
            return tls.selected_alpn_protocol(), echoed


def alpn_choices(pki, proxy, recorder):
    """Our order wins; PROXY v2 and the access log carry what was chosen; no ALPN still connects."""
    for offer, want in [(["h2", "http/1.1"], "h2"), (["http/1.1", "h2"], "h2"), (["http/1.1"], "http/1.1"),
                        (None, None)]:
        mark = proxy.mark()
        chosen, echoed = handshake(pki, proxy.ports["pp2"], offer)
        check(chosen == want, f"offering {offer}: {chosen!r} was chosen, not {want!r}")
        check(echoed == b"ping", f"offering {offer}: the upstream echoed {echoed!r}")
        tlv = recorder.alpns.get(timeout=10)
        check(tlv == want, f"offering {offer}: PROXY v2's ALPN TLV is {tlv!r}, not {want!r}")
        line = proxy.line_since(mark, "pp2")
        check(line.get("alpn") == want, f"offering {offer}: the access log's alpn is {line.get('alpn')!r}: {line}")
    print("our order wins; PROXY v2 and the access log carry the protocol chosen; no ALPN connects", flush=True)


def foreign_protocol_refused(pki, proxy):
    mark = proxy.mark()
    try:
        handshake(pki, proxy.ports["grpc"], ["imap", "pop3"])
        fail("a client offering only imap and pop3 was let through")
    except ssl.SSLError as e:
        told = f"{e.reason} {e}".upper().replace(" ", "_")  # "tlsv1 alert no application protocol"
        check("NO_APPLICATION_PROTOCOL" in told, f"the client was not told no_application_protocol: {e}")
    line = proxy.line_since(mark, "grpc")
    check(line.get("reason") == "protocol_error" and 'offered ALPN "imap", "pop3"' in line.get("detail", "")
          and '"h2", "http/1.1"' in line.get("detail", ""),
          f"the access log does not explain the ALPN refusal: {line}")
    print("a client offering none of our protocols gets no_application_protocol", flush=True)


def http_mode_goes_on_without_alpn(pki, proxy):
    """http mode offers h2 then http/1.1; a client offering neither still completes its handshake there."""
    for offer, want in [(["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1"), (["spdy/3"], None)]:
        with socket.create_connection(("127.0.0.1", proxy.ports["http"]), timeout=10) as raw:
            with pki.client_context(offer).wrap_socket(raw, server_hostname=SITE) as tls:
                check(tls.selected_alpn_protocol() == want,
                      f"http mode, offering {offer}: {tls.selected_alpn_protocol()!r} was chosen, not {want!r}")


def main():
    gatehouse = Path(sys.argv[1]).resolve()
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # its handshake failures are expected here
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pki = Pki(gatehouse, work)
        server, grpc_port = grpc_upstream()
        recorder = Recorder()
        threading.Thread(target=recorder.serve_forever, daemon=True).start()
        write_config(work / "gatehouse.toml", grpc_port, recorder.server_address[1])
        proxy = RunningProxy(gatehouse, work / "gatehouse.toml")
        try:
            grpc_calls_pass(pki, proxy)
            grpc_refused(pki, proxy, "grpc", certificate=False, want_reason="no_certificate")
            # grpc-core refuses a TLS peer that chose no ALPN: what the `alpn` key is for.
            grpc_refused(pki, proxy, "no-alpn", certificate=True, want_reason=None,
                         want_details="missing selected ALPN property")
            curl_sees_h2(pki, proxy)
            alpn_choices(pki, proxy, recorder)
            foreign_protocol_refused(pki, proxy)
            http_mode_goes_on_without_alpn(pki, proxy)
        finally:
            proxy.stop()
            recorder.shutdown()
            server.stop(None)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
