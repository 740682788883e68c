import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SchedulerFactory } from '../core/sched/scheduler.js';
import { destConfig, ip, makeTable, svcConfig, svcKey } from '../core/sched/testing.js';
import { Director } from './director.js';
import { TsvsError } from '../core/errors.js';
import type { DesiredService } from './director-api.js';

const first: SchedulerFactory = { name: 'wlc', create: () => ({ name: 'wlc', schedule: (svc) => svc.destinations[0] }) };
const rr: SchedulerFactory = { name: 'rr', create: () => ({ name: 'rr', schedule: (svc) => svc.destinations[0] }) };

function director() {
  const t = makeTable([first, rr]);
  return new Director({ registry: t.registry, env: t.env });
}

const web = svcKey('tcp', '198.18.0.10:80');
const dns = svcKey('udp', '198.18.0.10:53');

test('applyOps rejects a change whole when any operation fails, naming it', () => {
  const d = director();
  const r = d.applyOps([
    { op: 'add-service', service: svcConfig(web, 'wlc') },
    { op: 'add-dest', key: web, dest: destConfig('198.18.1.1:80') },
    { op: 'add-dest', key: web, dest: destConfig('198.18.1.2:80', 70000) },
  ]);
  assert.equal(r.ok, false);
  assert.equal(r.error?.opIndex, 2);
  assert.equal(r.error?.errno, 'ERANGE');
  assert.equal(d.table.services().length, 0, 'nothing applied');
});

test('dry run reports the operations and changes nothing', () => {
  const d = director();
  const r = d.applyOps([{ op: 'add-service', service: svcConfig(web, 'wlc') }], { dryRun: true });
  assert.equal(r.ok, true);
  assert.equal(r.dryRun, true);
  assert.equal(d.table.services().length, 0);
});

test('applyDesired keeps unchanged services and destinations as the same objects', () => {
  const d = director();
  const desired: DesiredService[] = [
    { service: svcConfig(web, 'wlc'), dests: [destConfig('198.18.1.1:80'), destConfig('198.18.1.2:80')] },
    { service: svcConfig(dns, 'rr'), dests: [destConfig('198.18.1.1:53')] },
  ];
  assert.equal(d.applyDesired(desired).ok, true);
  const svc = d.table.getService(web)!;
  assert.deepEqual(svc.destinations.map((x) => x.addr.bytes[3]), [1, 2], 'config order kept');
  const keep = svc.destinations[0];
  const dnsSvc = d.table.getService(dns)!;
  const next: DesiredService[] = [
    { service: svcConfig(web, 'wlc'), dests: [destConfig('198.18.1.1:80'), destConfig('198.18.1.3:80', 2)] },
    { service: svcConfig(dns, 'rr'), dests: [destConfig('198.18.1.1:53')] },
  ];
  const r = d.applyDesired(next);
  assert.equal(r.ok, true);
  assert.deepEqual(r.ops.map((o) => o.op), ['delete-dest', 'add-dest']);
  assert.equal(d.table.getService(web), svc);
  assert.equal(d.table.getService(dns), dnsSvc);
  assert.equal(d.table.findDest(svc, ip('198.18.1.1'), 80), keep);
  assert.equal(d.applyDesired(next).ops.length, 0, 'idempotent');
});

test('events are emitted for applied and rejected changes', () => {
  const d = director();
  const seen: string[] = [];
  const off = d.onEvent((e) => seen.push(e.kind));
  d.applyOps([{ op: 'add-service', service: svcConfig(web, 'wlc') }]);
  d.applyOps([{ op: 'add-service', service: svcConfig(web, 'wlc') }]);
  off();
  d.applyOps([{ op: 'flush' }]);
  assert.deepEqual(seen, ['applied', 'rejected']);
});

test('set-timeouts validates the range and 0 keeps a value (spec §2.5)', () => {
  const d = director();
  assert.equal(d.applyOps([{ op: 'set-timeouts', tcp: 3000000, tcpfin: 0, udp: 0 }]).ok, false);
  assert.equal(d.applyOps([{ op: 'set-timeouts', tcp: 60, tcpfin: 0, udp: 10 }]).ok, true);
  assert.deepEqual(d.timeouts(), { tcp: 60, tcpfin: 120, udp: 10 });
});

test('validation on the light scratch copy still refuses what a scheduler refuses (mh with more destinations than slots, EINVAL)', () => {
  const mhLike: SchedulerFactory = {
    name: 'mh',
    create: (svc) => { if (svc.destinations.length > 2) throw new TsvsError('EINVAL', 'too many'); return { name: 'mh', schedule: () => undefined }; },
    validate: (svc) => { if (svc.destinations.length > 2) throw new TsvsError('EINVAL', 'too many'); },
  };
  const t = makeTable([first, mhLike]);
  const d = new Director({ registry: t.registry, env: t.env });
  d.applyOps([{ op: 'add-service', service: svcConfig(web, 'wlc') }, ...['1', '2', '3'].map((n) => ({ op: 'add-dest' as const, key: web, dest: destConfig(`198.18.1.${n}:80`) }))]);
  const r = d.applyOps([{ op: 'edit-service', service: svcConfig(web, 'mh') }]);
  assert.equal(r.ok, false);
  assert.equal(r.error?.errno, 'EINVAL');
  assert.equal(d.table.getService(web)!.scheduler, 'wlc', 'unchanged');
});
