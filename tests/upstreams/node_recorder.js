// A real Node.js 20 `http` server for the boundary tests: records every request its parser
// accepts (method, url, raw headers, raw trailers, body length) as one JSON line in the file given
// as argv[2], before answering it with the same JSON. Listens on 127.0.0.1 port 0 and prints the
// port on its first line of output. An Upgrade to /wrong-upgrade is answered 101 naming h2c (a
// protocol nobody asked for); any other Upgrade gets a 101 for what was asked and an echo tunnel.
'use strict';
const http = require('http');
const fs = require('fs');
const crypto = require('crypto');

const out = process.argv[2];
function record(entry) { fs.appendFileSync(out, JSON.stringify(entry) + '\n'); }
function pairs(raw) { const p = []; for (let i = 0; i + 1 < raw.length; i += 2) p.push([raw[i], raw[i + 1]]); return p; }

const server = http.createServer((req, res) => {
  let body = 0;
  req.on('data', (d) => { body += d.length; });
  req.on('end', () => {
    const entry = { method: req.method, url: req.url, version: req.httpVersion, headers: pairs(req.rawHeaders),
                    trailers: pairs(req.rawTrailers), body_bytes: body };
    record(entry);
    const text = JSON.stringify(entry);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
});

server.on('upgrade', (req, socket, head) => {
  record({ method: req.method, url: req.url, version: req.httpVersion, headers: pairs(req.rawHeaders), trailers: [],
           body_bytes: 0, upgrade: true });
  const asked = req.headers['upgrade'] || '';
  if (req.url.startsWith('/wrong-upgrade')) {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n');
  } else {
    const key = req.headers['sec-websocket-key'] || '';
    const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: ' + asked + '\r\nConnection: Upgrade\r\n' +
                 'Sec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  }
  if (head && head.length) socket.write(head);
  socket.on('data', (d) => socket.write(d));
  socket.on('end', () => socket.end());
  socket.on('error', () => socket.destroy());
});

server.on('clientError', (err, socket) => {
  record({ error: err.code || String(err) });
  socket.destroy();
});

server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => { process.stdout.write(server.address().port + '\n'); });
process.on('SIGTERM', () => process.exit(0));
