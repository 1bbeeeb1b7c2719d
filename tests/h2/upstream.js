// The HTTP/1.1 upstream of the HTTP/2 tests: a real Node.js `http` server. Every request is
// answered with JSON saying what arrived (method, url, raw headers, trailers, body length and
// SHA-256); /big?n=N answers N bytes (with their SHA-256 in x-sha256); /trailers answers chunked
// with an x-checksum trailer; /early answers 200 before reading the body; /one-per-connection
// answers a connection's first request there and closes the connection at the next; /unasked
// answers, then /write-stray writes a second, unasked answer on /unasked's connection. Listens on 127.0.0.1
// port 0 and prints the port on its first line.
'use strict';
const http = require('http');
const crypto = require('crypto');

function pairs(raw) { const p = []; for (let i = 0; i + 1 < raw.length; i += 2) p.push([raw[i], raw[i + 1]]); return p; }

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 10)) & 0xff;
  return b;
}

let strayTarget = null;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/big') {
    const body = pattern(Number(url.searchParams.get('n') || '1048576'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length,
                         'x-sha256': crypto.createHash('sha256').update(body).digest('hex') });
    res.end(body);
    return;
  }
  if (url.pathname === '/one-per-connection') {
    // An upstream whose idle timeout meets the request: a connection's first request here is
    // answered; a later one finds the connection closing, with no answer.
    req.socket.servedHere = (req.socket.servedHere || 0) + 1;
    if (req.socket.servedHere > 1) {
      req.socket.destroy();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2, 'connection': 'keep-alive' });
    res.end('ok');
    return;
  }
  if (url.pathname === '/unasked') {
    // Answered, and its connection kept for /write-stray to write a second, unasked answer on.
    strayTarget = req.socket;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5, 'connection': 'keep-alive' });
    res.end('first');
    return;
  }
  if (url.pathname === '/write-stray') {
    // Answers once the stray bytes are in the proxy's socket (loopback: the write is delivered).
    if (!strayTarget || strayTarget.destroyed) {  // asked before /unasked: a clear answer, not a crash
      res.writeHead(409, { 'content-type': 'text/plain', 'content-length': 15 });
      res.end('no /unasked yet');
      return;
    }
    strayTarget.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nstray', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 7 });
      res.end('written');
    });
    return;
  }
  if (url.pathname === '/early') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 });
    res.end('early');
    return;
  }
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  req.on('data', (d) => { bytes += d.length; hash.update(d); });
  req.on('end', () => {
    const entry = { method: req.method, url: req.url, headers: pairs(req.rawHeaders), trailers: pairs(req.rawTrailers),
                    body_bytes: bytes, body_sha256: hash.digest('hex') };
    const text = JSON.stringify(entry);
    if (url.pathname === '/trailers') {
      res.writeHead(200, { 'content-type': 'application/json', 'trailer': 'x-checksum' });
      res.write(text);
      res.addTrailers({ 'x-checksum': 'sum-' + text.length, 'x-dropped': 'never' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text),
                         'connection': 'keep-alive', 'keep-alive': 'timeout=5' });
    res.end(text);
  });
});
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
