import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { buildOpenApi } from './openapi.js';
import { ROUTES } from './routes.js';
import { checkListenSecurity, startApiServer } from './server.js';
import { type TestServer, makeTestDirector, request, startTestServer } from './testing.js';

const TOKEN = 'correct-horse-battery-staple';

/** Waits (bounded) until `cond` holds. */
async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('REST reads: connections, stats, health, timeouts', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    await s.req('POST', '/v1/services', { body: { address: '10.0.0.1', port: 80, realServers: [{ address: '10.0.0.2' }] } });
    const ip = (t: string) => parseIp(t)!;
    s.conns.entries = Array.from({ length: 5 }, (_, i) => ({
      protocol: 'TCP', client: { addr: ip('198.18.0.1'), port: 40000 + i }, virtual: { addr: ip('10.0.0.1'), port: 80 },
      dest: { addr: ip('10.0.0.2'), port: 80 }, state: 'ESTABLISHED', expiresS: 900 - i, isTemplate: false,
    }));
  });
  after(() => s.close());

  test('GET /v1/connections pages in table order', async () => {
    const r = await s.req('GET', '/v1/connections?offset=1&limit=2');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.total, 5);
    assert.deepEqual(r.json.entries, [
      { protocol: 'TCP', client: '198.18.0.1:40001', virtual: '10.0.0.1:80', realServer: '10.0.0.2:80', state: 'ESTABLISHED', expiresS: 899, template: false },
      { protocol: 'TCP', client: '198.18.0.1:40002', virtual: '10.0.0.1:80', realServer: '10.0.0.2:80', state: 'ESTABLISHED', expiresS: 898, template: false },
    ]);
    assert.equal((await s.req('GET', '/v1/connections')).json.limit, 100);
  });

  test('GET /v1/connections refuses bad paging with 400 naming the parameter', async () => {
    for (const [q, field] of [['limit=1001', 'limit'], ['limit=0', 'limit'], ['offset=-1', 'offset'], ['offset=1e3', 'offset'], ['limit=10&limit=20', 'limit'], ['page=2', 'page']]) {
      const r = await s.req('GET', `/v1/connections?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.field, field, q);
    }
  });

  test('GET /v1/stats: totals, per service and per real server, with rates (spec §5.4, §5.8)', async () => {
    const t = s.director.table;
    const svc = t.services()[0];
    const d = svc.destinations[0];
    for (const c of [t.totals, svc.stats, d.stats]) { c.conns += 4; c.inPkts += 40; c.inBytes += 4000; }
    for (const c of [t.totals, svc.stats, d.stats]) c.estimatorStep();
    const r = await s.req('GET', '/v1/stats');
    assert.equal(r.status, 200);
    // One 2 s period with 4 conns: avg = (4*512)/4 = 512 -> (512+511)>>10 = 0 cps; 40 pkts: 5120 -> 5; 4000 B: 16000 -> 500.
    const expect = { conns: 4, inPkts: 40, outPkts: 0, inBytes: 4000, outBytes: 0, rates: { cps: 0, inpps: 5, outpps: 0, inbps: 500, outbps: 0 } };
    assert.deepEqual(r.json.totals, expect);
    assert.deepEqual(r.json.services[0], { id: 'tcp:10.0.0.1:80', ...expect, realServers: [{ id: '10.0.0.2:80', ...expect }] });
  });

  test('GET /v1/health and health inside real servers', async () => {
    const svc = s.director.table.services()[0];
    const d = svc.destinations[0];
    s.setHealth([{ service: svc, dest: d, addr: d.addr, port: d.port, alive: false, checkers: [{ name: 'TCP_CHECK 10.0.0.2:80', up: false, lastDetail: 'connection refused' }] }]);
    const r = await s.req('GET', '/v1/health');
    assert.deepEqual(r.json, { realServers: [{ service: 'tcp:10.0.0.1:80', realServer: '10.0.0.2:80', alive: false, inTable: true, weight: 1, checkers: [{ name: 'TCP_CHECK 10.0.0.2:80', up: false, lastDetail: 'connection refused' }] }] });
    const rs = await s.req('GET', `/v1/services/${encodeURIComponent('tcp:10.0.0.1:80')}/realservers/10.0.0.2%3A80`);
    assert.equal(rs.json.health.alive, false);
  });

  test('GET /v1/timeouts', async () => {
    const r = await s.req('GET', '/v1/timeouts');
    assert.deepEqual(r.json, { tcp: 900, tcpfin: 120, udp: 300 });
  });

  test('GET /metrics and /v1/metrics answer the text format 0.0.4', async () => {
    for (const p of ['/metrics', '/v1/metrics']) {
      const r = await s.req('GET', p);
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      assert.match(r.text, /^node_ipvs_backend_weight\{local_address="10\.0\.0\.1",local_port="80",remote_address="10\.0\.0\.2",remote_port="80",proto="TCP",local_mark=""\} 1$/m);
    }
  });
});

describe('GET /v1/events (Server-Sent Events)', () => {
  test('delivers director events and keep-alives, and unsubscribes when the client goes away', async () => {
    const s = await startTestServer({ eventKeepAliveMs: 30 });
    try {
      const base = s.listenerCount();
      let text = '';
      const req = httpRequest(new URL('/v1/events', s.url), { agent: false });
      const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => { req.on('response', resolve); req.on('error', reject); req.end(); });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('error', () => {});
      await until(() => text.includes(': connected'), 'the stream to open');
      assert.equal(s.listenerCount(), base + 1);
      s.director.emit('health', 'real server 10.0.0.2:80 of tcp:10.0.0.1:80 is down', { alive: false });
      await until(() => text.includes('event: health'), 'the event');
      const block = text.slice(text.indexOf('id: '));
      const m = /^id: (\d+)\nevent: health\ndata: (.*)\n\n/.exec(block);
      assert.ok(m, block);
      const data = JSON.parse(m[2]);
      assert.equal(data.kind, 'health');
      assert.equal(data.message, 'real server 10.0.0.2:80 of tcp:10.0.0.1:80 is down');
      assert.deepEqual(data.data, { alive: false });
      await until(() => text.includes(': keep-alive\n\n'), 'a keep-alive comment');
      req.destroy();
      await until(() => s.listenerCount() === base, 'the stream to unsubscribe');
      assert.equal(s.server.server.listenerCount('request'), 1);
    } finally { await s.close(); }
  });

  test('more streams than maxEventStreams get 503; close() ends open streams', async () => {
    const s = await startTestServer({ maxEventStreams: 1 });
    const base = s.listenerCount();
    const req = httpRequest(new URL('/v1/events', s.url), { agent: false });
    const ended = new Promise<void>((resolve) => req.on('response', (res) => { res.resume(); res.on('end', resolve); res.on('close', resolve); }));
    req.end();
    await until(() => s.listenerCount() === base + 1, 'the first stream');
    const second = await s.req('GET', '/v1/events');
    assert.equal(second.status, 503);
    await s.close();
    await ended;
    // The streams and the metrics' event tally have all unsubscribed.
    assert.equal(s.listenerCount(), 0);
  });
});

describe('dashboard and OpenAPI', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(() => s.close());

  test('GET / answers the page with a strict CSP; its script and style are served', async () => {
    const page = await s.req('GET', '/');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(page.text, /<script src="\/app\.js"><\/script>/);
    assert.match(page.text, /<link rel="stylesheet" href="\/style\.css">/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const js = await s.req('GET', '/app.js');
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(js.text, /\/v1\/events/);
    const css = await s.req('GET', '/style.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await s.req('GET', '/../package.json')).status, 404);
    assert.equal((await s.req('POST', '/', { body: {} })).status, 405);
  });

  test('GET /v1/openapi.json describes every route, and only those', async () => {
    const r = await s.req('GET', '/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.0.3');
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(r.json.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(item)) if (m !== 'parameters') documented.add(`${m.toUpperCase()} ${path}`);
    }
    const served = new Set([...ROUTES.map((x) => `${x.method} ${x.path}`), 'GET /metrics']);
    assert.deepEqual([...documented].sort(), [...served].sort());
    // Every $ref resolves.
    const refs = JSON.stringify(buildOpenApi()).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of new Set(refs)) assert.ok(r.json.components.schemas[ref.split('/').pop()!], ref);
  });
});

describe('API server security', () => {
  test('with a token (forced on loopback) every API request needs it; static assets do not', async () => {
    const s = await startTestServer({ token: TOKEN });
    try {
      const none = await s.req('GET', '/v1/services');
      assert.equal(none.status, 401);
      assert.equal(none.headers['www-authenticate'], 'Bearer realm="tsvs"');
      assert.equal(none.json.error.code, 'unauthorized');
      const wrong = await s.req('GET', '/v1/services', { headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(wrong.status, 401);
      const basic = await s.req('GET', '/metrics', { headers: { authorization: `Basic ${TOKEN}` } });
      assert.equal(basic.status, 401);
      const ok = await s.req('GET', '/v1/services', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.status, 200);
      const metrics = await s.req('GET', '/metrics', { headers: { authorization: `bearer ${TOKEN}` } });
      assert.equal(metrics.status, 200);
      const post = await s.req('POST', '/v1/services', { body: { address: '10.0.0.1', port: 80 } });
      assert.equal(post.status, 401);
      assert.equal(s.director.table.services().length, 0);
      assert.equal((await s.req('GET', '/')).status, 200);
      // With a token, the Host header is not restricted.
      const host = await s.req('GET', '/v1/timeouts', { headers: { authorization: `Bearer ${TOKEN}`, host: 'lb.example.com' } });
      assert.equal(host.status, 200);
    } finally { await s.close(); }
  });

  test('refuses to start off loopback without a token or mTLS, with a clear error', async () => {
    const { director } = await makeTestDirector();
    for (const listen of ['0.0.0.0:0', '[::]:0', '198.18.0.1:9180']) {
      await assert.rejects(startApiServer(director, { listen }), /not a loopback address and nothing protects it: set a bearer token .* or mTLS/);
    }
    await assert.rejects(startApiServer(director, { listen: '0.0.0.0:0', tls: { cert: 'x', key: 'y' } }), /nothing protects it/);
    await assert.rejects(startApiServer(director, { listen: '127.0.0.1:0', token: 'short' }), /token is too short/);
    await assert.rejects(startApiServer(director, { listen: 'lb.example.com:80', token: TOKEN }), /is not "ip:port"/);
    assert.doesNotThrow(() => checkListenSecurity({ listen: '0.0.0.0:9180', token: TOKEN }));
    assert.doesNotThrow(() => checkListenSecurity({ listen: '[::]:9180', tls: { cert: 'c', key: 'k', clientCa: 'ca' } }));
    assert.doesNotThrow(() => checkListenSecurity({ listen: '[::1]:9180' }));
    assert.doesNotThrow(() => checkListenSecurity({ listen: 'localhost:9180' }));
    assert.doesNotThrow(() => checkListenSecurity({}));
  });

  test('without a token only loopback Host headers are answered (no DNS rebinding)', async () => {
    const s = await startTestServer();
    try {
      for (const host of ['evil.example', 'evil.example:9180', '198.18.0.1']) {
        const r = await s.req('GET', '/v1/services', { headers: { host } });
        assert.equal(r.status, 403, host);
      }
      for (const host of ['localhost:9180', '127.0.0.1', '[::1]:9180']) {
        assert.equal((await s.req('GET', '/v1/services', { headers: { host } })).status, 200, host);
      }
    } finally { await s.close(); }
  });

  test('an address already in use is a clear error', async () => {
    const s = await startTestServer();
    try {
      await assert.rejects(startApiServer(s.director, { listen: `127.0.0.1:${s.server.address.port}` }), /Cannot start the API server on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally { await s.close(); }
  });

  test('request() helper sanity: a server answers JSON errors for junk targets', async () => {
    const s = await startTestServer();
    try {
      const r = await request(s.url, 'GET', '/v1/services/%');
      assert.equal(r.status, 400);
    } finally { await s.close(); }
  });
});
