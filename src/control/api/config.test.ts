import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseIp } from '../../core/net/addr.js';
import { DEST_DEFAULTS, type ServiceKey } from '../../core/service/types.js';
import type { ApplyResult, TableOp } from '../director-api.js';
import { applyError, locatorFor } from './apply.js';
import { type TestServer, startTestServer, tableFingerprint } from './testing.js';

const STATE = {
  services: [
    { address: '10.0.0.1', port: 80, scheduler: 'rr', realServers: [{ address: '10.0.0.2' }, { address: '10.0.0.3', weight: 2 }] },
    { fwmark: 5, scheduler: 'wlc', persistence: { timeout: 300 }, realServers: [{ address: '10.0.0.4' }] },
  ],
};

describe('POST /v1/config (desired state)', () => {
  let s: TestServer;
  before(async () => { s = await startTestServer(); });
  after(() => s.close());

  test('dryRun=1 answers the diff and applies nothing', async () => {
    const before = tableFingerprint(s.director);
    const r = await s.req('POST', '/v1/config?dryRun=1', { body: STATE });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, false);
    assert.equal(r.json.dryRun, true);
    assert.deepEqual(r.json.ops.map((o: { op: string; service: string; realServer?: string }) => `${o.op} ${o.service} ${o.realServer ?? ''}`.trim()), [
      'add-service tcp:10.0.0.1:80', 'add-dest tcp:10.0.0.1:80 10.0.0.3:80', 'add-dest tcp:10.0.0.1:80 10.0.0.2:80',
      'add-service fwm:5', 'add-dest fwm:5 10.0.0.4:0',
    ]);
    assert.equal(tableFingerprint(s.director), before);
  });

  test('applies the state; the same state again is no change; GET /v1/config round-trips', async () => {
    const r = await s.req('POST', '/v1/config', { body: STATE });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.applied, true);
    assert.equal(r.json.ops.length, 5);
    assert.equal(s.director.table.services().length, 2);
    const again = await s.req('POST', '/v1/config', { body: STATE });
    assert.deepEqual(again.json.ops, []);
    const got = await s.req('GET', '/v1/config');
    assert.equal(got.status, 200);
    assert.deepEqual(got.json.services[0].realServers.map((x: { address: string }) => x.address), ['10.0.0.2', '10.0.0.3']);
    const round = await s.req('POST', '/v1/config?dryRun=1', { body: got.json });
    assert.deepEqual(round.json.ops, []);
  });

  test('a changed state touches only what changed', async () => {
    const next = { services: [{ ...STATE.services[0], realServers: [{ address: '10.0.0.2' }, { address: '10.0.0.3', weight: 5 }] }] };
    const r = await s.req('POST', '/v1/config', { body: next });
    assert.deepEqual(r.json.ops.map((o: { op: string; service: string }) => `${o.op} ${o.service}`), ['delete-service fwm:5', 'edit-dest tcp:10.0.0.1:80']);
  });

  const bad: ReadonlyArray<{ name: string; body: unknown; status: number; field: string | null }> = [
    { name: 'a missing services list', body: {}, status: 400, field: 'services' },
    { name: 'an unknown top-level field', body: { ...STATE, timeouts: {} }, status: 400, field: 'timeouts' },
    { name: 'a bad weight deep inside', body: { services: [STATE.services[0], { ...STATE.services[1], realServers: [{ address: '10.0.0.4', weight: 1e6 }] }] }, status: 400, field: 'services[1].realServers[0].weight' },
    { name: 'a bad address deep inside', body: { services: [{ ...STATE.services[0], realServers: [{ address: '10.0.0.300' }] }] }, status: 400, field: 'services[0].realServers[0].address' },
    { name: 'a service listed twice', body: { services: [STATE.services[0], STATE.services[0]] }, status: 409, field: 'services[1]' },
    { name: 'a real server listed twice', body: { services: [{ ...STATE.services[0], realServers: [{ address: '10.0.0.2' }, { address: '10.0.0.2' }] }] }, status: 409, field: 'services[0].realServers[1]' },
  ];
  for (const c of bad) {
    test(`refuses ${c.name} with ${c.status} naming ${c.field} and changes nothing`, async () => {
      const before = tableFingerprint(s.director);
      const r = await s.req('POST', '/v1/config', { body: c.body });
      assert.equal(r.status, c.status, r.text);
      assert.equal(r.json.error.field, c.field, r.json.error.message);
      assert.equal(tableFingerprint(s.director), before);
    });
  }
});

describe('apply errors map errno to HTTP status and name the field', () => {
  const key: ServiceKey = { kind: 'addr', protocol: 'tcp', addr: parseIp('10.0.0.1')!, port: 80 };
  const dest = { ...DEST_DEFAULTS, addr: parseIp('10.0.0.2')!, port: 80 };
  const service = { key, scheduler: 'nope', flags: 0, timeoutS: 0, netmask: 0xffffffff };
  const desired = [{ service, dests: [dest] }];
  const refused = (ops: TableOp[], errno: string, message: string, opIndex = 0): ApplyResult =>
    ({ ok: false, dryRun: false, ops, error: { errno, message, opIndex } });
  const cases: ReadonlyArray<[string, ApplyResult, number, string | null]> = [
    ['EEXIST on add-service is 409', refused([{ op: 'add-service', service }], 'EEXIST', 'Cannot add service TCP 10.0.0.1:80 as it already exists'), 409, 'services[0]'],
    ['ENOENT on add-service (scheduler) is 400 naming scheduler', refused([{ op: 'add-service', service }], 'ENOENT', "Scheduler 'nope' not found"), 400, 'services[0].scheduler'],
    ['ENOENT on edit-dest is 404', refused([{ op: 'edit-dest', key, dest }], 'ENOENT', 'Cannot edit real server 10.0.0.2:80 ... as it does not exist'), 404, null],
    ['ESRCH is 404', refused([{ op: 'delete-service', key }], 'ESRCH', 'Cannot delete service TCP 10.0.0.1:80 as it does not exist'), 404, null],
    ['ERANGE on add-dest names the weight of that real server', refused([{ op: 'add-service', service }, { op: 'add-dest', key, dest }], 'ERANGE', 'Weight must be 0..65535: current value is 70000', 1), 400, 'services[0].realServers[0].weight'],
    ['ENOMEM is 503', refused([{ op: 'add-service', service }], 'ENOMEM', 'out of memory'), 503, null],
  ];
  for (const [name, result, status, field] of cases) {
    test(name, () => {
      const e = applyError(result, locatorFor(desired, 'services'));
      assert.equal(e.status, status);
      assert.equal(e.field, field);
      assert.equal(e.errno, result.error!.errno);
      assert.equal(e.message, result.error!.message);
    });
  }
});
