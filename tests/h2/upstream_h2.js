// The HTTP/2 upstream of the upstream tests: a real Node.js `http2` server, over TLS (ALPN h2
// only) with `node upstream_h2.js CERT KEY`, or in plaintext (h2c) with no arguments. Listens on
// 127.0.0.1 port 0 and prints the port on its first line. `CERT KEY http1` serves HTTPS with
// HTTP/1.1 only, for the test of an upstream that is not an HTTP/2 server.
//
// Every HTTP/2 connection gets a number. /who answers JSON: that number, the method, path and
// headers; /trailers the same with an x-checksum trailer; /reset?code=N resets the stream with N
// before answering; /reset-late?code=0|2 sends the head and some body, then resets (NO_ERROR or INTERNAL_ERROR); /hang sends
// its head and nothing more; /closed lists the streams the client (Gatehouse) reset, with their codes; /sessions
// says how many connections were opened and how many are still open; /big?n=N answers N bytes;
// /many-fields answers a head of 1100 fields; /echo answers the request body and its trailers.
'use strict';
const http2 = require('http2');
const fs = require('fs');

let opened = 0, open = 0;
const closedByPeer = [];

function handler(stream, headers) {
  const url = new URL(headers[':path'], 'http://x');
  const session = stream.session.number;
  const who = () => JSON.stringify({ session, method: headers[':method'], path: headers[':path'],
                                     authority: headers[':authority'], scheme: headers[':scheme'], headers });
  stream.on('error', () => {});  // a reset, either side's: recorded below, never fatal
  stream.on('close', () => {
    if (stream.rstCode !== 0 && stream.rstCode !== undefined && !stream.endedByUs)
      closedByPeer.push({ path: headers[':path'], code: stream.rstCode });
  });
  const code = Number(url.searchParams.get('code') || '0');
  const answer = (status, body, extra) => {
    stream.endedByUs = true;
    stream.respond({ ':status': status, 'content-type': 'application/json', ...extra });
    stream.end(body);
  };
  let body = 0;
  stream.on('data', (d) => { body += d.length; });
  switch (url.pathname) {
    case '/reset':
      stream.endedByUs = true;
      stream.close(code);
      return;
    case '/reset-late':
      stream.endedByUs = true;
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      // destroy() resets with NO_ERROR, destroy(error) with INTERNAL_ERROR (close(code) would end gracefully).
      stream.write('partial', () => (code === 0 ? stream.destroy() : stream.destroy(new Error('reset late'))));
      return;
    case '/hang':  // the head, then nothing until the client gives up
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      return;
    case '/big':  // n bytes, for the clients that never read them
      stream.endedByUs = true;
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream' });
      stream.end(Buffer.alloc(Number(url.searchParams.get('n') || '1048576'), 'b'));
      return;
    case '/many-fields': {  // a response head over Gatehouse's limit of fields
      const head = { ':status': 200 };
      for (let i = 0; i < 1100; i++) head['x-f' + i] = 'v';
      return answer(200, 'never seen', head);
    }
    case '/echo':  // the request body as it arrived, and its trailers
      stream.on('trailers', (t) => { stream.requestTrailers = t; });
      stream.on('end', () => {
        stream.endedByUs = true;
        stream.respond({ ':status': 200, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ body: Buffer.concat(stream.chunks || []).toString('latin1'),
                                    trailers: stream.requestTrailers || {} }));
      });
      stream.on('data', (d) => { (stream.chunks = stream.chunks || []).push(d); });
      return;
    case '/closed':
      return answer(200, JSON.stringify(closedByPeer));
    case '/sessions':
      return answer(200, JSON.stringify({ opened, open }));
    case '/trailers':
      stream.endedByUs = true;
      stream.respond({ ':status': 200, 'content-type': 'application/json' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'sum-' + who().length,
                                                            'x-client-cn': 'admin', 'x-not-allowed': 'no' }));
      stream.end(who());
      return;
    default:
      stream.on('end', () => answer(200, JSON.stringify({ ...JSON.parse(who()), body_bytes: body })));
  }
}

const tls = process.argv.length > 3;
if (process.argv[4] === 'http1') {  // HTTPS that speaks HTTP/1.1 only (no ALPN): not an h2 server
  const https = require('https');
  const s = https.createServer({ cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]) },
                               (req, res) => res.end('http/1.1 only'));
  s.listen(0, '127.0.0.1', () => { console.log(s.address().port); });
  return;
}
const server = tls
  ? http2.createSecureServer({ cert: fs.readFileSync(process.argv[2]), key: fs.readFileSync(process.argv[3]),
                               ALPNProtocols: ['h2'] })
  : http2.createServer();
server.on('session', (session) => {
  session.number = ++opened;
  open++;
  session.on('close', () => { open--; });
});
server.on('stream', handler);
server.listen(0, '127.0.0.1', () => { console.log(server.address().port); });
