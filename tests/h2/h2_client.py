"""Two HTTP/2 clients for the tests, on Debian's python3-h2 (hyper-h2, hpack, hyperframe):

- H2Client, a well-behaved client (hyper-h2's state machine): requests on one connection, and
  each stream's response headers, body, trailers or reset;
- RawH2, a client that sends whatever frames it is told, in any order (the attacks), and reads
  what comes back up to the GOAWAY.
"""
import socket
import ssl

import h2.config
import h2.connection
import h2.events
import hpack
from hyperframe.frame import Frame, GoAwayFrame, SettingsFrame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def connect(port, sni, context, alpn=("h2",)):
    context.set_alpn_protocols(list(alpn))
    tls = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20), server_hostname=sni)
    return tls


class Response:
    def __init__(self):
        self.headers, self.informational, self.body, self.trailers = {}, [], b"", {}
        self.reset, self.ended = None, False

    @property
    def status(self):
        return int(self.headers.get(":status", "0"))


class H2Client:
    def __init__(self, port, sni, context, validate=True):
        self.tls = connect(port, sni, context)
        if self.tls.selected_alpn_protocol() != "h2":
            raise RuntimeError("ALPN chose " + str(self.tls.selected_alpn_protocol()))
        # validate=False: it sends what HTTP/2 forbids (CR LF in a value, a space in :path), as an attacker would.
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=validate,
                                           normalize_outbound_headers=validate)
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        self.responses, self.goaway = {}, None
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.tls.sendall(data)

    def request(self, authority, path, method="GET", headers=(), body=None):
        sid = self.conn.get_next_available_stream_id()
        fields = [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path), *headers]
        self.conn.send_headers(sid, fields, end_stream=body is None)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=True)
        self.responses[sid] = Response()
        self.flush()
        return sid

    def read_until(self, done):
        """Reads and handles frames until done() (or the connection went away)."""
        while not done() and self.goaway is None:
            data = self.tls.recv(65536)
            if not data:
                break
            for event in self.conn.receive_data(data):
                self.on(event)
            self.flush()

    def wait(self, *sids):
        """Reads until every stream in `sids` ended or was reset (or the connection went away)."""
        self.read_until(lambda: all(self.responses[s].ended or self.responses[s].reset is not None for s in sids))
        return [self.responses[s] for s in sids]

    def wait_for_head(self, sid):
        """Reads until stream `sid`'s response head arrived (or it was reset)."""
        r = self.responses[sid]
        self.read_until(lambda: r.headers or r.reset is not None)

    def until_goaway(self):
        """Reads until the server's GOAWAY (its error code) or the end of the connection (None)."""
        while self.goaway is None:
            try:
                data = self.tls.recv(65536)
            except OSError:
                break
            if not data:
                break
            for event in self.conn.receive_data(data):
                self.on(event)
        return self.goaway

    def get(self, authority, path, **kw):
        return self.wait(self.request(authority, path, **kw))[0]

    def on(self, e):
        r = self.responses.get(getattr(e, "stream_id", None))
        if isinstance(e, h2.events.ResponseReceived):
            r.headers = dict(e.headers)
        elif isinstance(e, h2.events.InformationalResponseReceived):
            r.informational.append(dict(e.headers))
        elif isinstance(e, h2.events.DataReceived):
            r.body += e.data
            self.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.TrailersReceived):
            r.trailers = dict(e.headers)
        elif isinstance(e, h2.events.StreamEnded):
            r.ended = True
        elif isinstance(e, h2.events.StreamReset):
            r.reset = e.error_code
        elif isinstance(e, h2.events.ConnectionTerminated):
            self.goaway = e.error_code

    def close(self):
        self.tls.close()


class RawH2:
    """Frames as bytes, sent as told; hpack's encoder for header blocks."""

    def __init__(self, port, sni, context):
        self.tls = connect(port, sni, context)
        self.encoder = hpack.Encoder()
        self.tls.sendall(PREFACE + SettingsFrame(0).serialize())

    def block(self, authority, path, extra=()):
        return self.encoder.encode([(":method", "GET"), (":scheme", "https"), (":authority", authority),
                                    (":path", path), *extra])

    def send(self, *frames):
        try:
            self.tls.sendall(b"".join(f.serialize() if hasattr(f, "serialize") else f for f in frames))
            return True
        except OSError:  # the proxy closed first: what it sent before is still to be read
            return False

    def goaway(self):
        """The error code of the GOAWAY that comes back (None: closed without one)."""
        buffer = b""
        while True:
            try:
                data = self.tls.recv(65536)
            except (OSError, ssl.SSLError):
                data = b""
            if not data:
                return None
            buffer += data
            while len(buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(buffer[:9]))
                if len(buffer) < 9 + length:
                    break
                frame.parse_body(memoryview(buffer[9:9 + length]))
                buffer = buffer[9 + length:]
                if isinstance(frame, GoAwayFrame):
                    return frame.error_code

    def close(self):
        self.tls.close()
