import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsvsError } from '../errors.js';
import type { Scheduler, SchedulerFactory } from '../sched/scheduler.js';
import { destConfig, ep, ip, makeTable, svcConfig, svcKey } from '../sched/testing.js';
import { SVC_F_PERSISTENT, DEST_F_OVERLOAD } from './types.js';

/** A scheduler that records the changes it is told about and picks the first destination. */
function recordingFactory(name: string, log: string[]): SchedulerFactory {
  return {
    name,
    create(): Scheduler {
      return {
        name,
        schedule: (svc) => svc.destinations[0],
        onDestChange: (_svc, c) => log.push(`${c.kind}:${c.dest.port}@${c.index}`),
      };
    },
  };
}

function errno(fn: () => unknown): string {
  try { fn(); } catch (e) { if (e instanceof TsvsError) return e.errno; throw e; }
  return 'no error';
}

test('destinations are kept newest first, as list_add_rcu does (spec §1)', () => {
  const log: string[] = [];
  const { table } = makeTable([recordingFactory('rr', log)]);
  const key = svcKey('tcp', '10.0.0.1:80');
  table.addService(svcConfig(key, 'rr'));
  table.addDest(key, destConfig('10.0.1.1:80'));
  table.addDest(key, destConfig('10.0.1.2:81'));
  table.addDest(key, destConfig('10.0.1.3:82'));
  assert.deepEqual(table.getService(key)!.destinations.map((d) => d.port), [82, 81, 80]);
  table.deleteDest(key, ip('10.0.1.2'), 81);
  assert.deepEqual(log, ['add:80@0', 'add:81@0', 'add:82@0', 'del:81@1']);
});

test('errno codes match the kernel for each failing operation (spec §5.2)', () => {
  const { table } = makeTable([recordingFactory('wlc', [])]);
  const key = svcKey('tcp', '10.0.0.1:80');
  assert.equal(errno(() => table.addService(svcConfig(key, 'nosuch'))), 'ENOENT');
  assert.equal(errno(() => table.editService(svcConfig(key, 'wlc'))), 'ESRCH');
  assert.equal(errno(() => table.deleteService(key)), 'ESRCH');
  assert.equal(errno(() => table.addDest(key, destConfig('10.0.1.1:80'))), 'ESRCH');
  table.addService(svcConfig(key, 'wlc'));
  assert.equal(errno(() => table.addService(svcConfig(key, 'wlc'))), 'EEXIST');
  assert.equal(errno(() => table.addService(svcConfig(svcKey('tcp', '10.0.0.2:80'), 'wlc', { pe: 'nope' }))), 'ENOENT');
  table.addDest(key, destConfig('10.0.1.1:80'));
  assert.equal(errno(() => table.addDest(key, destConfig('10.0.1.1:80'))), 'EEXIST');
  assert.equal(errno(() => table.editDest(key, destConfig('10.0.1.9:80'))), 'ENOENT');
  assert.equal(errno(() => table.deleteDest(key, ip('10.0.1.9'), 80)), 'ENOENT');
  assert.equal(errno(() => table.addDest(key, destConfig('10.0.1.2:80', -1))), 'ERANGE');
  assert.equal(errno(() => table.addDest(key, destConfig('10.0.1.2:80', 1, { uThreshold: 5, lThreshold: 6 }))), 'ERANGE');
  assert.equal(errno(() => table.addDest(key, destConfig('10.0.1.2:80', 1, { method: 'tunnel', tunType: 'gue', tunPort: 0 }))), 'EINVAL');
  assert.equal(errno(() => table.addDest(key, destConfig('[2001:db8::1]:80', 1, { method: 'masq' }))), 'EAFNOSUPPORT');
  assert.ok(table.addDest(key, destConfig('[2001:db8::1]:80', 1, { method: 'tunnel' })));
});

test('overload is set at u_threshold and cleared below l_threshold or 3/4 of u_threshold (spec §1)', () => {
  const { table } = makeTable([recordingFactory('wlc', [])]);
  const key = svcKey('tcp', '10.0.0.1:80');
  table.addService(svcConfig(key, 'wlc'));
  const a = table.addDest(key, destConfig('10.0.1.1:80', 1, { uThreshold: 4 }));
  for (let i = 0; i < 3; i++) a.bindConn('active');
  assert.equal(a.isOverloaded, false);
  a.bindConn('inactive'); // total = 4 >= 4
  assert.equal(a.isOverloaded, true);
  a.bindConn('template'); // templates do not count
  a.unbindConn('active'); // total 3: 3*4 = 12 < 12? no -> stays
  assert.equal(a.isOverloaded, true);
  a.unbindConn('active'); // total 2: 8 < 12 -> cleared
  assert.equal(a.isOverloaded, false);

  const b = table.addDest(key, destConfig('10.0.1.2:80', 1, { uThreshold: 4, lThreshold: 2 }));
  for (let i = 0; i < 4; i++) b.bindConn('active');
  assert.equal(b.isOverloaded, true);
  b.unbindConn('active'); b.unbindConn('active'); // total 2, not < 2
  assert.equal(b.isOverloaded, true);
  b.unbindConn('active'); // total 1 < 2
  assert.equal(b.isOverloaded, false);

  // Edit: a new u_threshold of 0 or above the old one clears the flag (spec §1).
  for (let i = 0; i < 3; i++) b.bindConn('active');
  assert.ok(b.flags & DEST_F_OVERLOAD);
  table.editDest(key, destConfig('10.0.1.2:80', 1, { uThreshold: 10, lThreshold: 2 }));
  assert.equal(b.isOverloaded, false);
});

