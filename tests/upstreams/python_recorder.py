#!/usr/bin/env python3
"""A real Python http.server application for the boundary tests.

It is the standard library's BaseHTTPRequestHandler, used the way small apps and CGI-style
frameworks use it: headers read with http.client's (lenient) parser, the body read by its
Content-Length, or chunk by chunk when Transfer-Encoding says chunked. Every request it accepts
is recorded (method, path, headers as received, trailers, body length) as one JSON line in the
file given as argv[1], then answered with that JSON. Listens on 127.0.0.1 port 0 and prints the
port first. An Upgrade to /wrong-upgrade is answered 101 naming h2c; another Upgrade gets a 101
for what was asked, then an echo tunnel.
"""
import base64
import hashlib
import json
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]


def record(entry):
    with open(OUT, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def read_body(self):
        trailers = []
        te = self.headers.get("Transfer-Encoding", "")
        if te.strip().lower() == "chunked":
            body = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    break
                body += self.rfile.read(size)
                self.rfile.readline(65537)
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                trailers.append([name, value.strip()])
            return body, trailers
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length), trailers

    def handle_any(self):
        entry = {"method": self.command, "url": self.path, "version": self.request_version,
                 "headers": [[k, v] for k, v in self.headers.items()]}
        if self.headers.get("Upgrade"):
            entry.update(trailers=[], body_bytes=0, upgrade=True)
            record(entry)
            if self.path.startswith("/wrong-upgrade"):
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
            else:
                key = self.headers.get("Sec-WebSocket-Key", "")
                accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + self.headers["Upgrade"].encode() +
                                 b"\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.wfile.flush()
            while True:
                data = self.rfile.read1(65536)
                if not data:
                    break
                self.wfile.write(data)
                self.wfile.flush()
            self.close_connection = True
            return
        body, trailers = self.read_body()
        entry.update(trailers=trailers, body_bytes=len(body))
        record(entry)
        text = json.dumps(entry).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a peer that resets: nothing to record
        pass


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Recorder)
    print(server.server_address[1], flush=True)
    server.serve_forever()
