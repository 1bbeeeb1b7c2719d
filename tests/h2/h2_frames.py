"""An HTTP/2 client at the frame level, for the lifecycle tests (tests/h2/h2_lifecycle_test.py):
it goes on sending after the server's GOAWAY (hyper-h2 treats a GOAWAY as the end of the
connection and refuses to send anything more, when HTTP/2 lets the streams at or below the
GOAWAY's last-stream-id finish), and it records every frame it receives, so a test can wait for
a condition (a WINDOW_UPDATE, a GOAWAY, a stream's end, the end of the connection) instead of
sleeping. Flow control is kept: sends stay within the windows the server granted, and every DATA
received is handed back at once. Built on Debian's python3-hyperframe and python3-hpack.
"""
import socket
import ssl

import hpack
from hyperframe.frame import (DataFrame, Frame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame,
                              SettingsFrame, WindowUpdateFrame)

from h2_client import PREFACE, connect

INITIAL_WINDOW = 65535


class Stream:
    def __init__(self):
        self.headers, self.body, self.trailers = {}, b"", {}
        self.ended, self.reset = False, None
        self.window, self.granted = INITIAL_WINDOW, 0  # what we may send; WINDOW_UPDATE bytes received

    @property
    def status(self):
        return int(self.headers.get(":status", "0"))


class FrameClient:
    def __init__(self, port, sni, context):
        self.tls = connect(port, sni, context)
        if self.tls.selected_alpn_protocol() != "h2":
            raise RuntimeError("ALPN chose " + str(self.tls.selected_alpn_protocol()))
        self.encoder, self.decoder = hpack.Encoder(), hpack.Decoder()
        self.streams, self.next_id = {}, 1
        self.goaway = None  # (error code, last stream id) of the server's GOAWAY
        self.closed = False  # the server ended the connection (EOF or a reset)
        self.settings_seen, self.connection_window, self.initial_window = False, INITIAL_WINDOW, INITIAL_WINDOW
        self.buffer, self.block = b"", None  # bytes not yet a whole frame; a header block awaiting CONTINUATION
        self.tls.sendall(PREFACE + SettingsFrame(0).serialize())
        self.wait(lambda: self.settings_seen and self.connection_window > INITIAL_WINDOW)

    # Sending.
    def send(self, *frames):
        self.tls.sendall(b"".join(f.serialize() for f in frames))

    def open(self, authority, path, method="GET", headers=(), end=True):
        """A new stream (HEADERS); its id."""
        sid, self.next_id = self.next_id, self.next_id + 2
        self.streams[sid] = Stream()
        self.streams[sid].window = self.initial_window
        block = self.encoder.encode([(":method", method), (":scheme", "https"), (":authority", authority),
                                     (":path", path), *headers])
        self.send(HeadersFrame(sid, data=block, flags=["END_HEADERS"] + (["END_STREAM"] if end else [])))
        return sid

    def data(self, sid, payload, end=False):
        """DATA within the windows the server granted (asserted, not waited for: tests stay below them)."""
        s = self.streams[sid]
        if len(payload) > min(s.window, self.connection_window):
            raise RuntimeError(f"{len(payload)} bytes exceed the windows ({s.window}, {self.connection_window})")
        s.window -= len(payload)
        self.connection_window -= len(payload)
        frames = [DataFrame(sid, data=payload[i:i + 16384]) for i in range(0, len(payload), 16384)] or [DataFrame(sid)]
        if end:
            frames[-1].flags.add("END_STREAM")
        self.send(*frames)

    def get(self, authority, path):
        sid = self.open(authority, path)
        self.wait(lambda: self.done(sid))
        return self.streams[sid]

    # Receiving.
    def done(self, sid):
        s = self.streams[sid]
        return s.ended or s.reset is not None or self.closed

    def wait(self, condition):
        """Reads frames until `condition()` holds, the connection ends, or nothing came for 20 s (the
        socket's timeout: a test waiting for what never comes fails instead of hanging); returns
        condition()."""
        while not condition() and not self.closed:
            try:
                data = self.tls.recv(65536)
            except socket.timeout:
                break
            except (ConnectionError, ssl.SSLError):
                data = b""
            if not data:
                self.closed = True
                break
            self.buffer += data
            while len(self.buffer) >= 9:
                frame, length = Frame.parse_frame_header(memoryview(self.buffer[:9]))
                if len(self.buffer) < 9 + length:
                    break
                frame.parse_body(memoryview(self.buffer[9:9 + length]))
                self.buffer = self.buffer[9 + length:]
                self.on(frame)
        return condition()

    def on(self, f):
        s = self.streams.get(f.stream_id)
        if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
            self.settings_seen = True
            new = f.settings.get(SettingsFrame.INITIAL_WINDOW_SIZE)
            if new is not None:
                for st in self.streams.values():
                    st.window += new - self.initial_window
                self.initial_window = new
            self.send(SettingsFrame(0, flags=["ACK"]))
        elif isinstance(f, PingFrame) and "ACK" not in f.flags:
            self.send(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]))
        elif isinstance(f, WindowUpdateFrame):
            if f.stream_id == 0:
                self.connection_window += f.window_increment
            elif s:
                s.window += f.window_increment
                s.granted += f.window_increment
        elif isinstance(f, GoAwayFrame):
            self.goaway = (f.error_code, f.last_stream_id)
        elif isinstance(f, RstStreamFrame) and s:
            s.reset = f.error_code
        elif isinstance(f, HeadersFrame) or (self.block is not None and f.type == 0x9):  # CONTINUATION
            self.block = (self.block or b"") + f.data
            if "END_HEADERS" in f.flags:
                fields = dict(self.decoder.decode(self.block, raw=False))
                self.block = None
                if s is not None:
                    if s.headers and not fields.get(":status"):
                        s.trailers = fields
                    elif not fields.get(":status", "").startswith("1"):
                        s.headers = fields
            if s is not None and "END_STREAM" in f.flags:
                s.ended = True
        elif isinstance(f, DataFrame):
            if f.flow_controlled_length:
                self.send(WindowUpdateFrame(0, window_increment=f.flow_controlled_length),
                          *([WindowUpdateFrame(f.stream_id, window_increment=f.flow_controlled_length)]
                            if "END_STREAM" not in f.flags else []))
            if s is not None:
                s.body += f.data
                s.ended = s.ended or "END_STREAM" in f.flags

    def close(self):
        try:
            self.tls.close()
        except OSError:
            pass