test('last_weight keeps the latest non-zero weight (spec §1 mh)', () => {
  const { table } = makeTable([recordingFactory('mh', [])]);
  const key = svcKey('udp', '10.0.0.1:53');
  table.addService(svcConfig(key, 'mh'));
  const d = table.addDest(key, destConfig('10.0.1.1:53', 5));
  table.editDest(key, destConfig('10.0.1.1:53', 0));
  assert.equal(d.weight, 0);
  assert.equal(d.lastWeight, 5);
  table.editDest(key, destConfig('10.0.1.1:53', 7));
  assert.equal(d.lastWeight, 7);
  const z = table.addDest(key, destConfig('10.0.1.2:53', 0));
  assert.equal(z.lastWeight, 0);
});

test('lookup order: fwmark, exact, FTP, port 0 (spec §2.6)', () => {
  const { table } = makeTable([recordingFactory('wlc', [])]);
  const vip = ip('10.0.0.1');
  table.addService(svcConfig(svcKey('tcp', '10.0.0.1:80'), 'wlc'));
  table.addService(svcConfig({ kind: 'fwmark', fwmark: 7, family: 4 }, 'wlc'));
  assert.equal(table.lookup('tcp', vip, 80, 7)!.key.kind, 'fwmark');
  assert.equal(table.lookup('tcp', vip, 80, 0)!.port, 80);
  assert.equal(table.lookup('tcp', vip, 8080, 0), undefined);
  table.addService(svcConfig(svcKey('tcp', '10.0.0.1:21'), 'wlc', { flags: SVC_F_PERSISTENT, timeoutS: 360 }));
  assert.equal(table.lookup('tcp', vip, 20)!.port, 21, 'FTP data port 20 goes to the FTP service');
  assert.equal(table.lookup('tcp', vip, 40000)!.port, 21, 'unprivileged ports go to the FTP service');
  assert.equal(table.lookup('tcp', vip, 443), undefined, 'privileged ports other than 20 do not');
  assert.equal(table.lookup('udp', vip, 40000), undefined, 'the FTP rule is TCP only');
  table.addService(svcConfig(svcKey('udp', '10.0.0.1:0'), 'wlc', { flags: SVC_F_PERSISTENT, timeoutS: 360 }));
  assert.equal(table.lookup('udp', vip, 5353)!.port, 0, 'port-0 catch-all');
  assert.equal(table.lookup('udp', ip('10.0.0.2'), 5353), undefined);
});

test('deleted destinations go to the trash and are revived with their counters (spec §2.4)', () => {
  const { table, clock } = makeTable([recordingFactory('wlc', [])]);
  const key = svcKey('tcp', '10.0.0.1:80');
  table.addService(svcConfig(key, 'wlc'));
  const d = table.addDest(key, destConfig('10.0.1.1:80'));
  d.bindConn('active');
  d.stats.conns = 5;
  table.deleteDest(key, ep('10.0.1.1:80').addr, 80);
  assert.equal(d.isAvailable, false);
  assert.equal(table.destById(d.id), d, 'still reachable by id while in the trash');
  clock.advance(200_000);
  table.expireTrash();
  assert.equal(table.destById(d.id), d, 'referenced: kept');
  const again = table.addDest(key, destConfig('10.0.1.1:80', 3));
  assert.equal(again, d);
  assert.equal(again.isAvailable, true);
  assert.equal(again.activeConns, 1);
  assert.equal(again.stats.conns, 5);
  table.deleteDest(key, ep('10.0.1.1:80').addr, 80);
  d.unbindConn('active');
  clock.advance(119_999);
  table.expireTrash();
  assert.equal(table.destById(d.id), d, 'not yet 120 s');
  clock.advance(1);
  table.expireTrash();
  assert.equal(table.destById(d.id), undefined);
});

test('editService with another scheduler rebinds; -E replaces flags (spec §5.2)', () => {
  const log: string[] = [];
  const { table } = makeTable([recordingFactory('wlc', log), recordingFactory('rr', log)]);
  const key = svcKey('tcp', '10.0.0.1:80');
  const svc = table.addService(svcConfig(key, 'rr', { flags: SVC_F_PERSISTENT, timeoutS: 60 }));
  table.editService(svcConfig(key, 'wlc'));
  assert.equal(svc.scheduler, 'wlc');
  assert.equal(svc.sched!.name, 'wlc');
  assert.equal(svc.isPersistent, false);
  table.editService(svcConfig(key, 'none'));
  assert.equal(svc.sched, undefined);
});
