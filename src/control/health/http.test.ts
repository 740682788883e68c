import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { HttpChecker, buildRequest, parseStatusCodes, type HttpCheckOptions, type HttpUrl } from './http.js';
import { activeHandles, closedTcpPort, handlesSettle, loopback, tcpServer, within } from './test-helpers.js';

// md5("hello world"), the well-known test vector.
const HELLO_MD5 = '5eb63bbbe01eeed093cb22bb8f5acdc3';

let server: http.Server;
let port = 0;
const sockets = new Set<net.Socket>();

before(async () => {
  server = http.createServer((req, res) => {
    switch (req.url) {
      case '/ok':
        res.end('hello world');
        break;
      case '/503':
        res.writeHead(503).end('busy');
        break;
      case '/moved':
        res.writeHead(301, { Location: '/ok' }).end();
        break;
      case '/chunked':
        res.write('hello ');
        res.end('world');
        break;
      case '/slow':
        break; // never answers
      default:
        res.writeHead(404).end('not found');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

function checker(urls: HttpUrl[], extra: Partial<HttpCheckOptions> = {}): HttpChecker {
  return new HttpChecker({ target: loopback(port), urls, ...extra });
}

test('HTTP_GET sends keepalived\'s request for each http_protocol and Host rule (spec §7.3 HTTP_GET)', async () => {
  const cases: { name: string; opts: Partial<HttpCheckOptions>; url: HttpUrl; want: (p: number) => string }[] = [
    { name: '1.0 default, Host ip:port', opts: {}, url: { path: '/a' },
      want: (p) => `GET /a HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:${p}\r\n\r\n` },
    { name: '1.0C adds Connection: close', opts: { httpProtocol: '1.0C' }, url: { path: '/b' },
      want: (p) => `GET /b HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:${p}\r\n\r\n` },
    { name: '1.1 with Connection: close and virtualhost', opts: { httpProtocol: '1.1', virtualhost: 'www.example.test' }, url: { path: '/c' },
      want: () => 'GET /c HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.test\r\n\r\n' },
    { name: 'url virtualhost wins over the checker\'s', opts: { virtualhost: 'outer.test' }, url: { path: '/d', virtualhost: 'inner.test' },
      want: () => 'GET /d HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: inner.test\r\n\r\n' },
  ];
  for (const c of cases) {
    let got = '';
    const raw = await tcpServer((s) => {
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        got += d;
        if (got.includes('\r\n\r\n')) s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    try {
      const r = await new HttpChecker({ target: loopback(raw.port), urls: [c.url], ...c.opts }).check(within(5000));
      assert.equal(r.ok, true, `${c.name}: ${r.detail}`);
      assert.equal(got, c.want(raw.port), c.name);
    } finally {
      await raw.close();
    }
  }
  assert.equal(buildRequest('/x', '1.0', 'h'), 'GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: h\r\n\r\n');
});

test('HTTP_GET status codes: default 200-299, explicit lists and ranges (spec §7.3 HTTP_GET)', async () => {
  const rows: { url: HttpUrl; ok: boolean; detail?: string }[] = [
    { url: { path: '/ok' }, ok: true },
    { url: { path: '/503' }, ok: false, detail: '/503: HTTP status 503 not in 200-299' },
    { url: { path: '/moved' }, ok: false, detail: '/moved: HTTP status 301 not in 200-299' },
    { url: { path: '/moved', statusCodes: [301] }, ok: true },
    { url: { path: '/503', statusCodes: [200, [500, 503]] }, ok: true },
    { url: { path: '/nope', statusCodes: parseStatusCodes('200 201-299') }, ok: false, detail: '/nope: HTTP status 404 not in 200 201-299' },
  ];
  for (const row of rows) {
    const r = await checker([row.url]).check(within(5000));
    assert.equal(r.ok, row.ok, `${row.url.path}: ${r.detail}`);
    if (row.detail) assert.equal(r.detail, `HTTP_GET http://127.0.0.1:${port}: ${row.detail}`);
  }
});

test('HTTP_GET digest: MD5 of the body must equal the configured digest (spec §7.3 genhash)', async () => {
  assert.equal((await checker([{ path: '/ok', digest: HELLO_MD5 }]).check(within(5000))).ok, true);
  assert.equal((await checker([{ path: '/ok', digest: HELLO_MD5.toUpperCase() }]).check(within(5000))).ok, true);
  // A chunked body is hashed after decoding: the same bytes give the same digest.
  assert.equal((await checker([{ path: '/chunked', digest: HELLO_MD5 }], { httpProtocol: '1.1' }).check(within(5000))).ok, true);
  const bad = await checker([{ path: '/ok', digest: '0'.repeat(32) }]).check(within(5000));
  assert.equal(bad.ok, false);
  assert.equal(bad.detail, `HTTP_GET http://127.0.0.1:${port}: /ok: MD5 digest ${HELLO_MD5} does not match ${'0'.repeat(32)}`);
});

test('HTTP_GET decodes a chunked body before hashing and finishes at the last chunk without waiting for close', async () => {
  const raw = await tcpServer((s) => {
    s.once('data', () => s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\n\r\n'));
  });
  try {
    const r = await new HttpChecker({ target: loopback(raw.port), urls: [{ path: '/', digest: HELLO_MD5 }], httpProtocol: '1.1' }).check(within(5000));
    assert.equal(r.ok, true, r.detail);
  } finally {
    await raw.close();
  }
});

test('HTTP_GET regex and regex_no_match on the body (spec §7.3 HTTP_GET)', async () => {
  assert.equal((await checker([{ path: '/ok', regex: 'hel+o\\s+w' }]).check(within(5000))).ok, true);
  const miss = await checker([{ path: '/ok', regex: 'goodbye' }]).check(within(5000));
  assert.equal(miss.ok, false);
  assert.equal(miss.detail, `HTTP_GET http://127.0.0.1:${port}: /ok: body does not match regex /goodbye/`);
  assert.equal((await checker([{ path: '/ok', regex: 'goodbye', regexNoMatch: true }]).check(within(5000))).ok, true);
  const inverted = await checker([{ path: '/ok', regex: 'world', regexNoMatch: true }]).check(within(5000));
  assert.equal(inverted.ok, false);
  assert.match(inverted.detail, /body matches regex \/world\/ \(regex_no_match\)$/);
});

test('HTTP_GET needs every url to pass; the first failing one is named (spec §7.3)', async () => {
  const both = await checker([{ path: '/ok' }, { path: '/moved', statusCodes: [301] }]).check(within(5000));
  assert.equal(both.ok, true, both.detail);
  assert.equal(both.detail, `HTTP_GET http://127.0.0.1:${port}: /ok 200, /moved 301`);
  const second = await checker([{ path: '/ok' }, { path: '/503' }]).check(within(5000));
  assert.equal(second.ok, false);
  assert.equal(second.detail, `HTTP_GET http://127.0.0.1:${port}: /503: HTTP status 503 not in 200-299`);
});

test('HTTP_GET fails on refused connections and on a server that never answers (connect_timeout)', async () => {
  const closed = await closedTcpPort();
  const refused = await new HttpChecker({ target: loopback(closed), urls: [{ path: '/' }] }).check(within(5000));
  assert.equal(refused.detail, `HTTP_GET http://127.0.0.1:${closed}: connection refused`);
  const slow = await checker([{ path: '/slow' }]).check(within(300));
  assert.equal(slow.ok, false);
  assert.equal(slow.detail, `HTTP_GET http://127.0.0.1:${port}: timed out`);
});

test('HTTP_GET fails when the server closes without a response', async () => {
  const raw = await tcpServer((s) => s.end());
  try {
    const r = await new HttpChecker({ target: loopback(raw.port), urls: [{ path: '/' }] }).check(within(5000));
    assert.equal(r.ok, false);
    assert.equal(r.detail, `HTTP_GET http://127.0.0.1:${raw.port}: /: connection closed without a response`);
  } finally {
    await raw.close();
  }
});

test('HTTP_GET leaves no socket behind, also when aborted mid-response', async () => {
  const baseline = activeHandles();
  await checker([{ path: '/ok' }]).check(new AbortController().signal);
  const c = new AbortController();
  const p = checker([{ path: '/slow' }]).check(c.signal);
  setTimeout(() => c.abort(new Error('stop')), 50);
  const r = await p;
  assert.equal(r.detail, `HTTP_GET http://127.0.0.1:${port}: aborted`);
  for (const s of sockets) s.destroy(); // the server's side of /slow
  const left = await handlesSettle(baseline);
  assert.ok(left <= baseline, `${left} handles left, ${baseline} before`);
});

test('HTTP_GET validates urls at construction', () => {
  assert.throws(() => checker([]), /'urls' must not be empty/);
  assert.throws(() => checker([{ path: 'ok' }]), /url 'path' must start with \//);
  assert.throws(() => checker([{ path: '/', digest: 'abc' }]), /url 'digest' must be 32 hex digits/);
  assert.throws(() => checker([{ path: '/', regex: '(' }]), /url 'regex' does not compile/);
  assert.throws(() => parseStatusCodes('200 299-200'), /current value is "299-200"/);
  assert.deepEqual(parseStatusCodes('200 201-299'), [200, [201, 299]]);
});
