import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestServer, startTestServer, tableFingerprint } from './testing.js';

const svcPath = (id: string) => `/v1/services/${encodeURIComponent(id)}`;
const WEB = {
  protocol: 'tcp', address: '10.0.0.1', port: 80, scheduler: 'wlc',
  realServers: [{ address: '10.0.0.2', weight: 3 }, { address: '10.0.0.3' }],
};

describe('REST services', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(() => s.close());

  test('POST /v1/services adds a service with its real servers in body order (201, Location)', async () => {
    const r = await s.req('POST', '/v1/services', { body: WEB });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.location, '/v1/services/tcp%3A10.0.0.1%3A80');
    assert.equal(r.json.id, 'tcp:10.0.0.1:80');
    assert.equal(r.json.scheduler, 'wlc');
    assert.deepEqual(r.json.realServers.map((x: { id: string; weight: number; forwarding: string }) => [x.id, x.weight, x.forwarding]),
      [['10.0.0.2:80', 3, 'droute'], ['10.0.0.3:80', 1, 'droute']]);
    const svc = s.director.table.services()[0];
    assert.equal(svc.destinations.length, 2);
  });

  test('GET /v1/services and /v1/services/{svc}', async () => {
    const list = await s.req('GET', '/v1/services');
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.services.map((x: { id: string }) => x.id), ['tcp:10.0.0.1:80']);
    const one = await s.req('GET', svcPath('tcp:10.0.0.1:80'));
    assert.equal(one.status, 200);
    assert.equal(one.json.realServers[0].activeConns, 0);
    assert.deepEqual(one.json.stats, { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0, rates: { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 } });
  });

  test('IPv6, fwmark and fwm6 services get canonical ids', async () => {
    const v6 = await s.req('POST', '/v1/services', { body: { protocol: 'udp', address: '2001:DB8:0::1', port: 53, scheduler: 'rr', ops: true, realServers: [{ address: '2001:db8::2' }] } });
    assert.equal(v6.status, 201, v6.text);
    assert.equal(v6.json.id, 'udp:[2001:db8::1]:53');
    assert.equal(v6.json.ops, true);
    const again = await s.req('GET', svcPath('udp:[2001:0db8::0:1]:53'));
    assert.equal(again.status, 200);
    assert.equal(again.json.id, 'udp:[2001:db8::1]:53');
    const fwm = await s.req('POST', '/v1/services', { body: { fwmark: 7, scheduler: 'rr', realServers: [{ address: '10.0.0.9' }] } });
    assert.equal(fwm.status, 201, fwm.text);
    assert.equal(fwm.json.id, 'fwm:7');
    assert.equal(fwm.json.realServers[0].id, '10.0.0.9:0');
    const fwm6 = await s.req('POST', '/v1/services', { body: { fwmark: 7, family: 'ipv6', realServers: [{ address: '2001:db8::9' }] } });
    assert.equal(fwm6.status, 201, fwm6.text);
    assert.equal(fwm6.json.id, 'fwm6:7');
    assert.equal(fwm6.json.family, 'ipv6');
  });

  test('a persistent service shows its persistence with a dotted mask (spec §5.2 -p -M)', async () => {
    const r = await s.req('POST', '/v1/services', { body: { address: '10.0.0.5', port: 0, persistence: { timeout: 60, netmask: '255.255.255.0' }, schedFlags: [] } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.persistence, { timeout: 60, netmask: '255.255.255.0' });
    assert.equal(r.json.protocol, 'tcp');
  });

  const bad: ReadonlyArray<{ name: string; body?: unknown; raw?: string | Buffer; headers?: Record<string, string>; path?: string; status: number; field: string | null }> = [
    { name: 'bad JSON', raw: '{"address": ', headers: { 'content-type': 'application/json' }, status: 400, field: null },
    { name: 'empty body', raw: '', headers: { 'content-type': 'application/json' }, status: 400, field: null },
    { name: 'invalid UTF-8', raw: Buffer.from([0x7b, 0xff, 0x7d]), headers: { 'content-type': 'application/json' }, status: 400, field: null },
    { name: 'an array, not an object', body: [WEB], status: 400, field: null },
    { name: 'unknown field', body: { ...WEB, colour: 'red' }, status: 400, field: 'colour' },
    { name: 'unknown nested field', body: { ...WEB, realServers: [{ address: '10.0.0.2', wieght: 2 }] }, status: 400, field: 'realServers[0].wieght' },
    { name: 'wrong type', body: { ...WEB, port: '80' }, status: 400, field: 'port' },
    { name: 'bad address', body: { ...WEB, address: '10.0.0.256' }, status: 400, field: 'address' },
    { name: 'hostname as address', body: { ...WEB, address: 'localhost' }, status: 400, field: 'address' },
    { name: 'weight out of range', body: { ...WEB, realServers: [{ address: '10.0.0.2' }, { address: '10.0.0.3', weight: 65536 }] }, status: 400, field: 'realServers[1].weight' },
    { name: 'negative weight', body: { ...WEB, realServers: [{ address: '10.0.0.2', weight: -1 }] }, status: 400, field: 'realServers[0].weight' },
    { name: 'fractional weight', body: { ...WEB, realServers: [{ address: '10.0.0.2', weight: 1.5 }] }, status: 400, field: 'realServers[0].weight' },
    { name: 'unknown scheduler', body: { ...WEB, scheduler: 'fastest' }, status: 400, field: 'scheduler' },
    { name: 'missing address', body: { protocol: 'tcp', port: 80 }, status: 400, field: 'address' },
    { name: 'fwmark with an address', body: { fwmark: 9, address: '10.0.0.1' }, status: 400, field: 'address' },
    { name: 'fwmark 0', body: { fwmark: 0 }, status: 400, field: 'fwmark' },
    { name: 'family without fwmark', body: { ...WEB, family: 'ipv6' }, status: 400, field: 'family' },
    { name: 'zero port without persistence (spec §5.2)', body: { address: '10.0.0.1', port: 0 }, status: 400, field: 'port' },
    { name: 'ops on TCP (spec §5.2 -o)', body: { ...WEB, ops: true }, status: 400, field: 'ops' },
    { name: 'sh flag with wlc (spec §5.2 -b)', body: { ...WEB, schedFlags: ['sh-port'] }, status: 400, field: 'schedFlags[0]' },
    { name: 'IPv4 netmask as a number', body: { ...WEB, persistence: { netmask: 24 } }, status: 400, field: 'persistence.netmask' },
    { name: 'IPv6 real server on an IPv4 service without tunnel', body: { ...WEB, realServers: [{ address: '2001:db8::2' }] }, status: 400, field: 'realServers[0].address' },
    { name: 'lower threshold above upper', body: { ...WEB, realServers: [{ address: '10.0.0.2', upperThreshold: 5, lowerThreshold: 9 }] }, status: 400, field: 'realServers[0].lowerThreshold' },
    { name: 'droute with another port (spec §5.2 -r)', body: { ...WEB, realServers: [{ address: '10.0.0.2', port: 8080 }] }, status: 400, field: 'realServers[0].port' },
    { name: 'gue tunnel without port', body: { ...WEB, realServers: [{ address: '10.0.0.2', forwarding: 'tunnel', tunnel: { type: 'gue' } }] }, status: 400, field: 'realServers[0].tunnel.port' },
    { name: 'tunnel options without tunnel forwarding', body: { ...WEB, realServers: [{ address: '10.0.0.2', tunnel: { type: 'gre' } }] }, status: 400, field: 'realServers[0].tunnel' },
    { name: 'duplicate real server', body: { ...WEB, realServers: [{ address: '10.0.0.2' }, { address: '10.0.0.2', port: 80 }] }, status: 409, field: 'realServers[1]' },
    { name: 'duplicate service', body: WEB, status: 409, field: null },
    { name: 'text/plain body', raw: JSON.stringify(WEB), headers: { 'content-type': 'text/plain' }, status: 415, field: null },
    { name: 'no content type', raw: JSON.stringify(WEB), status: 415, field: null },
    { name: 'Content-Length over the limit', raw: JSON.stringify({ ...WEB, pad: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' }, status: 413, field: null },
    { name: 'unknown query parameter', path: '/v1/services?force=1', body: WEB, status: 400, field: 'force' },
    { name: 'bad dryRun value', path: '/v1/services?dryRun=maybe', body: { ...WEB, port: 81 }, status: 400, field: 'dryRun' },
  ];
  for (const c of bad) {
    test(`POST /v1/services refuses ${c.name} with ${c.status}, naming ${c.field ?? 'no field'}, and changes nothing`, async () => {
      const before = tableFingerprint(s.director);
      const r = await s.req('POST', c.path ?? '/v1/services', { body: c.body, raw: c.raw, headers: c.headers });
      assert.equal(r.status, c.status, r.text);
      assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(typeof r.json.error.message, 'string');
      assert.equal(r.json.error.field, c.field, r.json.error.message);
      if (c.field) assert.match(r.json.error.message, new RegExp(c.field.replace(/[[\].]/g, '\\$&')));
      assert.equal(tableFingerprint(s.director), before);
    });
  }

  test('a duplicate service answers 409 with errno EEXIST', async () => {
    const r = await s.req('POST', '/v1/services', { body: WEB });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'conflict');
    assert.equal(r.json.error.errno, 'EEXIST');
  });

  test('a streamed (chunked) body over the limit is refused with 413', async () => {
    const small = await startTestServer({ maxBodyBytes: 1024 });
    try {
      const r = await small.req('POST', '/v1/services', { raw: JSON.stringify({ ...WEB, pad: 'x'.repeat(4000) }), headers: { 'content-type': 'application/json' }, chunked: true });
      assert.equal(r.status, 413);
      assert.equal(small.director.table.services().length, 0);
    } finally { await small.close(); }
  });

  test('POST ?dryRun=1 answers the operations and applies nothing', async () => {
    const before = tableFingerprint(s.director);
    const r = await s.req('POST', '/v1/services?dryRun=1', { body: { ...WEB, port: 443 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, false);
    assert.deepEqual(r.json.ops.map((o: { op: string; realServer?: string }) => `${o.op} ${o.realServer ?? ''}`.trim()),
      ['add-service', 'add-dest 10.0.0.3:443', 'add-dest 10.0.0.2:443']);
    assert.equal(tableFingerprint(s.director), before);
  });

  test('PUT /v1/services/{svc} is a full replace (spec §5.2 -E): omitted settings fall back to defaults', async () => {
    await s.req('POST', '/v1/services', { body: { address: '10.0.0.1', port: 8080, scheduler: 'rr', persistence: { timeout: 90 } } });
    const r = await s.req('PUT', svcPath('tcp:10.0.0.1:8080'), { body: { scheduler: 'sh', schedFlags: ['sh-port'] } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.scheduler, 'sh');
    assert.deepEqual(r.json.schedFlags, ['sh-port']);
    assert.equal(r.json.persistence, undefined);
  });

  test('PUT with realServers also replaces the real servers (delete, edit, add) atomically', async () => {
    const id = 'tcp:10.0.0.1:80';
    const dry = await s.req('PUT', `${svcPath(id)}?dryRun=true`, { body: { scheduler: 'wlc', realServers: [{ address: '10.0.0.3', weight: 7 }, { address: '10.0.0.4' }] } });
    assert.equal(dry.status, 200, dry.text);
    assert.deepEqual(dry.json.ops.map((o: { op: string; realServer?: string }) => `${o.op} ${o.realServer ?? ''}`.trim()),
      ['edit-service', 'delete-dest 10.0.0.2:80', 'edit-dest 10.0.0.3:80', 'add-dest 10.0.0.4:80']);
    const r = await s.req('PUT', svcPath(id), { body: { scheduler: 'wlc', realServers: [{ address: '10.0.0.3', weight: 7 }, { address: '10.0.0.4' }] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.realServers.map((x: { id: string; weight: number }) => [x.id, x.weight]), [['10.0.0.4:80', 1], ['10.0.0.3:80', 7]]);
  });

  test('PUT refuses a body naming another service, and an unknown service is 404', async () => {
    const before = tableFingerprint(s.director);
    const r = await s.req('PUT', svcPath('tcp:10.0.0.1:80'), { body: { address: '10.0.0.9', port: 80 } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.field, 'address');
    const nf = await s.req('PUT', svcPath('tcp:10.9.9.9:80'), { body: { scheduler: 'rr' } });
    assert.equal(nf.status, 404);
    assert.equal(nf.json.error.field, 'svc');
    assert.equal(tableFingerprint(s.director), before);
  });

  test('bad service ids in the path are 400 naming svc', async () => {
    for (const id of ['tcp:10.0.0.1', 'TCP:10.0.0.1:80', 'fwm:0', 'fwm:07', 'fwm:4294967296', 'udp:2001:db8::1:53', 'tcp:10.0.0.1:080', 'icmp:10.0.0.1:0']) {
      const r = await s.req('GET', svcPath(id));
      assert.equal(r.status, 400, id);
      assert.equal(r.json.error.field, 'svc', id);
    }
    const enc = await s.req('GET', '/v1/services/%E0%A4%A');
    assert.equal(enc.status, 400);
    assert.equal(enc.json.error.field, 'svc');
  });

  test('unknown routes are 404 and wrong methods 405 with Allow', async () => {
    const nf = await s.req('GET', '/v1/nothing');
    assert.equal(nf.status, 404);
    assert.equal(nf.json.error.code, 'not_found');
    const na = await s.req('PATCH', '/v1/services');
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'GET, POST');
  });

  test('DELETE /v1/services/{svc} deletes (204); again is 404', async () => {
    const del = await s.req('DELETE', svcPath('tcp:10.0.0.1:8080'));
    assert.equal(del.status, 204);
    assert.equal((await s.req('GET', svcPath('tcp:10.0.0.1:8080'))).status, 404);
    const again = await s.req('DELETE', svcPath('tcp:10.0.0.1:8080'));
    assert.equal(again.status, 404);
    assert.equal(again.json.error.field, 'svc');
  });
});
