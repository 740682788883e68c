import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DirectorEvent } from '../director-api.js';
import { type TestServer, startTestServer, tableFingerprint } from './testing.js';

const SVC = 'tcp:10.0.0.1:80';
const rsPath = (rs?: string, svc = SVC) => `/v1/services/${encodeURIComponent(svc)}/realservers${rs ? `/${encodeURIComponent(rs)}` : ''}`;

describe('REST real servers', () => {
  let s: TestServer;
  const events: DirectorEvent[] = [];
  before(async () => {
    s = await startTestServer();
    s.director.onEvent((e) => events.push(e));
    const r = await s.req('POST', '/v1/services', { body: { address: '10.0.0.1', port: 80, realServers: [{ address: '10.0.0.2', weight: 3 }] } });
    assert.equal(r.status, 201, r.text);
    const v6 = await s.req('POST', '/v1/services', { body: { protocol: 'udp', address: '2001:db8::1', port: 53 } });
    assert.equal(v6.status, 201, v6.text);
  });
  after(() => s.close());

  test('POST adds a real server at the head of the list (kernel order, spec §1), 201 with Location, one applied event', async () => {
    events.length = 0;
    const r = await s.req('POST', rsPath(), { body: { address: '10.0.0.3', weight: 2, forwarding: 'masq', upperThreshold: 100, lowerThreshold: 50 } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.location, `/v1/services/tcp%3A10.0.0.1%3A80/realservers/10.0.0.3%3A80`);
    assert.deepEqual([r.json.id, r.json.weight, r.json.forwarding, r.json.upperThreshold, r.json.lowerThreshold], ['10.0.0.3:80', 2, 'masq', 100, 50]);
    const list = await s.req('GET', rsPath());
    assert.deepEqual(list.json.realServers.map((x: { id: string }) => x.id), ['10.0.0.3:80', '10.0.0.2:80']);
    assert.deepEqual(events.map((e) => e.kind), ['applied']);
  });

  test('masq may change the port; IPv6 real servers use bracketed ids', async () => {
    const r = await s.req('POST', rsPath(undefined, 'udp:[2001:db8::1]:53'), { body: { address: '2001:db8::2', port: 5353, forwarding: 'masq' } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.id, '[2001:db8::2]:5353');
    const g = await s.req('GET', rsPath('[2001:db8::2]:5353', 'udp:[2001:db8::1]:53'));
    assert.equal(g.status, 200);
    assert.equal(g.json.port, 5353);
  });

  test('GET one real server; unknown ones are 404 naming rs, bad ids 400 naming rs', async () => {
    assert.equal((await s.req('GET', rsPath('10.0.0.2:80'))).status, 200);
    const nf = await s.req('GET', rsPath('10.0.0.99:80'));
    assert.equal(nf.status, 404);
    assert.equal(nf.json.error.field, 'rs');
    for (const id of ['10.0.0.2', '[2001:db8::2]', '2001:db8::2:80', '10.0.0.2:65536', 'host:80']) {
      const r = await s.req('GET', rsPath(id));
      assert.equal(r.status, 400, id);
      assert.equal(r.json.error.field, 'rs', id);
    }
  });

  const bad: ReadonlyArray<{ name: string; method: string; path: string; body: unknown; status: number; field: string }> = [
    { name: 'a duplicate', method: 'POST', path: rsPath(), body: { address: '10.0.0.2' }, status: 409, field: '' },
    { name: 'an unknown service', method: 'POST', path: rsPath(undefined, 'tcp:10.0.0.1:81'), body: { address: '10.0.0.2' }, status: 404, field: 'svc' },
    { name: 'a weight over 65535', method: 'POST', path: rsPath(), body: { address: '10.0.0.7', weight: 65536 }, status: 400, field: 'weight' },
    { name: 'a bad address', method: 'POST', path: rsPath(), body: { address: '10.0.0' }, status: 400, field: 'address' },
    { name: 'an unknown field', method: 'POST', path: rsPath(), body: { address: '10.0.0.7', health: {} }, status: 400, field: 'health' },
    { name: 'PATCH of the address', method: 'PATCH', path: rsPath('10.0.0.2:80'), body: { address: '10.0.0.9' }, status: 400, field: 'address' },
    { name: 'PATCH weight as a string', method: 'PATCH', path: rsPath('10.0.0.2:80'), body: { weight: '0' }, status: 400, field: 'weight' },
    { name: 'PATCH of an unknown real server', method: 'PATCH', path: rsPath('10.0.0.99:80'), body: { weight: 0 }, status: 404, field: 'rs' },
    { name: 'PUT naming another address', method: 'PUT', path: rsPath('10.0.0.2:80'), body: { address: '10.0.0.3', weight: 1 }, status: 400, field: 'address' },
    { name: 'PUT naming another port', method: 'PUT', path: rsPath('10.0.0.2:80'), body: { port: 81, forwarding: 'masq' }, status: 400, field: 'port' },
    { name: 'PUT of an unknown real server', method: 'PUT', path: rsPath('10.0.0.99:80'), body: { weight: 1 }, status: 404, field: 'rs' },
    { name: 'DELETE of an unknown real server', method: 'DELETE', path: rsPath('10.0.0.99:80'), body: undefined, status: 404, field: 'rs' },
  ];
  for (const c of bad) {
    test(`${c.method} refuses ${c.name} with ${c.status} and changes nothing`, async () => {
      const before = tableFingerprint(s.director);
      events.length = 0;
      const r = await s.req(c.method, c.path, { body: c.body });
      assert.equal(r.status, c.status, r.text);
      assert.equal(r.json.error.field, c.field === '' ? null : c.field, r.json.error.message);
      assert.equal(tableFingerprint(s.director), before);
      assert.ok(events.every((e) => e.kind !== 'applied'));
    });
  }

  test('PATCH {weight: 0} drains and PATCH {weight: lastWeight} restores', async () => {
    const drain = await s.req('PATCH', rsPath('10.0.0.2:80'), { body: { weight: 0 } });
    assert.equal(drain.status, 200, drain.text);
    assert.equal(drain.json.weight, 0);
    assert.equal(drain.json.lastWeight, 3);
    assert.equal(s.director.table.getService(s.director.table.services()[0].key)!.destinations[1].weight, 0);
    const restore = await s.req('PATCH', rsPath('10.0.0.2:80'), { body: { weight: drain.json.lastWeight } });
    assert.equal(restore.json.weight, 3);
  });

  test('PATCH keeps what it does not name; PUT replaces everything (spec §5.2 -e)', async () => {
    const p = await s.req('PATCH', rsPath('10.0.0.3:80'), { body: { weight: 9 } });
    assert.deepEqual([p.json.weight, p.json.forwarding, p.json.upperThreshold, p.json.lowerThreshold], [9, 'masq', 100, 50]);
    const put = await s.req('PUT', rsPath('10.0.0.3:80'), { body: { weight: 4 } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual([put.json.weight, put.json.forwarding, put.json.upperThreshold, put.json.lowerThreshold], [4, 'droute', 0, 0]);
  });

  test('PATCH ?dryRun=1 answers the edit without applying it', async () => {
    const before = tableFingerprint(s.director);
    const r = await s.req('PATCH', `${rsPath('10.0.0.3:80')}?dryRun=1`, { body: { weight: 0 } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.ops.map((o: { op: string; config: { weight: number } }) => [o.op, o.config.weight]), [['edit-dest', 0]]);
    assert.equal(tableFingerprint(s.director), before);
  });

  test('DELETE removes (204); the table keeps it in the trash (spec §2.4)', async () => {
    const r = await s.req('DELETE', rsPath('10.0.0.3:80'));
    assert.equal(r.status, 204);
    assert.equal((await s.req('GET', rsPath('10.0.0.3:80'))).status, 404);
    assert.equal(s.director.table.trashed().length, 1);
  });
});
