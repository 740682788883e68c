/* eslint-disable @typescript-eslint/no-require-imports -- copied verbatim from the shared peer benchmark (CommonJS) */
'use strict';
// Naive L4 (TCP) round-robin load balancer: net.createServer + socket.pipe.
// This is the baseline a TypeScript load balancer would start from.
//
// usage: node lb-node.js LISTEN=BACKEND[,BACKEND...] [LISTEN=BACKEND...]
//   e.g. node lb-node.js 127.0.0.1:9103=127.0.0.2:8081,127.0.0.3:8082 127.0.0.1:9203=127.0.0.4:5201
const net = require('net');

function hostPort(s) {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

const specs = process.argv.slice(2);
if (specs.length === 0) {
  console.error('usage: node lb-node.js LISTEN=BACKEND[,BACKEND...] ...');
  process.exit(2);
}

for (const spec of specs) {
  const [l, b] = spec.split('=');
  const listen = hostPort(l);
  const backends = b.split(',').map(hostPort);
  let next = 0;

  const server = net.createServer((client) => {
    const be = backends[next];
    next = (next + 1) % backends.length;
    const upstream = net.connect(be.port, be.host);
    // nginx (tcp_nodelay on) and HAProxy also disable Nagle on both sides
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const destroyBoth = () => { client.destroy(); upstream.destroy(); };
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.on('error', (e) => { console.error(`listen ${l}: ${e.message}`); process.exit(1); });
  server.listen({ host: listen.host, port: listen.port, backlog: 4096 }, () => {
    console.error(`lb-node: ${l} -> ${b}`);
  });
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
